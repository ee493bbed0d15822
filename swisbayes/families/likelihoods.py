"""Count likelihoods on the log scale, lean enough for many gradient evaluations.

PyMC's ``NegativeBinomial`` evaluates a Poisson-limit branch next to the negative-binomial one
and converts ``mu`` to a probability and back. Here the density is written directly in terms of
the log mean, with the data-only term ``log(y!)`` passed in precomputed, so each gradient costs
one ``gammaln`` and one ``digamma`` per school. Both are exact: see the tests against SciPy.
Reduced pupil-level data (school x covariate cells) are fitted through the negative multinomial
written school by school (:func:`negative_multinomial_pattern_data`), so they cost about what
the school totals cost, however many cells there are.

Every likelihood can also be drawn from (prior and posterior predictive checks, SBC): the counts
through PyMC's own generators, whose densities the ones here replace, and the cells of a school
by splitting its negative-binomial total multinomially over them
(:func:`negative_multinomial_split`, :func:`negative_multinomial_random`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorLike, TensorVariable
from scipy.special import gammaln, softmax

POISSON_LIMIT = 1e10
"""Dispersion beyond which the negative binomial is its Poisson limit, in densities and draws."""


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
    return pt.switch(pt.gt(dispersion, POISSON_LIMIT),
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


def negative_multinomial_total_logp(value: TensorLike, log_total_mu: TensorLike,
                                    weighted: TensorLike, dispersion: TensorLike,
                                    log_y_factorial: TensorLike) -> TensorVariable:
    """Log pmf of each school's cell counts, from the school-level sums it depends on.

    With cell means :math:`\\mu_c`, school total :math:`M = \\sum_c \\mu_c` (``log_total_mu`` is
    :math:`\\log M`), :math:`Y = \\sum_c y_c` (``value``), ``weighted`` :math:`= \\sum_c y_c
    \\log \\mu_c` and ``log_y_factorial`` :math:`= \\sum_c \\log y_c!`,

    .. math::

        \\log p(y_{1..C}) = \\log\\Gamma(Y + \\phi) - \\log\\Gamma(\\phi) - \\sum_c \\log y_c!
            + \\phi \\log \\phi + \\sum_c y_c \\log \\mu_c - (\\phi + Y) \\log(\\phi + M),

    the negative binomial of the total times the multinomial split of it over the cells in
    proportion to :math:`\\mu_c`. Beyond :math:`\\phi = 10^{10}` the Poisson limit
    :math:`\\sum_c y_c \\log \\mu_c - M - \\sum_c \\log y_c!` is used.
    """
    y = pt.cast(value, "float64")
    log_total_plus_phi = pt.logaddexp(log_total_mu, pt.log(dispersion))
    nm = (pt.gammaln(y + dispersion) - pt.gammaln(dispersion) - log_y_factorial
          + dispersion * pt.log(dispersion) + weighted - (dispersion + y) * log_total_plus_phi)
    poisson_limit = weighted - pt.exp(log_total_mu) - log_y_factorial
    return pt.switch(pt.gt(dispersion, POISSON_LIMIT), poisson_limit, nm)


def negative_multinomial_logp(value: TensorLike, log_mu: TensorLike, dispersion: TensorLike,
                              cell_y: TensorLike, cell_school_idx: TensorLike,
                              school_log_y_factorial: TensorLike) -> TensorVariable:
    """Log pmf of each school's cell counts under a gamma frailty shared by its cells.

    The cell-by-cell form of :func:`negative_multinomial_total_logp`: ``log_mu`` holds each
    cell's log mean, and the school sums are formed here (one scatter-add per sum). With one
    cell per school it is :func:`nb_log_mean_logp`. The models use the factored form of
    :func:`negative_multinomial_pattern_data`, which never loops over cells; this one is the
    reference it is tested against.
    """
    y = pt.cast(value, "float64")
    cell_y = pt.cast(cell_y, "float64")
    total_mu = _per_school(pt.exp(log_mu), cell_school_idx, y)
    weighted = _per_school(cell_y * log_mu, cell_school_idx, y)
    return negative_multinomial_total_logp(value, pt.log(total_mu), weighted, dispersion,
                                           school_log_y_factorial)


DENSE_PATTERN_FACTOR = 8
"""The school x pattern matrix is used densely while it has at most this many entries per cell."""


def negative_multinomial_pattern_data(cell_y: np.ndarray, cell_pupils: np.ndarray,
                                      cell_school_idx: np.ndarray, cell_x: np.ndarray,
                                      n_schools: int) -> dict[str, np.ndarray]:
    """Data of the factored negative multinomial: school sums and pupil-covariate patterns.

    A cell :math:`c` of school :math:`j` has :math:`E_c` pupils with pupil-level covariates
    :math:`x_c` (a row of ``cell_x``) and mean :math:`\\mu_c = E_c e^{\\eta_j + x_c^\\top
    \\gamma}`, where :math:`\\eta_j` holds everything that is constant within the school. Then

    .. math::

        \\log M_j = \\eta_j + \\log S_j, \\quad S_j = \\sum_c E_c e^{x_c^\\top \\gamma}
        = \\sum_k N_{jk} e^{u_k^\\top \\gamma}, \\qquad
        \\sum_c y_c \\log \\mu_c = Y_j \\eta_j + \\Big(\\sum_c y_c x_c\\Big)^\\top \\gamma
        + \\sum_c y_c \\log E_c,

    with :math:`u_k` the distinct rows of ``cell_x`` (the patterns) and :math:`N_{jk}` the
    pupils of school :math:`j` with pattern :math:`k`. So a gradient costs one product of the
    small school x pattern matrix with :math:`e^{U\\gamma}`, and nothing per cell or pupil.
    When that matrix would be large (a continuous pupil covariate gives nearly one pattern per
    cell), :math:`S_j` is summed over the cells instead.

    Parameters
    ----------
    cell_y : numpy.ndarray
        Count of each cell (summed over its pupils).
    cell_pupils : numpy.ndarray
        Pupils in each cell (:math:`E_c`).
    cell_school_idx : numpy.ndarray
        Position of each cell's school, in ``range(n_schools)``.
    cell_x : numpy.ndarray
        Pupil-level covariates of each cell, shape (cells, k); k may be 0.
    n_schools : int

    Returns
    -------
    dict of str to numpy.ndarray
        Always ``school_y`` (totals), ``school_log_y_factorial`` (sum of ``log(y!)`` over each
        school's cells) and ``school_y_log_pupils`` (:math:`\\sum_c y_c \\log E_c`). When k > 0
        also ``pupil_X`` (patterns x k) and ``school_pupil_X_y`` (:math:`\\sum_c y_c x_c`,
        schools x k), and either ``pattern_pupils`` (schools x patterns, dense) or
        ``cell_pattern``, ``cell_school_idx`` and ``cell_pupils`` (per cell).
    """
    idx = np.asarray(cell_school_idx, dtype=np.int64)
    cell_y = np.asarray(cell_y, dtype=np.int64)
    pupils = np.asarray(cell_pupils, dtype=float)
    x = np.asarray(cell_x, dtype=float).reshape(len(idx), -1)

    def per_school(v):
        return np.bincount(idx, weights=v, minlength=n_schools)

    out = {"school_y": per_school(cell_y).astype(np.int64),
           "school_log_y_factorial": per_school(log_factorial(cell_y)),
           "school_y_log_pupils": per_school(cell_y * np.log(pupils))}
    if x.shape[1] == 0:
        return out
    patterns, pattern = np.unique(x, axis=0, return_inverse=True)
    pattern = pattern.reshape(-1).astype(np.int64)
    out["pupil_X"] = patterns
    out["school_pupil_X_y"] = np.stack([per_school(cell_y * x[:, k])
                                        for k in range(x.shape[1])], axis=1)
    if n_schools * len(patterns) <= DENSE_PATTERN_FACTOR * len(idx):
        counts = np.zeros((n_schools, len(patterns)))
        np.add.at(counts, (idx, pattern), pupils)
        out["pattern_pupils"] = counts
    else:
        out |= {"cell_pattern": pattern, "cell_school_idx": idx, "cell_pupils": pupils}
    return out


def pattern_log_size(d: dict[str, TensorLike], pupil_coef: TensorLike) -> TensorVariable:
    """:math:`\\log S_j` of :func:`negative_multinomial_pattern_data` for each school.

    Parameters
    ----------
    d : dict
        The pattern data (as ``pm.Data`` or arrays), by the names that function gives them.
    pupil_coef : TensorLike
        The pupil-level coefficients :math:`\\gamma`.

    Returns
    -------
    TensorVariable
    """
    weight = pt.exp(pt.dot(d["pupil_X"], pupil_coef))
    if "pattern_pupils" in d:
        return pt.log(pt.dot(d["pattern_pupils"], weight))
    like = d["school_y"]
    return pt.log(_per_school(d["cell_pupils"] * weight[d["cell_pattern"]],
                              d["cell_school_idx"], like))


def _nm_total_dist(log_total_mu, weighted, dispersion, log_y_factorial, size):
    # The school totals are negative binomial with mean M; their split over the cells needs the
    # cells' weights, which this variable does not hold (see negative_multinomial_split). The
    # Poisson family passes a dispersion of 1e12, where the gamma draw behind PyMC's negative
    # binomial loses digits of 1 - p, so the Poisson limit is drawn there, as the density does.
    mu = pt.exp(log_total_mu)
    return pt.switch(pt.gt(dispersion, POISSON_LIMIT), pm.Poisson.dist(mu=mu, size=size),
                     pm.NegativeBinomial.dist(mu=mu, alpha=dispersion, size=size))


def negative_multinomial(name: str, log_total_mu: TensorLike, weighted: TensorLike,
                         dispersion: TensorLike, data: dict[str, TensorLike], *,
                         dims: str) -> TensorVariable:
    """Observed school totals whose density is that of the school's cells (a ``pm.CustomDist``).

    Parameters
    ----------
    name : str
    log_total_mu : TensorLike
        Log of each school's total mean :math:`M_j` (sum of its cells' means).
    weighted : TensorLike
        :math:`\\sum_c y_c \\log \\mu_c` of each school.
    dispersion : TensorLike
        Gamma-frailty shape :math:`\\phi` (the negative binomial's size).
    data : dict
        ``school_y`` (observed totals) and ``school_log_y_factorial``, as made by
        :func:`negative_multinomial_pattern_data`.
    dims : str
        The school dim.

    Returns
    -------
    TensorVariable
        Its log density (:func:`negative_multinomial_total_logp`) is that of the cells; its
        random draws are the school totals, negative binomial with mean :math:`M_j` (split them
        over the cells with :func:`negative_multinomial_split`).
    """
    return pm.CustomDist(name, log_total_mu, weighted, dispersion,
                         data["school_log_y_factorial"], logp=negative_multinomial_total_logp,
                         dist=_nm_total_dist, observed=data["school_y"], dims=dims)


def negative_binomial_random(mu: np.ndarray, dispersion: np.ndarray | float,
                             rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial draws with mean ``mu`` and size ``dispersion`` (NumPy).

    Drawn as a Poisson with a gamma-distributed mean, which stays exact for large ``dispersion``
    (where ``1 - p`` of the ``(n, p)`` form loses digits); beyond :data:`POISSON_LIMIT` the
    Poisson limit, as in :func:`nb_log_mean_logp`.

    Parameters
    ----------
    mu : numpy.ndarray
        Means (non-negative); sets the shape of the draws with ``dispersion``.
    dispersion : numpy.ndarray or float
        Size :math:`\\phi` (positive), broadcast against ``mu``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        int64 draws of the broadcast shape.
    """
    mu, phi = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(dispersion, dtype=float))
    finite_phi = np.where(phi > POISSON_LIMIT, 1.0, phi)  # the gamma draw is not used there
    rate = np.where(phi > POISSON_LIMIT, mu, rng.gamma(finite_phi, mu / finite_phi))
    return rng.poisson(rate).astype(np.int64)


