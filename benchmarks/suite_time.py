"""Wall time of the whole test suite, on a quiet machine and with every core kept busy.

The second run is the "busy machine" check: races (a PUBACK overtaking a publish, two writers on
one result) show only under load, so the suite must pass, not just finish, next to a CPU hog.

    .venv/bin/python benchmarks/suite_time.py            # quiet, then busy
    .venv/bin/python benchmarks/suite_time.py --only quiet

Writes ``results/suite_time.csv`` (one row per condition: tests passed, failed, seconds).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from results_io import write_csv

REPO = Path(__file__).resolve().parent.parent
HOG = "import time\nend = time.monotonic() + 3600\nwhile time.monotonic() < end:\n    pass\n"


def run_suite(busy: bool) -> dict:
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(os.cpu_count() or 2)] if busy else []
    try:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"], cwd=REPO,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary)}
    return {"condition": "busy" if busy else "quiet", "cpu_hogs": len(hogs), "passed": counts.get("passed", 0),
            "failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
            "skipped": counts.get("skipped", 0), "seconds": round(seconds, 1), "exit_code": done.returncode,
            "failures": " ".join(re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["quiet", "busy"])
    args = parser.parse_args()
    rows = [run_suite(busy) for busy in (False, True) if args.only in (None, "busy" if busy else "quiet")]
    for row in rows:
        print(row)
    print(write_csv("suite_time.csv", rows))


if __name__ == "__main__":
    main()
