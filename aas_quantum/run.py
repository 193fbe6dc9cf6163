"""One optimisation run: the chosen solver plus the greedy and exact baselines every report quotes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from aas_quantum.errors import InfeasibleError
from aas_quantum.problem import BomProblem
from aas_quantum.report import Report, build_report
from aas_quantum.solvers import SolveOptions, Status, get_solver
from aas_quantum.solvers.variational import encoded_qubits

Progress = Callable[[str, float], None]


def optimize(problem: BomProblem, method: str, options: SolveOptions | None = None,
             progress: Progress | None = None) -> Report:
    """Solve with ``method`` and compare with greedy and the (time-limited) exact MILP.

    ``progress(stage, fraction)`` is told when each stage starts (publishers turn it into status).
    Raises ``InfeasibleError`` with the limits at fault when no selection can satisfy the request.
    """
    options = options or SolveOptions()
    report_progress = progress or (lambda stage, fraction: None)
    started = dt.datetime.now(dt.UTC)
    report_progress("exact baseline", 0.0)
    exact = get_solver("exact").solve(problem, options)
    if exact.status == Status.INFEASIBLE:
        raise InfeasibleError(list(exact.reasons))
    report_progress("greedy baseline", 0.2)
    greedy = get_solver("greedy").solve(problem, options)
    if method == "auto":  # direct QAOA when the encoded problem fits the qubit budget, decomposition otherwise
        fits = problem.n_options <= options.qubit_budget \
            and encoded_qubits(problem, options.encoding) <= options.qubit_budget
        method = "qaoa" if fits else "hybrid"
    report_progress(method, 0.3)
    options = options.with_(extra={**options.extra, "optimum": exact.objective}) \
        if exact.status == Status.OPTIMAL else options
    if method == "exact":
        solution = exact
    elif method == "greedy":
        solution = greedy
    else:
        solution = get_solver(method).solve(problem, options)
    if not solution.is_feasible:
        fallback = exact if exact.is_feasible else greedy
        if not fallback.is_feasible:
            raise InfeasibleError([f"{method} found no feasible selection", *solution.reasons])
        raise InfeasibleError([f"{method} found no feasible selection ({solution.status.value}); "
                               f"{fallback.record.method} did: rerun with --solver {fallback.record.method}"])
    report_progress("report", 0.95)
    return build_report(problem, solution, greedy, exact, started, dt.datetime.now(dt.UTC))
