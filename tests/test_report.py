"""The decision report: its numbers are the decision functions' numbers, its words follow the
rule, it hides small counts, and it renders in a browser."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.data.simulate import TrialDesign, simulate_trial
from swisbayes.decision.rule import DecisionRule, decide_verdict
from swisbayes.decision.summaries import (
    DifferenceSummary,
    decide_attendance,
    difference_decimals,
    signed,
)
from swisbayes.economics.net_benefit import load_economics
from swisbayes.economics.value_for_money import mean_pupils
from swisbayes.evidence.reanalysis import reanalyse
from swisbayes.families.registry import decide_spec
from swisbayes.report.content import headline
from swisbayes.report.disclosure import SUPPRESSED, arm_counts, suppress_row
from swisbayes.report.run import make_report
from swisbayes.report.tables import effect_cells, outcome_decimals
from swisbayes.report.view import POINTS, points_text
from swisbayes.workflows.tipping import verdict_tipping
from swisbayes.workflows.value_for_money import prior_economics, rule_terms, trial_values

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


class _Cells(HTMLParser):
    """Every element with a ``data-key``: (table id, row's data-outcome/prior, key, value),
    its text by (table id, outcome, prior, key), each effects row's ``data-scale``, and the
    text of every ``td.count`` cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str | None, str | None, str, str]] = []
        self.texts: dict[tuple[str, str | None, str | None, str], str] = {}
        self.scales: dict[tuple[str | None, str | None], str | None] = {}
        self.counts: list[str] = []
        self._table = self._outcome = self._prior = None
        self._in_count = False
        self._text_of: tuple | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
        if tag == "tr":
            self._outcome, self._prior = a.get("data-outcome"), a.get("data-prior")
            if self._table == "effects" and self._outcome is not None:
                self.scales[(self._outcome, self._prior)] = a.get("data-scale")
        if "data-key" in a:
            self.cells.append((self._table, self._outcome, self._prior, a["data-key"],
                               a.get("data-value")))
            self._text_of = (self._table, self._outcome, self._prior, a["data-key"])
            self.texts[self._text_of] = ""
        self._in_count = tag == "td" and a.get("class") == "count"

    def handle_endtag(self, tag):
        if tag in ("td", "div"):
            self._text_of = None

    def handle_data(self, data):
        if self._text_of is not None:
            self.texts[self._text_of] += data
        if self._in_count:
            self.counts.append(data.strip())
            self._in_count = False


def _parse(path: Path) -> _Cells:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _value(cells: _Cells, table: str, key: str, *, outcome: str | None = None,
           prior: str | None = None) -> float:
    found = [v for t, o, p, k, v in cells.cells
             if t == table and k == key and (outcome is None or o == outcome)
             and (prior is None or p == prior)]
    assert len(found) == 1, (table, key, outcome, prior, found)
    return float(found[0])


# ----------------------------------------------------------------------------- fast


def _verdicts(probs: dict[str, float], nmb: float = 0.0, rule: DecisionRule | None = None):
    rule = rule or DecisionRule()
    return {name: decide_verdict(rule, p, nmb, mcid=0.1, outcome_label="S47 enquiries")
            for name, p in probs.items()}


@pytest.mark.parametrize(("probs", "nmb", "verdict"), [
    ({"vague": 0.0999, "sceptical": 0.02}, 0.0, "stop"),
    ({"vague": 0.10, "sceptical": 0.5}, 0.0, "more evidence"),
    ({"vague": 0.7999, "sceptical": 0.3}, 0.9, "more evidence"),
    ({"vague": 0.80, "sceptical": 0.95}, 0.5, "invest"),
    ({"vague": 0.90, "sceptical": 0.85}, 0.4999, "more evidence"),  # effective, not value
])
def test_headline_follows_the_rule_on_each_side_of_each_threshold(probs, nmb, verdict):
    rule = DecisionRule()
    kind, word, css, text = headline(_verdicts(probs, nmb, rule), rule)
    assert kind == verdict
    assert word.lower().startswith(verdict.split()[0])
    assert text.startswith("Under every prior we considered")
    if verdict == "stop":
        assert "the verdict is to stop" in text
        assert f"is at most {max(probs.values()):.2%}, under the 10% needed" in text
    if verdict == "invest":
        assert "the verdict is to invest" in text
        assert f"at least {min(probs.values()):.1%}" in text
    if verdict == "more evidence" and min(probs.values()) >= 0.8:  # works, poor value
        assert "SWIS probably works" in text
        assert "value for money is at most 49.99%, under the 50%" in text
    assert css in {"invest", "more", "stop"}


