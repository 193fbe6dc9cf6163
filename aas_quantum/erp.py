"""ERP export engine: one profile file per ERP says which sheets and columns to write and where
each value comes from; this module renders them and writes CSV and XLSX.

A profile (TOML, see ``erp_export/README.md``) has sheets; a sheet has a row source (``bom``: one
row, ``lines``: one per position, ``alternatives``: one per option not chosen) and columns. A
column takes its value from ``source`` (``bom.total_cost``, ``line.part_number``, ``alt.cost_delta``,
``context.plant``), a literal ``value`` or a ``template`` (``"{bom.product_key}_{line.position_key}"``),
optionally through a code ``map`` (UN/CEFACT unit -> ERP unit) and a ``format``, then is typed
(string, integer, decimal, date, datetime, boolean). Everything is rendered before anything is
written, so a bad profile or missing data leaves no partial export.

A profile's ``[[payloads]]`` turn two of its sheets into OData deep-insert request bodies (``json``
format): one entity per row of the header sheet, with the item sheet's rows of the same group under
its navigation property.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aas_quantum.atomic import atomic_write
from aas_quantum.config import config_section, parse_bool
from aas_quantum.errors import ConfigError
from aas_quantum.explain import single_swap_effects
from aas_quantum.problem import BomProblem, product_number
from aas_quantum.report import selection_line
from aas_quantum.resources import data_dir, erp_profile_names
from aas_quantum.summary import RunSummary

FORMATS = ("xlsx", "csv", "json")
LAYOUTS = ("workbook", "rapidstart")  # how the xlsx format is laid out
ROW_SOURCES = ("bom", "lines", "alternatives")
COLUMN_TYPES = ("string", "integer", "decimal", "date", "datetime", "boolean")
SUMMARY_SHEET = "Summary"

# The fields a profile can refer to. Anything else is a profile error, found when it loads.
BOM_FIELDS = (
    "product_id", "product_number", "product_key", "currency", "status", "started", "finished", "valid_from",
    "line_count", "total_cost", "objective", "total_weight_kg", "total_performance", "total_co2e_kg",
    "max_lead_time_days", "suppliers_used", "greedy_cost", "improvement_vs_greedy_pct", "optimum_bound",
    "optimum_proven", "gap_to_optimum_pct", "solver", "backend", "greedy_objective", "greedy_ls_objective",
    "improvement_vs_greedy_ls_pct", "cost_saved_vs_greedy", "lot_size", "order_date", "run_key", "description",
)
LINE_FIELDS = (
    "position_id", "position_key", "designation", "description", "part_number", "manufacturer",
    "manufacturer_designation", "supplier_id", "quantity", "unit", "order_quantity", "min_order_quantity",
    "unit_price", "extended_price", "currency", "lead_time_days", "weight_kg", "co2e_kg", "asset_id",
    "supplier_key", "item_number", "line_number", "level", "parent", "quantity_per", "delivery_date",
    "document_number",
)
ALT_FIELDS = (
    *LINE_FIELDS, "cost_delta", "objective_delta", "why_not_chosen", "chosen_part_number", "chosen_supplier_id",
)
NAMESPACES = {"bom": BOM_FIELDS, "line": LINE_FIELDS, "alt": ALT_FIELDS}


# ------------------------------------------------------------------------------------ source data


@dataclass(frozen=True)
class ErpDocument:
    """What every profile draws from: header (``bom``), chosen lines and the alternatives not chosen."""

    bom: dict[str, Any]
    lines: tuple[dict[str, Any], ...]
    alternatives: tuple[dict[str, Any], ...]


def _key(text: str) -> str:
    """An identifier safe in ERP external ids and file names."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Spreadsheets have no time zones: every timestamp is written as UTC."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _run_key(run_id: str) -> str:
    """Eight characters of the run id, so purchase documents of two runs do not share a number."""
    return _key(run_id).replace("_", "")[:8].upper()


