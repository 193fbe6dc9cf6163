"""Exact MILP (HiGHS through scipy): the proven optimum or bound every report quotes.

The concentration term sum_s w * n_s^2 is linearised exactly for integer n_s with its secants:
z_s >= (2k+1) n_s - k(k+1) for k = 0..K-1 (the secant through (k, k^2) and (k+1, (k+1)^2)).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse

from aas_quantum.problem import BomProblem, unreachable_limits
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status

# HiGHS stops at a relative gap of 1e-4 by default and still says "optimal": on a 2,000-position BoM that
# left a selection 0.009 % dearer than greedy's labelled as the proven optimum. Optimal means optimal here.
MIP_REL_GAP = 1e-9


class ExactSolver(Solver):
    name = "exact"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        n = problem.n_options
        groups = list(problem.supplier_groups.values()) if problem.concentration_weight else []
        n_vars = n + len(groups)
        c = np.concatenate([problem.cost_vector, np.full(len(groups), problem.concentration_weight)])

        # the constraint matrix is assembled sparse: dense rows cost n_vars floats each (100 MB at 2,000 positions)
        row_of: list[np.ndarray] = []
        col_of: list[np.ndarray] = []
        val_of: list[np.ndarray] = []
        lower: list[float] = []
        upper: list[float] = []

        def add(columns: np.ndarray, values: np.ndarray, low: float, high: float) -> None:
            row_of.append(np.full(len(columns), len(lower)))
            col_of.append(np.asarray(columns))
            val_of.append(np.asarray(values, dtype=float))
            lower.append(low)
            upper.append(high)

        for sl in problem.position_slices:  # exactly one option per position
            add(np.arange(sl.start, sl.stop), np.ones(sl.stop - sl.start), 1.0, 1.0)
        a_le, b_le = problem.le_form
        for r in range(len(b_le)):
            columns = np.flatnonzero(a_le[r])
            add(columns, a_le[r, columns], -np.inf, float(b_le[r]))
        for g, idx in enumerate(groups):
            positions = len({problem.options[i].position_id for i in idx})
            for k in range(positions):
                add(np.array([*idx, n + g]), np.array([2 * k + 1] * len(idx) + [-1.0]), -np.inf, k * (k + 1))
        matrix = sparse.csr_array((np.concatenate(val_of), (np.concatenate(row_of), np.concatenate(col_of))),
                                  shape=(len(lower), n_vars))

        result = optimize.milp(
            c,
            integrality=np.concatenate([np.ones(n), np.zeros(len(groups))]),
            bounds=optimize.Bounds(np.zeros(n_vars), np.concatenate([np.ones(n), np.full(len(groups), np.inf)])),
            constraints=optimize.LinearConstraint(matrix, lower, upper),
            options={"time_limit": options.time_limit_s, "disp": False, "mip_rel_gap": MIP_REL_GAP},
        )
        wall = time.perf_counter() - start
        bound = getattr(result, "mip_dual_bound", None)
        record = SolverRecord(method=self.name, backend="HiGHS (scipy.optimize.milp)", wall_time_s=wall,
                              details={"milp_status": int(result.status), "message": str(result.message),
                                       "variables": n_vars, "rows": len(lower)})
        if result.status == 2:
            reasons = unreachable_limits(problem) or [
                "the limits cannot be met together (each one alone can): "
                + ", ".join(c.name for c in problem.constraints)
            ]
            return Solution(Status.INFEASIBLE, None, None, record, reasons=tuple(reasons))
        if result.x is None:
            return Solution(Status.NO_SOLUTION, None, None, record, bound=bound,
                            reasons=(f"HiGHS stopped without a feasible selection: {result.message}",))
        choice = problem.choice_from_x(np.round(result.x[:n]))
        assert choice is not None  # the equality rows give every position exactly one option
        x = problem.x_from_choice(choice)
        status = Status.OPTIMAL if result.status == 0 else Status.FEASIBLE
        objective = problem.objective(x)
        return Solution(status, choice, objective, record, bound=objective if status == Status.OPTIMAL else bound)


@dataclass(frozen=True)
class LpRelaxation:
    """The LP relaxation (one-hot rows and limits, concentration left out): where warm starts and the
    hybrid's windows look first."""

    values: np.ndarray  # per option, in [0, 1]
    prices: np.ndarray  # dual price (>= 0) of each ``le_form`` row: what one more unit of the limit is worth


def lp_relaxation(problem: BomProblem, time_limit_s: float | None = None) -> LpRelaxation | None:
    """The relaxation solved by HiGHS; None when it has no solution (or none within ``time_limit_s``: a
    caller with a deadline passes what is left of it, since HiGHS cannot be interrupted)."""
    a, b = problem.le_form
    one_hot = sparse.csr_array((np.ones(problem.n_options), (problem.option_position, np.arange(problem.n_options))),
                               shape=(len(problem.positions), problem.n_options))
    result = optimize.linprog(problem.cost_vector, A_ub=a if len(b) else None, b_ub=b if len(b) else None,
                              A_eq=one_hot, b_eq=np.ones(len(problem.positions)), bounds=(0.0, 1.0), method="highs",
                              options={} if time_limit_s is None else {"time_limit": max(time_limit_s, 1e-3)})
    if result.status != 0:
        return None
    prices = np.maximum(-np.asarray(result.ineqlin.marginals), 0.0) if len(b) else np.zeros(0)
    return LpRelaxation(np.asarray(result.x), prices)
