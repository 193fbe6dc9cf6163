"""Batch runs for engineering teams: many products x scenarios in worker processes (or Dask), resumable
through a manifest, with a report, consolidated purchasing lists and Pareto sweeps."""
