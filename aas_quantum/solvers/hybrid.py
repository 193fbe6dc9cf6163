"""Hybrid: large-neighbourhood search whose neighbourhoods are re-optimised by QAOA.

Start from the exact baseline's incumbent when the run gives one (``SolveOptions.exact_baseline``),
else from the better of two classical constructions: greedy polished by single swaps
(``greedy+ls``) and the LP relaxation rounded, repaired and polished. Then, until the time limit
(or ``patience`` windows in a row without a gain; by default two passes' worth of windows), pick a
*window*: a few positions, each with its current option and its most promising alternatives, sized
so the window's encoded qubits fit the qubit budget. Every other position stays fixed: the limits
become residual limits and the concentration term becomes linear in the window (``restrict``). QAOA
solves the window in the one-hot subspace; a better whole selection that keeps every limit is
accepted.

Windows are chosen by improvement potential under constraint coupling, not at random: the LP
relaxation's dual prices price every binding limit, so an option's reduced cost (its cost plus
the priced resources it uses) says how much swapping to it is worth once the limits it strains
are paid for. Positions are drawn with probability rising with their best reduced-cost gain, the
dual prices jittered per window so the search does not repeat itself. Every third window is
supplier-centred when suppliers are limited or concentration is priced: the positions one
supplier has an offer for, whose moves into or out of that supplier only pay off together.

The record is honest about where the gain comes from: each window small enough is also solved
exactly (enumerated), so the record counts how often QAOA found the window's optimum and how
much it left. The window solver is a solver object (as qiskit-optimization's
RecursiveMinimumEigenOptimizer takes its child optimizer): QAOA by default; the user's ``sub_solver``
choice is turned into one by the registry, so the two classical controls (``"exact"``, the
enumeration, and ``"random"``, uniform sampling with QAOA's shots and decoding; ``controls.py``) run
the same search at the same time limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from aas_quantum.encode import encoding_scheme
from aas_quantum.errors import ConfigError
from aas_quantum.problem import BomProblem, LinearConstraint
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status
from aas_quantum.solvers.controls import UniformSampling, WindowEnumeration, enumerated_optimum
from aas_quantum.solvers.exact import lp_relaxation
from aas_quantum.solvers.greedy import GreedySolver, repair
from aas_quantum.solvers.local_search import polish
from aas_quantum.solvers.qaoa import QaoaSolver

# what solves the windows, by the user's ``sub_solver`` choice: QAOA, or a classical control
WINDOW_SOLVERS: dict[str, Callable[[], Solver]] = {"qaoa": QaoaSolver, "exact": WindowEnumeration,
                                                   "random": UniformSampling}
VERIFY_STATES = 4096  # windows with at most this many one-hot selections are also solved exactly
SUPPLIER_WINDOW_EVERY = 3


def restrict(problem: BomProblem, window: list[int], choice: tuple[int, ...],
             keep: list[tuple[int, ...]] | None = None) -> BomProblem:
    """The sub-problem over ``window`` positions (only the option numbers in ``keep``, per window
    position, when given) with every other position fixed at ``choice``."""
    fixed_x = problem.x_from_choice(choice)
    for p in window:
        fixed_x[problem.position_slices[p]] = 0.0
    fixed_count = {s: float(fixed_x[list(idx)].sum()) for s, idx in problem.supplier_groups.items()}
    mapping: dict[int, int] = {}
    positions = []
    for j, p in enumerate(window):
        options = []
        for k, o in enumerate(problem.positions[p].options):
            if keep is not None and k not in keep[j]:
                continue
            mapping[o.index] = len(mapping)
            # w * (n_fixed + n_window)^2 = const + w * (2 n_fixed n_window + n_window^2)
            extra = 2.0 * problem.concentration_weight * fixed_count[o.supplier_id]
            options.append(replace(o, index=mapping[o.index], objective_cost=o.objective_cost + extra))
        positions.append(replace(problem.positions[p], options=tuple(options)))
    constraints = []
    for c in problem.constraints:
        inside = tuple((mapping[i], coef) for i, coef in c.coefficients if i in mapping)
        if inside:
            residual = c.rhs - sum(coef * fixed_x[i] for i, coef in c.coefficients if fixed_x[i])
            constraints.append(LinearConstraint(c.name, c.kind, inside, c.sense, residual))
    return BomProblem(problem.product_id, problem.currency, tuple(positions), tuple(constraints),
                      problem.concentration_weight, problem.request, problem.inputs,
                      designation=problem.designation, name=problem.name)


@dataclass(frozen=True)
class WindowStep:
    """One LNS iteration: what the window was, what its solver and the enumeration found, what was kept."""

    seconds: float  # since the solve started
    kind: str  # "reduced-cost" | "supplier"
    positions: int
    qubits: int
    states: int  # one-hot selections of the window
    current: float  # the window's objective at the current selection
    # the best selection the window solver returned (None: nothing feasible); named for QAOA, the default
    # solver, whose value the traces and benchmarks read here
    qaoa: float | None
    optimum: float | None  # the window's optimum by enumeration (None: too large to verify)
    p_optimal: float | None  # the window solver's probability mass on the window's optimum, where it has one
    accepted: str | None  # the window solver whose selection was kept, None when nothing improved
    objective: float  # the whole selection's objective after this step


@dataclass
class _Search:
    """The current selection and the prices windows are drawn by."""

    problem: BomProblem
    choice: tuple[int, ...]
    objective: float
    prices: np.ndarray  # LP dual price of each le_form row (0 where unknown)

    def gains(self, rng: np.random.Generator) -> np.ndarray:
        """Per option: reduced-cost gain of swapping to it (jittered prices), -inf for the current one."""
        a, _ = self.problem.le_form
        prices = self.prices * rng.lognormal(0.0, 0.3, len(self.prices))
        reduced = self.problem.cost_vector + prices @ a if len(prices) else self.problem.cost_vector.copy()
        chosen = self.problem.position_starts + np.asarray(self.choice)
        gain = reduced[chosen][self.problem.option_position] - reduced
        gain[chosen] = -np.inf
        return gain

    def window(self, rng: np.random.Generator, budget: int, per_position: int, members: np.ndarray | None
               ) -> tuple[list[int], list[tuple[int, ...]]]:
        """Positions drawn by their best gain (among ``members`` if given), each with its current option and
        its ``per_position - 1`` best alternatives, until the options fill ``budget``."""
        gain = self.gains(rng)
        sizes = self.problem.position_sizes
        best = np.full(len(sizes), -np.inf)
        np.maximum.at(best, self.problem.option_position, gain)
        movable = np.flatnonzero((sizes > 1) & np.isfinite(best))
        if members is not None:
            movable = np.intersect1d(movable, members)
        if not len(movable):
            return [], []
        spread = float(np.std(best[movable])) or 1.0
        weights = np.exp((best[movable] - best[movable].max()) / spread) + 1e-12
        order = rng.choice(movable, size=len(movable), replace=False, p=weights / weights.sum())
        window: list[int] = []
        keep: list[tuple[int, ...]] = []
        used = 0
        for p in order:
            take = min(per_position, int(sizes[p]), budget - used)
            if take < 2:
                break
            sl = self.problem.position_slices[p]
            alternatives = np.argsort(-gain[sl])[: take - 1]
            keep.append(tuple(sorted([self.choice[p], *(int(k) for k in alternatives)])))
            window.append(int(p))
            used += take
        return window, keep


def _start(problem: BomProblem, relaxed: np.ndarray | None, deadline: float
           ) -> tuple[tuple[int, ...], float, str, float | None] | None:
    """The better of greedy+ls and the rounded, repaired and polished LP relaxation."""
    starts: list[tuple[tuple[int, ...], str]] = []
    greedy = GreedySolver().solve(problem, SolveOptions())
    if greedy.choice is not None:
        starts.append((polish(problem, greedy.choice, deadline)[0], "greedy+ls"))
    if relaxed is not None:
        rounded = repair(problem, [int(np.argmax(relaxed[sl])) for sl in problem.position_slices])
        if rounded is not None:
            starts.append((polish(problem, tuple(rounded), deadline)[0], "relaxed"))
    scored = [(problem.objective(problem.x_from_choice(c)), c, how) for c, how in starts
              if problem.is_feasible(problem.x_from_choice(c))]
    if not scored:
        return None
    value, choice, how = min(scored, key=lambda s: s[0])
    return choice, value, how, greedy.objective


def _incumbent(problem: BomProblem, exact: Solution | None) -> tuple[tuple[int, ...], float, str, None] | None:
    """The exact baseline's selection as the start, when the run has one: the run has paid for it already
    (HiGHS's incumbent after its own LP rounding and search), so constructing a start again would only
    spend the windows' time, and at 2,000 positions greedy+ls and the rounded LP were dearer than it."""
    if exact is None or not exact.is_feasible or exact.choice is None:
        return None
    x = problem.x_from_choice(exact.choice)
    if not problem.is_feasible(x):
        return None
    return exact.choice, problem.objective(x), "exact", None


def _left(deadline: float) -> float:
    """The time to ``deadline`` (``time.perf_counter()``) as a time limit, which must be positive."""
    return max(deadline - time.perf_counter(), 1e-3)


def window_solver(sub_solver: str) -> Solver:
    """The solver object the hybrid hands its windows to, for the user's ``sub_solver`` choice."""
    try:
        return WINDOW_SOLVERS[sub_solver]()
    except KeyError:
        raise ConfigError(f"unknown sub_solver {sub_solver!r}; choose one of {', '.join(WINDOW_SOLVERS)}") from None



class HybridSolver(Solver):
    name = "hybrid"

    def __init__(self, window: Solver | None = None) -> None:
        """``window``: what solves each window; None: the solver the options' ``sub_solver`` names."""
        self.window = window

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        return self.solve_traced(problem, options)[0]

    def solve_traced(self, problem: BomProblem, options: SolveOptions) -> tuple[Solution, list[WindowStep]]:
        """The solution and every window step (benchmarks write the trace; runs keep the counts)."""
        start = time.perf_counter()
        deadline = start + options.time_limit_s
        child = self.window or window_solver(options.sub_solver)
        scheme = encoding_scheme(options.encoding)
        record = SolverRecord(method=self.name, backend=f"{child.name} sub-problems",
                              encoding=options.encoding, reps=options.reps, optimizer=options.optimizer,
                              shots=options.shots, seed=options.seed)
        # no step may outlast the deadline by more than one evaluation: HiGHS and each window get what is left
        relaxation = lp_relaxation(problem, _left(deadline))
        prices = relaxation.prices if relaxation is not None else np.zeros(len(problem.constraints))
        begun = _incumbent(problem, options.exact_baseline) or _start(
            problem, relaxation.values if relaxation is not None else None, deadline)
        if begun is None:
            return Solution(Status.NO_SOLUTION, None, None, replace(record, wall_time_s=time.perf_counter() - start),
                            reasons=("neither greedy nor the rounded LP relaxation gave a feasible start",)), []
        choice, value, start_from, greedy_objective = begun
        search = _Search(problem, choice, value, prices)
        rng = np.random.default_rng(options.seed)
        supplier_windows = bool(problem.concentration_weight) or any(
            c.kind.startswith("supplier") for c in problem.constraints)
        suppliers = [np.unique(problem.option_position[list(idx)]) for idx in problem.supplier_groups.values()]
        # the windows' multipliers are not tuned: tuning enumerates the window, which would hand QAOA the answer
        # the run hears windows, not the child; the whole problem's baseline is no window's
        window_options = options.with_(tune_penalties=False, observer=None, exact_baseline=None)
        trace: list[WindowStep] = []
        stalled, evaluations, max_qubits, over_budget, slowest = 0, 0, 0, 0, 0.0
        patience = options.patience
        sub_backends: set[str] = set()
        while True:
            now = time.perf_counter()
            if now + slowest > deadline or (patience and stalled >= patience):
                break
            step_start = now
            kind = "supplier" if supplier_windows and len(trace) % SUPPLIER_WINDOW_EVERY == 2 else "reduced-cost"
            members = suppliers[int(rng.integers(len(suppliers)))] if kind == "supplier" else None
            window, keep = search.window(rng, options.qubit_budget, 2 + len(trace) % 2, members)
            sub = restrict(problem, window, search.choice, keep) if window else None
            qubits = scheme.qubits(sub) if sub is not None else 0
            while sub is not None and qubits > options.qubit_budget:
                window, keep = window[:-1], keep[:-1]  # slack qubits: shrink until the encoding fits
                sub = restrict(problem, window, search.choice, keep) if window else None
                qubits = scheme.qubits(sub) if sub is not None else 0
            if sub is None:
                over_budget += 1
                stalled += 1
                if over_budget > 100 and not trace:
                    break  # no window fits the budget at all
                continue
            local = [search.choice[p] for p in window]
            current = sub.objective(sub.x_from_choice([k.index(c) for k, c in zip(keep, local, strict=True)]))
            states = int(np.prod([len(k) for k in keep]))
            optimum = enumerated_optimum(sub)[0] if states <= VERIFY_STATES else None
            max_qubits = max(max_qubits, qubits)
            # a seed per window: a child drawing samples must not draw the same ones for every window alike
            result = child.solve(sub, window_options.with_(known_optimum=optimum, time_limit_s=_left(deadline),
                                                           seed=(options.seed + len(trace)) % 2**32))
            evaluations += result.record.evaluations
            sub_backends.add(result.record.backend)
            found, value_found, p_optimal = result.choice, result.objective, result.record.p_optimal
            accepted = None
            if found is not None:
                candidate = list(search.choice)
                for p, k, c in zip(window, keep, found, strict=True):
                    candidate[p] = k[c]
                x = problem.x_from_choice(candidate)
                total = problem.objective(x)
                if total < search.objective - 1e-9 * max(1.0, abs(search.objective)) and problem.is_feasible(x):
                    search.choice, search.objective, accepted = tuple(candidate), total, child.name
            stalled = 0 if accepted else stalled + 1
            if patience is None:  # two passes' worth: every movable position in about two windows
                movable = int(np.count_nonzero(problem.position_sizes > 1))
                patience = max(5, -(-2 * movable // max(1, len(window))))
            slowest = max(slowest, time.perf_counter() - step_start)
            trace.append(WindowStep(
                seconds=time.perf_counter() - start, kind=kind, positions=len(window),
                qubits=qubits, states=states, current=current, qaoa=value_found,
                optimum=optimum, p_optimal=p_optimal, accepted=accepted, objective=search.objective))
            options.observe(len(trace), "windows", search.objective, "objective")
        details = _trace_counts(trace, child.name)
        details.update(start_from=start_from, start_objective=value, gain_by_windows=value - search.objective,
                       greedy_objective=greedy_objective, qubit_budget=options.qubit_budget, sub_solver=child.name,
                       windows_over_budget=over_budget)
        record = replace(
            record, qubits=max_qubits, evaluations=evaluations, wall_time_s=time.perf_counter() - start,
            backend=f"{record.backend} on {', '.join(sorted(sub_backends))}" if sub_backends else record.backend,
            details=details)
        return Solution(Status.FEASIBLE, search.choice, search.objective, record), trace


def _trace_counts(trace: list[WindowStep], child: str) -> dict[str, object]:
    """What the windows achieved, and how often the window solver ``child`` found the verified window optimum."""
    verified = [s for s in trace if s.optimum is not None]
    improvable = [s for s in verified if s.optimum is not None and s.optimum < s.current - 1e-9]

    def hit(s: WindowStep) -> bool:
        return s.qaoa is not None and s.optimum is not None and s.qaoa <= s.optimum + 1e-9

    p_optimal = [s.p_optimal for s in verified if s.p_optimal is not None]
    return {"windows": len(trace), "accepted": sum(1 for s in trace if s.accepted),
            "verified_windows": len(verified), "improvable_windows": len(improvable),
            f"{child}_found_window_optimum": sum(1 for s in verified if hit(s)),
            f"{child}_found_improvement": sum(1 for s in improvable if hit(s)),
            "mean_p_optimal": float(np.mean(p_optimal)) if p_optimal else None}
