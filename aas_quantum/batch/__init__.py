"""Batch runs for engineering teams: many products x scenarios in worker processes (or Dask), resumable
through a manifest, with a report, consolidated purchasing lists and Pareto sweeps."""

from aas_quantum.batch.pareto import MEASURES, Front, check_sweep, pareto_front, write_front
from aas_quantum.batch.plan import input_files, load_scenarios, plan
from aas_quantum.batch.purchasing import write_purchasing
from aas_quantum.batch.report import write_report
from aas_quantum.batch.run import Display, run_batch

__all__ = [
    "MEASURES",
    "Display",
    "Front",
    "check_sweep",
    "input_files",
    "load_scenarios",
    "pareto_front",
    "plan",
    "run_batch",
    "write_front",
    "write_purchasing",
    "write_report",
]
