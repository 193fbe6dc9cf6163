"""The encoding table: each encoding's ``build`` (problem -> its QUBO) paired with its ``interpret``
(measured bits -> selection) in one entry, as qiskit-optimization's converters pair ``convert`` and
``interpret``. Solvers look an encoding up here by the name the user gave; none switches on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from aas_quantum.encode.encodings import Encoding, onehot_encoding, penalty_qubo, tune_unbalanced, unbalanced_qubo
from aas_quantum.errors import ConfigError
from aas_quantum.problem import BomProblem

# the qubits reported for a problem the encoding cannot hold: above every budget, so it is never chosen
UNENCODABLE_QUBITS = 10**6


def basis_bits(indices: Iterable[int], n: int) -> np.ndarray:
    """The low ``n`` bits of each basis state (Qiskit's little-endian order: qubit i is bit i) as (m, n) 0/1
    rows: the option qubits of a measured state, the slack qubits above them dropped. Python integers, not
    int64: a device run of more than 63 qubits measures indices beyond it."""
    return np.array([[(index >> i) & 1 for i in range(n)] for index in indices], dtype=np.int8).reshape(-1, n)


@dataclass(frozen=True)
class EncodingScheme:
    """One encoding: how a problem becomes its QUBO, how many qubits that takes, and how measured bits
    become a selection."""

    name: str
    # one option per position is kept by the ansatz (W states, XY mixers) instead of a penalty: only an
    # ansatz that keeps one-hot can run it
    one_hot_by_ansatz: bool
    # the encoding an ansatz that cannot keep one-hot runs instead: this one, unless one_hot_by_ansatz
    penalised: str
    tuned: Callable[[BomProblem], Encoding]  # multipliers chosen on the enumerated subspace, where it has any
    untuned: Callable[[BomProblem], Encoding]  # the published multipliers: what a too large problem gets
    has_slack: bool  # inequalities take slack qubits, whose count is known only once built

    def build(self, problem: BomProblem, tuned: bool = True) -> Encoding:
        """``tuned``: the multipliers are chosen on the enumerated subspace, which knows where the optimum is;
        a solver that must not be handed the answer (the hybrid's windows) asks for the untuned build."""
        return (self.tuned if tuned else self.untuned)(problem)

    def qubits(self, problem: BomProblem) -> int:
        """Qubits the encoding needs for ``problem``, known before any state is allocated (slack included)."""
        if not self.has_slack:
            return problem.n_options
        try:
            return self.untuned(problem).qubo.n
        except ConfigError:  # a constraint needs more slack qubits than the encoding allows
            return UNENCODABLE_QUBITS

    def for_any_ansatz(self) -> EncodingScheme:
        """What an ansatz that cannot keep one-hot (VQE's hardware-efficient one) runs for this encoding."""
        return ENCODINGS[self.penalised]

    def interpret(self, problem: BomProblem, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each measured bitstring (a row of ``bits``: option qubits first, any slack qubits after) as a
        selection: (rows, positions) option numbers, and whether the row was that selection exactly (one
        option set per position). A row that was not is read as its nearest selection: per position the
        cheapest option set, or the cheapest option when none is."""
        options = np.asarray(bits, dtype=np.int8).reshape(len(bits), -1)[:, :problem.n_options] == 1
        choices = np.empty((len(options), len(problem.positions)), dtype=np.int64)
        exact = np.ones(len(options), dtype=bool)
        for p, sl in enumerate(problem.position_slices):
            on, costs = options[:, sl], problem.cost_vector[sl]
            exact &= on.sum(axis=1) == 1
            cheapest_set = np.argmin(np.where(on, costs, np.inf), axis=1)
            choices[:, p] = np.where(on.any(axis=1), cheapest_set, np.argmin(costs))
        return choices, exact


ENCODINGS: dict[str, EncodingScheme] = {scheme.name: scheme for scheme in (
    EncodingScheme("onehot", True, "unbalanced", lambda problem: tune_unbalanced(problem), onehot_encoding,
                   has_slack=False),
    EncodingScheme("unbalanced", False, "unbalanced", lambda problem: tune_unbalanced(problem, unbalanced_qubo),
                   unbalanced_qubo, has_slack=False),
    EncodingScheme("penalty", False, "penalty", penalty_qubo, penalty_qubo, has_slack=True),
)}


def encoding_scheme(name: str) -> EncodingScheme:
    try:
        return ENCODINGS[name]
    except KeyError:
        raise ConfigError(f"unknown encoding {name!r} ({', '.join(ENCODINGS)})") from None
