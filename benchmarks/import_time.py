"""What a command costs before it does any work: the modules it imports and its wall time.

``aas-quantum --help``, ``validate`` and ``templates`` need no quantum stack; this records whether
they import qiskit or numba, the import time ``python -X importtime`` reports (sum of the
self times) and the median wall time of five runs.

    .venv/bin/python benchmarks/import_time.py --label after

Writes ``results/import_time.csv``; rows of other labels already in the file are kept, so the
file holds the figures before and after a change side by side.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import RESULTS, write_csv

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", "samples/drone.aasx"],
    "templates": ["templates", "--out", "{tmp}"],
    "optimize --solver exact": ["optimize", "samples/drone.aasx", "--solver", "exact", "--out", "{tmp}"],
}
HEAVY = ("qiskit", "numba", "asyncua")


def run(args: list[str], importtime: bool) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "aas_quantum.cli",
                *(a.format(tmp=tmp) for a in args)]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    return seconds, done.stderr


def measure(name: str, args: list[str], label: str, commit: str) -> dict:
    _, trace = run(args, importtime=True)
    imported, self_us = set(), 0
    for line in trace.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_part, _, module = line.removeprefix("import time:").split("|")
            self_us += int(self_part)
            imported.add(module.strip().split(".")[0])
    walls = [run(args, importtime=False)[0] for _ in range(5)]
    return {"label": label, "commit": commit, "command": name, "import_time_s": round(self_us / 1e6, 3),
            "wall_time_s": round(statistics.median(walls), 3),
            **{f"imports_{m}": m in imported for m in HEAVY}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="e.g. before / after")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    path = RESULTS / "import_time.csv"
    kept = [r for r in csv.DictReader(path.open())] if path.is_file() else []
    rows = [r for r in kept if r["label"] != args.label]
    rows += [measure(name, cmd, args.label, commit) for name, cmd in COMMANDS.items()]
    for row in rows:
        print(row)
    write_csv("import_time.csv", rows)


if __name__ == "__main__":
    main()