def negative_multinomial_split(totals: np.ndarray, cell_log_weight: np.ndarray,
                               cell_school_idx: np.ndarray,
                               rng: np.random.Generator) -> np.ndarray:
    """Split each school's total over its cells, multinomially in proportion to their weights.

    Given its total :math:`Y_j`, a school's cell counts are multinomial with probabilities
    :math:`\\mu_c / M_j`: the split in :func:`negative_multinomial_total_logp`. Applied to
    negative-binomial totals it gives negative-multinomial cells.

    Parameters
    ----------
    totals : numpy.ndarray
        Whole-number school totals, shape (..., schools).
    cell_log_weight : numpy.ndarray
        Log weight of each cell (its log mean up to a constant per school), shape (..., cells),
        broadcast against the leading dims of ``totals``.
    cell_school_idx : numpy.ndarray
        Position of each cell's school on the last axis of ``totals``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        int64 cell counts, shape (..., cells); summed over each school's cells they are
        ``totals``.

    Raises
    ------
    ValueError
        If a school has no cell.
    """
    totals = np.asarray(totals, dtype=np.int64)
    idx = np.asarray(cell_school_idx, dtype=np.int64)
    n_schools = totals.shape[-1]
    batch = np.broadcast_shapes(totals.shape[:-1], np.shape(cell_log_weight)[:-1])
    log_weight = np.broadcast_to(cell_log_weight, (*batch, len(idx)))
    per_school = np.bincount(idx, minlength=n_schools)
    if (per_school == 0).any():
        raise ValueError("every school needs at least one cell to split its total over")
    # Lay the cells out as (school, rank within school), padded with zero weight, so that one
    # vectorised multinomial call splits every school of every draw.
    order = np.argsort(idx, kind="stable")
    school = idx[order]
    rank = np.arange(len(idx)) - (np.cumsum(per_school) - per_school)[school]
    padded = np.full((*batch, n_schools, per_school.max()), -np.inf)
    padded[..., school, rank] = log_weight[..., order]
    totals = np.broadcast_to(totals, (*batch, n_schools))
    split = rng.multinomial(totals, softmax(padded, axis=-1))
    # With totals beyond about 2^50 (a vague prior's draws) NumPy's multinomial can leave a
    # count in the last, padded category; the school's last cell takes it back.
    real = np.arange(padded.shape[-1]) < per_school[:, None]
    split = np.where(real, split, 0)
    split[..., np.arange(n_schools), per_school - 1] += totals - split.sum(axis=-1)
    out = np.empty((*batch, len(idx)), dtype=np.int64)
    out[..., order] = split[..., school, rank]
    return out


