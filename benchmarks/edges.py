"""What a large BoM costs around the solver: ``generate N`` and ``optimize --solver exact`` through the
CLI (wall time of the whole process, the fastest of three runs), and where the time of the 2,000-position
run goes.

    .venv/bin/python benchmarks/edges.py

Writes ``results/edges.csv`` (one row per size: generate, end to end, and the in-process stages of the
run: read, catalogue, problem, solve with its baselines, result submodel, result files) and
``results/edges_profile.txt`` (the functions that take the time reading the 2,000-position package,
from cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from results_io import RESULTS, write_csv  # noqa: E402

from aas_quantum.aas import mapping  # noqa: E402
from aas_quantum.aas.files import read_files, write_aasx, write_json  # noqa: E402
from aas_quantum.aas.result import output_objects, result_submodel, result_submodel_id  # noqa: E402
from aas_quantum.bulk import release_the_run, run_input  # noqa: E402
from aas_quantum.problem import build_problem  # noqa: E402
from aas_quantum.run import optimize  # noqa: E402
from aas_quantum.solvers import SolveOptions  # noqa: E402
from aas_quantum.summary import RunSummary, new_run_id  # noqa: E402

CLI = [sys.executable, "-m", "aas_quantum.cli"]


def wall(args: list[str], repeat: int) -> float:
    """The fastest of ``repeat`` runs: on a shared machine the others measure the neighbours too."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(args, cwd=REPO, check=True, capture_output=True, env={**os.environ, "COLUMNS": "200"})
        times.append(time.perf_counter() - started)
    return min(times)


def stages(package: Path, out: Path) -> dict[str, float]:
    """The run's stages in one process, timed one by one."""
    times: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        times[f"{name}_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    with run_input():  # as a run does (app.execute)
        env = read_files([package])
        lap("read")
        shell = mapping.product_shell(env)
        catalog = mapping.read_catalog(env, shell)
        lap("catalog")
        problem = build_problem(catalog)
        lap("problem")
    try:
        report = optimize(problem, "exact", SolveOptions())
        lap("solve_and_baselines")
        result = result_submodel(problem, RunSummary.of(report, new_run_id()), result_submodel_id(shell.id))
        lap("result_submodel")
        write_aasx(out / "result.aasx", output_objects(env, shell.id, result), env.files)
        write_json(out / "result.json", [result], indent=None)
        lap("result_files")
    finally:
        release_the_run()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs per figure (the fastest is kept)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            package = folder / f"synthetic-{size}.aasx"
            generate_s = wall([*CLI, "generate", str(size), "--out", str(package)], args.repeat)
            end_to_end_s = wall([*CLI, "optimize", str(package), "--solver", "exact", "--out", str(folder / "out")],
                                args.repeat)
            rows.append({"positions": size, "generate_s": round(generate_s, 2), "end_to_end_s": round(end_to_end_s, 2),
                         **stages(package, folder)})
            print(rows[-1], flush=True)
        profile = cProfile.Profile()
        profile.runcall(read_files, [folder / f"synthetic-{max(args.sizes)}.aasx"])
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(15)
    RESULTS.mkdir(exist_ok=True)
    machine = (str(REPO) + "/", sys.prefix + "/", sys.base_prefix + "/")  # paths relative to the repo
    lines = []
    for line in text.getvalue().splitlines():
        if line.strip() and not line.startswith(("   Ordered", "   List")):
            for prefix in machine:
                line = line.replace(prefix, "")
            lines.append(line)
    (RESULTS / "edges_profile.txt").write_text(
        f"cProfile of reading the {max(args.sizes)}-position package (self time, top 15)\n" + "\n".join(lines) + "\n")
    print(write_csv("edges.csv", rows))


if __name__ == "__main__":
    main()
