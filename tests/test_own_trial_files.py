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
    path.with_name("t.csv.json").write_text(json.dumps({"trial": "Other"}))
    assert data_metadata(path) == {"trial": "Other"}


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
