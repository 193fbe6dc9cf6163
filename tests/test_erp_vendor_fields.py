"""Every column the Odoo and SAP profiles write is a field of the vendor's model for the version named
in the fixture (read from the vendor's source or API documentation), and the fields the vendor needs
on such a row are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aas_quantum import erp

FIXTURES = Path(__file__).parent / "fixtures" / "erp_fields"


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
            if sub:
                related = model["relations"][head]
                if sub != "id":
                    assert sub in models[related]["fields"], f"{column.name}: {sub} is not a field of {related}"
                    written.setdefault(related, set()).add(sub)
        for name, fields in written.items():
            missing = set(models[name]["mandatory"]) - fields
            assert not missing, f"{sheet.name}: Odoo 18.0 needs {sorted(missing)} on {name}"


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


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_names_its_version_and_source(fixture):
    data = _fixture(fixture)
    assert data["version"] and data["how_read"]
    assert (Path(__file__).parent.parent / "erp_export" / "README.md").read_text().count(data["version"]) >= 1
