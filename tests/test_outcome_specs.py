"""Every outcome spec in models/ fits the bundled data cleanly and recovers its truth."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli, format_fit
from swisbayes.inference.fitting import FitResult

from .conftest import ROOT

COUNT_SPECS = ("s47_primary", "referrals", "s17", "care_entry")
NON_COUNT_SPECS = ("days_in_care", "attendance")
CANDIDATE_SPECS = ("s47_common_effect", "s47_poisson", "s47_unadjusted")
"""Alternatives to s47_primary for model criticism (`swisbayes check`, `swisbayes compare`)."""
RATIO_KEYS = {"irr_median", "irr_ci95", "ci_prob", "prob_any_reduction",
              "prob_meaningful_reduction", "prob_harm", "prob_rope"}
RATIO_KEYS |= {f"{k}_mcse" for k in RATIO_KEYS - {"ci_prob"}}
"""A ratio's numbers, each with its Monte Carlo standard error."""
PRIMARY_KEYS = RATIO_KEYS | {"outcome", "prior", "mcid", "estimand", "new_la", "averted_per_1000",
                             "averted_per_1000_ci95", "control_rate_per_1000", "diagnostics",
                             "analysis", "overrides", "file_sha256", "content_sha256", "seed",
                             "sampler",
                             "swisbayes_version"}
PP_KEYS = {"diff_pp_median", "diff_pp_ci95", "prob_meaningful_improvement_pp",
           "prob_any_reduction_pp", "prob_harm_pp", "prob_rope_pp"}
PP_KEYS |= {f"{k}_mcse" for k in PP_KEYS}
"""Attendance's headline, in percentage points, and its probabilities on that scale."""
EXTRA_KEYS = {
    "days_in_care": {"parts"},
    "attendance": PP_KEYS | {"headline", "mcid_pp", "control_absence_pct"},
}
"""Keys each non-count outcome adds to the primary's JSON."""


@pytest.fixture(scope="module")
def fit_all(tmp_path_factory) -> tuple[str, dict[str, dict]]:
    """``swisbayes fit --all`` on the shipped specs, run once: its table, and each analysis's
    JSON as ``--out`` wrote it (the rows ``--json`` prints)."""
    out = tmp_path_factory.mktemp("fit_all")
    result = CliRunner().invoke(cli, ["fit", "--all", "--spec-dir", str(ROOT / "models"),
                                      "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(path.read_text()) for path in sorted(out.glob("*.json"))]
    return result.output, {row["analysis"]: row for row in rows}


@pytest.fixture(scope="module")
def fitted(fit_all) -> dict[str, dict]:
    return fit_all[1]


@pytest.mark.slow
def test_every_count_spec_passes_the_gate_and_covers_the_synthetic_truth(fitted):
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]["irr"]
    assert set(fitted) >= set(COUNT_SPECS)
    for name in COUNT_SPECS:
        row = fitted[name]
        assert row["diagnostics"]["ok"], (name, row["diagnostics"]["reasons"])
        lo, hi = row["irr_ci95"]
        assert lo < truth[row["outcome"]] < hi, name


@pytest.mark.slow
def test_fit_all_includes_days_in_care_and_attendance_with_their_keys(fitted):
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]
    for name in NON_COUNT_SPECS:
        row = fitted[name]
        assert set(row) == PRIMARY_KEYS | EXTRA_KEYS[name], name
        assert row["diagnostics"]["ok"], (name, row["diagnostics"]["reasons"])
    days = fitted["days_in_care"]
    assert set(days["parts"]) == {"zero", "positive"}
    assert all(set(part) == RATIO_KEYS for part in days["parts"].values())
    lo, hi = days["irr_ci95"]
    assert lo < truth["days_in_care_ratio"] < hi
    attendance = fitted["attendance"]
    assert set(attendance["new_la"]) == RATIO_KEYS | PP_KEYS | {"estimand"}
    assert attendance["headline"] == "diff_pp"
    lo, hi = attendance["diff_pp_ci95"]
    assert lo < attendance["diff_pp_median"] < hi
    assert attendance["mcid_pp"] == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("name", NON_COUNT_SPECS)
def test_fit_json_of_one_non_count_spec(name, tmp_path):
    spec = ROOT / "models" / f"{name}.toml"
    result = CliRunner().invoke(cli, ["fit", str(spec), "--json", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == PRIMARY_KEYS | EXTRA_KEYS[name]
    # The saved posterior reloads to the same decision keys, and prints in the outcome's units.
    back = FitResult.from_netcdf(tmp_path / f"{name}.nc")
    assert back.to_dict() == payload
    text = format_fit(back)
    if name == "days_in_care":
        assert "any care episode" in text
        assert "days given any" in text
        assert "days in care averted" in text
    else:
        assert "percentage points" in text
        assert "sessions missed averted" in text


@pytest.mark.slow
def test_fit_all_table_has_one_row_per_spec(fit_all):
    output, fitted = fit_all
    assert set(fitted) == set(COUNT_SPECS + NON_COUNT_SPECS + CANDIDATE_SPECS)
    table, notes = output.strip().split("\n\n")
    rows = table.splitlines()[1:]
    assert [r.split()[0] for r in rows] == sorted(COUNT_SPECS + NON_COUNT_SPECS + CANDIDATE_SPECS)
    assert all(r.endswith("ok") for r in rows)
    assert [n.split(":")[0] for n in notes.splitlines()] == ["attendance", "days_in_care"]


@pytest.mark.slow
def test_fit_all_json_is_a_list_of_the_analyses_payloads(fitted, tmp_path):
    (tmp_path / "s47_primary.toml").write_bytes((ROOT / "models" / "s47_primary.toml").read_bytes())
    result = CliRunner().invoke(cli, ["fit", "--all", "--spec-dir", str(tmp_path), "--json",
                                      "--draws", "200", "--tune", "200"],
                                catch_exceptions=False)
    assert result.exit_code in (0, 3), result.output  # 3: fewer draws may fail the gate
    (row,) = json.loads(result.stdout)  # stderr may hold the gate's message
    assert row["analysis"] == "s47_primary"
    assert set(row) == set(fitted["s47_primary"])  # the payload --out writes


def test_fit_needs_exactly_one_of_spec_and_all(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["fit"]).exit_code == 2
    both = runner.invoke(cli, ["fit", str(ROOT / "models" / "s47_primary.toml"), "--all"])
    assert both.exit_code == 2
    assert "give either SPEC or --all" in both.output
    (tmp_path / "pilots.toml").write_text((ROOT / "models" / "pilots.toml").read_text())
    empty = runner.invoke(cli, ["fit", "--all", "--spec-dir", str(tmp_path)])
    assert empty.exit_code == 2
    assert "no analysis specs" in empty.output
