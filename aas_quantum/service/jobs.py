"""Durable jobs: what the service, the change watcher and the OPC UA ``Optimize`` method ask to run.

One table, two engines: SQLite in the service's data directory (the embedded default, one
instance) and PostgreSQL (``postgresql://...``) when several service instances share one queue.
A job is claimed atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), keeps its request, run id,
progress, outcome and error, and is requeued when its worker stops sending heartbeats. The run
id is fixed when the job is created, so a job re-run after a crash is the same run for the
repository's idempotent write (its result is written once).

A store outlives its database's outages: a call that meets a lost connection (PostgreSQL
restarting) or a lock (another SQLite writer) reconnects and tries again with backoff for up to
``retry_s`` before it raises; heartbeats and readiness pings are not retried (the next one is the
retry, and readiness must answer at once).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from aas_quantum.errors import ConfigError
from aas_quantum.sanitize import redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the run ended: ok, infeasible or failed (see the outcome)
    FAILED = "failed"  # the job could not run (the outcome says why when the run itself failed)
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"  # stopped before it wrote: its caller's clientTimeoutDuration (JobSpec.deadline) passed


FINISHED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.TIMEOUT)


@dataclass(frozen=True)
class JobSpec:
    """What to run: the fields of a ``RunRequest`` a caller may set, JSON-safe."""

    product: str | None = None
    method: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)  # RequestOverrides fields
    dry_run: bool = False
    origin: str = "api"  # operation | api | event | poll | opcua
    # epoch seconds after which the run stops at its next stage boundary unless it is writing (the AAS
    # clientTimeoutDuration); stored with the spec so every instance and a restart honour it
    deadline: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"product": self.product, "method": self.method, "parameters": dict(self.parameters),
                "overrides": dict(self.overrides), "dry_run": self.dry_run, "origin": self.origin,
                "deadline": self.deadline}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        return cls(data.get("product"), data.get("method"), dict(data.get("parameters") or {}),
                   dict(data.get("overrides") or {}), bool(data.get("dry_run")), str(data.get("origin") or "api"),
                   float(data["deadline"]) if data.get("deadline") is not None else None)


@dataclass(frozen=True)
class Job:
    job_id: str
    run_id: str
    state: JobState
    spec: JobSpec
    dedupe_key: str | None = None
    progress: float = 0.0
    stage: str = ""
    created_at: float = 0.0  # epoch seconds
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    worker: str | None = None
    attempts: int = 0
    outcome: Mapping[str, Any] | None = None  # RunOutcome.to_json() of the finished run
    error: str = ""
    cancel_requested: bool = False


class JobStore(Protocol):
    def submit(self, spec: JobSpec, dedupe_key: str | None = None) -> tuple[Job, bool]:
        """The new job, or the queued one with the same key; the flag says whether it is new."""
        ...

    def claim(self, worker: str) -> Job | None:
        """The oldest queued job, now running on ``worker``; None when the queue is empty."""
        ...

    def heartbeat(self, job_id: str, worker: str, progress: float | None = None, stage: str | None = None
                  ) -> bool:
        """Still running here; False when the job is no longer this worker's (requeued or cancelled)."""
        ...

    def finish(self, job_id: str, worker: str, state: JobState, outcome: Mapping[str, Any] | None, error: str
               ) -> None: ...

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job at once, ask a running one to stop; None when there is no such job."""
        ...

    def requeue(self, worker: str | None = None, stale_before: float | None = None) -> int:
        """Running jobs of ``worker`` (or whose heartbeat is older than ``stale_before``) back to the queue."""
        ...

    def release(self, job_id: str, worker: str) -> bool:
        """One running job of ``worker`` back to the queue (its outcome could not be recorded); False when
        it is no longer this worker's."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]: ...

    def counts(self) -> dict[JobState, int]: ...

    def ping(self) -> None:
        """Raise when the store cannot be reached (readiness)."""
        ...

    def close(self) -> None: ...


