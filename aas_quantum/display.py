"""Terminal presentation of long work: the batch's live progress (rich)."""

from __future__ import annotations

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

from aas_quantum.batch.run import Display


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
