"""What prior would change the verdict, by the whole decision rule, and what no prior can reach.

A tipping point of :mod:`swisbayes.decision.tipping` is where P(meaningful reduction) crosses one
of the rule's thresholds; the verdict also reads P(net benefit > 0) and whether a further trial
is worth its cost (:class:`~swisbayes.decision.rule.DecisionRule`). Here every member of a
family of priors is given the verdict of the whole rule (:func:`verdict_along`), so a sentence
"the verdict would change to X only if ..." is written only when some prior of the family gives
X, and the condition it states holds for every prior of the family that gives X
(:func:`verdict_changes`). When no prior of the family gives X, the sentence says which
condition of the rule none of them meets.

The rule's other inputs are functions of the summary-level posterior (:class:`RuleTerms`), so
this module needs no economics of its own: the workflow builds them from the economic inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.text import format_probability, format_threshold
from swisbayes.decision.prior_families import PriorFamily
from swisbayes.decision.rule import VERDICTS, DecisionRule, check_likelihood, check_mcid
from swisbayes.priors.conjugate import posterior
from swisbayes.priors.library import MixturePrior

REFINE_STEPS = 40
"""Bisection steps that place a verdict's boundary between two scanned priors."""


@dataclass(frozen=True)
class RuleTerms:
    """What the rule reads beyond P(meaningful reduction), as functions of a posterior of the
    log effect.

    Parameters
    ----------
    prob_nmb_positive : callable, optional
        ``f(posterior) -> P(net benefit > 0)``; None when value for money is not assessed.
    trial_net_gain : callable, optional
        ``f(posterior) ->`` the expected net gain of the best further trial considered (its
        value to the decision less its cost): more evidence is worth gathering when it is
        positive. None when the value of information is not assessed.
    cannot_pay : str, optional
        A sentence saying why investing cannot pay whatever the effect, when that is so.
    """

    prob_nmb_positive: Callable[[MixturePrior], float] | None = None
    trial_net_gain: Callable[[MixturePrior], float] | None = None
    cannot_pay: str | None = None


@dataclass(frozen=True)
class RuleInputs:
    """The rule's inputs under one prior: P(meaningful), P(NMB > 0), the best further trial's
    expected net gain (None where the verdict does not need it) and the verdict."""

    prob_meaningful: float
    prob_nmb_positive: float | None
    trial_net_gain: float | None
    verdict: str


def rule_inputs(rule: DecisionRule, post: MixturePrior, mcid: float,
                terms: RuleTerms, *, net_gain: bool = False) -> RuleInputs:
    """The rule applied to one posterior (the value of information only where it matters, or
    always with ``net_gain``).

    Parameters
    ----------
    rule : DecisionRule
    post : MixturePrior
        Posterior of the log effect.
    mcid : float
    terms : RuleTerms
    net_gain : bool, default False
        Compute the best trial's net gain even where the verdict does not need it.

    Returns
    -------
    RuleInputs
    """
    p = float(post.cdf(math.log1p(-mcid)))
    nmb = None if terms.prob_nmb_positive is None else float(terms.prob_nmb_positive(post))
    verdict = rule.verdict(p, nmb)
    gain = None
    if terms.trial_net_gain is not None and (net_gain or verdict == "more evidence"):
        gain = float(terms.trial_net_gain(post))  # costly: only where it can decide
        if verdict == "more evidence":
            verdict = rule.verdict(p, nmb, worth_more_evidence=gain > 0)
    return RuleInputs(p, nmb, gain, verdict)


def verdict_along(likelihood: tuple[float, float], rule: DecisionRule, family: PriorFamily,
                  values: np.ndarray, *, mcid: float, terms: RuleTerms,
                  net_gain: bool = False) -> list[RuleInputs]:
    """The whole rule under each prior ``family.prior_at(v)`` for ``v`` in ``values``.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood of the log effect.
    rule : DecisionRule
    family : PriorFamily
    values : numpy.ndarray
        Parameter values of the family.
    mcid : float
    terms : RuleTerms
    net_gain : bool, default False
        As for :func:`rule_inputs`.

    Returns
    -------
    list of RuleInputs
    """
    lik = check_likelihood(likelihood)
    return [rule_inputs(rule, posterior(family.prior_at(float(v)), *lik), mcid, terms,
                        net_gain=net_gain) for v in values]


