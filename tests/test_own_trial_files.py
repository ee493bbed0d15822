"""A user's own trial file: specs adapt from the command line, validate checks what fit needs,
and the report follows the data (outcomes left out and covariates dropped are named)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.workflows.multiprior import data_metadata, plan_report, report_specs

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def own_trial(tmp_path, example) -> Path:
    """S47, referrals and care entry with baselines; no fsm_pct, days in care or attendance."""
    keep = ["school_id", "la_id", "arm", "pupils", "s47", "s47_baseline", "referrals",
            "referrals_baseline", "care_entry", "care_entry_baseline"]
    path = tmp_path / "mytrial.csv"
    example[keep].to_csv(path, index=False)
    return path


def test_spec_helpers_record_what_they_change():
    spec = swisbayes.load_spec("s47_primary")
    changed = spec.with_covariates([]).with_family("poisson").with_mcid(0.15)
    assert (changed.covariates, changed.family, changed.decision.mcid) == ((), "poisson", 0.15)
    assert changed.overrides == {"covariates": [], "family": "poisson", "mcid": 0.15}
    assert spec.overrides == {}


def test_validate_with_a_spec_checks_exactly_what_fit_needs(own_trial):
    # every outcome present is fine, but the primary spec adjusts for fsm_pct
    assert run("validate", own_trial).exit_code == 0
    needs = run("validate", own_trial, "--spec", "s47_primary")
    assert needs.exit_code == 1
    assert "fsm_pct" in needs.output
    fit = run("fit", "s47_primary", "--data", own_trial)
    assert fit.exit_code == 1
    assert "fsm_pct" in fit.output
    # the same override makes both pass
    ok = run("validate", own_trial, "--spec", "s47_primary", "--covariates", "s47_baseline")
    assert ok.exit_code == 0, ok.output


def test_the_report_plan_leaves_out_absent_outcomes_and_drops_absent_covariates(own_trial):
    specs = report_specs(ROOT / "models")
    columns = list(pd.read_csv(own_trial, nrows=0).columns)
    plan = plan_report(specs, columns)
    assert [s.outcome for s in plan.specs] == ["s47", "referrals", "care_entry"]
    assert all("fsm_pct" not in s.covariates for s in plan.specs)
    assert all(s.overrides["covariates"] == list(s.covariates) for s in plan.specs)
    text = " ".join(plan.notes)
    for left_out in ("s17", "days_in_care", "attendance"):
        assert f"({left_out}) is left out" in text
    assert "not adjusted for fsm_pct" in text
    # an explicit choice wins over dropping, and a family applies where it fits
    explicit = plan_report(specs, columns, covariates=["fsm_pct"], family="poisson")
    assert all(s.covariates == ("fsm_pct",) for s in explicit.specs)
    assert all(s.family == "poisson" for s in explicit.specs)


def test_the_report_needs_its_primary_outcome(example):
    with pytest.raises(swisbayes.DataError, match=r"no column 's47'"):
        plan_report(report_specs(ROOT / "models"), [c for c in example.columns
                                                     if not c.startswith("s47")])


def test_the_data_declare_their_trial(tmp_path, example):
    assert data_metadata(example)["trial"] == "SWIS"  # the bundled stand-in for SWIS
    path = tmp_path / "t.csv"
    example.to_csv(path, index=False)
    assert data_metadata(path) == {}
    path.with_name("t.json").write_text(json.dumps({"trial": "Named by its stem"}))
    assert data_metadata(path) == {"trial": "Named by its stem"}  # as the bundled files are
    path.with_name("t.csv.json").write_text(json.dumps({"trial": "Other"}))
    assert data_metadata(path) == {"trial": "Other"}  # simulate's FILE.json comes first


EXAMPLE_DIR = ROOT / "models" / "examples" / "other_trial"


def test_another_trials_spec_folder_gives_its_analyses_with_the_chosen_primary_first():
    assert [s.name for s in report_specs(EXAMPLE_DIR)] == ["exclusions", "police_contacts"]
    by_outcome = report_specs(EXAMPLE_DIR, primary="police_contacts")
    assert [s.name for s in by_outcome] == ["police_contacts", "exclusions"]
    swis = report_specs(ROOT / "models", primary="referrals")
    assert [s.outcome for s in swis][:2] == ["referrals", "s47"]
    with pytest.raises(swisbayes.SpecError, match=r"--primary s74.*exclusions \(exclusions\)"):
        report_specs(EXAMPLE_DIR, primary="s74")


def test_a_spec_file_named_primary_comes_first(tmp_path):
    for name in ("exclusions", "police_contacts"):
        text = (EXAMPLE_DIR / f"{name}.toml").read_text(encoding="utf-8")
        target = "zz_primary.toml" if name == "police_contacts" else f"{name}.toml"
        (tmp_path / target).write_text(text, encoding="utf-8")
    economics = (ROOT / "models" / "economics.toml").read_text(encoding="utf-8")
    (tmp_path / "economics.toml").write_text(economics, encoding="utf-8")  # not an analysis
    assert [s.name for s in report_specs(tmp_path)] == ["police_contacts", "exclusions"]


@pytest.mark.slow
def test_the_report_follows_the_data_from_another_directory(own_trial, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./models here: the shipped specs are used
    out = tmp_path / "report.html"
    result = run("report", "--data", own_trial, "--out", out, "--quiet", "--workers", "2")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Days in care (days_in_care) is left out" in html
    assert "not adjusted for fsm_pct" in html
    assert "The published result, re-analysed" not in html  # the file declares no trial
    assert "Economic inputs: the bundled SWIS assumptions" in html


@pytest.mark.slow
def test_another_trials_report_speaks_of_that_trial_only(tmp_path, monkeypatch):
    """The shipped example trial (no S47; economic inputs without a value for its outcomes)
    from another directory: its outcome, its intervention, no value for money, no SWIS."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "other.html"
    data = ROOT / "swisbayes" / "data" / "files" / "other_trial_example.csv"
    result = run("report", "--data", data, "--spec-dir", EXAMPLE_DIR, "--out", out, "--quiet",
                 "--workers", "2")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<h1>Example school-clustered trial: what the evidence says" in html
    assert "the probability that the programme reduces fixed-term exclusions" in html
    assert "value for money not assessed" in html  # the rule as applied, in its sentence
    assert 'id="economics"' not in html
    assert 'id="evsi"' not in html
    assert "They give no value for an averted event of fixed-term exclusions" in html
    # SWIS appears once: naming the bundled economic inputs whose rule thresholds are used
    assert html.count("SWIS") == 1
    assert "Economic inputs: the bundled SWIS assumptions" in html
    for word in ("S47", "Section 47", "enquiries", "Social Workers"):
        assert word not in html, word
    assert "The published result, re-analysed" not in html


@pytest.mark.slow
def test_another_trials_economic_inputs_value_its_outcome(tmp_path, monkeypatch):
    """With a value per averted exclusion, the example trial's page has its value for money,
    further trials and What if? panel, about the programme and its outcome."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "models" / "economics.toml").read_text(encoding="utf-8")
    economics = tmp_path / "economics.toml"
    economics.write_text(text.replace("[value_per_event.s47]", "[value_per_event.exclusions]")
                         .replace("[value_per_event.referrals]",
                                  "[value_per_event.police_contacts]"), encoding="utf-8")
    out = tmp_path / "valued.html"
    data = ROOT / "swisbayes" / "data" / "files" / "other_trial_example.csv"
    result = run("report", "--data", data, "--spec-dir", EXAMPLE_DIR, "--economics", economics,
                 "--out", out, "--quiet", "--workers", "2", "--primary", "exclusions")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert f"Economic inputs: {economics}" in html
    assert 'id="economics"' in html
    assert 'id="evsi"' in html
    assert "perfect information on the effect on fixed-term exclusions" in html
    assert "Probability that the programme is cost-effective" in html
    assert 'id="whatif-data"' in html
    assert "S47" not in html
