"""Exact QAOA simulation kernels.

``FullSpaceQaoa`` simulates the standard X-mixer QAOA on all 2^n basis states: the cost diagonal
is computed once (``Qubo.full_diagonal``), each layer is one elementwise phase multiply and n
in-place single-qubit rotations (numba, parallel), the energy one dot product. It reproduces
Qiskit's statevector of the same circuit (H layer, cost evolution, RX(2 beta) per qubit).

``SubspaceQaoa`` simulates the constraint-preserving ansatz (a W state per position, XY mixers
made of XX+YY pair gates) in the one-hot subspace: the state has prod(options per position)
amplitudes instead of 2^n, the cost is a precomputed diagonal over the one-hot selections
(``Qubo.onehot_energies``), and each pair gate rotates the amplitude pairs of its position, in
place (numba, parallel). It reproduces the Qiskit circuit of ``encode.circuits.onehot_qaoa_circuit``
exactly (up to a global phase).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numba
import numpy as np

from aas_quantum.encode import mixer_pairs

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


SUBSPACE_ROW = 1 << 14  # amplitudes per row: a row's phase and trailing mixers stay in L2
# from this many states the subspace state is single precision: its passes are memory-bound, and
# expectations agree with double precision to about 1e-6 relative (tested)
SINGLE_PRECISION_STATES = 1 << 23
LEADING_GROUP = 64  # most rows a leading pass mixes together (one pass per group of positions)
LEADING_CHUNK = 512  # columns of those rows copied out at a time


@dataclass(frozen=True)
class _Mixers:
    """The pair gates of some positions: position m has ``sizes[m]`` options ``strides[m]`` apart
    and gates (pair_i[g], pair_j[g]) for g in pair_ptr[m]:pair_ptr[m + 1], in circuit order."""

    strides: np.ndarray
    sizes: np.ndarray
    pair_ptr: np.ndarray
    pair_i: np.ndarray
    pair_j: np.ndarray

    @classmethod
    def of(cls, sizes: list[int], strides: list[int], topology: str) -> _Mixers:
        pairs = [mixer_pairs(k, topology) for k in sizes]
        return cls(np.array(strides, dtype=np.int64), np.array(sizes, dtype=np.int64),
                   np.cumsum([0] + [len(p) for p in pairs]).astype(np.int64),
                   np.array([i for p in pairs for i, _ in p], dtype=np.int64),
                   np.array([j for p in pairs for _, j in p], dtype=np.int64))


@dataclass(frozen=True)
class _LeadingGroup:
    """Consecutive leading positions mixed in one pass: their rows relative to a first row
    (``offsets``), the first rows (``o * span + i``, i < inner) and their gates in buffer rows."""

    offsets: np.ndarray
    span: int
    inner: int
    mixers: _Mixers


class SubspaceQaoa:
    """QAOA state and energies over the one-hot subspace of positions with ``dims`` options.

    The state is a C-ordered tensor with one axis per position (last fastest), kept as separate
    real and imaginary arrays so every pair gate is a contiguous, vectorised sweep. The trailing
    positions make rows of at most ``row_limit`` amplitudes. A layer is one pass of row-local work
    (phase and the trailing positions' mixers, in cache), then one pass per group of leading
    positions, which mixes a few rows at a time through a small buffer (numba, parallel, in place).
    """

    def __init__(self, dims: list[int], diagonal: np.ndarray, topology: str = "ring",
                 start: list[np.ndarray] | None = None, row_limit: int = SUBSPACE_ROW,
                 dtype: type = np.float64) -> None:
        """``start``: per-position amplitudes of the initial one-hot superposition (default: W states).
        ``row_limit``: most amplitudes per row (tests lower it so small states take every pass).
        ``dtype``: of the state's real and imaginary parts; float32 halves the memory every pass
        streams (the energies stay float64)."""
        self.dims = tuple(dims)
        self.size = math.prod(self.dims)
        if diagonal.shape != (self.size,):
            raise ValueError(f"diagonal has {diagonal.shape} entries for a subspace of {self.size}")
        self.diagonal = np.ascontiguousarray(diagonal, dtype=np.float64)
        self.start = start or [np.full(k, 1.0 / math.sqrt(k)) for k in self.dims]
        trailing = [math.prod(self.dims[a:]) for a in range(len(self.dims) + 1)]
        split = next(a for a, size in enumerate(trailing) if size <= row_limit)
        self.row = trailing[split]
        moving = [a for a in range(split, len(self.dims)) if self.dims[a] > 1]
        self._trailing = _Mixers.of([self.dims[a] for a in moving], [trailing[a + 1] for a in moving], topology)
        self._groups: list[_LeadingGroup] = []
        leading = [a for a in range(split) if self.dims[a] > 1]
        while leading:  # consecutive leading positions, at most LEADING_GROUP rows together
            group = [leading.pop(0)]
            while leading and math.prod(self.dims[a] for a in group + leading[:1]) <= LEADING_GROUP:
                group.append(leading.pop(0))
            row_strides = [trailing[a + 1] // self.row for a in group]
            sizes = [self.dims[a] for a in group]
            local = [math.prod(sizes[m + 1:]) for m in range(len(sizes))]
            digits = np.indices(sizes).reshape(len(sizes), -1).T
            self._groups.append(_LeadingGroup(
                offsets=(digits @ np.array(row_strides, dtype=np.int64)).astype(np.int64),
                span=row_strides[0] * sizes[0], inner=row_strides[-1],
                mixers=_Mixers.of(sizes, local, topology)))
        # the initial product state as (leading positions' amplitude per row) x (trailing per column)
        self._lead = _outer(self.start[:split])
        self._trail = _outer(self.start[split:])
        self.dtype = np.dtype(dtype)
        self._re = np.empty(self.size, self.dtype)  # reused across evaluations
        self._im = np.empty(self.size, self.dtype)

    def _evolve(self, gammas: np.ndarray, betas: np.ndarray) -> None:
        _product_state(self._re, self._im, self._lead, self._trail)
        for gamma, beta in zip(gammas, betas, strict=True):
            c, s = self.dtype.type(math.cos(beta)), self.dtype.type(math.sin(beta))  # no mixed-precision sweeps
            m = self._trailing
            _trailing_pass(self._re, self._im, self.diagonal, self.row, m.strides, m.sizes, m.pair_ptr,
                           m.pair_i, m.pair_j, float(gamma), c, s)
            for g in self._groups:
                m = g.mixers
                _leading_pass(self._re, self._im, self.row, LEADING_CHUNK, g.span, g.inner, g.offsets,
                              m.strides, m.sizes, m.pair_ptr, m.pair_i, m.pair_j, c, s)

    def state(self, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        self._evolve(np.asarray(gammas), np.asarray(betas))
        return self._re + 1j * self._im

    def probabilities(self, params: np.ndarray) -> np.ndarray:
        p = len(params) // 2
        self._evolve(np.asarray(params[:p]), np.asarray(params[p:]))
        return _squared_norms(self._re, self._im)

    def expectation(self, params: np.ndarray, cvar_alpha: float = 1.0) -> float:
        """<C>, or the CVaR_alpha (mean of the lowest alpha of the probability mass)."""
        p = len(params) // 2
        self._evolve(np.asarray(params[:p]), np.asarray(params[p:]))
        if cvar_alpha >= 1.0:
            return float(_split_expectation(self._re, self._im, self.diagonal))
        return cvar(self.diagonal, _squared_norms(self._re, self._im), cvar_alpha)


def _outer(amplitudes: list[np.ndarray]) -> np.ndarray:
    """The product state of ``amplitudes`` over consecutive positions, flattened (last fastest)."""
    table = np.ones(1)
    for a in amplitudes:
        table = np.multiply.outer(table, np.asarray(a, dtype=float)).reshape(-1)
    return table


@numba.njit(parallel=True, cache=True)
def _product_state(re: np.ndarray, im: np.ndarray, lead: np.ndarray, trail: np.ndarray) -> None:
    cols = trail.shape[0]
    for r in numba.prange(lead.shape[0]):
        for t in range(cols):
            re[r * cols + t] = lead[r] * trail[t]
            im[r * cols + t] = 0.0


@numba.njit(parallel=True, cache=True)
def _squared_norms(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    out = np.empty(re.shape[0])
    for i in numba.prange(re.shape[0]):
        out[i] = re[i] * re[i] + im[i] * im[i]
    return out


@numba.njit(parallel=True, cache=True)
def _split_expectation(re: np.ndarray, im: np.ndarray, diagonal: np.ndarray) -> float:
    total = 0.0
    for i in numba.prange(re.shape[0]):
        total += (re[i] * re[i] + im[i] * im[i]) * diagonal[i]
    return total


# The sweeps index slices (views) with a loop counter from 0: numba then knows no index is
# negative, drops its wraparound checks and LLVM vectorises the loops (re[i0 + t] stayed scalar).
SHORT_STRIDE = 8  # a position whose options are fewer amplitudes apart sweeps every span-th amplitude


@numba.njit(fastmath=True, inline="always")
def _pair_sweep(xr: np.ndarray, xi: np.ndarray, yr: np.ndarray, yi: np.ndarray, count: int, c: float,
                s: float) -> None:
    """[[c, -i s], [-i s, c]] on ``count`` amplitude pairs (x, y): one XX+YY pair gate on every
    state where its position is at option i (x; partner y at option j)."""
    for t in range(count):
        ar, ai, br, bi = xr[t], xi[t], yr[t], yi[t]
        xr[t] = c * ar + s * bi
        xi[t] = c * ai - s * br
        yr[t] = c * br + s * ai
        yi[t] = c * bi - s * ar


@numba.njit(fastmath=True, inline="always")
def _mix_positions(re: np.ndarray, im: np.ndarray, base: int, length: int, lanes: int, strides: np.ndarray,
                   sizes: np.ndarray, pair_ptr: np.ndarray, pair_i: np.ndarray, pair_j: np.ndarray,
                   c: float, s: float) -> None:
    """Every pair gate of the given positions over ``length`` amplitudes from ``base``; strides
    count units of ``lanes`` amplitudes that sit side by side. A gate is one sweep per block of
    the position (long runs) or, for short strides, ``stride`` sweeps over every span-th amplitude."""
    end = base + length
    for a in range(strides.shape[0]):
        stride = strides[a] * lanes
        span = stride * sizes[a]
        for p in range(pair_ptr[a], pair_ptr[a + 1]):
            oi, oj = pair_i[p] * stride, pair_j[p] * stride
            if stride < SHORT_STRIDE:
                for t in range(stride):
                    i0, j0 = base + oi + t, base + oj + t
                    _pair_sweep(re[i0:end:span], im[i0:end:span], re[j0:end:span], im[j0:end:span],
                                length // span, c, s)
                continue
            for block in range(base, end, span):
                i0, j0 = block + oi, block + oj
                _pair_sweep(re[i0:i0 + stride], im[i0:i0 + stride], re[j0:j0 + stride], im[j0:j0 + stride],
                            stride, c, s)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _trailing_pass(re: np.ndarray, im: np.ndarray, diagonal: np.ndarray, row: int,
                    strides: np.ndarray, sizes: np.ndarray, pair_ptr: np.ndarray, pair_i: np.ndarray,
                    pair_j: np.ndarray, gamma: float, c: float, s: float) -> None:
    """Row by row, in place: exp(-i gamma C), then the trailing positions' pair gates (cos beta = c,
    sin beta = s) in circuit order."""
    rows = diagonal.shape[0] // row
    table_re, table_im = _PHASE_RE, _PHASE_IM
    for r in numba.prange(rows):
        base = r * row
        vr, vi, energy = re[base:base + row], im[base:base + row], diagonal[base:base + row]
        for g in range(row):
            cp, sp = _unit_phase(gamma * energy[g], table_re, table_im)
            xr, xi = vr[g], vi[g]
            vr[g] = xr * cp - xi * sp
            vi[g] = xr * sp + xi * cp
        _mix_positions(re, im, base, row, 1, strides, sizes, pair_ptr, pair_i, pair_j, c, s)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _leading_pass(re: np.ndarray, im: np.ndarray, row: int, chunk: int, span: int, inner: int,
                  offsets: np.ndarray, strides: np.ndarray, sizes: np.ndarray, pair_ptr: np.ndarray,
                  pair_i: np.ndarray, pair_j: np.ndarray, c: float, s: float) -> None:
    """The pair gates of a group of leading positions: for every setting of the other positions
    (first row ``o * span + i``, i < inner) and every chunk of columns, the group's rows
    (``offsets`` from the first) are copied to a contiguous buffer, mixed there and written back.
    Each pass streams the state once, a few long runs at a time."""
    rows = re.shape[0] // row
    chunks = (row + chunk - 1) // chunk
    group = offsets.shape[0]
    for job in numba.prange(rows // span * inner * chunks):
        setting, part = job // chunks, job % chunks
        first_row = setting // inner * span + setting % inner
        first = part * chunk
        cols = min(chunk, row - first)
        buffer_re = np.empty(group * cols, re.dtype)
        buffer_im = np.empty(group * cols, im.dtype)
        for m in range(group):
            start = (first_row + offsets[m]) * row + first
            buffer_re[m * cols:(m + 1) * cols] = re[start:start + cols]
            buffer_im[m * cols:(m + 1) * cols] = im[start:start + cols]
        _mix_positions(buffer_re, buffer_im, 0, group * cols, cols, strides, sizes, pair_ptr, pair_i, pair_j, c, s)
        for m in range(group):
            start = (first_row + offsets[m]) * row + first
            re[start:start + cols] = buffer_re[m * cols:(m + 1) * cols]
            im[start:start + cols] = buffer_im[m * cols:(m + 1) * cols]


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
