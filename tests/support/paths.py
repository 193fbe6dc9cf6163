"""Where things are: the repository, the samples the tests read and the tests' own data folders."""

from __future__ import annotations

from pathlib import Path

from aas_quantum.aas.result import output_stem

from .files import load_sample

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SMALL, MEDIUM, LARGE = SAMPLES / "drone.aasx", SAMPLES / "ebike-drive.aasx", SAMPLES / "control-cabinet.aasx"
DRONE_SHELL = "urn:aas-quantum:sample:drone:aas"
DRONE_STEM = output_stem(DRONE_SHELL, load_sample(SMALL).problem.name)  # file name stem of the drone's outputs
MMKP_DIR = REPO.parent / "shared" / "benchmarks" / "mmkp"
TESTS = REPO / "tests"
FIXTURE_DIR = TESTS / "fixtures"  # data files the tests check against (vendor field lists)
