"""The report of a batch, from its manifest: ``report.md`` (a summary people read in a merge request
or a wiki) and ``report.html`` (one self-contained file, plots embedded, opens offline).

Per product and scenario: cost, objective, greedy objective, improvement vs greedy, gap to the
proven optimum, solver, time, status, a link to the result file and, for a run that is not ok, why.
Plots: chosen vs greedy per product, solvers used (with their median time), each scenario's cost
against the first scenario's (the first in the scenario file), and the Pareto fronts of ``pareto``
runs written into the same folder.
"""

from __future__ import annotations

import html
import json
import os
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aas_quantum.atomic import atomic_write
from aas_quantum.batch.manifest import Manifest, ManifestEntry
from aas_quantum.plots import png_data_uri
from aas_quantum.problem import product_name


@dataclass(frozen=True)
class Row:
    """One run as the report shows it."""

    scenario: str
    shell_id: str
    product: str  # the product's name (``BomProblem.name``), the same in every row of the product
    status: str
    total_cost: float | None
    objective: float | None
    greedy_objective: float | None
    improvement_pct: float | None
    gap_pct: float | None
    solver: str
    wall_time_s: float
    result_file: str
    reason: str

    @classmethod
    def of(cls, entry: ManifestEntry, names: dict[str, str]) -> Row:
        """``names``: shell id -> the product name any run of it recorded (a run that failed before it
        read its product recorded none: the shell id's own segment is the last resort)."""
        outcome = entry.outcome
        kpis = outcome.get("kpis") or {}
        product = str(outcome.get("product_name") or names.get(entry.shell_id)
                      or (product_name(entry.shell_id) if entry.shell_id else ""))
        return cls(entry.scenario, entry.shell_id, product, entry.status,
                   kpis.get("total_cost"), kpis.get("objective"), kpis.get("greedy_objective"),
                   kpis.get("improvement_vs_greedy_pct"), kpis.get("gap_to_optimum_pct"),
                   str((outcome.get("solver") or {}).get("method") or ""), entry.wall_time_s,
                   str((outcome.get("outputs") or {}).get("json") or ""), entry.reason)


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _link(path: str, base: Path) -> str:
    return os.path.relpath(path, base) if path else ""


def rows_of(out: Path, keys: Collection[str] | None = None, scenarios: Sequence[str] = ()) -> list[Row]:
    """The manifest's runs (only ``keys`` when given: the manifest keeps runs of earlier batches too), in
    the order of ``scenarios`` (the scenario file's; scenarios it does not name follow, by name)."""
    manifest = Manifest(out)
    try:
        entries = manifest.entries()
    finally:
        manifest.close()
    order = {name: i for i, name in enumerate(scenarios)}
    names = {e.shell_id: str(e.outcome["product_name"]) for e in entries.values() if e.outcome.get("product_name")}
    return sorted((Row.of(e, names) for k, e in entries.items() if keys is None or k in keys),
                  key=lambda r: (order.get(r.scenario, len(order)), r.scenario, r.shell_id))


def write_report(out: Path, keys: Collection[str] | None = None, scenarios: Sequence[str] = ()) -> tuple[Path, Path]:
    """``report.md`` and ``report.html`` in ``out``, from the manifest there; ``scenarios`` are the scenario
    names in the file's order: the first is the one the others are compared with."""
    rows = rows_of(out, keys, scenarios)
    pareto = _pareto_fronts(out)
    markdown = out / "report.md"
    page = out / "report.html"
    with atomic_write(markdown) as fh:
        fh.write(_markdown(rows, out))
    with atomic_write(page) as fh:
        fh.write(_html(rows, out, pareto))
    return markdown, page


def _counts(rows: Sequence[Row]) -> str:
    statuses = [r.status for r in rows]
    return ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "infeasible", "failed") if s in statuses)


_HEADER = ("Scenario", "Product", "Status", "Total cost", "Objective", "Greedy objective", "Improvement vs greedy %",
           "Gap to optimum %", "Solver", "Time s", "Result", "Reason")
_RESULT = _HEADER.index("Result")


def _cells(row: Row, base: Path) -> list[str]:
    """A row's cells; the reason only where the run is not ok (an infeasible run's limits that cannot be
    met, a failure's cause): without it the row said only that, not why."""
    return [row.scenario, row.product, row.status, _number(row.total_cost), _number(row.objective),
            _number(row.greedy_objective), _number(row.improvement_pct, 3), _number(row.gap_pct, 3), row.solver,
            _number(row.wall_time_s, 1), _link(row.result_file, base), "" if row.status == "ok" else row.reason]


