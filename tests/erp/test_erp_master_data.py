"""Master data: the Odoo and Business Central exports carry the vendors and products their documents refer
to, every reference resolves inside the export, and the files come (and are listed) in the profile's import
order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from aas_quantum import erp
from aas_quantum.cli import app
from aas_quantum.errors import ConfigError

from tests.support import REPO, SMALL


def _odoo_rows(path: Path) -> list[dict[str, Any]]:
    """The model's sheet (the first) of an Odoo workbook, as dicts; Odoo's blank continuation cells filled
    from the row above only for the header columns the test resolves."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)]


def _odoo_export(document: erp.ErpDocument, out: Path, profile: erp.Profile) -> tuple[list[Path], dict[str, Any]]:
    paths = erp.export(document, [profile], ["xlsx"], out, "ebike")
    return paths, {sheet.name: _odoo_rows(path) for sheet, path in zip(profile.sheets, paths, strict=True)}


def _chosen(solved: Any) -> set[tuple[str, str]]:
    problem, report, _ = solved
    return {
        (p.options[k].part_number, p.options[k].supplier_id)
        for p, k in zip(problem.positions, report.solution.choice, strict=True)
    }


def test_odoo_writes_partners_and_products_that_every_reference_resolves_to(solved, tmp_path):
    profile = erp.load_profile("odoo")
    paths, models = _odoo_export(solved[2], tmp_path, profile)
    # written (and so listed) in the import order: the master data before what refers to it
    assert [p.name.split(".", 2)[2].removesuffix(".xlsx") for p in paths] == [
        "res_partner",
        "product_template",
        "product_supplierinfo",
        "mrp_bom",
        "purchase_order",
    ]
    partners, products = models["res.partner"], models["product.template"]
    partner_ids = {row["id"] for row in partners}
    product_ids = {row["id"]: row["default_code"] for row in products}
    assert len(partner_ids) == len(partners) and len(product_ids) == len(products)  # each record once
    chosen = _chosen(solved)
    assert {row["ref"] for row in partners} == {supplier for _, supplier in chosen}
    assert all(row["is_company"] and row["supplier_rank"] >= 1 for row in partners)
    codes = set(product_ids.values())
    assert codes == {part for part, _ in chosen} | {solved[0].name}  # the product and each chosen part
    bom = models["mrp.bom"]
    assert bom[0]["product_tmpl_id/id"] in product_ids and product_ids[bom[0]["product_tmpl_id/id"]] == solved[0].name
    assert {row["bom_line_ids/product_id"] for row in bom} <= codes  # variants: by Internal Reference
    partner_ref = {row["id"]: row["ref"] for row in partners}
    infos = models["product.supplierinfo"]
    assert {(product_ids[r["product_tmpl_id/id"]], partner_ref[r["partner_id/id"]]) for r in infos} == chosen
    assert all(row["sequence"] == 1 for row in infos)  # Odoo buys from the first vendor: the chosen one
    orders = models["purchase.order"]
    heads = [row for row in orders if row["id"] is not None]
    assert {row["partner_id/id"] for row in heads} == partner_ids
    assert {row["order_line/product_id"] for row in orders} <= codes


def test_odoo_master_data_follows_the_code_maps(solved, tmp_path):
    """Two AAS suppliers mapped to one Odoo vendor are one partner, and every file refers to that one."""
    suppliers = sorted({supplier for _, supplier in _chosen(solved)})
    assert len(suppliers) >= 2
    profile = erp.load_profile("odoo", {"vendor_map": {s: "V-ONE" for s in suppliers}})
    _, models = _odoo_export(solved[2], tmp_path, profile)
    (partner,) = models["res.partner"]
    assert partner["ref"] == "V-ONE"
    assert {row["partner_id/id"] for row in models["product.supplierinfo"]} == {partner["id"]}
    assert {row["partner_id/id"] for row in models["purchase.order"] if row["id"]} == {partner["id"]}


