"""A profile applied to a document: every sheet's rows typed and checked (spend against the run's cost)
before anything is written, so a bad profile or missing data leaves no partial export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from aas_quantum.erp.document import LINE_FIELDS, ErpDocument, external_key
from aas_quantum.erp.profile import Column, Profile, Sheet
from aas_quantum.errors import ConfigError


@dataclass(frozen=True)
class Table:
    """A rendered sheet: typed Python values, ready for any writer."""

    sheet: Sheet
    rows: tuple[tuple[Any, ...], ...]
    keys: tuple[tuple[Any, ...], ...] = ()  # per row: its distinct / group key (payloads join on it)


def render(document: ErpDocument, profile: Profile) -> tuple[Table, ...]:
    """Every sheet of ``profile`` for ``document``; raises ``ConfigError`` naming profile, sheet, column, row."""
    where = f"ERP profile {profile.name!r}, position"
    numbered = [_keyed(profile.codes.apply(line, f"{where} {line['position_id']}"))
                | {"item_number": profile.numbering_start + i * profile.numbering_step}
                for i, line in enumerate(document.lines)]
    item_of = {line["position_id"]: line["item_number"] for line in numbered}
    written = any(sheet.rows == "alternatives" for sheet in profile.sheets)  # mapped (and checked) only then
    alternatives = [_keyed(profile.codes.apply(alt, f"{where} {alt['position_id']} (alternatives)"))
                    | {"item_number": item_of[alt["position_id"]]} for alt in document.alternatives] if written else []
    root = {name: None for name in LINE_FIELDS} | {
        "level": 0, "part_number": document.bom["product_number"], "part_key": document.bom["product_key"],
        "description": document.bom["description"],
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


def _keyed(record: dict[str, Any]) -> dict[str, Any]:
    """External-id keys of the ERP's numbers (after the code maps), so the master-data rows and the rows
    referring to them name a vendor or item by the same key even when two AAS codes map to one number."""
    return record | {"part_key": external_key(record["part_number"]),
                     "supplier_key": external_key(record["supplier_id"])}


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
        typed = _typed(value, column)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {value!r} is not a valid {column.type}: {exc}") from exc
    if column.max_length is not None and len(str(typed)) > column.max_length:
        raise ConfigError(f"{where}: {typed!r} is {len(str(typed))} characters, the column takes at most "
                          f"{column.max_length}; {_shorten_hint(column, profile, str(typed))}")
    return typed


def _shorten_hint(column: Column, profile: Profile, value: str) -> str:
    """Where the ERP's own (shorter) number for ``value`` is configured: cutting it would name another record."""
    kind = {"supplier_id": "vendor", "chosen_supplier_id": "vendor", "part_number": "item",
            "chosen_part_number": "item"}.get((column.source or "").partition(".")[2])
    if kind is None:
        return "shorten it at its source"
    return (f"map it to the ERP's {kind} number in [erp.{kind}_map] or [erp.\"{profile.name}\".{kind}_map] of "
            f"the config, the code map CSV (code_map_csv), or --erp-set {kind}_map.{value}=...")


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
