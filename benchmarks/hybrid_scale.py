"""The hybrid (LNS with QAOA windows) on large problems, next to its controls at the same time limit.

Khan MMKP I07-I13 at 60 s and the control cabinet at 30 s (``--time-limit`` / ``--cabinet-time-limit``).
On each: greedy (naive), greedy+ls (strong heuristic), the hybrid with QAOA windows (plain, and
warm-started from the window's greedy selection with 20 evaluations), the same search with exact
windows (classical control) and with uniformly sampled windows (random control, same shots and
decoding), and the exact MILP (HiGHS) with the same time limit. ``--only`` / ``--methods`` rerun a
part; the rows of the rest are kept. Gaps are to the best known
value (Khan, maximisation) or the proven optimum (cabinet).

    .venv/bin/python benchmarks/hybrid_scale.py

Writes ``results/hybrid_scale.csv`` (one row per instance and method) and
``results/hybrid_scale_trace.csv`` (every window of the QAOA runs: what QAOA found, what the window's
enumerated optimum was, whether it was accepted).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from results_io import RESULTS, write_csv  # noqa: E402

from aas_quantum.aas.files import read_files  # noqa: E402
from aas_quantum.aas.mapping import product_shell, read_catalog  # noqa: E402
from aas_quantum.problem import BomProblem, build_problem  # noqa: E402
from aas_quantum.solvers import Solution, SolveOptions, get_solver  # noqa: E402
from aas_quantum.solvers.hybrid import HybridSolver, WindowStep  # noqa: E402

from mmkp import MMKP_DIR, read_khan, to_catalog, value_of  # noqa: E402

# best known values (MMKP literature, as listed with the instances)
KHAN_BEST = {"I07": 24592.0, "I08": 36894.0, "I09": 49182.0, "I10": 61480.0, "I11": 73791.0, "I12": 86094.0,
             "I13": 98441.0}
# the variational settings of the windows: p = 2, COBYLA, 1024 shots
WINDOW = {"reps": 2, "maxiter": 50, "shots": 1024}


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    problem: BomProblem
    time_limit_s: float
    gap_pct: Callable[[float], float]  # objective -> gap to the reference, in %
    score: Callable[[float], float]  # objective -> the figure the literature quotes


def cases(time_limit_s: float, cabinet_time_limit_s: float, only: list[str] | None) -> list[Case]:
    out = []
    env = read_files([REPO / "samples" / "control-cabinet.aasx"])
    cabinet = build_problem(read_catalog(env, product_shell(env)))
    optimum = get_solver("exact").solve(cabinet, SolveOptions()).objective
    assert optimum is not None
    out.append(Case("control-cabinet", cabinet, cabinet_time_limit_s, lambda v: 100 * (v / optimum - 1),
                    lambda v: v))
    for name, best in KHAN_BEST.items():
        path = MMKP_DIR / "khan" / f"{name}.txt"
        if not path.exists():
            print(f"skipped {name}: {path} not found (set MMKP_DIR)", file=sys.stderr)
            continue
        instance = read_khan(path)
        out.append(Case(f"Khan {name}", build_problem(to_catalog(instance)), time_limit_s,
                        lambda v, i=instance, b=best: 100 * (b - value_of(i, v)) / b,
                        lambda v, i=instance: value_of(i, v)))
    return [c for c in out if not only or any(o in c.name for o in only)]


def row(case: Case, method: str, solution: Solution, seconds: float) -> dict[str, object]:
    details = solution.record.details
    objective = solution.objective
    return {
        "instance": case.name, "method": method, "time_limit_s": case.time_limit_s,
        "positions": len(case.problem.positions), "options": case.problem.n_options,
        "status": solution.status.value, "value": None if objective is None else round(case.score(objective), 4),
        "gap_pct": None if objective is None else round(case.gap_pct(objective), 4),
        "seconds": round(seconds, 2), "max_qubits": solution.record.qubits or None,
        "start_from": details.get("start_from"),
        "start_gap_pct": round(case.gap_pct(details["start_objective"]), 4) if "start_objective" in details else None,
        "windows": details.get("windows"), "accepted": details.get("accepted"),
        "improvable_windows": details.get("improvable_windows"),
        "qaoa_found_window_optimum": details.get("qaoa_found_window_optimum"),
        "qaoa_found_improvement": details.get("qaoa_found_improvement"),
        "mean_p_optimal": None if details.get("mean_p_optimal") is None else round(details["mean_p_optimal"], 5),
    }


def trace_rows(case: Case, method: str, trace: list[WindowStep]) -> list[dict[str, object]]:
    return [{"instance": case.name, "method": method,
             **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in dataclasses.asdict(step).items()}}
            for step in trace]


# the hybrid's variants: the name in the results and the options that differ from WINDOW
VARIANTS = {
    "qaoa": ("hybrid (qaoa windows)", {"sub_solver": "qaoa"}),
    "qaoa-warm": ("hybrid (qaoa windows, greedy warm start, 20 evaluations)",
                  {"sub_solver": "qaoa", "warm_start": "greedy", "maxiter": 20}),
    "exact": ("hybrid (exact windows)", {"sub_solver": "exact"}),
    "random": ("hybrid (random windows)", {"sub_solver": "random"}),
}
BASELINES = ("greedy", "greedy+ls", "exact")


def merged(name: str, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """``rows`` in place of the file's rows of the same instance and method; the others kept (in order)."""
    path = RESULTS / name
    done = {(r["instance"], r["method"]) for r in rows}
    kept: list[dict[str, object]] = []
    if path.exists():
        with path.open() as fh:
            kept = [r for r in csv.DictReader(fh) if (r["instance"], r["method"]) not in done]
    order = {inst: i for i, inst in enumerate(dict.fromkeys([*(r["instance"] for r in kept),
                                                             *(r["instance"] for r in rows)]))}
    return sorted(kept + rows, key=lambda r: order[str(r["instance"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--cabinet-time-limit", type=float, default=30.0)
    parser.add_argument("--only", nargs="*", help="instances whose name contains one of these")
    parser.add_argument("--methods", nargs="*", default=[*BASELINES, *VARIANTS],
                        help=f"of {', '.join([*BASELINES, *VARIANTS])} (rows of the others are kept)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows, traces = [], []
    for case in cases(args.time_limit, args.cabinet_time_limit, args.only):
        options = SolveOptions(time_limit_s=case.time_limit_s, seed=args.seed, patience=0, **WINDOW)
        for method in (m for m in BASELINES if m in args.methods):
            started = time.perf_counter()
            solution = get_solver(method).solve(case.problem, options)
            rows.append(row(case, method, solution, time.perf_counter() - started))
            print(rows[-1], flush=True)
        for key in (k for k in VARIANTS if k in args.methods):
            name, changes = VARIANTS[key]
            started = time.perf_counter()
            solution, trace = HybridSolver().solve_traced(case.problem, options.with_(**changes))
            rows.append(row(case, name, solution, time.perf_counter() - started))
            print(rows[-1], flush=True)
            if changes["sub_solver"] == "qaoa":
                traces.extend(trace_rows(case, name, trace))
    print(write_csv("hybrid_scale.csv", merged("hybrid_scale.csv", rows)))
    if traces:
        print(write_csv("hybrid_scale_trace.csv", merged("hybrid_scale_trace.csv", traces)))


if __name__ == "__main__":
    main()
