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


def negative_multinomial_data(cell_y: np.ndarray, cell_school: np.ndarray,
                              schools: list[str]) -> dict[str, np.ndarray]:
    """Data of :func:`negative_multinomial`: cell counts and their school totals.

    Parameters
    ----------
    cell_y : numpy.ndarray
        Count of each cell (summed over its pupils).
    cell_school : numpy.ndarray
        School label of each cell.
    schools : list of str
        School labels in the model's order; every cell's school must be among them.

    Returns
    -------
    dict of str to numpy.ndarray
        ``cell_y``, ``cell_school_idx`` (position of each cell's school), ``school_y`` (totals)
        and ``school_log_y_factorial`` (sum of ``log(y!)`` over each school's cells).
    """
    position = {school: i for i, school in enumerate(schools)}
    idx = np.array([position[s] for s in cell_school], dtype=np.int64)
    cell_y = np.asarray(cell_y, dtype=np.int64)
    return {"cell_y": cell_y, "cell_school_idx": idx,
            "school_y": np.bincount(idx, weights=cell_y, minlength=len(schools)).astype(np.int64),
            "school_log_y_factorial": np.bincount(idx, weights=log_factorial(cell_y),
                                                  minlength=len(schools))}


def _per_school(values: TensorLike, idx: TensorLike, like: TensorLike) -> TensorVariable:
    return pt.inc_subtensor(pt.zeros_like(like, dtype="float64")[idx], values)


def negative_multinomial_logp(value: TensorLike, log_mu: TensorLike, dispersion: TensorLike,
                              cell_y: TensorLike, cell_school_idx: TensorLike,
                              school_log_y_factorial: TensorLike) -> TensorVariable:
    """Log pmf of each school's cell counts under a gamma frailty shared by its cells.

    With cell means :math:`\\mu_c`, school total :math:`M = \\sum_c \\mu_c` and
    :math:`Y = \\sum_c y_c` (``value``),

    .. math::

        \\log p(y_{1..C}) = \\log\\Gamma(Y + \\phi) - \\log\\Gamma(\\phi) - \\sum_c \\log y_c!
            + \\phi \\log \\phi + \\sum_c y_c \\log \\mu_c - (\\phi + Y) \\log(\\phi + M),

    the negative binomial of the total times the multinomial split of it over the cells in
    proportion to :math:`\\mu_c`. With one cell per school it is :func:`nb_log_mean_logp`.
    Beyond :math:`\\phi = 10^{10}` the Poisson limit is used.
    """
    y = pt.cast(value, "float64")
    cell_y = pt.cast(cell_y, "float64")
    total_mu = _per_school(pt.exp(log_mu), cell_school_idx, y)
    weighted = _per_school(cell_y * log_mu, cell_school_idx, y)
    log_total_plus_phi = pt.logaddexp(pt.log(total_mu), pt.log(dispersion))
    nm = (pt.gammaln(y + dispersion) - pt.gammaln(dispersion) - school_log_y_factorial
          + dispersion * pt.log(dispersion) + weighted - (dispersion + y) * log_total_plus_phi)
    poisson_limit = weighted - total_mu - school_log_y_factorial
    return pt.switch(pt.gt(dispersion, 1e10), poisson_limit, nm)


def negative_multinomial(name: str, log_mu: TensorLike, dispersion: TensorLike,
                         data: dict[str, TensorLike], *, dims: str) -> TensorVariable:
    """Observed school totals whose density is that of the cells (a ``pm.CustomDist``).

    Parameters
    ----------
    name : str
    log_mu : TensorLike
        Log mean of each cell.
    dispersion : TensorLike
        Gamma-frailty shape :math:`\\phi` (the negative binomial's size).
    data : dict
        ``school_y`` (observed totals), ``cell_y``, ``cell_school_idx`` and
        ``school_log_y_factorial`` as made by :func:`negative_multinomial_data`.
    dims : str
        The school dim.

    Returns
    -------
    TensorVariable
    """
    return pm.CustomDist(name, log_mu, dispersion, data["cell_y"], data["cell_school_idx"],
                         data["school_log_y_factorial"], logp=negative_multinomial_logp,
                         observed=data["school_y"], dims=dims)
