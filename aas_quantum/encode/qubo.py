"""A quadratic pseudo-Boolean polynomial: constant + l.x + x^T Q x (Q strictly upper triangular).

This is the one currency between encodings, simulation kernels and Qiskit: energies of many
bitstrings at once (vectorised), the Ising operator (``SparsePauliOp``) and size figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qiskit.quantum_info import SparsePauliOp


@dataclass(frozen=True)
class Qubo:
    constant: float
    linear: np.ndarray  # (n,)
    quadratic: np.ndarray  # (n, n), strictly upper triangular

    @classmethod
    def zeros(cls, n: int) -> Qubo:
        return cls(0.0, np.zeros(n), np.zeros((n, n)))

    @property
    def n(self) -> int:
        return len(self.linear)

    def __add__(self, other: Qubo) -> Qubo:
        return Qubo(self.constant + other.constant, self.linear + other.linear, self.quadratic + other.quadratic)

    def scaled(self, factor: float) -> Qubo:
        return Qubo(self.constant * factor, self.linear * factor, self.quadratic * factor)

    @classmethod
    def squared_affine(cls, coefficients: np.ndarray, offset: float) -> Qubo:
        """(a.x + offset)^2 for binary x (x_i^2 = x_i)."""
        a = np.asarray(coefficients, dtype=float)
        outer = np.triu(np.outer(a, a), k=1) * 2.0
        return cls(offset * offset, a * a + 2.0 * offset * a, outer)

    @classmethod
    def affine(cls, coefficients: np.ndarray, offset: float) -> Qubo:
        a = np.asarray(coefficients, dtype=float)
        return cls(offset, a.copy(), np.zeros((len(a), len(a))))

    def energies(self, bits: np.ndarray) -> np.ndarray:
        """Energies of the rows of a (m, n) 0/1 array."""
        b = np.asarray(bits, dtype=float)
        return self.constant + b @ self.linear + np.einsum("mi,ij,mj->m", b, self.quadratic, b)

    def onehot_energies(self, slices: Sequence[slice]) -> np.ndarray:
        """Energies of every one-hot state (one variable set per slice), last slice fastest: the
        one-hot subspace's diagonal without enumerating its bitstrings.

        Built slice by slice: the new slice pays its linear terms plus, for each earlier slice, the
        coupling between the two set variables (itself a ``grid_sum`` over the earlier slices).
        """
        if sum(sl.stop - sl.start for sl in slices) != self.n:
            raise ValueError(f"the slices cover {sum(sl.stop - sl.start for sl in slices)} of {self.n} variables")
        symmetric = self.quadratic + self.quadratic.T
        energies = np.full(1, self.constant)
        for b, new in enumerate(slices):
            coupling = grid_sum([symmetric[earlier, new] for earlier in slices[:b]], (new.stop - new.start,))
            energies = (energies[:, None] + self.linear[new][None, :] + coupling).reshape(-1)
        return energies

    def full_diagonal(self) -> np.ndarray:
        """All 2^n energies, basis index = sum_i x_i 2^i (Qiskit's little-endian order).

        Built qubit by qubit in O(n 2^n): adding qubit i doubles the table, the new half paying
        l_i plus Q[j, i] for every lower qubit j that is set.
        """
        energies = np.array([self.constant])
        for i in range(self.n):
            # sum_{j<i} Q[j, i] x_j for every state of the first i qubits
            coupling = np.zeros(1)
            for j in range(i):
                coupling = np.concatenate([coupling, coupling + self.quadratic[j, i]])
            energies = np.concatenate([energies, energies + self.linear[i] + coupling])
        return energies

    def to_ising(self) -> tuple[SparsePauliOp, float]:
        """(H, offset) with <x|H|x> + offset = energies(x), substituting x_i = (1 - Z_i) / 2."""
        n = self.n
        offset = self.constant + self.linear.sum() / 2.0 + self.quadratic.sum() / 4.0
        terms: list[tuple[str, list[int], float]] = []
        z = -self.linear / 2.0 - (self.quadratic.sum(axis=1) + self.quadratic.sum(axis=0)) / 4.0
        for i in range(n):
            if z[i] != 0:
                terms.append(("Z", [i], float(z[i])))
        rows, cols = np.nonzero(self.quadratic)
        for row, col in zip(rows, cols, strict=True):
            terms.append(("ZZ", [int(row), int(col)], float(self.quadratic[row, col]) / 4.0))
        if not terms:
            return SparsePauliOp.from_sparse_list([("", [], 0.0)], num_qubits=n), offset
        return SparsePauliOp.from_sparse_list(terms, num_qubits=n).simplify(), offset

    def write_ising(self, path: Path) -> None:
        """The Ising operator as JSON (``encode --ising-out``), for tools that take a Pauli sum, not our QUBO."""
        operator, offset = self.to_ising()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"num_qubits": operator.num_qubits, "offset": offset,
                                    "terms": [[label, coeff.real] for label, coeff in operator.to_list()]}, indent=1))

    def stats(self) -> dict[str, float | int]:
        """Size figures every run reports: qubits, terms, coefficient range."""
        coefficients = np.concatenate([self.linear[self.linear != 0], self.quadratic[self.quadratic != 0]])
        magnitudes = np.abs(coefficients)
        return {
            "qubits": self.n,
            "linear_terms": int(np.count_nonzero(self.linear)),
            "quadratic_terms": int(np.count_nonzero(self.quadratic)),
            "max_abs_coefficient": float(magnitudes.max()) if len(magnitudes) else 0.0,
            "min_abs_coefficient": float(magnitudes.min()) if len(magnitudes) else 0.0,
            "coefficient_range": float(magnitudes.max() / magnitudes.min()) if len(magnitudes) else 0.0,
        }


def grid_sum(blocks: Sequence[np.ndarray], tail: tuple[int, ...] = ()) -> np.ndarray:
    """``sum_a blocks[a][i_a]`` for every index tuple (i_0, i_1, ...), last fastest, each entry of
    shape ``tail``: a (prod len(blocks[a]), *tail) table.

    Built block by block, each step one broadcast add over the table so far: about 4/3 D additions
    for D tuples, where going through the enumerated tuples would form a D x n array.
    """
    table = np.zeros((1, *tail))
    for block in blocks:
        table = (table[:, None] + np.asarray(block, dtype=float)[None]).reshape(-1, *tail)
    return table
