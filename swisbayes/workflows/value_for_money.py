"""Value for money of a set of fits: net benefit, EVPI, verdict and further trials per prior.

The outcomes are fitted separately (:func:`swisbayes.workflows.multiprior.run_analyses`); this
module values their draws together with the economic inputs:

- :func:`averted_per_school_year`: one fit's draws of events averted per intervention
  school-year;
- :func:`paired_draws`: the valued outcomes' draws under one prior, resampled to equal weights
  and paired by index (as if the outcomes were independent);
- :func:`prior_economics`: net monetary benefit, EVPI, acceptability curve and the rule's
  verdict under one prior (:class:`PriorEconomics`); :func:`value_sweep` the same over values
  of one outcome's averted event;
- :func:`linear_net_benefit` and :func:`trial_values`: the value of further trials of the
  primary outcome under each prior, on the summary-level posterior (the vague fit's likelihood
  and the prior), the other outcomes held at their expected value.

The kernels on plain arrays are in :mod:`swisbayes.economics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import outcome_phrase
from swisbayes.decision.rule import DecisionRule, Verdict, decide_verdict
from swisbayes.decision.summaries import averted_per_1000
from swisbayes.decision.verdict_changes import RuleTerms
from swisbayes.economics.net_benefit import EconomicInputs, NetBenefitSummary, format_money
from swisbayes.economics.value_for_money import (
    PRIMARY_OUTCOME,
    ValueForMoney,
    expected_value_of_others,
    per_school,
    value_for_money,
)
from swisbayes.economics.voi import FurtherTrialValue, LinearNetBenefit, further_trial_value
from swisbayes.inference.fitting import PriorAnalysis
from swisbayes.inference.reweight import equal_weight_draws
from swisbayes.priors.conjugate import posterior
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.tipping import fitted_likelihood


def find_outcome(analyses: Sequence[OutcomeAnalysis],
                 outcome: str = PRIMARY_OUTCOME) -> OutcomeAnalysis:
    """The analysis of one outcome.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    outcome : str, default "s47"

    Returns
    -------
    OutcomeAnalysis

    Raises
    ------
    SpecError
        If no analysis is of ``outcome``.
    """
    for o in analyses:
        if o.outcome == outcome:
            return o
    raise SpecError(f"no analysis of the outcome {outcome!r} (the primary outcome by default); "
                    f"the analyses are of {[o.outcome for o in analyses]}")


def result_under(outcome: OutcomeAnalysis, prior: str) -> PriorAnalysis:
    """The outcome under ``prior``, or under its first (vague) prior when it has no such prior.

    Parameters
    ----------
    outcome : OutcomeAnalysis
    prior : str

    Returns
    -------
    PriorAnalysis
    """
    return outcome.results.get(prior, next(iter(outcome.results.values())))


def averted_per_school_year(pa: PriorAnalysis, pupils_per_school: float) -> np.ndarray:
    """Draws of events averted per intervention school-year (positive = fewer events).

    Parameters
    ----------
    pa : PriorAnalysis
    pupils_per_school : float
        E.g. :func:`~swisbayes.economics.value_for_money.mean_pupils` of the data.

    Returns
    -------
    numpy.ndarray
        One value per draw (aligned with ``pa.weights``).
    """
    return per_school(averted_per_1000(pa.posterior, pa.spec.followup_years), pupils_per_school)


def control_events_per_school_year(pa: PriorAnalysis, pupils_per_school: float) -> float:
    """Expected events per school-year without SWIS (the control rate, weighted by the draws'
    weights): what a rate ratio acts on.

    Parameters
    ----------
    pa : PriorAnalysis
    pupils_per_school : float

    Returns
    -------
    float
    """
    control = pa.draws("rate_control_per_1000") / pa.spec.followup_years
    return per_school(float(np.average(control, weights=pa.weights)), pupils_per_school)


@dataclass(frozen=True)
class PairedDraws:
    """Equally weighted draws of several outcomes' averted events, paired by index.

    The outcomes are fitted separately, so draw ``i`` of one is paired with draw ``i`` of the
    others as if they were independent; reweighted draws are first resampled to equal weights
    (:func:`~swisbayes.inference.reweight.equal_weight_draws`).

    Parameters
    ----------
    averted : dict of str to numpy.ndarray
        Events averted per school-year, by outcome.
    borrowed : tuple of str
        Outcomes taken under their first (vague) prior, for want of the one asked for.
    missing : tuple of str
        Outcomes asked for that have no analysis (not counted).
    """

    averted: dict[str, np.ndarray]
    borrowed: tuple[str, ...]
    missing: tuple[str, ...]


def paired_draws(analyses: Sequence[OutcomeAnalysis], prior: str, outcomes: Sequence[str],
                 pupils_per_school: float) -> PairedDraws:
    """Averted events per school-year of ``outcomes`` under ``prior``, paired by draw.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    prior : str
        An outcome for which ``prior`` could not be formed (no pilot estimate of it) is taken
        under its first (vague) prior, and named in ``borrowed``.
    outcomes : sequence of str
        E.g. the outcomes with a value per averted event.
    pupils_per_school : float

    Returns
    -------
    PairedDraws
        As many draws of each outcome as the shortest fit has.
    """
    by_outcome = {o.outcome: o for o in analyses}
    chosen = {name: result_under(by_outcome[name], prior)
              for name in outcomes if name in by_outcome}
    borrowed = tuple(k for k in chosen if prior not in by_outcome[k].results)
    n = min(len(pa.draws("irr")) for pa in chosen.values())
    averted = {k: equal_weight_draws(averted_per_school_year(pa, pupils_per_school),
                                     pa.weights, n)
               for k, pa in chosen.items()}
    return PairedDraws(averted, borrowed, tuple(k for k in outcomes if k not in chosen))


@dataclass(frozen=True)
class PriorEconomics:
    """Value for money under one prior.

    Parameters
    ----------
    prior : str
    value : ValueForMoney
        Net benefit, EVPI and acceptability curve per intervention school-year.
    verdict : Verdict
        The rule applied to P(meaningful reduction of the primary outcome), P(NMB > 0) and
        whether a further trial is worth its cost (``further``).
    reliable : bool
        Every fit behind the numbers passed its checks.
    borrowed : tuple of str
        Outcomes counted under the vague prior, for want of this one.
    counted : tuple of str
        Outcomes whose averted events are valued.
    missing : tuple of str
        Outcomes with a value but no analysis: not counted.
    further : FurtherTrialValue
        What further trials of the primary outcome would be worth under this prior.
    """

    prior: str
    value: ValueForMoney
    verdict: Verdict
    reliable: bool
    borrowed: tuple[str, ...]
    counted: tuple[str, ...]
    missing: tuple[str, ...]
    further: FurtherTrialValue

    @property
    def nmb(self) -> NetBenefitSummary:
        """Net monetary benefit per school-year, every valued outcome counted."""
        return self.value.nmb

    @property
    def evpi_per_school_year(self) -> float:
        """Expected value of perfect information per school-year."""
        return self.value.evpi_per_school_year

    @property
    def population_evpi(self) -> float:
        """Expected value of perfect information for the roll-out."""
        return self.value.population_evpi

    @property
    def ceac(self) -> np.ndarray:
        """P(cost-effective) per primary event avoided at each willingness to pay."""
        return self.value.ceac

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        return {"prior": self.prior, **self.value.to_dict(), "verdict": self.verdict.to_dict(),
                "reliable": self.reliable, "borrowed": list(self.borrowed),
                "counted": list(self.counted), "missing": list(self.missing),
                "further_trials": self.further.to_dict()}


def prior_economics(analyses: Sequence[OutcomeAnalysis], prior: str, inputs: EconomicInputs,
                    pupils_per_school: float, *, outcome: str = PRIMARY_OUTCOME,
                    intervention: str = DEFAULT_INTERVENTION) -> PriorEconomics:
    """Net benefit, EVPI, acceptability curve, value of further trials and verdict under one
    prior.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
        Must include ``outcome``, which must have a value per averted event.
    prior : str
    inputs : EconomicInputs
    pupils_per_school : float
    outcome : str, default "s47"
        The primary outcome: the verdict is about it and the acceptability curve per event of
        it.
    intervention : str, default "SWIS"
        What is being decided on, as the verdict's sentences name it.

    Returns
    -------
    PriorEconomics

    Raises
    ------
    SpecError
        If ``outcome`` has no value per averted event or no analysis.

    Notes
    -----
    See :func:`~swisbayes.economics.value_for_money.value_for_money` (the acceptability curve's
    cost is the programme's cost less the value of the other outcomes' averted events).
    """
    values = inputs.values
    if outcome not in values:
        raise SpecError(f"the economic inputs give no value per averted {outcome} event "
                        f"(value_per_event.{outcome}); the verdict and the CEAC need one")
    pa = result_under(find_outcome(analyses, outcome), prior)
    paired = paired_draws(analyses, prior, list(values), pupils_per_school)
    value = value_for_money(paired.averted, inputs, outcome=outcome)
    further = trial_value(analyses, prior, inputs, pupils_per_school, outcome=outcome)
    mcse = pa.decision.effect.mcse
    verdict = decide_verdict(inputs.decision_rule, pa.decision.effect.prob_meaningful_reduction,
                             value.nmb.prob_positive, mcid=pa.decision.mcid,
                             outcome_label=outcome_phrase(outcome), intervention=intervention,
                             worth_more_evidence=further.worth_a_trial,
                             evidence_text=further.text,
                             prob_meaningful_mcse=None if mcse is None
                             else mcse.prob_meaningful_reduction,
                             prob_nmb_positive_mcse=value.nmb.prob_positive_mcse)
    reliable = all(result_under(o, prior).reliable for o in analyses if o.outcome in values)
    return PriorEconomics(prior, value, verdict, reliable, paired.borrowed,
                          tuple(paired.averted), paired.missing, further)


def effect_verdict(analysis: OutcomeAnalysis, prior: str, rule: DecisionRule, *,
                   intervention: str = DEFAULT_INTERVENTION) -> Verdict:
    """The rule applied to the probability of a meaningful reduction alone: the verdict when
    value for money is not assessed (no value per averted event of the outcome).

    Parameters
    ----------
    analysis : OutcomeAnalysis
        The primary outcome's analysis.
    prior : str
        One of its priors.
    rule : DecisionRule
    intervention : str, default "SWIS"
        What is being decided on, as the verdict's sentences name it.

    Returns
    -------
    Verdict
    """
    pa = analysis.results[prior]
    mcse = pa.decision.effect.mcse
    return decide_verdict(rule, pa.decision.effect.prob_meaningful_reduction,
                          mcid=pa.decision.mcid, outcome_label=outcome_phrase(analysis.outcome),
                          intervention=intervention,
                          prob_meaningful_mcse=None if mcse is None
                          else mcse.prob_meaningful_reduction)


def value_sweep(analyses: Sequence[OutcomeAnalysis], inputs: EconomicInputs,
                pupils_per_school: float, values: Sequence[float], *,
                outcome: str = PRIMARY_OUTCOME,
                priors: Sequence[str] | None = None) -> pd.DataFrame:
    """Value for money as the value of one averted event of ``outcome`` varies (no refit).

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    inputs : EconomicInputs
        Every other input stays as given (:meth:`EconomicInputs.with_value`).
    pupils_per_school : float
    values : sequence of float
        Values of one averted event of ``outcome``.
    outcome : str, default "s47"
    priors : sequence of str, optional
        The primary outcome's priors when None.

    Returns
    -------
    pandas.DataFrame
        One row per value and prior: ``value``, ``prior``, ``nmb_mean``, ``prob_nmb_positive``,
        ``evpi_per_school_year``, ``population_evpi`` and ``verdict``.
    """
    names = list(find_outcome(analyses, outcome).results) if priors is None else list(priors)
    rows = []
    for v in values:
        varied = inputs.with_value(outcome, float(v))
        for name in names:
            e = prior_economics(analyses, name, varied, pupils_per_school, outcome=outcome)
            rows.append({"value": float(v), "prior": name, "nmb_mean": e.nmb.mean,
                         "prob_nmb_positive": e.nmb.prob_positive,
                         "evpi_per_school_year": e.evpi_per_school_year,
                         "population_evpi": e.population_evpi, "verdict": e.verdict.verdict})
    return pd.DataFrame(rows)


def linear_net_benefit(analyses: Sequence[OutcomeAnalysis], prior: str,
                       inputs: EconomicInputs, pupils_per_school: float, *,
                       outcome: str = PRIMARY_OUTCOME) -> LinearNetBenefit:
    """Net benefit per school-year as a function of the primary outcome's log IRR.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    prior : str
        A prior of ``outcome``'s analysis.
    inputs : EconomicInputs
    pupils_per_school : float
    outcome : str, default "s47"

    Returns
    -------
    LinearNetBenefit
        With the expected control events per school-year under ``prior``
        (:func:`control_events_per_school_year`) and the other outcomes held at their expected
        value (:func:`~swisbayes.economics.value_for_money.expected_value_of_others` of
        :func:`paired_draws`).
    """
    pa = find_outcome(analyses, outcome).results[prior]
    paired = paired_draws(analyses, prior, list(inputs.values), pupils_per_school)
    others = expected_value_of_others(paired.averted, inputs.values, outcome=outcome)
    return LinearNetBenefit.from_inputs(
        inputs, outcome=outcome,
        events_per_school_year=control_events_per_school_year(pa, pupils_per_school),
        offset=others)


def trial_value(analyses: Sequence[OutcomeAnalysis], prior: str, inputs: EconomicInputs,
                pupils_per_school: float, *,
                outcome: str = PRIMARY_OUTCOME) -> FurtherTrialValue:
    """The value of further trials of ``outcome`` under one of its priors.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    prior : str
        A prior of ``outcome``'s analysis, which has the vague prior among others.
    inputs : EconomicInputs
        Trial sizes and costs, roll-out, values and cost.
    pupils_per_school : float
    outcome : str, default "s47"

    Returns
    -------
    FurtherTrialValue
        :func:`~swisbayes.economics.voi.further_trial_value` of the summary-level posterior
        (the prior updated by :func:`~swisbayes.workflows.tipping.fitted_likelihood`, on the
        effect the decision reads) with :func:`linear_net_benefit` under that prior.
    """
    primary = find_outcome(analyses, outcome)
    return further_trial_value(
        posterior(primary.results[prior].prior, *fitted_likelihood(primary)),
        linear_net_benefit(analyses, prior, inputs, pupils_per_school, outcome=outcome),
        inputs)


def rule_terms(analyses: Sequence[OutcomeAnalysis], inputs: EconomicInputs,
               pupils_per_school: float, *, outcome: str = PRIMARY_OUTCOME) -> RuleTerms:
    """The decision rule's economic inputs as functions of a posterior of ``outcome``'s effect,
    for tipping points that honour the whole rule.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    inputs : EconomicInputs
    pupils_per_school : float
    outcome : str, default "s47"

    Returns
    -------
    RuleTerms
        P(NMB > 0) and whether a further trial is worth its cost, from the net benefit of
        :func:`linear_net_benefit` under the vague prior (its control rate and the other
        outcomes' expected value), and a sentence when investing cannot pay whatever the effect.
    """
    nb = linear_net_benefit(analyses, "vague", inputs, pupils_per_school, outcome=outcome)
    label = outcome_phrase(outcome)
    cost = format_money(inputs.cost_per_school_year.value, inputs.currency)
    cannot_pay = (None if nb.can_pay else f"even averting every one of the {label} would not "
                  f"pay for the programme at {cost} a school-year")
    return RuleTerms(prob_nmb_positive=nb.prob_positive,
                     trial_net_gain=lambda post: float(further_trial_value(
                         post, nb, inputs).table["expected_net_gain"].max()),
                     cannot_pay=cannot_pay)


def trial_values(analyses: Sequence[OutcomeAnalysis], inputs: EconomicInputs,
                 pupils_per_school: float, *,
                 outcome: str = PRIMARY_OUTCOME) -> dict[str, FurtherTrialValue]:
    """:func:`trial_value` under each prior of ``outcome``'s analysis, by prior.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    inputs : EconomicInputs
    pupils_per_school : float
    outcome : str, default "s47"

    Returns
    -------
    dict of str to FurtherTrialValue
    """
    return {name: trial_value(analyses, name, inputs, pupils_per_school, outcome=outcome)
            for name in find_outcome(analyses, outcome).results}


__all__ = ["PairedDraws", "PriorEconomics", "averted_per_school_year",
           "control_events_per_school_year", "effect_verdict", "find_outcome", "linear_net_benefit",
           "paired_draws", "prior_economics", "result_under", "rule_terms", "trial_value",
           "trial_values",
           "value_sweep"]
