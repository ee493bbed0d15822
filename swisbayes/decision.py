"""Decision quantities from posterior draws: probabilities of meaningful effects, events averted.

The kernels are NumPy functions over draws (flattened across chains); :func:`decide` applies them
to a fitted posterior. Ratios below 1 mean fewer events with SWIS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .defaults import validate_ci_prob


def prob_below(draws: np.ndarray, threshold: float) -> float:
    """Posterior probability that a quantity is below ``threshold``.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    threshold : float

    Returns
    -------
    float
        The share of draws strictly below ``threshold``.
    """
    return float(np.mean(np.asarray(draws) < threshold))


def equal_tailed_interval(draws: np.ndarray, ci_prob: float | None = None) -> tuple[float, float]:
    """Equal-tailed credible interval of the draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one scalar quantity.
    ci_prob : float, optional
        Interval probability; defaults to :data:`swisbayes.defaults.CI_PROB`.

    Returns
    -------
    tuple of float
        Lower and upper bound.
    """
    prob = validate_ci_prob(ci_prob)
    lo, hi = np.quantile(np.asarray(draws), [(1 - prob) / 2, (1 + prob) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class RatioSummary:
    """Posterior summary of a ratio (SWIS vs control) against decision thresholds.

    Parameters
    ----------
    median : float
    ci : tuple of float
        Equal-tailed interval with probability ``ci_prob``.
    ci_prob : float
    prob_any_reduction : float
        P(ratio < 1).
    prob_meaningful_reduction : float
        P(ratio < 1 - MCID).
    prob_harm : float
        P(ratio > 1).
    """

    median: float
    ci: tuple[float, float]
    ci_prob: float
    prob_any_reduction: float
    prob_meaningful_reduction: float
    prob_harm: float


def summarise_ratio(draws: np.ndarray, *, mcid: float,
                    ci_prob: float | None = None) -> RatioSummary:
    """Summarise posterior draws of a rate ratio.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the ratio (positive).
    mcid : float
        Minimal clinically important reduction as a fraction (0.10 = 10% fewer events).
    ci_prob : float, optional
        Interval probability; defaults to 0.95.

    Returns
    -------
    RatioSummary

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = summarise_ratio(np.exp(rng.normal(0.0, 0.1, 200_000)), mcid=0.1)
    >>> round(s.prob_any_reduction, 2), round(s.prob_meaningful_reduction, 2)  # Phi(log(0.9)/0.1)
    (0.5, 0.15)
    """
    draws = np.asarray(draws, dtype=float).ravel()
    prob = validate_ci_prob(ci_prob)
    return RatioSummary(
        median=float(np.median(draws)),
        ci=equal_tailed_interval(draws, prob),
        ci_prob=prob,
        prob_any_reduction=prob_below(draws, 1.0),
        prob_meaningful_reduction=prob_below(draws, 1.0 - mcid),
        prob_harm=float(np.mean(draws > 1.0)),
    )


@dataclass(frozen=True)
class DecisionSummary:
    """Decision quantities for one outcome under one prior.

    Parameters
    ----------
    outcome : str
    prior : str
        Name of the prior on the effect.
    mcid : float
    effect : RatioSummary
        Average effect across the trial's LAs (IRR).
    new_la : RatioSummary
        Predicted effect in an LA that was not in the trial.
    averted_per_1000 : float
        Posterior median of events averted per 1000 pupils per year (negative = more events).
    averted_per_1000_ci : tuple of float
    control_rate_per_1000 : float
        Posterior median of the control-arm rate per 1000 pupils per year.
    """

    outcome: str
    prior: str
    mcid: float
    effect: RatioSummary
    new_la: RatioSummary
    averted_per_1000: float
    averted_per_1000_ci: tuple[float, float]
    control_rate_per_1000: float

    def to_dict(self) -> dict:
        """The summary with the stable JSON keys of ``swisbayes fit --json``."""
        return {
            "outcome": self.outcome,
            "prior": self.prior,
            "mcid": self.mcid,
            **ratio_keys(self.effect),
            "new_la": ratio_keys(self.new_la),
            "averted_per_1000": self.averted_per_1000,
            "averted_per_1000_ci95": list(self.averted_per_1000_ci),
            "control_rate_per_1000": self.control_rate_per_1000,
        }

    @property
    def text(self) -> str:
        """Two plain-English sentences for a decision-maker."""
        e = self.effect
        lo, hi = e.ci
        change = "fewer" if e.median < 1 else "more"
        return (
            f"Under the '{self.prior}' prior, SWIS schools are estimated to have "
            f"{abs(1 - e.median):.1%} {change} events (IRR {e.median:.2f}, "
            f"{e.ci_prob:.0%} interval {lo:.2f} to {hi:.2f}). "
            f"The probability of a reduction of at least {self.mcid:.0%} is "
            f"{e.prob_meaningful_reduction:.0%}; of any reduction {e.prob_any_reduction:.0%}; "
            f"of harm (more events) {e.prob_harm:.0%}.")


def ratio_keys(s: RatioSummary) -> dict:
    """The JSON keys shared by every ratio result (fit, new LA, re-analysis).

    Parameters
    ----------
    s : RatioSummary

    Returns
    -------
    dict
        ``irr_median``, ``irr_ci95`` (at ``ci_prob``), ``ci_prob``, ``prob_any_reduction``,
        ``prob_meaningful_reduction`` and ``prob_harm``.
    """
    return {"irr_median": s.median, "irr_ci95": list(s.ci), "ci_prob": s.ci_prob,
            "prob_any_reduction": s.prob_any_reduction,
            "prob_meaningful_reduction": s.prob_meaningful_reduction,
            "prob_harm": s.prob_harm}


def _flat(posterior: xr.Dataset, name: str) -> np.ndarray:
    return posterior[name].to_numpy().reshape(-1)


def decide(posterior: xr.Dataset, *, outcome: str, prior: str, mcid: float,
           followup_years: float, ci_prob: float | None = None) -> DecisionSummary:
    """Compute the decision quantities from a fitted posterior.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior with ``irr``, ``irr_new_la``, ``rate_control_per_1000`` and
        ``rate_swis_per_1000`` (as built by :func:`swisbayes.model.build_model`).
    outcome, prior : str
        Labels carried into the summary.
    mcid : float
        Minimal important reduction (fraction).
    followup_years : float
        Follow-up length, to express rates per year.
    ci_prob : float, optional
        Interval probability; defaults to 0.95.

    Returns
    -------
    DecisionSummary
    """
    prob = validate_ci_prob(ci_prob)
    control = _flat(posterior, "rate_control_per_1000") / followup_years
    averted = control - _flat(posterior, "rate_swis_per_1000") / followup_years
    return DecisionSummary(
        outcome=outcome,
        prior=prior,
        mcid=mcid,
        effect=summarise_ratio(_flat(posterior, "irr"), mcid=mcid, ci_prob=prob),
        new_la=summarise_ratio(_flat(posterior, "irr_new_la"), mcid=mcid, ci_prob=prob),
        averted_per_1000=float(np.median(averted)),
        averted_per_1000_ci=equal_tailed_interval(averted, prob),
        control_rate_per_1000=float(np.median(control)),
    )


__all__ = [
    "DecisionSummary",
    "RatioSummary",
    "decide",
    "equal_tailed_interval",
    "prob_below",
    "ratio_keys",
    "summarise_ratio",
]
