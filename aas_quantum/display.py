"""The terminal's view of the work: run progress, result and selection tables, explanations, fronts,
and the batch's live progress (rich). Commands decide what to show; how it looks is decided here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from aas_quantum.aas.mapping import SubmodelCheck
from aas_quantum.app import Listener, OutcomeStatus, RunEvent, RunOutcome, RunState, RunSummary, SavedResult
from aas_quantum.batch import MEASURES, Display, Front
from aas_quantum.explain import PositionExplanation
from aas_quantum.problem import BomProblem
from aas_quantum.sanitize import terminal_text as text


class RichBatchDisplay(Display):
    """An overall bar with ETA and, per running product, its stage and the solver's progress; on a
    terminal that is not interactive (a log, CI), one line per finished run instead."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
        self.overall: TaskID | None = None
        self.rows: dict[str, TaskID] = {}

    def start(self, total: int, skipped: int) -> None:
        if skipped:
            self.console.print(f"{skipped} of {total} runs finished earlier with unchanged inputs: skipped")
        if self.live:
            self.progress.start()
            self.overall = self.progress.add_task("batch", total=total, completed=skipped)

    def running(self, key: str, stage: str, fraction: float) -> None:
        if not self.live:
            return
        if key not in self.rows:
            self.rows[key] = self.progress.add_task(f"  {escape(key[-60:])}", total=1.0)
        self.progress.update(self.rows[key], completed=fraction, description=f"  {escape(key[-50:])}: {escape(stage)}")

    def finished(self, key: str, status: str, detail: str) -> None:
        if self.live:
            if key in self.rows:
                self.progress.remove_task(self.rows.pop(key))
            if self.overall is not None:
                self.progress.advance(self.overall)
        self.console.print(f"{escape(status):10} {escape(key)}  {escape(detail[:200])}", highlight=False)

    def stop(self) -> None:
        if self.live:
            self.progress.stop()


TABLE_LINES = 100  # selection lines shown on the terminal; every line is in the result and ERP files


def print_validated(console: Console, shell_id: str, problem: BomProblem) -> None:
    console.print(f"[green]ok[/] {text(shell_id)}: {len(problem.positions)} positions, {problem.n_options} "
                  f"options, {len(problem.constraints)} constraints")
    for note in problem.pruned:
        console.print(f"  pruned {text(note)}", highlight=False)


def print_checked(console: Console, checks: Sequence[SubmodelCheck]) -> int:
    """What ``validate`` checked in inputs without a product, per kind with the submodel ids, and each
    defect with its place; returns the number of submodels with a defect."""
    kinds = list(dict.fromkeys(c.kind for c in checks))
    for kind in kinds:
        mine = [c for c in checks if c.kind == kind]
        errors = sum(c.error is not None for c in mine)
        console.print(f"checked {len(mine)} {text(kind)} submodel{'s' if len(mine) != 1 else ''} "
                      f"({', '.join(text(c.submodel_id) for c in mine)}), {errors} error{'s' if errors != 1 else ''}",
                      highlight=False, soft_wrap=True)
        for check in mine:
            if check.error is not None:
                console.print(f"  [red]error[/] {text(str(check.error))}", highlight=False, soft_wrap=True)
    return sum(c.error is not None for c in checks)


@contextlib.contextmanager
def progress(console: Console, quiet: bool) -> Iterator[Listener]:
    """The run's stage: a spinner on a terminal, one plain line per stage when piped or logged (a long run
    never leaves a blank screen), nothing when quiet."""
    if quiet:
        yield lambda event: None
        return
    if not console.is_terminal:
        def line(event: RunEvent) -> None:
            if event.state == RunState.SOLVING:
                detail = f" ({text(event.detail)})" if event.detail else ""
                console.print(f"{text(event.product_id)}: {text(event.stage)}{detail}", highlight=False,
                              soft_wrap=True)
        yield line
        return
    with console.status("starting") as status:
        def show(event: RunEvent) -> None:
            if event.state == RunState.SOLVING:
                detail = f", {text(event.detail)}" if event.detail else ""
                status.update(f"{text(event.product_id)}: {text(event.stage)} ({(event.progress or 0):.0%}{detail})")
        yield show


def print_outcomes(console: Console, err_console: Console, outcomes: Sequence[RunOutcome], deliveries: Sequence[str],
                   to_server: bool, tables: bool) -> None:
    """Each run's tables and what it wrote, what each sink confirmed (MQTT topics acknowledged, OPC UA
    nodes written), then the failures, each named by its product when there are several runs."""
    for outcome in outcomes:
        _print_outcome(console, outcome, to_server, tables)
    for line in deliveries:
        console.print(text(line), highlight=False)
    print_failures(err_console, outcomes)


