"""ERP export: every shipped profile, both formats, read back with pandas and openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from aas_quantum import erp
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.cli import app
from aas_quantum.errors import ConfigError
from aas_quantum.problem import build_problem
from aas_quantum.resources import erp_profile_names
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

from tests.support import DRONE_STEM, REPO, SMALL

PROFILES = erp_profile_names()


@pytest.fixture(scope="module")
def exported(solved, tmp_path_factory):
    out = tmp_path_factory.mktemp("erp")
    profiles = [erp.load_profile(name) for name in PROFILES]
    erp.export(solved[2], profiles, ["xlsx", "csv"], out, "ebike")
    return out


def test_ships_the_five_profiles():
    assert set(PROFILES) >= {"generic", "sap-s4hana", "odoo", "dynamics365-fo", "business-central"}


def _xlsx_table(profile: erp.Profile, out: Path, sheet: erp.Sheet) -> tuple[list[Any], list[list[Any]]]:
    """Header and typed rows of a sheet as written: a typed header row 1 in a plain workbook; in a Business
    Central configuration package the captions in row 3 and text in BC's XML format from row 4."""
    paths = erp.export_paths(profile, out, "ebike", "xlsx")
    path = paths[profile.sheets.index(sheet)] if profile.workbook_per_sheet else paths[0]
    ws = openpyxl.load_workbook(path)[sheet.name]
    if profile.layout != "rapidstart":
        return [c.value for c in ws[1]], [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    rows = [list(r) for r in ws.iter_rows(min_row=4, max_col=len(sheet.columns), values_only=True)]
    assert all(isinstance(v, str) for row in rows for v in row if v is not None), "BC reads every value as text"
    captions = [c.value for c in ws[3]]  # row 3 spans the sheet's width, which row 1's C1 sets to 3 columns
    while captions and captions[-1] is None:
        captions.pop()
    return captions, [[_parse_xml_text(v, c) for v, c in zip(row, sheet.columns, strict=True)]
                                      for row in rows]


def _parse_xml_text(text: str | None, column: erp.Column) -> Any:
    """A value in BC's XML format (Format(Value, 0, 9)) back to the type a plain workbook cell has (a blank
    field is an empty text cell)."""
    if text is None or text == "":
        return None
    if column.type == "integer":
        assert re.fullmatch(r"-?\d+", text), text
        return int(text)
    if column.type == "decimal":
        assert re.fullmatch(r"-?\d+(\.\d+)?", text), text  # '.' decimals, no grouping, no exponent
        return float(text)
    if column.type == "date":
        return dt.datetime.fromisoformat(text)
    return text


def _csv_frame(profile: erp.Profile, out: Path, sheet: erp.Sheet) -> pd.DataFrame:
    path = erp.export_paths(profile, out, "ebike", "csv")[profile.sheets.index(sheet)]
    return pd.read_csv(path, sep=profile.csv.delimiter, encoding=profile.csv.encoding, dtype=str,
                       keep_default_na=False)


def _parse_csv(text: str, column: erp.Column, profile: erp.Profile):
    """Read a CSV cell back into the type the XLSX cell has."""
    if text == "":
        return None
    if column.type in ("decimal", "integer"):
        number = float(text.replace(profile.csv.decimal, "."))
        return int(number) if column.type == "integer" else number
    if column.type == "date":
        return dt.datetime.strptime(text, profile.date_format)
    if column.type == "datetime":
        return dt.datetime.strptime(text, profile.datetime_format)
    if column.type == "boolean":
        return text == "true"
    return text


@pytest.mark.parametrize("name", PROFILES)
def test_csv_and_xlsx_have_the_profile_columns_typed_and_agree(name, exported, solved):
    profile = erp.load_profile(name)
    problem = solved[0]
    for sheet in profile.sheets:
        header, xlsx_rows = _xlsx_table(profile, exported, sheet)
        frame = _csv_frame(profile, exported, sheet)
        assert header == [c.name for c in sheet.columns] == list(frame.columns)
        expected_rows = {"bom": 1, "alternatives": problem.n_options - len(problem.positions)}.get(
            sheet.rows, len(problem.positions) + sheet.root_row)
        if not sheet.distinct:
            assert len(xlsx_rows) == expected_rows, sheet.name
        assert len(frame) == len(xlsx_rows)
        for column_index, column in enumerate(sheet.columns):
            for row_index, row in enumerate(xlsx_rows):
                cell = row[column_index]
                if cell is None:
                    continue
                kind = {"decimal": (int, float), "integer": int, "date": dt.datetime, "datetime": dt.datetime,
                        "boolean": bool, "string": str}[column.type]
                assert isinstance(cell, kind), f"{name}/{sheet.name}/{column.name}: {cell!r} is not {column.type}"
                expected = pytest.approx(cell) if isinstance(cell, float) else cell
                assert _parse_csv(frame.iloc[row_index, column_index], column, profile) == expected, \
                    f"{name}/{sheet.name}/{column.name} row {row_index + 2}: CSV and XLSX differ"


@pytest.mark.parametrize("name", PROFILES)
def test_item_numbering_units_and_totals(name, exported, solved):
    _, report, document = solved
    profile = erp.load_profile(name)
    chosen_units = [line["unit"] for line in document.lines]
    for sheet in profile.sheets:
        frame = _csv_frame(profile, exported, sheet)
        lines = frame.iloc[1:] if sheet.root_row else frame
        for column in sheet.columns:
            values = list(lines[column.name])
            if column.source == "line.item_number" and sheet.rows == "lines" and not sheet.group_by:
                numbers = [int(float(v.replace(",", "."))) for v in values]
                assert numbers == [profile.numbering_start + i * profile.numbering_step for i in range(len(values))]
                if column.format == "{:04d}":
                    assert all(len(v) == 4 for v in values)
            if column.map == "units" and sheet.rows == "lines" and not sheet.group_by and not sheet.distinct:
                assert values == [profile.maps["units"][u] for u in chosen_units]
    tables = []
    for sheet in profile.sheets:  # the spend, recomputed from the XLSX as written
        tables.append(erp.Table(sheet, tuple(tuple(r) for r in _xlsx_table(profile, exported, sheet)[1])))
    assert erp.spend(tables, profile) == pytest.approx(report.kpis.total_cost, abs=0.01)


def test_generic_extended_prices_sum_to_total_cost_and_alternatives_have_deltas(exported, solved):
    problem, report, _ = solved
    profile = erp.load_profile("generic")
    bom = _csv_frame(profile, exported, profile.sheets[0])
    assert list(bom["Level"]) == ["0"] + ["1"] * len(problem.positions)
    assert set(bom["Parent"][1:]) == {bom["Part number"][0]}
    assert sum(float(v) for v in bom["Extended price"] if v) == pytest.approx(report.kpis.total_cost, abs=0.01)
    alternatives = _csv_frame(profile, exported, profile.sheets[1])
    chosen = {line.position_id: line for line in report.lines}
    for _, row in alternatives.iterrows():
        line = chosen[row["Position"]]
        assert (row["Part number"], row["Supplier"]) != (line.part_number, line.supplier_id)
        assert row["Chosen part number"] == line.part_number
        assert float(row["Cost delta"]) == pytest.approx(float(row["Extended price"]) - line.extended_price, abs=0.01)


def test_odoo_header_fields_only_on_first_row_and_stable_external_ids(exported, solved, tmp_path):
    profile = erp.load_profile("odoo")
    sheets = {sheet.name: sheet for sheet in profile.sheets}
    bom = _csv_frame(profile, exported, sheets["mrp.bom"])
    assert bom["id"][0] and all(v == "" for v in bom["id"][1:])
    assert bom["product_tmpl_id/id"][0] and all(v == "" for v in bom["product_tmpl_id/id"][1:])
    assert bom["bom_line_ids/id"].is_unique
    orders = _csv_frame(profile, exported, sheets["purchase.order"])
    heads = orders[orders["id"] != ""]
    assert len(heads) == solved[1].kpis.suppliers_used and heads["partner_id/id"].is_unique
    erp.export(solved[2], [profile], ["csv"], tmp_path, "ebike")  # a re-export must update, not duplicate
    again = _csv_frame(profile, tmp_path, sheets["mrp.bom"])
    assert list(again["bom_line_ids/id"]) == list(bom["bom_line_ids/id"])


def test_business_central_line_numbers_and_lead_time_formula(exported, solved):
    profile = erp.load_profile("business-central")
    sheets = {sheet.name: sheet for sheet in profile.sheets}
    lines = _csv_frame(profile, exported, sheets["Production BOM Line"])
    assert list(lines["Line No."]) == [str(10000 * (i + 1)) for i in range(len(lines))]
    vendors = _csv_frame(profile, exported, sheets["Item Vendor"])
    assert list(vendors["Lead Time Calculation"]) == [f"{ln.lead_time_days:.0f}D" for ln in solved[1].lines]


def test_xlsx_layout_and_summary(exported, solved):
    report = solved[1]
    workbook = openpyxl.load_workbook(exported / "ebike.sap-s4hana.xlsx")
    assert workbook.sheetnames[-1] == "Summary"
    items = workbook["MaterialBOMItem"]
    assert all(cell.font.bold for cell in items[1])
    assert items.freeze_panes == "A2" and items.auto_filter.ref == items.dimensions
    for column in ("A", "G", "J"):  # fitted to the longest text (openpyxl's unfitted default is 13)
        longest = max(len(str(cell.value)) for cell in items[column] if cell.value is not None)
        assert items.column_dimensions[column].width == min(60, longest + 2)
    for ws in workbook.worksheets:  # printable: landscape, one page wide, header on every page
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$1:$1"
    sheet = workbook["Summary"]
    summary = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, max_row=len(erp.SUMMARY_ROWS) + 1,
                                                          values_only=True)}
    kpis = report.kpis
    assert summary["Total cost"] == pytest.approx(kpis.total_cost)
    assert summary["Objective (cost + CO2 price + concentration)"] == pytest.approx(kpis.objective)
    assert summary["Greedy objective"] == pytest.approx(kpis.greedy_objective)
    assert summary["Improvement vs greedy (objective)"] == pytest.approx(kpis.improvement_vs_greedy_pct)
    assert summary["Improvement vs greedy+ls (objective)"] == pytest.approx(kpis.improvement_vs_greedy_ls_pct)
    # money and objective side by side: the saving in money is its own figure, with its own sign
    assert summary["Cost saved vs greedy"] == pytest.approx(kpis.greedy_cost - kpis.total_cost)
    assert summary["Gap to optimum (objective)"] == pytest.approx(kpis.gap_to_optimum_pct)
    assert summary["Total CO2e"] == pytest.approx(kpis.total_co2e_kg)
    assert isinstance(summary["Finished (UTC)"], dt.datetime)
    (chart,) = sheet._charts
    # the series title is the price column's header and the categories are exactly the positions
    values = chart.series[0].val.numRef.f
    header_row = int(values.split("$")[-3].rstrip(":")) - 1
    assert sheet.cell(header_row, 3).value.startswith("Extended price")
    categories = chart.series[0].cat.numRef or chart.series[0].cat.strRef
    first, last = (int(ref.split("$")[-1]) for ref in categories.f.split(":"))
    assert [sheet.cell(r, 1).value for r in range(first, last + 1)] == [ln.position_id for ln in report.lines]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc) is not installed")
