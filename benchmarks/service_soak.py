"""The AAS server extension's memory over many jobs: does it reach a plateau?

Starts the BaSyx Python server with the samples and ``aas-quantum serve`` (one worker) as real
processes on 127.0.0.1, then runs ``--jobs`` e-bike jobs one after the other through ``POST /jobs``
(``exact``, each writing its result to the server) and reads the service's resident memory
(``VmRSS`` of ``/proc/<pid>/status``) after every ``--every`` jobs. A service that leaks grows
without bound; one that does not levels off once its caches are warm.

    .venv/bin/python benchmarks/service_soak.py [--jobs 500] [--every 25] [--csv service_soak.csv]

Writes ``results/service_soak.csv``: jobs done, RSS in MiB, seconds since the first job.
(``service_soak_before.csv`` is the same script on the commit before the fix, 80 jobs.)
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import tempfile
import time
from pathlib import Path

import httpx
from results_io import write_csv
from service import PRODUCTS, start_basyx, start_service


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_one(http: httpx.Client, product: str) -> None:
    job = http.post("/jobs", json={"product": product, "method": "exact"}).json()["job_id"]
    while True:
        state = http.get(f"/jobs/{job}").json()
        if state["state"] not in ("queued", "running"):
            if state["state"] != "done":
                raise SystemExit(f"job {job} ended {state['state']}: {state.get('error')}")
            return
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--product", default="ebike", choices=sorted(PRODUCTS))
    parser.add_argument("--csv", default="service_soak.csv", help="file name under results/")
    args = parser.parse_args()
    key = secrets.token_hex(16)
    machine = f"{platform.machine()} {os.cpu_count()} cores"
    rows: list[dict] = []
    basyx, server = start_basyx()
    try:
        with tempfile.TemporaryDirectory() as data:
            service, url = start_service(server, 1, key, Path(data), "soak")
            try:
                with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=600) as http:
                    started = time.perf_counter()
                    for done in range(args.jobs + 1):
                        if done % args.every == 0:
                            rows.append({"jobs_done": done, "rss_mib": round(rss_mib(service.pid), 1),
                                         "seconds": round(time.perf_counter() - started, 1),
                                         "product": args.product, "solver": "exact", "machine": machine})
                            print(rows[-1], flush=True)
                        if done < args.jobs:
                            run_one(http, PRODUCTS[args.product])
            finally:
                service.terminate()
                service.wait(timeout=60)
    finally:
        basyx.terminate()
        basyx.wait(timeout=30)
    print(write_csv(args.csv, rows))


if __name__ == "__main__":
    main()
