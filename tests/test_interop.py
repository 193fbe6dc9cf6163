"""AAS files other tools write: V3.0 XML parts inside AASX, the older AASX relationship types, AAS V2
packages (refused with a clear message), metamodel defects named by their place.

Packages built here from the samples always run; the public files in ``../shared/interop`` (IDTA
templates, BaSyx Java and AASX Package Explorer test packages) are used when present."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from basyx.aas import model

from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files, write_json
from aas_quantum.cli import app
from aas_quantum.errors import BomInputError
from aas_quantum.problem import build_problem

from conftest import REPO, SMALL

INTEROP = REPO.parent / "shared" / "interop"


def _rewritten(source: Path, target: Path, change) -> Path:
    """A copy of the package with every part passed through ``change(name, data) -> (name, data)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            name, data = change(info.filename, old.read(info))
            new.writestr(name, data)
    return target


def _problem(path: Path):
    env = read_files([path])
    return build_problem(mapping.read_catalog(env, mapping.product_shell(env)))


def test_older_relationship_types_are_read_like_the_current_ones(tmp_path):
    old = _rewritten(SMALL, tmp_path / "old-rels.aasx", lambda name, data: (name, data.replace(
        b"http://admin-shell.io/aasx/relationships/", b"http://www.admin-shell.io/aasx/relationships/")))
    with zipfile.ZipFile(old) as package:
        assert b"www.admin-shell.io/aasx/relationships/aas-spec" in b"".join(
            package.read(n) for n in package.namelist() if n.endswith(".rels"))
    assert _problem(old) == _problem(SMALL)


def test_v30_xml_parts_inside_aasx_are_read(tmp_path):
    """The drone as a V3.0 XML part (what AASX Package Explorer and the IDTA templates ship)."""
    from basyx.aas.adapter import xml as aas_xml

    env = read_files([SMALL])
    xml_path = tmp_path / "drone.xml"
    with xml_path.open("wb") as fh:
        aas_xml.write_aas_xml_file(fh, env.objects)
    xml_v30 = xml_path.read_bytes().replace(b"https://admin-shell.io/aas/3/1", b"https://admin-shell.io/aas/3/0")
    assert b"https://admin-shell.io/aas/3/1" not in xml_v30

    def to_xml(name: str, data: bytes) -> tuple[str, bytes]:
        if name.endswith(".json") and not name.startswith("aasx/_rels"):
            return name[:-5] + ".xml", xml_v30
        return name, data.replace(b".json", b".xml").replace(b"application/json", b"text/xml")

    package = _rewritten(SMALL, tmp_path / "drone-v30-xml.aasx", to_xml)
    assert _problem(package) == _problem(SMALL)


def test_aas_v2_is_refused_with_the_way_out(tmp_path):
    v2 = tmp_path / "v2.xml"
    v2.write_text('<?xml version="1.0"?><aasenv xmlns="http://www.admin-shell.io/aas/2/0"></aasenv>')
    with pytest.raises(BomInputError, match=r"AAS V1/V2 is not supported .* convert it to AAS V3\.0"):
        read_files([v2])


def test_a_metamodel_defect_names_the_file_the_element_and_the_constraint(tmp_path):
    """A duplicate idShort in a collection: the message names the file, the idShort and the constraint
    (where the SDK reports nesting, each level with its line: see the 02003 case below)."""
    env = read_files([SMALL])
    from basyx.aas.adapter import xml as aas_xml

    xml_path = tmp_path / "drone.xml"
    with xml_path.open("wb") as fh:
        aas_xml.write_aas_xml_file(fh, env.objects)
    text = xml_path.read_text()
    first = text.index("<aas:idShort>PartNumber</aas:idShort>")
    broken = text[:first] + text[first:].replace("<aas:idShort>Manufacturer</aas:idShort>",
                                                 "<aas:idShort>PartNumber</aas:idShort>", 1)
    xml_path.write_text(broken)
    with pytest.raises(BomInputError) as caught:
        read_files([xml_path])
    message = str(caught.value)
    assert str(xml_path) in message and "AASd-022" in message and "'PartNumber'" in message


def _interop(name: str) -> Path:
    path = INTEROP / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.mark.parametrize("name", ["idta02011-1-1-1_HSEBoM_template.aasx",
                                  "idta02006-3-0-1_DigitalNameplate_template.aasx",
                                  "basyxjava_SensorExampleComplete.aasx"])
def test_public_v30_xml_packages_load(name):
    env = read_files([_interop(name)])
    assert env.of_type(model.Submodel)


def test_the_02011_template_reads_the_same_from_aasx_xml_and_json():
    from_aasx = read_files([_interop("idta02011-1-1-1_HSEBoM_template.aasx")])
    from_json = read_files([_interop("idta02011-1-1-1_HSEBoM_template.json")])
    assert {o.id for o in from_aasx.objects} == {o.id for o in from_json.objects}


def test_public_v2_package_is_refused_naming_the_part():
    with pytest.raises(BomInputError, match=r"aasxpe_SubmodelTest\.aasx / .*\.xml.*AAS V1/V2 is not supported"):
        read_files([_interop("aasxpe_SubmodelTest.aasx")])


@pytest.mark.parametrize(("name", "place"), [
    ("basyxjava_ExampleV3.aasx", "assetAdministrationShell (line 3) / reference (line 36)"),
    ("idta02003-2-0-1_TechnicalData_sample.aasx", "submodelElementList (line 284): Object with attribute"),
])
def test_public_packages_with_defects_say_where(name, place):
    with pytest.raises(BomInputError) as caught:
        read_files([_interop(name)])
    assert place in str(caught.value) and "No AAS files found" not in str(caught.value)


def _with_broken_neighbour(tmp_path: Path) -> Path:
    """The drone plus a submodel nobody references whose collection holds one idShort twice."""
    env = read_files([SMALL])
    path = tmp_path / "drone-and-broken.json"
    write_json(path, list(env.objects))
    document = json.loads(path.read_text())
    twice = {"modelType": "Property", "idShort": "Serial", "valueType": "xs:string", "value": "1"}
    document["submodels"].append({"modelType": "Submodel", "id": "urn:x:broken-nameplate", "idShort": "Nameplate",
                                  "submodelElements": [{"modelType": "SubmodelElementCollection",
                                                        "idShort": "Markings", "value": [twice, twice]}]})
    path.write_text(json.dumps(document))
    return path


def test_lenient_reading_skips_a_broken_object_the_run_does_not_need(tmp_path, cli):
    path = _with_broken_neighbour(tmp_path)
    strict = cli.invoke(app, ["validate", str(path)])
    assert strict.exit_code == 2 and "--lenient" in strict.output
    lenient = cli.invoke(app, ["validate", str(path), "--lenient"])
    assert lenient.exit_code == 0, lenient.output
    assert "warning:" in lenient.output and "skipped" in lenient.output and "Markings" in lenient.output
    env = read_files([path], lenient=True)
    nameplate = env.objects.get("urn:x:broken-nameplate")  # the defective collection is what was skipped
    assert nameplate is None or all(e.id_short != "Markings" for e in nameplate.submodel_element)
    assert build_problem(mapping.read_catalog(env, mapping.product_shell(env))) == _problem(SMALL)
