"""Decision quantities from posterior draws: probabilities of meaningful effects, events averted.

The kernels over draws are in :mod:`swisbayes.decision.draws`; :func:`decide` applies them
to a fitted posterior of a count outcome, :func:`decide_hurdle` to days in care (adding each
part's effect) and :func:`decide_attendance` to attendance (adding the difference in absence in
percentage points); :func:`decide_spec` picks the one for a spec's outcome. Ratios below 1 mean
fewer events with SWIS.

Every effect is one of three **estimands** (:data:`ESTIMANDS`), and says which. The decision
(the probabilities the rule reads, the events averted, the value for money) is on the
**trial-population** effect: the ratio of the expected events over the trial's schools with
SWIS to those without, each LA with its own effect. It is the quantity the trial measures
(hierarchical models of every outcome kind give it, so counts, days in care and absence are
decided alike), and the one events and money add up on: the events averted per 1000 pupils are
the control rate times (1 - that ratio), draw by draw. The effect in a typical trial LA (the
model's log IRR, on which the priors are placed) and in a new LA (which a roll-out meets) are
reported beside it, each named.

Every summary takes ``weights``, one per draw: importance weights of reweighted draws (a prior
changed without refitting). With ``weights=None``, or with all weights equal, the quantities are
the plain shares and NumPy quantiles of the draws; otherwise they are shares of the weight and
weighted quantiles, in the same result classes, with the same keys, each with its Monte Carlo
standard error (:mod:`swisbayes.decision.mcse`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from swisbayes._base.defaults import validate_ci_prob
from swisbayes.decision.draws import (
    equal_tailed_interval,
    normalised_weights,
    rope_bounds,
    weighted_median,
    weighted_quantile,
    weighted_share,
)
from swisbayes.decision.mcse import SummaryMcse, quantile_mcse, share_mcse

if TYPE_CHECKING:
    import xarray as xr


ESTIMANDS = {
    "trial_population": "the ratio of expected events over the trial's schools with and "
                        "without SWIS, each LA with its own effect",
    "typical_la": "the effect in a typical trial LA (the model's log IRR, where the priors "
                  "are placed)",
    "new_la": "the effect in an LA that was not in the trial, which a roll-out meets",
}
"""The effects reported, by JSON name; the decision is on ``trial_population``."""


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
    prob_rope : float
        P(1 - MCID < ratio < 1 / (1 - MCID)): probability in the region of practical
        equivalence (:func:`rope_bounds`), a change smaller than the MCID either way.
    mcse : SummaryMcse, optional
        The Monte Carlo standard error of each of these numbers.
    """

    median: float
    ci: tuple[float, float]
    ci_prob: float
    prob_any_reduction: float
    prob_meaningful_reduction: float
    prob_harm: float
    prob_rope: float
    mcse: SummaryMcse | None = field(default=None, kw_only=True)


def summarise_ratio(draws: np.ndarray, *, mcid: float, ci_prob: float | None = None,
                    weights: np.ndarray | None = None, chains: int = 1) -> RatioSummary:
    """Summarise posterior draws of a rate ratio.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the ratio (positive).
    mcid : float
        Minimal clinically important reduction as a fraction (0.10 = 10% fewer events).
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw; equal weights when None. The median is then
        ``weighted_quantile(draws, 0.5, weights)``.
    chains : int, default 1
        Chains the draws came from, in order (for the Monte Carlo standard errors).

    Returns
    -------
    RatioSummary
        With the MCSE of each number (:mod:`swisbayes.decision.mcse`).

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`), or ``mcid`` is
        not strictly between 0 and 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = summarise_ratio(np.exp(rng.normal(0.0, 0.1, 200_000)), mcid=0.1)
    >>> round(s.prob_any_reduction, 2), round(s.prob_meaningful_reduction, 2)  # Phi(log(0.9)/0.1)
    (0.5, 0.15)
    >>> round(s.prob_rope, 2)  # 1 - 2 Phi(log(0.9)/0.1): within 10% either way
    0.71
    """
    draws = np.asarray(draws, dtype=float).ravel()
    prob = validate_ci_prob(ci_prob)
    lower, upper = rope_bounds(mcid)
    regions = {"prob_any_reduction": draws < 1.0, "prob_meaningful_reduction": draws < 1.0 - mcid,
               "prob_harm": draws > 1.0, "prob_rope": (draws > lower) & (draws < upper)}
    shares = {name: weighted_share(mask, weights) for name, mask in regions.items()}
    return RatioSummary(median=weighted_median(draws, weights),
                        ci=equal_tailed_interval(draws, prob, weights), ci_prob=prob, **shares,
                        mcse=_mcse(draws, weights, chains, prob, regions, shares))


