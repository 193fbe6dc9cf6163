"""Batch runs for engineering teams: many products x scenarios in worker processes (or Dask), resumable
through a manifest, with a report, consolidated purchasing lists and Pareto sweeps."""

from aas_quantum.batch.manifest import Manifest
from aas_quantum.batch.pareto import MEASURES, Front, check_sweep, pareto_front, write_front
from aas_quantum.batch.plan import input_files, load_scenarios, plan
from aas_quantum.batch.purchasing import consolidate, write_lists
from aas_quantum.batch.report import write_report
from aas_quantum.batch.run import Display, run_batch

__all__ = [
    "MEASURES",
    "Display",
    "Front",
    "Manifest",
    "check_sweep",
    "consolidate",
    "input_files",
    "load_scenarios",
    "pareto_front",
    "plan",
    "run_batch",
    "write_front",
    "write_lists",
    "write_report",
]
