"""What the report says: the view model (tables, sentences and figures) of the analyses.

:func:`build_report` turns the fitted analyses (:mod:`swisbayes.workflows.multiprior`) and the
economic inputs into a :class:`Report`: plain data that :mod:`swisbayes.report.render` writes as
HTML or Markdown and that :meth:`Report.table` writes as CSV. It computes nothing a notebook user
cannot call: value for money and the value of further trials come from
:mod:`swisbayes.workflows.value_for_money`, the tipping points from
:mod:`swisbayes.workflows.tipping`, the verdict from :mod:`swisbayes.decision.rule`. Each number
in a table is a :class:`Cell` holding the exact value next to its formatted text, so what the page
shows can be checked against the library functions that produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from swisbayes._base.defaults import (
    BFMI_MIN,
    DEFAULT_INTERVENTION,
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    MAX_TREEDEPTH_SHARE,
    RHAT_MAX,
    SMALL_COUNT_SUPPRESS,
)
from swisbayes._base.errors import SpecError
from swisbayes._base.files import SHIPPED_DIR
from swisbayes._base.provenance import sha256_file
from swisbayes._base.text import capitalise, format_probability
from swisbayes.data.io import SchoolData
from swisbayes.data.published import has_published_estimate, published_estimate
from swisbayes.data.schema import outcome_phrase, outcome_schema
from swisbayes.decision.rule import (
    DEPENDS_ON_PRIOR,
    DecisionRule,
    Verdict,
    overall_verdict,
)
from swisbayes.decision.summaries import (
    AttendanceDecision,
)
from swisbayes.decision.tipping import TippingPoint
from swisbayes.decision.verdict_changes import RuleTerms
from swisbayes.economics.net_benefit import (
    DEFAULT_ECONOMICS,
    EconomicInputs,
    currency_symbol,
    format_money,
)
from swisbayes.economics.value_for_money import mean_pupils
from swisbayes.report.figures import check_figures, report_figures
from swisbayes.report.tables import (
    DIAGNOSTICS_COLUMNS,
    REANALYSIS_COLUMNS,
    assumption_rows,
    count_table,
    diagnostics_rows,
    economics_rows,
    effect_columns,
    effect_groups,
    evsi_rows,
    fit_check_lines,
    outcome_decimals,
    provenance_rows,
    reanalysis_rows,
)
from swisbayes.report.view import (
    VERDICT_CSS,
    Cell,
    Figure,
    Group,
    Row,
    Subject,
    bound,
    pct,
    primary_analysis,
)
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.tipping import (
    data_alone,
    verdict_tipping,
)
from swisbayes.workflows.value_for_money import (
    PriorEconomics,
    effect_verdict,
    prior_economics,
    rule_terms,
)


@dataclass
class Report:
    """Everything the report shows (see the module docstring)."""

    title: str
    subtitle: str
    verdict: str
    verdict_word: str
    verdict_class: str
    headline: str
    key_points: list[str]
    rule_text: str
    table_intro: str
    effect_columns: list[str]
    effect_groups: list[Group]
    table_note: str
    economics_intro: str
    economics_columns: list[str]
    economics_rows: list[Row]
    economics_note: str
    figures: list[Figure]
    tipping: list[str]
    evsi_sentence: str
    evsi_columns: list[str]
    evsi_rows: list[list[Cell]]
    evsi_note: str
    reanalysis_intro: str
    reanalysis_columns: list[str]
    reanalysis_rows: list[Row]
    data_intro: str
    count_columns: list[str]
    count_rows: list[tuple[str, list]]
    disclosure_note: str
    diagnostics_intro: str
    diagnostics_columns: list[str]
    diagnostics_rows: list[Row]
    provenance: list[tuple[str, str]]
    assumptions: list[tuple[str, str, str]]
    warnings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    fit_lines: list[tuple[str, str, bool]] = field(default_factory=list)
    fit_figures: list[Figure] = field(default_factory=list)
    whatif: dict | None = None  # the "What if?" panel's draws and inputs (report.whatif)

    def table(self) -> pd.DataFrame:
        """The outcome x prior table with every exact value, for CSV (one row per row shown)."""
        records = []
        for section, rows in (("effects", [r for g in self.effect_groups for r in g.rows]),
                              ("economics", self.economics_rows),
                              ("published re-analysis", self.reanalysis_rows)):
            for row in rows:
                record = {"section": section, "outcome": row.outcome, "prior": row.prior,
                          "reliable": row.reliable}
                if row.scale:
                    record["effect_scale"] = row.scale
                record |= {c.key: c.value for c in row.cells}
                records.append(record)
        return pd.DataFrame.from_records(records)


# ----------------------------------------------------------------------------- effects


# ----------------------------------------------------------------------------- diagnostics


# ----------------------------------------------------------------------------- provenance


# ----------------------------------------------------------------------------- economics


# ----------------------------------------------------------------------------- tipping, EVSI


def tipping_sentences(primary: OutcomeAnalysis, current: Verdict, rule: DecisionRule,
                      terms: RuleTerms | None = None, *,
                      published: bool = True) -> tuple[list[str], list[TippingPoint]]:
    """What one would have to believe for the vague-prior verdict to change, by the whole rule,
    on this trial's data and on the published estimate (each from its own vague-prior verdict;
    see :func:`~swisbayes.workflows.tipping.verdict_tipping`); with ``published`` False, on
    this trial's data only (the data are not from the trial that published an estimate).

    Returns
    -------
    list of str, list of TippingPoint
        The sentences (a verdict no prior of a family reaches is said to be unreachable, with
        the condition none meets), and the tipping points on these data (for the figure).
    """
    found = verdict_tipping(primary, current, rule, terms=terms, published=published)
    lines = [f"On these data (a normal approximation of the vague fit), from its verdict "
             f"'{current.verdict}': {_lower_first(c.text)}" for c in found.changes]
    lines += [f"On the published estimate, from its vague-prior verdict "
              f"'{found.published_verdict}': {_lower_first(c.text)}"
              for c in found.published_changes]
    return lines, found.fitted


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# ----------------------------------------------------------------------------- re-analysis


# ----------------------------------------------------------------------------- the words


def _below(p: float) -> str:
    """The smallest round percentage above ``p``, for "below X%" sentences."""
    for cut in (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99):
        if p < cut:
            return f"{cut:.1%}" if cut < 0.01 else f"{cut:.0%}"
    return "100%"


VERDICT_WORDS = {"invest": "Invest", "more evidence": "More evidence needed", "stop": "Stop"}


def headline(verdicts: dict[str, Verdict], rule: DecisionRule,
             intervention: str = DEFAULT_INTERVENTION) -> tuple[str, str, str, str]:
    """The verdict, its word, its CSS class and the headline sentence.

    Parameters
    ----------
    verdicts : dict of str to Verdict
        The verdict under each prior, in the report's order.
    rule : DecisionRule
    intervention : str, default "SWIS"
        What is being decided on, as the sentence names it.

    Returns
    -------
    tuple of str
        ``(verdict, word, css class, sentence)``; the verdict is ``"depends on the prior"``
        when the priors disagree.
    """
    first = next(iter(verdicts.values()))
    what = (f"the probability that {intervention} reduces {first.outcome_label} by at least "
            f"{first.mcid:.0%}")
    probs = [v.prob_meaningful for v in verdicts.values()]
    kind = overall_verdict(verdicts)
    if kind == DEPENDS_ON_PRIOR:
        kinds = {v.verdict for v in verdicts.values()}
        parts = "; ".join(f"{VERDICT_WORDS[k].lower()} under the "
                          + ", ".join(n for n, v in verdicts.items() if v.verdict == k)
                          + (" prior" if sum(v.verdict == k for v in verdicts.values()) == 1
                             else " priors")
                          for k in ("invest", "more evidence", "stop") if k in kinds)
        return (DEPENDS_ON_PRIOR, "Depends on the prior", "mixed",
                f"The verdict depends on the prior: {parts}. {_sentence_start(what)} ranges "
                f"from {format_probability(min(probs), rule.stop, rule.invest)} to "
                f"{format_probability(max(probs), rule.stop, rule.invest)}.")
    nmb = [v.prob_nmb_positive for v in verdicts.values() if v.prob_nmb_positive is not None]
    poor_value = [n for n, v in verdicts.items() if v.effective_not_value_for_money]
    by_value = [n for n, v in verdicts.items() if v.stopped_by_value]
    if kind == "stop" and by_value:
        others = [n for n in verdicts if n not in by_value]
        text = (f"{_sentence_start(what)} is between "
                f"{format_probability(min(probs), rule.stop, rule.invest)} and "
                f"{format_probability(max(probs), rule.stop, rule.invest)} across the priors"
                + (", but under every prior we considered" if not others else
                   f", but under the {_phrase_list(by_value)} "
                   f"{'prior' if len(by_value) == 1 else 'priors'}")
                + " no further trial of the sizes costed is expected to be worth its cost, so "
                "more evidence could not change the decision"
                + (f" (under the {_phrase_list(others)} "
                   f"{'prior' if len(others) == 1 else 'priors'} the probability is under the "
                   f"{rule.stop:.0%} needed to keep considering it)" if others else "")
                + ": the verdict is to stop.")
    elif kind == "stop":
        ceiling = _below(max(probs))
        size = (f"below {ceiling}" if float(ceiling.rstrip("%")) / 100 < rule.stop
                else bound("at most", max(probs), rule.stop))
        text = (f"Under every prior we considered, {what} is {size}, under the "
                f"{rule.stop:.0%} needed to keep considering it: the verdict is to stop.")
    elif kind == "invest" and not nmb:
        text = (f"Under every prior we considered, {what} is "
                f"{bound('at least', min(probs), rule.invest)}: the verdict is to invest "
                "(value for money was not assessed).")
    elif kind == "invest":
        text = (f"Under every prior we considered, {what} is "
                f"{bound('at least', min(probs), rule.invest)}, and the probability that "
                f"{intervention} is value for money is "
                f"{bound('at least', min(nmb), rule.invest_nmb)} (the rule asks for "
                f"{rule.invest_nmb:.0%}): the verdict is to invest.")
    elif len(poor_value) == len(verdicts):
        text = (f"Under every prior we considered, {intervention} probably works: {what} is "
                f"{bound('at least', min(probs), rule.invest)}. But the probability that it is "
                f"value for money is {bound('at most', max(nmb), rule.invest_nmb)}, under the "
                f"{rule.invest_nmb:.0%} the rule asks for, so more evidence (or a cheaper "
                "programme) is needed before investing.")
    else:
        text = (f"Under every prior we considered the evidence is not decisive: {what} lies "
                f"between {format_probability(min(probs), rule.stop, rule.invest)} and "
                f"{format_probability(max(probs), rule.stop, rule.invest)}, so more evidence is "
                "needed.")
        if poor_value:
            text += (f" Under the {_phrase_list(poor_value)} "
                     f"{'prior' if len(poor_value) == 1 else 'priors'} {intervention} probably "
                     "works but is unlikely to be value for money.")
    return kind, VERDICT_WORDS[kind], VERDICT_CSS[kind], text


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _phrase_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def key_points(analyses: Sequence[OutcomeAnalysis], per_prior: Sequence[PriorEconomics],
               economics: EconomicInputs, subject: Subject) -> list[str]:
    """The few sentences under the verdict, each under the vague prior (the data alone): the
    primary effect, a new LA, the other outcomes and the value for money (when assessed:
    ``per_prior`` is empty otherwise)."""
    primary = primary_analysis(analyses, subject.primary)
    d = data_alone(primary).decision
    e = d.effect
    change = "fewer" if e.median < 1 else "more"
    points = [
        f"With the data alone (vague prior), schools with {subject.intervention} had an estimated "
        f"{abs(1 - e.median):.1%} {change} {subject.phrase} (rate ratio {e.median:.2f}, "
        f"{e.ci_prob:.0%} interval {e.ci[0]:.2f} to {e.ci[1]:.2f}); the probability of a "
        f"reduction of at least {d.mcid:.0%} is {pct(e.prob_meaningful_reduction)}, of any "
        f"reduction {pct(e.prob_any_reduction)} and of an increase {pct(e.prob_harm)}.",
        f"In a local authority that was not in the trial (what a roll-out would meet), the "
        f"probability of a reduction of at least {d.mcid:.0%} is "
        f"{pct(d.new_la.prob_meaningful_reduction)}."]
    others = [_meaningful_phrase(o) for o in analyses
              if o.outcome != subject.primary and "vague" in o.results]
    if others:
        points.append("Other outcomes, probability of a meaningful reduction: "
                      + ", ".join(others) + ".")
    nb = next((x for x in per_prior if x.prior == "vague"), None)
    if nb is None:
        return points
    counted = _phrase_list([outcome_phrase(k) for k in nb.counted])
    points.append(
        f"At {_cost(economics)} per school-year, counting the assumed values of averted "
        f"{counted}, the expected net benefit is {format_money(nb.nmb.mean)} per school-year "
        f"(95% interval {format_money(nb.nmb.ci[0])} to {format_money(nb.nmb.ci[1])}); the "
        f"probability that {subject.intervention} pays for itself is "
        f"{pct(nb.nmb.prob_positive)}.")
    return points


# ----------------------------------------------------------------------------- the report


def _meaningful_phrase(outcome: OutcomeAnalysis) -> str:
    """An outcome and its vague-prior probability of a meaningful reduction, on its own scale:
    ``referrals 12%``; for attendance, a fall of at least ``mcid_pp`` points."""
    d = data_alone(outcome).decision
    if isinstance(d, AttendanceDecision):
        return (f"{outcome_phrase(outcome.outcome)} (a fall of at least {d.mcid_pp:g} "
                f"percentage points) {pct(d.difference.prob_meaningful_reduction)}")
    return f"{outcome_phrase(outcome.outcome)} {pct(d.effect.prob_meaningful_reduction)}"


def check_settings(priors: Sequence[str], suppress_threshold: int) -> None:
    """Refuse report settings that would hide a problem or show a small count.

    Parameters
    ----------
    priors : sequence of str
        The report's priors: the vague prior must be among them (its fit is the data's
        likelihood for the tipping points and the value of information).
    suppress_threshold : int
        At least :data:`~swisbayes._base.defaults.SMALL_COUNT_SUPPRESS`.

    Raises
    ------
    SpecError
        Naming the setting, what was given and what is expected.
    """
    if suppress_threshold < SMALL_COUNT_SUPPRESS:
        raise SpecError(f"suppress_threshold must be at least {SMALL_COUNT_SUPPRESS} (counts "
                        f"from 1 to {SMALL_COUNT_SUPPRESS} are never shown); got "
                        f"{suppress_threshold}")
    if "vague" not in priors:
        raise SpecError(f"the report's priors must include 'vague' (its fit is the data's "
                        f"likelihood for the tipping points and the value of information); got "
                        f"{list(priors)}")


def build_report(analyses: Sequence[OutcomeAnalysis], data: SchoolData,
                 economics: EconomicInputs, *, subject: Subject | None = None,
                 economics_file: Path | None = None, synthetic: bool = False,
                 notes: Sequence[str] = (), show_la_codes: bool = False,
                 suppress_threshold: int = SMALL_COUNT_SUPPRESS) -> Report:
    """Compute everything the report shows.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
        The primary outcome and any others, each under the report's priors.
    data : SchoolData
        The data they were fitted to.
    economics : EconomicInputs
        The decision rule's thresholds, and the value for money when they value the primary
        outcome's averted events; without such a value the report has no value-for-money
        section and the rule reads the probability of a meaningful reduction alone.
    subject : Subject, optional
        The primary outcome, the intervention's name and the trial (SWIS's when None). The
        published re-analysis is shown only for the trial that published it
        (:data:`PUBLISHED_TRIAL`).
    economics_file : pathlib.Path, optional
        Where the economic inputs came from (recorded in the provenance).
    synthetic : bool, default False
        The data are simulated (the report says so at the top).
    notes : sequence of str, default ()
        How the analyses were adapted to the data (outcomes left out, covariates dropped):
        shown at the top of the page and in the provenance.
    show_la_codes : bool, default False
        Label LA-level results with LA codes instead of "LA 1", "LA 2", ...
    suppress_threshold : int, default 5
        Largest count suppressed (from 1).

    Returns
    -------
    Report
    """
    subject = Subject() if subject is None else subject
    rule = economics.decision_rule
    primary = primary_analysis(analyses, subject.primary)
    pupils = mean_pupils(data)
    check_settings(list(primary.results), suppress_threshold)
    valued = subject.primary in economics.values
    per_prior = ([prior_economics(analyses, name, economics, pupils, outcome=subject.primary,
                                  intervention=subject.intervention)
                  for name in primary.results] if valued else [])
    verdicts = ({e.prior: e.verdict for e in per_prior} if valued else
                {name: effect_verdict(primary, name, rule, intervention=subject.intervention)
                 for name in primary.results})
    verdict, word, css, head = headline(verdicts, rule, subject.intervention)
    published = subject.trial == PUBLISHED_TRIAL and has_published_estimate(subject.primary)
    terms = (rule_terms(analyses, economics, pupils, outcome=subject.primary) if valued
             else RuleTerms())
    tipping, points = tipping_sentences(primary, verdicts["vague"], rule, terms,
                                        published=published)
    count_columns, counts = count_table(data, analyses, suppress_threshold,
                                       intervention=subject.intervention)
    unreliable = [f"The fit of {o.spec.name} under the {n} prior failed its convergence "
                  f"checks ({'; '.join(pa.fit.diagnostics.reasons)}): its numbers are marked "
                  "unreliable." for o in analyses for n, pa in o.results.items()
                  if not pa.reliable]
    warnings = [*notes]
    if synthetic:
        warnings.append("These results use synthetic data (simulated with a trial's design): "
                        "they show what the report says, not what a trial found. Run it with "
                        "--data on the trial's data.")
    assumptions = assumption_rows(analyses, economics if valued else None, synthetic)
    points_text = key_points(analyses, per_prior, economics, subject)
    missing = sorted({k for e in per_prior for k in e.missing})
    if missing:
        warnings.append("No analysis of " + _phrase_list([outcome_phrase(k) for k in missing])
                        + " was found in the spec directory, so its value per averted event "
                        "is not counted in the net benefit.")
    warnings += [f"Under the {name} prior: {line}" for name, v in verdicts.items()
                 for line in v.unsettled]
    title = (TITLE if subject.trial == PUBLISHED_TRIAL else
             f"{capitalise(subject.trial or 'the trial')}: what the evidence says for an "
             "investment decision")
    return Report(
        title=title,
        subtitle=(f"{len(analyses)} outcomes x {len(primary.results)} priors, fitted to "
                  f"{len(data.frame)} schools in {data.frame['la_id'].nunique()} local "
                  f"authorities; {len(assumptions)} inputs are assumptions, not published "
                  "figures (listed at the end)."),
        verdict=verdict, verdict_word=word, verdict_class=css, headline=head,
        key_points=points_text,
        rule_text=rule.describe(primary.spec.decision.mcid, economics=valued),
        table_intro=_table_intro(subject, any(outcome_decimals(o) is not None
                                              for o in analyses), valued),
        effect_columns=effect_columns(pupils),
        effect_groups=effect_groups(analyses, rule, pupils, intervention=subject.intervention),
        table_note=("A cell is coloured by the rule applied to that outcome's probability of "
                    f"a meaningful reduction; the verdict is about {subject.phrase}."),
        **(_value_sections(per_prior, economics, economics_file, rule, subject) if valued
           else _no_value_sections(economics, economics_file, subject)),
        figures=report_figures(analyses, per_prior, economics if valued else None, rule,
                               points, subject=subject, show_la_codes=show_la_codes),
        tipping=tipping,
        reanalysis_intro=_reanalysis_intro(subject) if published else "",
        reanalysis_columns=REANALYSIS_COLUMNS,
        reanalysis_rows=reanalysis_rows(primary, rule) if published else [],
        data_intro="Events in the follow-up, summed over each arm's schools.",
        count_columns=count_columns, count_rows=counts,
        disclosure_note=(f"Counts from 1 to {suppress_threshold} are suppressed ('c'), as in "
                         "the Department for Education's children-in-need statistics, and so is "
                         "a total that would reveal one. No school- or LA-level count appears "
                         "in this report"
                         + ("." if not show_la_codes else "; LAs are named at the user's "
                                                          "request.")),
        diagnostics_intro=(f"A fit is trusted when R-hat <= {RHAT_MAX}, bulk ESS >= "
                           f"{ESS_BULK_MIN:.0f}, tail ESS >= {ESS_TAIL_MIN:.0f}, E-BFMI >= "
                           f"{BFMI_MIN} in every chain, at most {MAX_TREEDEPTH_SHARE:.0%} of "
                           "transitions at the maximum tree depth and no divergences (one retry, "
                           "then flagged). A prior answered by "
                           "reweighting the vague fit's draws needs Pareto k-hat < 0.7 and an "
                           "importance ESS >= 400; otherwise it is sampled."),
        diagnostics_columns=DIAGNOSTICS_COLUMNS, diagnostics_rows=diagnostics_rows(analyses),
        provenance=provenance_rows(analyses, data, economics, economics_file, notes,
                                   valued=valued),
        assumptions=assumptions,
        warnings=warnings, alerts=unreliable, fit_lines=fit_check_lines(analyses),
        fit_figures=check_figures(primary))


TITLE = "Social Workers in Schools: what the evidence says for an investment decision"
"""The title of a report on the SWIS trial's data."""


