"""The MILP of a BomProblem: the one model the exact solver solves and the LP / MPS export writes, so a
file read into HiGHS or Gurobi has the optimum the reports quote.

The concentration term sum_s w * n_s^2 is linearised exactly for integer n_s with its secants:
z_s >= (2k+1) n_s - k(k+1) for k = 0..K-1 (the secant through (k, k^2) and (k+1, (k+1)^2)), K the
positions supplier s can serve; z_s is continuous and costs w.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from aas_quantum.problem import BomProblem


@dataclass(frozen=True)
class MilpForm:
    """min cost @ v  s.t.  row_lower <= matrix @ v <= row_upper, lower <= v <= upper, v integer where
    ``integrality`` is 1; v = the option binaries x (first ``n_options``), then one z_s per supplier."""

    cost: np.ndarray
    integrality: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    matrix: sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_names: tuple[str, ...]
    row_names: tuple[str, ...]


def option_names(problem: BomProblem) -> list[str]:
    """The option variables' names in every exported model (x0, x1, ... in option order)."""
    return [f"x{i}" for i in range(problem.n_options)]


def one_hot_name(position_id: str) -> str:
    return f"OneHot[{position_id}]"


def safe_names(names: list[str]) -> tuple[str, ...]:
    """Names every LP / MPS reader takes: letters, digits and ``_`` only, not starting with a digit, unique
    (a clash gets its row number appended). The readable constraint names (``MaxTotalWeight``,
    ``Incompatible[A|B]``) hold brackets and bars the LP grammar gives other meanings."""
    out: list[str] = []
    seen: set[str] = set()
    for r, name in enumerate(names):
        safe = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "row"
        if safe[0].isdigit():
            safe = f"r{safe}"
        if safe in seen:
            safe = f"{safe}_{r}"
        seen.add(safe)
        out.append(safe)
    return tuple(out)


def milp_form(problem: BomProblem) -> MilpForm:
    """The MILP, its constraint matrix sparse: dense rows cost n_vars floats each (100 MB at 2,000 positions)."""
    n = problem.n_options
    groups = list(problem.supplier_groups.items()) if problem.concentration_weight else []
    n_vars = n + len(groups)
    row_of: list[np.ndarray] = []
    col_of: list[np.ndarray] = []
    val_of: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []
    names: list[str] = []

    def add(name: str, columns: np.ndarray, values: np.ndarray, low: float, high: float) -> None:
        row_of.append(np.full(len(columns), len(lower)))
        col_of.append(np.asarray(columns))
        val_of.append(np.asarray(values, dtype=float))
        lower.append(low)
        upper.append(high)
        names.append(name)

    for p, sl in zip(problem.positions, problem.position_slices, strict=True):  # exactly one option per position
        add(one_hot_name(p.position_id), np.arange(sl.start, sl.stop), np.ones(sl.stop - sl.start), 1.0, 1.0)
    a_le, b_le = problem.le_form
    for r, c in enumerate(problem.constraints):
        columns = np.flatnonzero(a_le[r])
        add(c.name, columns, a_le[r, columns], -np.inf, float(b_le[r]))
    for g, (supplier, idx) in enumerate(groups):
        positions = len({problem.options[i].position_id for i in idx})
        for k in range(positions):
            add(
                f"Concentration[{supplier}]{k}",
                np.array([*idx, n + g]),
                np.array([2 * k + 1] * len(idx) + [-1.0]),
                -np.inf,
                k * (k + 1),
            )
    # a problem has at least one position, so at least one row
    matrix = sparse.csr_array(
        (np.concatenate(val_of), (np.concatenate(row_of), np.concatenate(col_of))), shape=(len(lower), n_vars)
    )
    return MilpForm(
        cost=np.concatenate([problem.cost_vector, np.full(len(groups), problem.concentration_weight)]),
        integrality=np.concatenate([np.ones(n), np.zeros(len(groups))]),
        lower=np.zeros(n_vars),
        upper=np.concatenate([np.ones(n), np.full(len(groups), np.inf)]),
        matrix=matrix,
        row_lower=np.array(lower),
        row_upper=np.array(upper),
        column_names=(*option_names(problem), *safe_names([f"z_{supplier}" for supplier, _ in groups])),
        row_names=safe_names(names),
    )
