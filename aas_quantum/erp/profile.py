"""ERP profiles: one TOML file per target ERP (see ``erp_export/README.md``) read into typed sheets, columns,
code maps and payloads, and checked when loaded, so a bad profile fails before any run renders it."""

from __future__ import annotations

import csv
import dataclasses
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aas_quantum.config import config_section, parse_bool
from aas_quantum.erp.document import COLUMN_TYPES, LAYOUTS, NAMESPACES, ROW_SOURCES, SUMMARY_SHEET, external_key
from aas_quantum.errors import ConfigError
from aas_quantum.resources import data_dir, erp_profile_names

OVERRIDE_TABLES = ("context", "csv", "vendor_map", "item_map")
OVERRIDE_VALUES = ("code_map_csv", "require_mapped")


@dataclass(frozen=True)
class CodeMaps:
    """AAS supplier ids and part numbers -> the ERP's vendor and item numbers.

    From ``[erp.vendor_map]`` / ``[erp.item_map]`` (also per profile), a CSV (``code_map_csv``:
    columns ``kind`` = vendor|item, ``aas_code``, ``erp_code``) and ``--erp-set``. An unmapped code
    passes through unchanged unless ``require_mapped`` is set, which makes it an error. A profile's own
    ``[vendor_map]`` / ``[item_map]`` (numbers for the bundled samples) count only while nothing of that
    kind is configured, so they never mix into a user's own numbering.
    """

    vendors: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    required: bool = False

    @classmethod
    def of(cls, overrides: dict[str, Any], fail: Any, defaults: dict[str, Any] | None = None) -> CodeMaps:
        vendors = {str(k): str(v) for k, v in overrides.get("vendor_map", {}).items()}
        items = {str(k): str(v) for k, v in overrides.get("item_map", {}).items()}
        csv_path = overrides.get("code_map_csv")
        if csv_path:
            from_csv = _read_code_map(Path(str(csv_path)).expanduser(), fail)
            vendors, items = from_csv["vendor"] | vendors, from_csv["item"] | items  # explicit entries win
        defaults = defaults or {}
        vendors = vendors or {str(k): str(v) for k, v in defaults.get("vendor_map", {}).items()}
        items = items or {str(k): str(v) for k, v in defaults.get("item_map", {}).items()}
        return cls(vendors, items, parse_bool(overrides.get("require_mapped", False), "require_mapped"))

    def apply(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        """``record`` with its supplier and part codes (and the chosen ones of an alternative) mapped."""
        mapped = dict(record)
        for key, table, kind in (("supplier_id", self.vendors, "vendor"), ("part_number", self.items, "item"),
                                 ("chosen_supplier_id", self.vendors, "vendor"),
                                 ("chosen_part_number", self.items, "item")):
            code = record.get(key)
            if code is None:
                continue
            if code in table:
                mapped[key] = table[code]
            elif self.required:
                raise ConfigError(f"{where}: {kind} {code!r} has no ERP number; add it to [erp.{kind}_map] or "
                                  "the code map CSV, or unset require_mapped")
        return mapped


def _read_code_map(path: Path, fail: Any) -> dict[str, dict[str, str]]:
    if not path.is_file():
        raise fail(f"code_map_csv {str(path)!r} is not a file")
    maps: dict[str, dict[str, str]] = {"vendor": {}, "item": {}}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"kind", "aas_code", "erp_code"} - set(reader.fieldnames or ())
        if missing:
            raise fail(f"code map {path.name}: missing column(s) {sorted(missing)} (kind, aas_code, erp_code)")
        for number, row in enumerate(reader, start=2):
            kind = (row["kind"] or "").strip().lower()
            if kind not in maps or not row["aas_code"] or not row["erp_code"]:
                raise fail(f"code map {path.name}, row {number}: kind must be vendor or item and both codes set, "
                           f"got {row}")
            maps[kind][row["aas_code"].strip()] = row["erp_code"].strip()
    return maps


@dataclass(frozen=True)
class Column:
    name: str
    source: str | None = None
    value: Any = None
    template: str | None = None
    type: str = "string"
    decimals: int | None = None
    format: str | None = None
    map: str | None = None
    required: bool = False
    first_row_only: bool = False
    max_length: int | None = None  # the ERP field's length (SAP LIFNR: 10); a longer value is an error
    payload: bool = True  # false: files only, not the JSON bodies (a header-item key the deep insert nests)


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: str
    columns: tuple[Column, ...]
    root_row: bool = False
    distinct: tuple[str, ...] = ()
    group_by: str | None = None
    table_id: int | None = None  # the ERP's table number (Business Central configuration packages)

    @property
    def file_key(self) -> str:
        return external_key(self.name)


