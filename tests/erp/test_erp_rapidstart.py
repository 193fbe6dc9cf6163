"""The Business Central workbook, read the way Business Central reads it.

Each step follows the Base Application's AL source (codeunit 8618 "Config. Excel Exchange", codeunit 6223
"OpenXML Management", xmlport 8610 "Config. Data Schema"): the XML schema is taken from the workbook's XML
map (``MapInfo.FirstChild.FirstChild``); every sheet gives its package code in A1 and table id in C1; its
first table's columns map by XPath to the schema's fields, in the order of the DataSet the schema makes
(two DataSet tables per sheet, in sheet order); records start at row 4 with a value in column A. The
tables, field names and field types are those of the BC field fixture (``tests/fixtures/erp_fields``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from aas_quantum import erp
from aas_quantum.erp.rapidstart import element_name, xml_text
from aas_quantum.errors import ConfigError

from tests.support import REPO

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
XSD = "{http://www.w3.org/2001/XMLSchema}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
FIXTURE = json.loads((REPO / "tests" / "fixtures" / "erp_fields" / "business-central.json").read_text())
BC_XSD_TYPES = {"Integer": "xsd:integer", "Date": "xsd:date", "Time": "xsd:time", "Boolean": "xsd:boolean",
                "DateTime": "xsd:dateTime"}  # Config. XML Exchange GetXSDType; every other type is xsd:string


@pytest.fixture(scope="module")
def workbook(solved, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bc")
    erp.export(solved[2], [erp.load_profile("business-central")], ["xlsx"], out, "ebike")
    return out / "ebike.business-central.xlsx"


def _part(package: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(package.read(name))


def _sheet_parts(package: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, worksheet part) in workbook order: BC walks the sheets by consecutive sheet id."""
    workbook = _part(package, "xl/workbook.xml")
    targets = {r.get("Id"): r.get("Target") for r in _part(package, "xl/_rels/workbook.xml.rels")}
    sheets = workbook.find(f"{MAIN}sheets")
    assert sheets is not None
    ids = [int(s.get("sheetId", "0")) for s in sheets]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    return [(s.get("name", ""), "xl/" + targets[s.get(rel)].lstrip("/").removeprefix("xl/")) for s in sheets]


def _related(package: zipfile.ZipFile, part: str, kind: str) -> list[ElementTree.Element]:
    folder, name = part.rsplit("/", 1)
    rels = _part(package, f"{folder}/_rels/{name}.rels")
    targets = [r.get("Target", "") for r in rels if r.get("Type", "").endswith(f"/{kind}")]
    return [_part(package, t.lstrip("/") if t.startswith("/") else f"{folder}/{t}") for t in targets]


def _schema(package: zipfile.ZipFile) -> ElementTree.Element:
    """OpenXML Management.ExtractXMLSchema: the first child of the map info's first child."""
    map_info = _part(package, "xl/xmlMaps.xml")
    schema = map_info[0][0]
    assert map_info[0].tag == f"{MAIN}Schema" and schema.tag == f"{XSD}schema"
    the_map = map_info.find(f"{MAIN}Map")
    assert the_map is not None and the_map.get("RootElement") == "DataList"
    assert the_map.get("SchemaID") == map_info[0].get("ID")
    return schema


def _sequence(element: ElementTree.Element) -> list[ElementTree.Element]:
    sequence = element.find(f"{XSD}complexType/{XSD}sequence")
    assert sequence is not None, element.get("name")
    return list(sequence)