@dataclass(frozen=True)
class DifferenceSummary:
    """Posterior summary of a difference (SWIS minus control) where lower is better.

    Parameters
    ----------
    median : float
    ci : tuple of float
        Equal-tailed interval with probability ``ci_prob``.
    ci_prob : float
    mcid : float
        Meaningful fall, in the difference's own units (positive).
    prob_meaningful_reduction : float
        P(difference < -mcid).
    prob_any_reduction : float
        P(difference < 0).
    prob_harm : float
        P(difference > 0).
    prob_rope : float
        P(-mcid < difference < mcid): a change smaller than the meaningful one either way.
    mcse : SummaryMcse, optional
        The Monte Carlo standard error of each of these numbers.
    """

    median: float
    ci: tuple[float, float]
    ci_prob: float
    mcid: float
    prob_meaningful_reduction: float
    prob_any_reduction: float
    prob_harm: float
    prob_rope: float
    mcse: SummaryMcse | None = field(default=None, kw_only=True)

    def text(self, decimals: int | None = None) -> str:
        """Median and interval with signs: ``-0.012 (-0.031 to +0.007)``.

        Parameters
        ----------
        decimals : int, optional
            Decimal places; :func:`difference_decimals` of this summary when None.

        Examples
        --------
        >>> s = summarise_difference(np.array([-1.0, -0.5, -0.49, 0.0, 0.3]), mcid=0.5)
        >>> s.text(2)
        '-0.49 (-0.95 to +0.27)'
        """
        d = difference_decimals(self) if decimals is None else decimals
        return (f"{signed(self.median, d)} ({signed(self.ci[0], d)} to "
                f"{signed(self.ci[1], d)})")


def summarise_difference(draws: np.ndarray, *, mcid: float, ci_prob: float | None = None,
                         weights: np.ndarray | None = None, chains: int = 1) -> DifferenceSummary:
    """Summarise posterior draws of a difference against a meaningful fall.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the difference (SWIS minus control).
    mcid : float
        Meaningful fall, in the units of the draws (0.5 = half a percentage point).
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw; equal weights when None.
    chains : int, default 1
        Chains the draws came from, in order (for the Monte Carlo standard errors).

    Returns
    -------
    DifferenceSummary

    Raises
    ------
    SpecError
        If the weights do not fit the draws (see :func:`normalised_weights`).

    Examples
    --------
    >>> s = summarise_difference(np.array([-1.0, -0.5, -0.49, 0.0, 0.3]), mcid=0.5)
    >>> s.median, s.prob_meaningful_reduction, s.prob_any_reduction, s.prob_harm, s.prob_rope
    (-0.49, 0.2, 0.6, 0.2, 0.6)
    """
    draws = np.asarray(draws, dtype=float).ravel()
    prob = validate_ci_prob(ci_prob)
    regions = {"prob_meaningful_reduction": draws < -mcid, "prob_any_reduction": draws < 0.0,
               "prob_harm": draws > 0.0, "prob_rope": (draws > -mcid) & (draws < mcid)}
    shares = {name: weighted_share(mask, weights) for name, mask in regions.items()}
    return DifferenceSummary(median=weighted_median(draws, weights),
                             ci=equal_tailed_interval(draws, prob, weights), ci_prob=prob,
                             mcid=mcid, **shares,
                             mcse=_mcse(draws, weights, chains, prob, regions, shares))


