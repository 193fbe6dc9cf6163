"""Shared fixtures: sample paths, catalogue writers and the IDTA test-engine check."""

from __future__ import annotations

import os
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


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1 with persistence, stoppable and restartable on the same port."""

    def __init__(self, directory: Path, extra_config: str = "", anonymous: bool = True) -> None:
        self.directory = directory
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence true\npersistence_location {directory}/\nautosave_interval 1\n"
            f"log_dest file {directory}/mosquitto.log\nlog_type all\n"
            # as root mosquitto would switch to its own user, which cannot write the test directory
            + ("user root\n" if os.geteuid() == 0 else "") + extra_config)
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        import socket
        import time

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed: `make test` installs the Debian package")
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        pytest.fail(f"mosquitto did not start: {(self.directory / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto writes its persistence file before exiting
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture
def mosquitto(tmp_path_factory):
    """``start(extra_config="", anonymous=True) -> Mosquitto``; every broker is stopped afterwards."""
    brokers: list[Mosquitto] = []

    def start(extra_config: str = "", anonymous: bool = True) -> Mosquitto:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"), extra_config, anonymous)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.stop()
