"""What an ERP file says about a run: the chosen BoM, its lines and the alternatives not chosen, as plain
records every profile renders from (the ``bom``, ``line`` and ``alt`` namespaces of a profile's sources)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aas_quantum.explain import single_swap_effects
from aas_quantum.problem import BomProblem
from aas_quantum.report import selection_line
from aas_quantum.resources import ERP_FORMATS
from aas_quantum.summary import RunSummary

FORMATS = ERP_FORMATS
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
    "supplier_key", "part_key", "item_number", "line_number", "level", "parent", "quantity_per", "delivery_date",
    "document_number", "document_key",
)
ALT_FIELDS = (
    *LINE_FIELDS, "cost_delta", "objective_delta", "why_not_chosen", "chosen_part_number", "chosen_supplier_id",
)
NAMESPACES = {"bom": BOM_FIELDS, "line": LINE_FIELDS, "alt": ALT_FIELDS}


@dataclass(frozen=True)
class ErpDocument:
    """What every profile draws from: header (``bom``), chosen lines and the alternatives not chosen."""

    bom: dict[str, Any]
    lines: tuple[dict[str, Any], ...]
    alternatives: tuple[dict[str, Any], ...]


def external_key(text: str) -> str:
    """An identifier safe in ERP external ids and file names."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Spreadsheets have no time zones: every timestamp is written as UTC."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _run_key(run_id: str) -> str:
    """Eight characters of the run id, so purchase documents of two runs do not share a number."""
    return external_key(run_id).replace("_", "")[:8].upper()


def erp_document(problem: BomProblem, choice: Sequence[int], summary: RunSummary) -> ErpDocument:
    """The export source for ``choice``; ``summary`` is the run's (or a saved result's) summary."""
    number = problem.name
    finished = _naive_utc(summary.finished)
    kpis = dataclasses.asdict(summary.kpis)
    lot_size = summary.kpis.lot_size
    bom = {
        "product_id": problem.product_id, "product_number": number, "product_key": external_key(number),
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
            # the same without the dash: fits SAP's 10-character document keys (BANFN)
            "document_key": f"{bom['run_key']}{documents.get(option.supplier_id, 0):02d}",
            "position_key": external_key(position.position_id), "supplier_key": external_key(option.supplier_id),
            "part_key": external_key(option.part_number),
            "description": position.designation or option.variant.designation or option.part_number,
            "min_order_quantity": option.offer.min_order_quantity, "currency": problem.currency,
            "line_number": index + 1, "level": 1, "parent": number,
        }

    # one purchase document per supplier, numbered run key + ordinal: unique across runs and products
    # and short enough for Business Central's Code[20] (document_key: SAP's 10-character document numbers)
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