def _mcse(draws: np.ndarray, weights: np.ndarray | None, chains: int, ci_prob: float,
          regions: dict[str, np.ndarray], shares: dict[str, float]) -> SummaryMcse:
    """The MCSE of a summary's median, interval bounds and probabilities."""
    w = normalised_weights(weights, draws.size)

    def quantile(q: float) -> float:
        return quantile_mcse(draws, q, chains, w, weighted_quantile)

    return SummaryMcse(
        median=quantile(0.5), ci=(quantile((1 - ci_prob) / 2), quantile((1 + ci_prob) / 2)),
        **{name: share_mcse(shares[name], mask, chains, w) for name, mask in regions.items()})


def signed(value: float, decimals: int) -> str:
    """A difference with its sign and ``decimals`` places, never ``-0.00``.

    Examples
    --------
    >>> signed(0.0123, 2), signed(-0.004, 2), signed(-0.006, 2)
    ('+0.01', '+0.00', '-0.01')
    """
    rounded = round(float(value), decimals) + 0.0  # -0.0 + 0.0 is +0.0
    return f"{rounded:+.{decimals}f}"


DIFFERENCE_DECIMALS = (2, 6)
"""Fewest and most decimal places :func:`difference_decimals` gives."""


def difference_decimals(*summaries: DifferenceSummary) -> int:
    """Decimal places that resolve differences to within 1% of the narrowest interval.

    A difference in percentage points of absence can be a hundredth of a point wide, so a fixed
    two decimals would print every prior's result as ``+0.00 (-0.01 to +0.01)``. The places
    are chosen from the spread of the posteriors: the shown resolution, ``10**-decimals``, is
    between 0.1% and 1% of the narrowest ``ci`` width among ``summaries``, so summaries whose
    medians differ by more than that print differently (as every value rounded to one number
    of places does), and the interval's width shows at least three significant figures. At
    least two and at most six places (:data:`DIFFERENCE_DECIMALS`).

    Parameters
    ----------
    *summaries : DifferenceSummary
        The summaries that will be shown side by side (e.g. one outcome under every prior).

    Returns
    -------
    int

    Examples
    --------
    >>> def s(lo, hi):
    ...     return DifferenceSummary(0.0, (lo, hi), 0.95, 0.5, 0.0, 0.5, 0.5, 1.0)
    >>> difference_decimals(s(-1.2, 0.4)), difference_decimals(s(-0.0137, 0.0151))
    (2, 4)
    >>> difference_decimals(s(-0.2, 0.1), s(-0.0137, 0.0151)), difference_decimals()
    (4, 2)
    """
    fewest, most = DIFFERENCE_DECIMALS
    widths = [s.ci[1] - s.ci[0] for s in summaries]
    widths = [w for w in widths if np.isfinite(w) and w > 0]
    if not widths:
        return fewest
    return int(np.clip(2 - np.floor(np.log10(min(widths))), fewest, most))


def difference_keys(s: DifferenceSummary) -> dict:
    """JSON keys of a difference in absence in percentage points.

    Parameters
    ----------
    s : DifferenceSummary

    Returns
    -------
    dict
        ``diff_pp_median``, ``diff_pp_ci95`` (at the summary's ``ci_prob``),
        ``prob_meaningful_improvement_pp`` (P(diff_pp < -mcid_pp)), ``prob_any_reduction_pp``
        (P(diff_pp < 0)), ``prob_harm_pp`` (P(diff_pp > 0)) and ``prob_rope_pp``
        (P(|diff_pp| < mcid_pp)).
    """
    keys = {"diff_pp_median": s.median, "diff_pp_ci95": list(s.ci),
            "prob_meaningful_improvement_pp": s.prob_meaningful_reduction,
            "prob_any_reduction_pp": s.prob_any_reduction, "prob_harm_pp": s.prob_harm,
            "prob_rope_pp": s.prob_rope}
    return keys | mcse_keys(s.mcse, {
        "diff_pp_median": "median", "diff_pp_ci95": "ci",
        "prob_meaningful_improvement_pp": "prob_meaningful_reduction",
        "prob_any_reduction_pp": "prob_any_reduction", "prob_harm_pp": "prob_harm",
        "prob_rope_pp": "prob_rope"})


