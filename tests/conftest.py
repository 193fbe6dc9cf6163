"""Shared fixtures: the CLI runner, samples, the real servers the tests start, and a solved e-bike drive."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aas_quantum.aas.files import read_files
from aas_quantum.aas.mapping import product_shell, read_catalog
from aas_quantum.erp import ErpDocument, erp_document
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.report import Report
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

from tests.support import MEDIUM, Mosquitto, PostgresCluster, Sample, ServiceProcess, load_sample, start_basyx_server


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def load() -> Callable[[Path], Sample]:
    """``load(path)``: the catalogue and problem of an AAS file (read once per file version and session)."""
    return load_sample


@pytest.fixture
def basyx_server(tmp_path_factory):
    """Start the BaSyx Python server (SDK 1.2.1, own venv) on 127.0.0.1: ``start(*files) -> (url, process)``."""
    processes: list[subprocess.Popen] = []

    def start(*files: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
        url, process = start_basyx_server(tmp_path_factory.mktemp("basyx") / "server.log", *files, port=port)
        processes.append(process)
        return url, process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


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


@pytest.fixture
def aas_service(tmp_path_factory):
    """``start(*args, env=None) -> ServiceProcess``: a real service process; all are stopped afterwards."""
    services: list[ServiceProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, directory: Path | None = None,
              ca: Path | None = None) -> ServiceProcess:
        service = ServiceProcess(directory or tmp_path_factory.mktemp("service"), list(args), env, ca)
        services.append(service)
        return service.start()

    yield start
    for service in services:
        service.stop()


@pytest.fixture
def postgres_cluster():
    """A started ``PostgresCluster`` (``stop()``/``start()`` keep its data and port); removed afterwards."""
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@pytest.fixture
def postgres(postgres_cluster):
    """A real PostgreSQL in a throw-away cluster: its DSN."""
    return postgres_cluster.dsn


@pytest.fixture(scope="module")
def solved() -> tuple[BomProblem, Report, ErpDocument]:
    """The e-bike drive solved exactly, and its ERP document: what the ERP export tests write."""
    env = read_files([MEDIUM])
    problem = build_problem(read_catalog(env, product_shell(env)))
    report = optimize(problem, "exact", SolveOptions())
    return problem, report, erp_document(problem, report.solution.choice, RunSummary.of(report, "run-1"))
