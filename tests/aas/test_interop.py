"""AAS files other tools write: V3.0 XML parts inside AASX, the older AASX relationship types, AAS V2
packages (refused with a clear message), metamodel defects named by their place.

Packages built here from the samples always run; the public files in ``../shared/interop`` (IDTA
templates, BaSyx Java and AASX Package Explorer test packages) are used when present."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from basyx.aas import model

from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files, write_json
from aas_quantum.cli import app
from aas_quantum.errors import BomInputError
from aas_quantum.problem import build_problem

from tests.support import REPO, SMALL

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


_MODEL_REFERENCE = {"type": "ModelReference", "keys": [{"type": "Submodel", "value": "urn:x:sm:other"}]}


def _spec_maximal_submodel() -> dict:
    """What the specification's ``Entity_maximal.json`` and ``SubmodelElementList_maximal.json`` carry that the
    SDK refuses: a ModelReference as a specificAssetId's externalSubjectId and as a dataSpecification (the
    specification types both as Reference; aas-core3.0 and 3.1 accept them)."""
    entity = {"modelType": "Entity", "idShort": "something", "entityType": "SelfManagedEntity",
              "globalAssetId": "urn:x:asset",
              "specificAssetIds": [{"name": "serial", "value": "1", "externalSubjectId": _MODEL_REFERENCE}],
              "embeddedDataSpecifications": [{"dataSpecification": _MODEL_REFERENCE, "dataSpecificationContent": {
                  "modelType": "DataSpecificationIec61360", "preferredName": [{"language": "en", "text": "x"}]}}]}
    items = {"modelType": "SubmodelElementList", "idShort": "entities", "typeValueListElement": "Entity",
             "value": [{key: value for key, value in entity.items() if key != "idShort"}]}
    return {"modelType": "Submodel", "id": "urn:x:sm:maximal", "submodelElements": [entity, items]}


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_model_references_where_the_specification_allows_any_reference_are_read(tmp_path, suffix):
    from basyx.aas.adapter import xml as aas_xml

    path = _drone_json_with(tmp_path, lambda document: document["submodels"].append(_spec_maximal_submodel()))
    if suffix == "xml":
        objects = read_files([path]).objects
        path = tmp_path / "drone.xml"
        with path.open("wb") as fh:
            aas_xml.write_aas_xml_file(fh, objects)
    env = read_files([path])
    submodel = env.objects.get_item("urn:x:sm:maximal")
    entity = submodel.get_referable("something")
    (asset_id,) = entity.specific_asset_id
    assert isinstance(asset_id.external_subject_id, model.ModelReference)
    assert isinstance(entity.embedded_data_specifications[0].data_specification, model.ModelReference)
    assert len(submodel.get_referable("entities").value) == 1
    assert _problem(path) == _problem(SMALL)
    out = tmp_path / "out.json"
    write_json(out, list(env.objects))  # and written back as read
    again = read_files([out]).objects.get_item("urn:x:sm:maximal").get_referable("something")
    assert next(iter(again.specific_asset_id)).external_subject_id == asset_id.external_subject_id


def _line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def test_a_json_defect_is_located_by_submodel_idshort_path_pointer_and_line(tmp_path):
    def change(document: dict) -> None:
        variants = next(e for s in document["submodels"] if s["idShort"] == "ComponentVariants"
                        for e in s["submodelElements"] if e["idShort"] == "Variants")
        weight = next(e for e in variants["value"][0]["value"] if e["idShort"] == "UnitWeight")
        weight["valueType"] = "xs:bogus"

    path = _drone_json_with(tmp_path, change)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    with pytest.raises(BomInputError) as caught:
        read_files([path])
    message = str(caught.value)
    place = re.search(r"Submodel (\S+) / Variants\[0\]\.UnitWeight \(JSON (/submodels/\d+/submodelElements/\d+/value/0"
                      r"/value/\d+), line (\d+)\): .*xs:bogus", message)
    assert place, message
    document, text = json.loads(path.read_text()), path.read_text()
    node = document
    for step in place.group(2).strip("/").split("/"):
        node = node[int(step) if step.isdigit() else step]
    assert node["valueType"] == "xs:bogus" and node["idShort"] == "UnitWeight"
    assert document["submodels"][int(place.group(2).split("/")[2])]["id"] == place.group(1)
    line = int(place.group(3))  # the line the object opens on: its members follow within a few lines
    assert text.splitlines()[line - 1].strip() == "{" and 0 < _line_of(text, '"xs:bogus"') - line < 20


def test_the_lenient_hint_is_given_only_where_lenient_reading_gets_past_the_defect(tmp_path):
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"submodels": [')
    with pytest.raises(BomInputError) as caught:
        read_files([garbage])
    assert "line 1 column" in str(caught.value) and "--lenient" not in str(caught.value)
    with pytest.raises(BomInputError, match="--lenient skips"):
        read_files([_with_broken_neighbour(tmp_path)])


def test_a_v30_xml_files_defect_names_the_v30_namespace(tmp_path):
    from basyx.aas.adapter import xml as aas_xml

    xml_path = tmp_path / "drone.xml"
    with xml_path.open("wb") as fh:
        aas_xml.write_aas_xml_file(fh, read_files([SMALL]).objects)
    text = xml_path.read_text().replace("https://admin-shell.io/aas/3/1", "https://admin-shell.io/aas/3/0")
    # in the default namespace, as BaSyx Java writes it: the SDK's messages then name it
    text = text.replace("<aas:", "<").replace("</aas:", "</").replace("xmlns:aas=", "xmlns=")
    shell_reference = text.index("<type>ModelReference</type>", text.index("<submodels>"))
    xml_path.write_text(text[:shell_reference]
                        + text[shell_reference:].replace("ModelReference", "ExternalReference", 1))
    with pytest.raises(BomInputError) as caught:
        read_files([xml_path])
    message = str(caught.value)
    assert "https://admin-shell.io/aas/3/0" in message and "aas/3/1" not in message


def test_the_public_v30_package_defect_names_the_v30_namespace():
    with pytest.raises(BomInputError) as caught:
        read_files([_interop("basyxjava_ExampleV3.aasx")])
    assert "aas/3/1" not in str(caught.value) and "{https://admin-shell.io/aas/3/0}reference" in str(caught.value)