def mcse_keys(mcse: SummaryMcse | None, names: dict[str, str]) -> dict:
    """``<key>_mcse`` beside each JSON key: the MCSE of that number (an interval's as a pair).

    Parameters
    ----------
    mcse : SummaryMcse or None
        None (a summary built by hand) gives no keys.
    names : dict of str to str
        JSON key to :class:`SummaryMcse` field, for keys not named as the field.

    Returns
    -------
    dict
    """
    if mcse is None:
        return {}
    fields_ = ("prob_any_reduction", "prob_meaningful_reduction", "prob_harm", "prob_rope")
    keys = {**{f: f for f in fields_ if f not in names.values()}, **names}
    return {f"{key}_mcse": (list(value) if isinstance(value := getattr(mcse, field_), tuple)
                            else value) for key, field_ in keys.items()}


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
        The trial-population effect (:data:`ESTIMANDS`): what the decision reads.
    new_la : RatioSummary
        Predicted effect in an LA that was not in the trial.
    averted_per_1000 : float
        Posterior median of events averted per 1000 pupils per year (negative = more events),
        on the trial-population effect: the control rate times (1 - ``effect``), draw by draw.
    averted_per_1000_ci : tuple of float
    control_rate_per_1000 : float
        Posterior median of the control-arm rate per 1000 pupils per year.
    typical_la : RatioSummary or None
        The effect in a typical trial LA, where the model has one (count outcomes).
    """

    outcome: str
    prior: str
    mcid: float
    effect: RatioSummary
    new_la: RatioSummary
    averted_per_1000: float
    averted_per_1000_ci: tuple[float, float]
    control_rate_per_1000: float
    typical_la: RatioSummary | None = field(default=None, kw_only=True)

    unit: ClassVar[str] = "events"
    """What the rates count, in the plain-English text."""
    ratio_label: ClassVar[str] = "IRR"
    headline: ClassVar[str] = "ratio"
    """Which summary is the headline: the ratio (``effect``), or ``"diff_pp"`` (attendance)."""

    def to_dict(self) -> dict:
        """The summary with the stable JSON keys of ``swisbayes fit --json``."""
        return {
            "outcome": self.outcome,
            "prior": self.prior,
            "mcid": self.mcid,
            "estimand": "trial_population",
            **ratio_keys(self.effect),
            "new_la": {"estimand": "new_la", **ratio_keys(self.new_la)},
            **({} if self.typical_la is None
               else {"typical_la": {"estimand": "typical_la", **ratio_keys(self.typical_la)}}),
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
            f"{abs(1 - e.median):.1%} {change} {self.unit} ({self.ratio_label} {e.median:.3f}, "
            f"{e.ci_prob:.0%} interval {lo:.3f} to {hi:.3f}). "
            f"The probability of a reduction of at least {self.mcid:.0%} is "
            f"{e.prob_meaningful_reduction:.0%}; of any reduction {e.prob_any_reduction:.0%}; "
            f"of harm (more {self.unit}) {e.prob_harm:.0%}.")


    def table_cells(self) -> tuple[str, str, tuple[float, float, float]]:
        """One table row on the summary's own scale: the MCID, the effect with its interval,
        and P(reduction >= MCID), the same in a new LA, and P(harm)."""
        e = self.effect
        return (f"{self.mcid:.0%}", f"IRR {e.median:.3f} ({e.ci[0]:.3f}-{e.ci[1]:.3f})",
                (e.prob_meaningful_reduction, self.new_la.prob_meaningful_reduction,
                 e.prob_harm))

    def table_notes(self) -> list[str]:
        """Notes under a table row that say what a non-count outcome's numbers mean."""
        return []

    def labelled_ratios(self) -> list[tuple[str, RatioSummary]]:
        """The ratio summaries worth a line each, with their labels."""
        return [("ratio, trial schools", self.effect),
                *([] if self.typical_la is None else [("IRR, a typical LA", self.typical_la)]),
                ("IRR, a new LA", self.new_la)]

    def difference_lines(self) -> list[str]:
        """Lines of a difference in percentage points (attendance only)."""
        return []

