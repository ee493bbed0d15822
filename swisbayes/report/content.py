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

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from swisbayes._base.defaults import (
    BFMI_MIN,
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    MAX_TREEDEPTH_SHARE,
    RHAT_MAX,
    SMALL_COUNT_SUPPRESS,
)
from swisbayes._base.errors import SpecError
from swisbayes._base.files import SHIPPED_DIR
from swisbayes._base.provenance import library_versions, package_version, sha256_file
from swisbayes._base.text import format_estimate, format_probability
from swisbayes.data.io import SchoolData
from swisbayes.data.published import published_estimate
from swisbayes.data.schema import outcome_schema
from swisbayes.decision.rule import (
    DEPENDS_ON_PRIOR,
    OUTCOME_PHRASES,
    DecisionRule,
    Verdict,
    overall_verdict,
)
from swisbayes.decision.summaries import (
    AttendanceDecision,
    DecisionSummary,
    DifferenceSummary,
    HurdleDecision,
    RatioSummary,
    difference_decimals,
    population_ratio,
    signed,
)
from swisbayes.decision.tipping import TippingPoint
from swisbayes.decision.verdict_changes import RuleTerms
from swisbayes.economics.net_benefit import (
    DEFAULT_ECONOMICS,
    EconomicInputs,
    currency_symbol,
    format_money,
)
from swisbayes.economics.value_for_money import mean_pupils, per_school
from swisbayes.economics.voi import FurtherTrialValue, evsi_table
from swisbayes.evidence.reanalysis import reanalyse
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
from swisbayes.priors.library import PILOT_PRIOR
from swisbayes.report.disclosure import ARMS, arm_counts
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.pilots import PilotEstimate, load_pilots
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.tipping import (
    centre_family,
    data_alone,
    outcome_tipping_curve,
    plot_tipping_curve,
    verdict_tipping,
)
from swisbayes.workflows.value_for_money import (
    PriorEconomics,
    find_outcome,
    prior_economics,
    rule_terms,
)

PRIMARY = "s47"
"""The primary outcome: the verdict and the value of information are about it."""


@dataclass(frozen=True)
class Cell:
    """One number of a table: its exact value, its text and its traffic-light class.

    Parameters
    ----------
    key : str
        What the number is (the JSON key of the decision functions, e.g.
        ``prob_meaningful_reduction``).
    value : float, str or None
        The exact value (written to ``data-value`` in the HTML and to the CSV).
    text : str
        What the reader sees.
    css : str, default ""
        ``invest``, ``more`` or ``stop`` for a traffic-light cell, ``text`` for a left-aligned
        one.
    """

    key: str
    value: float | str | None
    text: str
    css: str = ""


@dataclass(frozen=True)
class Row:
    """A row of the effects, economics or diagnostics table.

    ``scale`` is the scale of an effects row's headline and probabilities (:data:`RATIO` or
    :data:`POINTS`); empty for the other tables.
    """

    outcome: str
    prior: str
    cells: list[Cell]
    reliable: bool = True
    scale: str = ""


RATIO = "ratio"
"""Scale of a row whose effect is a ratio (SWIS vs control) and whose MCID is a fraction."""

POINTS = "percentage points"
"""Scale of attendance's rows: the difference in absence, SWIS minus control, with the MCID in
percentage points (``mcid_pp``) and every probability of the row on that scale."""


@dataclass(frozen=True)
class Group:
    """The rows of one outcome in the effects table, under its label."""

    label: str
    note: str
    rows: list[Row]


@dataclass
class Figure:
    """An embedded figure: PNG bytes and what it shows.

    ``src`` is set by the renderer (a data URI in HTML, a file name in Markdown).
    """

    name: str
    caption: str
    alt: str
    png: bytes
    wide: bool = False
    src: str = ""


NONE = "\u2013"
"""An en dash: the text of a cell with no value."""

VERDICT_CSS = {"invest": "invest", "more evidence": "more", "stop": "stop"}


def pct(p: float, *against: float) -> str:
    """A probability for a table: :func:`~swisbayes._base.text.format_probability` (never reading
    as a threshold in ``against`` that it is not), with ``<0.1%``/``>99.9%`` for 0 and 1.

    Examples
    --------
    >>> pct(0.0), pct(0.0004), pct(0.0123), pct(0.0999, 0.1), pct(1.0)
    ('<0.1%', '0.04%', '1.2%', '9.99%', '>99.9%')
    """
    text = format_probability(p, *against)
    return text.replace("less than ", "<").replace("more than ", ">")


def bound(word: str, p: float, *against: float) -> str:
    """``at most 6.2%`` for a sentence, or ``less than 0.1%``/``more than 99.9%`` at the ends
    (never "at most <0.1%")."""
    text = format_probability(p, *against)
    return text if text.startswith(("less than", "more than")) else f"{word} {text}"


def ratio_text(s: RatioSummary) -> str:
    """Median and interval of a ratio: ``0.990 (0.901 to 1.016)`` written with an en dash, to
    three decimals, so that a bound never reads as 1 when it is not
    (:func:`~swisbayes._base.text.format_estimate`)."""
    lo, hi = s.ci
    return f"{format_estimate(s.median)} ({format_estimate(lo)}{NONE}{format_estimate(hi)})"