def test_headline_says_when_the_priors_disagree():
    verdicts = _verdicts({"vague": 0.05, "enthusiastic": 0.2})
    kind, word, css, text = headline(verdicts, DecisionRule())
    assert kind == "depends on the prior"
    assert word == "Depends on the prior"
    assert css == "mixed"
    assert "stop under the vague prior" in text
    assert "more evidence needed under the enthusiastic prior" in text
    assert "from 5.0% to 20.0%" in text


def test_headline_stop_sentence_quotes_the_largest_probability():
    *_, text = headline(_verdicts({"vague": 0.004, "sceptical": 0.002}), DecisionRule())
    assert "is below 0.5%" in text


def test_cli_refuses_a_suppression_threshold_below_five():
    result = CliRunner().invoke(cli, ["report", "--suppress", "3", "--quiet"])
    assert result.exit_code == 2
    assert "'--suppress': 3 is not in the range x>=5" in result.output


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"suppress_threshold": 4}, "suppress_threshold must be at least 5"),
    ({"priors": ("sceptical", "enthusiastic")}, "must include 'vague'"),
])
def test_make_report_refuses_bad_settings_before_fitting(tmp_path, monkeypatch, kwargs, message):
    from swisbayes._base.errors import SpecError
    from swisbayes.workflows import multiprior as analyses

    def no_fits(*args, **kwargs):
        raise AssertionError("nothing may be fitted before the settings are checked")

    monkeypatch.setattr(analyses, "fit", no_fits)
    with pytest.raises(SpecError, match=message):
        make_report(data=swisbayes.load_example(), spec_dir=MODELS, out=tmp_path / "r.html",
                    **kwargs)
    assert not (tmp_path / "r.html").exists()


def test_equal_weight_draws_follow_the_weights():
    """Systematic resampling picks draw i floor(n w_i) or floor(n w_i) + 1 times (exactly),
    never a draw of weight 0, so the resampled mean is the weighted mean within MC error."""
    from swisbayes.inference.reweight import equal_weight_draws

    rng = np.random.default_rng(5)
    x = rng.normal(size=4000)
    w = np.exp(0.5 * x)
    w[:100] = 0.0
    w /= w.sum()
    index = np.arange(x.size, dtype=float)  # draws that name themselves
    for n in (4000, 1000):
        picked = equal_weight_draws(index, w, n).astype(int)
        counts = np.bincount(picked, minlength=x.size)
        assert counts.sum() == n
        assert np.all(counts[:100] == 0)
        assert np.all((counts >= np.floor(n * w) - 1e-9) & (counts <= np.floor(n * w) + 1))
        y = x[picked]
        assert abs(y.mean() - np.dot(w, x)) < 4 * x.std() / np.sqrt(n)
    np.testing.assert_array_equal(equal_weight_draws(x, None, 4000), x)


def test_headline_extremes_never_read_as_at_most_less_than():
    rule = DecisionRule()
    *_, works = headline(_verdicts({"vague": 0.9, "sceptical": 0.85}, 0.0, rule), rule)
    assert "value for money is less than 0.1%" in works
    *_, invest = headline(_verdicts({"vague": 0.9}, 1.0, rule), rule)
    assert "value for money is more than 99.9%" in invest
    *_, mixed = headline(_verdicts({"vague": 0.0999, "sceptical": 0.5}), rule)
    assert "ranges from 9.99% to 50.0%" in mixed
    *_, open_ = headline(_verdicts({"vague": 0.5, "sceptical": 0.85}, 0.2, rule), rule)
    assert "not decisive" in open_
    assert "Under the sceptical prior SWIS probably works but is unlikely to be value" in open_


def _attendance_posterior(rng, centre_pp: float, sd_pp: float, shape=(2, 2000)) -> xr.Dataset:
    """Draws of every variable attendance's decision reads, consistent with each other: the
    control absence rate, the difference in points, and the ratio and sessions they imply."""
    control = rng.normal(0.07, 0.0005, shape)
    diff = rng.normal(centre_pp, sd_pp, shape)
    new = diff + rng.normal(0.0, sd_pp, shape)
    sessions = 380_000.0  # sessions possible per 1000 pupils a year
    return xr.Dataset({name: (("chain", "draw"), value) for name, value in {
        "irr": 1 + diff / 100 / control, "irr_new_la": 1 + new / 100 / control,
        "rate_control_per_1000": control * sessions,
        "rate_swis_per_1000": (control + diff / 100) * sessions,
        "diff_pp": diff, "diff_pp_new_la": new, "absence_rate_control": control}.items()})


