"""Decision quantities from weighted draws (importance-reweighted posteriors).

Each kernel takes ``weights=None`` for equal weights, and then gives exactly what
:mod:`swisbayes.decision` gives, by calling it: a cell answered from another cell's draws with
equal weights reports the same numbers as a fit would. With weights, the same quantities are
weighted quantiles and weighted shares of draws, returned in the same dataclasses so that they
have the same JSON keys.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import decision
from ..decision import DecisionSummary, RatioSummary
from ..defaults import validate_ci_prob


def normalised(weights: np.ndarray | None, n: int) -> np.ndarray | None:
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

    Raises
    ------
    ValueError
        If the weights are not ``n`` finite non-negative numbers with a positive sum.
    """
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != n:
        raise ValueError(f"{w.size} weights for {n} draws")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def weighted_quantile(draws: np.ndarray, q: float | np.ndarray,
                      weights: np.ndarray | None = None) -> float | np.ndarray:
    """Quantiles of weighted draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of one scalar quantity (flattened).
    q : float or numpy.ndarray
        Probabilities in [0, 1].
    weights : numpy.ndarray, optional
        One weight per draw; equal weights (``numpy.quantile``) when None.

    Returns
    -------
    float or numpy.ndarray

    Notes
    -----
    Each sorted draw stands at the midpoint of its weight's share of the cumulative weight, and
    quantiles are interpolated linearly between those points (for equal weights this is
    Hazen's definition, within one draw of NumPy's default).

    Examples
    --------
    >>> x, w = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])
    >>> round(float(weighted_quantile(x, 0.5, w)), 4)     # 1 + (0.5 - 0.375) / (0.75 - 0.375)
    1.3333
    """
    x = np.asarray(draws, dtype=float).ravel()
    w = normalised(weights, x.size)
    if w is None:
        result = np.quantile(x, q)
        return float(result) if np.ndim(result) == 0 else result
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    position = np.cumsum(ws) - ws / 2
    result = np.interp(q, position, xs)
    return float(result) if np.ndim(result) == 0 else result


def weighted_prob_below(draws: np.ndarray, threshold: float,
                        weights: np.ndarray | None = None) -> float:
    """Posterior probability that a quantity is below ``threshold``, from weighted draws.

    Parameters
    ----------
    draws : numpy.ndarray
    threshold : float
    weights : numpy.ndarray, optional
        Equal weights (:func:`swisbayes.decision.prob_below`) when None.

    Returns
    -------
    float
        The share of the weight on draws strictly below ``threshold``.
    """
    x = np.asarray(draws, dtype=float).ravel()
    w = normalised(weights, x.size)
    if w is None:
        return decision.prob_below(x, threshold)
    return float(np.sum(w[x < threshold]))


def weighted_prob_above(draws: np.ndarray, threshold: float,
                        weights: np.ndarray | None = None) -> float:
    """The share of the weight on draws strictly above ``threshold`` (see
    :func:`weighted_prob_below`)."""
    x = np.asarray(draws, dtype=float).ravel()
    w = normalised(weights, x.size)
    if w is None:
        return float(np.mean(x > threshold))
    return float(np.sum(w[x > threshold]))


def weighted_interval(draws: np.ndarray, ci_prob: float | None = None,
                      weights: np.ndarray | None = None) -> tuple[float, float]:
    """Equal-tailed credible interval of weighted draws.

    Parameters
    ----------
    draws : numpy.ndarray
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        Equal weights (:func:`swisbayes.decision.equal_tailed_interval`) when None.

    Returns
    -------
    tuple of float
    """
    if weights is None:
        return decision.equal_tailed_interval(draws, ci_prob)
    prob = validate_ci_prob(ci_prob)
    lo, hi = weighted_quantile(draws, np.array([(1 - prob) / 2, (1 + prob) / 2]), weights)
    return float(lo), float(hi)