def points_text(s: DifferenceSummary, decimals: int) -> str:
    """Median and interval of a difference in percentage points: ``-0.0012 pp (-0.0150 to
    +0.0131)``, to ``decimals`` places (:func:`~swisbayes.decision.summaries.difference_decimals`).

    Examples
    --------
    >>> s = DifferenceSummary(-0.61234, (-1.2, -0.04), 0.95, 0.5, 0.6, 0.99, 0.01, 0.4)
    >>> points_text(s, 2)
    '-0.61 pp (-1.20 to -0.04)'
    """
    return (f"{signed(s.median, decimals)} pp ({signed(s.ci[0], decimals)} to "
            f"{signed(s.ci[1], decimals)})")


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


def _traffic(rule: DecisionRule, p: float) -> str:
    return VERDICT_CSS[rule.verdict(p)]


def effect_cells(decision: DecisionSummary, rule: DecisionRule,
                 pupils_per_school: float, *, decimals: int | None = None) -> list[Cell]:
    """The effects-table cells of one outcome under one prior.

    A ratio for a count outcome or days in care; for attendance (an
    :class:`~swisbayes.decision.summaries.AttendanceDecision`) the difference in absence in
    percentage
    points, with every probability of the row on that scale: P(difference < 0),
    P(difference < -mcid_pp), P(difference > 0), P(|difference| < mcid_pp) and the new LA's
    P(difference < -mcid_pp). The cells' keys are then the JSON keys of the difference
    (``diff_pp_median``, ``prob_meaningful_improvement_pp``, ...; see
    :func:`~swisbayes.decision.summaries.difference_keys`).

    Parameters
    ----------
    decision : DecisionSummary
    rule : DecisionRule
        Colours the probability of a meaningful reduction.
    pupils_per_school : float
        Turns events averted per 1000 pupils into events averted per school (the posterior
        median scales exactly).
    decimals : int, optional
        Decimal places of a difference in points; by default
        :func:`~swisbayes.decision.summaries.difference_decimals` of this decision alone (give the
        outcome's, common to its priors, so that the rows compare).

    Returns
    -------
    list of Cell
    """
    school = per_school(decision.averted_per_1000, pupils_per_school)
    if isinstance(decision, AttendanceDecision):
        d, new = decision.difference, decision.new_la_difference
        places = difference_decimals(d) if decimals is None else decimals
        headline = [Cell("diff_pp_median", d.median, points_text(d, places)),
                    Cell("prob_any_reduction_pp", d.prob_any_reduction,
                         pct(d.prob_any_reduction)),
                    Cell("prob_meaningful_improvement_pp", d.prob_meaningful_reduction,
                         pct(d.prob_meaningful_reduction, rule.stop, rule.invest),
                         _traffic(rule, d.prob_meaningful_reduction)),
                    Cell("prob_harm_pp", d.prob_harm, pct(d.prob_harm)),
                    Cell("prob_rope_pp", d.prob_rope, pct(d.prob_rope)),
                    Cell("new_la.prob_meaningful_improvement_pp", new.prob_meaningful_reduction,
                         pct(new.prob_meaningful_reduction))]
    else:
        e, new_la = decision.effect, decision.new_la
        headline = [Cell("irr_median", e.median, ratio_text(e)),
                    Cell("prob_any_reduction", e.prob_any_reduction, pct(e.prob_any_reduction)),
                    Cell("prob_meaningful_reduction", e.prob_meaningful_reduction,
                         pct(e.prob_meaningful_reduction, rule.stop, rule.invest),
                         _traffic(rule, e.prob_meaningful_reduction)),
                    Cell("prob_harm", e.prob_harm, pct(e.prob_harm)),
                    Cell("prob_rope", e.prob_rope, pct(e.prob_rope)),
                    Cell("new_la.prob_meaningful_reduction", new_la.prob_meaningful_reduction,
                         pct(new_la.prob_meaningful_reduction))]
    return [*headline,
            Cell("averted_per_1000", decision.averted_per_1000,
                 f"{decision.averted_per_1000:+.2f}"),
            Cell("averted_per_school_year", school, f"{school:+.2f}")]


def effect_columns(pupils_per_school: float) -> list[str]:
    """Headers of the effects table (the school size the per-school column uses)."""
    return ["prior", "effect (95% interval): ratio; absence in pp", "P(any reduction)",
            "P(reduction ≥ MCID)", "P(harm)", "P(practically no change)",
            "new LA: P(reduction ≥ MCID)", "averted per 1000 pupils a year (median)",
            f"averted per school of {pupils_per_school:,.0f} pupils a year (median)"]


def outcome_decimals(outcome: OutcomeAnalysis) -> int | None:
    """Decimal places of an outcome's differences in points, common to all its priors (and
    their new-LA predictions); None for an outcome shown as a ratio."""
    summaries = [s for pa in outcome.results.values()
                 if isinstance(pa.decision, AttendanceDecision)
                 for s in (pa.decision.difference, pa.decision.new_la_difference)]
    return difference_decimals(*summaries) if summaries else None