def test_attendance_cells_are_in_points_with_every_probability_on_that_scale():
    rule = DecisionRule()
    post = _attendance_posterior(np.random.default_rng(4), -0.6, 0.2)
    d = decide_attendance(post, outcome="attendance", prior="vague", mcid=0.1, mcid_pp=0.5,
                          followup_years=1.0)
    cells = {c.key: c for c in effect_cells(d, rule, 1000.0)}
    assert list(cells) == ["diff_pp_median", "prob_any_reduction_pp",
                           "prob_meaningful_improvement_pp", "prob_harm_pp", "prob_rope_pp",
                           "new_la.prob_meaningful_improvement_pp", "averted_per_1000",
                           "averted_per_school_year"]  # no ratio key: one scale per row
    diff, new = post["diff_pp"].to_numpy().ravel(), post["diff_pp_new_la"].to_numpy().ravel()
    places = difference_decimals(d.difference)
    assert cells["diff_pp_median"].value == np.median(diff) == d.difference.median
    assert cells["diff_pp_median"].text == points_text(d.difference, places)
    assert cells["diff_pp_median"].text.startswith(f"{signed(np.median(diff), places)} pp (")
    assert cells["prob_any_reduction_pp"].value == np.mean(diff < 0)
    assert cells["prob_meaningful_improvement_pp"].value == np.mean(diff < -0.5)
    assert cells["prob_harm_pp"].value == np.mean(diff > 0)
    assert cells["prob_rope_pp"].value == np.mean(np.abs(diff) < 0.5)
    assert cells["new_la.prob_meaningful_improvement_pp"].value == np.mean(new < -0.5)
    # A fall of 0.5 points is not a 10% fall of 7% absence: the colour is the points' verdict.
    p = np.mean(diff < -0.5)
    assert abs(p - d.effect.prob_meaningful_reduction) > 0.1
    assert cells["prob_meaningful_improvement_pp"].css == {"invest": "invest",
                                                           "more evidence": "more",
                                                           "stop": "stop"}[rule.verdict(p)]


def _difference(median: float, low: float, high: float) -> DifferenceSummary:
    return DifferenceSummary(median, (low, high), 0.95, 0.5, 0.0, 0.5, 0.5, 1.0)


def test_priors_print_differently_when_they_differ_by_more_than_the_resolution():
    # Attendance on the bundled data: medians 0.0002 points apart, intervals 0.029 wide. At
    # two decimals both medians read +0.00 (and the ratio 1.00); the chosen decimals differ.
    vague = _difference(0.001056, -0.013721, 0.015110)
    enthusiastic = _difference(0.000896, -0.013810, 0.014929)
    assert signed(vague.median, 2) == signed(enthusiastic.median, 2) == "+0.00"
    places = difference_decimals(vague, enthusiastic)
    assert places == 4
    assert points_text(vague, places) == "+0.0011 pp (-0.0137 to +0.0151)"
    assert points_text(enthusiastic, places) == "+0.0009 pp (-0.0138 to +0.0149)"
    rng = np.random.default_rng(9)
    for _ in range(3000):
        width = 10 ** rng.uniform(-4.0, 1.0)
        m = rng.normal(0.0, width)
        other = m + rng.choice([-1.0, 1.0]) * width * 10 ** rng.uniform(-6.0, 0.0)
        a = _difference(m, m - width / 2, m + width / 2)
        b = _difference(other, other - width, other + width)
        places = difference_decimals(a, b)
        step = 10.0 ** -places
        if abs(m - other) > step:
            assert points_text(a, places) != points_text(b, places), (m, other, places)
        if 2 < places < 6:  # neither bound binds: the resolution is under 1% of the width
            assert step <= 0.01 * width
        assert "-0." + "0" * places not in points_text(a, places)  # never a negative zero