def negative_multinomial_random(cell_log_mu: np.ndarray, dispersion: np.ndarray | float,
                                cell_school_idx: np.ndarray, n_schools: int,
                                rng: np.random.Generator) -> np.ndarray:
    """Draws of every school's cell counts under a gamma frailty shared by its cells (NumPy).

    The forward model of :func:`negative_multinomial_logp`: each school's total is negative
    binomial with mean :math:`M_j = \\sum_{c \\in j} \\mu_c` and size :math:`\\phi`, split
    over its cells multinomially in proportion to :math:`\\mu_c`. So each cell is marginally
    negative binomial with mean :math:`\\mu_c` and the same :math:`\\phi`.

    Parameters
    ----------
    cell_log_mu : numpy.ndarray
        Log mean of each cell, shape (..., cells); the leading dims are draws.
    dispersion : numpy.ndarray or float
        :math:`\\phi`, broadcast against the leading dims of ``cell_log_mu``.
    cell_school_idx : numpy.ndarray
        Position of each cell's school, in ``range(n_schools)``.
    n_schools : int
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        int64 cell counts, shape of ``cell_log_mu``.
    """
    cell_log_mu = np.asarray(cell_log_mu, dtype=float)
    idx = np.asarray(cell_school_idx, dtype=np.int64)
    batch = cell_log_mu.shape[:-1]
    total_mu = np.zeros((*batch, n_schools))
    np.add.at(total_mu, (..., idx), np.exp(cell_log_mu))
    totals = negative_binomial_random(total_mu, np.asarray(dispersion)[..., None], rng)
    return negative_multinomial_split(totals, cell_log_mu, idx, rng)
