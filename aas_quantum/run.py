"""One optimisation run: the chosen solver plus the greedy and exact baselines every report quotes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Protocol

from aas_quantum.errors import ConfigError, InfeasibleError, NoSolutionError
from aas_quantum.problem import BomProblem
from aas_quantum.report import Report, build_report
from aas_quantum.solvers import Observer, Solution, SolveOptions, SolverProgress, Status, get_solver, polished

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0  # the solver's own progress reaches listeners (MQTT, job store) at most this often


class Progress(Protocol):
    def __call__(self, stage: str, fraction: float, detail: str = "") -> None: ...


def _solver_progress(method: str, time_limit_s: float, progress: Progress) -> Observer:
    """The solver's evaluations as run progress: its stage, the share of its time limit used (the run's
    solving stage spans 0.3..0.95) and the best value so far, at most once per ``PROGRESS_EVERY_S``."""
    started = time.monotonic()
    last = -PROGRESS_EVERY_S

    def observe(step: SolverProgress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY_S:
            return
        last = now
        used = min(1.0, (now - started) / time_limit_s) if time_limit_s > 0 else 0.0
        progress(method, 0.3 + 0.65 * used, step.text())
    return observe


def optimize(problem: BomProblem, method: str, options: SolveOptions | None = None,
             progress: Progress | None = None) -> Report:
    """Solve with ``method`` and compare with greedy (naive), greedy+ls (strong) and the (time-limited)
    exact MILP.

    ``progress(stage, fraction, detail)`` is told when each stage starts and, while the solver runs,
    how far it got (publishers turn it into status, the CLI into its progress line).
    Raises ``InfeasibleError`` with the limits at fault when no selection can satisfy the request,
    ``ConfigError`` when the method cannot take the problem (e.g. a statevector too large).
    """
    options = options or SolveOptions()
    report_progress: Progress = progress or (lambda stage, fraction, detail="": None)
    solver = get_solver(method)
    refused = solver.compatibility(problem, options)
    if refused:
        raise ConfigError(f"solver {method}: {refused}")
    started = dt.datetime.now(dt.UTC)
    log.info("%s: %d positions, %d options, %d limits", problem.product_id, len(problem.positions),
             problem.n_options, len(problem.constraints))
    report_progress("exact baseline", 0.0)
    exact = get_solver("exact").solve(problem, options)
    _log_solution(exact)
    if exact.status == Status.INFEASIBLE:
        raise InfeasibleError(list(exact.reasons))
    report_progress("greedy baseline", 0.2)
    greedy = get_solver("greedy").solve(problem, options)
    greedy_ls = polished(problem, greedy, options)  # greedy+ls from the greedy just solved
    _log_solution(greedy)
    _log_solution(greedy_ls)
    report_progress(method, 0.3)
    baselines = {"exact": exact, "greedy": greedy, "greedy+ls": greedy_ls}  # solved already: not solved twice
    options = options.with_(exact_baseline=exact)  # auto and the hybrid build on it rather than solve it again
    if exact.status == Status.OPTIMAL:
        options = options.with_(known_optimum=exact.objective)
    if progress is not None:
        options = options.with_(observer=_solver_progress(method, options.time_limit_s, progress))
    own = baselines[method] if method in baselines else solver.solve(problem, options)
    if method not in baselines:
        _log_solution(own)
    # greedy asked for is the baseline itself (its figures are the reference): it is returned as it is
    solution = own if method == "greedy" and own.is_feasible else best_verified(own, [exact, greedy, greedy_ls])
    if solution is None:
        raise NoSolutionError([f"{s.record.method}: {s.status.value}" + (f" ({'; '.join(s.reasons)})" if s.reasons
                                                                           else "") for s in (own, exact, greedy)])
    report_progress("report", 0.95)
    return build_report(problem, solution, greedy, exact, started, dt.datetime.now(dt.UTC), greedy_ls)


def _log_solution(solution: Solution) -> None:
    record = solution.record
    objective = "no objective" if solution.objective is None else f"objective {solution.objective:,.2f}"
    log.info("%s: %s, %s in %.2f s (%s%s)", record.method, solution.status.value, objective, record.wall_time_s,
             record.backend, f", {record.evaluations:,} evaluations" if record.evaluations else "")


def best_verified(own: Solution, baselines: list[Solution], rel_tol: float = 1e-9) -> Solution | None:
    """The requested solver's selection, unless a baseline of the same run found a better one (or it
    found none): then that one, with the record saying where it came from and what the requested
    solver reached on its own. A run never returns worse than what it has already proved."""
    feasible = [s for s in baselines if s.is_feasible and s.objective is not None]
    best = min(feasible, key=lambda s: s.objective or 0.0, default=None)
    if own.is_feasible and own.objective is not None and (
            best is None or best.objective is None
            or own.objective <= best.objective + rel_tol * max(1.0, abs(best.objective))):
        return own
    if best is None:
        return None
    record = dataclasses.replace(own.record, details={
        **own.record.details, "selection_from": best.record.method, "own_status": own.status.value,
        "own_objective": own.objective})
    return dataclasses.replace(best, record=record)
