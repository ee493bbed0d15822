"""Cholesky factors and triangular solves of a batch of small matrices, as PyTensor ops.

The joint model factors one small covariance matrix per LA (21 matrices of size 8 for four
outcomes) at every gradient evaluation. Built entry by entry from elementwise PyTensor ops,
the factor and its gradient made most of the model's 509 graph nodes after rewriting, each
its own numba compile; PyTensor's batched ``cholesky`` runs its gradient's ``AllocDiag`` in
numba's object mode (17 times slower per evaluation). These ops are one node each, with
plain loops as their numba implementation (compiled once, cached like any op) and NumPy as
their Python one (predictive draws; two implementations that the tests hold to each other).
Only first derivatives are defined: the sampler needs no more.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from numba import njit
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key

_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
"""This module's source: part of each op's numba cache key and state, so an edited loop is
never loaded from an older cache entry (nor from a compiled-model record)."""


# --------------------------------------------------------------------------------------------
# The loops: one matrix each (lower triangle read, upper triangle of results zero)


@njit
def _cholesky(a: np.ndarray, out: np.ndarray) -> None:
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1):
            rest = a[i, j]
            for m in range(j):
                rest -= out[i, m] * out[j, m]
            if i == j:
                out[i, i] = np.sqrt(rest) if rest > 0.0 else np.nan
            else:
                out[i, j] = rest / out[j, j]


@njit
def _solve(chol: np.ndarray, b: np.ndarray, transposed: bool, out: np.ndarray) -> None:
    """``out = L^-1 b``, or ``L^-T b`` when ``transposed``, by substitution."""
    n = b.shape[0]
    for step in range(n):
        i = n - 1 - step if transposed else step
        rest = b[i]
        if transposed:
            for j in range(i + 1, n):
                rest -= chol[j, i] * out[j]
        else:
            for j in range(i):
                rest -= chol[i, j] * out[j]
        out[i] = rest / chol[i, i]


@njit
def _cholesky_pullback(chol: np.ndarray, chol_bar: np.ndarray, work: np.ndarray,
                       out: np.ndarray) -> None:
    """Gradient of ``cholesky(A)`` with respect to A's lower triangle.

    Murray (2016), arXiv:1602.07527: ``S = L^-T Phi(L' Lbar) L^-1`` with ``Phi`` the lower
    triangle, diagonal halved; the result is ``tril(S + S') - diag(S)``, as PyTensor's own
    ``Cholesky`` gradient. ``work`` (n x n) holds ``Phi``, then ``Phi L^-1`` (lower
    triangular, as ``Phi``); ``out`` holds S until its last loop.
    """
    n = chol.shape[0]
    inverse = np.empty(n)  # divisions are the loops' slowest operation: one per pivot
    for i in range(n):
        inverse[i] = 1.0 / chol[i, i]
    for i in range(n):
        for j in range(i + 1):
            total = 0.0
            for k in range(i, n):
                total += chol[k, i] * chol_bar[k, j]
            work[i, j] = 0.5 * total if i == j else total
    for r in range(n):  # row r of Phi L^-1: y L = phi_r, from the last column back
        for j in range(r, -1, -1):
            rest = work[r, j]
            for k in range(j + 1, r + 1):
                rest -= work[r, k] * chol[k, j]
            work[r, j] = rest * inverse[j]
    for c in range(n):  # column c of S: L' s = y_c, from the last row back
        for i in range(n - 1, -1, -1):
            rest = work[i, c] if i >= c else 0.0
            for k in range(i + 1, n):
                rest -= chol[k, i] * out[k, c]
            out[i, c] = rest * inverse[i]
    for i in range(n):
        for j in range(i):
            out[i, j] += out[j, i]
            out[j, i] = 0.0


@njit
def _batched_cholesky(a: np.ndarray) -> np.ndarray:
    out = np.zeros(a.shape)
    for b in range(a.shape[0]):
        _cholesky(a[b], out[b])
    return out


@njit
def _batched_cholesky_pullback(chol: np.ndarray, chol_bar: np.ndarray) -> np.ndarray:
    out = np.empty(chol.shape)
    work = np.empty(chol.shape[1:])
    for b in range(chol.shape[0]):
        _cholesky_pullback(chol[b], chol_bar[b], work, out[b])
    return out


@njit
def _batched_solve(chol: np.ndarray, b: np.ndarray, transposed: bool) -> np.ndarray:
    out = np.empty(b.shape)
    for k in range(b.shape[0]):
        _solve(chol[k], b[k], transposed, out[k])
    return out


@njit
def _batched_solve_pullback(chol: np.ndarray, x: np.ndarray, x_bar: np.ndarray,
                            transposed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``x = L^-1 b`` (or ``L^-T b``) with respect to L and b.

    ``b_bar = L^-T x_bar`` and ``L_bar = -tril(b_bar x')``; transposed, ``b_bar = L^-1 x_bar``
    and ``L_bar = -tril(x b_bar')``.
    """
    batch, n = x.shape
    b_bar = np.empty(x.shape)
    chol_bar = np.zeros(chol.shape)
    for k in range(batch):
        _solve(chol[k], x_bar[k], not transposed, b_bar[k])
        for i in range(n):
            for j in range(i + 1):
                chol_bar[k, i, j] = -(x[k, i] * b_bar[k, j] if transposed
                                      else b_bar[k, i] * x[k, j])
    return chol_bar, b_bar


# --------------------------------------------------------------------------------------------
# The ops


class _BatchedOp(Op):
    """An op on float64 batches whose numba implementation is one of the loops above."""

    def __init__(self) -> None:
        self.source_digest = _SOURCE_DIGEST  # in the state a compiled-model record is keyed on

    @staticmethod
    def _float(*inputs) -> list[pt.TensorVariable]:
        return [pt.as_tensor_variable(x).astype("float64") for x in inputs]


class BatchedCholesky(_BatchedOp):
    """Lower Cholesky factors of a batch of symmetric positive-definite matrices (B, n, n).

    Only the lower triangle of each matrix is read. A matrix that is not positive definite
    gives NaN entries, which make the log density NaN (a rejected proposal), as PyTensor's
    ``cholesky(on_error="nan")``.
    """

    __props__ = ()

    def make_node(self, a):
        (a,) = self._float(a)
        if a.type.ndim != 3:
            raise TypeError(f"BatchedCholesky takes a 3-d batch of matrices, got {a.type}")
        return Apply(self, [a], [a.type()])

    def perform(self, node, inputs, outputs):
        (a,) = inputs
        outputs[0][0] = _numpy_cholesky(a)

    def infer_shape(self, node, shapes):
        return shapes

    def pullback(self, inputs, outputs, gradients):
        return [BatchedCholeskyPullback()(outputs[0], gradients[0])]


class BatchedCholeskyPullback(_BatchedOp):
    """Gradient of :class:`BatchedCholesky`'s input (lower triangle) from that of its output."""

    __props__ = ()

    def make_node(self, chol, chol_bar):
        chol, chol_bar = self._float(chol, chol_bar)
        return Apply(self, [chol, chol_bar], [chol.type()])

    def perform(self, node, inputs, outputs):
        chol, chol_bar = inputs
        upper = np.swapaxes(chol, -1, -2)
        phi = np.tril(upper @ chol_bar)
        phi[..., range(phi.shape[-1]), range(phi.shape[-1])] /= 2
        s = np.linalg.solve(upper, np.swapaxes(np.linalg.solve(upper, np.swapaxes(phi, -1, -2)),
                                               -1, -2))
        diagonal = np.diagonal(s, axis1=-2, axis2=-1)
        outputs[0][0] = np.tril(s + np.swapaxes(s, -1, -2)) - diagonal[..., None] * np.eye(
            s.shape[-1])

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class BatchedTriangularSolve(_BatchedOp):
    """``L^-1 b`` (or ``L^-T b``) for lower-triangular L (B, n, n) and vectors b (B, n)."""

    __props__ = ("transposed",)

    def __init__(self, transposed: bool = False) -> None:
        super().__init__()
        self.transposed = bool(transposed)

    def make_node(self, chol, b):
        chol, b = self._float(chol, b)
        if chol.type.ndim != 3 or b.type.ndim != 2:
            raise TypeError(f"BatchedTriangularSolve takes (B, n, n) and (B, n), got "
                            f"{chol.type} and {b.type}")
        return Apply(self, [chol, b], [b.type()])

    def perform(self, node, inputs, outputs):
        chol, b = inputs
        outputs[0][0] = _numpy_solve(chol, b, self.transposed)

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def pullback(self, inputs, outputs, gradients):
        chol_bar, b_bar = BatchedTriangularSolvePullback(self.transposed)(
            inputs[0], outputs[0], gradients[0])
        return [chol_bar, b_bar]


class BatchedTriangularSolvePullback(_BatchedOp):
    """Gradients of :class:`BatchedTriangularSolve`'s inputs from that of its output."""

    __props__ = ("transposed",)

    def __init__(self, transposed: bool = False) -> None:
        super().__init__()
        self.transposed = bool(transposed)

    def make_node(self, chol, x, x_bar):
        chol, x, x_bar = self._float(chol, x, x_bar)
        return Apply(self, [chol, x, x_bar], [chol.type(), x.type()])

    def perform(self, node, inputs, outputs):
        chol, x, x_bar = inputs
        b_bar = _numpy_solve(chol, x_bar, not self.transposed)
        outer = x[..., :, None] * b_bar[..., None, :] if self.transposed else (
            b_bar[..., :, None] * x[..., None, :])
        outputs[0][0] = -np.tril(outer)
        outputs[1][0] = b_bar

    def infer_shape(self, node, shapes):
        return [shapes[0], shapes[1]]


def _numpy_cholesky(a: np.ndarray) -> np.ndarray:
    """NumPy's factors (lower triangle read), NaN for a matrix that is not positive definite."""
    symmetric = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
    try:
        return np.linalg.cholesky(symmetric)
    except np.linalg.LinAlgError:  # one at a time, to know which
        out = np.full(a.shape, np.nan)
        for b, matrix in enumerate(symmetric):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[b] = np.linalg.cholesky(matrix)
        return out


def _numpy_solve(chol: np.ndarray, b: np.ndarray, transposed: bool) -> np.ndarray:
    matrix = np.swapaxes(chol, -1, -2) if transposed else chol
    return np.linalg.solve(matrix, b[..., None])[..., 0]


def cholesky(a: pt.TensorLike) -> pt.TensorVariable:
    """Lower Cholesky factors of a batch (B, n, n) of covariance matrices."""
    return BatchedCholesky()(a)


def solve_lower(chol: pt.TensorLike, b: pt.TensorLike, *,
                transposed: bool = False) -> pt.TensorVariable:
    """``L^-1 b`` for each factor L (B, n, n) and vector b (B, n); ``L^-T b`` if ``transposed``."""
    return BatchedTriangularSolve(transposed)(chol, b)


# --------------------------------------------------------------------------------------------
# numba implementations (cached under a key that changes with this module's source)


def _cache_key(op: Op) -> str:
    return hashlib.sha256(repr((type(op).__qualname__, op._props_dict(),
                                _SOURCE_DIGEST)).encode()).hexdigest()


@register_funcify_and_cache_key(BatchedCholesky)
def _numba_cholesky(op, node=None, **kwargs):
    return _batched_cholesky, _cache_key(op)


@register_funcify_and_cache_key(BatchedCholeskyPullback)
def _numba_cholesky_pullback(op, node=None, **kwargs):
    return _batched_cholesky_pullback, _cache_key(op)


@register_funcify_and_cache_key(BatchedTriangularSolve)
def _numba_solve(op, node=None, **kwargs):
    transposed = op.transposed

    @njit
    def solve(chol, b):
        return _batched_solve(chol, b, transposed)

    return solve, _cache_key(op)


@register_funcify_and_cache_key(BatchedTriangularSolvePullback)
def _numba_solve_pullback(op, node=None, **kwargs):
    transposed = op.transposed

    @njit
    def pullback(chol, x, x_bar):
        return _batched_solve_pullback(chol, x, x_bar, transposed)

    return pullback, _cache_key(op)


__all__ = ["cholesky", "solve_lower"]
