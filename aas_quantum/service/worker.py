"""``JobRunner``: runs queued jobs through ``execute`` on a bounded number of threads.

Each running job sends heartbeats (progress and stage included) so another instance can requeue
it when this process dies; a job whose heartbeat is refused (cancelled, or taken over after this
worker was presumed dead) is stopped at its next stage boundary. On shutdown the runner stops
claiming, lets running jobs finish within a grace period and requeues the rest: their run id is
kept, so the re-run's write is recognised as the same run's.

A worker never dies of an exception: a job store that is away fails no run (a missed heartbeat is
sent again, a claim tried again), and a job whose outcome cannot be recorded even after the
store's retries goes back to the queue (or, when the store cannot take that either, is requeued
once its lease runs out, by this instance or another): its run is redone, never lost.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from aas_quantum import solvers
from aas_quantum.app import (
    Listener,
    OutcomeStatus,
    Repository,
    RequestOverrides,
    RunEvent,
    RunOutcome,
    RunRequest,
    RunState,
    execute,
)
from aas_quantum.errors import AasQuantumError, ExitCode
from aas_quantum.service.jobs import Job, JobSpec, JobState, JobStore

log = logging.getLogger(__name__)

# the job and run a log line belongs to (read by the JSON log formatter)
current_job: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("current_job", default=None)


class RunCancelled(AasQuantumError):
    exit_code = ExitCode.FAILED


def _past(job: Job) -> bool:
    """Whether the caller's clientTimeoutDuration has run out for this job."""
    return job.spec.deadline is not None and time.time() >= job.spec.deadline


def check_spec(spec: JobSpec, default_method: str | None = None) -> None:
    """Refuse a job that cannot run before it is queued: unknown method, parameter or limit.
    ``default_method`` is what a job naming none runs (the service's ``--solver``); without either the
    request submodel picks the method at run time, so parameters are checked by name and value against
    every solver (one that none reads, or a value out of range, would only fail the run)."""
    method = spec.method or default_method
    if method is not None:
        solvers.spec(method)
    solvers.check_parameters(method, dict(spec.parameters))
    RequestOverrides.of(spec.overrides)


def run_request(job: Job, template: RunRequest) -> RunRequest:
    """The job's run: its own fields over the service's template (output folder, ERP output)."""
    spec = job.spec
    return replace(template, product=spec.product, method=spec.method or template.method,
                   parameters={**template.parameters, **spec.parameters}, dry_run=spec.dry_run or template.dry_run,
                   run_id=job.run_id, overrides=RequestOverrides.of(spec.overrides))


@dataclass
class _Running:
    job: Job
    stop: threading.Event
    heartbeat_failing: bool = False  # said once, not at every progress event of an outage


