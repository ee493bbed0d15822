"""Operating characteristics: decision rule, seeds, and a small study against direct fits."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.decision.rule import DecisionRule
from swisbayes.workflows.study import run_study, simulate_study_trial, trial_seeds, trial_spec

from .conftest import PRIMARY_SPEC


def test_rule_boundaries():
    rule = DecisionRule()
    assert rule.verdict(0.80) == "invest"
    assert rule.verdict(0.7999) == "more evidence"
    assert rule.verdict(0.10) == "more evidence"
    assert rule.verdict(0.0999) == "stop"
    assert DecisionRule(invest=0.9, stop=0.2).verdict(0.85) == "more evidence"
    with pytest.raises(ValueError, match="stop < invest"):
        DecisionRule(invest=0.1, stop=0.5)


def test_trial_seeds_depend_on_scenario_and_index_only():
    assert trial_seeds(5, 0.9, 2) == trial_seeds(5, 0.9, 2)
    seeds = {trial_seeds(5, irr, i) for irr in (1.0, 0.9, 0.85) for i in range(20)}
    assert len(seeds) == 60
    assert trial_seeds(5, 0.9, 0) != trial_seeds(6, 0.9, 0)


@pytest.fixture(scope="module")
def fast_spec() -> swisbayes.AnalysisSpec:
    # target_accept 0.95: no retry, so the test stays fast even when fits fail the gate
    return swisbayes.load_spec(PRIMARY_SPEC).with_sampler(draws=150, tune=150, chains=2,
                                                          target_accept=0.95)


@pytest.mark.slow
def test_small_study_matches_direct_fits(fast_spec, tmp_path):
    scenarios, n = [1.0, 0.85], 4
    result = run_study(fast_spec, scenarios, n, base_seed=3, out=tmp_path)
    assert len(result.rows) == 8
    assert not result.errors
    rule = DecisionRule()
    trials = result.trials.set_index(["irr", "index"])
    direct = {}
    for irr in scenarios:
        for i in range(n):
            trial = simulate_study_trial(fast_spec, 3, irr, i)
            fit = swisbayes.fit(trial_spec(fast_spec, 3, irr, i), trial.frame)
            p = fit.decision.effect.prob_meaningful_reduction
            lo, hi = fit.decision.typical_la.ci  # the truth simulated is the typical LA's
            row = trials.loc[(irr, i)]
            assert row["prob_meaningful_reduction"] == p
            assert row["covered"] == (lo <= irr <= hi)
            assert bool(row["ok"]) == fit.ok
            direct.setdefault(irr, []).append(rule.verdict(p))
    summary = result.summary().set_index("irr")
    for irr, verdicts in direct.items():
        for v in ("invest", "more evidence", "stop"):
            assert summary.loc[irr, f"p_{v}"] == verdicts.count(v) / n
        assert summary.loc[irr, "n"] == n
    json.dumps(result.to_dict())
    assert "failed gate" in result.text

    # resumed: nothing refitted; a corrupted cell is detected and refitted alone
    cell = next(tmp_path.glob("cells/*.json"))
    cell.write_text("{not json")
    again = run_study(fast_spec, scenarios, n, base_seed=3, out=tmp_path)
    assert len(again.computed) == 1
    assert again.trials.equals(result.trials)


@pytest.mark.slow
def test_cli_simulate_study(tmp_path):
    plot = tmp_path / "verdicts.png"
    args = ["simulate-study", str(PRIMARY_SPEC), "--scenarios", "0.85", "--n-trials", "1",
            "--draws", "150", "--tune", "150", "--chains", "2", "--out", str(tmp_path / "o"),
            "--plot", str(plot), "--json", "--quiet", "--seed", "3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["scenarios"][0]["n"] == 1
    assert payload["rule"]["invest_if_p_at_least"] == 0.8
    assert plot.stat().st_size > 0


def test_cli_rejects_bad_scenarios():
    result = CliRunner().invoke(cli, ["simulate-study", str(PRIMARY_SPEC), "--scenarios",
                                      "1,-2", "--n-trials", "1"])
    assert result.exit_code == 2
    assert "positive" in result.output


def test_cli_rejects_invest_below_stop():
    result = CliRunner().invoke(cli, ["simulate-study", str(PRIMARY_SPEC), "--scenarios", "1",
                                      "--n-trials", "1", "--invest", "0.1", "--stop", "0.5"])
    assert result.exit_code == 2
    assert "stop=0.5, invest=0.1" in result.output
