"""``auto`` against ``exact``: is the default as fast as the proven optimum it returns?

Synthetic BoMs of 500, 2,000 and 10,000 positions (``aas_quantum.synthetic``, the generator behind
``aas-quantum generate``; seed 1), each optimised end to end as a run does (``run.optimize``: the exact
baseline, greedy and greedy+ls, then the requested solver) with ``--solver exact`` and ``--solver auto``
at the default time limit. The target: auto never slower than exact by more than 10 % for the same
objective. Each figure is the fastest of ``--repeats`` runs (the machine's speed drifts).

    .venv/bin/python benchmarks/auto_vs_exact.py [--sizes 500 2000 10000] [--repeats 2]

Writes ``results/auto_vs_exact.csv``: positions, solver, wall_s, objective, status, and which solver's
selection the run returned (``answered_by``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from results_io import write_csv  # noqa: E402

from aas_quantum.problem import BomProblem, build_problem  # noqa: E402
from aas_quantum.run import optimize  # noqa: E402
from aas_quantum.solvers import SolveOptions  # noqa: E402
from aas_quantum.synthetic import synthetic_catalog  # noqa: E402

SOLVERS = ("exact", "auto")


def measure(problem: BomProblem, solver: str, options: SolveOptions) -> tuple[float, float, str, str]:
    """Wall time of one run, its objective and status, and the solver whose selection it returned."""
    started = time.perf_counter()
    report = optimize(problem, solver, options)
    wall = time.perf_counter() - started
    solution = report.solution
    assert solution.objective is not None
    return wall, solution.objective, solution.status.value, solution.record.method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=SolveOptions().time_limit_s)
    args = parser.parse_args()
    options = SolveOptions(time_limit_s=args.time_limit)
    warm = build_problem(synthetic_catalog(50, seed=1))
    for solver in SOLVERS:  # imports and first-call costs out of the figures
        measure(warm, solver, options)
    rows = []
    for n in args.sizes:
        problem = build_problem(synthetic_catalog(n, seed=1))
        best: dict[str, tuple[float, float, str, str]] = {}
        for _ in range(args.repeats):
            for solver in SOLVERS:  # interleaved, so a slow spell of the machine hits both alike
                result = measure(problem, solver, options)
                if solver not in best or result[0] < best[solver][0]:
                    best[solver] = result
        for solver in SOLVERS:
            wall, objective, status, answered_by = best[solver]
            rows.append(
                {
                    "positions": n,
                    "solver": solver,
                    "wall_s": round(wall, 2),
                    "objective": round(objective, 4),
                    "status": status,
                    "answered_by": answered_by,
                }
            )
            print(f"{n:>6} {solver:>6} {wall:8.2f} s  {objective:,.2f}  {status} ({answered_by})", flush=True)
    print(write_csv("auto_vs_exact.csv", rows))


if __name__ == "__main__":
    main()
