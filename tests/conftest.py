"""Shared fixtures: sample paths, catalogue writers and the IDTA test-engine check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aas_quantum.aas.files import write_aasx
from aas_quantum.aas.mapping import catalog_objects
from aas_quantum.catalog import Catalog

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SMALL, MEDIUM, LARGE = SAMPLES / "drone.aasx", SAMPLES / "ebike-drive.aasx", SAMPLES / "control-cabinet.aasx"
MMKP_DIR = REPO.parent / "shared" / "benchmarks" / "mmkp"

sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(SAMPLES))


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def write_catalog(catalog: Catalog, path: Path, namespace: str = "urn:aas-quantum:test") -> Path:
    write_aasx(path, catalog_objects(catalog, namespace))
    return path


def check_file(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    """Run IDTA's aas_test_engines on a file (exit 0 = compliant)."""
    tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
    return subprocess.run([tool, "check_file", str(path), "--format", fmt], capture_output=True, text=True,
                          timeout=300)


SERVER_PYTHON = REPO / ".basyx-server-venv" / "bin" / "python"
SERVE_SCRIPT = REPO / "tests" / "basyx" / "serve.py"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def basyx_server(tmp_path_factory):
    """Start the BaSyx Python server (SDK 1.2.1, own venv) on 127.0.0.1: ``start(*files) -> (url, process)``."""
    processes: list[subprocess.Popen] = []

    def start(*files: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
        if not SERVER_PYTHON.exists():
            pytest.fail(f"{SERVER_PYTHON} is missing: `make test` creates the BaSyx server environment")
        port = port or free_port()
        log = tmp_path_factory.mktemp("basyx") / "server.log"
        with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server
            process = subprocess.Popen([str(SERVER_PYTHON), str(SERVE_SCRIPT), "--port", str(port),
                                        *map(str, files)], stdout=subprocess.PIPE, stderr=sink, text=True)
        processes.append(process)
        line = process.stdout.readline()
        if not line.startswith("ready"):
            process.kill()
            pytest.fail(f"BaSyx server did not start: {line} {log.read_text()}")
        return f"http://127.0.0.1:{port}/api/v3.0", process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
