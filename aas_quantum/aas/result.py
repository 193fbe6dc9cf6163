"""Run summary -> BomOptimizationResult submodel, and the output package (inputs + result)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import elements as el
from aas_quantum.aas import schema as sc
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.bulk import paused_gc
from aas_quantum.problem import BomProblem
from aas_quantum.summary import RunSummary


def result_submodel_id(product_shell_id: str) -> str:
    """Stable id, so later runs replace the result instead of adding another."""
    return f"{product_shell_id.rstrip('/')}/sm/BomOptimizationResult"


def output_stem(product_shell_id: str, name: str) -> str:
    """File name stem of a product's outputs: readable, filesystem-safe and unique per product id.

    The product's name (``BomProblem.name``, the one its ERP files and reports use; at most 40
    characters, so names stay far below the 255-byte limit even in CJK) plus 8 hex digits of the
    shell id's SHA-256: two products of the same name never share a file.
    """
    readable = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)[:40].strip(".") or "product"
    return f"{readable}-{hashlib.sha256(product_shell_id.encode()).hexdigest()[:8]}"


def _field(name: str) -> sc.Field:
    return next(f for f in sc.OPTIMIZATION_RESULT if f.name == name)


def _collection(name: str, values: dict[str, Any]) -> model.SubmodelElementCollection:
    f = _field(name)
    return el.collection(f, el.properties(f.children, values))


# AAS element name -> field of ``RunSummary.solver`` / ``.kpis``: the one naming table for writing and
# reading results.
RECORD_KEYS = {
    "Method": "method", "Backend": "backend", "Encoding": "encoding", "Qubits": "qubits", "Reps": "reps",
    "Optimizer": "optimizer", "Evaluations": "evaluations", "Shots": "shots", "Seed": "seed",
    "WallTimeSeconds": "wall_time_s", "ProbabilityFeasible": "p_feasible", "ProbabilityOptimal": "p_optimal",
    "BestEnergy": "best_energy",
}
KPI_KEYS = {
    "Objective": "objective", "TotalCost": "total_cost", "TotalWeight": "total_weight_kg",
    "TotalPerformance": "total_performance", "TotalCO2e": "total_co2e_kg", "MaxLeadTimeDays": "max_lead_time_days",
    "SuppliersUsed": "suppliers_used", "GreedyCost": "greedy_cost", "GreedyObjective": "greedy_objective",
    "ImprovementVsGreedyPercent": "improvement_vs_greedy_pct", "OptimumBound": "optimum_bound",
    "OptimumProven": "optimum_proven", "GapToOptimumPercent": "gap_to_optimum_pct", "LotSize": "lot_size",
}
_UNSET_WHEN_ZERO = ("Encoding", "Qubits", "Reps", "Optimizer", "Evaluations", "Shots")


def record_values(summary: RunSummary) -> dict[str, Any]:
    values = {name: getattr(summary.solver, key) for name, key in RECORD_KEYS.items()}
    for name in _UNSET_WHEN_ZERO:  # classical solvers leave these empty rather than 0
        values[name] = values[name] or None
    values["WallTimeSeconds"] = round(values["WallTimeSeconds"], 6)
    return values


def kpi_values(summary: RunSummary) -> dict[str, Any]:
    return {"Currency": summary.currency} | {name: getattr(summary.kpis, key) for name, key in KPI_KEYS.items()}


@paused_gc()
def result_submodel(problem: BomProblem, summary: RunSummary, submodel_id: str, version: int = 1
                    ) -> model.Submodel:
    """The result; ``version`` advances on every rewrite of the same submodel id."""
    line_f, check_f, input_f = sc.SELECTION_LINE, sc.CONSTRAINT_LINE, _field("Inputs")
    selection = []
    for ln in summary.selection:
        els: list[model.SubmodelElement] = el.properties(line_f.children, {
            "PositionId": ln.position_id, "PartNumber": ln.part_number, "Manufacturer": ln.manufacturer or None,
            "SupplierId": ln.supplier_id, "Quantity": ln.quantity, "OrderQuantity": ln.order_quantity,
            "UnitPrice": ln.unit_price, "ExtendedPrice": ln.extended_price, "LeadTimeDays": ln.lead_time_days})
        if ln.asset_id:
            els.append(model.ReferenceElement("VariantAsset", el.ref(ln.asset_id),
                                              semantic_id=el.ref(line_f.child("VariantAsset").semantic_id)))
        selection.append(els)
    checks = [el.properties(check_f.children, {"Name": c.name, "Value": c.value, "Sense": c.sense,
                                                "Bound": c.bound, "Satisfied": c.satisfied, "Slack": c.slack})
              for c in summary.constraints]
    inputs = [el.properties(input_f.children, {"SubmodelId": i.submodel_id, "SemanticId": i.semantic_id,
                                                "Version": i.version or None}) for i in problem.inputs]
    elements = [
        *el.properties(sc.OPTIMIZATION_RESULT, {
            "Status": summary.status, "ProductId": summary.product_id,
            "Started": summary.started, "Finished": summary.finished, "RunId": summary.run_id}),
        el.collection_list(input_f, inputs),
        _collection("SolverRecord", record_values(summary)),
        _collection("KPIs", kpi_values(summary)),
        el.collection_list(_field("Selection"), selection),
        el.collection_list(_field("Constraints"), checks),
    ]
    return el.submodel(submodel_id, "BomOptimizationResult", contract.OPTIMIZATION_RESULT, elements,
                       version=str(version), revision="0")


def next_version(existing: model.Submodel | None) -> int:
    if existing is None or existing.administration is None or existing.administration.version is None:
        return 1
    try:
        return int(existing.administration.version) + 1
    except ValueError:
        return 1


@paused_gc()
def output_objects(env: AasEnvironment, product_shell_id: str, result: model.Submodel) -> list[model.Identifiable]:
    """The inputs plus the result, with the product shell (a copy) referencing the result once.

    The input objects are not touched: the shell is deep-copied before its reference set changes.
    """
    objects: list[model.Identifiable] = []
    for obj in env.objects:
        if obj.id == result.id:
            continue  # an earlier result in the inputs is replaced
        if obj.id == product_shell_id:
            shell = copy.deepcopy(obj)
            assert isinstance(shell, model.AssetAdministrationShell)
            shell.submodel = {r for r in shell.submodel if r.key[-1].value != result.id}
            shell.submodel.add(model.ModelReference.from_referable(result))
            obj = shell
        objects.append(obj)
    objects.append(result)
    return objects