def _markdown(rows: Sequence[Row], out: Path) -> str:
    lines = [f"# Batch report ({len(rows)} runs: {_counts(rows)})", "",
             "Improvement vs greedy and gap to optimum are on the objective (cost plus the weighted CO2, "
             "risk and concentration terms).", "",
             "| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    for row in rows:
        cells = _cells(row, out)
        if cells[_RESULT]:
            cells[_RESULT] = f"[{Path(cells[_RESULT]).name}]({cells[_RESULT]})"
        lines.append("| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |")
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        lines += ["", "## Failed runs", ""] + [f"- `{r.scenario}` / `{r.shell_id}`: {r.reason}" for r in failed]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------- HTML


def _plots(rows: Sequence[Row], pareto: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(title, png_data_uri(figure)) for title, figure in figures(rows, pareto)]


def figures(rows: Sequence[Row], pareto: Sequence[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The report's matplotlib figures with their titles (open: the caller saves and closes them). ``rows``
    come in scenario file order (``rows_of``): their first scenario is the one the deltas compare with."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: list[tuple[str, Any]] = []
    solved = [r for r in rows if r.objective is not None]
    scenarios = list(dict.fromkeys(r.scenario for r in solved))
    for scenario in scenarios:
        mine = [r for r in solved if r.scenario == scenario]
        figure, axes = plt.subplots(figsize=(max(6, len(mine) * 0.6), 3.5))
        x = range(len(mine))
        axes.bar([i - 0.2 for i in x], [r.objective or 0 for r in mine], 0.4, label="chosen")
        axes.bar([i + 0.2 for i in x], [r.greedy_objective or 0 for r in mine], 0.4, label="greedy")
        axes.set_xticks(list(x), [r.product[:18] for r in mine], rotation=60, ha="right")
        axes.set_ylabel("objective")
        axes.legend()
        plots.append((f"Chosen vs greedy objective per product ({scenario})", figure))
    methods = sorted({r.solver for r in solved})
    if methods:
        figure, axes = plt.subplots(figsize=(6, 3))
        times = [statistics.median([r.wall_time_s for r in solved if r.solver == m]) for m in methods]
        axes.bar(methods, times)
        for i, m in enumerate(methods):
            axes.annotate(f"{sum(r.solver == m for r in solved)} runs", (i, times[i]), ha="center", va="bottom")
        axes.set_ylabel("median run time, s")
        plots.append(("Solvers used and their median run time", figure))
    delta = _deltas(rows)
    if delta is not None:
        plots.append(delta)
    for front in pareto:
        figure, axes = plt.subplots(figsize=(5, 3.5))
        points = front["points"]
        axes.plot([p["x"] for p in points], [p["y"] for p in points], "o-")
        axes.set_xlabel(front["x"])
        axes.set_ylabel(front["y"])
        name = front.get("product_name") or product_name(str(front.get("product_id", "")))
        plots.append((f"Pareto front of {name}", figure))
    return plots


def _deltas(rows: Sequence[Row]) -> tuple[str, Any] | None:
    """Each scenario's total cost against the first scenario's, per product: grouped bars, since the
    products are categories (a line between them drew a trend across unrelated products)."""
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r.scenario for r in rows))
    solved = [r for r in rows if r.total_cost is not None]
    if len(scenarios) < 2:
        return None
    first = {r.shell_id: r for r in solved if r.scenario == scenarios[0]}
    others = [s for s in scenarios[1:] if any(r.scenario == s and r.shell_id in first for r in solved)]
    if not others:
        return None
    products = list(dict.fromkeys(r.shell_id for r in solved if r.scenario in others and r.shell_id in first))
    figure, axes = plt.subplots(figsize=(max(7, len(products) * 0.5 * len(others)), 3.5))
    width = 0.8 / len(others)
    for n, scenario in enumerate(others):
        mine = {r.shell_id: r for r in solved if r.scenario == scenario}
        at = [(i, 100 * ((mine[p].total_cost or 0) / (first[p].total_cost or 1) - 1))
              for i, p in enumerate(products) if p in mine]
        axes.bar([i - 0.4 + width * (n + 0.5) for i, _ in at], [d for _, d in at], width, label=scenario)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xticks(range(len(products)), [first[p].product[:18] for p in products], rotation=60, ha="right")
    axes.set_ylabel(f"total cost vs {scenarios[0]}, %")
    axes.legend()
    return f"Scenario deltas (total cost against {scenarios[0]}, the first scenario)", figure


def _pareto_fronts(out: Path) -> list[dict[str, Any]]:
    fronts = []
    for path in sorted(out.glob("pareto-*.json")):
        try:
            fronts.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return fronts


def _html(rows: Sequence[Row], out: Path, pareto: Sequence[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
    body = []
    for row in rows:
        cells = _cells(row, out)
        link = cells[_RESULT]
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells[:_RESULT])
        tds += f'<td><a href="{html.escape(link)}">{html.escape(Path(link).name)}</a></td>' if link else "<td></td>"
        tds += "".join(f'<td class="reason">{html.escape(c)}</td>' for c in cells[_RESULT + 1:])
        body.append(f'<tr class="{html.escape(row.status)}">{tds}</tr>')
    figures = "".join(f"<h2>{html.escape(title)}</h2><img alt=\"{html.escape(title)}\" src=\"{data}\">"
                      for title, data in _plots(rows, pareto))
    failed = "".join(f"<li><code>{html.escape(r.scenario)}</code> / <code>{html.escape(r.shell_id)}</code>: "
                     f"{html.escape(r.reason)}</li>" for r in rows if r.status == "failed")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aas-quantum batch report</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:right}td:nth-child(-n+3),td.reason,th{text-align:left}tr.failed{background:#fdd}"
        "tr.infeasible{background:#ffd}img{max-width:100%}</style></head><body>"
        f"<h1>Batch report</h1><p>{len(rows)} runs: {html.escape(_counts(rows))}. Improvement vs greedy and gap to "
        "optimum are on the objective (cost plus the weighted CO2, risk and concentration terms).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        + (f"<h2>Failed runs</h2><ul>{failed}</ul>" if failed else "") + figures + "</body></html>\n")
