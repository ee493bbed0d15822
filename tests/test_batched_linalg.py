"""Batched Cholesky factors and triangular solves: values and gradients, in numba and NumPy.

Each op has two implementations (numba loops for sampling, NumPy for predictive draws); both
are held to NumPy's linear algebra for values and to PyTensor's own ``cholesky`` and
``solve_triangular`` (and finite differences) for gradients.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from swisbayes.families import batched_linalg

MODES = ("NUMBA", "FAST_COMPILE")  # the numba loops; the NumPy ``perform`` methods


def _covariances(batch: int, n: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(batch, n, n))
    return a @ a.transpose(0, 2, 1) + n * np.eye(n)


@pytest.mark.parametrize("mode", MODES)
def test_factors_and_solves_equal_numpys(mode):
    cov = _covariances(5, 6, 0)
    b = np.random.default_rng(1).normal(size=(5, 6))
    a, v = pt.tensor3("a"), pt.matrix("v")
    chol = batched_linalg.cholesky(a)
    f = pytensor.function([a, v], [chol, batched_linalg.solve_lower(chol, v),
                                   batched_linalg.solve_lower(chol, v, transposed=True)],
                          mode=mode)
    # only the lower triangle is read: garbage above the diagonal changes nothing
    got, solved, solved_t = f(cov + np.triu(np.full((6, 6), 7.0), 1), b)
    want = np.linalg.cholesky(cov)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(solved, np.linalg.solve(want, b[..., None])[..., 0], rtol=1e-11)
    np.testing.assert_allclose(solved_t, np.linalg.solve(want.transpose(0, 2, 1),
                                                         b[..., None])[..., 0], rtol=1e-11)


@pytest.mark.parametrize("mode", MODES)
def test_a_matrix_that_is_not_positive_definite_gives_nan_and_spares_the_rest(mode):
    cov = _covariances(3, 4, 2)
    cov[1, 3, 3] = -1.0
    a = pt.tensor3("a")
    got = pytensor.function([a], batched_linalg.cholesky(a), mode=mode)(cov)
    assert np.isnan(got[1]).any()
    np.testing.assert_allclose(got[[0, 2]], np.linalg.cholesky(cov[[0, 2]]), rtol=1e-12)


def _objective(cholesky, solve, a, v, weights):
    """A scalar using every entry of the factor and both solves, as the joint model does."""
    chol = cholesky(a)
    white = solve(chol, v, False)
    return (pt.sum(weights * chol) + pt.sum(white**2)
            + pt.sum(pt.sin(solve(chol, white, True))) - pt.sum(pt.log(
                pt.diagonal(chol, axis1=-2, axis2=-1))))


def _ours(chol, v, transposed):
    return batched_linalg.solve_lower(chol, v, transposed=transposed)


def _pytensors(chol, v, transposed):
    matrix = chol.mT if transposed else chol
    return pt.linalg.solve_triangular(matrix, v, lower=not transposed, b_ndim=1)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_equal_pytensors_own_linear_algebra(mode):
    cov = _covariances(4, 5, 3)
    rng = np.random.default_rng(4)
    v, weights = rng.normal(size=(4, 5)), rng.normal(size=(4, 5, 5))
    a, b = pt.tensor3("a"), pt.matrix("b")
    ours = _objective(batched_linalg.cholesky, _ours, a, b, weights)
    reference = _objective(pt.linalg.cholesky, _pytensors, a, b, weights)
    got = pytensor.function([a, b], pytensor.grad(ours, [a, b]), mode=mode)(cov, v)
    want = pytensor.function([a, b], pytensor.grad(reference, [a, b]),
                             mode="FAST_COMPILE")(cov, v)
    assert np.abs(want[0]).max() > 0.1
    assert np.abs(want[1]).max() > 0.1
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_gradients_agree_with_finite_differences(transposed):
    cov = _covariances(2, 3, 5)
    v = np.random.default_rng(6).normal(size=(2, 3))

    def f(a, b):
        chol = batched_linalg.cholesky(pt.tril(a) + pt.tril(a, -1).mT)
        return batched_linalg.solve_lower(chol, b, transposed=transposed)

    verify_grad(f, [cov, v], rng=np.random.default_rng(7), mode="FAST_COMPILE")