@dataclass(frozen=True)
class VerdictChange:
    """Whether, and under which priors of a family, the verdict would become ``target``.

    Parameters
    ----------
    family : PriorFamily
    current, target : str
        The verdict departed from, and the one asked about.
    found : bool
        Some prior of the family (within ``bounds``) gives ``target``.
    value : float or None
        The boundary: every prior of the family giving ``target`` has its parameter at or
        beyond it (on the side ``above`` says).
    above : bool or None
        True: at or above ``value``; False: at or below.
    reason : str or None
        When not found: the condition of the rule no prior of the family meets.
    bounds : tuple of float
        The parameter range searched.
    mcid : float
    outcome_label : str
    intervention : str, default "SWIS"
        What is decided on, as the sentence names it.
    """

    family: PriorFamily
    current: str
    target: str
    found: bool
    value: float | None
    above: bool | None
    reason: str | None
    bounds: tuple[float, float]
    mcid: float
    outcome_label: str
    intervention: str = DEFAULT_INTERVENTION

    @property
    def text(self) -> str:
        """One plain-English sentence."""
        if self.found:
            condition = self.family.condition(self.value, above=self.above,
                                              outcome_label=self.outcome_label,
                                              intervention=self.intervention)
            return (f"The verdict would change from '{self.current}' to '{self.target}' only "
                    f"if {condition}.")
        span = (f"{self.family.format_value(self.bounds[0])} to "
                f"{self.family.format_value(self.bounds[1])}")
        return (f"No prior of this family ({self.family.parameter}, {span}) changes the verdict "
                f"to '{self.target}': {self.reason}.")

    def to_dict(self) -> dict:
        """JSON-ready: family, verdicts, boundary and text."""
        return {"family": self.family.kind, "parameter": self.family.parameter,
                "current": self.current, "target": self.target, "found": self.found,
                "value": self.value, "above": self.above, "bounds": list(self.bounds),
                "mcid": self.mcid, "text": self.text}


def verdict_changes(likelihood: tuple[float, float], rule: DecisionRule, current: str,
                    family: PriorFamily, *, mcid: float, terms: RuleTerms,
                    outcome_label: str = "events", intervention: str = DEFAULT_INTERVENTION,
                    bounds: tuple[float, float] | None = None) -> list[VerdictChange]:
    """For each verdict other than ``current``: the priors of the family that give it.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood of the log effect.
    rule : DecisionRule
    current : str
        The verdict departed from.
    family : PriorFamily
    mcid : float
    terms : RuleTerms
        The rule's other inputs.
    outcome_label : str, default "events"
    intervention : str, default "SWIS"
        What is decided on, as the sentences name it.
    bounds : tuple of float, optional
        The family's :attr:`~swisbayes.decision.prior_families.PriorFamily.limits` when None.

    Returns
    -------
    list of VerdictChange
        In the order of :data:`~swisbayes.decision.rule.VERDICTS`.

    Notes
    -----
    The family is scanned at its grid (:meth:`~PriorFamily.grid`). P(meaningful reduction)
    and P(NMB > 0) are monotone along the families, but the value of a further trial is not (it
    peaks where the decision is most uncertain), so the scan adds, where the verdict can read
    it, every extremum and every zero of the best trial's net gain between scanned priors
    (:func:`_scan`). A boundary is then refined by bisection (:data:`REFINE_STEPS`) between a
    scanned prior that gives ``target`` and its neighbour that does not. The stated side is the
    one every scanned prior giving ``target`` lies on, so the condition is necessary.
    """
    mcid = check_mcid(mcid)
    lo, hi = family.check_bounds(bounds)
    xs, along = _scan(likelihood, rule, family, family.grid((lo, hi)), mcid, terms)
    common = {"family": family, "current": current, "bounds": (lo, hi), "mcid": mcid,
              "outcome_label": outcome_label, "intervention": intervention}
    changes = []
    for target in VERDICTS:
        if target == current:
            continue
        hits = [k for k, r in enumerate(along) if r.verdict == target]
        if not hits:
            changes.append(VerdictChange(target=target, found=False, value=None, above=None,
                                         reason=_unreachable(rule, target, along, mcid, terms,
                                                             outcome_label, intervention),
                                         **common))
            continue
        above = hits[-1] == len(xs) - 1 or hits[0] != 0
        k = hits[0] if above else hits[-1]
        if (above and k == 0) or (not above and k == len(xs) - 1):
            value = float(xs[k])  # the whole range gives it from this end
        else:
            outside = xs[k - 1] if above else xs[k + 1]
            value = _boundary(likelihood, rule, family, float(outside), float(xs[k]), target,
                              mcid, terms)
        changes.append(VerdictChange(target=target, found=True, value=value, above=above,
                                     reason=None, **common))
    return changes


