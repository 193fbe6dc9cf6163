"""Full-space kernel against Qiskit, the memory guard, VQE and the Sampler V2 backends."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from aas_quantum.encode.circuits import bind, x_mixer_qaoa_circuit
from aas_quantum.encode.qubo import Qubo
from aas_quantum.errors import ConfigError
from aas_quantum.problem import build_problem
from aas_quantum.solvers import SolveOptions, Status, get_solver, kernels
from aas_quantum.solvers.kernels import FullSpaceQaoa
from aas_quantum.synthetic import synthetic_catalog

from tests.support import SMALL


def random_qubo(n: int, seed: int) -> Qubo:
    rng = np.random.default_rng(seed)
    return Qubo(rng.normal(), rng.normal(size=n), np.triu(rng.normal(size=(n, n)), 1))


@pytest.mark.parametrize(("n", "seed"), [(2, 0), (5, 1), (8, 2), (11, 3)])
def test_full_space_kernel_matches_qiskit_statevector(n: int, seed: int):
    qubo = random_qubo(n, seed)
    params = np.random.default_rng(seed).uniform(0, 1.5, 6)  # p = 3
    expected = Statevector(bind(x_mixer_qaoa_circuit(qubo, 3), params)).data
    state = FullSpaceQaoa(qubo.full_diagonal()).state(params[:3], params[3:])
    assert abs(abs(np.vdot(expected, state)) - 1.0) < 1e-9
    probs = np.abs(expected) ** 2
    assert FullSpaceQaoa(qubo.full_diagonal()).expectation(params) == pytest.approx(
        float(probs @ qubo.full_diagonal()), abs=1e-9)


def test_full_space_kernel_blocks_rows_like_a_flat_sweep(monkeypatch):
    """With more qubits than a cached row (LOW_BITS), both passes of the layer run; same answer."""
    qubo = random_qubo(10, 7)
    params = np.array([0.4, 0.9, 0.3, 0.2])
    reference = FullSpaceQaoa(qubo.full_diagonal()).state(params[:2], params[2:]).copy()
    monkeypatch.setattr(kernels, "LOW_BITS", 4)
    monkeypatch.setattr(kernels, "COLUMN_BLOCK", 4)
    blocked = kernels._layer.py_func  # the pure-Python body sees the patched globals
    psi = np.full(2 ** 10, 2 ** -5, dtype=np.complex128)
    diagonal = qubo.full_diagonal()
    for gamma, beta in zip(params[:2], params[2:], strict=True):
        blocked(psi.view(np.float64), diagonal, 10, gamma, beta)
    assert abs(abs(np.vdot(reference, psi)) - 1.0) < 1e-9


def test_complex64_agrees_to_single_precision():
    qubo = random_qubo(12, 4)
    params = np.array([0.3, 0.5, 0.7, 0.2])
    single = FullSpaceQaoa(qubo.full_diagonal(), np.complex64).expectation(params)
    double = FullSpaceQaoa(qubo.full_diagonal()).expectation(params)
    assert single == pytest.approx(double, rel=1e-4)


def test_memory_guard_refuses_what_the_machine_cannot_hold(monkeypatch):
    monkeypatch.setattr(kernels, "available_memory_bytes", lambda: 2 ** 30)
    with pytest.raises(MemoryError, match=r"26-qubit statevector needs about 3\.0 GiB"):
        kernels.check_memory(26, np.dtype(np.complex128))
    kernels.check_memory(20, np.dtype(np.complex128))


def test_full_space_qaoa_with_unbalanced_encoding_is_feasible(load):
    problem = load(SMALL).problem
    optimum = get_solver("exact").solve(problem, SolveOptions()).objective
    solution = get_solver("qaoa").solve(problem, SolveOptions(reps=1, maxiter=30, encoding="unbalanced"))
    assert solution.status == Status.FEASIBLE
    assert problem.is_feasible(solution.x(problem))
    assert solution.objective >= optimum - 1e-9
    assert solution.record.backend.startswith("full statevector")


def test_vqe_returns_feasible_selection_and_record(load):
    problem = load(SMALL).problem
    optimum = get_solver("exact").solve(problem, SolveOptions()).objective
    solution = get_solver("vqe").solve(problem, SolveOptions(reps=1, maxiter=40, cvar_alpha=0.2))
    assert solution.status == Status.FEASIBLE
    assert solution.objective >= optimum - 1e-9
    assert solution.record.qubits == 15 and solution.record.evaluations == 40
    assert 0.0 <= solution.record.p_feasible <= 1.0


@pytest.mark.parametrize("backend", ["statevector", "aer"])
def test_sampler_backends_reach_the_optimum_on_small_sample(load, backend: str):
    problem = load(SMALL).problem
    optimum = get_solver("exact").solve(problem, SolveOptions()).objective
    solution = get_solver("qaoa").solve(problem, SolveOptions(reps=1, maxiter=60, backend=backend, shots=4096))
    assert solution.objective == pytest.approx(optimum)
    assert solution.record.details["two_qubit_gates"] > 0


def test_fake_ibm_backend_with_noise_reports_depth_and_two_qubit_gates():
    """A fake IBM device (its coupling map, basis gates and noise) on a 3-position, 8-qubit BoM: small enough
    to simulate with noise in seconds, large enough to need routing on the heavy-hex map."""
    pytest.importorskip("qiskit_ibm_runtime")
    problem = build_problem(synthetic_catalog(3, seed=1, options_per_position=(2, 3), with_rules=False))
    assert problem.n_options == 8
    solution = get_solver("qaoa").solve(problem, SolveOptions(reps=1, maxiter=20, backend="fake:FakeGuadalupeV2",
                                                              shots=256))
    details = solution.record.details
    assert "fake_guadalupe" in solution.record.backend
    # XY mixers and the cost layer alone need more two-qubit gates than the 8 qubits have pairs in one ring
    assert details["transpiled_depth"] > 50 and details["two_qubit_gates"] > 50
    assert solution.status == Status.FEASIBLE  # decoded or repaired: always a checked selection
    assert problem.is_feasible(solution.x(problem))


def test_unknown_backend_is_rejected(load):
    with pytest.raises(ConfigError, match="unknown backend 'quantum-magic'"):
        get_solver("qaoa").solve(load(SMALL).problem, SolveOptions(reps=1, maxiter=2, backend="quantum-magic"))
