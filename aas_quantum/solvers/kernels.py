"""Exact QAOA simulation kernels.

``SubspaceQaoa`` simulates the constraint-preserving ansatz (a W state per position, XY mixers
made of XX+YY pair gates) in the one-hot subspace: the state has prod(options per position)
amplitudes instead of 2^n, the cost is a precomputed diagonal over the feasible selections, and
each position's mixer is a small dense unitary applied along its tensor axis. It reproduces the
Qiskit circuit of ``encode.circuits.onehot_qaoa_circuit`` exactly (up to a global phase).
"""

from __future__ import annotations

import math

import numpy as np

from aas_quantum.encode.circuits import mixer_pairs


def position_mixer(k: int, beta: float, topology: str) -> np.ndarray:
    """The k x k unitary of a position's mixer on its one-hot states: the product of the pair
    gates XXPlusYY(2 beta), each a Givens rotation [[cos b, -i sin b], [-i sin b, cos b]]."""
    unitary = np.eye(k, dtype=complex)
    c, s = math.cos(beta), -1j * math.sin(beta)
    for i, j in mixer_pairs(k, topology):
        gate = np.eye(k, dtype=complex)
        gate[i, i] = gate[j, j] = c
        gate[i, j] = gate[j, i] = s
        unitary = gate @ unitary
    return unitary


class SubspaceQaoa:
    """QAOA state and energies over the one-hot subspace of positions with ``dims`` options."""

    def __init__(self, dims: list[int], diagonal: np.ndarray, topology: str = "ring") -> None:
        self.dims = tuple(dims)
        self.size = math.prod(self.dims)
        if diagonal.shape != (self.size,):
            raise ValueError(f"diagonal has {diagonal.shape} entries for a subspace of {self.size}")
        self.diagonal = np.asarray(diagonal, dtype=float)
        self.topology = topology

    def state(self, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        psi = np.full(self.dims, 1.0 / math.sqrt(self.size), dtype=complex)
        phase_diag = self.diagonal.reshape(self.dims)
        for gamma, beta in zip(gammas, betas, strict=True):
            psi *= np.exp(-1j * gamma * phase_diag)
            for axis, k in enumerate(self.dims):
                if k > 1:
                    unitary = position_mixer(k, float(beta), self.topology)
                    psi = np.moveaxis(np.tensordot(unitary, psi, axes=([1], [axis])), 0, axis)
        return psi.reshape(-1)

    def probabilities(self, params: np.ndarray) -> np.ndarray:
        p = len(params) // 2
        psi = self.state(params[:p], params[p:])
        return np.abs(psi) ** 2

    def expectation(self, params: np.ndarray, cvar_alpha: float = 1.0) -> float:
        """<C>, or the CVaR_alpha (mean of the lowest alpha of the probability mass)."""
        probs = self.probabilities(params)
        if cvar_alpha >= 1.0:
            return float(probs @ self.diagonal)
        return cvar(self.diagonal, probs, cvar_alpha)


def cvar(energies: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    order = np.argsort(energies)
    mass = np.cumsum(probs[order])
    take = np.minimum(probs[order], np.maximum(alpha - (mass - probs[order]), 0.0))
    return float(take @ energies[order] / alpha)
