"""Batch runs: many products x scenarios, in parallel worker processes (or on a Dask cluster),
resumable through a manifest in the output folder.

A run is one product under one scenario, executed by ``execute`` in a worker. The manifest
(SQLite, one transaction per finished run) records each run's input fingerprint (the bytes of its
files, or the server's objects it read), scenario, status and outputs; a batch started again skips
the runs that finished with unchanged inputs and redoes the rest, so Ctrl-C or SIGKILL loses at most
the runs in flight. Workers read their inputs themselves: only paths, ids and the scenario travel.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import queue
import signal
import sqlite3
import sys
import time
import tomllib
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

from aas_quantum.aas.server import ServerSettings
from aas_quantum.app.events import RunEvent
from aas_quantum.app.execute import execute
from aas_quantum.app.repository import FileRepository, Repository, ServerRepository, input_fingerprint
from aas_quantum.app.request import RequestOverrides, RunRequest
from aas_quantum.bulk import long_running
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, Location

FINISHED_STATUSES = ("ok", "infeasible")  # a run that ended like this is not redone while its inputs stay the same
# characters: a scenario's results are a folder named after it, and 60 characters of any script fit the
# 255 bytes a file system allows a name
SCENARIO_NAME_MAX = 60
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
STARTED = "started"  # the stage a worker reports before anything else of a run


@dataclass(frozen=True)
class Scenario:
    """A what-if: solver settings and overrides of the request submodel, applied to every product."""

    name: str = "baseline"
    method: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    overrides: RequestOverrides = field(default_factory=RequestOverrides)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "parameters": dict(self.parameters),
                "overrides": self.overrides.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scenario:
        return cls(data["name"], data.get("method"), dict(data.get("parameters") or {}),
                   RequestOverrides.of(data.get("overrides") or {}))


def load_scenarios(path: Path | None) -> list[Scenario]:
    """``[[scenario]]`` tables of a TOML file: ``name``, ``method``, ``[scenario.parameters]`` (solver
    parameters), ``[scenario.limits]`` / ``[scenario.weights]`` (RequestOverrides fields) and
    ``exclude_suppliers``. Without a file: one scenario, the requests as they are."""
    if path is None:
        return [Scenario()]
    from aas_quantum import solvers

    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the scenario file: {exc}") from exc
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no [[scenario]] tables")
    scenarios = []
    for i, table in enumerate(tables):
        where = f"{path}: scenario {i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a [[scenario]] table, got {table!r}")
        unknown = sorted(set(table) - {"name", "method", "parameters", "limits", "weights", "exclude_suppliers"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        name = table.get("name")
        if not isinstance(name, str) or not name or any(c in name for c in "/\\") or name.startswith(".") \
                or not name.isprintable():
            raise ConfigError(f"{where}: name must be a non-empty folder name, got {name!r}")
        if len(name) > SCENARIO_NAME_MAX:
            raise ConfigError(f"{where}: name {name[:40]!r}... is {len(name)} characters long; a scenario name "
                              f"names a folder and may have at most {SCENARIO_NAME_MAX}")
        sections = {key: table.get(key, {}) for key in ("limits", "weights", "parameters")}
        for key, section in sections.items():
            if not isinstance(section, dict):
                raise ConfigError(f"{where} ({name}): [scenario.{key}] must be a table, got {section!r}")
        origin = {key: f"[scenario.{part}] {key}" for part in ("limits", "weights") for key in sections[part]}
        origin["exclude_suppliers"] = "exclude_suppliers"
        try:
            overrides = RequestOverrides.of({**sections["limits"], **sections["weights"],
                                             **({"exclude_suppliers": table["exclude_suppliers"]}
                                                if "exclude_suppliers" in table else {})},
                                            origin.__getitem__)
            method = table.get("method")
            parameters = {k: solvers.parse_parameter(k, v, f"[scenario.parameters] {k}")
                          for k, v in sections["parameters"].items()}
            if method is not None:
                solvers.spec(method)
                solvers.check_parameters(method, parameters)
        except (ValueError, AasQuantumError) as exc:
            raise ConfigError(f"{where} ({name}): {exc}") from exc
        scenarios.append(Scenario(name, method, parameters, overrides))
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"{path}: scenario names repeat: {', '.join(repeated)}")
    return scenarios


@dataclass(frozen=True)
class Source:
    """Where a product's inputs are: files (a package, plus shared supplier files), or the AAS server."""

    files: tuple[str, ...] = ()
    server: ServerSettings | None = None

    def repository(self) -> Repository:
        if self.server is not None:
            return ServerRepository(self.server)
        return FileRepository([Path(f) for f in self.files])

    def file_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in self.files:
            digest.update(Path(name).read_bytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class BatchRun:
    source: Source
    shell_id: str
    scenario: Scenario

    @property
    def key(self) -> str:
        return f"{self.scenario.name}/{self.shell_id}"


def input_files(paths: Sequence[Path], list_file: Path | None = None) -> list[Path]:
    """Packages to run: files, folders (their .aasx/.json/.xml, sorted), glob patterns, and the lines of a list file."""
    given = list(paths)
    if list_file is not None:
        base = list_file.parent
        given += [base / line.strip() for line in list_file.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    found: list[Path] = []
    for path in given:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in (".aasx", ".json", ".xml"))
        elif any(c in str(path) for c in "*?["):
            found += sorted(Path().glob(str(path))) if not path.is_absolute() else sorted(
                Path(path.anchor).glob(str(path.relative_to(path.anchor))))
        elif path.is_file():
            found.append(path)
        else:
            raise BomInputError("no such file or folder", Location(str(path)))
    return list(dict.fromkeys(found))


def plan(files: Sequence[Path], shared: Sequence[Path], server: ServerSettings | None, scenarios: Sequence[Scenario],
         ) -> tuple[list[BatchRun], list[tuple[str, str]]]:
    """Every product x scenario, and the sources that could not even be listed (with the reason).

    A product id held by two sources is refused before anything runs: a run's key, its manifest row
    and its result files are named by the product id, so one of the two results would replace the
    other (and every re-run would redo one of them)."""
    sources: list[Source] = [Source(files=(str(f), *map(str, shared))) for f in files]
    if server is not None:
        sources.append(Source(server=server))
    runs: list[BatchRun] = []
    broken: list[tuple[str, str]] = []
    holders: dict[str, list[str]] = {}
    for source in sources:
        try:
            repository = source.repository()
            try:
                products = repository.products()
            finally:
                repository.close()
        except Exception as exc:  # a broken package is that package's failure, not the batch's
            broken.append((_source_label(source), str(exc)))
            continue
        for shell_id in products:
            holders.setdefault(shell_id, []).append(_source_label(source))
        runs += [BatchRun(source, shell_id, scenario) for scenario in scenarios for shell_id in products]
    repeated = [f"product {shell_id} is in {' and '.join(labels)}" for shell_id, labels in holders.items()
                if len(labels) > 1]
    if repeated:
        raise BomInputError("; ".join(repeated) + ": a batch keeps one result per product id and scenario; give "
                            "each package its own product id, or run the packages in separate batches (--out)")
    return runs, broken


# ------------------------------------------------------------------------------------ manifest


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
    """Whether a recorded run stands: it ended (ok or infeasible), its inputs are unchanged, its files exist."""
    if entry is None or entry.status not in FINISHED_STATUSES or fingerprint is None:
        return False
    files = (entry.outcome.get("outputs") or {})
    return entry.fingerprint == fingerprint and all(files.get(k) and Path(files[k]).is_file() for k in ("aasx", "json"))


# ------------------------------------------------------------------------------------ the worker


def _server_fingerprint(repository: Repository, shell_id: str) -> str:
    return input_fingerprint(repository.read(shell_id), shell_id)


def run_fingerprint(inputs: str, scenario: Scenario) -> str:
    """What a run's result depends on: its inputs' fingerprint and its scenario."""
    return hashlib.sha256(f"{inputs}|{json.dumps(scenario.to_json(), sort_keys=True)}".encode()).hexdigest()


def run_one(run: BatchRun, out: str, previous: str | None, known: str | None = None, progress: Any = None
            ) -> dict[str, Any]:
    """One run, in a worker process: fingerprint (``known`` when the client could compute it from the
    files' bytes; read from the server otherwise), execute (unless the fingerprint matches ``previous``:
    then ``skipped``). ``progress`` is a queue for (key, stage, fraction) tuples."""
    long_running()  # a worker runs run after run: each run's package must go back to the collector
    started = time.perf_counter()
    if progress is not None:  # first: the batch knows which runs a worker that dies had in flight
        with contextlib.suppress(Exception):  # a display that went away must not fail the run
            progress.put((run.key, STARTED, 0.0))
    repository = run.source.repository()
    try:
        fingerprint = known or run_fingerprint(_server_fingerprint(repository, run.shell_id), run.scenario)
        if previous is not None and previous == fingerprint:
            return {"skipped": True, "fingerprint": fingerprint}

        def tell(event: RunEvent) -> None:
            if progress is not None and event.progress is not None:
                with contextlib.suppress(Exception):  # a display that went away must not fail the run
                    progress.put((run.key, event.stage or event.state.value, event.progress))

        request = RunRequest(product=run.shell_id, method=run.scenario.method, parameters=run.scenario.parameters,
                             out=Path(out) / run.scenario.name, overrides=run.scenario.overrides)
        outcome = execute(request, repository, [tell])
    finally:
        repository.close()
    return {"skipped": False, "fingerprint": fingerprint, "outcome": outcome.to_json(),
            "status": outcome.status.value, "exit_code": outcome.exit_code, "reason": outcome.reason,
            "wall_time_s": time.perf_counter() - started}


def _source_label(source: Source) -> str:
    return source.files[0] if source.files else "server"


# ------------------------------------------------------------------------------------ the batch


@dataclass
class BatchResult:
    keys: list[str] = field(default_factory=list)  # every run of this batch (skipped ones included)
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)  # key, reason, exit class

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else the number of failed runs (at most 100)."""
        return min(len(self.failed), 100)


class Display:
    """What the batch tells its user; the CLI gives a rich one, tests a quiet one."""

    def start(self, total: int, skipped: int) -> None: ...

    def running(self, key: str, stage: str, fraction: float) -> None: ...

    def finished(self, key: str, status: str, detail: str) -> None: ...

    def stop(self) -> None: ...


def run_batch(runs: Sequence[BatchRun], out: Path, workers: int, force: bool = False, display: Display | None = None,
              dask_address: str | None = None, broken: Sequence[tuple[str, str]] = ()) -> BatchResult:
    display = display or Display()
    manifest = Manifest(out)
    result = BatchResult(keys=[run.key for run in runs] + [f"*/{source}" for source, _ in broken])
    try:
        recorded = manifest.entries()
        for source, reason in broken:
            key = f"*/{source}"
            manifest.record(ManifestEntry(key, "*", "", source, "", "failed", 2, reason, {}, 0.0, time.time()))
            result.failed.append((key, reason, 2))
        pending: list[tuple[BatchRun, str | None, str | None]] = []
        file_prints: dict[tuple[str, ...], str] = {}  # each package hashed once, whatever its scenarios
        for run in runs:
            entry = None if force else recorded.get(run.key)
            known = None  # a server's inputs are fingerprinted by the worker that reads them
            if run.source.server is None:
                if run.source.files not in file_prints:
                    file_prints[run.source.files] = run.source.file_fingerprint()
                known = run_fingerprint(file_prints[run.source.files], run.scenario)
            if finished(entry, known):
                result.skipped.append(run.key)
            else:
                previous = entry.fingerprint if entry and entry.status in FINISHED_STATUSES and not force else None
                pending.append((run, previous if run.source.server is not None else None, known))
        display.start(len(runs), len(result.skipped))
        execute_runs = _dask_runs if dask_address else _process_runs
        for run, answer in execute_runs(pending, out, workers, display, dask_address or ""):
            _settle(run, answer, manifest, result, display, recorded.get(run.key))
    finally:
        display.stop()
        manifest.close()
    return result


def _settle(run: BatchRun, answer: dict[str, Any] | BaseException, manifest: Manifest, result: BatchResult,
            display: Display, entry: ManifestEntry | None) -> None:
    """Record one finished run (written before the next is looked at)."""
    if isinstance(answer, BaseException):  # the worker died (killed, out of memory): that run's failure
        reason = f"worker failed: {type(answer).__name__}: {answer}"
        manifest.record(ManifestEntry(run.key, run.scenario.name, run.shell_id, _source_label(run.source), "",
                                      "failed", 1, reason, {}, 0.0, time.time()))
        result.failed.append((run.key, reason, 1))
        display.finished(run.key, "failed", reason)
        return
    if answer["skipped"] and entry is not None:
        result.skipped.append(run.key)
        display.finished(run.key, "skipped", "inputs unchanged")
        return
    manifest.record(ManifestEntry(run.key, run.scenario.name, run.shell_id, _source_label(run.source),
                                  answer["fingerprint"], answer["status"], answer["exit_code"], answer["reason"],
                                  answer["outcome"], answer["wall_time_s"], time.time()))
    if answer["status"] == "failed":
        result.failed.append((run.key, answer["reason"], answer["exit_code"]))
        display.finished(run.key, "failed", answer["reason"])
    else:
        result.done.append(run.key)
        kpis = answer["outcome"].get("kpis") or {}
        display.finished(run.key, answer["status"], f"{kpis.get('total_cost', 0):,.2f}" if kpis else answer["reason"])


@contextlib.contextmanager
def _capped_threads() -> Iterator[None]:
    """Each worker process gets one BLAS / numba thread, so N workers use N cores, not N x cores."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


