"""A saved BomOptimizationResult read back and rechecked before anything is derived from it (ERP files,
explanations, OPC UA nodes): against today's inputs when they are at hand, else against itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import schema as sc
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.mapping.nodes import field_named, root
from aas_quantum.aas.mapping.product import read_catalog
from aas_quantum.aas.result import KPI_KEYS, RECORD_KEYS, result_submodel_id
from aas_quantum.errors import BomInputError, Location
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.report import ConstraintStatus, Kpis, selection_lines
from aas_quantum.solvers import SolverRecord
from aas_quantum.summary import RunSummary, legacy_run_id


@dataclass(frozen=True)
class SavedPick:
    """One SelectedPosition of a saved result: what was bought, and what it cost then."""

    position_id: str
    part_number: str
    supplier_id: str
    extended_price: float
    location: Location


def read_result(submodel: model.Submodel, source: str) -> tuple[RunSummary, tuple[SavedPick, ...]]:
    """A saved BomOptimizationResult: its summary (without selection lines, which only today's
    inputs can rebuild; see ``saved_run``) and its picks."""
    node, t = root(submodel, source), sc.OPTIMIZATION_RESULT
    kpi_f, record_f, line_f, check_f = field_named(t, "KPIs"), field_named(t, "SolverRecord"), sc.SELECTION_LINE, \
        sc.CONSTRAINT_LINE
    kpis, record = node.collection(kpi_f), node.collection(record_f)
    if kpis is None or record is None:
        raise BomInputError("result has no KPIs or SolverRecord", node.location)

    def flag(value: Any) -> bool:  # xs:boolean arrives as bool or as its lexical form
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")

    # xs:dateTime arrives as a datetime or as its text
    started, finished = (dt.datetime.fromisoformat(str(node.value(field_named(t, name))))
                         for name in ("Started", "Finished"))
    product_id = node.value(field_named(t, "ProductId"))
    kpi = {key: kpis.value(kpi_f.child(name)) for name, key in KPI_KEYS.items()}
    kpi["optimum_proven"] = flag(kpi["optimum_proven"])
    kpi["lot_size"] = 1.0 if kpi["lot_size"] is None else kpi["lot_size"]  # results before lot sizes
    solver = {key: value for name, key in RECORD_KEYS.items()
              if (value := record.value(record_f.child(name))) is not None}  # unset: the record's default
    summary = RunSummary(
        run_id=node.value(field_named(t, "RunId")) or legacy_run_id(product_id, finished),
        product_id=product_id, status=node.value(field_named(t, "Status")), started=started, finished=finished,
        currency=kpis.value(kpi_f.child("Currency")), kpis=Kpis(**kpi), solver=SolverRecord(**solver),
        selection=(),
        constraints=tuple(
            ConstraintStatus(c.value(check_f.child("Name")), "", c.value(check_f.child("Value")),
                             c.value(check_f.child("Sense")), c.value(check_f.child("Bound")),
                             flag(c.value(check_f.child("Satisfied"))), c.value(check_f.child("Slack")))
            for c in node.collections(field_named(t, "Constraints"))),
    )
    picks = tuple(
        SavedPick(line.value(line_f.child("PositionId")), line.value(line_f.child("PartNumber")),
                  line.value(line_f.child("SupplierId")), line.value(line_f.child("ExtendedPrice")), line.location)
        for line in node.collections(field_named(t, "Selection"))
    )
    return summary, picks


def saved_choice(problem: BomProblem, picks: Sequence[SavedPick]) -> tuple[int, ...]:
    """The option chosen per position by a saved result, checked against today's inputs.

    A pick the inputs no longer offer, or at another price, is an error: exporting it would quote
    a selection that was never optimised.
    """
    by_position = {p.position_id: p for p in picks}
    choice = []
    for position in problem.positions:
        pick = by_position.get(position.position_id)
        if pick is None:
            raise BomInputError(f"the result has no selection for position {position.position_id!r}")
        k = next((i for i, o in enumerate(position.options)
                  if o.part_number == pick.part_number and o.supplier_id == pick.supplier_id), None)
        if k is None:
            raise BomInputError(f"{pick.part_number} from {pick.supplier_id} is no longer an option for position "
                                f"{pick.position_id} (the inputs changed since the run)", pick.location)
        now = position.options[k].extended_price
        if abs(now - pick.extended_price) > 1e-6 * max(1.0, abs(now)):
            raise BomInputError(f"position {pick.position_id}: the inputs price {pick.part_number} at {now:.2f}, "
                                f"the result at {pick.extended_price:.2f} (the inputs changed since the run)",
                                pick.location)
        choice.append(k)
    extra = set(by_position) - {p.position_id for p in problem.positions}
    if extra:
        raise BomInputError(f"the result selects positions the inputs do not have: {sorted(extra)}")
    return tuple(choice)


def saved_run(env: AasEnvironment, shell: model.AssetAdministrationShell
              ) -> tuple[BomProblem, tuple[int, ...], RunSummary] | None:
    """The product's saved result, if the environment holds one: its problem, choice and summary.

    The summary's selection lines are rebuilt from today's inputs, which ``saved_choice`` has
    checked against the result.
    """
    saved = env.objects.get(result_submodel_id(shell.id))
    if not isinstance(saved, model.Submodel):
        return None
    summary, picks = read_result(saved, env.origin[saved.id])
    catalog = read_catalog(env, shell)
    problem = build_problem(dataclasses.replace(  # the lot the run bought for
        catalog, request=dataclasses.replace(catalog.request, lot_size=summary.kpis.lot_size)))
    choice = saved_choice(problem, picks)
    recheck_result(problem, choice, summary, Location(env.origin[saved.id], saved.id))
    return problem, choice, dataclasses.replace(summary, selection=selection_lines(problem, choice),
                                                product_name=problem.name)


def _differs(stored: float, actual: float) -> bool:
    return abs(stored - actual) > 1e-6 * max(1.0, abs(actual))


def recheck_result(problem: BomProblem, choice: tuple[int, ...], summary: RunSummary, where: Location) -> None:
    """A saved result, recomputed from the inputs it names before anything is derived from it (ERP files,
    explanations, OPC UA nodes): its product, key figures and constraint report must be what its selection gives
    and the selection must keep every limit. An edited result, or one from other inputs, is refused with what
    disagrees; saying "optimal" of a selection that breaks a limit would be a wrong answer reported as right."""
    x = problem.x_from_choice(choice)
    lines = selection_lines(problem, choice)
    disagree = [f"ProductId is {summary.product_id!r}, the inputs' product {problem.product_id!r}"] \
        if summary.product_id != problem.product_id else []
    actual = {
        "Objective": problem.objective(x), "TotalCost": sum(ln.extended_price for ln in lines),
        "TotalWeight": sum(ln.weight_kg for ln in lines), "TotalCO2e": sum(ln.co2e_kg for ln in lines),
        "TotalPerformance": sum(p.options[k].per_position(contract.PERFORMANCE)
                                for p, k in zip(problem.positions, choice, strict=True)),
        "MaxLeadTimeDays": max((ln.lead_time_days for ln in lines), default=0.0),
        "SuppliersUsed": len({ln.supplier_id for ln in lines}),
    }
    for name, value in actual.items():
        stored = getattr(summary.kpis, KPI_KEYS[name])
        if _differs(float(stored), float(value)):
            disagree.append(f"KPIs.{name} is {stored:g}, the selection gives {value:g}")
    stored_checks = {c.name: c for c in summary.constraints}
    for constraint in problem.constraints:
        value, holds = constraint.lhs(x), constraint.violation(x) <= 1e-9
        if not holds:
            disagree.append(f"the selection breaks {constraint.name} ({value:g} {constraint.sense} {constraint.rhs:g})")
        check = stored_checks.get(constraint.name)
        if check is not None and (_differs(check.value, value) or _differs(check.bound, constraint.rhs)
                                  or check.satisfied != holds):
            disagree.append(f"Constraints {constraint.name} says {check.value:g} {check.sense} {check.bound:g} "
                            f"({'satisfied' if check.satisfied else 'violated'}), the inputs give {value:g} "
                            f"{constraint.sense} {constraint.rhs:g}")
    if disagree:
        raise BomInputError("the result disagrees with its inputs (edited, or from other inputs): "
                            + "; ".join(disagree) + "; run `aas-quantum optimize` again", where)


def check_result(summary: RunSummary, picks: Sequence[SavedPick], where: Location) -> None:
    """A result read without its inputs (a result .json, the server's submodel), checked against itself: the
    total cost is its lines' sum, each constraint's verdict follows from its value and bound, and no result with
    a broken limit says it is feasible."""
    disagree = []
    total = sum(pick.extended_price for pick in picks)
    if _differs(summary.kpis.total_cost, total):
        disagree.append(f"KPIs.TotalCost is {summary.kpis.total_cost:g}, its Selection's ExtendedPrices sum to "
                        f"{total:g}")
    for check in summary.constraints:
        gap = check.value - check.bound if check.sense == "<=" else check.bound - check.value
        holds = gap <= 1e-9 * max(1.0, abs(check.bound))
        if holds != check.satisfied:
            disagree.append(f"Constraints {check.name}: {check.value:g} {check.sense} {check.bound:g} is "
                            f"{'satisfied' if holds else 'violated'}, the result says the opposite")
        elif not holds:
            disagree.append(f"Status is {summary.status!r}, but {check.name} is violated")
    if disagree:
        raise BomInputError("the result contradicts itself (edited?): " + "; ".join(disagree), where)