def _sheets(path: Path, header_row: int = 1, skip: tuple[str, ...] = ("Summary",)) -> dict[str, list[dict[str, Any]]]:
    """Each sheet of a workbook as dicts, records from the row after ``header_row`` (a configuration
    package has its captions in row 3; a plain workbook its header in row 1)."""
    workbook = openpyxl.load_workbook(path)
    return {
        ws.title: [
            dict(zip([c.value for c in ws[header_row]], row, strict=True))
            for row in ws.iter_rows(min_row=header_row + 1, values_only=True)
        ]
        for ws in workbook.worksheets
        if ws.title not in skip
    }


def test_business_central_package_holds_the_vendors_and_items_it_refers_to(solved, tmp_path):
    profile = erp.load_profile("business-central")
    (path,) = erp.export(solved[2], [profile], ["xlsx"], tmp_path, "ebike")
    tables = _sheets(path, header_row=3, skip=())
    assert list(tables)[:2] == ["Vendor", "Item"] and list(tables) == list(profile.import_order)
    vendors = {row["No."] for row in tables["Vendor"]}
    items = {row["No."]: row for row in tables["Item"]}
    assert len(vendors) == len(tables["Vendor"]) and len(items) == len(tables["Item"])
    chosen = _chosen(solved)
    assert vendors == {supplier for _, supplier in chosen}
    assert set(items) == {part for part, _ in chosen} | {solved[0].name}
    assert all(row["Type"] == "Inventory" and row["Base Unit of Measure"] for row in items.values())
    assert all(items[part]["Vendor No."] in vendors for part, _ in chosen)
    referenced_items = (
        {row["No."] for row in tables["Production BOM Header"]}
        | {row["No."] for row in tables["Production BOM Line"]}
        | {row["Item No."] for row in tables["Item Vendor"]}
        | {row["No."] for row in tables["Purchase Line"]}
    )
    assert referenced_items <= set(items)
    referenced_vendors = {row["Vendor No."] for row in tables["Item Vendor"]} | {
        row["Buy-from Vendor No."] for row in tables["Purchase Header"]
    }
    assert referenced_vendors <= vendors


def test_import_order_must_name_every_sheet_once(tmp_path):
    base = (REPO / "erp_export" / "odoo.toml").read_text()
    for old, new in [
        ('"res.partner", ', ""),
        ('"res.partner", ', '"res.partner", "res.partner", '),
        ('"res.partner"', '"res.users"'),
    ]:
        path = tmp_path / "custom.toml"
        path.write_text(base.replace(old, new, 1))
        with pytest.raises(ConfigError, match=r"'odoo' .*custom\.toml.*import_order must name every sheet once"):
            erp.load_profile(str(path))