def print_failures(console: Console, outcomes: Sequence[RunOutcome]) -> None:
    failed = [o for o in outcomes if o.status != OutcomeStatus.OK]
    for outcome in failed:
        console.print(f"[bold red]error:[/] {text(outcome.shell_id)}: {text(outcome.reason)}"
                      if len(outcomes) > 1 else f"[bold red]error:[/] {text(outcome.reason)}",
                      highlight=False, soft_wrap=True)
    if failed and len(outcomes) > 1:
        console.print(f"{len(failed)} of {len(outcomes)} products failed", highlight=False)


def _print_outcome(console: Console, outcome: RunOutcome, to_server: bool, tables: bool) -> None:
    if outcome.summary is None or outcome.outputs is None:
        return  # reported with the errors
    written = outcome.outputs
    if tables:
        print_summary(console, outcome.summary)
    if written.aasx is None or written.json is None:
        console.print("\n--dry-run: nothing written (no files, nothing to the server)")
        return
    console.print(f"\nresult written to [bold]{text(written.aasx)}[/] and [bold]{text(written.json)}[/]")
    print_erp(console, list(written.erp), written.erp_import_order)
    if written.plot is not None:
        console.print(f"plot written to [bold]{text(written.plot)}[/]")
    if written.server:
        console.print(f"result submodel (version {text(written.version)}) written to {text(written.server)}",
                      highlight=False)
    elif to_server:
        console.print("--dry-run: nothing written to the server")


def print_erp(console: Console, paths: Sequence[Path], import_order: Sequence[str] = ()) -> None:
    """The ERP files as written (per profile in its import order), then each profile's order to import them."""
    if paths:
        console.print(f"ERP export: {len(paths)} files")
        for path in paths:
            console.print(f"  {path}", highlight=False)
        for note in import_order:
            console.print(f"  {note}", highlight=False)


def print_summary(console: Console, summary: RunSummary) -> None:
    cur, kpis, rec = summary.currency, summary.kpis, summary.solver
    shown = summary.selection[:TABLE_LINES]
    caption = None if len(shown) == len(summary.selection) else \
        f"first {len(shown)} of {len(summary.selection):,} positions; every line is in the result and ERP files"
    table = Table(title=f"Selection for {text(summary.product_id)}", title_justify="left", caption=caption,
                  caption_justify="left")
    for col, justify in [("Pos", "left"), ("Designation", "left"), ("Part number", "left"), ("Supplier", "left"),
                         ("Qty", "right"), ("Order", "right"), (f"Unit {cur}", "right"), (f"Ext. {cur}", "right"),
                         ("Lead d", "right")]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ln in shown:
        table.add_row(text(ln.position_id), text(ln.designation), text(ln.part_number), text(ln.supplier_id),
                      f"{ln.quantity:g} {text(ln.unit)}",
                      f"{ln.order_quantity:g}", f"{ln.unit_price:,.2f}", f"{ln.extended_price:,.2f}",
                      f"{ln.lead_time_days:g}")
    console.print(table)

    totals = Table(title="Totals", title_justify="left", show_header=False)
    totals.add_column(justify="left")
    totals.add_column(justify="right")
    rows = [
        ("Status", f"{summary.status} ({rec.method}, {rec.backend})"),
        ("Objective", f"{kpis.objective:,.2f} {cur}"),
        ("Total cost", f"{kpis.total_cost:,.2f} {cur}"),
        ("Weight", f"{kpis.total_weight_kg:,.3f} kg"),
        ("Performance", f"{kpis.total_performance:,.1f}"),
        ("CO2e", f"{kpis.total_co2e_kg:,.2f} kg"),
        ("Longest lead time", f"{kpis.max_lead_time_days:g} d"),
        ("Suppliers used", str(kpis.suppliers_used)),
        ("Greedy objective", "n/a" if kpis.greedy_objective is None else f"{kpis.greedy_objective:,.2f} {cur}"),
        ("Improvement vs greedy", "n/a" if kpis.improvement_vs_greedy_pct is None
         else f"{kpis.improvement_vs_greedy_pct:.2f} %"),
        ("Improvement vs greedy+ls", "n/a" if kpis.improvement_vs_greedy_ls_pct is None
         else f"{kpis.improvement_vs_greedy_ls_pct:.2f} %"),
        ("Gap to optimum", "n/a" if kpis.gap_to_optimum_pct is None
         else f"{kpis.gap_to_optimum_pct:.2f} %" + ("" if kpis.optimum_proven else " (to bound)")),
        ("Solver wall time", f"{rec.wall_time_s:.3f} s"),
    ]
    source = rec.details.get("selection_from")
    if source:  # a baseline beat the requested solver: the better selection is returned, and said so
        own = rec.details.get("own_objective")
        rows[0] = ("Status", f"{summary.status} (selection by the {source} baseline; {rec.method} requested)")
        rows.insert(1, (f"{rec.method} on its own", f"{rec.details.get('own_status')}"
                        + ("" if own is None else f", objective {own:,.2f} {cur}")))
    if rec.qubits:
        rows.append(("Qubits / reps / shots", f"{rec.qubits} / {rec.reps} / {rec.shots}"))
    if rec.p_feasible is not None:
        rows.append(("P(feasible)", f"{rec.p_feasible:.3f}"))
    for k, v in rows:
        totals.add_row(k, v)
    console.print(totals)

    checks = Table(title="Constraints", title_justify="left")
    for col in ("Constraint", "Value", "Bound", "Slack", "OK"):
        checks.add_column(col, justify="left" if col == "Constraint" else "right")
    for c in summary.constraints:
        checks.add_row(text(c.name), f"{c.value:,.3f}", f"{c.sense} {c.bound:,.3f}", f"{c.slack:,.3f}",
                       "[green]yes[/]" if c.satisfied else "[red]NO[/]")
    if summary.constraints:
        console.print(checks)


