"""Test statistics of school outcomes for posterior predictive checks, in plain NumPy.

A posterior predictive check compares a statistic :math:`T` of the observed school outcomes
with its distribution over outcomes replicated from the fitted model (Gelman, Meng and Stern
1996). The statistics here are those that matter for school-clustered counts, each read on
the schools' rates (outcome over denominator, so that large schools do not pass for high
rates): the mean and the variance of the rates in each arm, the share of schools with no
events, the highest rate, and the spread between local authorities.

**Between-LA spread.** An LA's rate is its schools' outcomes summed over their denominators
summed (both arms together); the statistic is the standard deviation of the LA rates across
LAs. Both arms are pooled because every LA of a cluster trial has schools in each arm and the
spread the model must reproduce is that of its LA intercepts; the arm mix of each LA is the
same in replicated data, so the small share of the spread due to it is reproduced too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

STATISTICS: Mapping[str, str] = {
    "mean_rate_control": "mean school rate, control arm",
    "mean_rate_swis": "mean school rate, SWIS arm",
    "var_rate_control": "variance of school rates, control arm",
    "var_rate_swis": "variance of school rates, SWIS arm",
    "share_zero": "share of schools with none",
    "max_rate": "highest school rate",
    "la_rate_sd": "SD of LA rates (between-LA spread)",
}
"""Every statistic of :func:`school_statistics`, by name, with what it is."""

ARMS = {"control": 0, "swis": 1}
"""The arms' names in the statistics and their codes in the data."""


def school_rates(outcome: np.ndarray, denominator: np.ndarray, per: float = 1.0) -> np.ndarray:
    """Schools' outcomes as rates: ``outcome / denominator * per``.

    Parameters
    ----------
    outcome : numpy.ndarray
        School outcomes, schools on the last axis.
    denominator : numpy.ndarray
        One positive value per school (pupils, sessions possible).
    per : float, default 1.0

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``outcome``.
    """
    return np.asarray(outcome, dtype=float) / np.asarray(denominator, dtype=float) * per


def school_statistics(outcome: np.ndarray, denominator: np.ndarray, arm: np.ndarray,
                      la: np.ndarray, *, per: float = 1.0) -> dict[str, np.ndarray]:
    """The statistics of :data:`STATISTICS` of one or many sets of school outcomes.

    Parameters
    ----------
    outcome : numpy.ndarray
        School outcomes (events, days, sessions missed), schools on the last axis; any leading
        axes (chains, draws of replicated data) are kept.
    denominator : numpy.ndarray
        One positive value per school (pupils, sessions possible).
    arm : numpy.ndarray
        One arm code per school (:data:`ARMS`); each arm needs two schools or more.
    la : numpy.ndarray
        One LA label or code per school; two LAs or more.
    per : float, default 1.0
        Rates are outcome / denominator times this (1000: per 1000 pupils).

    Returns
    -------
    dict of str to numpy.ndarray
        One array per statistic, the shape of ``outcome`` without its last axis.

    Raises
    ------
    ValueError
        If the per-school arrays do not have one value per school, an arm has fewer than two
        schools or there are fewer than two LAs.

    Examples
    --------
    >>> stats = school_statistics(np.array([0, 2, 4, 6]), np.array([100, 100, 200, 200]),
    ...                           np.array([0, 0, 1, 1]), np.array(["A", "B", "A", "B"]),
    ...                           per=1000)
    >>> float(stats["mean_rate_control"]), float(stats["share_zero"]), float(stats["max_rate"])
    (10.0, 0.25, 30.0)
    """
    outcome = np.asarray(outcome, dtype=float)
    denominator, arm = np.asarray(denominator, dtype=float), np.asarray(arm)
    la_codes, la_idx = np.unique(np.asarray(la), return_inverse=True)
    _check_design(outcome.shape[-1], denominator, arm, la_idx, len(la_codes))
    rate = school_rates(outcome, denominator, per)
    stats: dict[str, np.ndarray] = {}
    for name, code in ARMS.items():
        stats[f"mean_rate_{name}"] = rate[..., arm == code].mean(axis=-1)
    for name, code in ARMS.items():
        stats[f"var_rate_{name}"] = rate[..., arm == code].var(axis=-1, ddof=1)
    stats["share_zero"] = (outcome == 0).mean(axis=-1)
    stats["max_rate"] = rate.max(axis=-1)
    membership = np.eye(len(la_codes))[la_idx]  # school x LA: sums over each LA's schools
    la_rate = (outcome @ membership) / (denominator @ membership) * per
    stats["la_rate_sd"] = la_rate.std(axis=-1, ddof=1)
    return stats


def _check_design(n_schools: int, denominator: np.ndarray, arm: np.ndarray,
                  la_idx: np.ndarray, n_las: int) -> None:
    for name, values in (("denominator", denominator), ("arm", arm), ("la", la_idx)):
        if values.shape != (n_schools,):
            raise ValueError(f"{name}: expected one value per school ({n_schools}), got shape "
                             f"{values.shape}")
    for name, code in ARMS.items():
        if np.sum(arm == code) < 2:
            raise ValueError(f"arm {name} (code {code}) has fewer than two schools; the "
                             "variance of its rates is undefined")
    if n_las < 2:
        raise ValueError("the between-LA spread needs two LAs or more")


def exceedance(replicated: np.ndarray, observed: float) -> np.ndarray:
    """Each replicated statistic scored against the observed one: 1 above, 0.5 tied, 0 below.

    Their mean is the mid-p posterior predictive p-value :math:`P(T_{rep} > T_{obs}) +
    \\tfrac12 P(T_{rep} = T_{obs})`. Counting ties as half keeps a statistic that is often
    tied (the share of zero schools when no school has none) near 0.5 instead of at 1, where
    it would be flagged for nothing.

    Parameters
    ----------
    replicated : numpy.ndarray
        The statistic of each replicated dataset.
    observed : float
        The statistic of the data.

    Returns
    -------
    numpy.ndarray
        The shape of ``replicated``.

    Examples
    --------
    >>> exceedance(np.array([1.0, 2.0, 3.0, 2.0]), 2.0).mean()
    np.float64(0.5)
    """
    replicated = np.asarray(replicated, dtype=float)
    return (replicated > observed) + 0.5 * (replicated == observed)


__all__ = ["ARMS", "STATISTICS", "exceedance", "school_rates", "school_statistics"]
