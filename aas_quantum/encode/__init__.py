"""BomProblem -> QuadraticProgram -> QUBO / Ising / one-hot subspace encodings."""
