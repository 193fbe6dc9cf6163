"""Exact QAOA simulation kernels.

``FullSpaceQaoa`` simulates the standard X-mixer QAOA on all 2^n basis states: the cost diagonal
is computed once (``Qubo.full_diagonal``), each layer is one elementwise phase multiply and n
in-place single-qubit rotations (numba, parallel), the energy one dot product. It reproduces
Qiskit's statevector of the same circuit (H layer, cost evolution, RX(2 beta) per qubit).

``SubspaceQaoa`` simulates the constraint-preserving ansatz (a W state per position, XY mixers
made of XX+YY pair gates) in the one-hot subspace: the state has prod(options per position)
amplitudes instead of 2^n, the cost is a precomputed diagonal over the feasible selections, and
each position's mixer is a small dense unitary applied along its tensor axis. It reproduces the
Qiskit circuit of ``encode.circuits.onehot_qaoa_circuit`` exactly (up to a global phase).
"""

from __future__ import annotations

import math
import os

import numba
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

    def __init__(self, dims: list[int], diagonal: np.ndarray, topology: str = "ring",
                 start: list[np.ndarray] | None = None) -> None:
        """``start``: per-position amplitudes of the initial one-hot superposition (default: W states)."""
        self.dims = tuple(dims)
        self.size = math.prod(self.dims)
        if diagonal.shape != (self.size,):
            raise ValueError(f"diagonal has {diagonal.shape} entries for a subspace of {self.size}")
        self.diagonal = np.asarray(diagonal, dtype=float)
        self.topology = topology
        self.start = start or [np.full(k, 1.0 / math.sqrt(k)) for k in self.dims]

    def state(self, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        psi: np.ndarray = np.ones(1, dtype=complex)
        for amplitudes in self.start:  # product state over positions
            psi = np.multiply.outer(psi, amplitudes)
        psi = psi.reshape(self.dims).astype(complex)
        phase_diag = self.diagonal.reshape(self.dims)
        for gamma, beta in zip(gammas, betas, strict=True):
            psi *= np.exp(-1j * gamma * phase_diag)
            mixers = {k: position_mixer(k, float(beta), self.topology) for k in set(self.dims) if k > 1}
            for axis, k in enumerate(self.dims):
                if k > 1:
                    psi = np.moveaxis(np.tensordot(mixers[k], psi, axes=([1], [axis])), 0, axis)
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


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (physical memory where that is not readable)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


LOW_BITS = 16  # 2^16 amplitudes per row (1 MiB): phase and low-qubit rotations stay in cache
COLUMN_BLOCK = 64  # columns swept together by the high-qubit rotations (measured best here)


PHASE_TABLE_BITS = 12
_STEP = 2.0 * math.pi / (1 << PHASE_TABLE_BITS)
# exp(-i j step) for j < 4096: the phase exp(-i theta) = table[m mod 4096] * exp(-i r), theta = m step + r,
# |r| <= step / 2 = 7.7e-4, exp(-i r) from its Taylor series to r^5 (error < 1e-21). Avoids a libm
# sin/cos per amplitude, which was most of a layer's time.
_PHASE_RE = np.cos(np.arange(1 << PHASE_TABLE_BITS) * _STEP)
_PHASE_IM = -np.sin(np.arange(1 << PHASE_TABLE_BITS) * _STEP)


@numba.njit(inline="always")
def _unit_phase(theta: float, table_re: np.ndarray, table_im: np.ndarray) -> tuple[float, float]:
    """(cos theta, -sin theta) = exp(-i theta) by table lookup and a short polynomial."""
    m = round(theta / _STEP)
    r = theta - m * _STEP
    r2 = r * r
    cr = 1.0 - r2 * (0.5 - r2 / 24.0)
    sr = -r * (1.0 - r2 * (1.0 / 6.0 - r2 / 120.0))
    j = int(m) & ((1 << PHASE_TABLE_BITS) - 1)
    tr, ti = table_re[j], table_im[j]
    return tr * cr - ti * sr, tr * sr + ti * cr


@numba.njit(parallel=True, fastmath=True, cache=True)
def _layer(v: np.ndarray, diagonal: np.ndarray, n: int, gamma: float, beta: float) -> None:
    """One QAOA layer in place on ``v`` (the state as interleaved float64 re/im): exp(-i gamma C),
    then exp(-i beta X) on every qubit.

    The state is viewed as rows of 2^b amplitudes (b low qubits). Pass 1 works row by row: phase
    and qubits 0-1 fused (RX x RX on groups of four), then qubits 2..b-1, all in cache. Pass 2 sweeps
    blocks of columns through the high-qubit rotations. Two passes over memory per layer.
    Real arithmetic throughout so the inner loops vectorise.
    """
    b = min(n, LOW_BITS)
    cols = 1 << b
    rows = 1 << (n - b)
    c, sn = math.cos(beta), math.sin(beta)
    cc, ss, cs = c * c, sn * sn, c * sn
    table_re, table_im = _PHASE_RE, _PHASE_IM
    for r in numba.prange(rows):
        base = r * cols
        for g in range(base, base + cols, 4):
            c0, s0 = _unit_phase(gamma * diagonal[g], table_re, table_im)
            c1, s1 = _unit_phase(gamma * diagonal[g + 1], table_re, table_im)
            c2, s2 = _unit_phase(gamma * diagonal[g + 2], table_re, table_im)
            c3, s3 = _unit_phase(gamma * diagonal[g + 3], table_re, table_im)
            k = 2 * g
            r0 = v[k] * c0 - v[k + 1] * s0
            i0 = v[k] * s0 + v[k + 1] * c0
            r1 = v[k + 2] * c1 - v[k + 3] * s1
            i1 = v[k + 2] * s1 + v[k + 3] * c1
            r2 = v[k + 4] * c2 - v[k + 5] * s2
            i2 = v[k + 4] * s2 + v[k + 5] * c2
            r3 = v[k + 6] * c3 - v[k + 7] * s3
            i3 = v[k + 6] * s3 + v[k + 7] * c3
            # (RX x RX) on qubits 0-1: c^2 on the diagonal, -i c s for one flip, -s^2 for both
            v[k] = cc * r0 + cs * (i1 + i2) - ss * r3
            v[k + 1] = cc * i0 - cs * (r1 + r2) - ss * i3
            v[k + 2] = cc * r1 + cs * (i0 + i3) - ss * r2
            v[k + 3] = cc * i1 - cs * (r0 + r3) - ss * i2
            v[k + 4] = cc * r2 + cs * (i0 + i3) - ss * r1
            v[k + 5] = cc * i2 - cs * (r0 + r3) - ss * i1
            v[k + 6] = cc * r3 + cs * (i1 + i2) - ss * r0
            v[k + 7] = cc * i3 - cs * (r1 + r2) - ss * i0
        for q in range(2, b):
            bit = 1 << q
            for start in range(base, base + cols, 2 * bit):
                for t in range(start, start + bit):
                    i, j = 2 * t, 2 * (t + bit)
                    xr, xi, yr, yi = v[i], v[i + 1], v[j], v[j + 1]
                    v[i] = c * xr + sn * yi
                    v[i + 1] = c * xi - sn * yr
                    v[j] = c * yr + sn * xi
                    v[j + 1] = c * yi - sn * xr
    width = min(COLUMN_BLOCK, cols)
    for block in numba.prange(cols // width):
        first = block * width
        for q in range(n - b):
            bit = 1 << q
            for row_start in range(0, rows, 2 * bit):
                for ri in range(row_start, row_start + bit):
                    i0 = 2 * (ri * cols + first)
                    j0 = 2 * ((ri + bit) * cols + first)
                    for t in range(0, 2 * width, 2):
                        xr, xi, yr, yi = v[i0 + t], v[i0 + t + 1], v[j0 + t], v[j0 + t + 1]
                        v[i0 + t] = c * xr + sn * yi
                        v[i0 + t + 1] = c * xi - sn * yr
                        v[j0 + t] = c * yr + sn * xi
                        v[j0 + t + 1] = c * yi - sn * xr


@numba.njit(parallel=True, cache=True)
def _fill(psi: np.ndarray, value: float) -> None:
    for i in numba.prange(psi.shape[0]):
        psi[i] = value


@numba.njit(parallel=True, cache=True)
def _expectation(psi: np.ndarray, diagonal: np.ndarray) -> float:
    total = 0.0
    for i in numba.prange(psi.shape[0]):
        total += (psi[i].real * psi[i].real + psi[i].imag * psi[i].imag) * diagonal[i]
    return total


class FullSpaceQaoa:
    """X-mixer QAOA on n qubits from a precomputed cost diagonal (basis index = sum x_i 2^i)."""

    def __init__(self, diagonal: np.ndarray, dtype: type = np.complex128) -> None:
        n = round(math.log2(len(diagonal)))
        if 2 ** n != len(diagonal) or n < 2:
            raise ValueError(f"diagonal length {len(diagonal)} is not a power of two >= 4")
        self.n = n
        self.dtype = np.dtype(dtype)
        self.diagonal = np.ascontiguousarray(diagonal, dtype=np.float64 if self.dtype == np.complex128 else np.float32)
        check_memory(n, self.dtype)
        self._psi = np.empty(2 ** n, dtype=self.dtype)  # reused: first-touch page faults cost more than a layer

    def state(self, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """The QAOA state (a view of the kernel's buffer: copy it to keep it past the next call)."""
        psi = self._psi
        _fill(psi, 1.0 / math.sqrt(2 ** self.n))
        view = psi.view(np.float64 if self.dtype == np.complex128 else np.float32)
        for gamma, beta in zip(gammas, betas, strict=True):
            _layer(view, self.diagonal, self.n, float(gamma), float(beta))
        return psi

    def probabilities(self, params: np.ndarray) -> np.ndarray:
        p = len(params) // 2
        return np.abs(self.state(params[:p], params[p:])) ** 2

    def expectation(self, params: np.ndarray, cvar_alpha: float = 1.0) -> float:
        p = len(params) // 2
        psi = self.state(np.asarray(params[:p]), np.asarray(params[p:]))
        if cvar_alpha >= 1.0:
            return float(_expectation(psi, self.diagonal))
        return cvar(self.diagonal, np.abs(psi) ** 2, cvar_alpha)


def check_memory(n: int, dtype: np.dtype) -> None:
    """Refuse sizes this machine cannot hold: state + diagonal + one temporary of each."""
    need = 2 ** n * (2 * dtype.itemsize + 2 * 8)
    have = available_memory_bytes()
    if need > 0.8 * have:
        raise MemoryError(f"a {n}-qubit statevector needs about {need / 2**30:.1f} GiB "
                          f"({dtype.name}); {have / 2**30:.1f} GiB is available. Use fewer qubits, "
                          "the onehot encoding or --solver hybrid")
