"""Monte Carlo standard errors: the reported MCSE of a probability, a median and an interval
bound matches the spread of that number over independent repeats of the draws."""

from __future__ import annotations

import numpy as np
import pytest

from swisbayes.decision.summaries import summarise_ratio

REPEATS = 400
"""Independent repeats: the spread of an estimate is known to about 3.5% (1 / sqrt(2 R))."""


def _ar1_chains(rng: np.random.Generator, rho: float, chains: int = 4,
                draws: int = 1000) -> np.ndarray:
    """Stationary AR(1) chains of the log ratio around log 0.9 (SD 0.1): correlated draws, as
    MCMC gives."""
    z = np.empty((chains, draws))
    z[:, 0] = rng.normal(size=chains)
    noise = rng.normal(size=(chains, draws)) * np.sqrt(1 - rho**2)
    for t in range(1, draws):
        z[:, t] = rho * z[:, t - 1] + noise[:, t]
    return np.exp(np.log(0.9) + 0.1 * z)


def _spread_and_reported(make, **kwargs):
    """Spread over repeats of each summary number, and the mean MCSE reported for it."""
    summaries = [summarise_ratio(*make(seed), mcid=0.1, **kwargs) for seed in range(REPEATS)]
    numbers = {
        "prob_meaningful_reduction": [s.prob_meaningful_reduction for s in summaries],
        "prob_any_reduction": [s.prob_any_reduction for s in summaries],
        "median": [s.median for s in summaries],
        "ci_low": [s.ci[0] for s in summaries],
    }
    reported = {
        "prob_meaningful_reduction": [s.mcse.prob_meaningful_reduction for s in summaries],
        "prob_any_reduction": [s.mcse.prob_any_reduction for s in summaries],
        "median": [s.mcse.median for s in summaries],
        "ci_low": [s.mcse.ci[0] for s in summaries],
    }
    return ({k: float(np.std(v, ddof=1)) for k, v in numbers.items()},
            {k: float(np.mean(v)) for k, v in reported.items()})


@pytest.mark.parametrize("rho", [0.0, 0.8])
def test_mcse_of_correlated_draws_matches_their_spread(rho):
    def make(seed):
        return (_ar1_chains(np.random.default_rng(seed), rho).ravel(),)

    spread, reported = _spread_and_reported(make, chains=4)
    for name in spread:
        # 20%: the repeats' spread is known to ~3.5%, the ESS estimate adds its own error
        assert reported[name] == pytest.approx(spread[name], rel=0.2), (name, rho)
    if rho:
        # the naive sqrt(p (1 - p) / n) would be far too small for correlated draws
        p = 0.5
        assert reported["prob_any_reduction"] > 1.3 * np.sqrt(p * (1 - p) / 4000)


def test_mcse_of_importance_weighted_draws_matches_their_spread():
    # draws from a wider proposal, weighted to the target N(log 0.9, 0.1)
    def make(seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(np.log(0.9), 0.15, 4000)
        log_w = -0.5 * ((x - np.log(0.9)) / 0.1) ** 2 + 0.5 * ((x - np.log(0.9)) / 0.15) ** 2
        w = np.exp(log_w - log_w.max())
        return np.exp(x), w / w.sum()

    def summarise(seed):
        draws, w = make(seed)
        return summarise_ratio(draws, mcid=0.1, weights=w)

    summaries = [summarise(seed) for seed in range(REPEATS)]
    spread = float(np.std([s.prob_meaningful_reduction for s in summaries], ddof=1))
    reported = float(np.mean([s.mcse.prob_meaningful_reduction for s in summaries]))
    assert reported == pytest.approx(spread, rel=0.2)
    spread = float(np.std([s.median for s in summaries], ddof=1))
    reported = float(np.mean([s.mcse.median for s in summaries]))
    assert reported == pytest.approx(spread, rel=0.2)


def test_a_probability_of_zero_or_one_has_no_monte_carlo_error():
    s = summarise_ratio(np.full(400, 0.5), mcid=0.1, chains=4)
    assert (s.prob_meaningful_reduction, s.mcse.prob_meaningful_reduction) == (1.0, 0.0)
    assert (s.prob_harm, s.mcse.prob_harm) == (0.0, 0.0)


def test_a_weighted_share_that_rounds_above_one_has_no_error():
    # normalised weights can sum to 1 + 1e-16: the share's variance must not go negative
    weights = np.full(3, 1 / 3)
    weights[0] += 1e-16
    s = summarise_ratio(np.array([0.5, 0.6, 0.7]), mcid=0.1, weights=weights)
    assert s.prob_meaningful_reduction >= 1.0
    assert s.mcse.prob_meaningful_reduction == 0.0
