"""Real processes on 127.0.0.1 the tests start, kill and restart: the BaSyx server, ``aas-quantum serve`` and
PostgreSQL, each on a free port."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .paths import REPO, TESTS

SERVER_PYTHON = REPO / ".basyx-server-venv" / "bin" / "python"
SERVE_SCRIPT = TESTS / "basyx" / "serve.py"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_basyx_server(log: Path, *files: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
    """Start the BaSyx Python server (SDK 1.2.1, own venv) on 127.0.0.1, its stderr in ``log``: (url, process)."""
    if not SERVER_PYTHON.exists():
        pytest.fail(f"{SERVER_PYTHON} is missing: `make test` creates the BaSyx server environment")
    port = port or free_port()
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen([str(SERVER_PYTHON), str(SERVE_SCRIPT), "--port", str(port),
                                    *map(str, files)], stdout=subprocess.PIPE, stderr=sink, text=True)
    line = process.stdout.readline()
    if not line.startswith("ready"):
        process.kill()
        process.wait(timeout=10)
        pytest.fail(f"BaSyx server did not start: {line} {log.read_text()}")
    return f"http://127.0.0.1:{port}/api/v3.0", process


SERVICE_KEY = "test-service-key"  # the API key the service processes of the tests accept


class ServiceProcess:
    """``aas-quantum serve`` as a real process on 127.0.0.1 (uvicorn), started, killed and restarted by tests."""

    def __init__(self, directory: Path, args: list[str], env: dict[str, str] | None = None,
                 ca: Path | None = None) -> None:
        self.directory, self.args, self.ca = directory, args, ca  # ca: the service speaks TLS, signed by it
        self.port = free_port()
        self.env = {**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": SERVICE_KEY,
                    "AAS_QUANTUM_CONFIG": str(directory / "none.toml"), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log = directory / "service.log"

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> ServiceProcess:
        import time

        with self.log.open("a") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aas_quantum.cli", "serve", "--port", str(self.port), "--data-dir",
                 str(self.directory / "data"), *self.args], stdout=sink, stderr=sink, env=self.env, cwd=REPO)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1, verify=self.verify()).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the service did not start: {self.log.read_text()[-3000:]}")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": SERVICE_KEY}, timeout=60,
                            verify=self.verify())

    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class PostgresCluster:
    """A real PostgreSQL (Debian's package) on 127.0.0.1 in a throw-away cluster, stoppable and restartable
    on the same port (an outage in the middle of a test)."""

    def __init__(self) -> None:
        import glob
        import tempfile

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            pytest.fail("PostgreSQL is not installed: `make test` installs the Debian package postgresql")
        self.bin_dir = Path(bins[-1])
        self.directory = Path(tempfile.mkdtemp(prefix="aasq-pg-", dir="/tmp"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.directory, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        subprocess.run([*self.as_user, str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                        "postgres"], check=True, capture_output=True, timeout=120)
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def start(self) -> PostgresCluster:
        import psycopg

        self.process = subprocess.Popen(
            [*self.as_user, str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k",
             str(self.directory), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    pytest.fail("PostgreSQL did not start")
                time.sleep(0.2)

    def stop(self) -> None:
        """Fast shutdown: every connection is cut, as in an outage (runuser passes no SIGINT on, so pg_ctl)."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run([*self.as_user, str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast",
                            "-w"], check=True, capture_output=True, timeout=60)
            self.process.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


