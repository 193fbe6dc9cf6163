"""Sampling VQE with a hardware-efficient ansatz (RealAmplitudes or EfficientSU2).

The energy of a parameter set is the (CVaR-)expectation of the encoded QUBO over the ansatz's
measurement distribution, computed exactly from its statevector; the final state is sampled
locally or on a Sampler V2 backend and decoded like QAOA. The ansatz does not preserve one-hot,
so VQE runs on the unbalanced (default) or penalty encoding.
"""

from __future__ import annotations

import time

import numpy as np
from qiskit.circuit import library
from qiskit.quantum_info import Statevector

from aas_quantum.encode import EncodingScheme, basis_bits, encoding_scheme
from aas_quantum.errors import ConfigError
from aas_quantum.problem import BomProblem
from aas_quantum.solvers.backends import sample
from aas_quantum.solvers.base import Solution, SolveOptions, Solver, SolverRecord
from aas_quantum.solvers.kernels import cvar
from aas_quantum.solvers.variational import (
    EnergyTrace,
    Selections,
    conclude,
    device_samples,
    energy_distribution,
    full_space_compatibility,
    make_optimizer,
)

ANSATZE = {"RealAmplitudes": library.real_amplitudes, "EfficientSU2": library.efficient_su2}


def vqe_encoding(options: SolveOptions) -> EncodingScheme:
    """VQE's hardware-efficient ansatz cannot keep one-hot states: onehot means unbalanced here."""
    return encoding_scheme(options.encoding).for_any_ansatz()


class VqeSolver(Solver):
    name = "vqe"

    def compatibility(self, problem: BomProblem, options: SolveOptions) -> str | None:
        if options.ansatz not in ANSATZE:
            return f"unknown ansatz {options.ansatz!r} ({', '.join(ANSATZE)})"
        return full_space_compatibility(problem, vqe_encoding(options))

    def solve(self, problem: BomProblem, options: SolveOptions) -> Solution:
        start = time.perf_counter()
        refused = self.compatibility(problem, options)
        if refused:
            raise ConfigError(refused)
        scheme = vqe_encoding(options)
        encoding = scheme.build(problem)
        n = encoding.qubo.n
        ansatz_name = options.ansatz
        ansatz = ANSATZE[ansatz_name](n, reps=options.reps, entanglement="linear")
        diagonal = encoding.qubo.full_diagonal()
        scale = float(diagonal.std()) or 1.0
        normalised = (diagonal - diagonal.mean()) / scale
        alpha = options.cvar_alpha
        trace = EnergyTrace(options)

        def probabilities(params: np.ndarray) -> np.ndarray:
            return Statevector(ansatz.assign_parameters(params)).probabilities()

        def energy(params: np.ndarray) -> float:
            probs = probabilities(params)
            return trace.record(float(probs @ normalised) if alpha >= 1.0 else cvar(normalised, probs, alpha))

        rng = np.random.default_rng(options.seed)
        initial = rng.uniform(-0.1, 0.1, ansatz.num_parameters) + np.pi / 4
        optimizer = make_optimizer(options.optimizer, options.maxiter, options.seed)
        params = np.asarray(optimizer.minimize(energy, initial).x)
        probs = probabilities(params)
        selections = Selections.of(problem)
        selection_probs = selections.marginal(probs)
        details: dict[str, object] = {"ansatz": ansatz_name, "parameters": int(ansatz.num_parameters),
                                      "cvar_alpha": alpha, "energy_distribution": energy_distribution(diagonal, probs),
                                      "energy_trace": trace.thinned()}
        if options.backend == "local":
            drawn = np.unique(rng.choice(len(probs), size=options.shots, p=probs / probs.sum()))
            indices = [int(i) for i in drawn]
            sampled = list(basis_bits(indices, problem.n_options))
            backend, p_feasible = "statevector (local)", selections.p_feasible(selection_probs)
        else:
            measured = ansatz.assign_parameters(params)
            measured.measure_all()
            run = sample(measured, options.backend, options.shots, options.seed)
            indices = list(run.counts)
            sampled, p_feasible = device_samples(problem, run.counts)
            backend = run.backend
            details.update(transpiled_depth=run.depth, two_qubit_gates=run.two_qubit_gates)
        record = SolverRecord(
            method=self.name, backend=backend, encoding=encoding.name, qubits=n, reps=options.reps,
            optimizer=options.optimizer, evaluations=len(trace), shots=options.shots, seed=options.seed,
            wall_time_s=time.perf_counter() - start, p_feasible=p_feasible,
            p_optimal=selections.p_optimal(selection_probs, options.known_optimum),
            details={**details, **encoding.report()},
        )
        return conclude(problem, scheme, record, sampled, diagonal[indices])