@pytest.mark.parametrize(("counts", "expected"), [
    ([3, 40, 43], [SUPPRESSED, 40, SUPPRESSED]),   # one arm small: the total would reveal it
    ([40, 3, 43], [40, SUPPRESSED, SUPPRESSED]),
    ([2, 3, 5], [SUPPRESSED, SUPPRESSED, SUPPRESSED]),
    ([4, 4, 8], [SUPPRESSED, SUPPRESSED, 8]),      # both hidden: 8 does not give either away
    ([0, 0, 0], [0, 0, 0]),                        # zero is not suppressed (DfE convention)
    ([0, 6, 6], [0, 6, 6]),
    ([6, 7, 13], [6, 7, 13]),
])
def test_suppression_hides_small_counts_and_what_would_reveal_them(counts, expected):
    assert suppress_row(counts) == expected


SMALL = TrialDesign(n_la=4, n_swis=8, n_control=8, min_per_arm=1, max_per_arm=3,
                    total_pupils=3_000)
"""A trial small enough that care entry has arm totals from 1 to 5."""


def _small_trial(seed: int = 11):
    frame = simulate_trial(seed, design=SMALL).frame
    totals = frame.groupby("arm")[["care_entry"]].sum().to_numpy().ravel()
    assert any(1 <= v <= 5 for v in totals), "the constructed data must have small totals"
    return frame


def test_arm_counts_never_shows_a_count_from_1_to_the_threshold():
    from swisbayes.data.io import read_school_data

    frame = _small_trial()
    data = read_school_data(frame, outcomes=["s47", "care_entry", "days_in_care"])
    for threshold in (5, 10):
        table = arm_counts(data, ["s47", "care_entry", "days_in_care"], threshold)
        shown = [v for v in table.to_numpy().ravel() if v != SUPPRESSED]
        assert SUPPRESSED in table.to_numpy().ravel()
        assert all(not 1 <= int(v) <= threshold for v in shown)
        # what is shown is the truth
        care = table.loc["Children entering care"]
        by_arm = frame.groupby("arm")["care_entry"].sum()
        for column, arm in (("SWIS", 1), ("control", 0)):
            assert care[column] in (SUPPRESSED, int(by_arm[arm]))


# ----------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_html_numbers_equal_the_decision_functions(bundled_report):
    run, path = bundled_report
    cells = _parse(path)
    pupils = 278858 / 268  # the bundled data's mean school size
    checked = 0
    for o in run.analyses:
        for name, pa in o.results.items():
            again = decide_spec(pa.posterior, pa.spec, weights=pa.weights)
            keys = {"irr_median": again.effect.median,
                    "prob_meaningful_reduction": again.effect.prob_meaningful_reduction,
                    "prob_any_reduction": again.effect.prob_any_reduction,
                    "prob_harm": again.effect.prob_harm,
                    "prob_rope": again.effect.prob_rope,
                    "new_la.prob_meaningful_reduction": again.new_la.prob_meaningful_reduction,
                    "averted_per_1000": again.averted_per_1000}
            if o.outcome == "attendance":  # in percentage points, probabilities included
                d, new = again.difference, again.new_la_difference
                keys = {"diff_pp_median": d.median,
                        "prob_meaningful_improvement_pp": d.prob_meaningful_reduction,
                        "prob_any_reduction_pp": d.prob_any_reduction,
                        "prob_harm_pp": d.prob_harm, "prob_rope_pp": d.prob_rope,
                        "new_la.prob_meaningful_improvement_pp": new.prob_meaningful_reduction,
                        "averted_per_1000": again.averted_per_1000}
            for key, expected in keys.items():
                assert _value(cells, "effects", key, outcome=o.outcome, prior=name) == expected
                checked += 1
            per_school = _value(cells, "effects", "averted_per_school_year", outcome=o.outcome,
                                prior=name)
            assert per_school == pytest.approx(again.averted_per_1000 * pupils / 1000, rel=1e-12)
    assert checked == 7 * sum(len(o.results) for o in run.analyses) >= 7 * 6 * 3


