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


def _drone_json_with(tmp_path: Path, change) -> Path:
    """The drone as one plain JSON file, passed through ``change(document)``."""
    path = tmp_path / "drone.json"
    write_json(path, list(read_files([SMALL]).objects))
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


def _request(document: dict) -> dict:
    return next(s for s in document["submodels"] if s["idShort"] == "BomOptimizationRequest")


def _file_element(value: str):
    return lambda document: _request(document)["submodelElements"].append(
        {"modelType": "File", "idShort": "Manual", "contentType": "application/pdf", "value": value})


def _thumbnail(document: dict) -> None:
    document["assetAdministrationShells"][0]["assetInformation"]["defaultThumbnail"] = {
        "path": "/aasx/thumbnail.png", "contentType": "image/png"}


@pytest.mark.parametrize("name", ["basyx_test_demo_full_example.json",
                                  "basyx_test_demo_full_example_wrong_attribute.json"])
def test_the_sdk_compliance_examples_load_with_their_file_paths_as_references(name):
    env = read_files([_interop(name)])
    assert env.of_type(model.Submodel)
    assert any("'/TestFile.pdf'" in w and "no package" in w and "ExampleFile" in w for w in env.warnings)


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_the_sdks_example_full_loads_from_plain_json_and_xml(tmp_path, suffix):
    """basyx.aas.examples.data's full example: a File '/TestFile.pdf' and a thumbnail, and no package."""
    from basyx.aas.adapter import json as aas_json
    from basyx.aas.adapter import xml as aas_xml
    from basyx.aas.examples.data import example_aas

    path = tmp_path / f"example_full.{suffix}"
    with path.open("w" if suffix == "json" else "wb") as fh:
        (aas_json.write_aas_json_file if suffix == "json" else aas_xml.write_aas_xml_file)(
            fh, example_aas.create_full_example())
    env = read_files([path])
    assert {o.id for o in env.objects} == {o.id for o in example_aas.create_full_example()}
    assert [w for w in env.warnings if "'/TestFile.pdf'" in w and f"a .{suffix} file has no package" in w]


@pytest.mark.parametrize("change", [_file_element("/aasx/files/manual.pdf"), _thumbnail],
                         ids=["file-element", "default-thumbnail"])
def test_a_plain_json_with_a_package_path_runs_and_keeps_the_reference(cli, tmp_path, change):
    """What the IDTA templates ship as .json: paths into a package the .json does not come with."""
    path = _drone_json_with(tmp_path, change)
    checked = cli.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "warning:" in checked.output and "no package" in checked.output
    out = tmp_path / "out"
    run = cli.invoke(app, ["optimize", str(path), "--solver", "greedy", "--out", str(out), "--json"])
    assert run.exit_code == 0, run.output
    written = read_files([Path(json.loads(run.output[run.output.index("{"):])["outputs"]["aasx"])], lenient=True)
    kept = [w for w in written.warnings if "not in the package" in w]
    assert kept and ("/aasx/files/manual.pdf" in kept[0] or "/aasx/thumbnail.png" in kept[0])


def test_a_package_missing_a_files_part_is_refused_with_its_place_and_lenient_keeps_the_reference(cli, tmp_path):
    package = tmp_path / "drone.aasx"
    json_path = _drone_json_with(tmp_path, _file_element("/aasx/files/manual.pdf"))
    env = read_files([json_path])
    from aas_quantum.aas.files import write_aasx
    write_aasx(package, list(env.objects), references=env.references)
    strict = cli.invoke(app, ["validate", str(package)])
    assert strict.exit_code == 2
    message = " ".join(strict.output.split())
    assert "element Manual" in message and "'/aasx/files/manual.pdf', which is not in the package" in message
    assert "--lenient" in message
    lenient = cli.invoke(app, ["optimize", str(package), "--lenient", "--solver", "greedy",
                               "--out", str(tmp_path / "out")])
    assert lenient.exit_code == 0, lenient.output
    assert "warning:" in lenient.output and "kept as a reference" in lenient.output


def _climbing_out(tmp_path: Path, with_entry: bool) -> Path:
    """The drone package with a File '/../../../evil_ref.txt' (and a zip entry of that name, which the SDK's
    reader matches, or none)."""
    def change(name: str, data: bytes) -> tuple[str, bytes]:
        if name.endswith(".json") and "_rels" not in name:
            document = json.loads(data)
            _file_element("/../../../evil_ref.txt")(document)
            data = json.dumps(document).encode()
        return name, data

    package = _rewritten(SMALL, tmp_path / "evil.aasx", change)
    if with_entry:
        with zipfile.ZipFile(package, "a") as archive:
            archive.writestr("../../../evil_ref.txt", b"outside")
    return package


@pytest.mark.parametrize("with_entry", [True, False], ids=["entry-present", "entry-absent"])
@pytest.mark.parametrize("command", ["validate", "optimize"])
def test_a_file_path_climbing_out_of_the_package_is_refused_before_solving(cli, tmp_path, with_entry, command):
    package = _climbing_out(tmp_path, with_entry)
    out = tmp_path / "out"
    args = [command, str(package)] + (["--solver", "exact", "--out", str(out)] if command == "optimize" else [])
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "submodel urn:aas-quantum:sample:drone:aas/sm/BomOptimizationRequest, element Manual" in message
    assert "'/../../../evil_ref.txt'" in message and "path traversal outside the package" in message
    assert "solving" not in result.output and not out.exists()
    with pytest.raises(BomInputError, match="path traversal"):
        read_files([package], lenient=True)  # lenient or not


def test_a_file_path_climbing_out_is_refused_in_a_plain_json_too(tmp_path):
    path = _drone_json_with(tmp_path, _file_element("../../etc/passwd"))
    with pytest.raises(BomInputError, match=r"element Manual: .*'\.\./\.\./etc/passwd'.*path traversal"):
        read_files([path])
