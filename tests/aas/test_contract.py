"""Templates, samples and outputs against the IDTA test engine; templates in sync with the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aas_quantum.aas import schema as sc
from aas_quantum.aas.templates import write_templates

from tests.support import LARGE, MEDIUM, REPO, SMALL, check_file, idta_findings

TEMPLATE_FILES = sorted((REPO / "submodels").glob("*.json"))


def test_four_templates_shipped():
    assert [p.stem for p in TEMPLATE_FILES] == sorted(sc.TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.stem)
def test_template_passes_idta_check_without_warnings(path: Path):
    assert check_file(path, "json").returncode == 0
    assert idta_findings(path, "json") == []


@pytest.mark.parametrize("path", [SMALL, MEDIUM, LARGE], ids=lambda p: p.stem)
def test_sample_passes_idta_check_without_warnings(path: Path):
    assert check_file(path, "aasx").returncode == 0
    assert idta_findings(path, "aasx") == []


def test_committed_templates_match_schema(tmp_path: Path):
    """submodels/ is generated from the schema; a change to one without the other fails here."""
    for fresh in write_templates(tmp_path):
        committed = REPO / "submodels" / fresh.name
        assert json.loads(fresh.read_text()) == json.loads(committed.read_text()), fresh.name


@pytest.mark.parametrize("name", sorted(sc.TEMPLATES))
def test_every_element_has_semantic_id_and_concept_description(name: str):
    env = json.loads((REPO / "submodels" / f"{name}.json").read_text())
    cd_ids = {cd["id"] for cd in env["conceptDescriptions"]}

    def visit(element: dict) -> None:
        sid = element["semanticId"]["keys"][0]["value"]
        assert sid in cd_ids, f"{element.get('idShort')} has no ConceptDescription"
        for child in element.get("value", []) if isinstance(element.get("value"), list) else []:
            visit(child)

    (submodel,) = env["submodels"]
    assert submodel["semanticId"]["keys"][0]["value"] in cd_ids
    for element in submodel["submodelElements"]:
        visit(element)


def test_readme_documents_every_element():
    readme = (REPO / "submodels" / "README.md").read_text()
    for _, fields in sc.TEMPLATES.values():
        for f in sc.walk(fields):
            assert f"{f.name}`" in readme, f"submodels/README.md does not document {f.name}"


def test_wheel_ships_contract_data(tmp_path: Path):
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in TEMPLATE_FILES:
        assert f"aas_quantum/data/submodels/{template.name}" in names
    assert "aas_quantum/data/erp_export/README.md" in names
    for profile in (REPO / "erp_export").glob("*.toml"):
        assert f"aas_quantum/data/erp_export/{profile.name}" in names
    for kind in ("result", "status"):
        assert f"aas_quantum/publish/schemas/{kind}.schema.json" in names
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "aas_quantum").rglob("*.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, f"package {package} missing from the wheel"
