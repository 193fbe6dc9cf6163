"""QAOA simulation speed: this project's kernels against Qiskit's.

    python benchmarks/qaoa_kernels.py [--quick]

Writes benchmarks/results/qaoa_kernels.csv (+ .png), qaoa_end_to_end.csv and qaoa_subspace_limit.csv:

1. seconds per p=3 objective evaluation at n = 12, 16, 20, 22, 24 on a random dense QUBO for the
   full-space kernel, qiskit-aer (AerSimulator statevector of the same QAOA circuit, transpiled
   once) and qiskit.primitives.StatevectorEstimator; a reference whose previous size took longer
   than REFERENCE_BUDGET_S is not run at the next size (recorded as skipped);
2. end-to-end QAOA on BoMs of 15-18 qubits under QuadraticProgramToQubo against the reference
   pipeline MinimumEigenOptimizer(QAOA(StatevectorSampler(), COBYLA(maxiter=100), reps=1)), same
   reps and iterations: wall time and P(feasible) of both;
3. the largest BoM the one-hot subspace kernel solves with p=2 QAOA (full optimisation loop) in
   under 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_io import RESULTS, write_csv  # noqa: E402

from aas_quantum.encode.circuits import bind, x_mixer_qaoa_circuit  # noqa: E402
from aas_quantum.encode.qiskit_qp import quadratic_program  # noqa: E402
from aas_quantum.encode.qubo import Qubo  # noqa: E402
from aas_quantum.problem import build_problem  # noqa: E402
from aas_quantum.solvers import SolveOptions, get_solver  # noqa: E402
from aas_quantum.solvers.kernels import FullSpaceQaoa  # noqa: E402

from mmkp import MmkpInstance, to_catalog  # noqa: E402

REFERENCE_BUDGET_S = 240.0
PARAMS = np.array([0.2, 0.4, 0.6, 0.7, 0.5, 0.3])  # p = 3: gammas then betas


def random_qubo(n: int, seed: int = 0) -> Qubo:
    rng = np.random.default_rng(seed)
    return Qubo(0.0, rng.normal(size=n), np.triu(rng.normal(size=(n, n)), 1))


def time_call(fn, repeats: int) -> float:
    fn()  # warm-up (numba compile, transpile caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def evaluation_speed(sizes: list[int]) -> list[dict]:
    from qiskit import transpile
    from qiskit.primitives import StatevectorEstimator
    from qiskit_aer import AerSimulator

    rows, slow = [], set()
    for n in sizes:
        qubo = random_qubo(n)
        start = time.perf_counter()
        kernel = FullSpaceQaoa(qubo.full_diagonal())
        setup = time.perf_counter() - start
        row = {"n": n, "kernel_s": time_call(lambda k=kernel: k.expectation(PARAMS), 5), "kernel_setup_s": setup}
        circuit = x_mixer_qaoa_circuit(qubo, 3)
        diagonal = kernel.diagonal
        if "aer" not in slow:
            simulator = AerSimulator(method="statevector")
            compiled = transpile(circuit, simulator, optimization_level=0)
            compiled.save_statevector()

            def aer_eval(compiled=compiled, simulator=simulator, diagonal=diagonal) -> float:
                state = simulator.run(bind(compiled, PARAMS)).result().get_statevector()
                return float(np.abs(np.asarray(state)) ** 2 @ diagonal)

            row["aer_s"] = time_call(aer_eval, 2)
            slow.update({"aer"} if row["aer_s"] > REFERENCE_BUDGET_S / 4 else set())
        else:
            row["aer_s"] = "skipped"
        if "estimator" not in slow:
            operator, _ = qubo.to_ising()
            estimator = StatevectorEstimator()
            # gate by gate: Statevector would otherwise build the evolution gate as a dense matrix
            circuit = transpile(circuit, basis_gates=["h", "rx", "rz", "rzz", "cx"], optimization_level=0)
            names = [f"gamma[{i}]" for i in range(3)] + [f"beta[{i}]" for i in range(3)]
            by_name = dict(zip(names, PARAMS, strict=True))
            ordered = [by_name[p.name] for p in circuit.parameters]

            def estimate(circuit=circuit, operator=operator, ordered=ordered, estimator=estimator) -> float:
                return float(estimator.run([(circuit, operator, ordered)]).result()[0].data.evs)

            row["estimator_s"] = time_call(estimate, 1)
            slow.update({"estimator"} if row["estimator_s"] > REFERENCE_BUDGET_S / 4 else set())
        else:
            row["estimator_s"] = "skipped"
        print(row, flush=True)
        rows.append(row)
    return rows


def integer_bom(items: tuple[int, ...], seed: int, slack: int = 7) -> MmkpInstance:
    """A BoM with integer weights (one position per entry of ``items``), so QuadraticProgramToQubo
    can add integer slack bits; the capacity sits ``slack`` above the lightest selection."""
    rng = np.random.default_rng(seed)
    data = [[(float(rng.integers(10, 60)), [float(rng.integers(1, 6))]) for _ in range(k)] for k in items]
    low = sum(min(it[1][0] for it in g) for g in data)
    return MmkpInstance(f"int-{'-'.join(map(str, items))}-{seed}", [float(low + slack)], data)


def qubo_from_program(qp) -> Qubo:
    quadratic = qp.objective.quadratic.to_array(symmetric=False)
    linear = qp.objective.linear.to_array() + np.diag(quadratic)
    upper = np.triu(quadratic + np.tril(quadratic, -1).T, 1)
    return Qubo(qp.objective.constant, linear, upper)


def _reference_run(items: tuple[int, ...], seed: int, queue) -> None:
    """The reference pipeline, in a spawned child (forking after Qiskit's and numba's threads start can
    deadlock) so it can be stopped at the time limit."""
    from qiskit.primitives import StatevectorSampler
    from qiskit_algorithms import QAOA
    from qiskit_algorithms.optimizers import COBYLA
    from qiskit_optimization.algorithms import MinimumEigenOptimizer

    qp = quadratic_program(build_problem(to_catalog(integer_bom(items, seed))))
    start = time.perf_counter()
    result = MinimumEigenOptimizer(QAOA(StatevectorSampler(seed=seed), COBYLA(maxiter=100), reps=1)).solve(qp)
    feasible = sum(s.probability for s in result.samples if qp.is_feasible(s.x))
    queue.put((time.perf_counter() - start, feasible, result.fval))


def reference_pipeline(items: tuple[int, ...], seed: int, limit_s: float
                       ) -> tuple[float | None, float | None, float | None]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_reference_run, args=(items, seed, queue))
    process.start()
    process.join(limit_s)
    if process.is_alive():
        process.kill()
        process.join()
        return None, None, None
    return queue.get()


def end_to_end(seeds: list[int], items: tuple[int, ...], limit_s: float) -> list[dict]:
    from qiskit_algorithms.optimizers import COBYLA
    from qiskit_optimization.converters import QuadraticProgramToQubo

    rows = []
    for seed in seeds:
        problem = build_problem(to_catalog(integer_bom(items, seed)))
        qp = quadratic_program(problem)
        qubo_program = QuadraticProgramToQubo().convert(qp)
        exact = get_solver("exact").solve(problem, SolveOptions())
        reference_s, ref_feasible, ref_fval = reference_pipeline(items, seed, limit_s)

        options = SolveOptions(reps=1, maxiter=100, optimizer="COBYLA", seed=seed,
                               known_optimum=exact.objective)
        start = time.perf_counter()
        ours = get_solver("qaoa").solve(problem, options)
        ours_s = time.perf_counter() - start

        # the reference's own QUBO (slack qubits included), X mixer, on the full-space kernel
        start = time.perf_counter()
        diagonal = qubo_from_program(qubo_program).full_diagonal()
        kernel = FullSpaceQaoa((diagonal - diagonal.mean()) / (diagonal.std() or 1.0))
        params = COBYLA(maxiter=100).minimize(kernel.expectation, np.array([0.3, 0.3])).x
        marginal = kernel.probabilities(params).reshape(-1, 2 ** problem.n_options).sum(axis=0)
        full_s = time.perf_counter() - start
        n_opt = problem.n_options
        full_feasible = sum(marginal[i] for i in range(2 ** n_opt)
                            if problem.is_feasible(np.array([(i >> b) & 1 for b in range(n_opt)], dtype=float)))
        finished = reference_s is not None
        row = {
            "instance": f"seed {seed}", "qubo_qubits": qubo_program.get_num_vars(), "option_qubits": n_opt,
            "reference_s": round(reference_s, 2) if finished else f"> {limit_s:g} (stopped)",
            "reference_p_feasible": round(ref_feasible, 4) if finished else "",
            "reference_found_optimum": abs(ref_fval - exact.objective) < 1e-6 if finished else "",
            "ours_onehot_s": round(ours_s, 3), "ours_onehot_p_feasible": round(ours.record.p_feasible, 4),
            "ours_found_optimum": abs(ours.objective - exact.objective) < 1e-6,
            "ours_fullspace_same_qubo_s": round(full_s, 3), "ours_fullspace_p_feasible": round(full_feasible, 4),
            "speedup_onehot": round((reference_s if finished else limit_s) / ours_s, 1),
            "speedup_fullspace": round((reference_s if finished else limit_s) / full_s, 1),
            "speedup_is_lower_bound": not finished,
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def subspace_limit(shapes: list[tuple[int, int]]) -> list[dict]:
    """p=2 QAOA (COBYLA, 100 evaluations, greedy warm start, 4096 shots) on synthetic BoMs of
    ``positions x options``, the whole optimisation loop timed; every shape is run, so the rows
    over 60 s show by how much. The state's precision is the solver's own choice (single from
    SINGLE_PRECISION_STATES)."""
    from aas_quantum.synthetic import synthetic_catalog

    rows = []
    for positions, k in shapes:
        problem = build_problem(synthetic_catalog(positions, seed=1, options_per_position=(k, k)))
        exact = get_solver("exact").solve(problem, SolveOptions())
        start = time.perf_counter()
        solution = get_solver("qaoa").solve(problem, SolveOptions(
            reps=2, maxiter=100, shots=4096, warm_start="greedy", known_optimum=exact.objective))
        seconds = time.perf_counter() - start
        row = {"positions": positions, "options_per_position": k, "binary_options": problem.n_options,
               "subspace_states": int(np.prod([len(p.options) for p in problem.positions])),
               "state_precision": solution.record.details["state_precision"],
               "seconds": round(seconds, 2), "evaluations": solution.record.evaluations,
               "seconds_per_evaluation": round(seconds / max(1, solution.record.evaluations), 3),
               "p_feasible": round(solution.record.p_feasible, 4),
               "gap_pct": round(100 * (solution.objective - exact.objective) / exact.objective, 3),
               "under_60s": seconds < 60}
        print(row, flush=True)
        rows.append(row)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in [("kernel_s", "aas-quantum full-space kernel"), ("aer_s", "qiskit-aer statevector"),
                       ("estimator_s", "StatevectorEstimator")]:
        points = [(r["n"], r[key]) for r in rows if isinstance(r[key], float)]
        ax.semilogy([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xlabel("qubits")
    ax.set_ylabel("seconds per p=3 objective evaluation")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description="QAOA kernel benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--parts", default="speed,end-to-end,subspace",
                        help="comma-separated parts to run (each writes its own CSV)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "speed" in parts:
        speed = evaluation_speed([12, 16] if args.quick else [12, 16, 20, 22, 24])
        print("written", write_csv("qaoa_kernels.csv", speed))
        plot(speed, RESULTS / "qaoa_kernels.png")
    if "end-to-end" in parts:
        # 9 qubits under QuadraticProgramToQubo (the reference finishes), then 15 (stopped at the limit)
        rows = end_to_end([1], (3, 2), 300)
        if not args.quick:
            rows += end_to_end([1], (3, 3, 3, 2), 900)
        print("written", write_csv("qaoa_end_to_end.csv", rows))
    if "subspace" in parts:
        limit = subspace_limit([(8, 3)] if args.quick else [(12, 3), (20, 2), (10, 4), (14, 3), (11, 4), (12, 4)])
        print("written", write_csv("qaoa_subspace_limit.csv", limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