def test_libreoffice_opens_every_workbook(exported, tmp_path):
    workbooks = sorted(exported.glob("*.xlsx"))
    profile_dir = tmp_path / "lo-profile"
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile_dir}", "--headless", "--convert-to", "csv",
         "--outdir", str(tmp_path), *map(str, workbooks)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for workbook in workbooks:
        converted = tmp_path / f"{workbook.stem}.csv"
        assert converted.is_file(), f"LibreOffice did not convert {workbook.name}: {result.stdout} {result.stderr}"
        first_sheet = openpyxl.load_workbook(workbook).worksheets[0]
        header = [c.value for c in first_sheet[1]]
        lines = converted.read_text(encoding="utf-8", errors="replace").splitlines()
        assert len(lines) == first_sheet.max_row
        assert lines[0].split(",")[0].strip('"') == header[0]


def _profile_with(tmp_path: Path, base: str, old: str, new: str) -> Path:
    text = (REPO / "erp_export" / f"{base}.toml").read_text()
    assert old in text
    path = tmp_path / "custom.toml"
    path.write_text(text.replace(old, new).replace(f'name = "{base}"', 'name = "custom"'))
    return path


def test_missing_source_field_names_profile_and_column(tmp_path):
    component = 'source = "line.part_number", required = true },\n  { name = "BillOfMaterialItemQuantity"'
    path = _profile_with(tmp_path, "sap-s4hana", component, component.replace("part_number", "tariff_code"))
    with pytest.raises(ConfigError, match=r"'custom'.*'MaterialBOMItem'.*'BillOfMaterialComponent'.*line\.tariff_code"):
        erp.load_profile(str(path))