def _scan(likelihood: tuple[float, float], rule: DecisionRule, family: PriorFamily,
          grid: np.ndarray, mcid: float,
          terms: RuleTerms) -> tuple[np.ndarray, list[RuleInputs]]:
    """The rule along ``grid``, with the extrema and zeros of the trial's net gain added."""
    along = verdict_along(likelihood, rule, family, grid, mcid=mcid, terms=terms)
    needed = [k for k, r in enumerate(along) if r.trial_net_gain is not None]
    if not needed:
        return grid, along
    # where the net gain can decide the verdict, and one prior either side
    lo, hi = max(needed[0] - 1, 0), min(needed[-1] + 1, len(grid) - 1)
    span = verdict_along(likelihood, rule, family, grid[lo:hi + 1], mcid=mcid, terms=terms,
                         net_gain=True)
    gain = np.array([r.trial_net_gain for r in span])
    extra = _extrema_and_zeros(lambda v: verdict_along(
        likelihood, rule, family, np.array([v]), mcid=mcid, terms=terms,
        net_gain=True)[0].trial_net_gain, grid[lo:hi + 1], gain)
    if not extra:
        return grid, along
    xs = np.concatenate([grid, extra])
    order = np.argsort(xs, kind="stable")
    more = verdict_along(likelihood, rule, family, np.asarray(extra), mcid=mcid, terms=terms)
    return xs[order], [(along + more)[i] for i in order]


def _extrema_and_zeros(gain: Callable[[float], float], xs: np.ndarray,
                       values: np.ndarray) -> list[float]:
    """Parameters between ``xs`` where ``gain`` crosses zero, or has an extremum that could
    cross it unseen: a peak at or below zero, a trough above it."""
    extra = []
    for k in range(1, len(xs) - 1):
        a, b, c = values[k - 1:k + 2]
        peak = b <= 0 and b >= max(a, c) and b > min(a, c)
        trough = b > 0 and b <= min(a, c) and b < max(a, c)
        if peak or trough:
            sign = -1.0 if peak else 1.0
            best = optimize.minimize_scalar(lambda v, s=sign: s * gain(v),
                                            bounds=(xs[k - 1], xs[k + 1]), method="bounded",
                                            options={"xatol": 1e-10})
            extra.append(float(best.x))
    for k in range(len(xs) - 1):
        if values[k] * values[k + 1] < 0:
            extra.append(float(optimize.brentq(gain, xs[k], xs[k + 1], xtol=1e-12)))
    return extra


def _boundary(likelihood: tuple[float, float], rule: DecisionRule, family: PriorFamily,
              outside: float, inside: float, target: str, mcid: float,
              terms: RuleTerms) -> float:
    """The parameter between ``outside`` (not ``target``) and ``inside`` (``target``) where the
    verdict becomes ``target``; returns a value that gives ``target``."""
    for _ in range(REFINE_STEPS):
        mid = math.sqrt(outside * inside) if family.log_scale else (outside + inside) / 2
        (r,) = verdict_along(likelihood, rule, family, np.array([mid]), mcid=mcid, terms=terms)
        if r.verdict == target:
            inside = mid
        else:
            outside = mid
    return inside


def _at_most(p: float, threshold: float) -> str:
    """``at most 4.2%``, or ``less than 0.1%`` where the probability is that small."""
    text = format_probability(p, threshold)
    return text if text.startswith(("less than", "more than")) else f"at most {text}"


def _unreachable(rule: DecisionRule, target: str, along: list[RuleInputs], mcid: float,
                 terms: RuleTerms, outcome_label: str, intervention: str) -> str:
    """The condition of the rule that no scanned prior meets, in words."""
    p = np.array([r.prob_meaningful for r in along])
    what = (f"the probability that {intervention} cuts {outcome_label} by at least "
            f"{format_threshold(mcid)}")
    cannot_pay = "" if terms.cannot_pay is None else f" ({terms.cannot_pay})"
    if target == "invest":
        if p.max() < rule.invest:
            return (f"{what} stays below the {format_threshold(rule.invest)} needed to invest "
                    f"({_at_most(p.max(), rule.invest)})")
        nmb = np.array([r.prob_nmb_positive for r in along], dtype=float)
        if nmb.max() < rule.invest_nmb:
            return (f"the probability that the net monetary benefit is positive stays below the "
                    f"{format_threshold(rule.invest_nmb)} needed to invest "
                    f"({_at_most(nmb.max(), rule.invest_nmb)}){cannot_pay}")
        return (f"no prior of it makes both {what} at least {format_threshold(rule.invest)} and "
                f"the probability of a positive net benefit at least "
                f"{format_threshold(rule.invest_nmb)}")
    if target == "stop":
        return (f"under every prior of it {what} is at least {format_threshold(rule.stop)} and a "
                f"further trial is expected to be worth its cost, or {intervention} passes the "
                "rule to invest")
    if all(r.verdict == "invest" or r.prob_meaningful < rule.stop for r in along):
        return (f"{what} is below {format_threshold(rule.stop)} under every prior of it that "
                "does not pass the rule to invest")
    return (f"wherever {what} is at least {format_threshold(rule.stop)} and the rule to invest "
            "is not met, no further trial considered is expected to be worth its cost"
            f"{cannot_pay}")


__all__ = [
    "REFINE_STEPS", "RuleInputs", "RuleTerms", "VerdictChange", "rule_inputs", "verdict_along",
    "verdict_changes"
]
