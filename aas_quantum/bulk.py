"""Pausing Python's cyclic garbage collector while a large AAS object graph is built, read or written.

A 2,000-position package is over a million Python objects, all alive and linked to their parents. The
collector runs a full pass each time the heap has grown by a quarter, and each pass walks every one of
them. Nothing built in these stages is garbage until they end; what does become garbage is collected
once the pause is over.
"""

from __future__ import annotations

import atexit
import gc
import threading
from collections.abc import Iterator
from contextlib import ContextDecorator, contextmanager
from typing import Any

_lock = threading.Lock()
_depth = 0  # pauses under way in this process (threads of the service, or nested stages)
_resume = False  # whether the collector ran before the first pause began
_keep_runs = False  # one_shot_command(): a run's package is kept out of the collector's passes


class paused_gc(ContextDecorator):
    """Collector off for the block (or decorated function); back on when the last overlapping pause ends."""

    def __enter__(self) -> paused_gc:
        global _depth, _resume
        with _lock:
            if _depth == 0:
                _resume = gc.isenabled()
                gc.disable()
            _depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()


def one_shot_command() -> None:
    """For a process that runs one command and exits (the CLI): keep each run's package out of the
    collector's passes (:func:`run_input`), and at exit skip the interpreter's last collection, which walks
    and frees every object still in memory one by one (seconds after a large package); the operating
    system takes the memory back at once. Files are closed by then: every output is written inside a
    ``with`` block.

    A process that runs run after run (the service, the OPC UA server) calls :func:`long_running` instead:
    a kept package that the run ends with is garbage in the oldest generation, and with each run's
    objects kept out of sight the collector's full passes hardly ever come, so the service grew by one
    package per job (``benchmarks/service_soak.py``)."""
    global _keep_runs
    _keep_runs = True
    atexit.register(gc.freeze)


def long_running() -> None:
    """For a process that runs many runs: their packages are left to the collector like any other objects
    (the pauses while they are read and written stay), so each is reclaimed once its run has ended."""
    global _keep_runs
    _keep_runs = False


@contextmanager
def run_input() -> Iterator[None]:
    """Read and build a run's input in one pause; in a one-shot command, then take everything alive (the
    package) out of the collector's sight until :func:`release_the_run`: collections during the solve skip
    it instead of walking it again and again, and as it is kept before the collector resumes, it is never
    walked at all."""
    with paused_gc():
        yield
        if _keep_runs:
            gc.freeze()


def release_the_run() -> None:
    """Hand what :func:`run_input` kept back to the collector (another thread's kept objects too: that only
    means they are walked again, never that anything stays uncollected)."""
    if _keep_runs:
        gc.unfreeze()
