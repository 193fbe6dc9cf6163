"""Purchasing for a lot of products: MOQs and price breaks on the lot, one purchase document per
supplier in every ERP profile, requested delivery dates, OData request bodies and ERP code maps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
from pathlib import Path

import pytest

from aas_quantum import erp
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.cli import app
from aas_quantum.errors import BomInputError, ConfigError
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

from tests.support import DRONE_STEM, MEDIUM, SMALL, brute_force

LOT = 50

# profile -> (line sheet, its document column, quantity, price, delivery date, part) and, where the
# vendor sits on a header sheet, (header sheet, document column, vendor column)
PURCHASE_LINES = {
    "generic": ("Purchase orders", "Document number", "Order quantity", "Unit price", "Delivery date",
                "Part number", None),
    "business-central": ("Purchase Line", "Document No.", "Quantity", "Direct Unit Cost", "Expected Receipt Date",
                         "No.", ("Purchase Header", "No.", "Buy-from Vendor No.")),
    "dynamics365-fo": ("Purchase order lines V2", "PurchaseOrderNumber", "OrderedPurchaseQuantity", "PurchasePrice",
                       "RequestedDeliveryDate", "ItemNumber",
                       ("Purchase order headers V2", "PurchaseOrderNumber", "OrderVendorAccountNumber")),
    "odoo": ("purchase.order", "id", "order_line/product_qty", "order_line/price_unit", "order_line/date_planned",
             "order_line/product_id", None),
}
VENDOR_ON_LINE = {"generic": "Supplier", "odoo": "partner_id/id"}


def _catalog(path: Path, lot_size: float = 1.0):
    env = read_files([path])
    catalog = mapping.read_catalog(env, mapping.product_shell(env))
    return dataclasses.replace(catalog, request=dataclasses.replace(catalog.request, lot_size=lot_size))


@pytest.fixture(scope="module")
def lot_run():
    problem = build_problem(_catalog(MEDIUM, LOT))
    report = optimize(problem, "exact", SolveOptions())
    summary = RunSummary.of(report, "3f2a9c1b-0000-4000-8000-000000000001")
    return problem, report, erp.erp_document(problem, report.solution.choice, summary)


def test_a_lot_orders_every_position_times_the_lot_with_moq_and_price_breaks_on_the_lot():
    single, lot = _catalog(SMALL), _catalog(SMALL, LOT)
    per_unit, problem = build_problem(single), build_problem(lot)
    by_spec = {spec.position_id: spec for spec in single.positions}
    breaks_used = 0
    for position in problem.positions:
        assert position.quantity == pytest.approx(by_spec[position.position_id].quantity * LOT)
        for option in position.options:
            expected = max(position.quantity, option.offer.min_order_quantity)
            assert option.order_quantity == pytest.approx(expected)
            assert option.unit_price == pytest.approx(option.offer.unit_price_at(expected))
            breaks_used += option.offer.unit_price_at(expected) < option.offer.unit_price
    assert breaks_used > 0  # the sample's price breaks are reached by a lot of 50, not by one product
    # per-product limits hold for each product: the lot's bounds are the product's times the lot
    bounds = {c.name: c.rhs for c in per_unit.constraints}
    scaled = [c for c in problem.constraints if c.kind in ("resource", "budget")]
    assert scaled
    for constraint in scaled:
        assert constraint.rhs == pytest.approx(bounds[constraint.name] * LOT)
    report = optimize(problem, "exact", SolveOptions())
    assert report.kpis.objective == pytest.approx(brute_force(problem))
    assert report.kpis.lot_size == LOT
    single_cost = optimize(per_unit, "exact", SolveOptions()).kpis.total_cost
    assert report.kpis.total_cost < LOT * single_cost  # the breaks make the lot cheaper per product


@pytest.mark.parametrize("lot_size", [0.0, -2.0, math.nan])
def test_a_lot_size_that_is_not_positive_is_named(lot_size):
    with pytest.raises(BomInputError, match=r"LotSize must be a (positive|finite) number"):
        build_problem(_catalog(SMALL, lot_size))


def _rows(table: erp.Table) -> list[dict]:
    return [dict(zip([c.name for c in table.sheet.columns], row, strict=True)) for row in table.rows]


def _expected_lines(problem: BomProblem, choice, order_date: dt.date) -> dict[str, tuple[float, float, dt.date]]:
    out = {}
    for position, k in zip(problem.positions, choice, strict=True):
        option = position.options[k]
        out[option.part_number] = (option.order_quantity, option.unit_price,
                                   order_date + dt.timedelta(days=math.ceil(option.lead_time_days)))
    return out


@pytest.mark.parametrize("name", sorted(PURCHASE_LINES))
def test_one_purchase_document_per_supplier_for_the_lot(name, lot_run):
    problem, report, document = lot_run
    sheet, doc_col, qty_col, price_col, date_col, part_col, header = PURCHASE_LINES[name]
    tables = {t.sheet.name: t for t in erp.render(document, erp.load_profile(name))}
    lines = _rows(tables[sheet])
    for previous, row in itertools.pairwise(lines):  # Odoo writes the document columns on its first line only
        for column in (doc_col, VENDOR_ON_LINE.get(name)):
            if column and row[column] is None:
                row[column] = previous[column]
    if header is None:
        vendor_of = {row[doc_col]: row[VENDOR_ON_LINE[name]] for row in lines}
        if "res.partner" in tables:  # Odoo names the partner by external id: its Reference is the vendor
            ref = {row["id"]: row["ref"] for row in _rows(tables["res.partner"])}
            vendor_of = {document_id: ref[partner] for document_id, partner in vendor_of.items()}
    else:
        vendor_of = {row[header[1]]: row[header[2]] for row in _rows(tables[header[0]])}
    chosen = {(p.position_id, p.options[k].supplier_id) for p, k in zip(problem.positions, report.solution.choice,
                                                                          strict=True)}
    suppliers = {supplier for _, supplier in chosen}
    assert len(vendor_of) == len(suppliers) == report.kpis.suppliers_used
    assert set(vendor_of.values()) == suppliers  # one document per supplier, each supplier once
    expected = _expected_lines(problem, report.solution.choice, document.bom["order_date"])
    assert len(lines) == len(problem.positions)
    for row in lines:
        quantity, price, delivery = expected[row[part_col]]
        assert row[qty_col] == pytest.approx(quantity) and row[price_col] == pytest.approx(price, abs=5e-5)
        assert (row[date_col].date() if isinstance(row[date_col], dt.datetime) else row[date_col]) == delivery
    total = sum(row[qty_col] * row[price_col] for row in lines)
    assert total == pytest.approx(report.kpis.total_cost, abs=0.01 * len(lines))


def test_document_numbers_differ_between_runs_and_fit_twenty_characters(lot_run):
    problem, report, document = lot_run
    other = erp.erp_document(problem, report.solution.choice,
                             RunSummary.of(report, "77e0d1aa-0000-4000-8000-000000000002"))
    profile = erp.load_profile("business-central")

    def numbers(doc: erp.ErpDocument) -> set[str]:
        header = next(t for t in erp.render(doc, profile) if t.sheet.name == "Purchase Header")
        return {row["No."] for row in _rows(header)}
    first, second = numbers(document), numbers(other)
    assert len(first) == report.kpis.suppliers_used and not first & second
    assert all(len(number) <= 20 for number in first | second)  # Business Central's Code[20]


def _odata_date(text: str) -> dt.date:
    milliseconds = int(text.removeprefix("/Date(").removesuffix(")/"))
    return dt.datetime.fromtimestamp(milliseconds / 1000, dt.UTC).date()


def test_sap_odata_bodies_deep_insert_the_bom_and_one_requisition_per_supplier(lot_run, tmp_path):
    problem, report, document = lot_run
    profile = erp.load_profile("sap-s4hana")
    paths = erp.export(document, [profile], ["json"], tmp_path, "ebike")
    bom, requisitions = (json.loads(p.read_text()) for p in paths)
    assert bom["path"].endswith("API_BILL_OF_MATERIAL_SRV;v=0002/MaterialBOM")
    (body,) = bom["bodies"]
    assert body["Material"] == document.bom["product_number"] and body["BillOfMaterialCategory"] == "M"
    items = body["to_BillOfMaterialItem"]["results"]
    per_product = {p.position_id: p.quantity / LOT for p in problem.positions}
    assert [float(i["BillOfMaterialItemQuantity"]) for i in items] == pytest.approx(list(per_product.values()))
    assert all(isinstance(i["BillOfMaterialItemQuantity"], str) for i in items)  # Edm.Decimal travels as text
    assert requisitions["path"].endswith("API_PURCHASEREQ_PROCESS_SRV/A_PurchaseRequisitionHeader")
    bodies = requisitions["bodies"]
    assert len(bodies) == report.kpis.suppliers_used
    expected = _expected_lines(problem, report.solution.choice, document.bom["order_date"])
    total = 0.0
    for body in bodies:
        reqn_items = body["to_PurchaseReqnItem"]["results"]
        assert len({i["FixedSupplier"] for i in reqn_items}) == 1
        for item in reqn_items:
            quantity, price, delivery = expected[item["Material"]]
            assert float(item["RequestedQuantity"]) == pytest.approx(quantity)
            assert float(item["PurchaseRequisitionPrice"]) == pytest.approx(price, abs=5e-5)
            assert _odata_date(item["DeliveryDate"]) == delivery
            total += float(item["RequestedQuantity"]) * float(item["PurchaseRequisitionPrice"])
    assert total == pytest.approx(report.kpis.total_cost, abs=0.01)


def test_json_format_needs_payloads(tmp_path):
    with pytest.raises(ConfigError, match="'odoo' defines no \\[\\[payloads\\]\\]"):
        erp.export_paths(erp.load_profile("odoo"), tmp_path, "x", "json")


def test_json_is_written_for_the_profiles_with_payloads_and_the_others_are_named_as_skipped(tmp_path, cli):
    """--erp-format json next to a profile without [[payloads]] writes the others' bodies and says, on
    stderr and naming the profile, that it has none; only json for none of them at all is refused."""
    out = tmp_path / "out"
    done = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--erp", "odoo,sap-s4hana",
                            "--erp-format", "json,csv", "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    skipped = [line for line in done.stderr.splitlines() if "json" in line]
    assert len(skipped) == 1 and "'odoo'" in skipped[0] and "[[payloads]]" in skipped[0], done.stderr
    assert "payloads" not in done.stdout  # the note is not mixed into what was written
    written = {p.name for p in out.iterdir()}
    sap = erp.load_profile("sap-s4hana")
    assert {f"{DRONE_STEM}.sap-s4hana.{p.file_key}.json" for p in sap.payloads} <= written
    assert not [name for name in written if name.startswith(f"{DRONE_STEM}.odoo.") and name.endswith(".json")]
    assert [name for name in written if name.startswith(f"{DRONE_STEM}.odoo.") and name.endswith(".csv")]
    refused = cli.invoke(app, ["optimize", str(SMALL), "--erp", "odoo", "--erp-format", "json",
                               "--out", str(tmp_path / "none")])
    assert refused.exit_code == 2 and "'odoo'" in refused.stderr and "[[payloads]]" in refused.stderr
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("command", ["optimize", "export"])
def test_help_names_every_erp_format(cli, command):
    shown = " ".join(cli.invoke(app, [command, "--help"], env={"COLUMNS": "300"}).output.split())
    described = shown[shown.index("--erp-format"):][:200]
    assert all(fmt in described for fmt in erp.FORMATS), described


def test_vendor_and_item_codes_are_mapped_and_unmapped_ones_named_when_required(lot_run, tmp_path, monkeypatch):
    document = lot_run[2]
    suppliers = sorted({line["supplier_id"] for line in document.lines})
    parts = sorted({row["part_number"] for row in (*document.lines, *document.alternatives)})
    codes = tmp_path / "codes.csv"
    codes.write_text("kind,aas_code,erp_code\n" + "".join(f"vendor,{s},V{10000 + i}\n"
                                                          for i, s in enumerate(suppliers[1:]))
                     + "".join(f"item,{part},M{i}\n" for i, part in enumerate(parts)))
    config = tmp_path / "config.toml"
    config.write_text(f'[erp]\ncode_map_csv = "{codes}"\nrequire_mapped = true\n'
                      f'[erp.item_map]\n"{document.lines[0]["part_number"]}" = "MAT-4711"\n')
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(config))
    profile = erp.load_profile("sap-s4hana", erp.erp_overrides("sap-s4hana"))
    with pytest.raises(ConfigError, match=f"vendor '{suppliers[0]}' has no ERP number"):
        erp.render(document, profile)
    mapped = erp.load_profile("sap-s4hana", erp.erp_overrides("sap-s4hana", [f"vendor_map.{suppliers[0]}=V9"]))
    items = next(t for t in erp.render(document, mapped) if t.sheet.name == "PurchaseRequisitionItem")
    rows = _rows(items)
    assert {row["FixedSupplier"] for row in rows} <= {"V9", *(f"V{10000 + i}" for i in range(len(suppliers)))}
    assert "MAT-4711" in {row["Material"] for row in rows}
    assert not {row["FixedSupplier"] for row in rows} & set(suppliers)


def test_cli_lot_size_reaches_the_result_and_the_erp_files(tmp_path, cli):
    out = tmp_path / "out"
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--lot-size", str(LOT), "--erp",
                              "sap-s4hana", "--erp-format", "json", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    env = read_files([out / f"{DRONE_STEM}.result.aasx"])
    _, _, summary = mapping.saved_run(env, mapping.product_shell(env))
    assert summary.kpis.lot_size == LOT  # recorded in the result submodel, so a re-export rebuilds the lot
    requisitions = json.loads((out / f"{DRONE_STEM}.sap-s4hana.PurchaseRequisition.json").read_text())
    spend = sum(float(i["RequestedQuantity"]) * float(i["PurchaseRequisitionPrice"])
                for body in requisitions["bodies"] for i in body["to_PurchaseReqnItem"]["results"])
    assert spend == pytest.approx(summary.kpis.total_cost, abs=0.01)
    assert cli.invoke(app, ["optimize", str(SMALL), "--lot-size", "0", "--out", str(out)]).exit_code == 2
