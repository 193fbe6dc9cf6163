"""Does QAOA sample better than chance? QAOA against uniform sampling of the same one-hot subspace.

Two BoMs with large feasible spaces and tight limits (10 positions x 4 options, 12 x 3), depth
p = 1..5. For each depth: QAOA (XY-mixer ansatz, COBYLA, ``--maxiter`` evaluations) with the
limit multipliers tuned on the enumerated subspace (the solver's default, which knows where the
optimum is) and untuned (the published pair); and uniform sampling of the same subspace. Both are
decoded the same way (best feasible sample by the true objective, at the same shots and seed).

Tuning applies only to subspaces of at most 2^18 selections (``tune_unbalanced``); above that both
runs use the published pair, and their rows are the same.

Per row: P(feasible) and P(optimal) of the distribution (exact, from the final state; uniform: the
feasible and optimal share of the subspace), the approximation ratio of the decoded selection
(objective / optimum, 1 = optimal) and the mean feasible objective's ratio under the distribution.

    .venv/bin/python benchmarks/qaoa_depth.py

Writes ``results/qaoa_depth.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from results_io import write_csv  # noqa: E402

from aas_quantum.encode.encodings import subspace_bits, subspace_objective  # noqa: E402
from aas_quantum.encode.table import ENCODINGS  # noqa: E402
from aas_quantum.problem import BomProblem, build_problem  # noqa: E402
from aas_quantum.solvers import SolveOptions, get_solver  # noqa: E402
from aas_quantum.solvers.qaoa import QaoaSolver, _Space  # noqa: E402
from aas_quantum.solvers.variational import decode  # noqa: E402
from aas_quantum.synthetic import synthetic_catalog  # noqa: E402

# positions, options per position, seed, tightness of the weight and budget limits: 0.9 % and 3.5 % of the
# subspace is feasible
INSTANCES = {"10x4": (10, 4, 3, 0.6), "12x3": (12, 3, 3, 0.5)}


def instance(positions: int, options: int, seed: int, tightness: float) -> BomProblem:
    return build_problem(synthetic_catalog(positions, seed, options_per_position=(options, options),
                                           weight_tightness=tightness, budget_tightness=tightness,
                                           with_rules=False))


def distribution_figures(objective: np.ndarray, feasible: np.ndarray, probs: np.ndarray, optimum: float
                         ) -> dict[str, float]:
    p_feasible = float(probs[feasible].sum())
    mean_feasible = float(probs[feasible] @ objective[feasible] / p_feasible) if p_feasible > 0 else float("nan")
    return {"p_feasible": round(p_feasible, 5),
            "p_optimal": round(float(probs[feasible & (objective <= optimum + 1e-6)].sum()), 6),
            "mean_feasible_ratio": round(mean_feasible / optimum, 5)}


def uniform_row(problem: BomProblem, bits: np.ndarray, objective: np.ndarray, feasible: np.ndarray,
                optimum: float, shots: int, seed: int, tuned: bool) -> dict[str, object]:
    """Uniform sampling of the subspace, decoded like QAOA's samples (the fallback repair uses the same
    encoding's energies)."""
    rng = np.random.default_rng(seed)
    drawn = np.unique(rng.integers(len(bits), size=shots))
    onehot = ENCODINGS["onehot"]
    energies = onehot.build(problem, tuned).qubo.energies(bits[drawn])
    choice, how = decode(problem, onehot, list(bits[drawn]), energies)
    value = problem.objective(problem.x_from_choice(choice)) if choice is not None else None
    probs = np.full(len(bits), 1.0 / len(bits))
    return {**distribution_figures(objective, feasible, probs, optimum),
            "decoded_ratio": None if value is None else round(value / optimum, 5), "decoding": how}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--maxiter", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for name, (positions, options, seed, tightness) in INSTANCES.items():
        problem = instance(positions, options, seed, tightness)
        optimum = get_solver("exact").solve(problem, SolveOptions()).objective
        assert optimum is not None, f"{name} has no feasible selection"
        bits = subspace_bits(problem)
        objective, feasible = subspace_objective(problem, bits)
        base = {"instance": name, "binary_options": problem.n_options, "subspace_states": len(bits),
                "feasible_states": int(feasible.sum()), "shots": args.shots}
        for tuned in (True, False):
            rows.append({**base, "method": "uniform", "tuned": tuned, "p": 0, "evaluations": 0, "seconds": 0.0,
                         **uniform_row(problem, bits, objective, feasible, optimum, args.shots, args.seed, tuned)})
            print(rows[-1], flush=True)
            for depth in args.depths:
                options = SolveOptions(reps=depth, maxiter=args.maxiter, shots=args.shots, seed=args.seed,
                                       tune_penalties=tuned)
                started = time.perf_counter()
                solution = QaoaSolver().solve(problem, options)
                seconds = time.perf_counter() - started
                space = _Space(problem, ENCODINGS["onehot"].build(problem, tuned), options.mixer, np.complex128)
                probs = space.kernel.probabilities(np.asarray(solution.record.details["parameters"]))
                rows.append({**base, "method": "qaoa", "tuned": tuned, "p": depth,
                             "evaluations": solution.record.evaluations, "seconds": round(seconds, 1),
                             **distribution_figures(objective, feasible, probs / probs.sum(), optimum),
                             "decoded_ratio": None if solution.objective is None
                             else round(solution.objective / optimum, 5),
                             "decoding": solution.record.details.get("decoding")})
                print(rows[-1], flush=True)
    print(write_csv("qaoa_depth.csv", rows))


if __name__ == "__main__":
    main()
