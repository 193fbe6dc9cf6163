"""A BomProblem as qubits: one table of encodings (onehot, unbalanced, penalty) pairing each QUBO / Ising
build with the interpretation of measured bits, the QAOA circuits the quantum solvers run, and the model
files other solvers read (``write_model``: LP, MPS, dimod CQM / BQM, Qiskit QuadraticProgram)."""

from aas_quantum.encode.circuits import bind, mixer_pairs, onehot_qaoa_circuit, x_mixer_qaoa_circuit
from aas_quantum.encode.encodings import Encoding, choice_bits, objective_spread, subspace_objective, subspace_table
from aas_quantum.encode.export import EXPORT_FORMATS, write_model
from aas_quantum.encode.table import EncodingScheme, basis_bits, encoding_scheme

__all__ = [
    "EXPORT_FORMATS",
    "Encoding",
    "EncodingScheme",
    "basis_bits",
    "bind",
    "choice_bits",
    "encoding_scheme",
    "mixer_pairs",
    "objective_spread",
    "onehot_qaoa_circuit",
    "subspace_objective",
    "subspace_table",
    "write_model",
    "x_mixer_qaoa_circuit",
]
