"""The JSON documents every publisher sends, with their shipped JSON schemas.

``result`` is the run's ``RunSummary`` plus the result submodel id and the publish time;
``status`` is one step of a run (queued, solving with progress, done, failed). Both carry
``schema_version`` and the ``run_id``; consumers validate against ``schemas/*.schema.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from aas_quantum.summary import RunSummary

PAYLOAD_SCHEMA_VERSION = "1.0"
STATES = ("queued", "solving", "done", "failed")


def result_payload(summary: RunSummary, result_submodel_id: str) -> dict[str, Any]:
    return summary.to_json() | {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "result_submodel_id": result_submodel_id,
        "published": _now(),
    }


def status_payload(product_id: str, state: str, progress: float | None = None, stage: str = "",
                   message: str = "", *, run_id: str) -> dict[str, Any]:
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {STATES}")
    return {"schema_version": PAYLOAD_SCHEMA_VERSION, "run_id": run_id, "product_id": product_id, "state": state,
            "progress": progress, "stage": stage, "message": message, "timestamp": _now()}


def schema(kind: str) -> dict[str, Any]:
    """The JSON schema of ``kind`` ("result" or "status") as shipped in the package."""
    return json.loads((resources.files("aas_quantum.publish") / "schemas" / f"{kind}.schema.json").read_text())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