class JobRunner:
    def __init__(self, store: JobStore, repository: Callable[[], Repository], template: RunRequest,
                 listeners: Sequence[Listener] = (), worker_id: str = "local", concurrency: int = 1,
                 lease_s: float = 30.0, poll_s: float = 0.5,
                 finished: Callable[[Job, RunOutcome | None], None] | None = None) -> None:
        self.store, self.repository, self.template = store, repository, template
        self.listeners, self.worker_id, self.concurrency = list(listeners), worker_id, max(1, concurrency)
        self.lease_s, self.poll_s, self.finished = lease_s, poll_s, finished
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()  # guards _running only; never held while calling out

    def start(self) -> int:
        """Requeue what this worker (or a dead one) left running, then start the threads; returns the count
        requeued."""
        requeued = self.store.requeue(self.worker_id, time.time() - self.lease_s)
        if requeued:
            log.info("requeued %d job(s) left running by an earlier process", requeued)
        self._threads = [threading.Thread(target=self._loop, name=f"job-worker-{i}", daemon=True)
                         for i in range(self.concurrency)]
        self._threads.append(threading.Thread(target=self._heartbeats, name="job-heartbeat", daemon=True))
        for thread in self._threads:
            thread.start()
        return requeued

    def wake(self) -> None:
        self._wake.set()

    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def check(self) -> None:
        """Raise when a worker or the heartbeat thread is dead (readiness): queued jobs would wait forever."""
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead and not self._stopping.is_set():
            raise RuntimeError(f"thread(s) {', '.join(dead)} stopped")

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop claiming; wait up to ``grace_s`` for running jobs, then requeue those still running."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._running.values())
        for running in left:
            running.stop.set()
        if left:
            try:
                self.store.requeue(self.worker_id)
                log.warning("shutdown: %d running job(s) requeued", len(left))
            except Exception as exc:  # their lease runs out: the next start (or another instance) requeues them
                log.warning("shutdown: %d running job(s) left for requeue when their lease expires: %s: %s",
                            len(left), type(exc).__name__, exc)

    # ------------------------------------------------------------------ threads

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self.store.claim(self.worker_id)
            except Exception as exc:  # the store is down: keep trying, /ready says so
                log.warning("cannot claim a job: %s: %s", type(exc).__name__, exc)
                job = None
            if job is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception:  # e.g. a ``finished`` callback: the job is recorded, the worker goes on
                log.exception("job %s: unexpected error after its run", job.job_id)

    def _heartbeats(self) -> None:
        while not self._stopping.wait(max(0.2, self.lease_s / 3)):
            with self._lock:
                running = list(self._running.values())
            for item in running:
                try:
                    if not self.store.heartbeat(item.job.job_id, self.worker_id):
                        item.stop.set()
                except Exception as exc:
                    log.warning("heartbeat of job %s failed: %s: %s", item.job.job_id, type(exc).__name__, exc)
            try:  # jobs whose worker died (or whose outcome could not be recorded) go back to the queue
                if requeued := self.store.requeue(stale_before=time.time() - self.lease_s):
                    log.info("requeued %d job(s) whose heartbeat stopped more than %.0f s ago", requeued,
                             self.lease_s)
            except Exception as exc:
                log.warning("cannot requeue stale jobs: %s: %s", type(exc).__name__, exc)

    def _run(self, job: Job) -> None:
        stop = threading.Event()
        with self._lock:
            self._running[job.job_id] = _Running(job, stop)
        token = current_job.set((job.job_id, job.run_id))
        try:
            log.info("job %s started for %s (attempt %d)", job.job_id, job.spec.product, job.attempts)
            outcome, state, error = self._execute(job, stop)
            if self._stopping.is_set() and stop.is_set():
                return  # requeued by stop(): the next process runs it again under the same run id
            if self._record(job, state, outcome, error) and self.finished is not None:
                self.finished(job, outcome)
        finally:
            with self._lock:
                self._running.pop(job.job_id, None)
            current_job.reset(token)

    def _record(self, job: Job, state: JobState, outcome: RunOutcome | None, error: str) -> bool:
        """Store the job's outcome; False when the store would not take it and the job went back to the queue
        (its re-run, under the same run id, is recognised by the repository's write as this run)."""
        try:
            self.store.finish(job.job_id, self.worker_id, state, outcome.to_json() if outcome else None, error)
            log.info("job %s %s%s", job.job_id, state.value, f": {error}" if error else "")
            return True
        except Exception as exc:
            log.warning("recording the outcome of job %s failed (%s: %s); requeuing it", job.job_id,
                        type(exc).__name__, exc)
        try:
            self.store.release(job.job_id, self.worker_id)
            log.warning("job %s requeued: it runs again under run id %s", job.job_id, job.run_id)
        except Exception as exc:
            log.warning("job %s could not be requeued either (%s: %s); it is requeued when its lease of %.0f s "
                        "runs out", job.job_id, type(exc).__name__, exc, self.lease_s)
        return False

    def _execute(self, job: Job, stop: threading.Event) -> tuple[RunOutcome | None, JobState, str]:
        try:
            request = run_request(job, self.template)
            repository = self.repository()
            try:
                outcome = execute(request, repository, [self._progress(job, stop), *self.listeners])
            finally:
                repository.close()
        except Exception as exc:  # the job could not even start (a bad stored spec, the server's settings)
            log.exception("job %s could not run", job.job_id)
            return None, JobState.FAILED, f"{type(exc).__name__}: {exc}"
        cancelled = stop.is_set() and outcome.status is not OutcomeStatus.OK
        if cancelled and _past(job):
            return outcome, JobState.TIMEOUT, outcome.reason
        return outcome, JobState.CANCELLED if cancelled else JobState.DONE, outcome.reason

    def _progress(self, job: Job, stop: threading.Event) -> Listener:
        def listener(event: RunEvent) -> None:
            if event.state is RunState.DONE:
                return
            if _past(job) and event.state is not RunState.FAILED:  # at a stage boundary: never mid-write
                stop.set()
                raise RunCancelled(f"the clientTimeoutDuration ran out before the run wrote its result "
                                   f"({event.stage or event.state.value})")
            if stop.is_set() and event.state is not RunState.FAILED:
                raise RunCancelled("cancelled")
            if event.state is not RunState.SOLVING:
                return
            try:
                mine = self.store.heartbeat(job.job_id, self.worker_id, event.progress, event.stage)
            except Exception as exc:  # the store is away: the run goes on, a later heartbeat tells it
                self._heartbeat_failed(job, exc)
                return
            if not mine:
                stop.set()
                raise RunCancelled("cancelled")
        return listener

    def _heartbeat_failed(self, job: Job, exc: Exception) -> None:
        with self._lock:
            item = self._running.get(job.job_id)
            first = item is not None and not item.heartbeat_failing
            if item is not None:
                item.heartbeat_failing = True
        if first:
            log.warning("heartbeat of job %s failed (%s: %s); the run goes on", job.job_id, type(exc).__name__, exc)
