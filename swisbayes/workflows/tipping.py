"""Tipping points of an outcome's fits: what one would have to believe for the verdict to flip.

The kernels are in :mod:`swisbayes.decision.tipping` and work on a normal likelihood of the log
IRR. This module reads that likelihood off an outcome's fits
(:class:`~swisbayes.workflows.multiprior.OutcomeAnalysis`) and chooses the families searched:

- :func:`data_alone` is the fit under the vague prior, and :func:`fitted_likelihood` the normal
  likelihood it implies;
- :func:`tipping_families` are normal priors as certain as the outcome's sceptical prior,
  indexed by their centre (:func:`centre_family`), and the weight on the pilots when the
  pilot-informed prior exists;
- :func:`verdict_tipping` finds the tipping points of a verdict on these data and on the
  published estimate; :func:`outcome_tipping_curve` and :func:`plot_tipping_curve` draw one
  family's curve with the report's priors on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

from swisbayes._base.errors import SpecError
from swisbayes.decision.prior_families import NormalCentreFamily, PriorFamily, RobustWeightFamily
from swisbayes.decision.rule import DecisionRule, Verdict
from swisbayes.decision.summaries import population_ratio
from swisbayes.decision.tipping import (
    TippingCurve,
    TippingPoint,
    likelihood_from_draws,
    published_likelihood,
    tipping_curve,
    tipping_points,
)
from swisbayes.decision.verdict_changes import (
    RuleTerms,
    VerdictChange,
    rule_inputs,
    verdict_changes,
)
from swisbayes.inference.fitting import PriorAnalysis
from swisbayes.plots.decision import plot_tipping
from swisbayes.priors.conjugate import posterior
from swisbayes.priors.library import PILOT_PRIOR
from swisbayes.workflows.multiprior import OutcomeAnalysis


def data_alone(outcome: OutcomeAnalysis) -> PriorAnalysis:
    """The outcome under the vague prior: the fit that stands for what the data say.

    Parameters
    ----------
    outcome : OutcomeAnalysis

    Returns
    -------
    PriorAnalysis

    Raises
    ------
    SpecError
        If the outcome was not analysed under the vague prior.
    """
    if "vague" not in outcome.results:
        raise SpecError(f"{outcome.spec.name}: the report needs the 'vague' prior among its "
                        "priors (its fit gives the data's likelihood for the tipping points and "
                        f"the value of information); got {list(outcome.results)}")
    return outcome.results["vague"]


def fitted_likelihood(outcome: OutcomeAnalysis) -> tuple[float, float]:
    """The normal likelihood of the decision's effect implied by the outcome's vague-prior fit.

    The effect is the trial-population ratio the decision reads
    (:func:`~swisbayes.decision.summaries.population_ratio`); a prior of the library, placed on
    the typical LA's log IRR, is applied to it as it stands, which shifts it by the average
    LA's departure from the typical one (small when the effect varies little between LAs).

    Parameters
    ----------
    outcome : OutcomeAnalysis

    Returns
    -------
    tuple of float
        ``(log estimate, SE)``: :func:`~swisbayes.decision.tipping.likelihood_from_draws` of
        the log of the vague fit's (weighted) draws of that ratio.
    """
    base = data_alone(outcome)
    return likelihood_from_draws(np.log(population_ratio(base.posterior)), base.weights)


def centre_family(outcome: OutcomeAnalysis) -> NormalCentreFamily:
    """Normal priors as certain as the outcome's sceptical prior, indexed by their centre.

    Parameters
    ----------
    outcome : OutcomeAnalysis

    Returns
    -------
    NormalCentreFamily
        With the SD of the outcome's sceptical prior when it is a single normal, else the
        library's sceptical SD.
    """
    sceptical = outcome.results.get("sceptical")
    if sceptical is not None and len(sceptical.prior.sds) == 1:
        return NormalCentreFamily(sd=sceptical.prior.sds[0], sd_label="the sceptical prior")
    return NormalCentreFamily()


def tipping_families(outcome: OutcomeAnalysis) -> list[PriorFamily]:
    """The families searched for tipping points.

    Parameters
    ----------
    outcome : OutcomeAnalysis

    Returns
    -------
    list of PriorFamily
        :func:`centre_family`, then the weight on the pilots
        (:class:`~swisbayes.decision.prior_families.RobustWeightFamily`) when the
        pilot-informed prior exists for the outcome.
    """
    families: list[PriorFamily] = [centre_family(outcome)]
    pilot = outcome.results.get(PILOT_PRIOR)
    if pilot is not None and "robust_weight" in pilot.prior.details:
        families.append(RobustWeightFamily.from_robust(pilot.prior))
    return families


@dataclass(frozen=True)
class VerdictTipping:
    """The tipping points of a verdict, on the trial's fit and on the published estimate.

    Parameters
    ----------
    verdict : Verdict
        The verdict departed from on the fitted data (e.g. the vague prior's).
    likelihood : tuple of float
        The fitted likelihood (:func:`fitted_likelihood`).
    fitted : list of TippingPoint
        Tipping points of ``verdict`` on the fitted likelihood, family by family.
    published_verdict : str or None
        The vague prior's verdict on the published estimate (P(meaningful reduction) only);
        None when it was not asked for.
    published : list of TippingPoint
        Tipping points of ``published_verdict`` on the published estimate.
    changes : list of VerdictChange
        By the whole rule (:func:`~swisbayes.decision.verdict_changes.verdict_changes`): for
        each family and each other verdict, the priors that give it on the fitted likelihood,
        or the condition none of them meets.
    published_changes : list of VerdictChange
        The same on the published estimate, from ``published_verdict``.
    """

    verdict: Verdict
    likelihood: tuple[float, float]
    fitted: list[TippingPoint]
    published_verdict: str | None
    published: list[TippingPoint]
    changes: list[VerdictChange] = field(default_factory=list)
    published_changes: list[VerdictChange] = field(default_factory=list)


def verdict_tipping(outcome: OutcomeAnalysis, verdict: Verdict, rule: DecisionRule, *,
                    published: bool = True, terms: RuleTerms | None = None) -> VerdictTipping:
    """What one would have to believe for a verdict to change, for each of
    :func:`tipping_families`.

    Parameters
    ----------
    outcome : OutcomeAnalysis
        Analysed under the vague prior (and, for the families, the sceptical and
        pilot-informed priors).
    verdict : Verdict
        The verdict on these data to depart from (with its MCID and outcome label).
    rule : DecisionRule
    published : bool, default True
        Also search from the vague prior's verdict on the outcome's published estimate.
    terms : RuleTerms, optional
        The rule's economic inputs (:func:`~swisbayes.workflows.value_for_money.rule_terms`);
        without them the whole rule is P(meaningful reduction) alone.

    Returns
    -------
    VerdictTipping

    Raises
    ------
    SpecError
        If the outcome has no vague-prior fit, or (with ``published``) no published estimate.
    """
    terms = RuleTerms() if terms is None else terms
    families = tipping_families(outcome)
    likelihood = fitted_likelihood(outcome)
    mcid, label = verdict.mcid, verdict.outcome_label

    def changes(lik: tuple[float, float], current: str) -> list[VerdictChange]:
        return [c for family in families
                for c in verdict_changes(lik, rule, current, family, mcid=mcid, terms=terms,
                                         outcome_label=label,
                                         intervention=verdict.intervention)]

    fitted = tipping_points(likelihood, rule, verdict, families, mcid=mcid)
    if not published:
        return VerdictTipping(verdict, likelihood, fitted, None, [],
                              changes(likelihood, verdict.verdict))
    lik = published_likelihood(outcome.outcome)
    on_published = rule_inputs(rule, posterior(data_alone(outcome).prior, *lik), mcid,
                               terms).verdict
    points = tipping_points(lik, rule, on_published, families, mcid=mcid, outcome_label=label)
    return VerdictTipping(verdict, likelihood, fitted, on_published, points,
                          changes(likelihood, verdict.verdict), changes(lik, on_published))


def outcome_tipping_curve(outcome: OutcomeAnalysis, family: PriorFamily, *,
                          bounds: tuple[float, float] | None = None,
                          tipping: list[TippingPoint] | tuple[TippingPoint, ...] = (),
                          ) -> TippingCurve:
    """P(meaningful reduction) on the outcome's fitted likelihood along a family of priors.

    Parameters
    ----------
    outcome : OutcomeAnalysis
    family : PriorFamily
    bounds : tuple of float, optional
        Parameter range; the family's limits when None.
    tipping : sequence of TippingPoint, default ()
        Tipping points to mark (those of ``family`` within the range are kept).

    Returns
    -------
    TippingCurve
        With the outcome's priors that belong to the family as landmarks, at the spec's MCID.
    """
    return tipping_curve(fitted_likelihood(outcome), family, mcid=outcome.spec.decision.mcid,
                         bounds=bounds, tipping=tipping,
                         priors=[pa.prior for pa in outcome.results.values()])


def plot_tipping_curve(curve: TippingCurve, rule: DecisionRule, *, xlabel: str,
                       label: Callable[[float], str] | None = None) -> Figure:
    """The tipping-point figure of a curve, with the rule's thresholds.

    Parameters
    ----------
    curve : TippingCurve
    rule : DecisionRule
        Its invest and stop thresholds are drawn.
    xlabel : str
        What the family's parameter is, in plain English.
    label : callable, optional
        Text of a tipping point from its value; the family's ``format_value`` when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    label = curve.family.format_value if label is None else label
    return plot_tipping(
        curve.values, curve.prob_meaningful,
        thresholds={f"invest at {rule.invest:.0%}": rule.invest,
                    f"stop below {rule.stop:.0%}": rule.stop},
        points=[(tp.value, tp.prob_meaningful, label(tp.value)) for tp in curve.points],
        current=[(v, p, name) for name, (v, p) in curve.landmarks.items()], xlabel=xlabel)


__all__ = ["VerdictTipping", "centre_family", "data_alone", "fitted_likelihood",
           "outcome_tipping_curve", "plot_tipping_curve", "tipping_families", "verdict_tipping"]
