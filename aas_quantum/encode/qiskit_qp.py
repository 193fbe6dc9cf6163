"""The one adapter to Qiskit Optimization (archived upstream): a BomProblem as its ``QuadraticProgram``, and
that program as LP text (``encode --format qp``). Nothing else in the package imports qiskit_optimization,
so the core keeps working when it is gone; the program is worth keeping for its readers and solvers
(CPLEX, Gurobi, its own converters to QUBO)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qiskit_optimization import QuadraticProgram
from qiskit_optimization.translators import to_docplex_mp

from aas_quantum.atomic import atomic_write
from aas_quantum.encode.encodings import objective_qubo
from aas_quantum.milp import one_hot_name, option_names, safe_names
from aas_quantum.problem import BomProblem


def quadratic_program(problem: BomProblem) -> QuadraticProgram:
    """The exact model (same feasible set and objective as the MILP, the concentration term kept quadratic)
    with one binary x_i per option."""
    qp = QuadraticProgram(f"bom:{problem.product_id}")
    names = option_names(problem)
    for name in names:
        qp.binary_var(name)
    objective = objective_qubo(problem)
    quadratic = {
        (names[i], names[j]): float(objective.quadratic[i, j])
        for i, j in zip(*np.nonzero(objective.quadratic), strict=True)
    }
    qp.minimize(constant=objective.constant, linear=objective.linear.tolist(), quadratic=quadratic)
    row_names = safe_names(
        [one_hot_name(p.position_id) for p in problem.positions] + [c.name for c in problem.constraints]
    )
    for p, sl in enumerate(problem.position_slices):
        qp.linear_constraint({names[i]: 1.0 for i in range(sl.start, sl.stop)}, "==", 1.0, row_names[p])
    for r, c in enumerate(problem.constraints, start=len(problem.positions)):
        coefficients: dict[str, float] = {}
        for i, coef in c.coefficients:
            coefficients[names[i]] = coefficients.get(names[i], 0.0) + coef
        qp.linear_constraint(coefficients, c.sense, c.rhs, row_names[r])
    return qp


def write_lp(problem: BomProblem, path: Path) -> None:
    """The program as LP text, through docplex (``QuadraticProgram.export_as_lp_string`` is deprecated);
    ``from_docplex_mp(ModelReader.read(path))`` reads it back (docplex reads with CPLEX)."""
    text = to_docplex_mp(quadratic_program(problem)).export_as_lp_string()
    with atomic_write(path) as fh:
        fh.write(text)