def test_required_value_missing_in_the_data_names_column_and_position(solved):
    document = solved[2]
    lines = list(document.lines)
    lines[2] = lines[2] | {"part_number": ""}
    broken = dataclasses.replace(document, lines=tuple(lines))
    with pytest.raises(ConfigError, match=r"'odoo'.*'product\.template'.*'default_code'.*position 0030"):
        erp.render(broken, erp.load_profile("odoo"))


def test_unmapped_unit_fails_before_any_file_is_written(tmp_path, cli):
    path = _profile_with(tmp_path, "generic", 'C62 = "C62"\n', "")
    out = tmp_path / "out"
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--erp", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert "no entry for 'C62' in [maps.units]" in result.output and "'custom'" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_profile_errors_are_found_when_loading(tmp_path):
    with pytest.raises(ConfigError, match="unknown ERP profile 'nope'"):
        erp.load_profile("nope")
    bad_map = _profile_with(tmp_path, "generic", 'map = "units", required = true },\n  { name = "Manufacturer"',
                            'map = "uom", required = true },\n  { name = "Manufacturer"')
    with pytest.raises(ConfigError, match=r"column 'Unit'.*\[maps\.uom\]"):
        erp.load_profile(str(bad_map))



def test_totals_pointing_at_the_wrong_column_fail(tmp_path, solved):
    document = solved[2]
    erp.render(document, erp.load_profile("generic"))  # the shipped profile reconciles
    lost_totals = _profile_with(tmp_path, "generic", 'amount = "Extended price"', 'amount = "Unit price"')
    with pytest.raises(ConfigError, match=r"'custom'.*exported amounts sum to"):
        erp.render(document, erp.load_profile(str(lost_totals)))