def kish_ess(weights: np.ndarray | None, n: int | None = None) -> float:
    """Kish's effective sample size of importance weights, ``1 / sum(w^2)`` (w summing to 1).

    Parameters
    ----------
    weights : numpy.ndarray or None
        Importance weights; None means ``n`` equal weights.
    n : int, optional
        Number of draws (needed when ``weights`` is None).

    Returns
    -------
    float

    Examples
    --------
    >>> kish_ess(np.ones(100))
    100.0
    >>> round(kish_ess(np.array([1.0, 1.0, 0.0, 0.0])), 6)
    2.0
    """
    if weights is None:
        if n is None:
            raise ValueError("n is needed for equal weights")
        return float(n)
    w = normalised(weights, np.size(weights))
    return float(1.0 / np.sum(w**2))


def summarise_ratio(draws: np.ndarray, *, mcid: float, ci_prob: float | None = None,
                    weights: np.ndarray | None = None) -> RatioSummary:
    """Summarise (weighted) draws of a rate ratio like :func:`swisbayes.decision.summarise_ratio`.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the ratio (positive).
    mcid : float
        Minimal important reduction as a fraction.
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw; when None, the result is exactly
        :func:`swisbayes.decision.summarise_ratio`'s.

    Returns
    -------
    RatioSummary
    """
    if weights is None:
        return decision.summarise_ratio(draws, mcid=mcid, ci_prob=ci_prob)
    x = np.asarray(draws, dtype=float).ravel()
    prob = validate_ci_prob(ci_prob)
    return RatioSummary(
        median=float(weighted_quantile(x, 0.5, weights)),
        ci=weighted_interval(x, prob, weights),
        ci_prob=prob,
        prob_any_reduction=weighted_prob_below(x, 1.0, weights),
        prob_meaningful_reduction=weighted_prob_below(x, 1.0 - mcid, weights),
        prob_harm=weighted_prob_above(x, 1.0, weights),
    )


def decide(posterior: xr.Dataset, *, outcome: str, prior: str, mcid: float,
           followup_years: float, ci_prob: float | None = None,
           weights: np.ndarray | None = None) -> DecisionSummary:
    """The decision quantities of :func:`swisbayes.decision.decide`, from weighted draws.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior with ``irr``, ``irr_new_la``, ``rate_control_per_1000`` and
        ``rate_swis_per_1000``.
    outcome, prior : str
        Labels carried into the summary.
    mcid : float
        Minimal important reduction (fraction).
    followup_years : float
        Follow-up length, to express rates per year.
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw, in the order of ``posterior[...].to_numpy().ravel()`` (chain, then
        draw). When None this is :func:`swisbayes.decision.decide` itself.

    Returns
    -------
    DecisionSummary
    """
    if weights is None:
        return decision.decide(posterior, outcome=outcome, prior=prior, mcid=mcid,
                               followup_years=followup_years, ci_prob=ci_prob)
    prob = validate_ci_prob(ci_prob)

    def flat(name: str) -> np.ndarray:
        return posterior[name].to_numpy().reshape(-1)

    control = flat("rate_control_per_1000") / followup_years
    averted = control - flat("rate_swis_per_1000") / followup_years
    return DecisionSummary(
        outcome=outcome,
        prior=prior,
        mcid=mcid,
        effect=summarise_ratio(flat("irr"), mcid=mcid, ci_prob=prob, weights=weights),
        new_la=summarise_ratio(flat("irr_new_la"), mcid=mcid, ci_prob=prob, weights=weights),
        averted_per_1000=float(weighted_quantile(averted, 0.5, weights)),
        averted_per_1000_ci=weighted_interval(averted, prob, weights),
        control_rate_per_1000=float(weighted_quantile(control, 0.5, weights)),
    )


__all__ = ["decide", "kish_ess", "normalised", "summarise_ratio", "weighted_interval",
           "weighted_prob_above", "weighted_prob_below", "weighted_quantile"]