@dataclass(frozen=True)
class Payload:
    """An OData deep insert: one entity per row of sheet ``header``, with the rows of sheet ``items``
    of the same group (the header's ``distinct`` key is the items' ``group_by``) under ``navigation``;
    the bodies are POSTed to ``path``."""

    name: str
    path: str
    header: str
    items: str
    navigation: str

    @property
    def file_key(self) -> str:
        return external_key(self.name)


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8-sig"


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    sheets: tuple[Sheet, ...]
    numbering_start: int = 10
    numbering_step: int = 10
    date_format: str = "%Y-%m-%d"
    datetime_format: str = "%Y-%m-%d %H:%M:%S"
    excel_date_format: str = "yyyy-mm-dd"
    excel_datetime_format: str = "yyyy-mm-dd hh:mm:ss"
    csv: CsvOptions = CsvOptions()
    context: dict[str, Any] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    workbook_per_sheet: bool = False
    layout: str = "workbook"  # or "rapidstart": a Business Central configuration package (erp.rapidstart)
    totals: dict[str, str] = field(default_factory=dict)
    source: str = ""
    payloads: tuple[Payload, ...] = ()
    codes: CodeMaps = CodeMaps()
    import_order: tuple[str, ...] = ()  # the sheets (= files, tables) in the order the ERP must import them

    def import_note(self) -> str | None:
        """The line telling the user which file to import first: master data before what refers to it."""
        if not self.import_order:
            return None
        return f"{self.name}: import in this order: " + ", ".join(self.import_order)


