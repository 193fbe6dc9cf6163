"""What happens to a run, told to any number of listeners: terminal progress, MQTT, OPC UA, a job
store. A listener is a callable taking a ``RunEvent``; the ``done`` event carries the summary, so
the publishers of results (MQTT ``result`` topic, nodes of an OPC UA server) are listeners too."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aas_quantum.summary import RunSummary


class RunState(enum.StrEnum):
    QUEUED = "queued"
    SOLVING = "solving"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    product_id: str  # the product's id (the shell id while the inputs are not read yet)
    state: RunState
    progress: float | None = None  # 0..1 while solving
    stage: str = ""
    detail: str = ""  # while solving: the solver's own progress (evaluations, best value so far)
    message: str = ""  # the reason, when failed
    summary: RunSummary | None = None  # when done
    result_submodel_id: str = ""  # when done


Listener = Callable[[RunEvent], None]


def tell(listeners: Sequence[Listener], event: RunEvent) -> None:
    """Every listener hears every event, in order; a listener that fails fails the run (its output,
    e.g. an MQTT result nobody acknowledged, is part of what the run promised)."""
    for listener in listeners:
        listener(event)
