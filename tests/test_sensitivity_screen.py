"""The power-scaling screen: its rule, its numbers, and `swisbayes sensitivity --screen`."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from swisbayes.cli import cli
from swisbayes.inference.fitting import FitResult
from swisbayes.inference.screen import (
    CONFLICT,
    INSENSITIVE,
    STRONG_PRIOR,
    diagnose,
    power_scaling_screen,
)
from swisbayes.workflows.screen import compare_with_grid, grid_spread

from .conftest import PRIMARY_SPEC

CONFLICTING = "normal(irr=1.5, sd=0.05)"
"""A strong prior on a 50% *increase*, far from what the bundled data say (IRR about 1)."""

GRID = f"""
name = "screen_test"
specs = ["{PRIMARY_SPEC.as_posix()}"]
mcid = [0.05, 0.10]

[priors]
library = ["vague"]

[[priors.normal]]
centres_irr = [1.5]
sds = [0.05]

[sampler]
draws = 500
chains = 2
"""


def test_rule_separates_conflict_strong_prior_and_ok():
    assert diagnose(0.06, 0.06) == CONFLICT
    assert diagnose(0.05, 0.01) == STRONG_PRIOR  # the threshold itself counts as sensitive
    assert diagnose(0.049, 0.5) == INSENSITIVE
    assert diagnose(0.2, 0.01, threshold=0.3) == INSENSITIVE


def _table(probs: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"spec": "s47", "effect_prior": prior, "mcid": mcid, "seed": 1,
             "cell": f"{prior}{mcid}", "prob_meaningful_reduction": p}
            for prior, values in probs.items() for mcid, p in zip((0.05, 0.1), values,
                                                                 strict=True)]
    return pd.DataFrame(rows)


class _Screen:
    def __init__(self, prior: str, flagged: bool) -> None:
        self.analysis, self.prior, self.flagged = "s47", prior, flagged


def test_grid_spread_holds_the_other_axes_fixed():
    # across priors: 0.3 at MCID 0.05, 0.05 at MCID 0.1 (not 0.5 over all cells)
    table = _table({"vague": [0.6, 0.25], "sceptical": [0.3, 0.2]})
    assert grid_spread(table)["s47"] == pytest.approx(0.3)


def test_disagreements_are_noted_both_ways():
    moved, still = _table({"a": [0.6, 0.2], "b": [0.3, 0.2]}), _table({"a": [0.3, 0.2],
                                                                       "b": [0.35, 0.2]})
    assert "moves by 0.30" in compare_with_grid([_Screen("a", False)], moved)[0]
    assert "flags" in compare_with_grid([_Screen("a", True)], still)[0]
    assert compare_with_grid([_Screen("a", True)], moved) == []
    assert compare_with_grid([_Screen("a", False)], still) == []


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("screen")
    (root / "grid.toml").write_text(GRID)
    out = root / "out"
    # 500 draws x 2 chains may fail the ESS gate (exit 3); the screen runs all the same
    result = CliRunner().invoke(cli, ["sensitivity", "--grid", str(root / "grid.toml"),
                                      "--out", str(out), "--quiet"], catch_exceptions=False)
    return result, out


@pytest.mark.slow
def test_cli_screen_flags_the_conflicting_prior_and_not_the_vague_one(grid_run):
    result, out = grid_run
    assert result.exit_code in (0, 3)
    saved = json.loads((out / "screen.json").read_text())
    by_prior = {s["prior"]: s for s in saved["screens"]}
    assert set(by_prior) == {"vague", CONFLICTING}  # one per sampled (base) fit
    assert not by_prior["vague"]["flagged"]
    assert by_prior[CONFLICTING]["flagged"]
    assert by_prior[CONFLICTING]["diagnosis"] == CONFLICT
    assert set(by_prior["vague"]["variables"]) == {"log_irr", "irr"}
    assert by_prior[CONFLICTING]["variables"]["log_irr"]["prior"] >= 0.05
    assert by_prior["vague"]["variables"]["log_irr"]["prior"] < 0.05
    assert f"{CONFLICTING}): power-scaling screen" in result.output
    assert "FLAGGED" in result.output
    assert saved["disagreements"] == []  # the conflicting prior also moves the grid's numbers


@pytest.mark.slow
def test_screen_values_are_arviz_psense_of_the_effect_prior(grid_run):
    import pymc as pm
    from arviz_stats import psense

    from swisbayes.data.io import load_example, read_school_data
    from swisbayes.families.registry import build_model

    _, out = grid_run
    saved = json.loads((out / "screen.json").read_text())
    entry = next(s for s in saved["screens"] if s["prior"] == CONFLICTING)
    fit = FitResult.from_netcdf(out / "cells" / f"{entry['cell']}.nc")
    data = read_school_data(load_example(), outcomes=["s47"], covariates=fit.spec.covariates)
    screen = power_scaling_screen(fit, data)  # a fit read from its file has no data
    assert screen.values.loc["log_irr", "prior"] == pytest.approx(
        entry["variables"]["log_irr"]["prior"])
    # independently: power-scale the log_irr prior term of the rebuilt model
    model = build_model(fit.spec, data).model
    tree = fit.idata.copy()
    pm.stats.compute_log_prior(tree, model=model, var_names=["log_irr"], progressbar=False)
    pm.stats.compute_log_likelihood(tree, model=model, progressbar=False)
    expected = float(psense(tree, var_names=["log_irr"], group="prior")["log_irr"])
    assert math.isclose(screen.values.loc["log_irr", "prior"], expected, rel_tol=1e-9)


@pytest.mark.slow
def test_screen_refuses_data_other_than_the_fits(grid_run, example):
    _, out = grid_run
    cell = json.loads((out / "screen.json").read_text())["screens"][0]["cell"]
    fit = FitResult.from_netcdf(out / "cells" / f"{cell}.nc")
    example.loc[0, "s47"] += 1
    with pytest.raises(ValueError, match="not the data of the fit"):
        power_scaling_screen(fit, example)


@pytest.mark.slow
def test_cli_writes_the_figures_unless_told_not_to(grid_run, tmp_path):
    _, out = grid_run
    assert {p.name for p in (out / "plots").iterdir()} == {
        "probability_by_prior_centre.png", "probability_by_prior_sd.png",
        "heatmap_s47_primary.png"}
    again = CliRunner().invoke(cli, ["sensitivity", "--grid", str(out.parent / "grid.toml"),
                                     "--out", str(out), "--quiet", "--no-screen",
                                     "--plot", str(tmp_path / "figs")], catch_exceptions=False)
    assert "power-scaling screen" not in again.output
    assert (tmp_path / "figs" / "probability_by_prior_sd.png").exists()
