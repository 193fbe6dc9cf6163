"""A BoM modelled with IDTA templates: 02011 Hierarchical Structures for positions and quantities,
02006 Nameplate and 02003 Technical Data of each component's own AAS for part numbers, makers and
weights. The sample ``conveyor-drive-idta.aasx`` is optimised from files and from the BaSyx server,
and what it writes passes the IDTA test engine."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest
from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import idta, mapping
from aas_quantum.aas.files import read_files, write_aasx
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, ServerSettings
from aas_quantum.cli import app
from aas_quantum.errors import BomInputError
from aas_quantum.problem import BomProblem, build_problem

import generate
from tests.support import REPO, SAMPLES, idta_findings

SAMPLE = SAMPLES / "conveyor-drive-idta.aasx"
PRODUCT = f"{generate.CONVEYOR}:aas"
BOM_ID = f"{PRODUCT}/sm/HierarchicalStructures"
INTEROP = REPO.parent / "shared" / "interop"


def _problem(path: Path) -> BomProblem:
    env = read_files([path])
    return build_problem(mapping.read_catalog(env, mapping.product_shell(env)))


def _brute_force(problem: BomProblem) -> float:
    """The best objective over every feasible selection (the sample is small enough to enumerate)."""
    best = float("inf")
    for choice in itertools.product(*(range(len(p.options)) for p in problem.positions)):
        x = problem.x_from_choice(choice)
        if not problem.violations(x):
            best = min(best, problem.objective(x))
    return best


def _variant_package(tmp_path: Path, change) -> Path:
    """The sample with ``change(objects by id)`` applied, written to a new package."""
    objects = {o.id: o for o in generate.conveyor_drive()}
    change(objects)
    path = tmp_path / "changed.aasx"
    write_aasx(path, objects.values())
    return path


def test_positions_quantities_and_parts_come_from_the_idta_submodels():
    env = read_files([SAMPLE])
    catalog = mapping.read_catalog(env, mapping.product_shell(env))
    positions = {p.position_id: p for p in catalog.positions}
    assert [p.position_id for p in catalog.positions] == ["Motor", "Gearbox", "Coupling", "Inverter", "Sensor"]
    assert {k: p.quantity for k, p in positions.items()} == {
        "Motor": 1, "Gearbox": 1, "Coupling": 2, "Inverter": 1, "Sensor": 3}
    # the node's component and its SameAs alternatives, each read from its own Nameplate and Technical Data
    motors = positions["Motor"].variants
    expected = [generate.COMPONENTS[c] for c in ("motor-ie3-075", "motor-ie4-075", "motor-pm-075")]
    assert [(v.part_number, v.manufacturer, v.designation) for v in motors] == [e[:3] for e in expected]
    assert [dict(v.attributes)[contract.UNIT_WEIGHT] for v in motors] == [e[3] for e in expected]
    # ComponentVariants in the product AAS (PositionId = Node idShort): weights completed from Technical Data
    gearbox = positions["Gearbox"].variants
    assert [dict(v.attributes)[contract.UNIT_WEIGHT] for v in gearbox] == [7.4, 5.2]
    assert [v.manufacturer for v in gearbox] == ["Geartec", "Geartec"]
    # ComponentVariants in the component's own AAS
    assert [v.part_number for v in positions["Inverter"].variants] == ["VFD-075-400", "VFD-075-400-STO"]
    problem = build_problem(catalog)
    sources = {i.submodel_id: i.semantic_id for i in problem.inputs}
    assert sources[BOM_ID] == idta.HIERARCHY_SUBMODELS[0]
    assert any(s.endswith("motor-pm-075:aas/sm/Nameplate") for s in sources)
    assert any(s.endswith("motor-pm-075:aas/sm/TechnicalData") for s in sources)
    assert len(sources) == len(problem.inputs)  # the BoM is quoted once, not once per position


def test_sample_is_what_the_generator_writes_and_passes_the_test_engine(tmp_path):
    fresh = tmp_path / "fresh.aasx"
    write_aasx(fresh, generate.conveyor_drive())
    assert _problem(fresh) == _problem(SAMPLE)
    assert idta_findings(SAMPLE, "aasx") == []


def test_idta_sample_optimises_from_files_to_the_brute_force_optimum(cli, tmp_path):
    done = cli.invoke(app, ["optimize", str(SAMPLE), "--solver", "auto", "--out", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    problem = _problem(SAMPLE)
    assert summary["kpis"]["objective"] == pytest.approx(_brute_force(problem), rel=1e-9)
    package = Path(summary["outputs"]["aasx"])
    env = read_files([package])
    shell = env.objects.get_item(PRODUCT)
    refs = {r.key[-1].value for r in shell.submodel}
    assert {BOM_ID, result_submodel_id(PRODUCT)} <= refs  # the result sits next to the 02011 BoM
    result = env.objects.get_item(result_submodel_id(PRODUCT))
    inputs = {e.value for item in result.get_referable("Inputs").value for e in item.value
              if e.id_short == "SubmodelId"}
    assert BOM_ID in inputs
    assert idta_findings(package, "aasx") == []


def test_idta_sample_optimises_against_the_basyx_server(basyx_server, cli, tmp_path):
    url, _ = basyx_server(SAMPLE)
    done = cli.invoke(app, ["optimize", "--server", url, "--solver", "exact", "--out", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert summary["kpis"]["objective"] == pytest.approx(_brute_force(_problem(SAMPLE)), rel=1e-9)
    with AasClient(ServerSettings.resolve(url)) as client:
        result = client.submodel(result_submodel_id(PRODUCT))
        refs = [r.key[-1].value for r in client.shell(PRODUCT).submodel]
        picks = {item.get_referable("PositionId").value: item.get_referable("PartNumber").value
                 for item in result.get_referable("Selection").value}
    assert refs.count(result_submodel_id(PRODUCT)) == 1 and BOM_ID in refs
    assert picks == {line["position_id"]: line["part_number"] for line in summary["selection"]}
    written = tmp_path / "server-result.json"
    written.write_text(json.dumps({"submodels": [json.loads(
        _submodel_json(url, result_submodel_id(PRODUCT)))]}))
    assert idta_findings(written, "json") == []


def _submodel_json(url: str, submodel_id: str) -> str:
    import httpx

    from aas_quantum.aas.ids import b64

    return httpx.get(f"{url}/submodels/{b64(submodel_id)}", timeout=10).text


def _bom(objects) -> model.Submodel:
    return objects[BOM_ID]


def _node(objects, name: str) -> model.Entity:
    entry = _bom(objects).get_referable("EntryNode")
    return entry.get_referable(name)


def _set_bulk_count(objects, value) -> None:
    node = _node(objects, "Sensor")
    node.statement.remove(node.get_referable("BulkCount"))
    node.statement.add(model.Property("BulkCount", model.datatypes.String, value,
                                      semantic_id=generate.ref(f"{generate.IDTA_HS}BulkCount/1/0")))


@pytest.mark.parametrize(("change", "expected"), [
    (lambda o: _set_bulk_count(o, "-3"), r"EntryNode\.Sensor\.BulkCount: BulkCount must be positive"),
    (lambda o: _set_bulk_count(o, "three"), r"EntryNode\.Sensor\.BulkCount: BulkCount must be a number"),
    (lambda o: setattr(_bom(o).get_referable("ArcheType"), "value", "OneUp"), "ArcheType 'OneUp' describes where"),
    (lambda o: o.pop(f"{generate.CONVEYOR}:component:motor-pm-075:aas"),
     r"EntryNode\.Motor.*component .*motor-pm-075 has no AAS in the inputs"),
    (lambda o: _drop(o[f"{generate.CONVEYOR}:component:sensor-ind-m18:aas/sm/Nameplate"],
                     "ProductArticleNumberOfManufacturer", "OrderCodeOfManufacturer"),
     "component AAS .*sensor-ind-m18:aas names no part number"),
    (lambda o: _rename_node(o, "Coupling", "ShaftCoupling"),
     r"EntryNode\.HasPartCoupling: HasPart points to 'Coupling', which is no Node"),
])
def test_bad_idta_bom_names_the_element(tmp_path, change, expected):
    path = _variant_package(tmp_path, change)
    with pytest.raises(BomInputError, match=expected):
        _problem(path)


def _drop(submodel: model.Submodel, *id_shorts: str) -> None:
    for id_short in id_shorts:
        submodel.submodel_element.remove(submodel.get_referable(id_short))


def _rename_node(objects, old: str, new: str) -> None:
    entry = _bom(objects).get_referable("EntryNode")
    node = entry.get_referable(old)
    entry.statement.remove(node)
    clone = copy.deepcopy(node)
    clone.parent = None
    clone.id_short = new
    entry.statement.add(clone)


def test_component_variants_that_name_no_node_are_refused(tmp_path):
    """A ComponentVariants position the 02011 BoM does not have is an error, not a silent extra position."""
    def rename_gearbox_node(objects) -> None:
        entry = _bom(objects).get_referable("EntryNode")
        gearbox = entry.get_referable("Gearbox")
        entry.statement.remove(gearbox)
        for rel in [s for s in entry.statement if isinstance(s, model.RelationshipElement)
                    and s.second.key[-1].value == "Gearbox"]:
            entry.statement.remove(rel)

    path = _variant_package(tmp_path, rename_gearbox_node)
    with pytest.raises(BomInputError, match="ComponentVariants PositionId 'Gearbox' is no Node of the BoM"):
        _problem(path)


def test_nodes_are_the_has_part_targets_and_template_placeholders_are_ignored():
    """The public 02011 template: one Node under the EntryNode, its SameAs placeholder is no alternative."""
    path = INTEROP / "idta02011-1-1-1_HSEBoM_template.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    env = read_files([path])
    bom = next(sm for sm in env.of_type(model.Submodel) if idta.is_hierarchy(sm))
    nodes = idta.bom_nodes(bom, str(path), {})
    assert [(n.position_id, n.quantity, n.alternatives) for n in nodes] == [("Node", 1.0, ())]


def test_nameplate_2_and_technical_data_name_the_same_facts():
    """Part number, maker and weight by IRDI whatever the template version: ECLASS (Nameplate 2.0,
    Technical Data) and IEC CDD (Nameplate 3.0), the article number winning over the order code."""
    def p(id_short: str, irdi: str, value: str) -> model.Property:
        return model.Property(id_short, model.datatypes.String, value, semantic_id=generate.ref(irdi))

    nameplate2 = model.Submodel("urn:x:np2", submodel_element=[
        p("OrderCodeOfManufacturer", "0173-1#02-AAO227#002", "ORDER-1"),
        p("ManufacturerName", "0173-1#02-AAO677#002", "Acme"),
        p("ProductArticleNumberOfManufacturer", "0173-1#02-AAO676#003", "ART-1")])
    technical = model.Submodel("urn:x:td", submodel_element=[model.SubmodelElementCollection("Props", [
        p("Weight", "0173-1#02-AAS627#001", "2.5")])])
    facts = idta.component_facts([nameplate2, technical], "test")
    assert facts == idta.ComponentFacts("ART-1", "Acme", "", 2.5)
    bad = model.Submodel("urn:x:bad", submodel_element=[p("Weight", "0173-1#02-AAS627#001", "heavy")])
    with pytest.raises(BomInputError, match=r"weight .* must be a number in kg, got 'heavy'"):
        idta.component_facts([bad], "test")


def test_product_designation_comes_from_its_nameplate_else_its_description(tmp_path):
    """What the ERP files call the product: the Nameplate's ManufacturerProductDesignation of the
    product's own AAS, else the shell's description; never its URN when either is there."""
    from aas_quantum import erp
    from aas_quantum.run import optimize
    from aas_quantum.solvers import SolveOptions
    from aas_quantum.summary import RunSummary

    assert _problem(SAMPLE).designation == "Belt conveyor drive unit"  # the shell's description

    def with_nameplate(objects: dict) -> None:
        nameplate = model.Submodel(f"{PRODUCT}/sm/Nameplate", id_short="Nameplate",
                                   semantic_id=generate.ref("https://admin-shell.io/zvei/nameplate/2/0/Nameplate"),
                                   submodel_element=[model.MultiLanguageProperty(
                                       "ManufacturerProductDesignation",
                                       model.MultiLanguageTextType({"en": "CD-750 conveyor drive"}),
                                       semantic_id=generate.ref("0173-1#02-AAW338#001"))])
        objects[PRODUCT].submodel.add(model.ModelReference.from_referable(nameplate))
        objects[nameplate.id] = nameplate
    problem = _problem(_variant_package(tmp_path, with_nameplate))
    assert problem.designation == "CD-750 conveyor drive"  # the Nameplate wins over the description
    report = optimize(problem, "greedy", SolveOptions())
    document = erp.erp_document(problem, report.solution.choice, RunSummary.of(report, "run-1"))
    header = next(t for t in erp.render(document, erp.load_profile("business-central"))
                  if t.sheet.name == "Production BOM Header")
    assert header.rows[0][[c.name for c in header.sheet.columns].index("Description")] == "CD-750 conveyor drive"
    bom = next(t for t in erp.render(document, erp.load_profile("generic")) if t.sheet.name == "BoM")
    assert bom.rows[0][[c.name for c in bom.sheet.columns].index("Description")] == "CD-750 conveyor drive"
