"""Business Central configuration-package workbooks, laid out as RapidStart's *Import from Excel* reads them.

BC imports a workbook only through the XML map its own *Export to Excel* writes into it; a sheet of rows
alone is refused ("missing XML map"). This writer produces that export, as the Base Application's AL
source builds it (codeunit 8618 "Config. Excel Exchange", codeunit 6223 "OpenXML Management", xmlport 8610
"Config. Data Schema", codeunit 8614 "Config. XML Exchange"):

- one sheet per table, named by its caption: package code in A1, table caption in B1, table id in C1
  (A1 and C1 mapped as single XML cells), field captions in row 3, data from row 4;
- an Excel table over row 3 and the data whose columns map to ``/DataList/<Table>List/<Table>/<Field>``;
- the XML schema of the package (``DataList`` / ``<Table>List`` with ``TableID``, ``PackageCode`` and the
  ``<Table>`` records) as the workbook's XML map, which the import turns into a DataSet, sheet by sheet
  in the order of the schema's tables;
- every value as text in BC's XML format (``Format(Value, 0, 9)``: ``.`` decimals, ISO dates, option
  names), as the export writes it and the import evaluates it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from aas_quantum.atomic import atomic_write
from aas_quantum.erp.profile import Column, Profile
from aas_quantum.erp.tables import Table

ROOT = "DataList"  # xmlport 8610's root element
MAP_ID = 1
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XSD_TYPES = {"integer": "xsd:integer", "date": "xsd:date", "datetime": "xsd:dateTime", "boolean": "xsd:boolean"}


def element_name(name: str) -> str:
    """BC's XML element name for a table or field name (Config. XML Exchange ``GetElementName``)."""
    if not (name[:1].isalpha() or name[:1] == "_"):
        name = "_" + name
    name = re.sub(r"[^\w.\-:]", " ", name)  # characters no XML name may hold (quotes and '?' among them)
    name = re.sub(r"[.:]", " ", name).replace("-", "_")
    return name.replace(" ", "")


def xsd_type(column: Column) -> str:
    """The schema type BC gives the field (``GetXSDType``: Integer, Date, Time, Boolean, DateTime; the rest,
    decimals and options included, are strings)."""
    return _XSD_TYPES.get(column.type, "xsd:string")


def xml_text(value: Any, column: Column) -> str:
    """A value as ``Format(Value, 0, 9)`` writes it ("" for a blank field)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        exact = Decimal(f"{value:.{column.decimals}f}" if column.decimals is not None else repr(value))
        return format(exact.normalize(), "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _xpath(table: str, leaf: str) -> str:
    return f"/{ROOT}/{element_name(table)}List/{leaf}"


def schema(tables: Sequence[Table]) -> str:
    """The package's XML schema as xmlport 8610 exports it (its ``PackageCode`` typed integer, as BC does)."""
    parts = [f'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"><xsd:element name="{ROOT}">'
             "<xsd:complexType><xsd:sequence>"]
    for table in tables:
        record = element_name(table.sheet.name)
        parts.append(f'<xsd:element name="{record}List"><xsd:complexType><xsd:sequence>'
                     '<xsd:element type="xsd:integer" name="TableID"/>'
                     '<xsd:element type="xsd:integer" name="PackageCode"/>'
                     f'<xsd:element name="{record}" maxOccurs="unbounded"><xsd:complexType><xsd:sequence>')
        parts.extend(f'<xsd:element type="{xsd_type(c)}" name="{element_name(c.name)}"/>' for c in table.sheet.columns)
        parts.append("</xsd:sequence></xsd:complexType></xsd:element></xsd:sequence></xsd:complexType></xsd:element>")
    parts.append("</xsd:sequence></xsd:complexType></xsd:element></xsd:schema>")
    return "".join(parts)


