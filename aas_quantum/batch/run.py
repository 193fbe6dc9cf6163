"""Running a batch: its runs in parallel worker processes (or on a Dask cluster), each recorded in
the manifest as it finishes.

A run is executed by ``execute`` in a worker. Workers read their inputs themselves: only paths, ids
and the scenario travel. Runs the manifest says finished with unchanged inputs are skipped; a worker
that dies fails only the run it had (after one retry alone).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import queue
import signal
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

from aas_quantum.app import Repository, RunEvent, RunRequest, execute, input_fingerprint
from aas_quantum.batch.manifest import FINISHED_STATUSES, Manifest, ManifestEntry, finished
from aas_quantum.batch.plan import BatchRun, Scenario
from aas_quantum.bulk import long_running
from aas_quantum.errors import ConfigError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
STARTED = "started"  # the stage a worker reports before anything else of a run


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
              dask_address: str | None = None, broken: Sequence[tuple[str, str, int]] = ()) -> BatchResult:
    display = display or Display()
    manifest = Manifest(out)
    result = BatchResult(keys=[run.key for run in runs] + [f"*/{source}" for source, _, _ in broken])
    try:
        recorded = manifest.entries()
        for source, reason, code in broken:
            key = f"*/{source}"
            manifest.record(ManifestEntry(key, "*", "", source, "", "failed", code, reason, {}, 0.0, time.time()))
            result.failed.append((key, reason, code))
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
        manifest.record(ManifestEntry(run.key, run.scenario.name, run.shell_id, run.source.label, "",
                                      "failed", 1, reason, {}, 0.0, time.time()))
        result.failed.append((run.key, reason, 1))
        display.finished(run.key, "failed", reason)
        return
    if answer["skipped"] and entry is not None:
        result.skipped.append(run.key)
        display.finished(run.key, "skipped", "inputs unchanged")
        return
    manifest.record(ManifestEntry(run.key, run.scenario.name, run.shell_id, run.source.label,
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

