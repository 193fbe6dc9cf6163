"""The problem as a file for other solvers (``encode --format``): LP and MPS (the exact solver's MILP, written
by HiGHS's own writer), dimod's CQM (one-hot groups as discrete constraints, the limits as inequalities) and
BQM (the QUBO an encoding builds, penalties included), and Qiskit Optimization's QuadraticProgram as LP text.

Each writer reads the one model the project solves (``milp_form``, ``objective_qubo``, the encoding table),
so an exported file has the optimum the reports quote. The libraries are imported when used: highspy is a
dependency, dimod an extra (``aas-quantum[dwave]``), Qiskit Optimization behind ``qiskit_qp``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from aas_quantum.atomic import atomic_write
from aas_quantum.encode.encodings import objective_qubo
from aas_quantum.encode.qubo import Qubo
from aas_quantum.encode.table import encoding_scheme
from aas_quantum.errors import ConfigError
from aas_quantum.milp import milp_form, one_hot_name, option_names, safe_names
from aas_quantum.problem import BomProblem

EXPORT_FORMATS = ("lp", "mps", "cqm", "bqm", "qp")


def write_model(problem: BomProblem, fmt: str, path: Path, encoding: str = "onehot") -> None:
    """Write ``problem`` in ``fmt`` to ``path``; ``encoding`` names the QUBO a BQM holds (the others hold the
    exact model, whatever the encoding)."""
    if fmt in ("lp", "mps"):
        _write_highs(problem, fmt, path)
    elif fmt == "cqm":
        _write_dimod(cqm(problem), path)
    elif fmt == "bqm":
        _write_dimod(bqm(problem, encoding), path)
    elif fmt == "qp":
        from aas_quantum.encode import qiskit_qp  # the one module that imports Qiskit Optimization

        qiskit_qp.write_lp(problem, path)
    else:
        raise ConfigError(f"unknown model format {fmt!r} ({', '.join(EXPORT_FORMATS)})")


def _write_highs(problem: BomProblem, fmt: str, path: Path) -> None:
    """HiGHS's writer picks the format by the file's suffix: it writes into a scratch folder under the
    format's own suffix, whatever ``path`` is called, and the file is then moved into place whole."""
    import highspy

    form = milp_form(problem)
    columns = form.matrix.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = columns.shape[1], columns.shape[0]
    lp.col_cost_ = form.cost
    lp.col_lower_, lp.col_upper_ = form.lower, np.where(np.isinf(form.upper), highspy.kHighsInf, form.upper)
    lp.row_lower_ = np.where(np.isinf(form.row_lower), -highspy.kHighsInf, form.row_lower)
    lp.row_upper_ = form.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = columns.indptr, columns.indices
    lp.a_matrix_.value_ = columns.data
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in form.integrality
    ]
    lp.col_names_, lp.row_names_ = list(form.column_names), list(form.row_names)
    lp.model_name_ = safe_names([problem.name])[0]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    if highs.passModel(lp) != highspy.HighsStatus.kOk:
        raise ConfigError(f"HiGHS refused the model of {problem.product_id}")  # pragma: no cover - a bug here
    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / f"model.{fmt}"
        if highs.writeModel(str(written)) != highspy.HighsStatus.kOk:
            raise ConfigError(f"HiGHS could not write {fmt} for {problem.product_id}")  # pragma: no cover
        with atomic_write(path, "wb") as fh:
            fh.write(written.read_bytes())


def _dimod() -> Any:
    try:
        import dimod
    except ImportError:
        raise ConfigError("--format cqm and bqm need dimod: pip install 'aas-quantum[dwave]'") from None
    return dimod


def _binary_model(qubo: Qubo, names: list[str]) -> Any:
    dimod = _dimod()
    rows, cols = np.nonzero(qubo.quadratic)
    return dimod.BinaryQuadraticModel(
        {name: float(v) for name, v in zip(names, qubo.linear, strict=True)},
        {(names[i], names[j]): float(qubo.quadratic[i, j]) for i, j in zip(rows, cols, strict=True)},
        float(qubo.constant),
        dimod.BINARY,
    )


def cqm(problem: BomProblem) -> Any:
    """A ``dimod.ConstrainedQuadraticModel``: the objective with its quadratic concentration term, each
    position's options a discrete (one-hot) group, each limit an inequality under its own name."""
    dimod = _dimod()
    names = option_names(problem)
    model = dimod.ConstrainedQuadraticModel()
    model.set_objective(_binary_model(objective_qubo(problem), names))
    for p, sl in zip(problem.positions, problem.position_slices, strict=True):
        model.add_discrete(names[sl], label=one_hot_name(p.position_id))
    for c in problem.constraints:
        coefficients: dict[str, float] = {}
        for i, coef in c.coefficients:
            coefficients[names[i]] = coefficients.get(names[i], 0.0) + coef
        terms = [(name, coef) for name, coef in coefficients.items() if coef != 0]
        model.add_constraint_from_iterable(terms, c.sense, rhs=c.rhs, label=c.name)
    return model


def bqm_names(problem: BomProblem, n_variables: int) -> list[str]:
    """The option variables, then the encoding's slack bits (s0, s1, ...)."""
    return option_names(problem) + [f"s{k}" for k in range(n_variables - problem.n_options)]


def bqm(problem: BomProblem, encoding: str) -> Any:
    """A ``dimod.BinaryQuadraticModel``: the QUBO ``encoding`` builds for the quantum solvers (tuned as they
    run it), so a sampler's best sample is read as a selection the way a measured bitstring is. A sampler
    keeps no one-hot, so ``onehot`` gives what an ansatz that cannot keep it runs (one-hot penalised)."""
    qubo = encoding_scheme(encoding).for_any_ansatz().build(problem).qubo
    return _binary_model(qubo, bqm_names(problem, qubo.n))


def _write_dimod(model: Any, path: Path) -> None:
    """dimod's own file format (``from_file`` reads it back)."""
    with model.to_file() as source, atomic_write(path, "wb") as fh:
        fh.write(source.read())