def erp_document(problem: BomProblem, choice: Sequence[int], summary: RunSummary) -> ErpDocument:
    """The export source for ``choice``; ``summary`` is the run's (or a saved result's) summary."""
    number = product_number(problem.product_id)
    finished = _naive_utc(summary.finished)
    kpis = dataclasses.asdict(summary.kpis)
    lot_size = summary.kpis.lot_size
    bom = {
        "product_id": problem.product_id, "product_number": number, "product_key": _key(number),
        "order_date": finished.date(), "run_key": _run_key(summary.run_id),
        "description": problem.designation or number,
        "currency": problem.currency, "status": summary.status, "started": _naive_utc(summary.started),
        "finished": finished, "valid_from": finished.date(), "line_count": len(problem.positions),
        "solver": summary.solver.method, "backend": summary.solver.backend, "run_id": summary.run_id,
    } | {name: kpis.get(name) for name in BOM_FIELDS if name in kpis}
    # the improvement is on the objective (cost + CO2 price + concentration); what it means in money:
    bom["cost_saved_vs_greedy"] = None if kpis["greedy_cost"] is None else kpis["greedy_cost"] - kpis["total_cost"]

    def line_fields(index: int, position: Any, option: Any) -> dict[str, Any]:
        values = dataclasses.asdict(selection_line(position, option))
        return values | {
            # quantity: for the lot (what is bought); quantity_per: per product (what the BoM says)
            "quantity_per": option.quantity / lot_size,
            "delivery_date": finished.date() + dt.timedelta(days=math.ceil(option.lead_time_days)),
            "document_number": f"{bom['run_key']}-{documents.get(option.supplier_id, 0):02d}",
            "position_key": _key(position.position_id), "supplier_key": _key(option.supplier_id),
            "description": position.designation or option.variant.designation or option.part_number,
            "min_order_quantity": option.offer.min_order_quantity, "currency": problem.currency,
            "line_number": index + 1, "level": 1, "parent": number,
        }

    # one purchase document per supplier, numbered run key + ordinal: unique across runs and products
    # and short enough for Business Central's Code[20] and SAP's 10-character document numbers
    documents: dict[str, int] = {}
    for position, k in zip(problem.positions, choice, strict=True):
        documents.setdefault(position.options[k].supplier_id, len(documents) + 1)
    swaps = single_swap_effects(problem, choice)
    lines, alternatives = [], []
    for index, (position, k) in enumerate(zip(problem.positions, choice, strict=True)):
        chosen = line_fields(index, position, position.options[k])
        lines.append(chosen)
        for j, option in enumerate(position.options):
            if j != k:
                alt = line_fields(index, position, option)
                alternatives.append(alt | {
                    "cost_delta": alt["extended_price"] - chosen["extended_price"],
                    "objective_delta": swaps[option.index].objective_change,
                    "why_not_chosen": swaps[option.index].why_not(problem.currency),
                    "chosen_part_number": chosen["part_number"], "chosen_supplier_id": chosen["supplier_id"]})
    return ErpDocument(bom, tuple(lines), tuple(alternatives))


# ------------------------------------------------------------------------------------ profiles


OVERRIDE_TABLES = ("context", "csv", "vendor_map", "item_map")
OVERRIDE_VALUES = ("code_map_csv", "require_mapped")


@dataclass(frozen=True)
class CodeMaps:
    """AAS supplier ids and part numbers -> the ERP's vendor and item numbers.

    From ``[erp.vendor_map]`` / ``[erp.item_map]`` (also per profile), a CSV (``code_map_csv``:
    columns ``kind`` = vendor|item, ``aas_code``, ``erp_code``) and ``--erp-set``. An unmapped code
    passes through unchanged unless ``require_mapped`` is set, which makes it an error.
    """

    vendors: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    required: bool = False

    @classmethod
    def of(cls, overrides: dict[str, Any], fail: Any) -> CodeMaps:
        vendors = {str(k): str(v) for k, v in overrides.get("vendor_map", {}).items()}
        items = {str(k): str(v) for k, v in overrides.get("item_map", {}).items()}
        csv_path = overrides.get("code_map_csv")
        if csv_path:
            from_csv = _read_code_map(Path(str(csv_path)).expanduser(), fail)
            vendors, items = from_csv["vendor"] | vendors, from_csv["item"] | items  # explicit entries win
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
        return _key(self.name)


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
        return _key(self.name)


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
    layout: str = "workbook"  # or "rapidstart": a Business Central configuration package (erp_rapidstart)
    totals: dict[str, str] = field(default_factory=dict)
    source: str = ""
    payloads: tuple[Payload, ...] = ()
    codes: CodeMaps = CodeMaps()


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
        source=source, payloads=payloads, codes=CodeMaps.of(overrides, fail),
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
    if column.map is not None and column.map not in maps:
        raise col_fail(f"map {column.map!r} has no [maps.{column.map}] table")
    if column.source is not None:
        _check_path(column.source, rows, context, col_fail)
    if column.template is not None:
        for path in re.findall(r"\{([a-z_]+\.[a-z_]+)", column.template):
            _check_path(path, rows, context, col_fail)


# ------------------------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class Table:
    """A rendered sheet: typed Python values, ready for any writer."""

    sheet: Sheet
    rows: tuple[tuple[Any, ...], ...]
    keys: tuple[tuple[Any, ...], ...] = ()  # per row: its distinct / group key (payloads join on it)


