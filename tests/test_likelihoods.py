"""The log-mean count densities equal SciPy's, including their normalising constants."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from scipy import stats

from swisbayes.families.likelihoods import (
    log_factorial,
    nb_log_mean_logp,
    negative_binomial,
    negative_multinomial_data,
    negative_multinomial_logp,
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


# Three schools with 1, 3 and 2 cells: the negative multinomial of the reduced pupil data.
_CELL_Y = np.array([4, 0, 2, 7, 1, 0])
_CELL_MU = np.array([3.1, 0.4, 1.7, 5.2, 0.9, 0.2])
_CELL_SCHOOL = np.array(["a", "b", "b", "b", "c", "c"])
_NM_DATA = negative_multinomial_data(_CELL_Y, _CELL_SCHOOL, ["a", "b", "c"])
_v, _cy, _idx, _slyf = pt.lvector("total"), pt.lvector("cell_y"), pt.lvector("idx"), pt.dvector(
    "slyf")
_NM = pytensor.function([_v, _log_mu, _phi, _cy, _idx, _slyf],
                        negative_multinomial_logp(_v, _log_mu, _phi, _cy, _idx, _slyf))


def _nm(phi, mu=_CELL_MU):
    d = _NM_DATA
    return _NM(d["school_y"], np.log(mu), phi, d["cell_y"], d["cell_school_idx"],
               d["school_log_y_factorial"])


def test_negative_multinomial_data_sums_cells_by_school():
    np.testing.assert_array_equal(_NM_DATA["school_y"], [4, 9, 1])
    np.testing.assert_array_equal(_NM_DATA["cell_school_idx"], [0, 1, 1, 1, 2, 2])
    np.testing.assert_allclose(_NM_DATA["school_log_y_factorial"],
                               [np.log(24), np.log(2) + np.log(5040), 0.0])


def test_negative_multinomial_is_poisson_cells_with_a_shared_gamma_frailty():
    # p(y_1..y_C) = integral of prod_c Poisson(y_c | mu_c u) Gamma(u | phi, rate phi) du
    from scipy import integrate

    for phi in (0.7, 4.0):
        expected = []
        for school in ("a", "b", "c"):
            cells = school == _CELL_SCHOOL

            def integrand(u, cells=cells, phi=phi):
                return np.prod(stats.poisson.pmf(_CELL_Y[cells], _CELL_MU[cells] * u)) * \
                    stats.gamma.pdf(u, phi, scale=1 / phi)

            expected.append(np.log(integrate.quad(integrand, 0, np.inf, limit=200)[0]))
        np.testing.assert_allclose(_nm(phi), expected, rtol=1e-7)


def test_negative_multinomial_with_one_cell_is_the_negative_binomial():
    # school "a" has a single cell (y = 4, mu = 3.1)
    np.testing.assert_allclose(_nm(2.5)[0], stats.nbinom.logpmf(4, 2.5, 2.5 / (2.5 + 3.1)),
                               rtol=1e-12)


def test_negative_multinomial_poisson_limit():
    poisson = [stats.poisson.logpmf(_CELL_Y[s == _CELL_SCHOOL], _CELL_MU[s == _CELL_SCHOOL]).sum()
               for s in ("a", "b", "c")]
    np.testing.assert_allclose(_nm(1e12), poisson, rtol=1e-12)
    np.testing.assert_allclose(_nm(1e8), poisson, rtol=1e-6)