def print_result(console: Console, saved: SavedResult) -> None:
    """A stored result submodel: its key figures as stored, then its selection."""
    submodel, summary, picks = saved.submodel, saved.summary, saved.picks
    version = submodel.administration.version if submodel.administration else "?"
    table = Table(title=f"{text(submodel.id)} (version {text(version)})", title_justify="left", show_header=False)
    for name, value in saved.figures():
        table.add_row(text(name), _figure(name, value))
    console.print(table)
    lines = Table(title=f"Selection ({len(picks)} positions)", title_justify="left")
    for column, justify in (("Pos", "left"), ("Part number", "left"), ("Supplier", "left"),
                            (f"Ext. {summary.currency}", "right")):
        lines.add_column(column, justify=justify)  # type: ignore[arg-type]
    for pick in picks:
        lines.add_row(text(pick.position_id), text(pick.part_number), text(pick.supplier_id),
                      f"{pick.extended_price:,.2f}")
    console.print(lines)


def _figure(name: str, value: object) -> str:
    """A stored value for people: money to the cent, other numbers without float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return text(value)
    number = float(value)
    if any(word in name for word in ("Cost", "Objective", "Bound", "Price")):
        return f"{number:,.2f}"
    return f"{number:,.6g}"


def print_explanation(console: Console, summary: RunSummary, explanation: Sequence[PositionExplanation]) -> None:
    cur = summary.currency
    table = Table(title=f"Why this selection for {text(summary.product_id)}", title_justify="left")
    for column in ("Pos", "Chosen", f"Ext. {cur}", "Why", "Next best", f"+ objective {cur}"):
        table.add_column(column, justify="right" if cur in column else "left")
    for item in explanation:
        nxt = item.next_best
        table.add_row(text(item.position_id), text(f"{item.chosen.part_number} @ {item.chosen.supplier_id}"),
                      f"{item.chosen.extended_price:,.2f}", text(item.reason),
                      "none: every feasible selection needs the chosen option" if nxt is None else text(
                          f"{nxt.option.part_number} @ {nxt.option.supplier_id}"
                          + (f" (re-optimised: {nxt.others_changed} other position(s) change)"
                             if nxt.others_changed else "")),
                      "" if nxt is None else f"{nxt.objective_change:+,.2f}")
    console.print(table)


def print_encoding(console: Console, encoding: str, product_id: str, report: Mapping[str, object]) -> None:
    table = Table(title=f"{encoding} encoding of {text(product_id)}", title_justify="left", show_header=False)
    for key, value in report.items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)


def print_front(console: Console, front: Front) -> None:
    measure, _, unit = MEASURES[front.y]
    table = Table(title=f"Pareto front of {text(front.product_id)} ({len(front.points)} points)", title_justify="left")
    for column in (f"Total cost {front.currency}", f"{measure} ({unit})", "Gap to optimum %", "Bound"):
        table.add_column(column, justify="right")
    for point in front.points:
        table.add_row(f"{point.cost:,.2f}", f"{point.measure:,.3f}",
                      "" if point.gap_pct is None else f"{point.gap_pct:.3f}",
                      "none" if point.bound is None else f"{point.bound:,.3f}")
    console.print(table)
