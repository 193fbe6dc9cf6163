"""What the service tells its operators: JSON log lines carrying the job and run ids, and
Prometheus metrics (jobs by state, queue depth, run durations, solver used)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aas_quantum.app import RunOutcome
from aas_quantum.service.jobs import Job, JobState
from aas_quantum.service.worker import current_job


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and, inside a job, its job and run id."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        job = current_job.get()
        if job is not None:
            line["job_id"], line["run_id"] = job
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def json_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per AAS call drowns the jobs' own lines


class _JobStates(Collector):
    """Jobs by state, read from the store when scraped (so every instance on a shared store agrees)."""

    def __init__(self, counts: Callable[[], dict[JobState, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("aas_quantum_jobs", "jobs in the store by state", labels=["state"])
        for state, count in self.counts().items():
            family.add_metric([state.value], count)
        yield family


class Metrics:
    def __init__(self, counts: Callable[[], dict[JobState, int]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_JobStates(counts))
        self.runs = Counter("aas_quantum_runs", "finished runs by outcome and solver", ["outcome", "method"],
                            registry=self.registry)
        self.duration = Histogram("aas_quantum_run_duration_seconds", "wall time of a job from claim to finish",
                                  ["method"], registry=self.registry,
                                  buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800))

    def finished(self, job: Job, outcome: RunOutcome | None) -> None:
        method = outcome.summary.solver.method if outcome and outcome.summary else (job.spec.method or "")
        self.runs.labels(outcome.status.value if outcome else "error", method).inc()
        if job.started_at is not None:
            self.duration.labels(method).observe(max(0.0, time.time() - job.started_at))