@pytest.mark.slow
def test_attendance_reads_in_percentage_points(bundled_report):
    run, path = bundled_report
    cells = _parse(path)
    attendance = next(o for o in run.analyses if o.outcome == "attendance")
    places = outcome_decimals(attendance)
    assert places >= 3  # two decimals would print +0.00 (-0.01 to +0.02) under every prior
    shown = {}
    for name, pa in attendance.results.items():
        again = decide_spec(pa.posterior, pa.spec, weights=pa.weights)
        value = _value(cells, "effects", "diff_pp_median", outcome="attendance", prior=name)
        assert value == again.difference.median  # the exact pp median, not the ratio
        text = cells.texts[("effects", "attendance", name, "diff_pp_median")]
        assert text == points_text(again.difference, places)
        assert text.startswith(f"{signed(again.difference.median, places)} pp (")
        assert cells.scales[("attendance", name)] == POINTS
        keys = {k for t, o, p, k, _ in cells.cells
                if t == "effects" and o == "attendance" and p == name}
        assert not keys & {"irr_median", "prob_meaningful_reduction", "prob_any_reduction",
                           "prob_harm", "prob_rope"}  # one scale per row
        shown[name] = (again.difference.median, text)
    for (a, (va, ta)), (b, (vb, tb)) in itertools.combinations(shown.items(), 2):
        if abs(va - vb) > 10.0 ** -places:
            assert ta != tb, (a, b, ta, tb)
    assert {scale for (o, _), scale in cells.scales.items() if o != "attendance"} == {"ratio"}
    html = unescape(path.read_text(encoding="utf-8"))
    assert "absence (a fall of at least 0.5 percentage points)" in html  # the key points
    assert 'id="fig-attendance_points"' in html
    assert "Absence is not on this scale: it is in percentage points" in html
    assert "0.5 pp (10% as a ratio of absence rates)" in html  # its MCID, as an assumption
    forest = next(f for f in run.report.figures if f.name == "forest")
    assert "percentage points" in forest.caption
    table = pd.read_csv(path.with_suffix(".csv"))
    rows = table[(table["section"] == "effects") & (table["outcome"] == "attendance")]
    assert set(rows["effect_scale"]) == {POINTS}
    assert rows["irr_median"].isna().all()
    for _, row in rows.iterrows():
        assert row["diff_pp_median"] == attendance.results[row["prior"]].decision.difference.median
    others = table[(table["section"] == "effects") & (table["outcome"] != "attendance")]
    assert set(others["effect_scale"]) == {"ratio"}
    assert others["diff_pp_median"].isna().all()


@pytest.mark.slow
def test_html_economics_and_reanalysis_equal_their_functions(bundled_report):
    run, path = bundled_report
    cells = _parse(path)
    inputs = load_economics(MODELS / "economics.toml")
    pupils = mean_pupils(load_example_data(run))
    assert pupils == pytest.approx(278858 / 268)
    primary = next(o for o in run.analyses if o.outcome == "s47")
    for name, pa in primary.results.items():
        e = prior_economics(run.analyses, name, inputs, pupils)
        assert _value(cells, "economics", "nmb_mean", prior=name) == e.nmb.mean
        assert _value(cells, "economics", "prob_nmb_positive", prior=name) == e.nmb.prob_positive
        assert _value(cells, "economics", "population_evpi", prior=name) == e.population_evpi
        grid = list(inputs.willingness_to_pay.grid)
        for w in (1000, 10000, 20000):
            assert _value(cells, "economics", f"ceac_{w}", prior=name) == e.ceac[grid.index(w)]
        r = reanalyse(prior=pa.prior, outcome="s47", mcid=pa.decision.mcid).effect
        assert _value(cells, "reanalysis", "prob_meaningful_reduction", prior=name) == \
            r.prob_meaningful_reduction
    published = [float(v) for t, _, p, k, v in cells.cells
                 if t == "economics" and p == "published economic evaluation"
                 and k.startswith("ceac_")]
    assert published == [0.013, 0.011, 0.061]
    # the value of further trials: every cell is the library's number
    values = trial_values(run.analyses, inputs, pupils)
    for name, v in values.items():
        shown = [float(val) for t, _, _, k, val in cells.cells
                 if t == "evsi" and k == f"population_evsi.{name}"]
        assert shown == list(v.table["population_evsi"])
        assert _value(cells, "evsi", f"population_evpi.{name}") == v.population_evpi
    # the verdict changes, by the whole rule: every sentence is the library's
    vague = prior_economics(run.analyses, "vague", inputs, pupils).verdict
    tipping = verdict_tipping(primary, vague, inputs.decision_rule,
                              terms=rule_terms(run.analyses, inputs, pupils))
    html = unescape(path.read_text(encoding="utf-8"))
    assert tipping.changes
    for change in [*tipping.changes, *tipping.published_changes]:
        assert change.text[1:] in html
    assert f"from its vague-prior verdict '{tipping.published_verdict}'" in html


