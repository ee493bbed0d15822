"""Simulation-based calibration: the PIT-ECDF test against known answers, the SBC priors and
replicates of every family, and small runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from swisbayes._base.errors import SpecError
from swisbayes.data.io import load_example, read_school_data
from swisbayes.families.attendance import log_binomial_coefficient
from swisbayes.families.likelihoods import log_factorial
from swisbayes.families.registry import family_of
from swisbayes.spec.analysis import load_spec
from swisbayes.stats.ranks import (
    band_threshold,
    flag_threshold,
    pit_ecdf,
    pit_ecdf_test,
    rank_of,
    thin,
)
from swisbayes.workflows import sbc as sbc_module
from swisbayes.workflows.sbc import (
    SBC_PRIOR,
    SBCResult,
    draw_replicates,
    prior_seed,
    ranked_parameters,
    replicate_build,
    replicate_seed,
    run_sbc,
    sbc_spec,
)

L = 99


def _conjugate_ranks(shift_sd: float, scale: float = 1.0, n_rep: int = 200,
                     seed: int = 7) -> np.ndarray:
    """Ranks of mu ~ N(0, 1) among draws of its exact posterior from 5 N(mu, 1) observations,
    shifted by ``shift_sd`` posterior SDs and with the SD times ``scale`` (0, 1: the truth)."""
    rng = np.random.default_rng(seed)
    ranks = []
    for _ in range(n_rep):
        mu = rng.normal()
        y = rng.normal(mu, 1.0, 5)
        mean, sd = y.sum() / 6, 1 / np.sqrt(6)
        draws = rng.normal(mean + shift_sd * sd, scale * sd, (4, 50))
        ranks.append(rank_of(mu, draws, L))
    return np.array(ranks)


def test_true_posterior_passes():
    ranks = _conjugate_ranks(0.0)
    test = pit_ecdf_test(ranks, L)
    assert ranks.min() >= 0
    assert ranks.max() <= L
    assert not test.outside
    assert test.p_value > 0.05
    assert test.n == 200


def test_uniform_ranks_leave_the_band_at_the_nominal_rate():
    # 400 independent sets of 100 uniform ranks: about 5% leave the 95% band (binomial SD
    # 1.1 points), and their p-values are uniform
    rng = np.random.default_rng(11)
    tests = [pit_ecdf_test(rng.integers(0, L + 1, 100), L) for _ in range(400)]
    share = np.mean([t.outside for t in tests])
    assert 0.02 <= share <= 0.09
    assert stats.kstest([t.p_value for t in tests], "uniform").pvalue > 0.01
    # leaving the band and a p-value at most 1 - prob say the same
    assert all(t.outside == (t.p_value <= 0.05) for t in tests)


@pytest.mark.parametrize(("shift", "scale"), [(1.0, 1.0), (0.0, 3.0), (0.0, 0.4)],
                         ids=["biased", "too-wide", "too-narrow"])
def test_miscalibrated_posteriors_leave_the_band_and_are_flagged(shift, scale):
    test = pit_ecdf_test(_conjugate_ranks(shift, scale), L)
    assert test.outside
    assert test.p_value < flag_threshold(8)


def test_one_point_p_value_is_the_exact_binomial_test():
    # With ranks 0..1 the ECDF has one point, z = 1/2, and the test is a two-sided binomial
    # test of the count of zeros: p = P(T <= t) summed exactly over the counts.
    n = 60
    c = np.arange(n + 1)
    t = np.minimum(1.0, 2 * np.minimum(stats.binom.cdf(c, n, 0.5),
                                       stats.binom.sf(c - 1, n, 0.5)))
    pmf = stats.binom.pmf(c, n, 0.5)
    for zeros in (20, 24, 30, 41):
        ranks = np.r_[np.zeros(zeros, int), np.ones(n - zeros, int)]
        exact = pmf[t <= t[zeros]].sum()
        got = pit_ecdf_test(ranks, 1).p_value
        assert got == pytest.approx(exact, abs=5 * np.sqrt(exact * (1 - exact) / 100_000)
                                    + 1e-9)


def test_band_matches_arviz_stats():
    from arviz_stats.ecdf_utils import get_pointwise_confidence_band, simulate_confidence_bands

    n = 150
    z = np.arange(1, L + 1) / (L + 1)
    gamma = simulate_confidence_bands(n, 1, z, 0.95, 4000, np.random.default_rng(1))
    lower, upper = get_pointwise_confidence_band(gamma, n, z)
    test = pit_ecdf_test(np.random.default_rng(2).integers(0, L + 1, n), L)
    # the same band up to the Monte Carlo error of the two simulations (a count or two)
    assert 1 - band_threshold(n, L) == pytest.approx(gamma, abs=0.002)
    assert np.abs(test.lower - lower).max() <= 2 / n
    assert np.abs(test.upper - upper).max() <= 2 / n


def test_pit_ecdf_and_band_shapes():
    z, ecdf = pit_ecdf(np.array([0, 1, 1, 3]), 3)
    assert z.tolist() == [0.25, 0.5, 0.75]
    assert ecdf.tolist() == [0.25, 0.75, 0.75]  # share of ranks below 1, 2, 3
    test = pit_ecdf_test(np.arange(100) % (L + 1), L)
    assert (test.lower <= test.z).all()
    assert (test.z <= test.upper).all()
    assert not test.outside
    assert (np.diff(test.lower) >= 0).all()
    with pytest.raises(ValueError, match=r"ranks must lie in 0\.\.99"):
        pit_ecdf_test(np.array([0, 100]), L)
    empty = pit_ecdf_test(np.array([], dtype=int), L)
    assert np.isnan(empty.p_value)
    assert not empty.outside


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
    assert flag_threshold(8) == 0.01 / 8


def test_seeds_are_deterministic_and_distinct():
    assert replicate_seed(1, 3) == replicate_seed(1, 3)
    seeds = {replicate_seed(1, i) for i in range(50)} | {replicate_seed(2, 0)}
    assert len(seeds) == 51
    assert prior_seed(1) == prior_seed(1) != prior_seed(2)


def test_sbc_spec_applies_realistic_priors_per_outcome(primary_spec):
    spec = sbc_spec(primary_spec)
    assert spec.effect_prior.sds == SBC_PRIOR.sds == (0.3,)
    hyper = spec.priors.hyper
    assert (hyper.intercept_mean, hyper.intercept_sd) == (-3.7, 0.5)
    assert (hyper.sigma_la.scale, hyper.sigma_la_effect.scale) == (0.2, 0.1)
    assert hyper.sigma_la.family == "half_normal"
    assert sbc_spec(primary_spec, "sceptical").priors.effect.name == "sceptical"
    assert sbc_spec(primary_spec, hyper={"sigma_la": {"scale": 0.3}}).priors.hyper.sigma_la \
        .scale == 0.3
    days = sbc_spec(load_spec("days_in_care")).priors.hyper
    assert (days.intercept_mean, days.positive.intercept_mean) == (-6.4, -0.7)
    attendance = sbc_spec(load_spec("attendance")).priors.hyper
    assert (attendance.intercept_mean, attendance.intercept_sd) == (-2.55, 0.3)
    assert attendance.inv_sqrt_concentration.scale == 0.2
    with pytest.raises(SpecError, match=r"sigma_la\.scale"):
        sbc_spec(primary_spec, hyper={"sigma_la": {"scale": -1.0}})


def test_sbc_spec_needs_an_intercept_centre(primary_spec, monkeypatch):
    monkeypatch.setattr(sbc_module, "SBC_HYPERPRIORS", {})
    with pytest.raises(SpecError, match="no SBC hyperpriors for outcome 's47'"):
        sbc_spec(primary_spec)
    assert sbc_spec(primary_spec, hyper={"intercept_mean": -3.0}).priors.hyper \
        .intercept_mean == -3.0


_EXPECTED = {
    "s47_primary": ["intercept", "log_irr", "coef[baseline_log_rate]", "coef[log_pupils]",
                    "coef[fsm_pct]", "sigma_la", "sigma_la_effect", "inv_sqrt_dispersion"],
    "days_in_care": [f"{part}_{name}" for part in ("zero", "positive") for name in
                     ("intercept", "log_irr", "coef[baseline_log_rate]", "coef[log_pupils]",
                      "coef[fsm_pct]", "sigma_la", "sigma_la_effect")]
                    + ["positive_inv_sqrt_dispersion"],
    "attendance": ["intercept", "log_irr", "coef[baseline_logit]", "coef[log_pupils]",
                   "coef[fsm_pct]", "sigma_la", "sigma_la_effect", "inv_sqrt_concentration"],
}


@pytest.mark.parametrize("name", list(_EXPECTED))
def test_replicates_of_every_family(name):
    spec = sbc_spec(load_spec(name))
    data = read_school_data(load_example(), outcomes=[spec.outcome], covariates=spec.covariates)
    build = family_of(spec).build(spec, data)
    assert sorted(ranked_parameters(build)) == sorted(_EXPECTED[name])
    few = draw_replicates(spec, data, 3, seed=5)
    more = draw_replicates(spec, data, 5, seed=5)
    # replicate i does not depend on how many are drawn (resume with a larger N)
    assert np.array_equal(few.y, more.y[:3])
    assert [few.digest(i) for i in range(3)] == [more.digest(i) for i in range(3)]
    assert len({more.digest(i) for i in range(5)}) == 5
    assert few.y.shape == (3, len(data.frame))
    assert few.y.dtype == np.int64
    assert (few.y >= 0).all()
    assert set(few.truths(0)) == set(_EXPECTED[name])
    # the fitted model sees the replicate's outcome in every data term of its likelihood
    y = few.y[1]
    values = replicate_build(spec, data, y).data_values
    assert np.array_equal(values["y"], y)
    if "log_y_factorial" in values:
        assert np.allclose(values["log_y_factorial"], log_factorial(y))
    if "log_binom_coef" in values:
        sessions = data.frame["sessions_possible"].to_numpy()
        assert (y <= sessions).all()
        assert np.allclose(values["log_binom_coef"], log_binomial_coefficient(sessions, y))


def _fake_result(primary_spec) -> SBCResult:
    rng = np.random.default_rng(4)
    rows = [{"index": i, "ok": bool(i % 10), "reasons": [] if i % 10 else ["a reason"],
             "ranks": {"uniform": int(rng.integers(0, L + 1)),
                       "biased": int(min(L, rng.integers(0, L + 1) + 40))}}
            for i in range(120)]
    return SBCResult(rows, n=120, n_ranks=L, spec=sbc_spec(primary_spec))


def test_result_tests_summary_and_figure(primary_spec):
    import matplotlib.pyplot as plt

    from swisbayes.workflows.calibration_plots import plot_pit_ecdf

    result = _fake_result(primary_spec)
    assert result.n_failed == 12
    assert result.fail_rate == pytest.approx(0.1)
    tests = result.tests().set_index("parameter")
    assert not tests.loc["uniform", "outside_band"]
    assert tests.loc["biased", "outside_band"]
    assert tests.loc["biased", "flagged"]
    assert tests.loc["biased", "outside_band_gate_passed"]
    summary = result.to_dict()
    json.dumps(summary)
    assert summary["n_failed_gate"] == 12
    assert summary["gate_failures"][0] == {"index": 0, "reasons": ["a reason"]}
    assert "NOT UNIFORM" in result.text
    fig = plot_pit_ecdf(result)
    titles = {a.get_title().split("\n")[0]: a.title.get_color() for a in fig.axes
              if a.get_visible()}
    assert titles == {"uniform": "black", "biased": "red"}
    plt.close(fig)


@pytest.mark.slow
def test_small_sbc_run_and_resume(primary_spec, tmp_path):
    # target_accept 0.95: no retry, so a small run stays fast even when fits fail the gate
    spec = primary_spec.with_sampler(draws=150, tune=150, chains=2, target_accept=0.95)
    result = run_sbc(spec, 12, out=tmp_path, base_seed=11)
    assert len(result.rows) + len(result.errors) == 12
    ranks = result.ranks
    params = result.parameters
    assert params == _EXPECTED["s47_primary"]
    assert ((ranks[params] >= 0) & (ranks[params] <= L)).all().all()
    tests = result.tests()
    assert tests["p_value"].between(0, 1).all()
    summary = result.to_dict()
    assert summary["n_failed_gate"] == result.n_failed
    json.dumps(summary)
    # more replicates later: the first 12 are resumed, not refitted
    again = run_sbc(spec, 14, out=tmp_path, base_seed=11)
    assert len(again.rows) + len(again.errors) == 14
    assert not set(again.computed) & {r["cell"] for r in result.rows}
    assert again.ranks.loc[ranks.index].equals(ranks)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["days_in_care", "attendance"])
def test_small_sbc_run_of_other_families(name, tmp_path):
    spec = load_spec(name).with_sampler(draws=150, tune=150, chains=2, target_accept=0.95)
    result = run_sbc(spec, 5, out=tmp_path, base_seed=3)
    assert len(result.rows) + len(result.errors) == 5
    assert result.rows, result.errors
    params = result.parameters
    assert params == _EXPECTED[name]
    ranks = result.ranks[params]
    assert ((ranks >= 0) & (ranks <= L)).all().all()
    assert result.spec.effect_prior == SBC_PRIOR
    assert all(set(r["truth"]) == set(params) for r in result.rows)
    json.dumps(result.to_dict())


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
    assert payload["hyperpriors"]["intercept_sd"] == 0.5
    assert plot.stat().st_size > 0
