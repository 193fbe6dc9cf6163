"""Every column the Odoo and SAP profiles write is a field of the vendor's model for the version named
in the fixture (read from the vendor's source or API documentation), and the fields the vendor needs
on such a row are written."""

from __future__ import annotations

import json
import re

import pytest

from aas_quantum import erp
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.problem import build_problem
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

from tests.support import FIXTURE_DIR, LARGE, MEDIUM, REPO, SMALL

FIXTURES = FIXTURE_DIR / "erp_fields"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_odoo_columns_are_fields_of_the_odoo_18_models():
    fixture = _fixture("odoo-18.0.json")
    models = fixture["models"]
    profile = erp.load_profile("odoo")
    for sheet in profile.sheets:
        model = models[sheet.name]  # each Odoo file imports into the model it is named after
        written: dict[str, set[str]] = {sheet.name: set()}
        for column in sheet.columns:
            if column.name in fixture["import_columns"]:
                continue
            head, _, sub = column.name.partition("/")
            assert head in model["fields"], f"{sheet.name}: {head} is not a field of {sheet.name} in Odoo 18.0"
            written[sheet.name].add(head)
            if sub and sub != "id":  # "field/id": the record by its external id
                related = model["relations"][head]
                assert sub in models[related]["fields"], f"{column.name}: {sub} is not a field of {related}"
                written.setdefault(related, set()).add(sub)
        for name, fields in written.items():
            missing = set(models[name]["mandatory"]) - fields
            assert not missing, f"{sheet.name}: Odoo 18.0 needs {sorted(missing)} on {name}"


def test_odoo_17_purchase_order_lines_use_the_same_fields():
    model = _fixture("odoo-17.0.json")["models"]["purchase.order.line"]
    profile = erp.load_profile("odoo")
    sheet = next(s for s in profile.sheets if s.name == "purchase.order")
    written = {c.name.partition("/")[2] for c in sheet.columns if c.name.startswith("order_line/")} - {"id"}
    assert written <= set(model["fields"]) and set(model["mandatory"]) <= written


def test_sap_columns_are_properties_of_the_api_entities():
    entities = _fixture("sap-s4hana.json")["entities"]
    profile = erp.load_profile("sap-s4hana")
    by_sheet = {entity["sheet"]: entity for entity in entities.values()}
    assert {s.name for s in profile.sheets} == set(by_sheet)
    for sheet in profile.sheets:
        entity = by_sheet[sheet.name]
        names = {c.name for c in sheet.columns}
        assert names <= set(entity["fields"]), f"{sheet.name}: {sorted(names - set(entity['fields']))}"
        assert set(entity["mandatory"]) <= names, f"{sheet.name} lacks {set(entity['mandatory']) - names}"
        assert all(c.required for c in sheet.columns if c.name in entity["mandatory"])
    for payload in profile.payloads:  # the navigation properties are the entities' own
        header = by_sheet[payload.header]
        assert payload.navigation in header["fields"]


@pytest.mark.parametrize(("profile_name", "fixture"), [("dynamics365-fo", "dynamics365-fo.json"),
                                                      ("business-central", "business-central.json")])
def test_microsoft_columns_are_fields_of_the_entities_and_tables(profile_name, fixture):
    entities = _fixture(fixture)["entities"]
    profile = erp.load_profile(profile_name)
    assert {s.name for s in profile.sheets} == set(entities)  # each sheet is one entity / table
    for sheet in profile.sheets:
        entity = entities[sheet.name]
        names = {c.name for c in sheet.columns}
        assert names <= set(entity["fields"]), f"{sheet.name}: {sorted(names - set(entity['fields']))}"
        assert not names & set(entity.get("not_importable", {})), f"{sheet.name} writes a computed field"
        missing = set(entity["mandatory"]) - names
        assert not missing, f"{sheet.name} lacks {sorted(missing)}"
        assert all(c.required for c in sheet.columns if c.name in entity["mandatory"])


@pytest.fixture(scope="module")
def sample_documents():
    documents = []
    for path in (SMALL, MEDIUM, LARGE):
        env = read_files([path])
        problem = build_problem(mapping.read_catalog(env, mapping.product_shell(env)))
        report = optimize(problem, "greedy", SolveOptions())
        summary = RunSummary.of(report, "5d1e0c6a-0000-4000-8000-000000000003")
        documents.append(erp.erp_document(problem, report.solution.choice, summary))
    return documents


def test_business_central_values_fit_the_field_lengths(sample_documents):
    """A Code[20] field takes at most 20 characters: a longer document or item number fails the import."""
    entities = _fixture("business-central.json")["entities"]
    profile = erp.load_profile("business-central")
    for document in sample_documents:
        for table in erp.render(document, profile):
            lengths = {name: int(m.group(1)) for name, kind in entities[table.sheet.name]["fields"].items()
                       if (m := re.fullmatch(r"(?:Code|Text)\[(\d+)\]", kind))}
            for row in table.rows:
                for column, value in zip(table.sheet.columns, row, strict=True):
                    if column.name in lengths and value is not None:
                        assert len(str(value)) <= lengths[column.name], (table.sheet.name, column.name, value)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_names_its_version_and_source(fixture):
    data = _fixture(fixture)
    assert data["version"] and data["how_read"]
    assert (REPO / "erp_export" / "README.md").read_text().count(data["version"]) >= 1
