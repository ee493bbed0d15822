"""The report's figures, as PNG: posteriors by prior, the forest of outcomes, the LAs, the
CEAC and the tipping curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from swisbayes.data.schema import outcome_phrase, outcome_schema
from swisbayes.decision.rule import (
    DecisionRule,
)
from swisbayes.decision.summaries import (
    population_ratio,
)
from swisbayes.decision.tipping import TippingPoint
from swisbayes.economics.net_benefit import (
    EconomicInputs,
)
from swisbayes.plots.decision import (
    DifferenceRow,
    ForestRow,
    figure_png,
    plot_ceac,
    plot_difference_forest,
    plot_la_effects,
    plot_ratio_posteriors,
    plot_summary_forest,
)
from swisbayes.report.tables import outcome_decimals
from swisbayes.report.view import (
    Figure,
    Subject,
    points_text,
    primary_analysis,
)
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.tipping import (
    centre_family,
    data_alone,
    outcome_tipping_curve,
    plot_tipping_curve,
)
from swisbayes.workflows.value_for_money import (
    PriorEconomics,
)


def report_figures(analyses: Sequence[OutcomeAnalysis], per_prior: Sequence[PriorEconomics],
                   economics: EconomicInputs | None, rule: DecisionRule,
                   tipping: Sequence[TippingPoint], *, subject: Subject,
                   show_la_codes: bool) -> list[Figure]:
    """The report's figures, as PNG (the LAs' effects only when the model has them; the
    acceptability curves only when ``economics`` value the primary outcome)."""
    primary = primary_analysis(analyses, subject.primary)
    mcid = primary.spec.decision.mcid
    label = subject.label
    figures = [Figure(
        f"{subject.primary}_posterior",
        f"Posterior of the rate ratio of {label.lower()} over the trial's schools (the effect "
        "the verdict reads) under each prior. Solid line: no "
        f"effect; dashed: a {mcid:.0%} reduction (the MCID). Area left of the dashed line = "
        "the probability of a meaningful reduction.",
        f"Posterior densities of the rate ratio of {subject.phrase} by prior",
        figure_png(plot_ratio_posteriors(
            {n: (population_ratio(pa.posterior), pa.weights)
             for n, pa in primary.results.items()},
            mcid=mcid, label=label)))]
    if economics is not None:
        figures.append(_ceac_figure(per_prior, economics, subject))
    ratios = [o for o in analyses if outcome_decimals(o) is None]
    points = [o for o in analyses if outcome_decimals(o) is not None]
    rows = [ForestRow(outcome_schema(o.outcome).label, n, pa.decision.effect.median,
                      *pa.decision.effect.ci, pa.reliable)
            for o in ratios for n, pa in o.results.items()]
    elsewhere = (" Absence is not on this scale: it is in percentage points, in the next "
                 "figure." if points else "")
    figures.append(Figure(
        "forest", "Every outcome under every prior: posterior median and 95% interval of the "
        f"ratio (log scale; below 1 = fewer with {subject.intervention}). Red rows failed "
        "their checks."
        + elsewhere, "Forest plot of all outcomes and priors",
        figure_png(plot_summary_forest(rows, mcid=mcid)), wide=True))
    figures += [_points_figure(o, subject.intervention) for o in points]
    la_figure = _la_figure(primary, mcid, show_la_codes, subject)
    if la_figure is not None:
        figures.append(la_figure)
    figures.append(_tipping_figure(primary, rule, tipping, subject, economics is not None))
    return figures


def _ceac_figure(per_prior: Sequence[PriorEconomics], economics: EconomicInputs,
                 subject: Subject) -> Figure:
    published = economics.willingness_to_pay.published
    marks = (dict(zip(published.wtp, published.prob_cost_effective, strict=True))
             if published is not None else None)
    unit = outcome_schema(subject.primary).unit or subject.phrase
    beside = " beside the published economic evaluation" if marks else ""
    return Figure(
        "ceac",
        f"Probability that {subject.intervention} is cost-effective against what one would pay "
        f"per one of the {unit} avoided (its cost less the value of other averted "
        f"events){beside}.", "Cost-effectiveness acceptability curves by prior",
        figure_png(plot_ceac(economics.willingness_to_pay.grid,
                             {e.prior: e.ceac for e in per_prior}, published=marks)))


def check_figures(primary: OutcomeAnalysis) -> list[Figure]:
    """The primary model's checks: school rates by arm against replicated data, and LOO-PIT
    (none when the model could not be checked)."""
    check = primary.check
    if check is None or check.ppc is None:
        return []
    label = outcome_schema(primary.outcome).label
    return [
        Figure("ppc", f"{label}: the schools' observed rates ({check.ppc.unit}) by arm, against "
                      "rates replicated from the fitted model. The model fits when the observed "
                      "curve lies among the replicated ones.",
               f"Posterior predictive check of {label} school rates by arm",
               figure_png(check.ppc.plot())),
        Figure("loo_pit", f"{label}: LOO-PIT, how each school's observed count ranks among "
                          "predictions from the model fitted without it (difference of its "
                          "ECDF from uniform; within the band, the model predicts left-out "
                          "schools as well as it should).",
               f"LOO-PIT of {label}", figure_png(check.loo.plot()))]


def _points_figure(outcome: OutcomeAnalysis, intervention: str) -> Figure:
    """Attendance under every prior, in percentage points (its own scale, not a ratio)."""
    places = outcome_decimals(outcome)
    first = next(iter(outcome.results.values())).decision
    label = outcome_schema(outcome.outcome).label
    rows = [DifferenceRow(label, n, pa.decision.difference.median, *pa.decision.difference.ci,
                          pa.reliable, note=points_text(pa.decision.difference, places))
            for n, pa in outcome.results.items()]
    png = figure_png(plot_difference_forest(
        rows, mcid=first.mcid_pp, what=outcome_phrase(outcome.outcome)))
    return Figure(
        f"{outcome.outcome}_points",
        f"{label}: the difference in absence, {intervention} minus control, in percentage "
        "points of "
        f"sessions missed (from {first.control_absence_pct:.2f}% in control schools), under "
        f"each prior: median and 95% interval. Solid line: no change; dashed: a fall of "
        f"{first.mcid_pp:g} points (the MCID). Red rows failed their checks.",
        f"Forest plot of the difference in {outcome_phrase(outcome.outcome)} "
        "by prior, in percentage points", png)


def _la_figure(primary: OutcomeAnalysis, mcid: float, show_la_codes: bool,
               subject: Subject) -> Figure | None:
    """The LAs' effects under the vague prior; None when the model has no LA-varying effect."""
    base = data_alone(primary)
    if "la_log_irr" not in base.fit.idata["posterior"]:
        return None
    codes = [str(c) for c in base.fit.idata["posterior"]["la"].to_numpy()]
    la = np.exp(base.draws("la_log_irr"))
    png = figure_png(plot_la_effects(la, base.draws("irr_new_la"), weights=base.weights,
                                     labels=codes if show_la_codes else None,
                                     mcid=mcid, average=base.draws("irr")))
    return Figure("la_effects",
                  f"Rate ratio of {subject.phrase} in each local authority (vague prior), and "
                  "the prediction for a new LA not in the trial: what a roll-out would meet."
                  + ("" if show_la_codes else " LAs are anonymised."),
                  "Caterpillar plot of LA effects", png)


TIPPING_PLOT_IRRS = (0.3, 1.5)
"""Prior centres (IRR) drawn in the tipping-point figure: where the curve moves."""


def _tipping_figure(primary: OutcomeAnalysis, rule: DecisionRule,
                    tipping: Sequence[TippingPoint], subject: Subject,
                    economics_assessed: bool) -> Figure:
    family = centre_family(primary)
    curve = outcome_tipping_curve(primary, family, bounds=TIPPING_PLOT_IRRS,
                                  tipping=list(tipping))
    png = figure_png(plot_tipping_curve(
        curve, rule, label=lambda v: f"IRR {v:.2f}",
        xlabel=f"centre of the prior (rate ratio), SD {family.sd:.3f} on the log scale"))
    return Figure("tipping",
                  f"Probability of a meaningful reduction in {subject.phrase} on these data (a "
                  "normal approximation of the vague fit), by the centre of a normal prior as "
                  "certain as the sceptical one. Above the stop line the verdict leaves 'stop'"
                  + ("; investing also needs the net benefit to be probably positive."
                     if economics_assessed else "."),
                  "Tipping-point curve", png)