@pytest.mark.slow
def test_net_benefit_by_hand_from_the_posterior(bundled_report):
    """NMB under the vague prior, from the rates in the posterior and the inputs, with the
    units written out: per 1000 pupils over the follow-up -> per school-year."""
    run, _ = bundled_report
    inputs = load_economics(MODELS / "economics.toml")
    pupils = 278858 / 268
    total = -inputs.cost_per_school_year.value
    for o in run.analyses:
        if o.outcome not in inputs.values:
            continue
        post = o.results["vague"].fit.idata["posterior"]
        per_1000 = (post["rate_control_per_1000"] - post["rate_swis_per_1000"]).to_numpy()
        per_school_year = per_1000.mean() / o.spec.followup_years * pupils / 1000
        total += inputs.values[o.outcome] * per_school_year
    e = prior_economics(run.analyses, "vague", inputs, pupils)
    assert e.nmb.mean == pytest.approx(total, rel=1e-9)
    assert e.counted == ("s47", "referrals", "s17", "days_in_care")
    assert e.missing == ()
    # Under a reweighted prior the draws are resampled to equal weights before pairing: the
    # mean net benefit is the importance-weighted total within Monte Carlo error.
    total, ess = -inputs.cost_per_school_year.value, []
    for o in run.analyses:
        if o.outcome not in inputs.values:
            continue
        pa = o.results["enthusiastic"]
        per_1000 = (pa.draws("rate_control_per_1000") - pa.draws("rate_swis_per_1000"))
        w = pa.weights if pa.weights is not None else np.full(per_1000.size, 1 / per_1000.size)
        total += inputs.values[o.outcome] * np.dot(w, per_1000) / o.spec.followup_years \
            * pupils / 1000
        ess.append(1 / np.sum(w**2))
    e = prior_economics(run.analyses, "enthusiastic", inputs, pupils)
    spread = (e.nmb.ci[1] - e.nmb.ci[0]) / 3.92  # about one posterior SD
    assert abs(e.nmb.mean - total) < 4 * spread / np.sqrt(min(ess))


def load_example_data(run):
    from swisbayes.workflows.multiprior import load_report_data

    return load_report_data(swisbayes.load_example(), [o.spec for o in run.analyses])


@pytest.mark.slow
def test_report_verdict_follows_the_rule(bundled_report):
    run, path = bundled_report
    cells = _parse(path)
    verdict = next(v for t, _, _, k, v in cells.cells if k == "verdict" and t is None)
    rule = load_economics(MODELS / "economics.toml").decision_rule
    primary = next(o for o in run.analyses if o.outcome == "s47")
    inputs = load_economics(MODELS / "economics.toml")
    pupils = mean_pupils(load_example_data(run))
    expected = {rule.verdict(pa.decision.effect.prob_meaningful_reduction,
                             prior_economics(run.analyses, n, inputs, pupils).nmb.prob_positive)
                for n, pa in primary.results.items()}
    assert verdict == (expected.pop() if len(expected) == 1 else "depends on the prior")
    assert run.ok
    csv = path.with_suffix(".csv").read_text()
    assert "prob_meaningful_reduction" in csv
    assert "nmb_mean" in csv


@pytest.mark.slow
def test_small_counts_never_reach_the_report(tmp_path, monkeypatch):
    """A small trial (few pupils, rare care entry): no count from 1 to 5 is shown, and LA
    codes appear only on request."""
    specs = tmp_path / "models"
    specs.mkdir()
    for name in ("s47_primary.toml", "care_entry.toml", "economics.toml", "pilots.toml"):
        shutil.copy(MODELS / name, specs / name)
    frame = _small_trial()
    data = tmp_path / "small.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--data", str(data), "--spec-dir", str(specs),
                                      "--out", str(out), "--quiet"])
    assert result.exit_code in (0, 3), result.output  # 3: a fit of the tiny trial failed
    assert f"wrote {out}" in result.output
    cells = _parse(out)
    assert SUPPRESSED in cells.counts
    for text in cells.counts:
        assert text == SUPPRESSED or not 1 <= int(text) <= 5
    html = out.read_text(encoding="utf-8")
    codes = sorted(set(frame["la_id"]))
    assert not any(code in html for code in codes)
    assert re.search(r">\s*(school_id|S\d{3})\s*<", html) is None  # no school-level rows
    named = tmp_path / "named.html"
    seen = []
    from swisbayes.report import figures

    original = figures.plot_la_effects

    def spy(*args, labels=None, **kwargs):
        seen.append(labels)
        return original(*args, labels=labels, **kwargs)

    monkeypatch.setattr(figures, "plot_la_effects", spy)
    make_report(data=data, spec_dir=specs, out=out, priors=("vague",))
    make_report(data=data, spec_dir=specs, out=named, priors=("vague",), show_la_codes=True)
    assert seen[0] is None  # anonymised in the figure
    assert sorted(seen[1]) == codes
    assert "LAs are named at the user's request" in unescape(named.read_text(encoding="utf-8"))


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("headless Chromium is needed for the browser test; `make test` installs "
                    "Debian's chromium package")
    return path