def load_profile(name_or_path: str, overrides: dict[str, Any] | None = None) -> Profile:
    """A shipped profile by name, or a profile file by path; ``overrides`` as in ``erp_overrides``."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        shipped = data_dir("erp_export") / f"{name_or_path}.toml"
        if not shipped.is_file():
            raise ConfigError(f"unknown ERP profile {name_or_path!r}: not a .toml file and not one of "
                              + ", ".join(erp_profile_names()))
        text, source = shipped.read_text(encoding="utf-8"), f"erp_export/{name_or_path}.toml"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ERP profile {source}: not valid TOML: {exc}") from exc
    return _parse_profile(raw, source, overrides or {})


def erp_overrides(profile_name: str, cli_settings: Sequence[str] = ()) -> dict[str, Any]:
    """Config ``[erp]`` (all profiles), then ``[erp.<profile>]``, then ``--erp-set`` KEY=VALUE.

    Keys: ``context``, ``csv``, ``vendor_map`` and ``item_map`` tables, ``code_map_csv`` and
    ``require_mapped``; a CLI key ``csv.delimiter`` sets a CSV option, ``vendor_map.SUP-001`` or
    ``item_map.<part>`` a code, ``require_mapped`` the switch, any other key an ERP context value
    (``plant=1010``).
    """
    config = config_section("erp")
    merged: dict[str, Any] = {table: {} for table in OVERRIDE_TABLES}
    for layer in (config, config.get(profile_name, {})):
        for table in OVERRIDE_TABLES:
            merged[table] |= layer.get(table, {})
        merged |= {key: layer[key] for key in OVERRIDE_VALUES if key in layer}
    for setting in cli_settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise ConfigError(f"--erp-set expects KEY=VALUE, got {setting!r}")
        table, _, name = key.partition(".")
        if key in OVERRIDE_VALUES:
            merged[key] = value
        elif table in OVERRIDE_TABLES and name and table != "context":
            merged[table][name] = value
        else:
            merged["context"][key] = value
    return merged


def _parse_profile(raw: dict[str, Any], source: str, overrides: dict[str, Any]) -> Profile:
    name = raw.get("name") or Path(source).stem

    def fail(message: str) -> ConfigError:
        return ConfigError(f"ERP profile {name!r} ({source}): {message}")

    conventions = raw.get("conventions", {})
    numbering = raw.get("numbering", {})
    context = dict(raw.get("context", {}))
    context.update({k: v for k, v in overrides.get("context", {}).items() if k in context})
    for key, default in raw.get("context", {}).items():  # a switch stays a switch, set from the CLI as text
        if isinstance(default, bool):
            try:
                context[key] = parse_bool(context[key], f"[context] {key}")
            except ConfigError as exc:
                raise fail(str(exc)) from exc
    csv_raw = dict(raw.get("csv", {})) | overrides.get("csv", {})
    unknown_csv = set(csv_raw) - {f.name for f in dataclasses.fields(CsvOptions)}
    if unknown_csv:
        raise fail(f"unknown [csv] option(s) {sorted(unknown_csv)}")
    csv_options = CsvOptions(**csv_raw)
    if len(csv_options.delimiter) != 1 or csv_options.decimal not in (".", ","):
        raise fail(f"[csv] delimiter must be one character and decimal '.' or ',', got {csv_options}")
    if csv_options.delimiter == csv_options.decimal:
        raise fail(f"[csv] delimiter and decimal separator are both {csv_options.decimal!r}")
    try:
        "".encode(csv_options.encoding)
    except LookupError as exc:
        raise fail(f"[csv] unknown encoding {csv_options.encoding!r}") from exc
    maps = raw.get("maps", {})

    sheets = []
    for sheet_raw in raw.get("sheets", []):
        sheet_name = sheet_raw.get("name", "")
        rows = sheet_raw.get("rows")
        if not sheet_name or rows not in ROW_SOURCES:
            raise fail(f"every sheet needs a name and rows = one of {ROW_SOURCES}, got {sheet_raw.get('name')!r} "
                       f"rows={rows!r}")
        if sheet_name == SUMMARY_SHEET or len(sheet_name) > 31 or re.search(r"[\[\]:*?/\\]", sheet_name):
            raise fail(f"sheet name {sheet_name!r} is reserved or not valid in a workbook")
        columns = []
        for col_raw in sheet_raw.get("columns", []):
            try:
                column = Column(**col_raw)
            except TypeError as exc:
                raise fail(f"sheet {sheet_name!r}: column {col_raw.get('name')!r}: {exc}") from exc
            _check_column(column, rows, context, maps, lambda m, s=sheet_name: fail(f"sheet {s!r}: {m}"))
            columns.append(column)
        if not columns:
            raise fail(f"sheet {sheet_name!r} has no columns")
        distinct = tuple(sheet_raw.get("distinct", ()))
        group_by = sheet_raw.get("group_by")
        for path in (*distinct, *([group_by] if group_by else [])):
            _check_path(path, rows, context, lambda m, s=sheet_name: fail(f"sheet {s!r}: {m}"))
        table_id = sheet_raw.get("table_id")
        if table_id is not None and (isinstance(table_id, bool) or not isinstance(table_id, int) or table_id <= 0):
            raise fail(f"sheet {sheet_name!r}: table_id must be a positive integer, got {table_id!r}")
        sheets.append(Sheet(sheet_name, rows, tuple(columns), bool(sheet_raw.get("root_row", False)), distinct,
                            group_by, table_id))
    if not sheets:
        raise fail("no [[sheets]]")
    if len({s.name for s in sheets}) != len(sheets):
        raise fail("sheet names must be unique")
    order_raw = raw.get("import_order", [])
    import_order = tuple(order_raw) if isinstance(order_raw, list) else (order_raw,)
    if import_order:
        if not all(isinstance(n, str) for n in import_order) or sorted(import_order) != sorted(s.name for s in sheets):
            raise fail(f"import_order must name every sheet once, got {list(import_order)} for sheets "
                       f"{[s.name for s in sheets]}")
        sheets.sort(key=lambda s: import_order.index(s.name))  # files and package tables follow it
    output = raw.get("output", {})
    layout = output.get("layout", "workbook")
    if layout not in LAYOUTS:
        raise fail(f"[output] layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "rapidstart":
        _check_rapidstart(sheets, context, output, fail)
    totals = raw.get("totals", {})
    _check_totals(totals, sheets, fail)
    payloads = tuple(_payload(p, sheets, fail) for p in raw.get("payloads", []))
    return Profile(
        name=name, title=raw.get("title", name), sheets=tuple(sheets),
        numbering_start=int(numbering.get("start", 10)), numbering_step=int(numbering.get("step", 10)),
        date_format=conventions.get("date_format", "%Y-%m-%d"),
        datetime_format=conventions.get("datetime_format", "%Y-%m-%d %H:%M:%S"),
        excel_date_format=conventions.get("excel_date_format", "yyyy-mm-dd"),
        excel_datetime_format=conventions.get("excel_datetime_format", "yyyy-mm-dd hh:mm:ss"),
        csv=csv_options, context=context, maps=maps,
        workbook_per_sheet=bool(output.get("workbook_per_sheet", False)), layout=layout, totals=totals,
        source=source, payloads=payloads, codes=CodeMaps.of(overrides, fail, raw), import_order=import_order,
    )


def _check_rapidstart(sheets: Sequence[Sheet], context: dict[str, Any], output: dict[str, Any], fail: Any) -> None:
    """A configuration package is one workbook, names its tables by number and itself by a Code[20]."""
    if output.get("workbook_per_sheet"):
        raise fail('[output] layout = "rapidstart" is one workbook: it takes no workbook_per_sheet')
    missing = [s.name for s in sheets if s.table_id is None]
    if missing:
        raise fail(f"[output] layout = \"rapidstart\" needs a table_id on every sheet; missing on {missing}")
    code = context.get("package_code")
    if not isinstance(code, str) or not 0 < len(code) <= 20:
        raise fail(f"[output] layout = \"rapidstart\" needs [context] package_code, 1 to 20 characters, got {code!r}")


def _payload(raw: dict[str, Any], sheets: Sequence[Sheet], fail: Any) -> Payload:
    try:
        payload = Payload(**raw)
    except TypeError as exc:
        raise fail(f"payload {raw.get('name')!r}: {exc}") from exc
    by_name = {s.name: s for s in sheets}
    header, items = by_name.get(payload.header), by_name.get(payload.items)
    if header is None or items is None:
        raise fail(f"payload {payload.name!r}: header {payload.header!r} and items {payload.items!r} must be sheets")
    if header.distinct != ((items.group_by,) if items.group_by else ()):
        raise fail(f"payload {payload.name!r}: sheet {header.name!r} must be distinct by what sheet "
                   f"{items.name!r} is grouped by, so each entity gets its own items")
    return payload


def _check_totals(totals: dict[str, str], sheets: Sequence[Sheet], fail: Any) -> None:
    """``[totals]`` names where the spend is: an ``amount`` column, or ``quantity`` x ``price`` (/ ``price_unit``)."""
    if not totals:
        raise fail("[totals] is missing: name the sheet and the amount (or quantity and price) columns")
    sheet = next((s for s in sheets if s.name == totals.get("sheet")), None)
    if sheet is None:
        raise fail(f"[totals] sheet {totals.get('sheet')!r} is not one of the sheets")
    wanted = ("amount",) if "amount" in totals else ("quantity", "price")
    names = {c.name for c in sheet.columns}
    for key in (*wanted, *(("price_unit",) if "price_unit" in totals else ())):
        if totals.get(key) not in names:
            raise fail(f"[totals] {key} = {totals.get(key)!r} is not a column of sheet {sheet.name!r}")


def _check_path(path: str, rows: str, context: dict[str, Any], fail: Any) -> None:
    namespace, _, name = path.partition(".")
    if namespace == "context":
        if name not in context:
            raise fail(f"{path}: not defined in [context]")
        return
    allowed = {"bom": ("bom",), "lines": ("bom", "line"), "alternatives": ("bom", "alt")}[rows]
    if namespace not in allowed or name not in NAMESPACES[namespace]:
        raise fail(f"unknown source field {path!r} for rows = {rows!r} (known: "
                   + ", ".join(f"{ns}.{f}" for ns in allowed for f in NAMESPACES[ns]) + ", context.*)")


def _check_column(column: Column, rows: str, context: dict[str, Any], maps: dict[str, Any], fail: Any) -> None:
    def col_fail(message: str) -> ConfigError:
        return fail(f"column {column.name!r}: {message}")

    if not column.name:
        raise fail("a column has no name")
    given = [x for x in (column.source, column.value, column.template) if x is not None]
    if len(given) != 1:
        raise col_fail("needs exactly one of source, value, template")
    if column.type not in COLUMN_TYPES:
        raise col_fail(f"type {column.type!r} is not one of {COLUMN_TYPES}")
    if column.max_length is not None and (isinstance(column.max_length, bool) or not isinstance(column.max_length, int)
                                          or column.max_length <= 0):
        raise col_fail(f"max_length must be a positive integer, got {column.max_length!r}")
    if not isinstance(column.payload, bool):
        raise col_fail(f"payload must be true or false, got {column.payload!r}")
    if column.map is not None and column.map not in maps:
        raise col_fail(f"map {column.map!r} has no [maps.{column.map}] table")
    if column.source is not None:
        _check_path(column.source, rows, context, col_fail)
    if column.template is not None:
        for path in re.findall(r"\{([a-z_]+\.[a-z_]+)", column.template):
            _check_path(path, rows, context, col_fail)
