"""Why each position's option was chosen, and what the next best would cost (``aas-quantum explain``).

For every position the chosen option is compared with each other option of that position, the rest
of the selection held fixed: the change of the objective, of the money spent, and the limits the
swap would break. A cheaper option that lost did so because it breaks a limit (named, with the
amount) or because its other objective terms (CO2 price, risk, supplier concentration) outweigh the
saving. The next best is the best selection that avoids the chosen option, re-optimised by
``exact`` (a single swap is often infeasible under tight limits), with how many other positions it
changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aas_quantum.problem import BomProblem, LinearConstraint, Option
from aas_quantum.solvers import SolveOptions, get_solver


@dataclass(frozen=True)
class Swap:
    """Another option of the position in place of the chosen one, everything else unchanged."""

    option: Option
    objective_change: float  # in request currency; > 0: worse
    money_change: float  # extended price difference
    breaks: tuple[str, ...]  # "MaxTotalWeight by 0.012" per limit the swap would violate
    others_changed: int = 0  # a re-optimised next best: how many other positions it changes


@dataclass(frozen=True)
class PositionExplanation:
    position_id: str
    designation: str
    chosen: Option
    reason: str
    next_best: Swap | None  # the best selection without the chosen option (None: every selection within
    # the limits needs it)
    swaps: tuple[Swap, ...]


def _swaps(problem: BomProblem, x: np.ndarray, base: float, chosen: Option, options: Sequence[Option]
           ) -> list[Swap]:
    swaps = []
    for option in options:
        if option.index == chosen.index:
            continue
        y = x.copy()
        y[chosen.index], y[option.index] = 0.0, 1.0
        breaks = tuple(f"{c.name} by {v:,.4g}" for c, v in problem.violations(y))
        swaps.append(Swap(option, problem.objective(y) - base, option.extended_price - chosen.extended_price, breaks))
    return swaps


def _reason(swaps: Sequence[Swap], currency: str) -> str:
    if not swaps:
        return "the only option"
    cheaper = [s for s in swaps if s.money_change < -1e-9]
    if not cheaper:
        return "the lowest price of the position's options"
    parts = []
    for swap in sorted(cheaper, key=lambda s: s.money_change)[:2]:
        saving = f"{swap.option.part_number} @ {swap.option.supplier_id} ({swap.money_change:,.2f} {currency})"
        if swap.breaks:
            parts.append(f"cheaper {saving} would break {', '.join(swap.breaks)}")
        elif swap.objective_change > 1e-9:
            extra = swap.objective_change - swap.money_change
            parts.append(f"cheaper {saving} adds {extra:,.2f} {currency} of CO2, risk or concentration terms")
        else:
            parts.append(f"cheaper {saving} would lower the objective by {-swap.objective_change:,.2f} {currency}: "
                         "the selection is not optimal here")
    return "; ".join(parts)


def _without(problem: BomProblem, choice: Sequence[int], p: int, chosen: Option, base: float,
             time_limit_s: float) -> Swap | None:
    """The best selection that does not use ``chosen`` (exact), as the next best of position ``p``."""
    without = LinearConstraint(f"Without {chosen.part_number}", "rule", ((chosen.index, 1.0),), "<=", 0.0)
    barred = BomProblem(problem.product_id, problem.currency, problem.positions, (*problem.constraints, without),
                        problem.concentration_weight, problem.request)
    solution = get_solver("exact").solve(barred, SolveOptions(time_limit_s=time_limit_s))
    if not solution.is_feasible or solution.choice is None or solution.objective is None:
        return None
    option = problem.positions[p].options[solution.choice[p]]
    changed = sum(1 for i, (a, b) in enumerate(zip(choice, solution.choice, strict=True)) if a != b and i != p)
    return Swap(option, solution.objective - base, option.extended_price - chosen.extended_price, (), changed)


def explain(problem: BomProblem, choice: Sequence[int], time_limit_s: float = 10.0) -> list[PositionExplanation]:
    x = problem.x_from_choice(tuple(choice))
    base = problem.objective(x)
    explained = []
    for p, (position, k) in enumerate(zip(problem.positions, choice, strict=True)):
        chosen = position.options[k]
        swaps = _swaps(problem, x, base, chosen, position.options)
        next_best = _without(problem, choice, p, chosen, base, time_limit_s) if swaps else None
        explained.append(PositionExplanation(position.position_id, position.designation, chosen,
                                             _reason(swaps, problem.currency), next_best, tuple(swaps)))
    return explained