@dataclass(frozen=True)
class HurdleDecision(DecisionSummary):
    """Decision quantities for days in care: the headline ratio and each part's effect.

    Parameters
    ----------
    parts : dict of str to RatioSummary
        ``zero``: rate ratio of care episodes (whether a school has any days in care);
        ``positive``: ratio of days in care given any. The headline ``effect`` is the ratio of
        expected days (both parts together), ``averted_per_1000`` days per 1000 pupils per
        year.
    """

    parts: dict[str, RatioSummary]

    unit: ClassVar[str] = "days in care"
    ratio_label: ClassVar[str] = "ratio of expected days"

    def to_dict(self) -> dict:
        """The count keys, plus ``parts``: each part's ratio keys."""
        return {**super().to_dict(),
                "parts": {name: ratio_keys(s) for name, s in self.parts.items()}}

    @property
    def text(self) -> str:
        """The headline, then what each part says."""
        zero, positive = self.parts["zero"], self.parts["positive"]
        return (f"{super().text} Of the two parts: the rate of care episodes (any days in care) "
                f"has ratio {zero.median:.3f} ({zero.ci[0]:.3f} to {zero.ci[1]:.3f}), and the "
                f"days in care of schools with any have ratio {positive.median:.3f} "
                f"({positive.ci[0]:.3f} to {positive.ci[1]:.3f}).")


    def table_notes(self) -> list[str]:
        """What the headline ratio, each part and the averted column are."""
        zero, positive = self.parts["zero"], self.parts["positive"]
        return [f"IRR = ratio of expected days in care; any care episode "
                f"{zero.median:.3f} ({zero.ci[0]:.3f}-{zero.ci[1]:.3f}), days given any "
                f"{positive.median:.3f} ({positive.ci[0]:.3f}-{positive.ci[1]:.3f}); "
                f"averted = days in care"]

    def labelled_ratios(self) -> list[tuple[str, RatioSummary]]:
        """The headline ratio of days, in the trial's LAs and a new one, and each part."""
        return [("days ratio, trial schools", self.effect),
                ("days ratio, a new LA", self.new_la),
                ("  any care episode", self.parts["zero"]),
                ("  days given any", self.parts["positive"])]

