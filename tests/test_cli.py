"""The command line, through its real entry point: exit codes, files written, JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from swisbayes.cli import cli

from .conftest import PRIMARY_SPEC

JSON_KEYS = {"outcome", "prior", "mcid", "irr_median", "irr_ci95", "prob_any_reduction",
             "prob_meaningful_reduction", "prob_harm", "prob_rope", "new_la", "averted_per_1000",
             "diagnostics"}


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_validate_ok_and_bad_files(example, write_csv):
    ok = run("validate", write_csv(example, "good.csv"))
    assert ok.exit_code == 0
    assert "no problems found" in ok.output
    bad = example.copy()
    bad.loc[0, "pupils"] = -1
    result = run("validate", write_csv(bad, "bad.csv"), "--json")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["ok"] is False
    assert payload["issues"][0]["check"] == "nonpositive_exposure"
    assert payload["issues"][0]["rows"] == [1]


def test_validate_unreadable_file_and_usage_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = CliRunner().invoke(cli, ["validate", str(empty)])
    assert result.exit_code == 1
    assert "the file is empty" in result.output
    assert CliRunner().invoke(cli, ["validate"]).exit_code == 2
    assert CliRunner().invoke(cli, ["validate", str(empty), "--outcome", "s48"]).exit_code == 2


def test_validate_checks_every_outcome_in_the_file_unless_told_which(example, write_csv):
    path = write_csv(example.drop(columns=["s47"]), "no_s47.csv")
    result = run("validate", path)
    assert result.exit_code == 1
    assert "1 error(s)" in result.output
    assert (f"ERROR {path}, column 's47': outcome 's47' has its baseline column 's47_baseline' "
            "but no follow-up column 's47'") in result.output
    assert run("validate", path, "--outcome", "referrals").exit_code == 0  # as before
    payload = json.loads(run("validate", path, "--json").output)
    assert [(i["check"], i["column"]) for i in payload["issues"]] == [("missing_column", "s47")]


def test_simulate_writes_table_and_truth(tmp_path):
    out = tmp_path / "trial.csv"
    result = run("simulate", "--seed", 7, "--irr-s47", 0.9, "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 268
    truth = json.loads((tmp_path / "trial.csv.json").read_text())["truth"]
    assert truth["irr"]["s47"] == 0.9
    assert CliRunner().invoke(cli, ["simulate", "--seed", "1", "--out",
                                    str(tmp_path / "x.txt")]).exit_code == 2


def test_fit_bad_spec_and_bad_data_exit_1(tmp_path, example, write_csv):
    spec = tmp_path / "bad.toml"
    spec.write_text(PRIMARY_SPEC.read_text().replace("[sampler]", "[sampler]\nthin = 2"))
    result = CliRunner().invoke(cli, ["fit", str(spec)])
    assert result.exit_code == 1
    assert "unknown key 'thin' in sampler" in result.output
    broken = example.drop(columns=["s47_baseline"])
    result = CliRunner().invoke(cli, ["fit", str(PRIMARY_SPEC), "--data",
                                      str(write_csv(broken))])
    assert result.exit_code == 1
    assert "column 's47_baseline'" in result.output


@pytest.mark.slow
def test_fit_end_to_end_on_bundled_data_writes_outputs(tmp_path):
    result = run("fit", PRIMARY_SPEC, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "ratio, trial schools" in result.output  # the estimand the decision reads
    assert "IRR, a typical LA" in result.output
    assert "diagnostics: OK" in result.output
    payload = json.loads((tmp_path / "out" / "s47_primary.json").read_text())
    assert set(payload) >= JSON_KEYS
    assert (tmp_path / "out" / "s47_primary.nc").stat().st_size > 0


@pytest.mark.slow
def test_flagged_fit_exits_3_and_says_so(tmp_path):
    result = CliRunner().invoke(cli, ["fit", str(PRIMARY_SPEC), "--draws", "20", "--tune",
                                      "20", "--chains", "2", "--json"])
    assert result.exit_code == 3
    assert "FAILED its convergence checks" in result.stderr
    assert json.loads(result.stdout)["diagnostics"]["ok"] is False


@pytest.mark.slow
def test_same_seed_gives_identical_json_across_processes():
    cmd = [sys.executable, "-m", "swisbayes", "fit", str(PRIMARY_SPEC), "--json", "--seed", "11"]
    outputs = [subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
               for _ in range(2)]
    assert outputs[0] == outputs[1]
    payload = json.loads(outputs[0])
    assert set(payload) >= JSON_KEYS
    assert payload["seed"] == 11
    assert len(payload["irr_ci95"]) == 2
    assert set(payload["diagnostics"]) >= {"rhat_max", "ess_bulk_min", "ess_tail_min",
                                           "divergences", "bfmi_min", "treedepth_share", "ok"}