def test_the_workbook_reads_as_business_central_reads_it(workbook):
    package = zipfile.ZipFile(workbook)
    root = _schema(package)[0]
    assert root.get("name") == "DataList"
    table_lists = _sequence(root)  # the DataSet: <Table>List, then <Table>, per sheet
    sheets = _sheet_parts(package)
    values = openpyxl.load_workbook(workbook)
    entities = FIXTURE["entities"]
    assert [name for name, _ in sheets] == list(entities)  # only table sheets: BC reads every sheet
    for (name, part), table_list in zip(sheets, table_lists, strict=True):
        entity = entities[name]
        ws = values[name]
        # ReadPackageTableKeysFromExcel: row 1, column 1 the package code, column 3 the table id
        assert ws["A1"].value == "AQ-BOM" and ws["B1"].value == name and int(ws["C1"].value) == entity["table"]
        record_name = element_name(name)
        assert table_list.get("name") == f"{record_name}List"
        list_fields = _sequence(table_list)
        assert [e.get("name") for e in list_fields[:2]] == ["TableID", "PackageCode"]
        record = list_fields[2]
        assert record.get("name") == record_name and record.get("maxOccurs") == "unbounded"
        schema_fields = [(e.get("name"), e.get("type")) for e in _sequence(record)]
        # FindTableDefinition: the sheet's first table; its columns map by XPath, from column A, row 3
        (table,) = _related(package, part, "table")
        assert table.get("ref", "").startswith("A3:")
        columns = table.findall(f"{MAIN}tableColumns/{MAIN}tableColumn")
        captions = [c.value for c in ws[3]]  # as wide as the sheet: row 1 fills A1 to C1
        while captions and captions[-1] is None:
            captions.pop()
        assert [c.get("name") for c in columns] == captions
        for column, (field_name, field_type), caption in zip(columns, schema_fields, captions, strict=True):
            assert caption in entity["fields"], f"{name}: {caption} is not a field of table {entity['table']}"
            assert caption not in entity.get("not_importable", {})
            assert field_name == element_name(caption)
            assert field_type == BC_XSD_TYPES.get(entity["fields"][caption], "xsd:string"), (name, caption)
            mapped = column.find(f"{MAIN}xmlColumnPr")
            assert mapped is not None and mapped.get("mapId") == "1"
            assert mapped.get("xpath") == f"/DataList/{record_name}List/{record_name}/{field_name}"
        assert set(entity["mandatory"]) <= set(captions)
        (single_cells,) = _related(package, part, "tableSingleCells")
        mapped_cells = {c.get("r"): c.find(f"{MAIN}xmlCellPr/{MAIN}xmlPr") for c in single_cells}
        assert {ref: cell.get("xpath") for ref, cell in mapped_cells.items() if cell is not None} == {
            "A1": f"/DataList/{record_name}List/PackageCode", "C1": f"/DataList/{record_name}List/TableID"}
        # ReadWorksheetData: records from row 4, each starting with a value in column A, every field a text
        # cell (a blank one empty: BC's export writes one for every field, and a record missing a mapped
        # column would hold a null where the DataSet allows none)
        rows = list(ws.iter_rows(min_row=4, values_only=True))
        assert rows and all(row[0] not in (None, "") for row in rows)
        assert table.get("ref", "").endswith(str(3 + len(rows)))
        sheet_rows = _part(package, part).findall(f"{MAIN}sheetData/{MAIN}row")
        for row in (r for r in sheet_rows if int(r.get("r", "0")) >= 4):
            cells = list(row)
            assert len(cells) == len(captions), f"{name} row {row.get('r')}"
            assert all(c.get("t") == "inlineStr" and c.find(f"{MAIN}is/{MAIN}t") is not None for c in cells)


def test_element_names_and_values_follow_business_central():
    """Config. XML Exchange GetElementName and Format(Value, 0, 9), on the kinds of names and values BC has."""
    assert element_name("Buy-from Vendor No.") == "Buy_fromVendorNo"
    assert element_name("Unit of Measure Code") == "UnitofMeasureCode"
    assert element_name("Scrap %") == "Scrap"
    assert element_name("Vendor's Item No.") == "VendorsItemNo"
    assert element_name("3rd Party") == "_3rdParty"
    assert element_name("Production BOM Header") == "ProductionBOMHeader"
    decimal = erp.Column("Quantity", type="decimal", decimals=3)
    assert [xml_text(v, decimal) for v in (2.5, 10.0, 0.1 + 0.2, 1234567.0)] == ["2.5", "10", "0.3", "1234567"]
    assert xml_text(dt.date(2026, 11, 23), erp.Column("Expected Receipt Date", type="date")) == "2026-11-23"
    assert xml_text(None, decimal) == ""


def test_a_configuration_package_needs_its_tables_and_code(tmp_path):
    base = (REPO / "erp_export" / "business-central.toml").read_text()
    for old, new, message in [
        ("table_id = 99\n", "", "needs a table_id on every sheet; missing on ['Item Vendor']"),
        ('package_code = "AQ-BOM"', 'package_code = "A-PACKAGE-CODE-LONGER-THAN-20"', "package_code, 1 to 20"),
        ('layout = "rapidstart"', 'layout = "rapid"', "layout must be one of"),
        ('layout = "rapidstart"', 'layout = "rapidstart"\nworkbook_per_sheet = true', "takes no workbook_per_sheet"),
    ]:
        path = tmp_path / "custom.toml"
        path.write_text(base.replace(old, new))
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            erp.load_profile(str(path))