def test_export_from_saved_result_matches_the_run(tmp_path, cli):
    run_dir, redo_dir, json_dir = tmp_path / "run", tmp_path / "redo", tmp_path / "json"
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--erp", "generic,business-central",
                              "--erp-format", "csv", "--lot-size", "50", "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    produced = sorted(p.name for p in run_dir.glob("*.csv"))
    assert len(produced) == 3 + 7  # a saved lot re-exports as it ran: the result records its lot size
    result = cli.invoke(app, ["export", str(run_dir / f"{DRONE_STEM}.result.aasx"), "--erp", "generic,business-central",
                              "--erp-format", "csv", "--out", str(redo_dir)])
    assert result.exit_code == 0, result.output
    for name in produced:
        assert (redo_dir / name).read_bytes() == (run_dir / name).read_bytes(), name
    result = cli.invoke(app, ["export", str(run_dir / f"{DRONE_STEM}.result.json"), str(SMALL), "--erp", "generic",
                              "--erp-format", "csv", "--out", str(json_dir)])
    assert result.exit_code == 0, result.output
    bom = f"{DRONE_STEM}.generic.BoM.csv"
    assert (json_dir / bom).read_bytes() == (run_dir / bom).read_bytes()
    result = cli.invoke(app, ["export", str(run_dir / f"{DRONE_STEM}.result.json"), "--out", str(json_dir)])
    assert result.exit_code == 2 and "pass the input files" in result.output


