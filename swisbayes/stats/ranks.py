"""Rank statistics of simulation-based calibration (Talts et al. 2018), in plain NumPy.

If the fitted posterior is the true posterior, the rank of the true parameter among ``L``
independent posterior draws is uniform on ``0..L`` across datasets drawn from the prior.
Autocorrelated draws make ranks pile up at the ends, so the draws are thinned first.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

DEFAULT_RANKS = 99
"""Posterior draws each truth is ranked among (ranks 0..99: 100 values, divisible into bins)."""

ALPHA = 0.01
"""Family-wise level of the uniformity flags (divided by the number of parameters)."""


def thin(draws: np.ndarray, n: int = DEFAULT_RANKS) -> np.ndarray:
    """``n`` draws evenly spaced through the chains (concatenated), as near-independent draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of one scalar, shape (chain, draw) or flat.
    n : int, default 99

    Returns
    -------
    numpy.ndarray
        Shape (n,). With 2000 draws and 99 kept, kept draws are about 20 iterations apart, and a
        fit passing the gate (bulk ESS >= 400) has little autocorrelation at that lag.

    Raises
    ------
    ValueError
        If there are fewer than ``n`` draws.
    """
    flat = np.asarray(draws, dtype=float).reshape(-1)
    if flat.size < n:
        raise ValueError(f"{flat.size} draws cannot be thinned to {n}")
    return flat[np.linspace(0, flat.size - 1, n).round().astype(int)]


def rank_of(truth: float, draws: np.ndarray, n: int = DEFAULT_RANKS) -> int:
    """Rank of ``truth`` among ``n`` thinned draws: how many are below it (0..n)."""
    return int(np.sum(thin(draws, n) < truth))


def choose_bins(n_replicates: int, n_ranks: int = DEFAULT_RANKS, max_bins: int = 20) -> int:
    """Equal-width bins of the ranks 0..n_ranks for the chi-square test.

    The largest divisor of ``n_ranks + 1`` (so every bin holds as many rank values) that is at
    most ``max_bins`` and leaves at least 5 expected replicates per bin; 2 when none does.
    """
    divisors = [b for b in range(2, max_bins + 1) if (n_ranks + 1) % b == 0]
    fitting = [b for b in divisors if n_replicates / b >= 5]
    return max(fitting) if fitting else (divisors[0] if divisors else 2)


def rank_histogram(ranks: np.ndarray, n_ranks: int = DEFAULT_RANKS,
                   bins: int | None = None) -> np.ndarray:
    """Counts of ranks in ``bins`` equal-width bins of 0..n_ranks."""
    ranks = np.asarray(ranks, dtype=int)
    bins = bins or choose_bins(ranks.size, n_ranks)
    return np.bincount(ranks * bins // (n_ranks + 1), minlength=bins)


def uniformity_test(ranks: np.ndarray, n_ranks: int = DEFAULT_RANKS,
                    bins: int | None = None) -> tuple[float, float, int]:
    """Chi-square test that binned ranks are uniform.

    Parameters
    ----------
    ranks : numpy.ndarray
        One rank per replicate, each in 0..n_ranks.
    n_ranks : int, default 99
    bins : int, optional
        Defaults to :func:`choose_bins`.

    Returns
    -------
    chi2 : float
    p_value : float
        NaN when there are no ranks.
    bins : int
    """
    ranks = np.asarray(ranks, dtype=int)
    bins = bins or choose_bins(ranks.size, n_ranks)
    if ranks.size == 0:
        return float("nan"), float("nan"), bins
    result = stats.chisquare(rank_histogram(ranks, n_ranks, bins))
    return float(result.statistic), float(result.pvalue), bins


def uniform_band(n_replicates: int, bins: int, prob: float = 0.99) -> tuple[float, float]:
    """Central ``prob`` interval of one bin's count under uniform ranks (binomial)."""
    dist = stats.binom(n_replicates, 1 / bins)
    return float(dist.ppf((1 - prob) / 2)), float(dist.ppf((1 + prob) / 2))


def flag_threshold(n_parameters: int, alpha: float = ALPHA) -> float:
    """Bonferroni threshold: a parameter is flagged when its p-value is below this."""
    return alpha / max(n_parameters, 1)


__all__ = [
    "ALPHA", "DEFAULT_RANKS", "choose_bins", "flag_threshold", "rank_histogram", "rank_of", "thin",
    "uniform_band", "uniformity_test"
]
