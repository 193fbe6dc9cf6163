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