@dataclass(frozen=True)
class AttendanceDecision(DecisionSummary):
    """Decision quantities for attendance: ratio of absence rates and difference in points.

    Parameters
    ----------
    mcid_pp : float
        Meaningful fall in absence, in percentage points.
    difference : DifferenceSummary
        Absence rate with SWIS minus without, in percentage points, in the trial's LAs.
    new_la_difference : DifferenceSummary
        The same in an LA that was not in the trial.
    control_absence_pct : float
        Posterior median of the control-arm absence rate, in percent. ``averted_per_1000`` and
        ``control_rate_per_1000`` count sessions missed per 1000 pupils per year.

    Notes
    -----
    The headline is ``difference``, in percentage points (:attr:`headline`): a ratio of
    absence rates near 1 says little at two decimals. The inherited ratio summaries
    (``effect``, ``new_la``) and their JSON keys are kept; the JSON says which is the headline.
    """

    mcid_pp: float
    difference: DifferenceSummary
    new_la_difference: DifferenceSummary
    control_absence_pct: float

    unit: ClassVar[str] = "sessions missed"
    ratio_label: ClassVar[str] = "ratio of absence rates"
    headline: ClassVar[str] = "diff_pp"
    """The JSON key prefix of the headline: ``diff_pp_median``, ``diff_pp_ci95`` and the
    ``*_pp`` probabilities, in percentage points of sessions missed."""

    def to_dict(self) -> dict:
        """The count keys, plus ``headline`` (``"diff_pp"``), ``mcid_pp``, the difference keys
        (:func:`difference_keys`, also under ``new_la``) and ``control_absence_pct``."""
        keys = super().to_dict()
        keys["new_la"] |= difference_keys(self.new_la_difference)
        return {**keys, "headline": self.headline, "mcid_pp": self.mcid_pp,
                **difference_keys(self.difference),
                "control_absence_pct": self.control_absence_pct}

    @property
    def text(self) -> str:
        """The difference in percentage points and its probabilities, then the ratio."""
        d, e = self.difference, self.effect
        places = difference_decimals(d, self.new_la_difference)
        return (f"Under the '{self.prior}' prior, absence in SWIS schools is estimated to "
                f"change by {signed(d.median, places)} percentage points ({d.ci_prob:.0%} "
                f"interval {signed(d.ci[0], places)} to {signed(d.ci[1], places)}) from "
                f"{self.control_absence_pct:.2f}% of sessions missed without SWIS. The "
                f"probability of a fall of at least {self.mcid_pp:g} points is "
                f"{d.prob_meaningful_reduction:.0%}; of any fall {d.prob_any_reduction:.0%}; of "
                f"a rise {d.prob_harm:.0%}. As a {self.ratio_label}: {e.median:.4f} "
                f"({e.ci[0]:.4f} to {e.ci[1]:.4f}).")


    def table_cells(self) -> tuple[str, str, tuple[float, float, float]]:
        """The row in percentage points: MCID, difference and probabilities on that scale."""
        diff, new = self.difference, self.new_la_difference
        places = difference_decimals(diff, new)
        effect = (f"{signed(diff.median, places)} pp ({signed(diff.ci[0], places)} to "
                  f"{signed(diff.ci[1], places)})")
        return (f"{self.mcid_pp:g} pp", effect,
                (diff.prob_meaningful_reduction, new.prob_meaningful_reduction, diff.prob_harm))

    def table_notes(self) -> list[str]:
        """What the difference, its probabilities and the averted column are."""
        e = self.effect
        return [f"effect = absence with SWIS minus without, percentage points (pp) of sessions, "
                f"from {self.control_absence_pct:.2f}% in control schools; P(cut) = P(fall >= "
                f"{self.mcid_pp:g} pp), P(harm) = P(rise); any fall "
                f"{self.difference.prob_any_reduction:.1%}; as a {self.ratio_label} "
                f"{e.median:.4f} ({e.ci[0]:.4f}-{e.ci[1]:.4f}); averted = sessions missed"]

    def labelled_ratios(self) -> list[tuple[str, RatioSummary]]:
        """The ratio of absence rates, in the trial's LAs and a new one."""
        return [("absence RR, trial schools", self.effect),
                ("absence RR, a new LA", self.new_la)]

    def difference_lines(self) -> list[str]:
        """The difference in absence, in percentage points, in the trial's LAs and a new one."""
        return ["", f"absence in the control arm {self.control_absence_pct:.2f}%; difference "
                    f"SWIS - control, percentage points (P(fall >= {self.mcid_pp:g} points)):"] + [
            f"{label:22}{d.median:+8.3f}  {d.ci[0]:+7.3f} to {d.ci[1]:<+7.3f}  "
            f"{d.prob_meaningful_reduction:8.1%}"
            for label, d in (("trial LAs", self.difference),
                             ("a new LA", self.new_la_difference))]

