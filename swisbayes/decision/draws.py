"""Kernels over posterior draws, plain or importance-weighted: shares, quantiles, intervals."""

from __future__ import annotations

import numpy as np

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError


def normalised_weights(weights: np.ndarray | None, n: int) -> np.ndarray | None:
    """Weights as a flat array summing to 1, or None for equal weights.

    Parameters
    ----------
    weights : numpy.ndarray or None
        Non-negative weights, one per draw (any shape with ``n`` elements).
    n : int
        Number of draws.

    Returns
    -------
    numpy.ndarray or None
        None when ``weights`` is None or all weights are equal: equal weights are the
        unweighted case, and the kernels then compute exactly what they compute without
        weights.

    Raises
    ------
    SpecError
        If the weights are not ``n`` finite non-negative numbers with a positive sum.

    Examples
    --------
    >>> normalised_weights(np.array([1.0, 3.0]), 2)
    array([0.25, 0.75])
    >>> normalised_weights(np.full(3, 0.2), 3) is None
    True
    """
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != n:
        raise SpecError(f"weights: {w.size} weights for {n} draws; expected one weight per "
                        "draw (chains, then draws)")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise SpecError("weights must be finite, non-negative and not all zero; got "
                        f"min {np.min(w)!r}, max {np.max(w)!r}, sum {np.sum(w)!r}")
    if np.all(w == w[0]):
        return None
    return w / w.sum()


def weighted_quantile(draws: np.ndarray, q: float | np.ndarray,
                      weights: np.ndarray | None = None) -> float | np.ndarray:
    """Quantiles of (weighted) draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of one scalar quantity (flattened).
    q : float or numpy.ndarray
        Probabilities in [0, 1].
    weights : numpy.ndarray, optional
        One weight per draw; equal weights (``numpy.quantile``, exactly) when None or all equal.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``q``, else an array like ``q``.

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Notes
    -----
    Each sorted draw stands at the midpoint of its weight's share of the cumulative weight, and
    quantiles are interpolated linearly between those points; beyond the first and last points
    they are the smallest and largest draw. For equal weights this is Hazen's definition,
    within one draw of NumPy's default, which is used instead.

    Examples
    --------
    >>> x, w = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])
    >>> round(float(weighted_quantile(x, 0.5, w)), 4)     # 1 + (0.5 - 0.375) / (0.75 - 0.375)
    1.3333
    """
    x = np.asarray(draws, dtype=float).ravel()
    w = normalised_weights(weights, x.size)
    if w is None:
        result = np.quantile(x, q)
    else:
        order = np.argsort(x, kind="stable")
        xs, ws = x[order], w[order]
        result = np.interp(q, np.cumsum(ws) - ws / 2, xs)
    return float(result) if np.ndim(result) == 0 else result


def weighted_median(x: np.ndarray, weights: np.ndarray | None) -> float:
    """The median of (weighted) draws.

    Parameters
    ----------
    x : numpy.ndarray
        Flat draws.
    weights : numpy.ndarray or None
        One weight per draw; None for equal weights.

    Returns
    -------
    float
        ``np.median`` when unweighted (not the 0.5 quantile: the numbers fits have always
        reported), else the weighted 0.5 quantile.
    """
    if normalised_weights(weights, x.size) is None:
        return float(np.median(x))
    return float(weighted_quantile(x, 0.5, weights))


def weighted_share(mask: np.ndarray, weights: np.ndarray | None) -> float:
    """The share of the draws (of their weight, when weighted) where ``mask`` holds.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        One per draw.
    weights : numpy.ndarray or None
        One weight per draw; None for equal weights.

    Returns
    -------
    float
    """
    w = normalised_weights(weights, mask.size)
    return float(np.mean(mask)) if w is None else float(np.sum(w[mask]))


def prob_below(draws: np.ndarray, threshold: float,
               weights: np.ndarray | None = None) -> float:
    """Posterior probability that a quantity is below ``threshold``.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    threshold : float
    weights : numpy.ndarray, optional
        One weight per draw; equal weights when None.

    Returns
    -------
    float
        The share of draws (of their weight, when weighted) strictly below ``threshold``.

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Examples
    --------
    >>> x = np.array([0.8, 0.95, 1.05, 0.7])
    >>> prob_below(x, 0.9), prob_below(x, 0.9, weights=np.array([1.0, 2.0, 3.0, 2.0]))
    (0.5, 0.375)
    """
    x = np.asarray(draws, dtype=float).ravel()
    return weighted_share(x < threshold, weights)


