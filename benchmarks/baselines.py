"""The greedy baseline's wall time (cheapest option per position, then repair), the baseline every
run computes: synthetic BoMs of 100 to 2,000 positions and the Khan MMKP instances I07-I13.

    .venv/bin/python benchmarks/baselines.py --label after

Writes ``results/baselines.csv``; rows of other labels already in the file are kept, so the file
holds the figures before and after a change side by side (the ``before`` rows were measured with
the same script on the code before the vectorised repair).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from results_io import RESULTS, write_csv  # noqa: E402

from aas_quantum.problem import BomProblem, build_problem  # noqa: E402
from aas_quantum.solvers import SolveOptions, get_solver  # noqa: E402
from aas_quantum.synthetic import synthetic_catalog  # noqa: E402

from mmkp import MMKP_DIR, read_khan, to_catalog  # noqa: E402


def timed(problem: BomProblem, repeats: int) -> tuple[float, float | None, str]:
    walls, solution = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        solution = get_solver("greedy").solve(problem, SolveOptions())
        walls.append(time.perf_counter() - started)
    assert solution is not None
    return statistics.median(walls), solution.objective, solution.status.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    rows = []
    cases: list[tuple[str, BomProblem]] = [
        (f"synthetic {n}", build_problem(synthetic_catalog(n, 1))) for n in (100, 300, 1000, 2000)]
    for name in ("I07", "I08", "I09", "I10", "I11", "I12", "I13"):
        path = MMKP_DIR / "khan" / f"{name}.txt"
        if path.exists():
            instance = read_khan(path)
            cases.append((f"Khan {name}", build_problem(to_catalog(instance))))
    for name, problem in cases:
        wall, objective, status = timed(problem, args.repeats if problem.n_options < 5000 else 1)
        rows.append({"label": args.label, "commit": commit, "instance": name, "positions": len(problem.positions),
                     "options": problem.n_options, "greedy_seconds": round(wall, 4), "status": status,
                     "greedy_objective": None if objective is None else round(objective, 4)})
        print(rows[-1], flush=True)
    path = RESULTS / "baselines.csv"
    kept = []
    if path.exists():
        with path.open() as fh:
            kept = [r for r in csv.DictReader(fh) if r["label"] != args.label]
    print(write_csv("baselines.csv", kept + rows))


if __name__ == "__main__":
    main()
