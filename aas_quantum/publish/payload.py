"""The JSON documents every publisher sends, with their shipped JSON schemas.

``result`` is ``report.to_dict`` plus the result submodel id, a run id and the publish time;
``status`` is one step of a job (queued, solving with progress, done, failed). Both carry
``schema_version``; consumers validate against ``schemas/*.schema.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from importlib import resources
from typing import Any

PAYLOAD_SCHEMA_VERSION = "1.0"
STATES = ("queued", "solving", "done", "failed")


def run_id(product_id: str, finished: str) -> str:
    """Deterministic: publishing the same result again carries the same id (consumers dedupe on it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{product_id}|{finished}"))


def result_payload(summary: dict[str, Any], result_submodel_id: str) -> dict[str, Any]:
    """``summary`` is ``report.to_dict(report)``; the payload is plain JSON (numpy values made floats)."""
    plain = json.loads(json.dumps(summary, default=_plain))
    return plain | {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "run_id": run_id(plain["product_id"], plain["finished"]),
        "result_submodel_id": result_submodel_id,
        "published": _now(),
    }


def status_payload(product_id: str, state: str, progress: float | None = None, stage: str = "",
                   message: str = "") -> dict[str, Any]:
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {STATES}")
    return {"schema_version": PAYLOAD_SCHEMA_VERSION, "product_id": product_id, "state": state,
            "progress": progress, "stage": stage, "message": message, "timestamp": _now()}


def schema(kind: str) -> dict[str, Any]:
    """The JSON schema of ``kind`` ("result" or "status") as shipped in the package."""
    return json.loads((resources.files("aas_quantum.publish") / "schemas" / f"{kind}.schema.json").read_text())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
