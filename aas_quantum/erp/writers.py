"""Rendered tables to files: CSV, OData JSON payloads and XLSX workbooks (with a summary sheet), each
written atomically."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aas_quantum.atomic import atomic_write
from aas_quantum.erp.document import SUMMARY_SHEET, ErpDocument
from aas_quantum.erp.profile import Column, Payload, Profile
from aas_quantum.erp.tables import Table
from aas_quantum.errors import ConfigError


def csv_text(value: Any, column: Column, profile: Profile) -> str:
    """A typed value as the CSV text the ERP's import expects (decimal separator, date format)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.{column.decimals}f}" if column.decimals is not None else repr(value)
        return text.replace(".", profile.csv.decimal)
    if isinstance(value, dt.datetime):
        return value.strftime(profile.datetime_format)
    if isinstance(value, dt.date):
        return value.strftime(profile.date_format)
    return str(value)


def write_csv(table: Table, profile: Profile, path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=profile.csv.delimiter, lineterminator="\r\n")
    writer.writerow([c.name for c in table.sheet.columns])
    for row in table.rows:
        writer.writerow([csv_text(v, c, profile) for v, c in zip(row, table.sheet.columns, strict=True)])
    try:
        encoded = buffer.getvalue().encode(profile.csv.encoding)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"ERP profile {profile.name!r}, sheet {table.sheet.name!r}: the data cannot be written "
                          f"in {profile.csv.encoding}: {exc}") from exc
    with atomic_write(path, "wb") as fh:
        fh.write(encoded)
    return path


def odata_value(value: Any, column: Column) -> Any:
    """A typed value in OData V2 JSON: decimals as strings, dates as ``/Date(ms)/`` (UTC midnight)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return f"{value:.{column.decimals}f}" if column.decimals is not None else repr(value)
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return f"/Date({round(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)})/"


def payload_document(payload: Payload, tables: Sequence[Table]) -> dict[str, Any]:
    """The request bodies of ``payload``: one deep insert per header row."""
    by_name = {t.sheet.name: t for t in tables}
    header, items = by_name[payload.header], by_name[payload.items]

    def entity(table: Table, row: tuple[Any, ...]) -> dict[str, Any]:
        return {c.name: odata_value(v, c) for c, v in zip(table.sheet.columns, row, strict=True)
                if v is not None and c.payload}
    bodies = [entity(header, row) | {payload.navigation: {"results": [
        entity(items, item) for item_key, item in zip(items.keys, items.rows, strict=True) if item_key == key]}}
        for key, row in zip(header.keys, header.rows, strict=True)]
    return {"method": "POST", "path": payload.path, "bodies": bodies}


def write_json(payload: Payload, tables: Sequence[Table], path: Path) -> Path:
    with atomic_write(path) as fh:
        json.dump(payload_document(payload, tables), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return path


def _number_format(value: Any, column: Column, profile: Profile) -> str:
    if isinstance(value, bool | str):
        return "General"
    if isinstance(value, int):
        return "0"
    if isinstance(value, float):
        if column.decimals is None:
            return "General"
        return "0." + "0" * column.decimals if column.decimals else "0"
    if isinstance(value, dt.datetime):
        return profile.excel_datetime_format
    return profile.excel_date_format


def write_xlsx(tables: Sequence[Table], document: ErpDocument, profile: Profile, path: Path) -> Path:
    """The profile's sheets (typed cells, bold frozen header, autofilter, fitted widths) and a Summary."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        ws = workbook.create_sheet(table.sheet.name)
        ws.append([c.name for c in table.sheet.columns])
        for row in table.rows:
            ws.append(list(row))
        widths = [len(c.name) for c in table.sheet.columns]
        for row_cells in ws.iter_rows(min_row=2):
            for i, (cell, column) in enumerate(zip(row_cells, table.sheet.columns, strict=True)):
                if cell.value is not None:
                    cell.number_format = _number_format(cell.value, column, profile)
                    widths[i] = max(widths[i], len(csv_text(cell.value, column, profile)))
        _style_header(ws, widths)
    _summary_sheet(workbook, document)
    with atomic_write(path, "wb") as fh:
        workbook.save(fh)
    return path


def _style_header(ws: Any, widths: Sequence[int]) -> None:
    """Header row bold, frozen and filtered, columns fitted; printed landscape, one page wide, with the
    header row repeated on every page (the generic workbook printed as 18 portrait pages)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


SUMMARY_ROWS = (  # the objective and the money side by side: an improvement on one is not one on the other
    ("Product", "product_id", None), ("Status", "status", None),
    ("Objective (cost + CO2 price + concentration)", "objective", "currency"),
    ("Greedy objective", "greedy_objective", "currency"),
    ("Improvement vs greedy (objective)", "improvement_vs_greedy_pct", "%"),
    ("Improvement vs greedy+ls (objective)", "improvement_vs_greedy_ls_pct", "%"),
    ("Gap to optimum (objective)", "gap_to_optimum_pct", "%"), ("Optimum proven", "optimum_proven", None),
    ("Total cost", "total_cost", "currency"), ("Greedy cost", "greedy_cost", "currency"),
    ("Cost saved vs greedy", "cost_saved_vs_greedy", "currency"),
    ("Total weight", "total_weight_kg", "kg"), ("Total CO2e", "total_co2e_kg", "kg"),
    ("Longest lead time", "max_lead_time_days", "d"), ("Suppliers used", "suppliers_used", None),
    ("Solver", "solver", None), ("Backend", "backend", None), ("Finished (UTC)", "finished", None),
)


def _summary_sheet(workbook: Any, document: ErpDocument) -> None:
    """KPIs, then cost per position with a bar chart of it."""
    from openpyxl.chart import BarChart, Reference

    ws = workbook.create_sheet(SUMMARY_SHEET)
    ws.append(["KPI", "Value", "Unit"])
    bom = document.bom
    for label, key, unit in SUMMARY_ROWS:
        ws.append([label, bom[key], bom["currency"] if unit == "currency" else unit])
        cell = ws.cell(ws.max_row, 2)
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
        elif isinstance(cell.value, float):
            cell.number_format = "0.00"
    ws.append([])
    ws.append(["Position", "Part number", f"Extended price ({bom['currency']})"])
    first = ws.max_row  # the header row (an empty appended row does not count in max_row)
    for line in document.lines:
        ws.append([line["position_id"], line["part_number"], line["extended_price"]])
        ws.cell(ws.max_row, 3).number_format = "0.00"
    last = ws.max_row
    chart = BarChart()
    chart.title, chart.y_axis.title, chart.x_axis.title = "Cost per position", bom["currency"], "Position"
    chart.add_data(Reference(ws, min_col=3, min_row=first, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
    chart.width, chart.height = 24, 12
    ws.add_chart(chart, "E2")
    _style_header(ws, [max(len(str(c.value or "")) for c in col) for col in ws.iter_cols(max_col=3)])
