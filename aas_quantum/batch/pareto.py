"""``aas-quantum pareto``: the trade-off between total cost and CO2e (or weight, or lead time) of one
product, by the epsilon-constraint method.

Cost alone is minimised (the other objective terms off) while the second measure is held below a
bound swept from what the cheapest selection needs down to its least achievable value; each point
is solved by ``exact`` (HiGHS), so each comes with its proven gap. Points that another point beats
in both measures are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aas_quantum.app import ProductInput, Repository, RequestOverrides, ResultFiles
from aas_quantum.atomic import atomic_write
from aas_quantum.errors import ConfigError, InfeasibleError
from aas_quantum.report import Kpis
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions, check_value

# measure -> (KPI field, the limit that bounds it, its unit)
MEASURES = {"co2": ("total_co2e_kg", "max_total_co2e_kg", "kg CO2e"),
            "weight": ("total_weight_kg", "max_total_weight_kg", "kg"),
            "lead_time": ("max_lead_time_days", "max_lead_time_days", "days")}
COST_ONLY = {"cost": 1.0, "co2_price_per_kg": 0.0, "risk": 0.0, "concentration": 0.0}


@dataclass(frozen=True)
class Point:
    cost: float
    measure: float
    gap_pct: float | None
    bound: float | None  # the limit this point was solved under (None: unbounded)
    selection: dict[str, str]  # position -> "part @ supplier"


@dataclass(frozen=True)
class Front:
    product_id: str
    currency: str
    y: str
    points: tuple[Point, ...]
    name: str = ""  # the product's name (``BomProblem.name``): its file and the report's plot say it

    def to_json(self) -> dict[str, Any]:
        field, _, unit = MEASURES[self.y]
        return {"product_id": self.product_id, "product_name": self.name, "x": f"total cost ({self.currency})",
                "y": f"{field} ({unit})",
                "points": [{"x": p.cost, "y": p.measure, "gap_pct": p.gap_pct, "bound": p.bound,
                            "selection": p.selection} for p in self.points]}


MAX_POINTS = 200  # bounds a sweep may be asked for; more resolve nothing a user can read off a front


def check_sweep(y: str, points: int, time_limit_s: float | None) -> None:
    """Refuse a sweep that cannot run, before anything is read."""
    if y not in MEASURES:
        raise ConfigError(f"--y must be one of {', '.join(MEASURES)}, got {y!r}")
    if not 2 <= points <= MAX_POINTS:
        raise ConfigError(f"--points must be between 2 and {MAX_POINTS}, got {points}")
    if time_limit_s is not None:
        check_value("time_limit_s", time_limit_s, "--time-limit")


def _solve(product: ProductInput, overrides: dict[str, Any], time_limit_s: float | None
           ) -> tuple[Kpis, dict[str, str]]:
    problem = product.problem(RequestOverrides.of(overrides))
    report = optimize(problem, "exact", None if time_limit_s is None else SolveOptions(time_limit_s=time_limit_s))
    return report.kpis, {line.position_id: f"{line.part_number} @ {line.supplier_id}" for line in report.lines}


def pareto_front(repository: Repository, shell_id: str | None, y: str = "co2", points: int = 15,
                 time_limit_s: float | None = None) -> Front:
    """The front, from at most ``points`` solves: a bound the last point already meets would give that point
    again (the optimum under a bound stays optimal under any tighter bound it meets), so the sweep goes on
    below its measure, and it ends at the first bound nothing meets (every lower one is infeasible too)."""
    check_sweep(y, points, time_limit_s)
    shell_id = repository.product(shell_id)
    product = ProductInput.read(repository, shell_id)
    field, limit, _ = MEASURES[y]
    cheapest, selection = _solve(product, COST_ONLY, time_limit_s)
    found = [Point(cheapest.total_cost, getattr(cheapest, field), cheapest.gap_to_optimum_pct, None, selection)]
    if y == "co2":  # the least CO2e any selection reaches: CO2e alone as the objective
        least, _ = _solve(product, {"cost": 0.0, "co2_price_per_kg": 1.0, "risk": 0.0, "concentration": 0.0},
                          time_limit_s)
        low = least.total_co2e_kg
    elif y == "lead_time":  # below the longest of the positions' shortest lead times a position has no option left
        problem = product.problem(RequestOverrides.of(COST_ONLY))
        low = max(min(o.lead_time_days for o in p.options) for p in problem.positions)
    else:  # a bound below which nothing is feasible is found by the sweep itself
        low = 0.0
    high = found[0].measure
    for bound in (float(b) for b in np.linspace(high, low, points)[1:]):
        if bound >= found[-1].measure:
            continue
        try:
            kpis, selection = _solve(product, {**COST_ONLY, limit: bound}, time_limit_s)
        except InfeasibleError:
            break
        found.append(Point(kpis.total_cost, getattr(kpis, field), kpis.gap_to_optimum_pct, bound, selection))
    front = [p for p in found if not any(q.cost <= p.cost and q.measure <= p.measure
                                         and (q.cost, q.measure) != (p.cost, p.measure) for q in found)]
    unique = {(round(p.cost, 6), round(p.measure, 6)): p for p in front}
    ordered = tuple(sorted(unique.values(), key=lambda p: p.cost))
    catalog = product.catalog()
    return Front(catalog.request.product_id, catalog.request.currency, y, ordered, catalog.product_name)


def write_front(front: Front, out: Path, shell_id: str) -> Path:
    """``pareto-<product stem>-<measure>.json`` in ``out`` (the batch report plots every such file there)."""
    path = out / f"pareto-{ResultFiles.of(out, shell_id, front.name).stem}-{front.y}.json"
    with atomic_write(path) as fh:
        json.dump(front.to_json(), fh, indent=2)
    return path
