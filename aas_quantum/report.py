"""Metrics of a solution: selection lines, totals, constraint report, and the comparison with the
greedy baseline and the proven optimum that every result quotes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aas_quantum import contract
from aas_quantum.problem import BomProblem, Option, Position
from aas_quantum.solvers import Solution


@dataclass(frozen=True)
class SelectionLine:
    position_id: str
    designation: str
    part_number: str
    manufacturer: str
    manufacturer_designation: str
    supplier_id: str
    quantity: float
    unit: str
    order_quantity: float
    unit_price: float
    extended_price: float
    lead_time_days: float
    weight_kg: float
    co2e_kg: float
    asset_id: str


@dataclass(frozen=True)
class ConstraintStatus:
    name: str
    kind: str
    value: float
    sense: str
    bound: float
    satisfied: bool
    slack: float


@dataclass(frozen=True)
class Kpis:
    """The key figures of a selection and its comparison with the greedy baseline and the optimum."""

    objective: float
    total_cost: float
    total_weight_kg: float
    total_performance: float
    total_co2e_kg: float
    max_lead_time_days: float
    suppliers_used: int
    greedy_cost: float | None
    greedy_objective: float | None
    improvement_vs_greedy_pct: float | None
    optimum_bound: float | None
    optimum_proven: bool
    gap_to_optimum_pct: float | None
    # the strong classical reference (greedy polished by single swaps); None in results written before it
    greedy_ls_objective: float | None = None
    improvement_vs_greedy_ls_pct: float | None = None
    lot_size: float = 1.0  # products the quantities and money figures are for


@dataclass(frozen=True)
class Report:
    product_id: str
    currency: str
    solution: Solution
    lines: tuple[SelectionLine, ...]
    constraints: tuple[ConstraintStatus, ...]
    kpis: Kpis
    started: dt.datetime
    finished: dt.datetime
    greedy_choice: tuple[int, ...] | None = None  # the greedy baseline's selection, for per-position comparisons
    product_name: str = ""  # ``BomProblem.name``


def _pct(numerator: float, denominator: float) -> float:
    return float(100.0 * numerator / abs(denominator)) if abs(denominator) > 1e-12 else 0.0


def selection_line(position: Position, option: Option) -> SelectionLine:
    """What buying ``option`` for ``position`` means: quantities, prices, weight, CO2."""
    return SelectionLine(
        position_id=position.position_id, designation=position.designation, part_number=option.part_number,
        manufacturer=option.variant.manufacturer, manufacturer_designation=option.variant.designation,
        supplier_id=option.supplier_id, quantity=option.quantity, unit=position.unit,
        order_quantity=option.order_quantity, unit_price=option.unit_price, extended_price=option.extended_price,
        lead_time_days=option.lead_time_days, weight_kg=option.per_position(contract.UNIT_WEIGHT),
        co2e_kg=option.per_position(contract.CO2E_PER_UNIT), asset_id=option.variant.asset_id,
    )


def selection_lines(problem: BomProblem, choice: tuple[int, ...]) -> tuple[SelectionLine, ...]:
    return tuple(selection_line(position, position.options[k])
                 for position, k in zip(problem.positions, choice, strict=True))


def build_report(
    problem: BomProblem,
    solution: Solution,
    greedy: Solution | None,
    exact: Solution | None,
    started: dt.datetime,
    finished: dt.datetime,
    greedy_ls: Solution | None = None,
) -> Report:
    """Report on a feasible ``solution``; ``greedy``, ``greedy_ls`` and ``exact`` are the baselines it is
    compared to."""
    x = solution.x(problem)
    lines = selection_lines(problem, solution.choice or ())
    constraints = tuple(
        ConstraintStatus(c.name, c.kind, c.lhs(x), c.sense, c.rhs, c.violation(x) <= 1e-9, c.slack(x))
        for c in problem.constraints
    )
    objective = problem.objective(x)
    greedy_choice = greedy.choice if greedy is not None and greedy.is_feasible else None
    greedy_objective = greedy.objective if greedy is not None and greedy_choice is not None else None
    greedy_cost = sum(ln.extended_price for ln in selection_lines(problem, greedy_choice)) \
        if greedy_choice is not None else None
    strong = greedy_ls.objective if greedy_ls is not None and greedy_ls.is_feasible else None
    bound = exact.bound if exact is not None else solution.bound
    kpis = Kpis(  # plain floats: solvers compute in numpy, the figures go to JSON, AAS and OPC UA
        objective=float(objective),
        total_cost=float(sum(ln.extended_price for ln in lines)),
        total_weight_kg=float(sum(ln.weight_kg for ln in lines)),
        total_performance=float(sum(o.per_position(contract.PERFORMANCE)
                                    for p, k in zip(problem.positions, solution.choice or (), strict=True)
                                    for o in [p.options[k]])),
        total_co2e_kg=float(sum(ln.co2e_kg for ln in lines)),
        max_lead_time_days=float(max((ln.lead_time_days for ln in lines), default=0.0)),
        suppliers_used=len({ln.supplier_id for ln in lines}),
        greedy_cost=_float(greedy_cost),
        greedy_objective=_float(greedy_objective),
        improvement_vs_greedy_pct=_pct(greedy_objective - objective, greedy_objective)
        if greedy_objective is not None else None,
        optimum_bound=_float(bound),
        optimum_proven=exact is not None and exact.status.value == "optimal",
        gap_to_optimum_pct=_pct(objective - bound, bound) if bound is not None else None,
        greedy_ls_objective=_float(strong),
        improvement_vs_greedy_ls_pct=_pct(strong - objective, strong) if strong is not None else None,
        lot_size=problem.request.lot_size if problem.request is not None else 1.0,
    )
    return Report(problem.product_id, problem.currency, solution, lines, constraints, kpis, started, finished,
                  greedy_choice, problem.name)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)
