"""The log-mean count densities equal SciPy's, including their normalising constants."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from scipy import stats

from swisbayes.likelihoods import (
    log_factorial,
    nb_log_mean_logp,
    negative_binomial,
    poisson_log_mean_logp,
)

RNG = np.random.default_rng(3)
Y = np.array([0, 1, 2, 5, 17, 40, 311])
MU = np.array([0.3, 1.2, 2.0, 4.0, 25.0, 33.3, 280.0])


# Symbolic inputs, as in a model (y and log y! are data, the dispersion a parameter); pytensor
# constant-folds graphs of literal constants through a less accurate path.
_y, _log_mu, _lyf = pt.lvector("y"), pt.dvector("log_mu"), pt.dvector("lyf")
_phi = pt.dscalar("phi")
_NB = pytensor.function([_y, _log_mu, _phi, _lyf], nb_log_mean_logp(_y, _log_mu, _phi, _lyf))
_POIS = pytensor.function([_y, _log_mu, _lyf], poisson_log_mean_logp(_y, _log_mu, _lyf))


def _nb(phi):
    return _NB(Y, np.log(MU), phi, log_factorial(Y))


def test_negative_binomial_matches_scipy():
    for phi in (0.5, 3.0, 40.0):
        np.testing.assert_allclose(_nb(phi), stats.nbinom.logpmf(Y, phi, phi / (phi + MU)),
                                   rtol=1e-10)
    # Near the Poisson limit the gammaln difference loses digits (as in any direct formula).
    np.testing.assert_allclose(_nb(1e6), stats.nbinom.logpmf(Y, 1e6, 1e6 / (1e6 + MU)),
                               atol=1e-6)


def test_negative_binomial_switches_to_the_poisson_limit():
    np.testing.assert_allclose(_nb(1e12), stats.poisson.logpmf(Y, MU), rtol=1e-12)


def test_poisson_matches_scipy():
    ours = _POIS(Y, np.log(MU), log_factorial(Y))
    np.testing.assert_allclose(ours, stats.poisson.logpmf(Y, MU), rtol=1e-12)


def test_negative_binomial_random_has_the_right_mean_and_variance():
    with pm.Model():
        negative_binomial("y", np.log(20.0), 4.0, 0.0, observed=None, dims=None)
        draws = pm.draw(pm.modelcontext(None)["y"], draws=200_000, random_seed=1)
    assert abs(draws.mean() - 20.0) < 4 * np.sqrt(120.0 / 200_000)
    assert abs(draws.var() / (20.0 + 20.0**2 / 4.0) - 1) < 0.02
