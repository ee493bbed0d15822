"""Count likelihoods on the log scale, lean enough for many gradient evaluations.

PyMC's ``NegativeBinomial`` evaluates a Poisson-limit branch next to the negative-binomial one
and converts ``mu`` to a probability and back. Here the density is written directly in terms of
the log mean, with the data-only term ``log(y!)`` passed in precomputed, so each gradient costs
one ``gammaln`` and one ``digamma`` per school. Both are exact: see the tests against SciPy.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorLike, TensorVariable
from scipy.special import gammaln


def log_factorial(y: np.ndarray) -> np.ndarray:
    """``log(y!)`` for non-negative integer counts, as float64."""
    return gammaln(np.asarray(y, dtype=float) + 1.0)


def nb_log_mean_logp(value: TensorLike, log_mu: TensorLike, dispersion: TensorLike,
                     log_y_factorial: TensorLike) -> TensorVariable:
    """Negative-binomial log pmf with mean ``exp(log_mu)`` and size ``dispersion``.

    .. math::

        \\log p(y) = \\log\\Gamma(y + \\phi) - \\log\\Gamma(\\phi) - \\log y!
                     + \\phi \\log \\frac{\\phi}{\\mu + \\phi} + y \\log \\frac{\\mu}{\\mu + \\phi}

    so that :math:`\\mathrm{Var}(y) = \\mu + \\mu^2 / \\phi`. Beyond
    :math:`\\phi = 10^{10}` the two ``gammaln`` terms cancel below their rounding error, so the
    Poisson limit is used there (as PyMC does).
    """
    y = pt.cast(value, "float64")
    log_mu_plus_phi = pt.logaddexp(log_mu, pt.log(dispersion))
    nb = (pt.gammaln(y + dispersion) - pt.gammaln(dispersion) - log_y_factorial
          + dispersion * (pt.log(dispersion) - log_mu_plus_phi)
          + y * (log_mu - log_mu_plus_phi))
    return pt.switch(pt.gt(dispersion, 1e10),
                     poisson_log_mean_logp(value, log_mu, log_y_factorial), nb)


def poisson_log_mean_logp(value: TensorLike, log_mu: TensorLike,
                          log_y_factorial: TensorLike) -> TensorVariable:
    """Poisson log pmf with mean ``exp(log_mu)``."""
    return pt.cast(value, "float64") * log_mu - pt.exp(log_mu) - log_y_factorial


def _nb_dist(log_mu, dispersion, log_y_factorial, size):
    # Symbolic generator (compiles to numba like the rest of the graph); the density above
    # replaces the one PyMC would derive from it.
    return pm.NegativeBinomial.dist(mu=pt.exp(log_mu), alpha=dispersion, size=size)


def _poisson_dist(log_mu, log_y_factorial, size):
    return pm.Poisson.dist(mu=pt.exp(log_mu), size=size)


def negative_binomial(name: str, log_mu: TensorLike, dispersion: TensorLike,
                      log_y_factorial: TensorLike, *, observed: TensorLike | None,
                      dims: str | None) -> TensorVariable:
    """Observed negative-binomial counts on the log-mean scale (a ``pm.CustomDist``)."""
    return pm.CustomDist(name, log_mu, dispersion, log_y_factorial, logp=nb_log_mean_logp,
                         dist=_nb_dist, observed=observed, dims=dims)


def poisson(name: str, log_mu: TensorLike, log_y_factorial: TensorLike, *,
            observed: TensorLike | None, dims: str | None) -> TensorVariable:
    """Observed Poisson counts on the log-mean scale (a ``pm.CustomDist``)."""
    return pm.CustomDist(name, log_mu, log_y_factorial, logp=poisson_log_mean_logp,
                         dist=_poisson_dist, observed=observed, dims=dims)