def test_export_refuses_a_result_the_inputs_no_longer_support(tmp_path, cli):
    from aas_quantum.aas.files import write_aasx
    from aas_quantum.aas.result import result_submodel_id

    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--out", str(run_dir)]).exit_code == 0
    env = read_files([run_dir / f"{DRONE_STEM}.result.aasx"])
    result_id = result_submodel_id(mapping.product_shell(env).id)
    selection = next(e for e in env.objects.get(result_id).submodel_element if e.id_short == "Selection")
    price = next(p for p in list(selection.value)[1].value if p.id_short == "ExtendedPrice")
    price.value = price.value + 10
    write_aasx(tmp_path / "edited.aasx", list(env.objects))
    result = cli.invoke(app, ["export", str(tmp_path / "edited.aasx"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "inputs changed since the run" in result.output and "Selection[1]" in result.output


def test_csv_conventions_from_cli_and_config(tmp_path, cli, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[erp.context]\nplant = "2020"\n[erp.sap-s4hana.csv]\ndecimal = ","\n')
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(config))
    profile = erp.load_profile("sap-s4hana", erp.erp_overrides("sap-s4hana", ["csv.delimiter=|", "bom_usage=5"]))
    assert (profile.csv.delimiter, profile.csv.decimal) == ("|", ",")
    assert (profile.context["plant"], profile.context["bom_usage"]) == ("2020", "5")
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--erp", "sap-s4hana", "--erp-format",
                              "csv", "--erp-set", "csv.delimiter=|", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header = pd.read_csv(tmp_path / f"{DRONE_STEM}.sap-s4hana.MaterialBOM.csv", sep="|", decimal=",",
                         encoding="utf-8-sig")
    items = pd.read_csv(tmp_path / f"{DRONE_STEM}.sap-s4hana.MaterialBOMItem.csv", sep="|", decimal=",",
                        encoding="utf-8-sig", dtype={"BillOfMaterialItemNumber": str})
    assert set(items["Plant"]) == {2020} and set(header["BillOfMaterialVariantUsage"]) == {1}
    assert items["BillOfMaterialItemQuantity"].dtype.kind == "f" and items["BillOfMaterialItemNumber"][0] == "0010"


def _check_reasons(problem, report, document) -> dict[str, int]:
    choice = report.solution.choice
    reasons = {"break": 0, "dearer": 0}
    for alt in document.alternatives:
        p = next(i for i, pos in enumerate(problem.positions) if pos.position_id == alt["position_id"])
        k = next(j for j, o in enumerate(problem.positions[p].options)
                 if o.part_number == alt["part_number"] and o.supplier_id == alt["supplier_id"])
        swapped = problem.x_from_choice([*choice[:p], k, *choice[p + 1:]])
        broken = [c.name for c, _ in problem.violations(swapped)]
        change = problem.objective(swapped) - report.kpis.objective
        assert alt["objective_delta"] == pytest.approx(change, abs=1e-6)
        if broken:
            assert alt["why_not_chosen"].startswith("would break ")
            assert all(name in alt["why_not_chosen"] for name in broken)
            reasons["break"] += 1
        else:
            assert change > 0 and alt["why_not_chosen"].startswith(f"objective +{change:,.2f}")
            reasons["dearer"] += 1
    return reasons


def test_alternatives_say_why_each_option_lost_checked_by_swapping_it_in(solved, exported):
    """Every option not chosen says why: the limits it would break (exactly those a swap breaks, checked
    with the full constraint list) or what it adds to the objective (the full objective's change); both
    selections are optimal, so no alternative is better on its own. The drone has rules a swap breaks."""
    ebike = _check_reasons(*solved)
    env = read_files([SMALL])
    drone = build_problem(mapping.read_catalog(env, mapping.product_shell(env)))
    report = optimize(drone, "exact", SolveOptions())
    document = erp.erp_document(drone, report.solution.choice, RunSummary.of(report, "run-2"))
    reasons = _check_reasons(drone, report, document)
    assert ebike["dearer"] > 0 and reasons["break"] > 0
    profile = erp.load_profile("generic")
    sheet = next(s for s in profile.sheets if s.name == "Alternatives")
    frame = _csv_frame(profile, exported, sheet)
    assert list(frame["Why not chosen"]) == [a["why_not_chosen"] for a in solved[2].alternatives]


UUID_ID = "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize(("shell_id", "product_id", "name"), [
    ("urn:example:conveyor-drive:aas", "", "conveyor-drive"),
    ("https://example.com/ids/conveyor-drive/aas", "", "conveyor-drive"),
    ("urn:example:conveyor-drive:shell", "", "conveyor-drive"),
    (UUID_ID, "", "product-1b4e28ba"),
    ("urn:example:control-cabinet:aas", "urn:example:cabinet:RobotCell-RC7", "RobotCell-RC7"),
])
def test_every_profile_and_file_name_says_the_one_product_name(tmp_path, cli, shell_id, product_id, name):
    from aas_quantum.synthetic import synthetic_catalog

    from tests.support import write_product

    package = write_product(tmp_path / "in.aasx", synthetic_catalog(3, 1), shell_id, product_id)
    out = tmp_path / "out"
    result = cli.invoke(app, ["optimize", str(package), "--solver", "exact", "--erp", ",".join(PROFILES),
                              "--erp-format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    assert files and all(f.name.startswith(f"{name}-") for f in files), [f.name for f in files]
    for profile in PROFILES:
        cells = {str(v) for f in files if f".{profile}." in f.name
                 for v in pd.read_csv(f, sep=None, engine="python", dtype=str).to_numpy().ravel()}
        assert any(name in cell for cell in cells), (profile, sorted(cells)[:20])
        assert not cells & {"aas", "shell", UUID_ID.rpartition(":")[2]}, profile
