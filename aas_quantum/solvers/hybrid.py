"""Hybrid decomposition for problems above the qubit budget.

Start from the greedy selection; repeatedly pick a window of positions whose options fit the
qubit budget, re-optimise that window with QAOA while the other positions stay fixed (limits
become residual limits, the concentration term becomes linear in the window), and accept the
new window when the whole selection improves and stays feasible. Stops after a full pass without
improvement or at the time limit.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from aas_quantum.problem import BomProblem, LinearConstraint
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord, Status
from aas_quantum.solvers.greedy import GreedySolver
from aas_quantum.solvers.qaoa import QaoaSolver
from aas_quantum.solvers.variational import encoded_qubits


def restrict(problem: BomProblem, window: list[int], choice: tuple[int, ...]) -> BomProblem:
    """The sub-problem over ``window`` positions with every other position fixed at ``choice``."""
    fixed_x = problem.x_from_choice(choice)
    for p in window:
        fixed_x[problem.position_slices[p]] = 0.0
    fixed_count = {s: float(fixed_x[list(idx)].sum()) for s, idx in problem.supplier_groups.items()}
    mapping: dict[int, int] = {}
    positions = []
    for p in window:
        options = []
        for o in problem.positions[p].options:
            mapping[o.index] = len(mapping)
            # w * (n_fixed + n_window)^2 = const + w * (2 n_fixed n_window + n_window^2)
            extra = 2.0 * problem.concentration_weight * fixed_count[o.supplier_id]
            options.append(replace(o, index=mapping[o.index], objective_cost=o.objective_cost + extra))
        positions.append(replace(problem.positions[p], options=tuple(options)))
    constraints = []
    for c in problem.constraints:
        inside = tuple((mapping[i], coef) for i, coef in c.coefficients if i in mapping)
        if inside:
            residual = c.rhs - sum(coef * fixed_x[i] for i, coef in c.coefficients if i not in mapping)
            constraints.append(LinearConstraint(c.name, c.kind, inside, c.sense, residual))
    return BomProblem(problem.product_id, problem.currency, tuple(positions), tuple(constraints),
                      problem.concentration_weight, problem.request, problem.inputs)


def fitted(problem: BomProblem, window: list[int], choice: tuple[int, ...], budget: int, encoding: str
           ) -> list[tuple[list[int], BomProblem | None]]:
    """The window's sub-problem, halved until its *encoded* qubits (slack included) fit the budget.

    A single position that does not fit even alone comes back without a sub-problem (None): it is
    never simulated, since no state larger than the budget is ever allocated.
    """
    sub = restrict(problem, window, choice)
    if encoded_qubits(sub, encoding) <= budget:
        return [(window, sub)]
    if len(window) == 1:
        return [(window, None)]
    half = len(window) // 2
    return fitted(problem, window[:half], choice, budget, encoding) + \
        fitted(problem, window[half:], choice, budget, encoding)


def windows(sizes: list[int], budget: int, rng: np.random.Generator) -> list[list[int]]:
    """A random order of positions cut into consecutive windows of at most ``budget`` options."""
    order = rng.permutation(len(sizes))
    out: list[list[int]] = [[]]
    used = 0
    for p in order:
        if out[-1] and used + sizes[p] > budget:
            out.append([])
            used = 0
        out[-1].append(int(p))
        used += sizes[p]
    return out


class HybridSolver(Solver):
    name = "hybrid"

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        greedy = GreedySolver().solve(problem, options)
        record = SolverRecord(method=self.name, backend="QAOA sub-problems", encoding=options.encoding,
                              reps=options.reps, optimizer=options.optimizer, shots=options.shots, seed=options.seed)
        if greedy.choice is None or greedy.objective is None:
            return Solution(Status.NO_SOLUTION, None, None, replace(record, wall_time_s=time.perf_counter() - start),
                            reasons=("greedy start found no feasible selection",))
        choice, best = tuple(greedy.choice), float(greedy.objective)
        sizes = [len(p.options) for p in problem.positions]
        rng = np.random.default_rng(options.seed)
        sub_options = options.with_(known_optimum=None)  # the whole problem's optimum says nothing of a window
        rounds = accepted = evaluations = max_qubits = over_budget = 0
        p_feasible: list[float] = []
        sub_backends: set[str] = set()  # what the sub-solves really ran on, for an honest record
        improved = True
        while improved and time.perf_counter() - start < options.time_limit_s:
            improved = False
            pieces = (piece for window in windows(sizes, options.qubit_budget, rng)
                      for piece in fitted(problem, window, choice, options.qubit_budget, options.encoding))
            for window, sub in pieces:
                if time.perf_counter() - start >= options.time_limit_s:
                    break
                if sub is None:
                    over_budget += 1
                    continue
                result = QaoaSolver().solve(sub, sub_options)
                rounds += 1
                evaluations += result.record.evaluations
                max_qubits = max(max_qubits, result.record.qubits)
                sub_backends.add(result.record.backend)
                if result.record.p_feasible is not None:
                    p_feasible.append(result.record.p_feasible)
                if result.choice is None:
                    continue
                candidate = list(choice)
                for p, c in zip(window, result.choice, strict=True):
                    candidate[p] = c
                x = problem.x_from_choice(candidate)
                value = problem.objective(x)
                if value < best - 1e-9 and not problem.violations(x):
                    choice, best, improved = tuple(candidate), value, True
                    accepted += 1
        record = replace(
            record, qubits=max_qubits,
            backend=f"QAOA sub-problems on {', '.join(sorted(sub_backends))}" if sub_backends else record.backend,
            evaluations=evaluations, wall_time_s=time.perf_counter() - start,
            p_feasible=float(np.mean(p_feasible)) if p_feasible else None,
            details={"subproblems": rounds, "accepted": accepted, "greedy_objective": greedy.objective,
                     "qubit_budget": options.qubit_budget, "positions_over_budget": over_budget},
        )
        return Solution(Status.FEASIBLE, choice, best, record)