def _group_note(outcome: OutcomeAnalysis) -> str:
    spec = outcome.spec
    first = next(iter(outcome.results.values())).decision
    if isinstance(first, AttendanceDecision):
        places = outcome_decimals(outcome)
        notes = [f"difference in absence, SWIS minus control, in percentage points (pp) of "
                 f"sessions, from {first.control_absence_pct:.2f}% in control schools, to "
                 f"{places} decimals (set by the narrowest interval); every probability in "
                 f"these rows is on that scale: a reduction is a fall in absence, MCID a fall "
                 f"of {first.mcid_pp:g} pp, harm a rise; averted = sessions missed"]
    else:
        notes = [f"MCID {spec.decision.mcid:.0%}"]
    if isinstance(first, HurdleDecision):
        notes.append("ratio of expected days in care; averted = days in care")
    for name, why in outcome.unavailable.items():
        notes.append(f"no '{name}' prior ({why.split(';')[0]})")
    return "; ".join(notes)


def effect_groups(analyses: Sequence[OutcomeAnalysis], rule: DecisionRule,
                  pupils_per_school: float) -> list[Group]:
    """One group per outcome, one row per prior (see :func:`effect_cells`); an outcome in
    points has one number of decimals for all its rows (:func:`outcome_decimals`)."""
    groups = []
    for o in analyses:
        places = outcome_decimals(o)
        rows = [Row(o.outcome, name,
                    effect_cells(pa.decision, rule, pupils_per_school, decimals=places),
                    pa.reliable, POINTS if places is not None else RATIO)
                for name, pa in o.results.items()]
        groups.append(Group(outcome_schema(o.outcome).label, _group_note(o), rows))
    return groups


# ----------------------------------------------------------------------------- diagnostics


DIAGNOSTICS_COLUMNS = ["outcome", "prior", "draws", "max R-hat", "min bulk ESS", "min tail ESS",
                       "min E-BFMI", "divergences", "Pareto k-hat", "importance ESS", "status"]


def diagnostics_rows(analyses: Sequence[OutcomeAnalysis]) -> list[Row]:
    """One row per outcome and prior: the fit's gate, and the weights' when reweighted."""
    rows = []
    for o in analyses:
        for name, pa in o.results.items():
            d = pa.fit.diagnostics
            source = f"reweighted from {pa.fit.spec.priors.effect.name}"
            if pa.path == "sampled":
                source = ("sampled" if pa.pareto_khat is None
                          else "sampled (the vague fit's weights fell short)")
            status = "ok" if pa.reliable else "FAILED: " + "; ".join(d.reasons)
            cells = [Cell("outcome", o.outcome, o.outcome, "text"),
                     Cell("prior", name, name, "text"), Cell("path", pa.path, source, "text"),
                     Cell("rhat_max", d.rhat_max, f"{d.rhat_max:.4f}"),
                     Cell("ess_bulk_min", d.ess_bulk_min, f"{d.ess_bulk_min:.0f}"),
                     _optional("ess_tail_min", d.ess_tail_min, "{:.0f}"),
                     _optional("bfmi_min", d.bfmi_min, "{:.2f}"),
                     Cell("divergences", d.divergences, str(d.divergences)),
                     _optional("pareto_khat", pa.pareto_khat, "{:.2f}"),
                     _optional("importance_ess", pa.importance_ess, "{:.0f}"),
                     Cell("ok", str(pa.reliable), status, "text" if pa.reliable else "stop")]
            rows.append(Row(o.outcome, name, cells, pa.reliable))
    return rows


def _optional(key: str, value: float | None, fmt: str) -> Cell:
    return Cell(key, value, NONE if value is None else fmt.format(value))