def _table_intro(subject: Subject, has_points: bool, valued: bool) -> str:
    arm = subject.intervention
    averted = (" Every number of a row is on that one effect, the one the verdict"
               + (" and the value for money read" if valued else " reads")
               + ": the events averted are the control rate times (1 - the ratio).")
    points = (" Absence is the exception: its rows are the difference in the share of "
              f"sessions missed, {arm} minus control, in percentage points (pp; below 0 = less "
              "absence), and all its probabilities are on that scale, against its own MCID in "
              "points." if has_points else "")
    return (f"Each row is one outcome under one prior. The ratio compares {arm} with control "
            f"schools (below 1 = fewer events with {arm}): the expected events of the trial's "
            f"schools with {arm} over those without, each LA with its own effect." + averted
            + " 'Practically no change' is a ratio within the MCID either way (between 0.9 and "
            "1/0.9 for a 10% MCID); 'new LA' is a local authority not in the trial, which is "
            "what a roll-out would meet." + points)


def _value_sections(per_prior: Sequence[PriorEconomics], economics: EconomicInputs,
                    economics_file: Path | None, rule: DecisionRule,
                    subject: Subject) -> dict:
    """The value-for-money and further-trial sections, when the inputs value the primary
    outcome."""
    values = {e.prior: e.further for e in per_prior}
    vague = values["vague"]
    evsi_sentence = f"Under the vague prior, {_lower_first(vague.text)}"
    if 100 in list(vague.table["n_per_arm"]) and vague.population_evpi > 0 \
            and vague.sentence(100) not in evsi_sentence:
        evsi_sentence += " " + vague.sentence(100)
    evsi_columns, evsi_cells = evsi_rows(values, subject.phrase)
    eco_columns, eco_rows = economics_rows(per_prior, economics, rule, subject.primary)
    unit = outcome_schema(subject.primary).unit or subject.phrase
    published = economics.willingness_to_pay.published is not None
    return dict(
        economics_intro=(f"{economics_source(economics_file)} "
                         f"Net monetary benefit per intervention school-year: the assumed "
                         f"values of averted events less the programme's cost of "
                         f"{_cost(economics)}, the outcomes fitted separately and combined "
                         "assuming independence between them. EVPI is what knowing the effects "
                         "exactly would be worth; the roll-out covers "
                         f"{economics.rollout.schools.value:.0f} schools for "
                         f"{economics.rollout.horizon_years.value:.0f} years, discounted at "
                         f"{economics.rollout.discount_rate.value:.1%}."),
        economics_columns=eco_columns, economics_rows=eco_rows,
        economics_note=(f"P(cost-effective) is per one of the {unit} avoided"
                        + (", like the published figures" if published else "")
                        + ", but its cost is the programme's cost less the assumed value of "
                        "the other averted events."
                        + (" The published figures come from the trial's bootstrap of its own "
                           "costs, which were not available here, so the two are not directly "
                           "comparable." if published else "")
                        + _borrowed_note(per_prior)),
        evsi_sentence=evsi_sentence, evsi_columns=evsi_columns, evsi_rows=evsi_cells,
        evsi_note=(f"Expected value of sample information of a further trial measuring "
                   f"{subject.phrase}, for the roll-out, by preposterior analysis of that "
                   "effect (the other outcomes held at their expected values, so the last row "
                   f"is perfect information on {subject.phrase} alone, not the EVPI of the "
                   "table above); green where it exceeds the trial's cost."))


