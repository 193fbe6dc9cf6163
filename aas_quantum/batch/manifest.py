"""The record of a batch in its output folder: which runs finished, with which inputs and outputs.

The manifest (SQLite, one transaction per finished run) records each run's input fingerprint (the
bytes of its files, or the server's objects it read), scenario, status and outputs; a batch started
again skips the runs that finished with unchanged inputs and redoes the rest, so Ctrl-C or SIGKILL
loses at most the runs in flight.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aas_quantum.errors import ConfigError

FINISHED_STATUSES = ("ok", "infeasible")  # a run that ended like this is not redone while its inputs stay the same


@dataclass(frozen=True)
class ManifestEntry:
    key: str
    scenario: str
    shell_id: str
    source: str
    fingerprint: str
    status: str  # ok | infeasible | failed
    exit_code: int
    reason: str
    outcome: Mapping[str, Any]
    wall_time_s: float
    finished_at: float


_MANIFEST_COLUMNS = ("key", "scenario", "shell_id", "source", "fingerprint", "status", "exit_code", "reason",
                     "outcome", "wall_time_s", "finished_at")


class Manifest:
    """``batch-manifest.sqlite`` in the output folder: one row per run, replaced when the run is redone.

    A file there that is not a manifest (not SQLite, or other tables) is refused, not taken over: it
    is left byte for byte as it was, since it may be someone's data or the record of earlier runs."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "batch-manifest.sqlite"
        self._db = sqlite3.connect(self.path, isolation_level=None)
        problem = None
        try:
            tables = {name: tuple(c[1] for c in self._db.execute(f"PRAGMA table_info({name})"))
                      for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and tables != {"runs": _MANIFEST_COLUMNS}:  # checked before anything is written to it
                def listed(items: Mapping[str, Sequence[str]]) -> str:
                    return ", ".join(f"{name}({', '.join(columns)})" for name, columns in sorted(items.items()))

                problem = (f"not a batch manifest: its tables are {listed(tables)}, a manifest's is "
                           f"{listed({'runs': _MANIFEST_COLUMNS})}")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, scenario TEXT, "
                                 "shell_id TEXT, source TEXT, fingerprint TEXT, status TEXT, exit_code INTEGER, "
                                 "reason TEXT, outcome TEXT, wall_time_s REAL, finished_at REAL)")
        except sqlite3.Error as exc:
            problem = f"cannot be used as a batch manifest: {exc}"
        if problem is not None:
            self._db.close()
            raise self._unusable(problem)

    def _unusable(self, what: str) -> ConfigError:
        return ConfigError(f"{self.path}: {what}. It is left as it is: move it away (or give another --out) to "
                           "start a new manifest; the runs it recorded are then redone")

    def record(self, entry: ManifestEntry) -> None:
        with self._db:  # one transaction: a run is in the manifest completely or not at all
            self._db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (entry.key, entry.scenario, entry.shell_id, entry.source, entry.fingerprint, entry.status,
                              entry.exit_code, entry.reason, json.dumps(entry.outcome), entry.wall_time_s,
                              entry.finished_at))

    def entries(self) -> dict[str, ManifestEntry]:
        try:
            rows = self._db.execute(f"SELECT {', '.join(_MANIFEST_COLUMNS)} FROM runs").fetchall()
        except sqlite3.Error as exc:  # a damaged page behind an intact header
            raise self._unusable(f"cannot be used as a batch manifest: {exc}") from exc
        entries = {}
        for r in rows:
            try:
                outcome = json.loads(r[8])
            except (TypeError, ValueError) as exc:
                raise self._unusable(f"run {r[0]!r}: its outcome is not JSON ({exc})") from exc
            entries[r[0]] = ManifestEntry(key=r[0], scenario=r[1], shell_id=r[2], source=r[3], fingerprint=r[4],
                                          status=r[5], exit_code=r[6], reason=r[7], outcome=outcome,
                                          wall_time_s=r[9], finished_at=r[10])
        return entries

    def close(self) -> None:
        self._db.close()


def finished(entry: ManifestEntry | None, fingerprint: str | None) -> bool:
    """Whether a recorded run stands: it ended (ok or infeasible), its inputs are unchanged, and an ok run's
    files exist. An infeasible run writes no file: its answer is the manifest row, so asking for files
    redid it (the same solve, the same answer) on every run of the batch."""
    if entry is None or entry.status not in FINISHED_STATUSES or fingerprint is None:
        return False
    if entry.fingerprint != fingerprint:
        return False
    files = (entry.outcome.get("outputs") or {})
    return entry.status == "infeasible" or all(files.get(k) and Path(files[k]).is_file() for k in ("aasx", "json"))
