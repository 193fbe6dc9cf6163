"""The typed summary of one run: what every output says about it (result submodel, ERP
document, MQTT payload, OPC UA values, ``--json``) and what a saved result reads back as.

``to_json`` gives plain JSON types (the shape of the MQTT ``result`` schema without its
envelope); ``from_json`` reads it back, so a summary survives a job store or a message bus.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from aas_quantum.report import ConstraintStatus, Kpis, Report, SelectionLine
from aas_quantum.solvers import SolverRecord

SUMMARY_SCHEMA_VERSION = "1.0"


def new_run_id() -> str:
    return str(uuid.uuid4())


def legacy_run_id(product_id: str, finished: dt.datetime) -> str:
    """The id of a saved result written before results carried one: stable for the same result."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{product_id}|{finished.isoformat()}"))


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    product_id: str
    status: str  # the solution status: optimal | feasible
    started: dt.datetime
    finished: dt.datetime
    currency: str
    kpis: Kpis
    solver: SolverRecord
    selection: tuple[SelectionLine, ...]
    constraints: tuple[ConstraintStatus, ...] = ()
    schema_version: str = SUMMARY_SCHEMA_VERSION
    product_name: str = ""  # ``BomProblem.name``, what ERP files, file names and reports call the product

    @classmethod
    def of(cls, report: Report, run_id: str) -> RunSummary:
        return cls(run_id=run_id, product_id=report.product_id, status=report.solution.status.value,
                   started=report.started, finished=report.finished, currency=report.currency, kpis=report.kpis,
                   solver=report.solution.record, selection=report.lines, constraints=report.constraints,
                   product_name=report.product_name)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version, "run_id": self.run_id, "product_id": self.product_id,
            "product_name": self.product_name, "status": self.status, "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "currency": self.currency, "kpis": dataclasses.asdict(self.kpis),
            "solver": _plain(dataclasses.asdict(self.solver)),
            "selection": [_plain(dataclasses.asdict(line)) for line in self.selection],
            "constraints": [_plain(dataclasses.asdict(c)) for c in self.constraints],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        return cls(
            run_id=data["run_id"], product_id=data["product_id"], status=data["status"],
            started=dt.datetime.fromisoformat(data["started"]), finished=dt.datetime.fromisoformat(data["finished"]),
            currency=data["currency"], kpis=Kpis(**data["kpis"]), solver=SolverRecord(**data["solver"]),
            selection=tuple(SelectionLine(**line) for line in data["selection"]),
            constraints=tuple(ConstraintStatus(**c) for c in data.get("constraints", ())),
            schema_version=data.get("schema_version", SUMMARY_SCHEMA_VERSION),
            product_name=data.get("product_name", ""))


def _plain(value: Any) -> Any:
    """JSON types all the way down (solvers put numpy scalars and arrays into their details)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