def render(document: ErpDocument, profile: Profile) -> tuple[Table, ...]:
    """Every sheet of ``profile`` for ``document``; raises ``ConfigError`` naming profile, sheet, column, row."""
    where = f"ERP profile {profile.name!r}, position"
    numbered = [profile.codes.apply(line, f"{where} {line['position_id']}")
                | {"item_number": profile.numbering_start + i * profile.numbering_step}
                for i, line in enumerate(document.lines)]
    item_of = {line["position_id"]: line["item_number"] for line in numbered}
    written = any(sheet.rows == "alternatives" for sheet in profile.sheets)  # mapped (and checked) only then
    alternatives = [profile.codes.apply(alt, f"{where} {alt['position_id']} (alternatives)")
                    | {"item_number": item_of[alt["position_id"]]} for alt in document.alternatives] if written else []
    root = {name: None for name in LINE_FIELDS} | {
        "level": 0, "part_number": document.bom["product_number"], "description": document.bom["description"],
        "designation": document.bom["description"], "quantity": 1.0, "quantity_per": 1.0, "unit": "C62",
        "currency": document.bom["currency"], "extended_price": None}
    context = SimpleNamespace(**profile.context)
    bom = SimpleNamespace(**document.bom)
    tables = []
    for sheet in profile.sheets:
        if sheet.rows == "bom":
            records: list[tuple[str, dict[str, Any]]] = [("bom", document.bom)]
        elif sheet.rows == "lines":
            records = [("line", line) for line in ([root] if sheet.root_row else []) + numbered]
        else:
            records = [("alt", alt) for alt in alternatives]
        if sheet.group_by:  # rows of one group together, in first-appearance order
            field_name = sheet.group_by.partition(".")[2]
            order = {g: i for i, g in reversed(list(enumerate(r[field_name] for _, r in records)))}
            records.sort(key=lambda item: order[item[1][field_name]])
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[Any, ...]] = []
        seen: set[Any] = set()
        group: object = object()
        for ns_name, record in records:
            namespaces = {"bom": bom, "context": context, ns_name: SimpleNamespace(**record)}
            if sheet.distinct:
                key = tuple(_lookup(namespaces, path) for path in sheet.distinct)
                if key in seen:
                    continue
                seen.add(key)
            this_group = _lookup(namespaces, sheet.group_by) if sheet.group_by else None
            keys.append(key if sheet.distinct else (this_group,) if sheet.group_by else ())
            first_of_group, group = (not rows or this_group != group), this_group
            where = f"row {len(rows) + 2}" + (f" (position {record['position_id']})"
                                              if record.get("position_id") else "")
            rows.append(tuple(
                None if column.first_row_only and not first_of_group
                else _cell(column, namespaces, profile, f"ERP profile {profile.name!r}, sheet {sheet.name!r}, "
                                                        f"column {column.name!r}, {where}")
                for column in sheet.columns))
        tables.append(Table(sheet, tuple(rows), tuple(keys)))
    _check_spend(tables, profile, document.bom["total_cost"])
    return tuple(tables)


def _totals_table(tables: Sequence[Table], profile: Profile) -> Table:
    return next(t for t in tables if t.sheet.name == profile.totals["sheet"])


def spend(tables: Sequence[Table], profile: Profile) -> float:
    """The money the export commits, read back from the columns ``[totals]`` names."""
    totals = profile.totals
    table = _totals_table(tables, profile)
    index = {c.name: i for i, c in enumerate(table.sheet.columns)}
    if "amount" in totals:
        return sum(row[index[totals["amount"]]] or 0.0 for row in table.rows)
    unit = index.get(totals.get("price_unit", ""))
    return sum((row[index[totals["quantity"]]] or 0.0) * (row[index[totals["price"]]] or 0.0)
               / (row[unit] if unit is not None and row[unit] else 1.0) for row in table.rows)


def _check_spend(tables: Sequence[Table], profile: Profile, total_cost: float) -> None:
    """A profile must not lose or double money (a ``distinct`` merging priced rows would)."""
    exported = spend(tables, profile)
    tolerance = 0.005 * max(1, len(_totals_table(tables, profile).rows))  # half a cent per rounded row
    if abs(exported - total_cost) > tolerance + 1e-9 * abs(total_cost):
        raise ConfigError(f"ERP profile {profile.name!r}: the exported amounts sum to {exported:.2f}, the result's "
                          f"total cost is {total_cost:.2f}; check [totals] and the rows of sheet "
                          f"{profile.totals['sheet']!r}")