def test_the_run_and_the_export_say_the_import_order(tmp_path, cli):
    result = cli.invoke(
        app,
        [
            "optimize",
            str(SMALL),
            "--solver",
            "exact",
            "--erp",
            "generic,odoo",
            "--erp-format",
            "csv",
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.stdout)["outputs"]
    odoo = [Path(p).name.split(".")[-2] for p in outputs["erp"] if ".odoo." in p]
    assert odoo == ["res_partner", "product_template", "product_supplierinfo", "mrp_bom", "purchase_order"]
    note = "odoo: import in this order: res.partner, product.template, product.supplierinfo, mrp.bom, purchase.order"
    assert outputs["erp_import_order"] == [note]  # the generic profile states none: no note for it
    saved = next((tmp_path / "run").glob("*.result.aasx"))
    result = cli.invoke(
        app, ["export", str(saved), "--erp", "odoo", "--erp-format", "csv", "--out", str(tmp_path / "again")]
    )
    assert result.exit_code == 0, result.output
    assert note in " ".join(result.output.split())


def test_sap_writes_suppliers_materials_and_a_fixed_source_for_each_part(solved, tmp_path):
    profile = erp.load_profile("sap-s4hana")
    (path,) = erp.export(solved[2], [profile], ["xlsx"], tmp_path, "ebike")
    sheets = _sheets(path)
    assert list(sheets) == list(profile.import_order) and list(sheets)[:3] == [
        "BusinessPartner",
        "BusinessPartnerRole",
        "SupplierPurchasingOrg",
    ]
    partners = {row["BusinessPartner"] for row in sheets["BusinessPartner"]}
    assert len(partners) == len(sheets["BusinessPartner"]) == solved[1].kpis.suppliers_used
    assert {row["BusinessPartner"] for row in sheets["BusinessPartnerRole"]} == partners
    assert {row["Supplier"] for row in sheets["SupplierPurchasingOrg"]} == partners
    products = {row["Product"]: row for row in sheets["Product"]}
    chosen_parts = {part for part, _ in _chosen(solved)}
    assert set(products) == chosen_parts | {solved[0].name} and len(products) == len(sheets["Product"])
    assert {p for p, row in products.items() if row["ProductType"] == "FERT"} == {solved[0].name}
    for name in ("ProductDescription", "ProductPlant"):
        assert {row["Product"] for row in sheets[name]} == set(products), name
    referenced_materials = (
        {row["Material"] for row in sheets["MaterialBOM"]}
        | {row["BillOfMaterialComponent"] for row in sheets["MaterialBOMItem"]}
        | {row["MATNR"] for row in sheets["Purchasing_Info_Records"]}
        | {row["Material"] for row in sheets["PurchasingSource"]}
        | {row["Material"] for row in sheets["PurchaseRequisitionItem"]}
    )
    assert referenced_materials <= set(products)
    referenced_suppliers = (
        {row["FixedSupplier"] for row in sheets["PurchaseRequisitionItem"]}
        | {row["LIFNR"] for row in sheets["Purchasing_Info_Records"]}
        | {row["Supplier"] for row in sheets["PurchasingSource"]}
    )
    assert referenced_suppliers <= partners
    # the source list fixes, for each part, the supplier the requisition buys it from
    bought_from = {row["Material"]: row["FixedSupplier"] for row in sheets["PurchaseRequisitionItem"]}
    sources = sheets["PurchasingSource"]
    assert {row["Material"]: row["Supplier"] for row in sources} == bought_from and len(sources) == len(chosen_parts)
    assert all(row["SupplierIsFixed"] is True and row["ValidityStartDate"] <= row["ValidityEndDate"] for row in sources)


def test_dynamics_writes_the_vendors_and_released_products_its_entities_name(solved, tmp_path):
    profile = erp.load_profile("dynamics365-fo")
    (path,) = erp.export(solved[2], [profile], ["xlsx"], tmp_path, "ebike")
    sheets = _sheets(path)
    assert list(sheets) == list(profile.import_order)
    assert list(sheets)[:2] == ["Vendors V2", "Released products creation V2"]
    vendors = {row["VendorAccountNumber"] for row in sheets["Vendors V2"]}
    items = {row["ItemNumber"]: row for row in sheets["Released products creation V2"]}
    chosen = _chosen(solved)
    assert vendors == {supplier for _, supplier in chosen} and len(vendors) == len(sheets["Vendors V2"])
    assert set(items) == {part for part, _ in chosen} | {solved[0].name}
    assert len(items) == len(sheets["Released products creation V2"])
    assert all(row["ProductNumber"] == number and row["ProductName"] for number, row in items.items())
    referenced_items = (
        {row["ManufacturedItemNumber"] for row in sheets["Bill of materials versions V3"]}
        | {row["ItemNumber"] for row in sheets["Bill of materials lines V3"]}
        | {row["ItemNumber"] for row in sheets["Purchase order lines V2"]}
    )
    assert referenced_items <= set(items)
    referenced_vendors = {row["VendorAccountNumber"] for row in sheets["Bill of materials lines V3"]} | {
        row["OrderVendorAccountNumber"] for row in sheets["Purchase order headers V2"]
    }
    assert referenced_vendors <= vendors
