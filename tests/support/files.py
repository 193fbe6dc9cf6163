"""AAS files as the tests use them: samples read once, catalogues written, files checked by IDTA's test engine."""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from basyx.aas import model

from aas_quantum.aas.files import read_files, write_aasx
from aas_quantum.aas.mapping import catalog_objects, product_shell, read_catalog
from aas_quantum.catalog import Catalog
from aas_quantum.problem import BomProblem, build_problem


@dataclass(frozen=True)
class Sample:
    """An AAS file as the tests use it: the catalogue read from it and the problem built from that."""

    catalog: Catalog
    problem: BomProblem


@functools.cache
def _read(path: Path, stamp: tuple[int, int]) -> Sample:
    env = read_files([path])
    catalog = read_catalog(env, product_shell(env))
    return Sample(catalog, build_problem(catalog))


def load_sample(path: Path) -> Sample:
    """The catalogue and problem of an AAS file (read once per file version and process)."""
    info = Path(path).stat()
    return _read(Path(path), (info.st_mtime_ns, info.st_size))


def write_catalog(catalog: Catalog, path: Path, namespace: str = "urn:aas-quantum:test") -> Path:
    write_aasx(path, catalog_objects(catalog, namespace))
    return path


def write_product(path: Path, catalog: Catalog, shell_id: str, product_id: str = "") -> Path:
    """``catalog`` as a package whose product shell (and asset) has the id ``shell_id`` and whose request
    states ``product_id`` ("": none, the shell id then identifies the product), as other tools name them."""
    catalog = dataclasses.replace(catalog, request=dataclasses.replace(catalog.request, product_id=product_id))
    objects = catalog_objects(catalog, "urn:aas-quantum:test:renamed")
    old = next(o for o in objects if isinstance(o, model.AssetAdministrationShell) and o.id_short == "Product")
    shell = model.AssetAdministrationShell(model.AssetInformation(model.AssetKind.TYPE, global_asset_id=shell_id),
                                           shell_id, id_short="Product", submodel=set(old.submodel))
    write_aasx(path, [shell if o is old else o for o in objects])
    return path


def check_file(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    """Run IDTA's aas_test_engines on a file (exit 0 = compliant)."""
    tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
    return subprocess.run([tool, "check_file", str(path), "--format", fmt], capture_output=True, text=True,
                          timeout=300)


def idta_findings(path: Path, fmt: str) -> list[str]:
    """Every warning and error aas_test_engines reports for a file (its JSON report's leaves at level >= 1)."""
    tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
    done = subprocess.run([tool, "check_file", str(path), "--format", fmt, "--output", "json"],
                          capture_output=True, text=True, timeout=300)
    found: list[str] = []

    def walk(node: dict) -> None:
        if not node["s"] and node["l"] >= 1:
            found.append(node["m"])
        for child in node["s"]:
            walk(child)

    walk(json.loads(done.stdout))
    return found