def _cells(package: zipfile.ZipFile, part: str) -> list[tuple[int, int, str]]:
    """(row, column, text) of every cell, in the order the sheet holds them (BC's WorksheetReader order)."""
    shared = []
    if "xl/sharedStrings.xml" in package.namelist():
        shared = ["".join(t.text or "" for t in si.iter(f"{MAIN}t")) for si in _part(package, "xl/sharedStrings.xml")]
    cells = []
    for row in _part(package, part).findall(f"{MAIN}sheetData/{MAIN}row"):
        for cell in row:
            reference = cell.get("r", "")
            if cell.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
            else:
                value = cell.findtext(f"{MAIN}v") or ""
                text = shared[int(value)] if cell.get("t") == "s" else value
            letters, row_number = coordinate_from_string(reference)
            cells.append((row_number, column_index_from_string(letters), text))
    return cells


@pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                    reason="Mono (mono-mcs, libmono-system-data4.0-cil) is not installed")
def test_dotnet_takes_the_workbook_into_the_dataset_as_business_central_does(workbook, tmp_path):
    """The DataSet step of the import on .NET's own System.Data (Mono): the schema read from the XML map,
    each sheet's cells loaded by the statements of ReadWorksheetData (tests/bc/ConfigExcelImport.cs), the
    DataSet's XML then holding every sheet's package code, table id and records as written."""
    package = zipfile.ZipFile(workbook)
    _schema(package)  # the map's first child's first child is the schema; written out as it stands, with its
    # own namespace declaration (as MapInfo.FirstChild.FirstChild.WriteTo does), so "xsd:" types resolve
    text = package.read("xl/xmlMaps.xml").decode()
    found = re.search(r"<(\w+:)?schema\b.*?</\1schema>", text, re.DOTALL)
    assert found is not None
    (tmp_path / "schema.xsd").write_text(found.group(0), encoding="utf-8")
    lines, expected = [], []
    for number, (name, part) in enumerate(_sheet_parts(package), start=1):
        (table,) = _related(package, part, "table")
        top_left = coordinate_from_string(table.get("ref", "").split(":")[0])
        start = column_index_from_string(top_left[0])  # GetTableStartColumnIndex
        columns = table.findall(f"{MAIN}tableColumns/{MAIN}tableColumn")
        lines += [f"map\t{number}\t{start + i}" for i, c in enumerate(columns)
                  if c.find(f"{MAIN}xmlColumnPr") is not None]
        cells = _cells(package, part)
        lines += ["cell\t{}\t{}\t{}\t{}".format(number, row, col, text.replace("\\", "\\\\").replace("\t", "\\t")
                                                .replace("\n", "\\n")) for row, col, text in cells]
        by_row: dict[int, dict[int, str]] = {}
        for row, col, text in cells:
            by_row.setdefault(row, {})[col] = text
        fields = [element_name(c.get("name", "")) for c in columns]
        expected.append((name, by_row[1][1], by_row[1][3], [
            {field: by_row[row].get(i, "") for i, field in enumerate(fields, start=1)}
            for row in sorted(by_row) if row >= 4]))
    (tmp_path / "cells.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    program = tmp_path / "ConfigExcelImport.exe"
    compiled = subprocess.run(["mcs", "-nologo", f"-out:{program}", "-r:System.Data.dll", "-r:System.Xml.dll",
                               str(REPO / "tests" / "bc" / "ConfigExcelImport.cs")],
                              capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(["mono", str(program), str(tmp_path / "schema.xsd"), str(tmp_path / "cells.tsv"),
                          str(tmp_path / "data.xml")], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    data = ElementTree.parse(tmp_path / "data.xml").getroot()
    assert data.tag == "DataList"
    lists = list(data)
    assert len(lists) == len(expected)
    for table_list, (name, package_code, table_id, records) in zip(lists, expected, strict=True):
        record_name = element_name(name)
        assert table_list.tag == f"{record_name}List"
        assert table_list.findtext("TableID") == table_id and table_list.findtext("PackageCode") == package_code
        loaded = [{field.tag: field.text or "" for field in record} for record in table_list.findall(record_name)]
        assert loaded == records, name
        assert records, f"{name}: no records"
