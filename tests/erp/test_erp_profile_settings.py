"""What an ERP import needs beyond the columns: numbers that fit the ERP's fields, keys that tie a
document's items to its header, and the BoM's approval state as the profile is set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aas_quantum import erp
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.cli import app
from aas_quantum.errors import ConfigError
from aas_quantum.problem import build_problem
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

from tests.support import DRONE_STEM, SAMPLES, SMALL

SAP_VENDOR_COLUMNS = {"PurchaseRequisitionItem": "FixedSupplier", "Purchasing_Info_Records": "LIFNR",
                      "BusinessPartner": "BusinessPartner", "BusinessPartnerRole": "BusinessPartner",
                      "SupplierPurchasingOrg": "Supplier", "PurchasingSource": "Supplier"}
LIFNR_LENGTH = 10


def _document(path: Path) -> erp.ErpDocument:
    env = read_files([path])
    problem = build_problem(mapping.read_catalog(env, mapping.product_shell(env)))
    report = optimize(problem, "greedy", SolveOptions())
    return erp.erp_document(
        problem, report.solution.choice, RunSummary.of(report, "7c0ffee0-0000-4000-8000-00000000000a")
    )


@pytest.fixture(scope="module")
def sample_documents() -> list[erp.ErpDocument]:
    return [_document(path) for path in sorted(SAMPLES.glob("*.aasx"))]


def _column(table: erp.Table, name: str) -> list:
    index = [c.name for c in table.sheet.columns].index(name)
    return [row[index] for row in table.rows]


def test_a_supplier_number_longer_than_lifnr_is_refused_naming_it_the_column_and_the_vendor_map(sample_documents):
    """Truncating SUP-ASIAMOTION to 10 characters would book the purchase on another (or no) vendor."""
    document = next(d for d in sample_documents if any(line["supplier_id"] == "SUP-ASIAMOTION" for line in d.lines))
    profile = erp.load_profile("sap-s4hana", erp.erp_overrides("sap-s4hana", ["vendor_map.SUP-OTHER=V1"]))
    with pytest.raises(ConfigError) as raised:
        erp.render(document, profile)
    message = str(raised.value)
    long_ones = sorted(line["supplier_id"] for line in document.lines if len(line["supplier_id"]) > LIFNR_LENGTH)
    assert re.search(r"column '(BusinessPartner|Supplier|FixedSupplier|LIFNR)'", message), message
    assert "'sap-s4hana'" in message, message
    assert any(f"'{supplier}'" in message for supplier in long_ones), message
    assert f"at most {LIFNR_LENGTH}" in message and "vendor_map" in message, message


def test_the_samples_suppliers_have_default_sap_vendor_numbers_that_fit(sample_documents):
    profile = erp.load_profile("sap-s4hana")
    for document in sample_documents:
        suppliers = {line["supplier_id"] for line in document.lines}
        for table in erp.render(document, profile):
            if table.sheet.name in SAP_VENDOR_COLUMNS:
                numbers = set(_column(table, SAP_VENDOR_COLUMNS[table.sheet.name]))
                assert all(len(n) <= LIFNR_LENGTH for n in numbers), numbers
                assert len(numbers) == len(suppliers) and not numbers & {s for s in suppliers if len(s) > 10}


def test_a_configured_vendor_map_replaces_the_profile_defaults(sample_documents):
    document = sample_documents[0]
    suppliers = sorted({line["supplier_id"] for line in document.lines})
    settings = [f"vendor_map.{s}=V{i}" for i, s in enumerate(suppliers)]
    profile = erp.load_profile("sap-s4hana", erp.erp_overrides("sap-s4hana", settings))
    table = next(t for t in erp.render(document, profile) if t.sheet.name == "Purchasing_Info_Records")
    assert set(_column(table, "LIFNR")) == {f"V{i}" for i in range(len(suppliers))}


def test_the_demo_sap_export_of_the_drone_still_runs(tmp_path, cli):
    out = tmp_path / "out"
    done = cli.invoke(
        app, ["optimize", str(SMALL), "--solver", "greedy", "--erp", "sap-s4hana", "--out", str(out), "--quiet"]
    )
    assert done.exit_code == 0, done.output
    records = (out / f"{DRONE_STEM}.sap-s4hana.Purchasing_Info_Records.csv").read_text(encoding="utf-8-sig")
    vendors = {line.split(";")[0] for line in records.splitlines()[1:]}
    assert vendors and all(len(v) <= LIFNR_LENGTH for v in vendors), vendors


def test_sap_requisition_items_join_their_header_in_the_csv_and_the_xlsx(sample_documents, tmp_path):
    """Outside the JSON (items nested) the files are two tables: a key column must tie them together."""
    import openpyxl
    import pandas as pd

    document = next(d for d in sample_documents if any(line["supplier_id"] == "SUP-ASIAMOTION" for line in d.lines))
    profile = erp.load_profile("sap-s4hana")
    paths = erp.export(document, [profile], ["csv", "xlsx", "json"], tmp_path, "ebike")
    csv_of = {p.name.split(".")[-2]: p for p in paths if p.suffix == ".csv"}
    read = {"sep": ";", "dtype": str, "encoding": "utf-8-sig"}
    from_csv = (
        pd.read_csv(csv_of["PurchaseRequisition"], **read),
        pd.read_csv(csv_of["PurchaseRequisitionItem"], **read),
    )
    workbook = openpyxl.load_workbook(next(p for p in paths if p.suffix == ".xlsx"), read_only=True)

    def frame(name: str) -> pd.DataFrame:
        header, *rows = workbook[name].iter_rows(values_only=True)
        return pd.DataFrame(rows, columns=header).astype(str)

    from_xlsx = (frame("PurchaseRequisition"), frame("PurchaseRequisitionItem"))
    suppliers = {line["supplier_id"] for line in document.lines}
    for headers, items in (from_csv, from_xlsx):
        shared = set(headers.columns) & set(items.columns)
        assert shared == {"PurchaseRequisition"}, shared
        assert headers["PurchaseRequisition"].is_unique and len(headers) == len(suppliers)
        joined = items.merge(headers, on="PurchaseRequisition", how="left", validate="many_to_one", indicator=True)
        assert (joined["_merge"] == "both").all() and len(joined) == len(document.lines)
        assert (joined.groupby("PurchaseRequisition")["FixedSupplier"].nunique() == 1).all()
        assert joined["PurchaseRequisition"].str.len().max() <= 10  # BANFN
    assert from_csv[1]["PurchaseRequisition"].tolist() == from_xlsx[1]["PurchaseRequisition"].tolist()
    bodies = json.loads(next(p for p in paths if p.name.endswith("PurchaseRequisition.json")).read_text())["bodies"]
    # the deep insert nests the items; a key in the body would ask SAP for an external number
    assert all("PurchaseRequisition" not in body for body in bodies)
    assert all("PurchaseRequisition" not in item for body in bodies for item in body["to_PurchaseReqnItem"]["results"])


D365_APPROVAL = {  # sheet -> (approved, active, approver) columns the BOM entities take
    "Bill of materials headers": ("IsApproved", None, "ApproverPersonnelNumber"),
    "Bill of materials versions V3": ("IsApproved", "IsActive", "ApproverId"),
}


def _approval(tables) -> dict[str, tuple]:
    out = {}
    for table in tables:
        if table.sheet.name in D365_APPROVAL:
            (row,) = table.rows
            names = [c.name for c in table.sheet.columns]
            out[table.sheet.name] = tuple(
                None if n is None else row[names.index(n)] for n in D365_APPROVAL[table.sheet.name]
            )
    return out


def test_d365_bom_stays_unapproved_and_inactive_by_default(sample_documents):
    tables = erp.render(sample_documents[0], erp.load_profile("dynamics365-fo"))
    assert _approval(tables) == {
        "Bill of materials headers": ("No", None, None),
        "Bill of materials versions V3": ("No", "No", None),
    }


@pytest.mark.parametrize("setting", ["true", "yes", "1"])
def test_d365_approve_setting_approves_and_activates_the_bom_with_its_approver(sample_documents, tmp_path, setting):
    settings = [f"approve={setting}", "approver=000123"]
    profile = erp.load_profile("dynamics365-fo", erp.erp_overrides("dynamics365-fo", settings))
    paths = erp.export(sample_documents[0], [profile], ["csv"], tmp_path, "bom")
    assert _approval(erp.render(sample_documents[0], profile)) == {
        "Bill of materials headers": ("Yes", None, "000123"),
        "Bill of materials versions V3": ("Yes", "Yes", "000123"),
    }
    versions = next(p for p in paths if "versions" in p.name).read_text(encoding="utf-8-sig").splitlines()
    row = dict(zip(versions[0].split(","), versions[1].split(","), strict=True))
    assert (row["IsApproved"], row["IsActive"], row["ApproverId"]) == ("Yes", "Yes", "000123")


def test_d365_approve_from_the_config_file_and_a_bad_value_is_named(sample_documents, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[erp."dynamics365-fo".context]\napprove = true\napprover = "000123"\n')
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(config))
    profile = erp.load_profile("dynamics365-fo", erp.erp_overrides("dynamics365-fo"))
    assert _approval(erp.render(sample_documents[0], profile))["Bill of materials versions V3"][:2] == ("Yes", "Yes")
    with pytest.raises(ConfigError, match=r"'dynamics365-fo'.*approve must be true or false, got 'maybe'"):
        erp.load_profile("dynamics365-fo", erp.erp_overrides("dynamics365-fo", ["approve=maybe"]))