def prob_above(draws: np.ndarray, threshold: float,
               weights: np.ndarray | None = None) -> float:
    """Posterior probability that a quantity is above ``threshold``.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    threshold : float
    weights : numpy.ndarray, optional
        One weight per draw; equal weights when None.

    Returns
    -------
    float
        The share of draws (of their weight, when weighted) strictly above ``threshold``.

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Examples
    --------
    >>> x = np.array([0.8, 0.95, 1.05, 0.7])
    >>> prob_above(x, 1.0), prob_above(x, 1.0, weights=np.array([1.0, 2.0, 3.0, 2.0]))
    (0.25, 0.375)
    """
    x = np.asarray(draws, dtype=float).ravel()
    return weighted_share(x > threshold, weights)


def prob_between(draws: np.ndarray, lower: float, upper: float,
                 weights: np.ndarray | None = None) -> float:
    """Posterior probability that a quantity is strictly between ``lower`` and ``upper``.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    lower, upper : float
        Bounds of the open interval; none of the draws is inside it if ``lower >= upper``.
    weights : numpy.ndarray, optional
        One weight per draw; equal weights when None.

    Returns
    -------
    float
        The share of draws (of their weight, when weighted) with ``lower < draw < upper``.
        Computed from one mask, not as ``prob_above(lower) + prob_below(upper) - 1``, so that
        it is an exact share and never negative.

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Examples
    --------
    >>> x = np.array([0.8, 0.95, 1.05, 0.7])
    >>> prob_between(x, 0.8, 1.1), prob_between(x, 0.8, 1.1, np.array([1.0, 2.0, 3.0, 2.0]))
    (0.5, 0.625)
    """
    x = np.asarray(draws, dtype=float).ravel()
    return weighted_share((x > lower) & (x < upper), weights)


def rope_bounds(mcid: float) -> tuple[float, float]:
    """The region of practical equivalence of a ratio: a change smaller than the MCID.

    Parameters
    ----------
    mcid : float
        Minimal clinically important reduction as a fraction (0.10 = 10% fewer events).

    Returns
    -------
    tuple of float
        ``(1 - mcid, 1 / (1 - mcid))``, the open interval of ratios closer to 1 than a
        reduction of ``mcid`` or the matching increase: symmetric about 0 on the log scale,
        ``|log ratio| < -log(1 - mcid)``.

    Raises
    ------
    SpecError
        If ``mcid`` is not strictly between 0 and 1.

    Examples
    --------
    >>> lo, hi = rope_bounds(0.2)
    >>> lo, hi, bool(np.isclose(np.log(lo), -np.log(hi)))
    (0.8, 1.25, True)
    """
    if not 0.0 < mcid < 1.0:
        raise SpecError(f"mcid must be a fraction strictly between 0 and 1 (0.10 = a 10% "
                        f"reduction); got {mcid!r}")
    return 1.0 - mcid, 1.0 / (1.0 - mcid)


def equal_tailed_interval(draws: np.ndarray, ci_prob: float | None = None,
                          weights: np.ndarray | None = None) -> tuple[float, float]:
    """Equal-tailed credible interval of the draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    ci_prob : float, optional
        Interval probability; defaults to :data:`swisbayes._base.defaults.CI_PROB`.
    weights : numpy.ndarray, optional
        One weight per draw; equal weights (``numpy.quantile``) when None.

    Returns
    -------
    tuple of float
        Lower and upper bound: the ``(1 - ci_prob) / 2`` and ``(1 + ci_prob) / 2`` quantiles
        (:func:`weighted_quantile`).

    Raises
    ------
    ValueError
        If ``ci_prob`` is not strictly between 0 and 1.
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Examples
    --------
    >>> equal_tailed_interval(np.arange(101.0), 0.5)
    (25.0, 75.0)
    """
    prob = validate_ci_prob(ci_prob)
    lo, hi = weighted_quantile(draws, np.array([(1 - prob) / 2, (1 + prob) / 2]), weights)
    return float(lo), float(hi)


__all__ = [
    "equal_tailed_interval", "normalised_weights", "prob_above", "prob_below", "prob_between",
    "rope_bounds", "weighted_median", "weighted_quantile", "weighted_share"
]
