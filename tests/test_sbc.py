"""Simulation-based calibration: rank statistics against known answers, and a small run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from swisbayes._base.errors import SpecError
from swisbayes.stats.ranks import (
    choose_bins,
    flag_threshold,
    rank_histogram,
    rank_of,
    thin,
    uniformity_test,
)
from swisbayes.workflows.sbc import SBC_PRIOR, replicate_seeds, run_sbc, sbc_spec

L = 99


def _conjugate_ranks(shift_sd: float, n_rep: int = 600, seed: int = 7) -> np.ndarray:
    """Ranks of mu ~ N(0, 1) among draws of its exact posterior from 5 N(mu, 1) observations,
    shifted by ``shift_sd`` posterior SDs (0: the true posterior)."""
    rng = np.random.default_rng(seed)
    ranks = []
    for _ in range(n_rep):
        mu = rng.normal()
        y = rng.normal(mu, 1.0, 5)
        mean, sd = y.sum() / 6, 1 / np.sqrt(6)
        draws = rng.normal(mean + shift_sd * sd, sd, (4, 50))
        ranks.append(rank_of(mu, draws, L))
    return np.array(ranks)


def test_true_posterior_gives_uniform_ranks():
    ranks = _conjugate_ranks(0.0)
    _, p, bins = uniformity_test(ranks, L)
    assert bins == 20
    assert p > 0.05
    assert ranks.min() >= 0
    assert ranks.max() <= L


def test_biased_posterior_is_flagged():
    _, p, _ = uniformity_test(_conjugate_ranks(1.0), L)
    assert p < flag_threshold(8)


def test_overdispersed_posterior_is_flagged():
    # too-wide posterior: truths pile up in the middle ranks
    rng = np.random.default_rng(3)
    ranks = [rank_of(m, rng.normal(m, 3.0, 200), L) for m in rng.normal(size=400)]
    assert uniformity_test(np.array(ranks), L)[1] < flag_threshold(8)


def test_thin_and_rank_bounds():
    draws = np.arange(2000.0).reshape(4, 500)
    kept = thin(draws, L)
    assert kept.size == L
    assert kept[0] == 0
    assert kept[-1] == 1999
    assert rank_of(-1.0, draws, L) == 0
    assert rank_of(1e9, draws, L) == L
    with pytest.raises(ValueError, match="cannot be thinned"):
        thin(np.arange(50.0), L)


def test_bins_and_histogram():
    assert choose_bins(200, L) == 20
    assert choose_bins(20, L) == 4
    assert choose_bins(3, L) == 2
    counts = rank_histogram(np.array([0, 24, 25, 99]), L, 4)
    assert counts.tolist() == [2, 1, 0, 1]
    assert flag_threshold(8) == 0.01 / 8


def test_replicate_seeds_are_deterministic_and_distinct():
    assert replicate_seeds(1, 3) == replicate_seeds(1, 3)
    seeds = {replicate_seeds(1, i) for i in range(50)} | {replicate_seeds(2, 0)}
    assert len(seeds) == 51


def test_sbc_spec_uses_a_proper_prior_and_rejects_other_outcomes(primary_spec):
    spec = sbc_spec(primary_spec)
    assert spec.effect_prior.sds == SBC_PRIOR.sds == (0.5,)
    assert sbc_spec(primary_spec, "sceptical").priors.effect.name == "sceptical"
    days = primary_spec.model_copy(update={"outcome": "days_in_care",
                                           "family": "hurdle_negative_binomial"})
    with pytest.raises(SpecError):
        sbc_spec(days)


@pytest.mark.slow
def test_small_sbc_run_and_resume(primary_spec, tmp_path):
    # target_accept 0.95: no retry, so a small run stays fast even when fits fail the gate
    spec = primary_spec.with_sampler(draws=150, tune=150, chains=2, target_accept=0.95)
    result = run_sbc(spec, 20, out=tmp_path, base_seed=11)
    assert len(result.rows) + len(result.errors) == 20
    ranks = result.ranks
    params = [c for c in ranks.columns if c != "ok"]
    assert {"log_irr", "intercept", "sigma_la", "sigma_la_effect", "inv_sqrt_dispersion",
            "coef[fsm_pct]"} <= set(params)
    assert ((ranks[params] >= 0) & (ranks[params] <= L)).all().all()
    tests = result.tests()
    assert tests["p_value"].between(0, 1).all()
    assert (tests["bins"] == 4).all()
    summary = result.to_dict()
    assert summary["n_failed_gate"] == result.n_failed
    assert all(sum(h) == len(result.rows) for h in summary["histograms"].values())
    json.dumps(summary)
    again = run_sbc(spec, 20, out=tmp_path, base_seed=11)
    assert again.computed == []
    assert again.ranks.equals(ranks)


@pytest.mark.slow
def test_cli_sbc(tmp_path):
    from click.testing import CliRunner

    from swisbayes.cli import cli

    from .conftest import PRIMARY_SPEC

    plot = tmp_path / "ranks.png"
    args = ["sbc", str(PRIMARY_SPEC), "--n", "3", "--draws", "100", "--tune", "100",
            "--chains", "1", "--out", str(tmp_path / "o"), "--plot", str(plot), "--json",
            "--quiet", "--prior-normal", "0", "0.3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 3), result.output
    payload = json.loads(result.stdout)
    assert payload["n_finished"] + payload["n_errors"] == 3
    assert payload["prior"] == "normal_0_0.3"
    assert plot.stat().st_size > 0