def _no_value_sections(economics: EconomicInputs, economics_file: Path | None,
                       subject: Subject) -> dict:
    """No value-for-money or further-trial tables: the inputs do not value the primary
    outcome, so the verdict reads the probability of a meaningful reduction alone."""
    why = (f"{economics_source(economics_file)} They give no value for an averted event of "
           f"{subject.phrase} (value_per_event.{subject.primary}), so value for money and the "
           "value of further trials are not assessed, and the verdict reads the probability of "
           "a meaningful reduction alone. Give economic inputs that value it with --economics "
           "FILE.")
    return dict(economics_intro=why, economics_columns=[], economics_rows=[],
                economics_note="", evsi_sentence="Not assessed: see the value for money above.",
                evsi_columns=[], evsi_rows=[], evsi_note="")


PUBLISHED_TRIAL = "SWIS"
"""The trial whose published results the report re-analyses, when the data declare it."""


def economics_source(economics_file: Path | None) -> str:
    """Which economic inputs the value for money uses, in one sentence: the bundled SWIS
    assumptions (the shipped file, or a copy of it byte for byte) or the user's file."""
    shipped = SHIPPED_DIR / DEFAULT_ECONOMICS.name
    if economics_file is None or sha256_file(economics_file) == sha256_file(shipped):
        return ("Economic inputs: the bundled SWIS assumptions (economics.toml shipped with "
                "swisbayes); give your own with --economics FILE.")
    return f"Economic inputs: {economics_file} (sha256 {sha256_file(economics_file)[:16]})."


def _reanalysis_intro(subject: Subject) -> str:
    entry = published_estimate(subject.primary)
    return (f"The trial's published result for {subject.phrase} (rate ratio "
            f"{entry.estimate:.3f}, "
            f"{entry.ci_level:.0%} CI {entry.ci[0]:.3f} to {entry.ci[1]:.3f}) under the same "
            "priors, by an exact conjugate update.")


def _cost(economics: EconomicInputs) -> str:
    """The programme's cost as given (an input is quoted exactly, not rounded)."""
    return f"{currency_symbol(economics.currency)}{economics.cost_per_school_year.value:,.0f}"


def _borrowed_note(per_prior: Sequence[PriorEconomics]) -> str:
    notes = [f" Under the {e.prior} prior, {_phrase_list([outcome_phrase(b) for b in e.borrowed])}"
             " are counted under the vague prior (no such prior for them)."
             for e in per_prior if e.borrowed]
    return "".join(notes)


__all__ = ["Report", "build_report", "headline", "tipping_sentences"]