Pending = tuple[BatchRun, str | None, str | None]  # a run, the fingerprint it finished with before, its known one
Answer = tuple[BatchRun, dict[str, Any] | BaseException]


def _process_runs(pending: Sequence[Pending], out: Path, workers: int, display: Display, _: str) -> Iterator[Answer]:
    """The runs in worker processes. A worker that dies (SIGKILL, the OOM killer) breaks the whole
    pool: every run not yet finished comes back BrokenProcessPool. Those that had not started go on in
    a fresh pool; those in flight (which one was in the dead worker is not known) are retried once
    each, alone in a fresh worker, where a death is that run's own and the run has the machine's
    memory to itself: only a run that kills its worker again fails."""
    import multiprocessing

    if not pending:
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads (the display's)
    manager = SyncManager(ctx=context)
    manager.start(_die_with_parent, (os.getpid(),))
    progress: Any = manager.Queue()
    try:
        todo, suspects = list(pending), []
        while todo:
            in_flight, not_started = yield from _pool(todo, workers, out, progress, display, context)
            if not in_flight:  # lost before any was seen starting: each may be the one
                in_flight, not_started = not_started, []
            suspects += in_flight
            todo = not_started
        for item in suspects:
            in_flight, not_started = yield from _pool([item], 1, out, progress, display, context)
            if in_flight or not_started:
                yield item[0], BrokenProcessPool("its worker process died twice (killed: by the out-of-memory "
                                                 "killer, or a signal)")
    finally:
        manager.shutdown()


def _pool(items: Sequence[Pending], workers: int, out: Path, progress: Any, display: Display, context: Any
          ) -> Generator[Answer, None, tuple[list[Pending], list[Pending]]]:
    """One pool over ``items``, yielding each finished run; returns the runs it lost to a dead worker:
    those seen starting (``run_one`` says so first) and those not."""
    started: set[str] = set()
    lost: list[Pending] = []
    with _capped_threads(), ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context,
                                                initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        futures: dict[Future[dict[str, Any]], Pending] = {
            pool.submit(run_one, run, str(out), previous, known, progress): (run, previous, known)
            for run, previous, known in items}
        waiting = set(futures)
        while waiting:
            started |= _drain(progress, display)
            ready = [f for f in waiting if f.done()]
            if not ready:
                time.sleep(0.1)
                continue
            for future in ready:
                waiting.discard(future)
                try:
                    yield futures[future][0], future.result()
                except BrokenProcessPool:
                    lost.append(futures[future])
                except Exception as exc:
                    yield futures[future][0], exc
    started |= _drain(progress, display)
    return [i for i in lost if i[0].key in started], [i for i in lost if i[0].key not in started]


def _die_with_parent(parent: int) -> None:
    """Initializer of the batch's worker and manager processes: they die with the batch. A batch
    killed by SIGKILL (kill -9, the OOM killer) runs no cleanup, and its workers would solve on and
    then wait for work forever, holding memory and cores (Linux: the kernel's parent-death signal)."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the batch died before the signal was asked for
        os._exit(1)


def _drain(progress: Any, display: Display) -> set[str]:
    """Show what the workers said; returns the keys of the runs that said they started."""
    started: set[str] = set()
    while True:
        try:
            key, stage, fraction = progress.get_nowait()
        except (queue.Empty, OSError, EOFError):
            return started
        if stage == STARTED:
            started.add(key)
        display.running(key, stage, fraction)


def _dask_runs(pending: Sequence[tuple[BatchRun, str | None, str | None]], out: Path, workers: int, display: Display,
               address: str) -> Iterator[tuple[BatchRun, dict[str, Any] | BaseException]]:
    """The same runs on a Dask cluster: workers read their inputs themselves (shared storage or the
    AAS server) and write their outputs to ``out``, which must be a path every worker sees."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ConfigError("--dask needs dask.distributed: pip install 'aas-quantum[dask]'") from exc
    if not pending:
        return
    with Client(address, timeout="30s") as client:
        futures = {client.submit(run_one, run, str(out.resolve()), previous, known, None, pure=False): run
                   for run, previous, known in pending}
        for future in dask_completed(list(futures)):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                yield futures[future], exc

