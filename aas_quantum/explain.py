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
from aas_quantum.solvers import SolveOptions, get_solver, single_swaps


@dataclass(frozen=True)
class Swap:
    """Another option of the position in place of the chosen one, everything else unchanged."""

    option: Option
    objective_change: float  # in request currency; > 0: worse
    money_change: float  # extended price difference
    breaks: tuple[str, ...]  # "MaxTotalWeight by 0.012" per limit the swap would violate
    others_changed: int = 0  # a re-optimised next best: how many other positions it changes

    def why_not(self, currency: str) -> str:
        """Why this option is not the answer: the limits it would break and by how much, else what it adds
        to the objective."""
        if self.breaks:
            return "would break " + ", ".join(self.breaks)
        if self.objective_change > 1e-9:
            return f"objective +{self.objective_change:,.2f} {currency} (price, CO2 charge, risk and concentration " \
                   "together)"
        if self.objective_change < -1e-9:  # only a heuristic's selection can leave a better single swap
            return f"objective {self.objective_change:,.2f} {currency}: better alone; the returned selection was " \
                   "not proven optimal"
        return "ties with the chosen option"


def single_swap_effects(problem: BomProblem, choice: Sequence[int]) -> dict[int, Swap]:
    """Every option not chosen (by option index) as a swap into its position, scored all at once."""
    effects = single_swaps(problem, choice)
    chosen = problem.position_starts + np.asarray(choice)
    broken = effects.excess > 1e-9
    swaps = {}
    for option in problem.options:
        current = problem.options[int(chosen[problem.option_position[option.index]])]
        if option.index == current.index:
            continue
        breaks = tuple(f"{problem.constraints[row].name} by {effects.excess[row, option.index]:,.4g}"
                       for row in np.flatnonzero(broken[:, option.index]))
        swaps[option.index] = Swap(option, float(effects.objective_change[option.index]),
                                   option.extended_price - current.extended_price, breaks)
    return swaps


@dataclass(frozen=True)
class PositionExplanation:
    position_id: str
    designation: str
    chosen: Option
    reason: str
    next_best: Swap | None  # the best selection without the chosen option (None: every selection within
    # the limits needs it)
    swaps: tuple[Swap, ...]


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
                        problem.concentration_weight, problem.request, name=problem.name)
    solution = get_solver("exact").solve(barred, SolveOptions(time_limit_s=time_limit_s))
    if not solution.is_feasible or solution.choice is None or solution.objective is None:
        return None
    option = problem.positions[p].options[solution.choice[p]]
    changed = sum(1 for i, (a, b) in enumerate(zip(choice, solution.choice, strict=True)) if a != b and i != p)
    return Swap(option, solution.objective - base, option.extended_price - chosen.extended_price, (), changed)


def explain(problem: BomProblem, choice: Sequence[int], time_limit_s: float = 10.0) -> list[PositionExplanation]:
    base = problem.objective(problem.x_from_choice(tuple(choice)))
    every = single_swap_effects(problem, choice)
    explained = []
    for p, (position, k) in enumerate(zip(problem.positions, choice, strict=True)):
        chosen = position.options[k]
        swaps = [every[o.index] for o in position.options if o.index != chosen.index]
        next_best = _without(problem, choice, p, chosen, base, time_limit_s) if swaps else None
        explained.append(PositionExplanation(position.position_id, position.designation, chosen,
                                             _reason(swaps, problem.currency), next_best, tuple(swaps)))
    return explained
