"""Monte Carlo standard errors of what the decision reads off draws: probabilities, medians and
interval bounds, for plain and importance-weighted draws alike.

A probability ``p`` read as the share of draws in a region has MCSE ``sqrt(p (1 - p) / n)``,
where ``n`` is the effective sample size of the region's indicator: its ESS across the chains
(ArviZ's "mean" ESS, :func:`swisbayes.stats.convergence.ess`), and, for importance-weighted
draws, that ESS scaled by the weights' relative efficiency (the importance ESS over the number
of draws). A quantile's MCSE is half the spread of the quantiles one standard error either side
of its probability (the construction ArviZ uses for quantiles, applied to weighted quantiles
too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from swisbayes.stats.convergence import ess as chain_ess


@dataclass(frozen=True)
class SummaryMcse:
    """The MCSE of each number of a ratio or difference summary (same names as its fields)."""

    median: float
    ci: tuple[float, float]
    prob_any_reduction: float
    prob_meaningful_reduction: float
    prob_harm: float
    prob_rope: float

    @property
    def largest_probability(self) -> float:
        """The largest MCSE of the summary's probabilities."""
        return max(self.prob_any_reduction, self.prob_meaningful_reduction, self.prob_harm,
                   self.prob_rope)


def effective_draws(mask: np.ndarray, chains: int, weights: np.ndarray | None) -> float:
    """Effective sample size of the share of draws where ``mask`` holds.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        One per draw, chains then draws.
    chains : int
        Number of chains the draws came from (equal lengths).
    weights : numpy.ndarray or None
        Normalised importance weights (summing to 1), or None.

    Returns
    -------
    float
        The ESS of the indicator (the number of draws when it is constant), times the weights'
        relative efficiency ``1 / (n sum w^2)`` when weighted.
    """
    n = mask.size
    flat = mask.astype(float)
    if flat.min() == flat.max():
        ess = float(n)
    else:
        ess = float(chain_ess(flat.reshape(chains, -1), "mean"))
        # too few draws to estimate autocorrelation: count them as one
        ess = ess if math.isfinite(ess) and ess >= 1 else 1.0
    if weights is None:
        return ess
    return ess / (n * float(np.sum(np.square(weights))))


def share_mcse(share: float, mask: np.ndarray, chains: int,
               weights: np.ndarray | None) -> float:
    """MCSE of a share of (weighted) draws: ``sqrt(p (1 - p) / n_eff)``."""
    # a share of normalised weights can round to a hair above 1
    variance = max(share * (1.0 - share), 0.0)
    return math.sqrt(variance / effective_draws(mask, chains, weights))


def quantile_mcse(draws: np.ndarray, q: float, chains: int, weights: np.ndarray | None,
                  quantile: callable) -> float:
    """MCSE of the ``q`` quantile of (weighted) draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Flat, chains then draws.
    q : float
    chains : int
    weights : numpy.ndarray or None
        Normalised weights, or None.
    quantile : callable
        ``quantile(draws, probs, weights)``, the quantile the summary reports.

    Returns
    -------
    float
    """
    at = float(quantile(draws, q, weights))
    n_eff = effective_draws(draws <= at, chains, weights)
    step = math.sqrt(max(q * (1.0 - q), 0.0) / n_eff)
    lo, hi = quantile(draws, np.array([max(q - step, 0.0), min(q + step, 1.0)]), weights)
    return float(hi - lo) / 2.0


__all__ = ["SummaryMcse", "effective_draws", "quantile_mcse", "share_mcse"]