def write_rapidstart(tables: Sequence[Table], profile: Profile, path: Path) -> Path:
    """The configuration-package workbook of ``tables`` (package code: the profile's ``package_code``)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table as ExcelTable
    from openpyxl.worksheet.table import TableColumn, TableStyleInfo, XMLColumnProps

    package_code = str(profile.context["package_code"])
    workbook = Workbook()
    workbook.remove(workbook.active)
    for number, table in enumerate(tables, start=1):
        sheet = table.sheet
        ws = workbook.create_sheet(sheet.name)
        ws["A1"], ws["B1"], ws["C1"] = package_code, sheet.name, str(sheet.table_id)
        for col, column in enumerate(sheet.columns, start=1):
            ws.cell(3, col, column.name)
            texts = [xml_text(row[col - 1], column) for row in table.rows]
            for row_number, text in enumerate(texts, start=4):
                ws.cell(row_number, col, text).data_type = "s"  # text as BC writes it, even when it starts with "="
            ws.column_dimensions[get_column_letter(col)].width = min(60, 2 + max(map(len, [column.name, *texts])))
        last = get_column_letter(len(sheet.columns)) + str(3 + max(1, len(table.rows)))
        table_id = _ids(number)[2]
        excel_table = ExcelTable(
            id=table_id, displayName=f"Table{table_id}", ref=f"A3:{last}", autoFilter=AutoFilter(ref=f"A3:{last}"),
            tableColumns=[TableColumn(id=i, name=c.name, uniqueName=element_name(c.name), xmlColumnPr=XMLColumnProps(
                mapId=MAP_ID, xpath=_xpath(sheet.name, f"{element_name(sheet.name)}/{element_name(c.name)}"),
                xmlDataType=xsd_type(c).removeprefix("xsd:"))) for i, c in enumerate(sheet.columns, start=1)],
            tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True))
        ws.add_table(excel_table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with atomic_write(path, "wb") as fh:
        fh.write(_with_xml_map(buffer.getvalue(), tables))
    return path


def _ids(sheet_number: int) -> tuple[int, int, int]:
    """The ids BC's export gives a sheet's package-code cell, table-id cell and table (one counter, +3 per
    sheet then +1 each), unique across the workbook."""
    return 5 * sheet_number - 2, 5 * sheet_number - 1, 5 * sheet_number


def _single_cells(table: Table, sheet_number: int) -> str:
    """A1 and C1 mapped to the package code and table id (no data connection: BC's export links one to its
    own temporary file, which the import does not read)."""
    cells = zip(_ids(sheet_number)[:2], ("A1", "C1"), ("PackageCode", "TableID"), strict=True)
    return (f'<singleXmlCells xmlns="{_MAIN_NS}">' + "".join(
        f'<singleXmlCell id="{cell_id}" r="{ref}" connectionId="0"><xmlCellPr id="1" uniqueName="{cell_id}">'
        f'<xmlPr mapId="{MAP_ID}" xpath={quoteattr(_xpath(table.sheet.name, leaf))} xmlDataType="string"/>'
        "</xmlCellPr></singleXmlCell>" for cell_id, ref, leaf in cells) + "</singleXmlCells>")


def _xml_maps(tables: Sequence[Table]) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><MapInfo xmlns="{_MAIN_NS}" '
            f'SelectionNamespaces=""><Schema ID="Schema1">{schema(tables)}</Schema>'
            f'<Map ID="{MAP_ID}" Name="{ROOT}_Map" RootElement="{ROOT}" SchemaID="Schema1" '
            'ShowImportExportValidationErrors="false" AutoFit="true" Append="false" PreserveSortAFLayout="true" '
            'PreserveFormat="true"/></MapInfo>')


def _with_xml_map(package: bytes, tables: Sequence[Table]) -> bytes:
    """openpyxl writes neither XML maps nor single XML cells: add both parts and their relationships."""
    source = zipfile.ZipFile(io.BytesIO(package))
    parts = {name: source.read(name) for name in source.namelist()}
    for name in parts:  # a blank value is an empty text cell, as BC's export writes it, not a missing cell
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = parts[name].replace(b't="inlineStr"></c>', b't="inlineStr"><is><t></t></is></c>')
    overrides = ['<Override PartName="/xl/xmlMaps.xml" ContentType="application/xml"/>']
    for number, table in enumerate(tables, start=1):
        name = f"xl/tables/tableSingleCells{number}.xml"
        parts[name] = _single_cells(table, number).encode()
        overrides.append(f'<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.tableSingleCells+xml"/>')
        rels = f"xl/worksheets/_rels/sheet{number}.xml.rels"
        parts[rels] = parts[rels].replace(b"</Relationships>", (
            f'<Relationship Id="rIdSingleCells" Type="{_REL}/tableSingleCells" '
            f'Target="/xl/tables/tableSingleCells{number}.xml"/></Relationships>').encode())
    parts["xl/xmlMaps.xml"] = _xml_maps(tables).encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
        f'<Relationship Id="rIdXmlMaps" Type="{_REL}/xmlMaps" Target="/xl/xmlMaps.xml"/></Relationships>').encode())
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", ("".join(overrides) + "</Types>").encode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()

