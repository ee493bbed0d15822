"""The report's tables: effects by outcome and prior, value for money, further trials, the
re-analysis, counts, diagnostics, provenance and assumptions."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from swisbayes._base.defaults import (
    DEFAULT_INTERVENTION,
    SMALL_COUNT_SUPPRESS,
)
from swisbayes._base.provenance import library_versions, package_version, sha256_file
from swisbayes._base.text import capitalise
from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.decision.rule import (
    DecisionRule,
)
from swisbayes.decision.summaries import (
    AttendanceDecision,
    DecisionSummary,
    HurdleDecision,
    difference_decimals,
)
from swisbayes.economics.net_benefit import (
    EconomicInputs,
    format_money,
)
from swisbayes.economics.value_for_money import per_school
from swisbayes.economics.voi import FurtherTrialValue, evsi_table
from swisbayes.evidence.reanalysis import reanalyse
from swisbayes.priors.library import PILOT_PRIOR
from swisbayes.report.disclosure import ARMS, arm_counts
from swisbayes.report.view import (
    NONE,
    POINTS,
    RATIO,
    VERDICT_CSS,
    Cell,
    Group,
    Row,
    pct,
    points_text,
    ratio_text,
)
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.pilots import PilotEstimate, load_pilots
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.value_for_money import (
    PriorEconomics,
)


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


def _group_note(outcome: OutcomeAnalysis, intervention: str) -> str:
    spec = outcome.spec
    first = next(iter(outcome.results.values())).decision
    if isinstance(first, AttendanceDecision):
        places = outcome_decimals(outcome)
        notes = [f"difference in absence, {intervention} minus control, in percentage points "
                 f"(pp) of sessions, from {first.control_absence_pct:.2f}% in control schools, to "
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
                  pupils_per_school: float, *,
                  intervention: str = DEFAULT_INTERVENTION) -> list[Group]:
    """One group per outcome, one row per prior (see :func:`effect_cells`); an outcome in
    points has one number of decimals for all its rows (:func:`outcome_decimals`)."""
    groups = []
    for o in analyses:
        places = outcome_decimals(o)
        rows = [Row(o.outcome, name,
                    effect_cells(pa.decision, rule, pupils_per_school, decimals=places),
                    pa.reliable, POINTS if places is not None else RATIO)
                for name, pa in o.results.items()]
        groups.append(Group(outcome_schema(o.outcome).label, _group_note(o, intervention), rows))
    return groups


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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def provenance_rows(analyses: Sequence[OutcomeAnalysis], data: SchoolData,
                    economics: EconomicInputs, economics_file: Path | None,
                    notes: Sequence[str] = (), *, valued: bool = True) -> list[tuple[str, str]]:
    """What produced the report: versions, data, specs, seeds, sampler and inputs (``valued``:
    whether the economic inputs value the primary outcome, else only their rule is used)."""
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
        used = "" if valued else "; only its decision rule is used"
        rows.append(("economic inputs", f"{economics_file.name} (sha256 "
                                        f"{sha256_file(economics_file)[:16]}){used}"))
    if valued:
        rows.append(("currency", f"{economics.currency}, {economics.price_year.value} prices"))
    return rows


def assumption_rows(analyses: Sequence[OutcomeAnalysis], economics: EconomicInputs | None,
                    synthetic: bool) -> list[tuple[str, str, str]]:
    """Every input of the report that is an assumption rather than a published figure
    (``economics`` None when the report does not value the outcomes)."""
    rows: list[tuple[str, str, str]] = []
    if synthetic:
        rows.append(("data", "synthetic data",
                     "Simulated with a trial's design; no real school is in it. Run the report "
                     "with --data on the trial's data."))
    for path, value, why in economics.assumptions() if economics is not None else ():
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
                 "The specs' assumed target effect (priors.effect.planned_irr): the trial's "
                 "planned effect was not available to the analysis."))
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
                threshold: int = SMALL_COUNT_SUPPRESS, *,
                intervention: str = DEFAULT_INTERVENTION,
                ) -> tuple[list[str], list[tuple[str, list]]]:
    """The disclosure-controlled counts per arm (see :func:`disclosure.arm_counts`), the
    intervention arm headed by its name."""
    table = arm_counts(data, [o.outcome for o in analyses], threshold)
    return ([capitalise(intervention), *ARMS[1:]],
            [(label, list(row)) for label, row in table.iterrows()])


def economics_rows(per_prior: Sequence[PriorEconomics], economics: EconomicInputs,
                   rule: DecisionRule, primary: str) -> tuple[list[str], list[Row]]:
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
        rows.append(Row(primary, e.prior, cells, e.reliable))
    if published is not None:
        cells = [Cell(k, None, NONE) for k in ("nmb_mean", "nmb_ci", "prob_nmb_positive",
                                               "evpi_per_school_year", "population_evpi")]
        cells += [Cell(f"ceac_{w:g}", p, pct(p))
                  for w, p in zip(published.wtp, published.prob_cost_effective, strict=True)]
        cells.append(Cell("verdict", None, NONE))
        rows.append(Row(primary, "published economic evaluation", cells))
    return columns, rows


def evsi_rows(values: dict[str, FurtherTrialValue],
              phrase: str) -> tuple[list[str], list[list[Cell]]]:
    """Rows by trial size: its cost and its expected value (EVSI for the roll-out) per prior,
    then perfect information on the effect on ``phrase`` (the primary outcome in a sentence;
    :func:`~swisbayes.economics.voi.evsi_table`)."""
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
    ceiling = [Cell("n_per_arm", None, f"perfect information on the effect on {phrase}"),
               Cell("trial_cost", None, NONE)]
    ceiling += [Cell(f"population_evpi.{name}", float(table[name].iloc[-1]),
                     format_money(table[name].iloc[-1])) for name in values]
    rows.append(ceiling)
    return columns, rows


REANALYSIS_COLUMNS = ["prior", "ratio (95% interval)", "P(any reduction)",
                      "P(reduction ≥ MCID)", "P(harm)", "P(practically no change)"]


def reanalysis_rows(primary: OutcomeAnalysis, rule: DecisionRule) -> list[Row]:
    """The published estimate of the primary outcome under each of the report's priors (exact
    posterior)."""
    rows = []
    mcid = primary.spec.decision.mcid
    for name, pa in primary.results.items():
        e = reanalyse(prior=pa.prior, outcome=primary.outcome, mcid=mcid).effect
        cells = [Cell("irr_median", e.median, ratio_text(e)),
                 Cell("prob_any_reduction", e.prob_any_reduction, pct(e.prob_any_reduction)),
                 Cell("prob_meaningful_reduction", e.prob_meaningful_reduction,
                      pct(e.prob_meaningful_reduction, rule.stop, rule.invest),
                      _traffic(rule, e.prob_meaningful_reduction)),
                 Cell("prob_harm", e.prob_harm, pct(e.prob_harm)),
                 Cell("prob_rope", e.prob_rope, pct(e.prob_rope))]
        rows.append(Row(primary.outcome, name, cells))
    return rows


def fit_check_lines(analyses: Sequence[OutcomeAnalysis]) -> list[tuple[str, str, bool]]:
    """One line per outcome: whether its model reproduces the data, and what a failed check
    means for the numbers above it.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis

    Returns
    -------
    list of (str, str, bool)
        The outcome's label, the sentence, and whether every check passed.
    """
    lines = []
    for o in analyses:
        label = outcome_schema(o.outcome).label
        check = o.check
        if check is None or check.ppc is None:
            why = "" if check is None else f" ({check.error})"
            lines.append((label, f"not checked{why}: read its numbers with that in mind.", False))
            continue
        ppc, loo = check.ppc, check.loo
        problems = [f"the data's {c.description.lower()} is "
                    f"{'larger' if c.p_value < 0.5 else 'smaller'} than the model's replicates "
                    f"(p = {c.p_value:.3f})" for c in ppc.checks if c.flag]
        if loo.pareto_k_over_0_7:
            problems.append(f"{loo.pareto_k_over_0_7} school(s) have Pareto k > 0.7, so the "
                            "model's fit to them rests on few draws")
        if loo.pit_p_value is not None and loo.pit_p_value < 0.01:
            problems.append(f"left-out schools are mispredicted (LOO-PIT uniformity p = "
                            f"{loo.pit_p_value:.3f})")
        if not problems:
            lines.append((label, f"checks passed: all {len(ppc.checks)} predictive checks, "
                                 f"PSIS-LOO (elpd {loo.elpd_loo:.1f}, SE {loo.se:.1f}) and "
                                 "LOO-PIT.", True))
            continue
        lines.append((label, "; ".join(problems) + ". The model misses this feature of the "
                             "data, so its intervals above may misstate the uncertainty; "
                             "compare other models (swisbayes compare) before relying on them.",
                      False))
    return lines


__all__ = [
    "diagnostics_rows",
    "economics_rows",
    "effect_cells",
    "effect_groups",
    "evsi_rows",
    "fit_check_lines",
    "outcome_decimals"
]
