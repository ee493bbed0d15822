"""The convergence kernels give ArviZ's own numbers, and a fit imports none of ArviZ's plots."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from arviz_stats.base import array_stats

from swisbayes.stats import convergence


def _ar1(rng, chains, draws, k, phi=0.7):
    """Autocorrelated chains, shape (chain, draw, k)."""
    x = np.zeros((chains, draws, k))
    noise = rng.normal(size=(chains, draws, k))
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def _cases():
    rng = np.random.default_rng(3)
    nan = _ar1(rng, 4, 60, 2)
    nan[1, 7, 0] = np.nan
    return {
        "autocorrelated": _ar1(rng, 4, 1500, 4),
        "odd draws": _ar1(rng, 4, 1001, 2),
        "one chain apart": _ar1(rng, 4, 300, 3) + np.array([0, 0, 0, 3.0])[:, None, None],
        "ties": rng.integers(0, 4, size=(4, 200, 3)).astype(float),
        "ties in one element": np.concatenate(
            [_ar1(rng, 4, 200, 2), rng.integers(0, 4, size=(4, 200, 1))], axis=2),
        "one chain": _ar1(rng, 1, 500, 2),
        "three draws": _ar1(rng, 4, 3, 2),
        "constant": np.ones((4, 50, 2)),
        "a nan": nan,
        "indicator": _ar1(rng, 4, 400, 2) > 0.3,
        "matrix element": _ar1(rng, 2, 100, 6).reshape(2, 100, 2, 3),
    }


def _arviz(x):
    """Draws with the sample dims last, as arviz_stats' array functions take them."""
    return np.moveaxis(np.asarray(x, dtype=float), (0, 1), (-2, -1))


@pytest.mark.parametrize("name", list(_cases()))
def test_rhat_and_ess_are_arviz_stats_own(name):
    x = _cases()[name]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected_rhat = array_stats.rhat(_arviz(x))
        expected = {method: array_stats.ess(_arviz(x), method=method,
                                            prob=0.89 if method == "tail" else None)
                    for method in ("bulk", "tail", "mean")}
    np.testing.assert_allclose(convergence.rhat(x), expected_rhat, rtol=1e-10, equal_nan=True)
    for method, want in expected.items():
        got = convergence.ess(x, method, prob=0.89 if method == "tail" else None)
        assert got.shape == x.shape[2:]
        np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True)
    # the gate's one pass gives the same three numbers
    for got, want in zip(convergence.gate_statistics(x, prob=0.89),
                         (expected_rhat, expected["bulk"], expected["tail"]), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True)


def test_bfmi_is_arviz_stats_own():
    energy = np.random.default_rng(0).normal(size=(4, 500)).cumsum(axis=1)
    np.testing.assert_allclose(convergence.bfmi(energy), array_stats.bfmi(energy), rtol=1e-12)


def test_arguments_are_checked():
    x = np.zeros((2, 10))
    with pytest.raises(ValueError, match="method"):
        convergence.ess(x, "median")
    with pytest.raises(ValueError, match="prob"):
        convergence.ess(x, "tail")
    with pytest.raises(ValueError, match="chain, draw"):
        convergence.rhat(np.zeros(10))
    with pytest.raises(ValueError, match="prob"):
        convergence.gate_statistics(x, prob=1.0)


def test_the_fit_path_imports_no_plotting_and_no_scipy_stats():
    # What a fresh-process fit imports before it samples and while it reads the draws: nutpie
    # (which imports all of ArviZ, its plots with it, unless swisbayes stands in), the model,
    # the gate and the decision. None of it needs matplotlib, ArviZ's plots or scipy.stats.
    code = """
import sys
from swisbayes.inference import compile_cache, diagnostics, fitting
nutpie = compile_cache.import_nutpie()
import arviz_base
assert sys.modules["nutpie.sample"].arviz.from_dict is arviz_base.from_dict
heavy = sorted(m for m in ("arviz", "arviz_plots", "arviz_stats", "matplotlib", "scipy.stats")
               if m in sys.modules)
print(",".join(heavy))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