def ratio_keys(s: RatioSummary) -> dict:
    """The JSON keys shared by every ratio result (fit, new LA, re-analysis).

    Parameters
    ----------
    s : RatioSummary

    Returns
    -------
    dict
        ``irr_median``, ``irr_ci95`` (at ``ci_prob``), ``ci_prob``, ``prob_any_reduction``,
        ``prob_meaningful_reduction``, ``prob_harm`` and ``prob_rope``.
    """
    keys = {"irr_median": s.median, "irr_ci95": list(s.ci), "ci_prob": s.ci_prob,
            "prob_any_reduction": s.prob_any_reduction,
            "prob_meaningful_reduction": s.prob_meaningful_reduction,
            "prob_harm": s.prob_harm, "prob_rope": s.prob_rope}
    return keys | mcse_keys(s.mcse, {"irr_median": "median", "irr_ci95": "ci"})


def _chains(posterior: xr.Dataset) -> int:
    """The number of chains of a posterior (1 for draws without a chain dimension)."""
    return int(posterior.sizes.get("chain", 1))


def _flat(posterior: xr.Dataset, name: str) -> np.ndarray:
    # Chains, then draws: the order the weights are given in.
    da = posterior[name].transpose("chain", "draw", ..., missing_dims="ignore")
    return da.to_numpy().reshape(-1)


def population_ratio(posterior: xr.Dataset) -> np.ndarray:
    """Draws of the trial-population effect (:data:`ESTIMANDS`): expected events over the
    trial's schools with SWIS over those without.

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``rate_control_per_1000`` and ``rate_swis_per_1000`` (every outcome family's
        model has them).

    Returns
    -------
    numpy.ndarray
        One ratio per draw, chains then draws.
    """
    return _flat(posterior, "rate_swis_per_1000") / _flat(posterior, "rate_control_per_1000")


def averted_per_1000(posterior: xr.Dataset, followup_years: float) -> np.ndarray:
    """Draws of events averted per 1000 pupils per year (positive = fewer with SWIS).

    The control rate times (1 - the trial-population ratio), draw by draw: the events averted
    are on the effect the decision reads.

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``rate_control_per_1000`` and ``rate_swis_per_1000``: events per 1000 pupils over
        the follow-up, with every trial school in each arm.
    followup_years : float
        Length of the follow-up.

    Returns
    -------
    numpy.ndarray
        One value per draw, chains then draws.
    """
    control = _flat(posterior, "rate_control_per_1000") / followup_years
    return control * (1.0 - population_ratio(posterior))


def decide(posterior: xr.Dataset, *, outcome: str, prior: str, mcid: float,
           followup_years: float, ci_prob: float | None = None,
           weights: np.ndarray | None = None,
           typical_la: str | None = "irr") -> DecisionSummary:
    """Compute the decision quantities from a fitted posterior.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior with ``irr_new_la``, ``rate_control_per_1000`` and ``rate_swis_per_1000``
        (as built by :func:`swisbayes.families.registry.build_model`).
    outcome, prior : str
        Labels carried into the summary.
    mcid : float
        Minimal important reduction (fraction).
    followup_years : float
        Follow-up length, to express rates per year.
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw, chains then draws (importance weights of reweighted draws);
        equal weights when None.
    typical_la : str or None, default "irr"
        The posterior's ratio in a typical trial LA (``exp`` of the log IRR of a count
        model); None when the model has no single one.

    Returns
    -------
    DecisionSummary

    Raises
    ------
    KeyError
        If the posterior lacks one of the variables.
    SpecError
        If the weights are not one per draw (see :func:`normalised_weights`), or ``mcid`` is
        not strictly between 0 and 1.
    """
    prob = validate_ci_prob(ci_prob)

    def ratio(draws: np.ndarray) -> RatioSummary:
        return summarise_ratio(draws, mcid=mcid, ci_prob=prob, weights=weights,
                               chains=_chains(posterior))

    control = _flat(posterior, "rate_control_per_1000") / followup_years
    averted = averted_per_1000(posterior, followup_years)
    return DecisionSummary(
        outcome=outcome,
        prior=prior,
        mcid=mcid,
        effect=ratio(population_ratio(posterior)),
        new_la=ratio(_flat(posterior, "irr_new_la")),
        averted_per_1000=weighted_median(averted, weights),
        averted_per_1000_ci=equal_tailed_interval(averted, prob, weights),
        control_rate_per_1000=weighted_median(control, weights),
        typical_la=None if typical_la is None else ratio(_flat(posterior, typical_la)),
    )