# ----------------------------------------------------------------------------- provenance


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def provenance_rows(analyses: Sequence[OutcomeAnalysis], data: SchoolData,
                    economics: EconomicInputs, economics_file: Path | None,
                    notes: Sequence[str] = ()) -> list[tuple[str, str]]:
    """What produced the report: versions, data, specs, seeds, sampler and inputs."""
    versions = library_versions()
    rows = [("swisbayes version", package_version()),
            ("generated", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
            ("libraries", ", ".join(f"{k} {v}" for k, v in versions.items()
                                    if k in ("pymc", "pytensor", "nutpie", "arviz", "numpy"))),
            ("data", f"{data.source} ({len(data.frame)} schools, "
                     f"{data.frame['la_id'].nunique()} LAs, {data.level}-level file)"),
            ("file_sha256 (the data file's bytes)",
             data.file_sha256 or "none: the data were given in memory, not as a file"),
            ("content_sha256 (the table's values)", data.content_sha256)]
    for o in analyses:
        base = next(iter(o.results.values())).fit.spec
        s = base.sampler
        changed = "".join(f"; {k} set to {v!r}" for k, v in o.spec.overrides.items())
        rows.append((f"spec {o.spec.name}",
                     f"sha256 {_sha256(o.spec.to_json())[:16]}; seed {s.seed}; {s.backend}, "
                     f"{s.chains} chains x ({s.tune} tune + {s.draws} draws){changed}"))
    rows += [("adapted to the data", note) for note in notes]
    if economics_file is not None:
        rows.append(("economic inputs", f"{economics_file.name} (sha256 "
                                        f"{sha256_file(economics_file)[:16]})"))
    rows.append(("currency", f"{economics.currency}, {economics.price_year.value} prices"))
    return rows


def assumption_rows(analyses: Sequence[OutcomeAnalysis], economics: EconomicInputs,
                    synthetic: bool) -> list[tuple[str, str, str]]:
    """Every input of the report that is an assumption rather than a published figure."""
    rows: list[tuple[str, str, str]] = []
    if synthetic:
        rows.append(("data", "synthetic data",
                     "Simulated (the bundled data: with the trial's published design); no real "
                     "school is in it. Run the report with --data on the trial's data."))
    for path, value, why in economics.assumptions():
        rows.append((path, _plain_number(path, value), why))
    for o in analyses:
        d = o.spec.decision
        if d.mcid_source == "assumption":
            value = f"{d.mcid:.0%}"
            if outcome_decimals(o) is not None:  # the report reads it in points
                value = f"{d.mcid_pp:g} pp ({value} as a ratio of absence rates)"
            rows.append((f"{o.spec.name}: MCID", value, d.mcid_rationale or ""))
    planned = analyses[0].spec.priors.effect.planned_irr
    rows.append(("planned IRR (calibrates the sceptical and enthusiastic priors)", f"{planned:g}",
                 "The protocol's target effect was not available."))
    for o in analyses:
        if PILOT_PRIOR in o.results:
            rows += _pilot_assumptions(o.spec)
    return rows


def _pilot_assumptions(spec: AnalysisSpec) -> list[tuple[str, str, str]]:
    """The pilot estimates behind a spec's pilot-informed prior that are assumptions."""
    path = spec.priors.effect.pilot_settings(spec.outcome).pilots_path()
    return [(f"pilot {p.la} ({p.outcome}, {path.name})", _pilot_value(p), p.rationale or "")
            for p in load_pilots(path) if p.outcome == spec.outcome and p.source == "assumption"]


def _pilot_value(p: PilotEstimate) -> str:
    if p.ratio is not None:
        return f"ratio {p.ratio:g} ({p.ci_low:g}{NONE}{p.ci_high:g})"
    return f"log ratio {p.log_estimate:g} (SE {p.se:g})"


def _plain_number(path: str, value: float) -> str:
    """An input's value as a person would write it: 2020, 37,500, 0.035."""
    if path.endswith("year") or not float(value).is_integer():
        return f"{value:g}"
    return f"{value:,.0f}"


def count_table(data: SchoolData, analyses: Sequence[OutcomeAnalysis],
                threshold: int = SMALL_COUNT_SUPPRESS) -> tuple[list[str], list[tuple[str, list]]]:
    """The disclosure-controlled counts per arm (see :func:`disclosure.arm_counts`)."""
    table = arm_counts(data, [o.outcome for o in analyses], threshold)
    return list(ARMS), [(label, list(row)) for label, row in table.iterrows()]


def _primary(analyses: Sequence[OutcomeAnalysis]) -> OutcomeAnalysis:
    return find_outcome(analyses, PRIMARY)


# ----------------------------------------------------------------------------- economics


def economics_rows(per_prior: Sequence[PriorEconomics], economics: EconomicInputs,
                   rule: DecisionRule) -> tuple[list[str], list[Row]]:
    """The value-for-money table: one row per prior, then the published evaluation."""
    published = economics.willingness_to_pay.published
    marks = list(published.wtp) if published is not None else []
    columns = ["prior", "mean net benefit per school-year", "95% interval", "P(net benefit > 0)",
               "EVPI per school-year", "EVPI for the roll-out",
               *[f"P(cost-effective) at {format_money(w)}" for w in marks], "verdict"]
    rows = []
    for e in per_prior:
        nb_css = "invest" if e.nmb.prob_positive >= rule.invest_nmb else "stop"
        cells = [Cell("nmb_mean", e.nmb.mean, format_money(e.nmb.mean)),
                 Cell("nmb_ci", f"{e.nmb.ci[0]!r} {e.nmb.ci[1]!r}",
                      f"{format_money(e.nmb.ci[0])} to {format_money(e.nmb.ci[1])}"),
                 Cell("prob_nmb_positive", e.nmb.prob_positive,
                      pct(e.nmb.prob_positive, rule.invest_nmb), nb_css),
                 Cell("evpi_per_school_year", e.evpi_per_school_year,
                      format_money(e.evpi_per_school_year)),
                 Cell("population_evpi", e.population_evpi, format_money(e.population_evpi))]
        cells += [Cell(f"ceac_{w:g}", e.value.ceac_at(w), pct(e.value.ceac_at(w)))
                  for w in marks]
        cells.append(Cell("verdict", e.verdict.verdict, e.verdict.verdict,
                          VERDICT_CSS[e.verdict.verdict]))
        rows.append(Row(PRIMARY, e.prior, cells, e.reliable))
    if published is not None:
        cells = [Cell(k, None, NONE) for k in ("nmb_mean", "nmb_ci", "prob_nmb_positive",
                                               "evpi_per_school_year", "population_evpi")]
        cells += [Cell(f"ceac_{w:g}", p, pct(p))
                  for w, p in zip(published.wtp, published.prob_cost_effective, strict=True)]
        cells.append(Cell("verdict", None, NONE))
        rows.append(Row(PRIMARY, "published economic evaluation", cells))
    return columns, rows


# ----------------------------------------------------------------------------- tipping, EVSI


def tipping_sentences(primary: OutcomeAnalysis, current: Verdict, rule: DecisionRule,
                      terms: RuleTerms | None = None) -> tuple[list[str], list[TippingPoint]]:
    """What one would have to believe for the vague-prior verdict to change, by the whole rule,
    on this trial's data and on the published estimate (each from its own vague-prior verdict;
    see :func:`~swisbayes.workflows.tipping.verdict_tipping`).

    Returns
    -------
    list of str, list of TippingPoint
        The sentences (a verdict no prior of a family reaches is said to be unreachable, with
        the condition none meets), and the tipping points on these data (for the figure).
    """
    found = verdict_tipping(primary, current, rule, terms=terms)
    lines = [f"On these data (a normal approximation of the vague fit), from its verdict "
             f"'{current.verdict}': {_lower_first(c.text)}" for c in found.changes]
    lines += [f"On the published estimate, from its vague-prior verdict "
              f"'{found.published_verdict}': {_lower_first(c.text)}"
              for c in found.published_changes]
    return lines, found.fitted


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def evsi_rows(values: dict[str, FurtherTrialValue]) -> tuple[list[str], list[list[Cell]]]:
    """Rows by trial size: its cost and its expected value (EVSI for the roll-out) per prior,
    then perfect information (:func:`~swisbayes.economics.voi.evsi_table`)."""
    table = evsi_table(values)
    columns = ["schools per arm", "cost of the trial",
               *[f"worth at most ({name})" for name in values]]
    rows = []
    for n, row in table.iloc[:-1].iterrows():
        cost = float(row["trial_cost"])
        cells = [Cell("n_per_arm", int(n), str(int(n))),
                 Cell("trial_cost", cost, format_money(cost))]
        cells += [Cell(f"population_evsi.{name}", float(row[name]), format_money(row[name]),
                       "invest" if row[name] > cost else "") for name in values]
        rows.append(cells)
    ceiling = [Cell("n_per_arm", None, "perfect information on the S47 effect"),
               Cell("trial_cost", None, NONE)]
    ceiling += [Cell(f"population_evpi.{name}", float(table[name].iloc[-1]),
                     format_money(table[name].iloc[-1])) for name in values]
    rows.append(ceiling)
    return columns, rows


# ----------------------------------------------------------------------------- re-analysis


REANALYSIS_COLUMNS = ["prior", "ratio (95% interval)", "P(any reduction)",
                      "P(reduction ≥ MCID)", "P(harm)", "P(practically no change)"]


def reanalysis_rows(primary: OutcomeAnalysis, rule: DecisionRule) -> list[Row]:
    """The published S47 estimate under each of the report's priors (exact posterior)."""
    rows = []
    mcid = primary.spec.decision.mcid
    for name, pa in primary.results.items():
        e = reanalyse(prior=pa.prior, outcome=PRIMARY, mcid=mcid).effect
        cells = [Cell("irr_median", e.median, ratio_text(e)),
                 Cell("prob_any_reduction", e.prob_any_reduction, pct(e.prob_any_reduction)),
                 Cell("prob_meaningful_reduction", e.prob_meaningful_reduction,
                      pct(e.prob_meaningful_reduction, rule.stop, rule.invest),
                      _traffic(rule, e.prob_meaningful_reduction)),
                 Cell("prob_harm", e.prob_harm, pct(e.prob_harm)),
                 Cell("prob_rope", e.prob_rope, pct(e.prob_rope))]
        rows.append(Row(PRIMARY, name, cells))
    return rows


# ----------------------------------------------------------------------------- figures


def report_figures(analyses: Sequence[OutcomeAnalysis], per_prior: Sequence[PriorEconomics],
                   economics: EconomicInputs, rule: DecisionRule,
                   tipping: Sequence[TippingPoint], *, show_la_codes: bool) -> list[Figure]:
    """The report's figures, as PNG (the LAs' effects only when the model has them)."""
    primary = _primary(analyses)
    mcid = primary.spec.decision.mcid
    label = outcome_schema(PRIMARY).label
    figures = [Figure(
        "s47_posterior",
        f"Posterior of the rate ratio of {label.lower()} over the trial's schools (the effect "
        "the verdict reads) under each prior. Solid line: no "
        f"effect; dashed: a {mcid:.0%} reduction (the MCID). Area left of the dashed line = "
        "the probability of a meaningful reduction.",
        "Posterior densities of the S47 rate ratio by prior",
        figure_png(plot_ratio_posteriors(
            {n: (population_ratio(pa.posterior), pa.weights)
             for n, pa in primary.results.items()},
            mcid=mcid, label=label)))]
    published = economics.willingness_to_pay.published
    marks = (dict(zip(published.wtp, published.prob_cost_effective, strict=True))
             if published is not None else None)
    figures.append(Figure(
        "ceac",
        "Probability that SWIS is cost-effective against what one would pay per S47 enquiry "
        "avoided (its cost less the value of other averted events), beside the published "
        "economic evaluation.", "Cost-effectiveness acceptability curves by prior",
        figure_png(plot_ceac(economics.willingness_to_pay.grid,
                             {e.prior: e.ceac for e in per_prior}, published=marks))))
    ratios = [o for o in analyses if outcome_decimals(o) is None]
    points = [o for o in analyses if outcome_decimals(o) is not None]
    rows = [ForestRow(outcome_schema(o.outcome).label, n, pa.decision.effect.median,
                      *pa.decision.effect.ci, pa.reliable)
            for o in ratios for n, pa in o.results.items()]
    elsewhere = (" Absence is not on this scale: it is in percentage points, in the next "
                 "figure." if points else "")
    figures.append(Figure(
        "forest", "Every outcome under every prior: posterior median and 95% interval of the "
        "ratio (log scale; below 1 = fewer with SWIS). Red rows failed their checks."
        + elsewhere, "Forest plot of all outcomes and priors",
        figure_png(plot_summary_forest(rows, mcid=mcid)), wide=True))
    figures += [_points_figure(o) for o in points]
    la_figure = _la_figure(primary, mcid, show_la_codes)
    if la_figure is not None:
        figures.append(la_figure)
    figures.append(_tipping_figure(primary, rule, tipping))
    return figures


def _points_figure(outcome: OutcomeAnalysis) -> Figure:
    """Attendance under every prior, in percentage points (its own scale, not a ratio)."""
    places = outcome_decimals(outcome)
    first = next(iter(outcome.results.values())).decision
    label = outcome_schema(outcome.outcome).label
    rows = [DifferenceRow(label, n, pa.decision.difference.median, *pa.decision.difference.ci,
                          pa.reliable, note=points_text(pa.decision.difference, places))
            for n, pa in outcome.results.items()]
    png = figure_png(plot_difference_forest(
        rows, mcid=first.mcid_pp, what=OUTCOME_PHRASES.get(outcome.outcome, "the outcome")))
    return Figure(
        f"{outcome.outcome}_points",
        f"{label}: the difference in absence, SWIS minus control, in percentage points of "
        f"sessions missed (from {first.control_absence_pct:.2f}% in control schools), under "
        f"each prior: median and 95% interval. Solid line: no change; dashed: a fall of "
        f"{first.mcid_pp:g} points (the MCID). Red rows failed their checks.",
        f"Forest plot of the difference in {OUTCOME_PHRASES.get(outcome.outcome, label)} "
        "by prior, in percentage points", png)


def _la_figure(primary: OutcomeAnalysis, mcid: float, show_la_codes: bool) -> Figure | None:
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
                  "S47 rate ratio in each local authority (vague prior), and the prediction "
                  "for a new LA not in the trial: what a roll-out would meet."
                  + ("" if show_la_codes else " LAs are anonymised."),
                  "Caterpillar plot of LA effects", png)