def _lookup(namespaces: dict[str, SimpleNamespace], path: str) -> Any:
    namespace, _, name = path.partition(".")
    return getattr(namespaces[namespace], name)


def _cell(column: Column, namespaces: dict[str, SimpleNamespace], profile: Profile, where: str) -> Any:
    if column.source is not None:
        value = _lookup(namespaces, column.source)
    elif column.template is not None:
        value = column.template.format(**namespaces)
    else:
        value = column.value
    if value is not None and column.map is not None:
        table = profile.maps[column.map]
        if str(value) not in table:
            raise ConfigError(f"{where}: no entry for {value!r} in [maps.{column.map}]; add it to the profile")
        value = table[str(value)]
    if value is not None and value != "" and column.format is not None:
        value = column.format.format(value)
    if value is None or value == "":
        if column.required:
            raise ConfigError(f"{where}: required value (from {column.source or column.template}) is empty")
        return None
    try:
        return _typed(value, column)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {value!r} is not a valid {column.type}: {exc}") from exc


def _typed(value: Any, column: Column) -> Any:
    if column.type == "string":
        return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)
    if column.type == "integer":
        return round(float(value))
    if column.type == "decimal":
        return round(float(value), column.decimals) if column.decimals is not None else float(value)
    if column.type == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes", "x")
    if column.type == "datetime":
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ------------------------------------------------------------------------------------ writers


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
        return {c.name: odata_value(v, c) for c, v in zip(table.sheet.columns, row, strict=True) if v is not None}
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


def export_paths(profile: Profile, out_dir: Path, stem: str, fmt: str) -> list[Path]:
    """Where ``fmt`` files of ``profile`` go: one workbook, one file per sheet, or one per payload."""
    if fmt == "json":
        if not profile.payloads:
            raise ConfigError(f"ERP profile {profile.name!r} defines no [[payloads]] (OData request bodies), so it "
                              f"has no json format; use xlsx or csv for it")
        return [out_dir / f"{stem}.{profile.name}.{payload.file_key}.json" for payload in profile.payloads]
    if fmt == "xlsx" and not profile.workbook_per_sheet:
        return [out_dir / f"{stem}.{profile.name}.xlsx"]
    return [out_dir / f"{stem}.{profile.name}.{sheet.file_key}.{fmt}" for sheet in profile.sheets]


def export_targets(profiles: Sequence[Profile], formats: Sequence[str], out_dir: Path, stem: str) -> list[Path]:
    """Every file an export of ``profiles`` in ``formats`` writes (known before rendering anything)."""
    return [p for profile in profiles for fmt in formats for p in export_paths(profile, out_dir, stem, fmt)]


@dataclass(frozen=True)
class ExportPlan:
    """Rendered profiles, ready to write: building it is where every profile and data error surfaces."""

    document: ErpDocument
    rendered: tuple[tuple[Profile, tuple[Table, ...]], ...]
    formats: tuple[str, ...]


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"unknown ERP export format(s) {unknown}; use {', '.join(FORMATS)}")
    return tuple(formats)


def plan_export(document: ErpDocument, profiles: Sequence[Profile], formats: Sequence[str]) -> ExportPlan:
    return ExportPlan(document, tuple((p, render(document, p)) for p in profiles), check_formats(formats))


def write_export(plan: ExportPlan, out_dir: Path, stem: str) -> list[Path]:
    """Write every file of ``plan``, each atomically."""
    written: list[Path] = []
    for profile, tables in plan.rendered:
        for fmt in plan.formats:
            paths = export_paths(profile, out_dir, stem, fmt)
            if fmt == "xlsx" and profile.layout == "rapidstart":
                from aas_quantum.erp_rapidstart import write_rapidstart
                written.append(write_rapidstart(tables, profile, paths[0]))
            elif fmt == "xlsx" and profile.workbook_per_sheet:  # importers that read the first sheet only
                written.extend(write_xlsx([t], plan.document, profile, p) for t, p in zip(tables, paths, strict=True))
            elif fmt == "xlsx":
                written.append(write_xlsx(tables, plan.document, profile, paths[0]))
            elif fmt == "json":
                written.extend(write_json(p, tables, path) for p, path in zip(profile.payloads, paths, strict=True))
            else:
                written.extend(write_csv(t, profile, p) for t, p in zip(tables, paths, strict=True))
    return written


def export(document: ErpDocument, profiles: Sequence[Profile], formats: Sequence[str], out_dir: Path,
           stem: str) -> list[Path]:
    """Render every profile first (any error stops before a file is written), then write."""
    return write_export(plan_export(document, profiles, formats), out_dir, stem)
