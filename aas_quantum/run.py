"""One optimisation run: the chosen solver plus the greedy and exact baselines every report quotes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from aas_quantum.errors import ConfigError, InfeasibleError
from aas_quantum.problem import BomProblem
from aas_quantum.report import Report, build_report
from aas_quantum.solvers import SolveOptions, Status, get_solver

Progress = Callable[[str, float], None]


def optimize(problem: BomProblem, method: str, options: SolveOptions | None = None,
             progress: Progress | None = None) -> Report:
    """Solve with ``method`` and compare with greedy and the (time-limited) exact MILP.

    ``progress(stage, fraction)`` is told when each stage starts (publishers turn it into status).
    Raises ``InfeasibleError`` with the limits at fault when no selection can satisfy the request,
    ``ConfigError`` when the method cannot take the problem (e.g. a statevector too large).
    """
    options = options or SolveOptions()
    report_progress = progress or (lambda stage, fraction: None)
    solver = get_solver(method)
    refused = solver.compatibility(problem, options)
    if refused:
        raise ConfigError(f"solver {method}: {refused}")
    started = dt.datetime.now(dt.UTC)
    report_progress("exact baseline", 0.0)
    exact = get_solver("exact").solve(problem, options)
    if exact.status == Status.INFEASIBLE:
        raise InfeasibleError(list(exact.reasons))
    report_progress("greedy baseline", 0.2)
    greedy = get_solver("greedy").solve(problem, options)
    report_progress(method, 0.3)
    baselines = {"exact": exact, "greedy": greedy}  # solved already: not solved twice
    if exact.status == Status.OPTIMAL:
        options = options.with_(known_optimum=exact.objective)
    solution = baselines[method] if method in baselines else solver.solve(problem, options)
    if not solution.is_feasible:
        fallback = exact if exact.is_feasible else greedy
        if not fallback.is_feasible:
            raise InfeasibleError([f"{method} found no feasible selection", *solution.reasons])
        raise InfeasibleError([f"{method} found no feasible selection ({solution.status.value}); "
                               f"{fallback.record.method} did: rerun with --solver {fallback.record.method}"])
    report_progress("report", 0.95)
    return build_report(problem, solution, greedy, exact, started, dt.datetime.now(dt.UTC))
