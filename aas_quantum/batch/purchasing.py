"""A batch's consolidated purchasing lists: per scenario, one list per supplier across every product,
order quantities of the same part summed (``batch --purchasing``).

Neutral columns (supplier, part number, manufacturer, unit, summed order quantity, the unit prices
and extended price the runs chose, the products that need it), as CSV per supplier and one workbook
with a sheet per supplier: the input of a purchase-requisition import.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aas_quantum.atomic import atomic_write
from aas_quantum.batch.manifest import Manifest

COLUMNS = ("SupplierId", "PartNumber", "Manufacturer", "Designation", "Unit", "OrderQuantity", "UnitPrice",
           "ExtendedPrice", "Currency", "Products")


@dataclass
class Line:
    supplier_id: str
    part_number: str
    manufacturer: str
    designation: str
    unit: str
    currency: str
    order_quantity: float = 0.0
    extended_price: float = 0.0
    products: list[str] = field(default_factory=list)

    @property
    def unit_price(self) -> float:
        """The quantity-weighted unit price (runs may have bought at different price breaks)."""
        return self.extended_price / self.order_quantity if self.order_quantity else 0.0

    def row(self) -> list[Any]:
        return [self.supplier_id, self.part_number, self.manufacturer, self.designation, self.unit,
                round(self.order_quantity, 6), round(self.unit_price, 4), round(self.extended_price, 2), self.currency,
                ", ".join(self.products)]


def consolidate(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, list[Line]]:
    """Supplier -> its lines, from the summaries of successful runs (``RunOutcome.to_json``)."""
    lines: dict[tuple[str, str, str], Line] = {}
    for outcome in outcomes:
        product = str(outcome.get("product_id", ""))
        currency = str(outcome.get("currency", ""))
        for item in outcome.get("selection") or []:
            key = (item["supplier_id"], item["part_number"], item["unit"])
            line = lines.setdefault(key, Line(item["supplier_id"], item["part_number"], item.get("manufacturer", ""),
                                              item.get("designation", ""), item["unit"], currency))
            line.order_quantity += float(item["order_quantity"])
            line.extended_price += float(item["extended_price"])
            if product not in line.products:
                line.products.append(product)
    by_supplier: dict[str, list[Line]] = defaultdict(list)
    for line in sorted(lines.values(), key=lambda x: (x.supplier_id, x.part_number)):
        by_supplier[line.supplier_id].append(line)
    return dict(by_supplier)


def write_lists(by_supplier: Mapping[str, list[Line]], folder: Path) -> list[Path]:
    """``<supplier>.csv`` per supplier and ``purchasing.xlsx`` (a sheet per supplier) in ``folder``."""
    from openpyxl import Workbook

    written = []
    workbook = Workbook()
    workbook.remove(workbook.active)
    for supplier, lines in by_supplier.items():
        path = folder / f"{_safe(supplier)}.csv"
        with atomic_write(path, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(line.row() for line in lines)
        written.append(path)
        sheet = workbook.create_sheet(_safe(supplier)[:31])
        sheet.append(COLUMNS)
        for line in lines:
            sheet.append(line.row())
    book = folder / "purchasing.xlsx"
    with atomic_write(book, "wb") as fh:
        workbook.save(fh)
    return [*written, book]


def write_purchasing(out: Path, keys: Sequence[str]) -> list[tuple[str, int, Path]]:
    """The lists of every scenario of the runs ``keys`` that ended ok, from the batch's manifest in ``out``:
    (scenario, suppliers, folder) each."""
    manifest = Manifest(out)
    try:
        entries = [e for k, e in manifest.entries().items() if k in keys]
    finally:
        manifest.close()
    written = []
    for scenario in sorted({e.scenario for e in entries if e.status == "ok"}):
        outcomes = [e.outcome for e in entries if e.scenario == scenario and e.status == "ok"]
        folder = out / "purchasing" / scenario
        written.append((scenario, len(write_lists(consolidate(outcomes), folder)) - 1, folder))
    return written


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "supplier"