def decide_hurdle(posterior: xr.Dataset, *, outcome: str, prior: str, mcid: float,
                  followup_years: float, ci_prob: float | None = None,
                  weights: np.ndarray | None = None) -> HurdleDecision:
    """Decision quantities of the days-in-care hurdle: :func:`decide` plus each part's effect.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior of :func:`swisbayes.families.hurdle.build_hurdle_model`: the variables
        :func:`decide`
        reads (expected days) plus ``zero_irr`` and ``positive_irr``.
    outcome, prior, mcid, followup_years, ci_prob, weights
        As for :func:`decide`.

    Returns
    -------
    HurdleDecision

    Raises
    ------
    KeyError
        If the posterior lacks one of the variables.
    SpecError
        If the weights are not one per draw (see :func:`normalised_weights`), or ``mcid`` is
        not strictly between 0 and 1.
    """
    prob = validate_ci_prob(ci_prob)
    base = decide(posterior, outcome=outcome, prior=prior, mcid=mcid,
                  followup_years=followup_years, ci_prob=prob, weights=weights,
                  typical_la=None)
    parts = {part: summarise_ratio(_flat(posterior, f"{part}_irr"), mcid=mcid, ci_prob=prob,
                                   weights=weights, chains=_chains(posterior))
             for part in ("zero", "positive")}
    return HurdleDecision(**_fields_of(base), parts=parts)


def decide_attendance(posterior: xr.Dataset, *, outcome: str, prior: str, mcid: float,
                      mcid_pp: float, followup_years: float, ci_prob: float | None = None,
                      weights: np.ndarray | None = None) -> AttendanceDecision:
    """Decision quantities of attendance: :func:`decide` plus the difference in points.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior of :func:`swisbayes.families.attendance.build_attendance_model`: the variables
        :func:`decide` reads (sessions missed) plus ``diff_pp``, ``diff_pp_new_la`` and
        ``absence_rate_control``.
    mcid_pp : float
        Meaningful fall in absence, in percentage points.
    outcome, prior, mcid, followup_years, ci_prob, weights
        As for :func:`decide` (``mcid`` applies to the ratio of absence rates).

    Returns
    -------
    AttendanceDecision

    Raises
    ------
    KeyError
        If the posterior lacks one of the variables.
    SpecError
        If the weights are not one per draw (see :func:`normalised_weights`), or ``mcid`` is
        not strictly between 0 and 1.
    """
    prob = validate_ci_prob(ci_prob)
    base = decide(posterior, outcome=outcome, prior=prior, mcid=mcid,
                  followup_years=followup_years, ci_prob=prob, weights=weights,
                  typical_la=None)
    return AttendanceDecision(
        **_fields_of(base), mcid_pp=mcid_pp,
        difference=summarise_difference(_flat(posterior, "diff_pp"), mcid=mcid_pp,
                                        ci_prob=prob, weights=weights,
                                        chains=_chains(posterior)),
        new_la_difference=summarise_difference(_flat(posterior, "diff_pp_new_la"),
                                               mcid=mcid_pp, ci_prob=prob, weights=weights,
                                               chains=_chains(posterior)),
        control_absence_pct=100.0 * weighted_median(_flat(posterior, "absence_rate_control"),
                                                    weights))


def _fields_of(summary: DecisionSummary) -> dict:
    return {f.name: getattr(summary, f.name) for f in fields(DecisionSummary)}


__all__ = [
    "ESTIMANDS",
    "AttendanceDecision",
    "DecisionSummary",
    "DifferenceSummary",
    "HurdleDecision",
    "RatioSummary",
    "averted_per_1000",
    "decide",
    "decide_attendance",
    "decide_hurdle",
    "difference_decimals",
    "difference_keys",
    "population_ratio",
    "ratio_keys",
    "signed",
    "summarise_difference",
    "summarise_ratio"
]