TIPPING_PLOT_IRRS = (0.3, 1.5)
"""Prior centres (IRR) drawn in the tipping-point figure: where the curve moves."""


def _tipping_figure(primary: OutcomeAnalysis, rule: DecisionRule,
                    tipping: Sequence[TippingPoint]) -> Figure:
    family = centre_family(primary)
    curve = outcome_tipping_curve(primary, family, bounds=TIPPING_PLOT_IRRS,
                                  tipping=list(tipping))
    png = figure_png(plot_tipping_curve(
        curve, rule, label=lambda v: f"IRR {v:.2f}",
        xlabel=f"centre of the prior (rate ratio), SD {family.sd:.3f} on the log scale"))
    return Figure("tipping",
                  "Probability of a meaningful S47 reduction on these data (a normal "
                  "approximation of the vague fit), by the centre of a normal prior as certain "
                  "as the sceptical one. Above the stop line the verdict leaves 'stop'; "
                  "investing also needs the net benefit to be probably positive.",
                  "Tipping-point curve", png)


# ----------------------------------------------------------------------------- the words


def _below(p: float) -> str:
    """The smallest round percentage above ``p``, for "below X%" sentences."""
    for bound in (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99):
        if p < bound:
            return f"{bound:.1%}" if bound < 0.01 else f"{bound:.0%}"
    return "100%"


