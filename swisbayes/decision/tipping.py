"""Tipping points: the prior, within a family, at which the decision rule's verdict would flip.

The families (:mod:`swisbayes.decision.prior_families`) and the search (:func:`tipping_point`,
:func:`tipping_points`) work on a normal likelihood of the log IRR: :func:`likelihood_from_draws`
of a fit, or :func:`published_likelihood` of a published estimate. :func:`tipping_curve` is what
a tipping-point plot draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy import optimize

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.errors import SpecError
from swisbayes._base.text import capitalise, format_probability, format_threshold
from swisbayes.data.published import published_estimate
from swisbayes.decision.draws import normalised_weights
from swisbayes.decision.prior_families import PriorFamily
from swisbayes.decision.rule import (
    VERDICT_RANK,
    VERDICTS,
    DecisionRule,
    Verdict,
    check_likelihood,
    check_mcid,
    prob_meaningful,
)
from swisbayes.priors.conjugate import normal_likelihood, normal_likelihood_from_ci
from swisbayes.priors.library import (
    VAGUE_SD,
    MixturePrior,
)


def probability_curve(likelihood: tuple[float, float], family: PriorFamily,
                      values: Sequence[float] | np.ndarray, *, mcid: float) -> np.ndarray:
    """P(meaningful reduction) under each prior of a family, for a tipping-point plot.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    values : array-like
        Parameter values.
    mcid : float
        Meaningful reduction (fraction).

    Returns
    -------
    numpy.ndarray
        One probability per value, each from the exact posterior (:func:`prob_meaningful`).

    Raises
    ------
    SpecError
        If a value is outside the family, or the likelihood or ``mcid`` is invalid.
    """
    lik = check_likelihood(likelihood)
    mcid = check_mcid(mcid)
    return np.array([prob_meaningful(family.prior_at(float(v)), lik, mcid=mcid)
                     for v in np.asarray(values, dtype=float).ravel()])


@dataclass(frozen=True)
class TippingPoint:
    """Where along a family of priors P(meaningful reduction) reaches a decision threshold.

    Parameters
    ----------
    family : PriorFamily
    target : float
        The threshold (one of the rule's).
    mcid : float
    bounds : tuple of float
        The parameter range searched.
    found : bool
        False when P(meaningful reduction) does not reach ``target`` within ``bounds``.
    value : float or None
        The parameter at which P(meaningful reduction) equals ``target``.
    prior : MixturePrior or None
        The family's prior at ``value``.
    prob_meaningful : float or None
        P(meaningful reduction) under ``prior`` (equal to ``target`` up to root-finding error).
    prob_range : tuple of float
        Smallest and largest P(meaningful reduction) over the scanned range.
    increasing : bool or None
        Whether P(meaningful reduction) rises with the parameter at ``value``.
    change : tuple of str or None
        ``(from, to)`` verdicts that the threshold separates, when known.
    outcome_label : str
        The outcome as it reads in a sentence.
    intervention : str, default "SWIS"
        What is decided on, as the sentence names it.
    """

    family: PriorFamily
    target: float
    mcid: float
    bounds: tuple[float, float]
    found: bool
    value: float | None
    prior: MixturePrior | None
    prob_meaningful: float | None
    prob_range: tuple[float, float]
    increasing: bool | None
    change: tuple[str, str] | None = None
    outcome_label: str = "events"
    intervention: str = DEFAULT_INTERVENTION

    @property
    def text(self) -> str:
        """One plain-English sentence: what one would have to believe for the verdict to flip."""
        what = (f"the probability that {self.intervention} cuts {self.outcome_label} by at least "
                f"{format_threshold(self.mcid)}")
        lo, hi = self.prob_range
        if not self.found:
            span = (f"from {self.family.format_value(self.bounds[0])} to "
                    f"{self.family.format_value(self.bounds[1])}")
            head = ("changes the verdict" if self.change is not None
                    else f"brings it to {format_threshold(self.target)}")
            return (f"No prior of this family ({self.family.parameter}; {span}) {head}: "
                    f"{what} stays between {format_probability(lo)} and {format_probability(hi)}.")
        if self.change is None:
            return (f"{capitalise(what)} reaches {format_threshold(self.target)} with "
                    f"{self.family.prior_phrase(self.value)}.")
        rising = VERDICT_RANK[self.change[1]] > VERDICT_RANK[self.change[0]]
        condition = self.family.condition(self.value, above=rising == self.increasing,
                                          outcome_label=self.outcome_label,
                                          intervention=self.intervention)
        return (f"The verdict would change from '{self.change[0]}' to '{self.change[1]}' only "
                f"if {condition}.")

    def to_dict(self) -> dict:
        """JSON-ready: family, threshold, root, probabilities and text."""
        return {"family": self.family.kind, "parameter": self.family.parameter,
                "target": self.target, "mcid": self.mcid, "bounds": list(self.bounds),
                "found": self.found, "value": self.value,
                "prior": None if self.prior is None else self.prior.to_dict(),
                "prob_meaningful": self.prob_meaningful, "prob_range": list(self.prob_range),
                "change": None if self.change is None else list(self.change),
                "text": self.text}


def _midpoint(family: PriorFamily, a: float, b: float) -> float:
    return math.sqrt(a * b) if family.log_scale else (a + b) / 2


def _distance(family: PriorFamily, a: float, b: float) -> float:
    """Distance on the family's natural scale (log for centres and SDs)."""
    return abs(math.log(a / b)) if family.log_scale else abs(a - b)


def _crossings(diff: np.ndarray) -> list[int]:
    """Indices ``k`` with a root of ``diff`` in ``[x_k, x_k+1]``."""
    last = len(diff) - 2
    return [k for k in range(len(diff) - 1)
            if diff[k] == 0 or diff[k] * diff[k + 1] < 0 or (k == last and diff[k + 1] == 0)]


def tipping_point(likelihood: tuple[float, float], family: PriorFamily, *, target: float,
                  mcid: float, bounds: tuple[float, float] | None = None,
                  change: tuple[str, str] | None = None,
                  outcome_label: str = "events",
                  intervention: str = DEFAULT_INTERVENTION) -> TippingPoint:
    """The prior of a family at which P(meaningful reduction) equals a threshold.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    target : float
        Threshold in (0, 1), e.g. the rule's ``stop`` or ``invest``.
    mcid : float
        Meaningful reduction (fraction).
    bounds : tuple of float, optional
        Parameter range to search; the family's :attr:`~PriorFamily.limits` when None.
    change : tuple of str, optional
        ``(from, to)`` verdicts, for the text.
    outcome_label : str, default "events"
        The outcome as it reads in a sentence, e.g. ``"S47 enquiries"``.
    intervention : str, default "SWIS"
        What is decided on, as the sentence names it.

    Returns
    -------
    TippingPoint
        ``found=False``, with the range of P(meaningful reduction) reached, when it does not
        cross ``target`` within the range.

    Raises
    ------
    SpecError
        If the likelihood, ``target``, ``mcid``, ``bounds`` or ``change`` is invalid.

    Notes
    -----
    P(meaningful reduction) is computed at :data:`SCAN_POINTS` values spanning the range
    (geometrically for centres and SDs), and the root is refined by Brent's method
    (``scipy.optimize.brentq``, ``xtol=1e-12``) in an interval where it changes sign. When it
    crosses ``target`` more than once, the crossing nearest the family's
    :attr:`~PriorFamily.reference` is returned: the smallest departure from the data alone (or
    from no effect) that flips the verdict. A pair of crossings closer together than the grid
    spacing can be missed; for the centre and weight families P(meaningful reduction) is
    monotone, so there is one crossing at most.

    Examples
    --------
    >>> from swisbayes.decision.prior_families import NormalCentreFamily
    >>> from swisbayes.priors.conjugate import normal_likelihood_from_ci
    >>> lik = normal_likelihood_from_ci(1.055, 0.955, 1.166)
    >>> tp = tipping_point(lik, NormalCentreFamily(), target=0.10, mcid=0.10)
    >>> round(tp.value, 3), round(tp.prob_meaningful, 6)
    (0.652, 0.1)
    """
    lik = check_likelihood(likelihood)
    mcid = check_mcid(mcid)
    if isinstance(target, bool) or not isinstance(target, Real) or not 0 < target < 1:
        raise SpecError(f"target must be a probability strictly between 0 and 1; got "
                        f"{target!r}")
    if change is not None and (len(change) != 2 or any(v not in VERDICTS for v in change)):
        raise SpecError(f"change must be a pair of verdicts from {VERDICTS}; got {change!r}")
    lo, hi = family.check_bounds(bounds)
    xs = family.grid((lo, hi))
    probs = probability_curve(lik, family, xs, mcid=mcid)
    common = {"family": family, "target": float(target), "mcid": mcid, "bounds": (lo, hi),
              "prob_range": (float(probs.min()), float(probs.max())),
              "change": None if change is None else tuple(change),
              "outcome_label": outcome_label, "intervention": intervention}
    ks = _crossings(probs - target)
    if not ks:
        return TippingPoint(found=False, value=None, prior=None, prob_meaningful=None,
                            increasing=None, **common)
    k = min(ks, key=lambda i: _distance(family, _midpoint(family, xs[i], xs[i + 1]),
                                        family.reference))
    root = float(optimize.brentq(
        lambda v: prob_meaningful(family.prior_at(v), lik, mcid=mcid) - target,
        xs[k], xs[k + 1], xtol=1e-12))
    prior = family.prior_at(root)
    return TippingPoint(found=True, value=root, prior=prior,
                        prob_meaningful=prob_meaningful(prior, lik, mcid=mcid),
                        increasing=bool(probs[k + 1] >= probs[k]), **common)


def _flips(rule: DecisionRule, current: str | Verdict) -> list[tuple[str, str, float]]:
    """(from, to, threshold) for each verdict change reachable from ``current``."""
    verdict = current.verdict if isinstance(current, Verdict) else current
    if verdict not in VERDICTS:
        raise SpecError(f"unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}")
    if verdict == "stop":
        return [("stop", "more evidence", rule.stop)]
    if verdict == "invest":
        return [("invest", "more evidence", rule.invest)]
    if isinstance(current, Verdict) and current.effective_not_value_for_money:
        # Effective but not value for money: no prior on the effect alone reaches "invest"
        # through P(meaningful), which already passes its threshold.
        return [("more evidence", "stop", rule.stop)]
    return [("more evidence", "invest", rule.invest), ("more evidence", "stop", rule.stop)]


def tipping_points(likelihood: tuple[float, float], rule: DecisionRule | None,
                   current_verdict: str | Verdict, families: Sequence[PriorFamily], *,
                   mcid: float, outcome_label: str | None = None) -> list[TippingPoint]:
    """The tipping points relevant to a current verdict, for each family.

    "stop" can become "more evidence" (P(meaningful) rising to ``rule.stop``); "invest" can
    become "more evidence" (falling below ``rule.invest``); "more evidence" can become
    "invest" (rising to ``rule.invest``) or "stop" (falling below ``rule.stop``). When the
    current verdict is "more evidence" because SWIS is effective but not value for money, only
    the flip to "stop" is a matter of P(meaningful).

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    rule : DecisionRule or None
        The rule; the default :class:`DecisionRule` when None.
    current_verdict : str or Verdict
        The verdict to depart from.
    families : sequence of PriorFamily
    mcid : float
        Meaningful reduction (fraction).
    outcome_label : str, optional
        The outcome as it reads in a sentence; the verdict's, or ``"events"``.

    Returns
    -------
    list of TippingPoint
        Family by family, each family's flips in the order above.

    Raises
    ------
    SpecError
        For an unknown verdict, or a :class:`Verdict` reached with another rule or MCID.

    Notes
    -----
    A tipping point is a necessary condition for the change: the flip to "invest" also needs
    P(NMB > 0) to reach ``rule.invest_nmb``, which depends on the economics.
    """
    rule = DecisionRule() if rule is None else rule
    mcid = check_mcid(mcid)
    if isinstance(current_verdict, Verdict):
        if current_verdict.rule != rule or current_verdict.mcid != mcid:
            raise SpecError(f"the verdict was reached with {current_verdict.rule} and MCID "
                            f"{current_verdict.mcid}; got {rule} and MCID {mcid}")
        outcome_label = outcome_label or current_verdict.outcome_label
    label = outcome_label or "events"
    who = current_verdict.intervention if isinstance(current_verdict, Verdict) else "SWIS"
    flips = _flips(rule, current_verdict)
    return [tipping_point(likelihood, family, target=t, mcid=mcid, change=(a, b),
                          outcome_label=label, intervention=who)
            for family in families for a, b, t in flips]


def likelihood_from_draws(log_irr_draws: np.ndarray | Sequence[float],
                          weights: np.ndarray | None = None, *,
                          prior_sd: float | None = VAGUE_SD) -> tuple[float, float]:
    r"""A normal likelihood on the log IRR from posterior draws fitted under a vague prior.

    Parameters
    ----------
    log_irr_draws : array-like
        Posterior draws of the log IRR (any shape, flattened), fitted under a
        Normal(0, ``prior_sd``) prior on the log IRR.
    weights : numpy.ndarray, optional
        Importance weights, one per draw (non-negative, any positive sum); equal when None.
    prior_sd : float or None, default VAGUE_SD (10)
        SD of the normal prior, centred on no effect, the draws were fitted under; its
        information is removed. None takes the posterior's moments as they are.

    Returns
    -------
    tuple of float
        ``(log estimate, SE)``: with :math:`m, v` the (weighted) mean and variance of the draws
        and :math:`s_0` = ``prior_sd``, :math:`SE^2 = (1/v - 1/s_0^2)^{-1}` and
        estimate :math:`= m \, v^{-1} SE^2`.

    Raises
    ------
    SpecError
        If there are fewer than two draws, a draw is not finite, the weights are invalid, the
        draws do not vary, or they are at least as wide as the prior.

    Notes
    -----
    The fitted posterior of the log IRR is approximated by a normal with its mean and variance
    (the weighted moments; the variance divides by the total weight, so equal weights give the
    unweighted result exactly). A normal posterior under a normal prior is the product of that
    prior and a normal likelihood, so dividing out the prior's precision :math:`1/s_0^2` gives
    the likelihood exactly. Under the vague prior (:math:`s_0 = 10`) this changes the SE by a
    relative :math:`SE^2 / (2 s_0^2)`, under 1e-4 for any SE below 0.14: the posterior is the
    likelihood, for practical purposes. The approximation is only as good as the normality of
    the posterior of the log IRR, which a trial of 268 schools makes close; and it treats the
    other parameters (LA effects, dispersion) as if a different effect prior would not change
    what they say about the effect.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y, se = likelihood_from_draws(rng.normal(-0.1, 0.05, 100_000))
    >>> round(y, 2), round(se, 3)
    (-0.1, 0.05)
    """
    x = np.asarray(log_irr_draws, dtype=float).ravel()
    if x.size < 2:
        raise SpecError(f"likelihood_from_draws: {x.size} draw(s); at least 2 are needed")
    if not np.isfinite(x).all():
        raise SpecError(f"likelihood_from_draws: {int((~np.isfinite(x)).sum())} draw(s) are "
                        "not finite numbers")
    w = normalised_weights(weights, x.size)
    w = np.full(x.size, 1.0 / x.size) if w is None else w
    mean = float(np.dot(w, x))
    var = float(np.dot(w, (x - mean) ** 2))
    if var <= 0:
        raise SpecError("likelihood_from_draws: the draws do not vary; a likelihood needs a "
                        "positive variance")
    if prior_sd is None:
        return normal_likelihood(mean, math.sqrt(var))
    if not (isinstance(prior_sd, Real) and math.isfinite(prior_sd) and prior_sd > 0):
        raise SpecError(f"prior_sd must be a positive number or None; got {prior_sd!r}")
    precision = 1.0 / var - 1.0 / prior_sd**2
    if precision <= 0:
        raise SpecError(f"likelihood_from_draws: the draws (SD {math.sqrt(var):.4g}) are at "
                        f"least as wide as the prior (SD {prior_sd:g}); the data carry no "
                        "information to turn into a likelihood")
    return normal_likelihood(mean / var / precision, math.sqrt(1.0 / precision))


def published_likelihood(outcome: str) -> tuple[float, float]:
    """The normal likelihood on the log IRR of an outcome's published estimate.

    Parameters
    ----------
    outcome : str
        An outcome with a published estimate (:func:`swisbayes.data.published.published_estimate`).

    Returns
    -------
    tuple of float
        ``(log estimate, SE)`` from the published ratio and its confidence interval.

    Examples
    --------
    >>> y, se = published_likelihood("s47")
    >>> round(float(np.exp(y)), 3), round(se, 4)
    (1.055, 0.0509)
    """
    entry = published_estimate(outcome)
    return normal_likelihood_from_ci(entry.estimate, *entry.ci, level=entry.ci_level)


@dataclass(frozen=True)
class TippingCurve:
    """P(meaningful reduction) along a family of priors, with what a tipping-point plot marks.

    Parameters
    ----------
    family : PriorFamily
    values : numpy.ndarray
        Parameter values spanning the range (:meth:`PriorFamily.grid`).
    prob_meaningful : numpy.ndarray
        P(meaningful reduction) under the family's prior at each value.
    points : tuple of TippingPoint
        The tipping points of this family found within the range.
    landmarks : dict of str to (float, float)
        Named priors that belong to the family and sit within the range: their parameter value
        and P(meaningful reduction).
    """

    family: PriorFamily
    values: np.ndarray
    prob_meaningful: np.ndarray
    points: tuple[TippingPoint, ...]
    landmarks: dict[str, tuple[float, float]]


def tipping_curve(likelihood: tuple[float, float], family: PriorFamily, *, mcid: float,
                  bounds: tuple[float, float] | None = None,
                  tipping: Iterable[TippingPoint] = (),
                  priors: Iterable[MixturePrior] = ()) -> TippingCurve:
    """The curve of a tipping-point plot: P(meaningful reduction) along a family of priors.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    mcid : float
        Meaningful reduction (fraction).
    bounds : tuple of float, optional
        Parameter range; the family's :attr:`~PriorFamily.limits` when None.
    tipping : iterable of TippingPoint, default ()
        Tipping points (e.g. from :func:`tipping_points`); those of this family found within
        the range are kept.
    priors : iterable of MixturePrior, default ()
        Named priors to place on the curve (:meth:`PriorFamily.landmarks`).

    Returns
    -------
    TippingCurve

    Raises
    ------
    SpecError
        If the likelihood, ``mcid`` or ``bounds`` is invalid.

    Examples
    --------
    >>> from swisbayes.decision.prior_families import NormalCentreFamily
    >>> from swisbayes.priors.library import sceptical
    >>> lik = published_likelihood("s47")
    >>> curve = tipping_curve(lik, NormalCentreFamily(), mcid=0.1, bounds=(0.3, 1.5),
    ...                       priors=[sceptical()])
    >>> len(curve.values), list(curve.landmarks)
    (101, ['sceptical'])
    """
    lo, hi = family.check_bounds(bounds)
    values = family.grid((lo, hi))
    curve = probability_curve(likelihood, family, values, mcid=mcid)
    points = tuple(tp for tp in tipping
                   if tp.found and tp.family == family and lo <= tp.value <= hi)
    landmarks = {name: (v, prob_meaningful(family.prior_at(v), likelihood, mcid=mcid))
                 for name, v in family.landmarks(priors).items() if lo <= v <= hi}
    return TippingCurve(family, values, curve, points, landmarks)


__all__ = [
    "TippingCurve", "TippingPoint", "likelihood_from_draws", "probability_curve",
    "published_likelihood", "tipping_curve", "tipping_point", "tipping_points"
]