def _render(html: Path, png: Path, tmp_path: Path) -> str:
    """Render a page to PNG in headless Chromium; returns its log (console messages)."""
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
           "--enable-logging=stderr", "--v=0", "--window-size=1100,2400",
           f"--screenshot={png}", html.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), done.stderr[-2000:]
    return done.stderr


def _console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.mark.slow
def test_report_renders_in_a_browser_without_errors(bundled_report, tmp_path):
    import matplotlib.image as mpimg

    _, path = bundled_report
    # the check can fail: a page with a console error is caught
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><p>x</p><script>console.error('boom')</script></body></html>")
    assert _console_errors(_render(broken, tmp_path / "broken.png", tmp_path))
    png = tmp_path / "report.png"
    log = _render(path, png, tmp_path)
    assert _console_errors(log) == []
    image = mpimg.imread(png)
    assert image.shape[:2] == (2400, 1100)
    grey = image[..., :3].mean(axis=-1)
    assert grey.std() > 0.05  # not blank
    assert (grey < 0.5).mean() > 0.01  # there is text and drawing on it


@pytest.mark.slow
def test_outcomes_fitted_in_worker_processes_equal_those_fitted_here(bundled_report):
    run, _ = bundled_report
    specs = [a.spec for a in run.analyses[:2]]
    data = swisbayes.read_school_data(swisbayes.load_example(),
                                      outcomes=[s.outcome for s in specs])
    here = swisbayes.run_analyses(specs, data, ("vague", "sceptical"))
    for mine, theirs in zip(here, run.analyses[:2], strict=True):
        for prior in ("vague", "sceptical"):
            assert (mine.results[prior].decision.to_dict()
                    == theirs.results[prior].decision.to_dict())
            assert mine.results[prior].path == theirs.results[prior].path


def test_an_outcome_that_cannot_be_analysed_is_named(example):
    spec = swisbayes.load_spec("s47_primary")
    data = swisbayes.read_school_data(example, outcomes=["s47"])
    with pytest.raises(swisbayes.SwisbayesError, match=r"s47_primary: .*no-such-prior"):
        swisbayes.run_analyses([spec], data, ("no-such-prior",))


class _Paragraphs(HTMLParser):
    """The text of every paragraph and list item of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "li"):
            self._open = []

    def handle_endtag(self, tag):
        if tag in ("p", "li") and self._open is not None:
            self.texts.append(" ".join("".join(self._open).split()))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)


@pytest.mark.slow
def test_no_paragraph_appears_twice_on_the_page(bundled_report):
    _, path = bundled_report
    parser = _Paragraphs()
    parser.feed(path.read_text(encoding="utf-8"))
    texts = [t for t in parser.texts if t]
    assert len(texts) > 10
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    assert not repeated, repeated


@pytest.mark.slow
def test_the_page_says_whether_each_model_fits_as_the_checks_do(bundled_report):
    run, path = bundled_report
    html = unescape(path.read_text(encoding="utf-8"))
    assert "Does the model fit?" in html
    lines = re.findall(r'<li class="[^"]*" data-ok="(True|False)"><b>([^<]+)</b>: ([^<]+)</li>',
                       html)
    assert len(lines) == len(run.analyses)
    for (ok, label, text), outcome in zip(lines, run.analyses, strict=True):
        check = outcome.check
        passed = (not check.ppc.flagged and check.loo.pareto_k_over_0_7 == 0
                  and (check.loo.pit_p_value is None or check.loo.pit_p_value >= 0.01))
        assert ok == str(passed), (label, text)
        assert ("checks passed" in text) == passed
        for statistic in check.ppc.flagged:
            assert check.ppc[statistic].description.lower() in text
    assert 'id="fig-ppc"' in html
    assert 'id="fig-loo_pit"' in html
