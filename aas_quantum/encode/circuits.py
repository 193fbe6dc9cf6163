"""Qiskit circuits of the constraint-preserving QAOA ansatz.

Qubit i is option i (Qiskit's little-endian order: basis index = sum_i x_i 2^i). Each position
starts in a W state over its option qubits; the cost layer is the Ising evolution of the encoded
QUBO; the mixer applies XX+YY pair gates within each position (ring or complete), which keeps
exactly one option per position.
"""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector, library

from aas_quantum.encode.qubo import Qubo
from aas_quantum.errors import ConfigError


def mixer_pairs(k: int, topology: str) -> list[tuple[int, int]]:
    """The XX+YY pair gates of one position's mixer, in circuit order."""
    if k < 2:
        return []
    if topology == "complete":
        return [(i, j) for i in range(k) for j in range(i + 1, k)]
    if topology == "ring":
        return [(i, i + 1) for i in range(k - 1)] + ([(k - 1, 0)] if k > 2 else [])
    raise ConfigError(f"unknown mixer topology {topology!r} (ring or complete)")


def w_state(k: int, weights: np.ndarray | None = None) -> library.StatePreparation:
    """Superposition of the k one-hot basis states of k qubits: equal (W state) or with the given
    real amplitudes (a warm start)."""
    amplitudes = np.zeros(2 ** k)
    amplitudes[[1 << i for i in range(k)]] = 1.0 / math.sqrt(k) if weights is None else weights
    return library.StatePreparation(amplitudes, label=f"W{k}")


def onehot_qaoa_circuit(dims: list[int], qubo: Qubo, reps: int, topology: str = "ring",
                        measure: bool = False, start: list[np.ndarray] | None = None) -> QuantumCircuit:
    """Parameterised circuit with parameters gamma[0..reps) and beta[0..reps); ``start`` gives
    per-position initial amplitudes (warm start) instead of W states."""
    n = sum(dims)
    if qubo.n != n:
        raise ValueError(f"QUBO has {qubo.n} variables for {n} option qubits")
    gammas, betas = ParameterVector("gamma", reps), ParameterVector("beta", reps)
    hamiltonian, _offset = qubo.to_ising()
    circuit = QuantumCircuit(n, name="onehot-QAOA")
    starts = np.cumsum([0, *dims[:-1]])
    for p, (first, k) in enumerate(zip(starts, dims, strict=True)):
        circuit.append(w_state(k, None if start is None else start[p]), range(first, first + k))
    for layer in range(reps):
        circuit.append(library.PauliEvolutionGate(hamiltonian, time=gammas[layer]), range(n))
        for first, k in zip(starts, dims, strict=True):
            for i, j in mixer_pairs(k, topology):
                circuit.append(library.XXPlusYYGate(2 * betas[layer]), [first + i, first + j])
    if measure:
        circuit.measure_all()
    return circuit


def x_mixer_qaoa_circuit(qubo: Qubo, reps: int, measure: bool = False) -> QuantumCircuit:
    """Standard QAOA: |+>^n, cost evolution, RX(2 beta) on every qubit."""
    gammas, betas = ParameterVector("gamma", reps), ParameterVector("beta", reps)
    hamiltonian, _offset = qubo.to_ising()
    circuit = QuantumCircuit(qubo.n, name="QAOA")
    circuit.h(range(qubo.n))
    for layer in range(reps):
        circuit.append(library.PauliEvolutionGate(hamiltonian, time=gammas[layer]), range(qubo.n))
        circuit.rx(2 * betas[layer], range(qubo.n))
    if measure:
        circuit.measure_all()
    return circuit


def bind(circuit: QuantumCircuit, params: np.ndarray) -> QuantumCircuit:
    """Bind [gamma_1..gamma_p, beta_1..beta_p] (the kernels' order) to a circuit's named parameters."""
    reps = len(params) // 2
    values = {f"gamma[{i}]": params[i] for i in range(reps)} | {f"beta[{i}]": params[reps + i] for i in range(reps)}
    return circuit.assign_parameters({p: values[p.name] for p in circuit.parameters})
