"""The collector pause around bulk AAS work: off inside, back as it was after, across threads and errors."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from aas_quantum import bulk
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.app import FileRepository, OutcomeStatus, RunEvent, RunRequest, RunState, execute
from aas_quantum.batch.plan import Scenario, plan
from aas_quantum.bulk import paused_gc
from aas_quantum.errors import ConfigError

from tests.support import MEDIUM, SMALL


@pytest.fixture(autouse=True)
def collector_restored(monkeypatch) -> Iterator[None]:
    was = gc.isenabled()
    gc.unfreeze()  # nothing kept by earlier tests: what a test finds kept, it kept
    monkeypatch.setattr(bulk, "_keep_runs", True)  # a one-shot command, as the CLI is, unless a test says otherwise
    yield
    (gc.enable if was else gc.disable)()
    gc.unfreeze()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_decorated_function_runs_paused_and_an_error_still_resumes() -> None:
    gc.enable()
    seen: list[bool] = []

    @paused_gc()
    def build() -> None:
        seen.append(gc.isenabled())
        raise RuntimeError("half-built")

    with pytest.raises(RuntimeError):
        build()
    assert seen == [False]
    assert gc.isenabled()


def test_a_pause_never_turns_on_a_collector_that_was_off() -> None:
    gc.disable()
    with paused_gc(), paused_gc():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_resume_only_when_the_last_ends() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    during_second: list[bool] = []

    def first() -> None:
        with paused_gc():
            first_in.set()
            assert second_in.wait(10)
        first_out.set()

    def second() -> None:
        assert first_in.wait(10)
        with paused_gc():
            second_in.set()
            assert first_out.wait(10)
            during_second.append(gc.isenabled())  # the first pause has ended; this one has not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert during_second == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("fail_when_done", [False, True])
def test_a_run_keeps_its_package_out_of_collections_while_solving_and_hands_it_back_at_the_end(
        tmp_path, fail_when_done) -> None:
    gc.enable()
    kept_while_solving: list[int] = []

    def listener(event: RunEvent) -> None:
        if event.state == RunState.SOLVING:
            kept_while_solving.append(gc.get_freeze_count())
        if fail_when_done and event.state == RunState.DONE:
            raise ConfigError("the broker refused the result")

    outcome = execute(RunRequest(method="greedy", out=tmp_path), FileRepository([SMALL]), [listener])
    assert outcome.status == (OutcomeStatus.FAILED if fail_when_done else OutcomeStatus.OK)
    assert kept_while_solving and min(kept_while_solving) > 1000  # the package's objects, not a handful
    assert gc.get_freeze_count() == 0  # nothing stays out of the collector's reach after the run, failed or not
    assert gc.isenabled()


def test_listing_the_products_of_many_packages_keeps_none_of_them() -> None:
    """A batch lists every package's products in its own process, and never runs one there: each package
    read for that must go back to the collector when its repository closes, or the batch holds them all."""
    repository = FileRepository([SMALL])
    repository.products()
    assert gc.get_freeze_count() > 1000  # kept while the repository holds the package
    repository.close()
    assert gc.get_freeze_count() == 0
    runs, broken = plan([SMALL, MEDIUM], [], None, [Scenario("base")])
    assert len(runs) == 2 and not broken
    assert gc.get_freeze_count() == 0


class _WatchedRepository(FileRepository):
    """A file repository that remembers, weakly, one object of each package it reads."""

    def __init__(self, packages: list[weakref.ref], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.packages = packages

    def read(self, shell_id: str) -> AasEnvironment:
        env = super().read(shell_id)
        self.packages.append(weakref.ref(next(iter(env.objects))))
        return env


def test_a_long_running_process_gets_finished_runs_packages_back_without_a_forced_collection(tmp_path) -> None:
    """The service runs job after job. A package kept out of the collector's sight during its run became
    garbage in the oldest generation, which the collector's full passes (rare while packages are kept)
    never reached: every run's package stayed, and the service grew by one package per job. Left to the
    collector, a package goes young or waits for the next full pass: a few are alive at any time, never
    most of them. Nothing here calls ``gc.collect``."""
    gc.enable()
    bulk.long_running()
    packages: list[weakref.ref] = []
    for run in range(40):
        repository = _WatchedRepository(packages, [SMALL])
        outcome = execute(RunRequest(method="greedy", out=tmp_path / str(run)), repository)
        repository.close()
        assert outcome.status == OutcomeStatus.OK
        assert gc.get_freeze_count() == 0  # nothing of the run is kept out of the collector's sight
    alive = [run for run, package in enumerate(packages) if package() is not None]
    assert len(alive) <= len(packages) // 2, f"packages of runs {alive} are still in memory"
