"""The AAS server extension under load: delegation round trip and job throughput.

Starts the BaSyx Python server with the samples and ``aas-quantum serve`` as real processes on
127.0.0.1, then records

- the delegation round trip, invoke -> ``done``: ``POST /operations/optimize`` as BaSyx sends it,
  until the answer says done (or, when the run outlives the wait, until ``GET /jobs/{id}`` does),
  for the drone and the e-bike, with ``exact`` and with the request's own solver (``auto``);
- jobs per minute for the e-bike with 1 and 2 workers (threads of one instance), and with two
  instances of 1 worker each sharing one SQLite job store (20 jobs, ``exact``, each writing its result).

    .venv/bin/python benchmarks/service.py

Writes ``results/service.csv``.
"""

from __future__ import annotations

import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from results_io import write_csv

REPO = Path(__file__).resolve().parent.parent
SERVER_PYTHON = REPO / ".basyx-server-venv" / "bin" / "python"
PRODUCTS = {"drone": "urn:aas-quantum:sample:drone:aas", "ebike": "urn:aas-quantum:sample:ebike-drive:aas"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def start_basyx() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([str(SERVER_PYTHON), str(REPO / "tests" / "basyx" / "serve.py"), "--port", str(port),
                                *map(str, sorted((REPO / "samples").glob("*.aasx")))],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None and process.stdout.readline().startswith("ready")
    return process, f"http://127.0.0.1:{port}/api/v3.0"


def start_service(server: str, workers: int, key: str, data: Path, instance: str = "bench"
                  ) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": key, "AAS_QUANTUM_CONFIG": str(data / "none.toml"),
           "AAS_QUANTUM_SERVICE_INSTANCE_ID": instance}
    process = subprocess.Popen([sys.executable, "-m", "aas_quantum.cli", "serve", "--server", server, "--port",
                                str(port), "--workers", str(workers), "--data-dir", str(data)],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health")
    return process, url


def payload(product: str, solver: str | None) -> list[dict]:
    variables = [("ProductId", product)] + ([("Solver", solver)] if solver else [])
    return [{"value": {"modelType": "Property", "idShort": name, "valueType": "xs:string", "value": value}}
            for name, value in variables]


def round_trip(http: httpx.Client, product: str, solver: str | None) -> tuple[float, str, bool]:
    """Seconds from invoke to done, the final status, and whether the synchronous answer was already done."""
    started = time.perf_counter()
    answer = {v["value"]["idShort"]: v["value"].get("value")
              for v in http.post("/operations/optimize", json=payload(product, solver)).json()}
    synchronous = answer["Status"] == "done"
    while answer["Status"] in ("queued", "running"):
        time.sleep(0.1)
        job = http.get(f"/jobs/{answer['JobId']}").json()
        if job["state"] not in ("queued", "running"):
            answer["Status"] = "done" if job["outcome"] and job["outcome"].get("kpis") else job["state"]
    return time.perf_counter() - started, answer["Status"], synchronous


def throughput(http: httpx.Client, product: str, jobs: int) -> float:
    started = time.perf_counter()
    ids = [http.post("/jobs", json={"product": product, "method": "exact"}).json()["job_id"] for _ in range(jobs)]
    pending = set(ids)
    while pending:
        time.sleep(0.2)
        pending = {i for i in pending if http.get(f"/jobs/{i}").json()["state"] in ("queued", "running")}
    return jobs / ((time.perf_counter() - started) / 60)


def main() -> None:
    key = secrets.token_hex(16)
    rows: list[dict] = []
    machine = f"{platform.machine()} {os.cpu_count()} cores"
    basyx, server = start_basyx()
    try:
        for label, workers, instances in (("1 worker", 1, 1), ("2 workers", 2, 1), ("2 instances x 1 worker", 1, 2)):
            with tempfile.TemporaryDirectory() as data:
                services = [start_service(server, workers, key, Path(data), f"bench-{i}") for i in range(instances)]
                url = services[0][1]
                try:
                    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=600) as http:
                        if label == "1 worker":
                            for name, product in PRODUCTS.items():
                                for solver in ("exact", None):
                                    round_trip(http, product, solver)  # warm: solvers imported, caches filled
                                    runs = [round_trip(http, product, solver) for _ in range(5)]
                                    rows.append({"measure": "delegation_round_trip_s", "product": name,
                                                 "solver": solver or "auto (request)", "workers": label,
                                                 "value": round(statistics.median(r[0] for r in runs), 3),
                                                 "min": round(min(r[0] for r in runs), 3),
                                                 "max": round(max(r[0] for r in runs), 3),
                                                 "answered_done_synchronously": all(r[2] for r in runs),
                                                 "status": runs[-1][1], "machine": machine})
                                    print(rows[-1], flush=True)
                        else:
                            round_trip(http, PRODUCTS["ebike"], "exact")  # warm
                        rate = throughput(http, PRODUCTS["ebike"], 20)
                        rows.append({"measure": "jobs_per_minute", "product": "ebike", "solver": "exact",
                                     "workers": label, "value": round(rate, 1), "min": "", "max": "",
                                     "answered_done_synchronously": "", "status": "done", "machine": machine})
                        print(rows[-1], flush=True)
                finally:
                    for service, _ in services:
                        service.terminate()
                        service.wait(timeout=60)
    finally:
        basyx.terminate()
        basyx.wait(timeout=30)
    print(write_csv("service.csv", rows))


if __name__ == "__main__":
    main()