_COLUMNS = ("job_id", "run_id", "state", "spec", "dedupe_key", "progress", "stage", "created_at", "started_at",
            "finished_at", "heartbeat_at", "worker", "attempts", "outcome", "error", "cancel_requested")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    dedupe_key TEXT,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    error TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_queued_key ON jobs (dedupe_key) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs (state, created_at)
"""


def _job(row: tuple[Any, ...]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    return Job(job_id=values["job_id"], run_id=values["run_id"], state=JobState(values["state"]),
               spec=JobSpec.from_json(json.loads(values["spec"])), dedupe_key=values["dedupe_key"],
               progress=float(values["progress"]), stage=values["stage"], created_at=float(values["created_at"]),
               started_at=values["started_at"], finished_at=values["finished_at"],
               heartbeat_at=values["heartbeat_at"], worker=values["worker"], attempts=int(values["attempts"]),
               outcome=json.loads(values["outcome"]) if values["outcome"] else None, error=values["error"],
               cancel_requested=bool(values["cancel_requested"]))


class SqlJobStore:
    """The queries both engines share; ``_connection`` and the placeholder style differ."""

    placeholder = "?"
    skip_locked = ""  # PostgreSQL: FOR UPDATE SKIP LOCKED
    retry_s = 30.0  # how long a call keeps trying across an outage before it raises

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError

    def _transient(self, exc: Exception) -> bool:
        """Whether the call may succeed when tried again (a lost connection, a lock); ``_transaction`` has
        already dropped a connection that is broken."""
        raise NotImplementedError

    def _retrying(self, what: str, call: Callable[[], T], retry: bool = True) -> T:
        deadline = time.monotonic() + self.retry_s
        delay = 0.1
        while True:
            try:
                return call()
            except Exception as exc:
                if not retry or not self._transient(exc) or time.monotonic() + delay > deadline:
                    raise
                if delay == 0.1:  # once per call, not per attempt
                    log.warning("job store unavailable during %s (%s: %s); retrying for up to %.0f s", what,
                                type(exc).__name__, str(exc).strip(), self.retry_s)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _rows(self, what: str, sql: str, params: tuple[Any, ...] = (), retry: bool = True) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._transaction() as cursor:
                cursor.execute(self._q(sql), params)
                return list(cursor.fetchall())
        return self._retrying(what, run, retry)

    def submit(self, spec: JobSpec, dedupe_key: str | None = None) -> tuple[Job, bool]:
        return self._retrying(f"submit for {spec.product}", lambda: self._submit(spec, dedupe_key))

    def _submit(self, spec: JobSpec, dedupe_key: str | None) -> tuple[Job, bool]:
        job_id, run_id, now = str(uuid.uuid4()), str(uuid.uuid4()), time.time()
        with self._transaction() as cursor:
            cursor.execute(self._q(
                "INSERT INTO jobs (job_id, run_id, state, spec, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (dedupe_key) WHERE state = 'queued' DO NOTHING"),
                (job_id, run_id, JobState.QUEUED.value, json.dumps(spec.to_json()), dedupe_key, now))
            created = cursor.rowcount == 1
            if created:
                cursor.execute(self._q(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE job_id = ?"), (job_id,))
            else:
                cursor.execute(self._q(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE dedupe_key = ? "
                                       "AND state = 'queued'"), (dedupe_key,))
            row = cursor.fetchone()
        if row is None:  # the queued duplicate started running between the two statements: queue this one
            return self._submit(spec, dedupe_key)
        return _job(row), created

    def claim(self, worker: str) -> Job | None:
        now = time.time()
        rows = self._rows(
            "claim", "UPDATE jobs SET state = 'running', worker = ?, started_at = ?, heartbeat_at = ?, "
            "attempts = attempts + 1 WHERE job_id = (SELECT job_id FROM jobs WHERE state = 'queued' "
            f"ORDER BY created_at LIMIT 1 {self.skip_locked}) AND state = 'queued' RETURNING {', '.join(_COLUMNS)}",
            (worker, now, now))
        return _job(rows[0]) if rows else None

    def heartbeat(self, job_id: str, worker: str, progress: float | None = None, stage: str | None = None
                  ) -> bool:
        rows = self._rows(
            f"heartbeat of job {job_id}",
            "UPDATE jobs SET heartbeat_at = ?, progress = COALESCE(?, progress), stage = COALESCE(?, stage) "
            "WHERE job_id = ? AND worker = ? AND state = 'running' RETURNING cancel_requested",
            (time.time(), progress, stage, job_id, worker), retry=False)
        return bool(rows) and not rows[0][0]

    def finish(self, job_id: str, worker: str, state: JobState, outcome: Mapping[str, Any] | None, error: str
               ) -> None:
        self._rows(f"finish of job {job_id}",
                   "UPDATE jobs SET state = ?, finished_at = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE "
                   "progress END, outcome = ?, error = ? WHERE job_id = ? AND worker = ? AND state = 'running' "
                   "RETURNING job_id",
                   (state.value, time.time(), state.value, json.dumps(outcome) if outcome else None, error, job_id,
                    worker))

    def cancel(self, job_id: str) -> Job | None:
        self._rows(f"cancel of job {job_id}", "UPDATE jobs SET state = 'cancelled', finished_at = ?, "
                   "error = 'cancelled before it ran' WHERE job_id = ? AND state = 'queued' RETURNING job_id",
                   (time.time(), job_id))
        self._rows(f"cancel of job {job_id}", "UPDATE jobs SET cancel_requested = 1 WHERE job_id = ? AND "
                   "state = 'running' RETURNING job_id", (job_id,))
        return self.get(job_id)

    def requeue(self, worker: str | None = None, stale_before: float | None = None) -> int:
        # a requeued job gives up its key: a queued job for the same product may exist by now
        rows = self._rows(
            "requeue", "UPDATE jobs SET state = 'queued', worker = NULL, dedupe_key = NULL WHERE state = 'running' "
            "AND (worker = ? OR heartbeat_at < ?) RETURNING job_id",
            (worker, stale_before if stale_before is not None else -1.0))
        return len(rows)

    def release(self, job_id: str, worker: str) -> bool:
        return bool(self._rows(
            f"requeue of job {job_id}", "UPDATE jobs SET state = 'queued', worker = NULL, dedupe_key = NULL "
            "WHERE job_id = ? AND worker = ? AND state = 'running' RETURNING job_id", (job_id, worker)))

    def get(self, job_id: str) -> Job | None:
        rows = self._rows(f"read of job {job_id}", f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE job_id = ?",
                          (job_id,))
        return _job(rows[0]) if rows else None

    def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        where = "WHERE state = ?" if state else ""
        rows = self._rows("list", f"SELECT {', '.join(_COLUMNS)} FROM jobs {where} ORDER BY created_at DESC "
                          "LIMIT ?", ((state.value,) if state else ()) + (limit,))
        return [_job(r) for r in rows]

    def counts(self) -> dict[JobState, int]:
        found = dict(self._rows("counts", "SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        return {state: int(found.get(state.value, 0)) for state in JobState}

    def ping(self) -> None:
        self._rows("ping", "SELECT 1", retry=False)


class SqliteJobStore(SqlJobStore):
    """The embedded store: one file, WAL journal, one connection per thread."""

    def __init__(self, path: Path, retry_s: float = SqlJobStore.retry_s) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.retry_s = path, retry_s
        self._local = threading.local()
        try:
            self._connect().execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            with self._transaction() as cursor:
                for statement in _SCHEMA.split(";"):
                    cursor.execute(statement)
                # a write that changes nothing: a store this process cannot write is refused now, not
                # when the first job is claimed (an existing schema alone writes nothing)
                cursor.execute(f"PRAGMA user_version = {int(cursor.execute('PRAGMA user_version').fetchone()[0])}")
        except sqlite3.Error as exc:
            self.close()
            raise ConfigError(f"job store {path}: {exc}; the service records every job there: make it (and its "
                              "folder) writable, or give another --jobs or --data-dir") from exc

    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # the busy timeout of one attempt; a lock held longer is waited out by the retries of _retrying
            connection = sqlite3.connect(self.path, timeout=max(0.1, min(5.0, self.retry_s)), isolation_level=None,
                                         check_same_thread=True)
            self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        connection = self._connect()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # one writer at a time: a claim cannot interleave
        try:
            yield cursor
            connection.commit()
        except BaseException:
            if connection.in_transaction:  # also after a failed commit: the next call begins afresh
                connection.rollback()
            raise
        finally:
            cursor.close()

    def _transient(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class PostgresJobStore(SqlJobStore):
    """Several service instances on one queue: row locks, ``SKIP LOCKED`` claims. Each thread keeps one
    connection of its own, opened on first use and opened afresh after it broke; there is no pool, so a
    process holds as many connections as it has threads that touched the store."""

    placeholder = "%s"
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def __init__(self, dsn: str, retry_s: float = SqlJobStore.retry_s) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError("a PostgreSQL job store needs psycopg: pip install 'aas-quantum[postgres]'") from exc
        self._psycopg = psycopg
        self.dsn, self.retry_s = dsn, retry_s
        self._local = threading.local()

        def create_schema() -> None:
            with self._transaction() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(742517)")  # two instances creating the table at once
                for statement in _SCHEMA.split(";"):
                    cursor.execute(statement)

        try:  # a service started beside its database (compose, systemd) waits for it as for an outage
            self._retrying("start", create_schema)
        except psycopg.OperationalError as exc:
            raise ConfigError(f"job store {redact_url(dsn)!r}: cannot connect within {self.retry_s:g} s "
                              f"({redact_url(' '.join(str(exc).split()))}); start PostgreSQL or give another --jobs "
                              "(jobs in [service])") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._psycopg.connect(self.dsn, connect_timeout=10)
            self._local.connection = connection
        try:
            with connection.transaction(), connection.cursor() as cursor:
                yield cursor
        except self._psycopg.OperationalError:
            connection.close()  # perhaps broken (the server restarted): the next call connects afresh
            self._local.connection = None
            raise

    def _transient(self, exc: Exception) -> bool:
        return isinstance(exc, self._psycopg.OperationalError)  # lost or refused connection, deadlock

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def open_store(location: str, data_dir: Path, retry_s: float = SqlJobStore.retry_s) -> JobStore:
    """``postgresql://...`` or ``sqlite:///path``; empty: ``jobs.sqlite`` in the data directory. ``retry_s``:
    how long a call is retried across an outage or a lock."""
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresJobStore(location, retry_s)
    if location.startswith("sqlite:///"):
        return SqliteJobStore(Path(location.removeprefix("sqlite:///")), retry_s)
    if location:
        raise ConfigError(f"job store must be postgresql://... or sqlite:///path, got {location.split(':')[0]}:...")
    return SqliteJobStore(data_dir / "jobs.sqlite", retry_s)


def check_location(location: str) -> None:
    """Refuse a PostgreSQL URL libpq cannot use before the service starts (a port that is no number gave
    psycopg's traceback at the first query), naming it without its password."""
    if not location.startswith(("postgresql://", "postgres://")):
        return
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return  # the store says what to install
    try:
        ports = str(conninfo_to_dict(location).get("port") or "").split(",")
    except psycopg.Error as exc:
        raise ConfigError(f"job store {redact_url(location)!r} is not a valid PostgreSQL URL: {exc}") from None
    bad = [p for p in ports if p and not (p.isdigit() and 0 < int(p) < 65536)]
    if bad:
        raise ConfigError(f"job store {redact_url(location)!r}: port {bad[0]!r} is not a port number "
                          "(expected postgresql://user@host:5432/database)")