VERDICT_WORDS = {"invest": "Invest", "more evidence": "More evidence needed", "stop": "Stop"}


def headline(verdicts: dict[str, Verdict], rule: DecisionRule) -> tuple[str, str, str, str]:
    """The verdict, its word, its CSS class and the headline sentence.

    Parameters
    ----------
    verdicts : dict of str to Verdict
        The verdict under each prior, in the report's order.
    rule : DecisionRule

    Returns
    -------
    tuple of str
        ``(verdict, word, css class, sentence)``; the verdict is ``"depends on the prior"``
        when the priors disagree.
    """
    first = next(iter(verdicts.values()))
    what = (f"the probability that SWIS reduces {first.outcome_label} by at least "
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
    elif kind == "invest":
        text = (f"Under every prior we considered, {what} is "
                f"{bound('at least', min(probs), rule.invest)}, and the probability that SWIS "
                f"is value for money is {bound('at least', min(nmb), rule.invest_nmb)} (the "
                f"rule asks for {rule.invest_nmb:.0%}): the verdict is to invest.")
    elif len(poor_value) == len(verdicts):
        text = (f"Under every prior we considered, SWIS probably works: {what} is "
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
                     f"{'prior' if len(poor_value) == 1 else 'priors'} SWIS probably works but "
                     "is unlikely to be value for money.")
    return kind, VERDICT_WORDS[kind], VERDICT_CSS[kind], text


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _phrase_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def key_points(analyses: Sequence[OutcomeAnalysis], per_prior: Sequence[PriorEconomics],
               economics: EconomicInputs) -> list[str]:
    """The few sentences under the verdict, each under the vague prior (the data alone): the
    primary effect, a new LA, the other outcomes and the value for money."""
    primary = _primary(analyses)
    d = data_alone(primary).decision
    e = d.effect
    change = "fewer" if e.median < 1 else "more"
    points = [
        f"With the data alone (vague prior), SWIS schools had an estimated "
        f"{abs(1 - e.median):.1%} {change} {OUTCOME_PHRASES[PRIMARY]} (rate ratio {e.median:.2f}, "
        f"{e.ci_prob:.0%} interval {e.ci[0]:.2f} to {e.ci[1]:.2f}); the probability of a "
        f"reduction of at least {d.mcid:.0%} is {pct(e.prob_meaningful_reduction)}, of any "
        f"reduction {pct(e.prob_any_reduction)} and of more enquiries {pct(e.prob_harm)}.",
        f"In a local authority that was not in the trial (what a roll-out would meet), the "
        f"probability of a reduction of at least {d.mcid:.0%} is "
        f"{pct(d.new_la.prob_meaningful_reduction)}."]
    others = [_meaningful_phrase(o) for o in analyses
              if o.outcome != PRIMARY and "vague" in o.results]
    if others:
        points.append("Other outcomes, probability of a meaningful reduction: "
                      + ", ".join(others) + ".")
    nb = next(x for x in per_prior if x.prior == "vague")
    counted = _phrase_list([OUTCOME_PHRASES[k] for k in nb.counted])
    points.append(
        f"At {_cost(economics)} per school-year, counting the assumed values of averted "
        f"{counted}, the expected net benefit is {format_money(nb.nmb.mean)} per school-year "
        f"(95% interval {format_money(nb.nmb.ci[0])} to {format_money(nb.nmb.ci[1])}); the "
        f"probability that SWIS pays for itself is {pct(nb.nmb.prob_positive)}.")
    return points


# ----------------------------------------------------------------------------- the report


def _meaningful_phrase(outcome: OutcomeAnalysis) -> str:
    """An outcome and its vague-prior probability of a meaningful reduction, on its own scale:
    ``referrals 12%``; for attendance, a fall of at least ``mcid_pp`` points."""
    d = data_alone(outcome).decision
    if isinstance(d, AttendanceDecision):
        return (f"{OUTCOME_PHRASES[outcome.outcome]} (a fall of at least {d.mcid_pp:g} "
                f"percentage points) {pct(d.difference.prob_meaningful_reduction)}")
    return f"{OUTCOME_PHRASES[outcome.outcome]} {pct(d.effect.prob_meaningful_reduction)}"


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
                 economics: EconomicInputs, *, economics_file: Path | None = None,
                 synthetic: bool = False, trial: str | None = None, notes: Sequence[str] = (),
                 show_la_codes: bool = False,
                 suppress_threshold: int = SMALL_COUNT_SUPPRESS) -> Report:
    """Compute everything the report shows.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
        The primary outcome (S47) and any others, each under the report's priors.
    data : SchoolData
        The data they were fitted to.
    economics : EconomicInputs
    economics_file : pathlib.Path, optional
        Where the economic inputs came from (recorded in the provenance).
    synthetic : bool, default False
        The data are simulated (the report says so at the top).
    trial : str, optional
        The trial the data come from; the published re-analysis is shown only for the trial
        that published it (:data:`PUBLISHED_TRIAL`).
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
    rule = economics.decision_rule
    primary = _primary(analyses)
    pupils = mean_pupils(data)
    check_settings(list(primary.results), suppress_threshold)
    per_prior = [prior_economics(analyses, name, economics, pupils) for name in primary.results]
    verdicts = {e.prior: e.verdict for e in per_prior}
    verdict, word, css, head = headline(verdicts, rule)
    tipping, points = tipping_sentences(primary, verdicts["vague"], rule,
                                        rule_terms(analyses, economics, pupils))
    values = {e.prior: e.further for e in per_prior}
    evsi_sentence = f"Under the vague prior, {_lower_first(values['vague'].text)}"
    sizes = list(values["vague"].table["n_per_arm"])
    if 100 in sizes and values["vague"].population_evpi > 0 \
            and values["vague"].sentence(100) not in evsi_sentence:
        evsi_sentence += " " + values["vague"].sentence(100)
    evsi_columns, evsi_cells = evsi_rows(values)
    eco_columns, eco_rows = economics_rows(per_prior, economics, rule)
    count_columns, counts = count_table(data, analyses, suppress_threshold)
    unreliable = [f"The fit of {o.spec.name} under the {n} prior failed its convergence "
                  f"checks ({'; '.join(pa.fit.diagnostics.reasons)}): its numbers are marked "
                  "unreliable." for o in analyses for n, pa in o.results.items()
                  if not pa.reliable]
    warnings = [*notes]
    if synthetic:
        warnings.append("These results use synthetic data (the bundled data are simulated with "
                        "the trial's published design): they show what the report says, not "
                        "what a trial found. Run it with --data on the trial's data.")
    assumptions = assumption_rows(analyses, economics, synthetic)
    points_text = key_points(analyses, per_prior, economics)
    missing = sorted({k for e in per_prior for k in e.missing})
    if missing:
        warnings.append("No analysis of " + _phrase_list([OUTCOME_PHRASES[k] for k in missing])
                        + " was found in the spec directory, so its value per averted event "
                        "is not counted in the net benefit.")
    warnings += [f"Under the {e.prior} prior: {line}" for e in per_prior
                 for line in e.verdict.unsettled]
    return Report(
        title="Social Workers in Schools: what the evidence says for an investment decision",
        subtitle=(f"{len(analyses)} outcomes x {len(primary.results)} priors, fitted to "
                  f"{len(data.frame)} schools in {data.frame['la_id'].nunique()} local "
                  f"authorities; {len(assumptions)} inputs are assumptions, not published "
                  "figures (listed at the end)."),
        verdict=verdict, verdict_word=word, verdict_class=css, headline=head,
        key_points=points_text, rule_text=rule.describe(primary.spec.decision.mcid),
        table_intro=("Each row is one outcome under one prior. The ratio compares SWIS with "
                     "control schools (below 1 = fewer events with SWIS): the expected events "
                     "of the trial's schools with SWIS over those without, each LA with its "
                     "own effect. Every number of a row is on that one effect, the one the "
                     "verdict and the value for money read: the events averted are the "
                     "control rate times (1 - the ratio). 'Practically no "
                     "change' is a ratio within the MCID either way (between 0.9 and 1/0.9 for "
                     "a 10% MCID); 'new LA' is a local authority not in the trial, which is "
                     "what a roll-out would meet. Absence is the exception: its rows are the "
                     "difference in the share of sessions missed, SWIS minus control, in "
                     "percentage points (pp; below 0 = less absence), and all its "
                     "probabilities are on that scale, against its own MCID in points."),
        effect_columns=effect_columns(pupils),
        effect_groups=effect_groups(analyses, rule, pupils),
        table_note=("A cell is coloured by the rule applied to that outcome's probability of "
                    "a meaningful reduction; the verdict is about S47 enquiries."),
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
        economics_note=("P(cost-effective) is per S47 enquiry avoided, like the published "
                        "figures, but its cost is the programme's cost less the assumed value of "
                        "the other averted events. The published figures come from the trial's "
                        "bootstrap of its own costs, which were not available here, so the two "
                        "are not directly comparable."
                        + _borrowed_note(per_prior)),
        figures=report_figures(analyses, per_prior, economics, rule, points,
                               show_la_codes=show_la_codes),
        tipping=tipping,
        evsi_sentence=evsi_sentence, evsi_columns=evsi_columns, evsi_rows=evsi_cells,
        evsi_note=("Expected value of sample information of a further trial measuring S47 "
                   "enquiries, for the roll-out, by preposterior analysis of the S47 effect "
                   "(the other outcomes held at their expected values, so the last row is "
                   "perfect information on S47 alone, not the EVPI of the table above); green "
                   "where it exceeds the trial's cost."),
        reanalysis_intro=_reanalysis_intro(),
        reanalysis_columns=REANALYSIS_COLUMNS,
        reanalysis_rows=reanalysis_rows(primary, rule) if trial == PUBLISHED_TRIAL else [],
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
        provenance=provenance_rows(analyses, data, economics, economics_file, notes),
        assumptions=assumptions,
        warnings=warnings, alerts=unreliable)


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


def _reanalysis_intro() -> str:
    entry = published_estimate(PRIMARY)
    return (f"The trial's published primary result (S47 IRR {entry.estimate:.3f}, "
            f"{entry.ci_level:.0%} CI {entry.ci[0]:.3f} to {entry.ci[1]:.3f}) under the same "
            "priors, by an exact conjugate update.")


def _cost(economics: EconomicInputs) -> str:
    """The programme's cost as given (an input is quoted exactly, not rounded)."""
    return f"{currency_symbol(economics.currency)}{economics.cost_per_school_year.value:,.0f}"


def _borrowed_note(per_prior: Sequence[PriorEconomics]) -> str:
    notes = [f" Under the {e.prior} prior, {_phrase_list([OUTCOME_PHRASES[b] for b in e.borrowed])}"
             " are counted under the vague prior (no such prior for them)."
             for e in per_prior if e.borrowed]
    return "".join(notes)


__all__ = ["POINTS", "PRIMARY", "RATIO", "Cell", "Figure", "Group", "Report", "Row",
           "build_report", "diagnostics_rows", "economics_rows", "effect_cells", "effect_groups",
           "evsi_rows", "headline", "outcome_decimals", "pct", "points_text", "ratio_text",
           "tipping_sentences"]
