"""The durable job store, on SQLite and on a real PostgreSQL: claims are exclusive, a queued job with
the same key is not queued twice, stale running jobs return to the queue, cancellation, and the
operation variables a job answers with."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from aas_quantum.errors import BomInputError, ConfigError
from aas_quantum.service import operation
from aas_quantum.service.jobs import JobSpec, JobState, PostgresJobStore, SqliteJobStore, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = SqliteJobStore(tmp_path / "jobs.sqlite")
    else:
        made = PostgresJobStore(request.getfixturevalue("postgres"))
    yield made
    made.close()


def test_each_job_is_claimed_by_exactly_one_worker(store):
    jobs = [store.submit(JobSpec(product=f"p{i}"))[0].job_id for i in range(40)]
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (job := store.claim(name)) is not None:
            with lock:
                claimed.append(job.job_id)
            store.finish(job.job_id, name, JobState.DONE, {"status": "optimal"}, "")
        store.close()  # this thread's connection

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, ["a", "b", "c", "d"]))
    assert sorted(claimed) == sorted(jobs)  # every job once, none twice
    assert store.counts()[JobState.DONE] == 40 and store.counts()[JobState.QUEUED] == 0


def test_a_queued_job_with_the_same_key_is_not_queued_twice(store):
    first, created = store.submit(JobSpec(product="p", origin="event"), "reoptimize:p")
    again, created_again = store.submit(JobSpec(product="p", origin="event"), "reoptimize:p")
    assert created and not created_again and again.job_id == first.job_id
    other, _ = store.submit(JobSpec(product="q", origin="event"), "reoptimize:q")
    assert other.job_id != first.job_id
    running = store.claim("w")
    assert running is not None and running.job_id == first.job_id
    # a change arriving while the job runs queues a new one: the running job may have read the old data
    later, created_later = store.submit(JobSpec(product="p", origin="event"), "reoptimize:p")
    assert created_later and later.job_id != first.job_id


def test_stale_running_jobs_are_requeued_with_their_run_id(store):
    job, _ = store.submit(JobSpec(product="p"))
    claimed = store.claim("dead-worker")
    assert claimed is not None and claimed.attempts == 1
    assert store.requeue(stale_before=time.time() - 60) == 0  # its heartbeat is fresh
    assert store.requeue(stale_before=time.time() + 1) == 1
    again = store.claim("live-worker")
    assert again is not None and again.job_id == job.job_id and again.run_id == job.run_id and again.attempts == 2
    assert not store.heartbeat(job.job_id, "dead-worker")  # the dead worker lost it
    assert store.heartbeat(job.job_id, "live-worker", 0.5, "solving")
    assert store.get(job.job_id).progress == 0.5


def test_cancel_stops_queued_at_once_and_asks_running_to_stop(store):
    queued, _ = store.submit(JobSpec(product="p"))
    running, _ = store.submit(JobSpec(product="q"))
    assert store.claim("w").job_id == queued.job_id
    store.requeue("w")  # back to the queue: now cancel it there
    assert store.cancel(queued.job_id).state is JobState.CANCELLED
    claimed = store.claim("w")
    assert claimed is not None and claimed.job_id == running.job_id
    assert store.cancel(running.job_id).cancel_requested
    assert not store.heartbeat(running.job_id, "w")  # the worker learns it at its next heartbeat
    assert store.cancel("no-such-job") is None


def test_sqlite_store_survives_reopening(tmp_path):
    first = open_store("", tmp_path)
    job, _ = first.submit(JobSpec(product="p", method="exact", parameters={"time_limit_s": 5.0},
                                  overrides={"budget": 100.0}))
    first.close()
    second = open_store(f"sqlite:///{tmp_path / 'jobs.sqlite'}", tmp_path)
    found = second.get(job.job_id)
    assert found is not None and found.spec == job.spec and found.state is JobState.QUEUED
    with pytest.raises(ConfigError, match="job store must be"):
        open_store("mysql://x", tmp_path)


def _var(name: str, value: str, value_type: str = "xs:string") -> dict:
    return {"value": {"modelType": "Property", "idShort": name, "valueType": value_type, "value": value}}


def test_operation_variables_become_a_job_and_bad_ones_are_named():
    spec = operation.job_spec([_var("ProductId", "urn:p:aas"), _var("Solver", "exact"),
                               _var("TimeLimit", "5", "xs:double"), _var("Budget", "900", "xs:double")])
    assert spec == JobSpec("urn:p:aas", "exact", {"time_limit_s": 5.0}, {"budget": 900.0}, origin="operation")
    assert operation.job_spec({"inputArguments": [_var("ProductId", "urn:p:aas")]}).product == "urn:p:aas"
    for body, message in [([_var("Solver", "exact")], "ProductId .* is required"),
                          ([_var("ProductId", "p"), _var("Budgett", "1")], "unknown input variable Budgett"),
                          ([_var("ProductId", "p"), _var("TimeLimit", "soon")], "TimeLimit must be a number"),
                          ([_var("ProductId", "p"), _var("Budget", "-1")], "Budget must be a non-negative"),
                          ({"x": 1}, None), ("nope", "expected a JSON array")]:
        if message is None:
            with pytest.raises(BomInputError, match="ProductId"):
                operation.job_spec(body)
        else:
            with pytest.raises(BomInputError, match=message):
                operation.job_spec(body)


def test_every_operation_variable_is_documented():
    from tests.support import REPO

    readme = (REPO / "submodels" / "README.md").read_text()
    for variable in (*operation.INPUTS, *operation.OUTPUTS):
        assert f"`{variable.name}` | {variable.value_type} | {variable.description} |" in readme, variable.name


def _when_logged(caplog, text: str, then) -> threading.Thread:
    """Run ``then`` as soon as ``text`` has been logged (from a thread; bounded)."""
    def watch() -> None:
        deadline = time.monotonic() + 120
        while text not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        then()
    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_store_call_retries_across_a_postgresql_restart(postgres_cluster, caplog):
    import psycopg

    store = PostgresJobStore(postgres_cluster.dsn, retry_s=120)
    job, _ = store.submit(JobSpec(product="p"))
    assert store.claim("w") is not None
    postgres_cluster.stop()
    with pytest.raises(psycopg.OperationalError):  # heartbeats and readiness are not retried: the next one is
        store.heartbeat(job.job_id, "w")
    with pytest.raises(psycopg.OperationalError):
        store.ping()
    restart = _when_logged(caplog, f"during finish of job {job.job_id}", postgres_cluster.start)
    store.finish(job.job_id, "w", JobState.DONE, {"status": "optimal"}, "")  # waits for the restart
    restart.join()
    assert store.get(job.job_id).state is JobState.DONE
    store.close()


def test_a_store_call_waits_out_a_sqlite_lock_and_gives_up_after_retry_s(tmp_path, caplog):
    import sqlite3

    store = SqliteJobStore(tmp_path / "jobs.sqlite", retry_s=0.5)
    patient = SqliteJobStore(tmp_path / "jobs.sqlite", retry_s=120)  # the same file, a longer bound
    job, _ = store.submit(JobSpec(product="p"))
    assert store.claim("w") is not None
    other = sqlite3.connect(tmp_path / "jobs.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # bounded: retry_s, then the caller decides
        store.finish(job.job_id, "w", JobState.DONE, {"status": "optimal"}, "")
    release = _when_logged(caplog, f"during finish of job {job.job_id}", other.rollback)
    patient.finish(job.job_id, "w", JobState.DONE, {"status": "optimal"}, "")
    release.join()
    other.close()
    assert store.get(job.job_id).state is JobState.DONE
    store.close()
    patient.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_runner_check_names_a_dead_worker_thread(tmp_path):
    """What /ready asks: a worker thread that died (here of a BaseException, which nothing may swallow)
    is named, so the queue does not look served while nothing runs it."""
    from aas_quantum.app.request import RunRequest
    from aas_quantum.service.worker import JobRunner

    def repository():
        raise SystemExit("gone")

    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    runner = JobRunner(store, repository, RunRequest(out=tmp_path / "out"), lease_s=60, poll_s=0.05)
    runner.start()
    runner.check()  # alive
    store.submit(JobSpec(product="p"))
    runner.wake()
    deadline = time.monotonic() + 60
    while runner._threads[0].is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(RuntimeError, match="job-worker-0"):
        runner.check()
    runner.stop(0)
    store.close()


def test_a_postgresql_store_that_is_down_at_start_is_waited_for(postgres_cluster, caplog):
    # a service started beside its database (compose, systemd) must not die because PostgreSQL is a moment later
    postgres_cluster.stop()
    up = _when_logged(caplog, "job store unavailable during start", postgres_cluster.start)
    store = PostgresJobStore(postgres_cluster.dsn, retry_s=120)
    up.join()
    job, created = store.submit(JobSpec(product="p"))
    assert created and store.get(job.job_id).state is JobState.QUEUED
    store.close()


def test_a_postgresql_store_that_stays_down_is_a_clear_error_without_its_password(postgres_cluster):
    postgres_cluster.stop()
    dsn = f"postgresql://postgres:Pa55word@127.0.0.1:{postgres_cluster.port}/postgres"
    with pytest.raises(ConfigError) as refused:
        PostgresJobStore(dsn, retry_s=0.3)
    message = str(refused.value)
    assert "cannot connect" in message and "Pa55word" not in message
    assert "--jobs" in message and f":{postgres_cluster.port}" in message
