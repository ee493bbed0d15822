"""Model criticism: posterior predictive checks, PSIS-LOO and LOO-PIT, comparison.

Tiers: the statistics against hand-computed values; the vectorised log-likelihood against
PyMC's own, family by family; the results' plumbing on a posterior made without MCMC; and
(slow) known answers: strongly overdispersed data flag the Poisson model's variance check and
LOO prefers the negative binomial by more than 2 SEs, while data replicated from a fitted
model are flagged no more often than the nominal rate.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from click.testing import CliRunner
from matplotlib.figure import Figure
from scipy import stats

import swisbayes
from swisbayes.cli import cli
from swisbayes.data.io import read_school_data
from swisbayes.data.schema import outcome_schema
from swisbayes.data.simulate import Assumption, TrialDesign, simulate_pupils, simulate_trial
from swisbayes.families.common import ModelBuild
from swisbayes.families.predictive import PREDICTIVE_COMPILE, pointwise_log_likelihood
from swisbayes.families.registry import family_of
from swisbayes.inference import criticism
from swisbayes.inference.fitting import fit
from swisbayes.stats.checks import STATISTICS, exceedance, school_statistics

SPECS = ("s47_primary", "care_entry", "days_in_care", "attendance")


@pytest.fixture(scope="module")
def specs() -> dict[str, swisbayes.AnalysisSpec]:
    return {name: swisbayes.load_spec(name) for name in SPECS}


@pytest.fixture(scope="module")
def example_data(specs):
    example = swisbayes.load_example()
    return {name: read_school_data(example, outcomes=[s.outcome], covariates=s.covariates)
            for name, s in specs.items()}


def jittered_posterior(build: ModelBuild, *, chains: int = 2, draws: int = 100,
                       sd: float = 0.02, seed: int = 0) -> xr.Dataset:
    """Draws scattered tightly around the model's starting point: a posterior without MCMC."""
    rng = np.random.default_rng(seed)
    dims = build.model.named_vars_to_dims
    point = build.initial_values()
    used = {d for name in point for d in dims.get(name, ())}
    return xr.Dataset(
        {name: (("chain", "draw", *dims.get(name, ())),
                value + sd * np.abs(rng.normal(size=(chains, draws, *np.shape(value)))))
         for name, value in point.items()},  # |noise|: scales stay positive
        coords={"chain": np.arange(chains), "draw": np.arange(draws)}
        | {d: build.coords[d] for d in used})


def fake_fit(spec: swisbayes.AnalysisSpec, data, **posterior_kwargs) -> SimpleNamespace:
    """What the criticism reads off a fit, with a posterior made without sampling."""
    build = family_of(spec).build(spec, data)
    posterior = jittered_posterior(build, **posterior_kwargs)
    return SimpleNamespace(spec=spec, data=data, ok=True,
                           idata=xr.DataTree.from_dict({"posterior": posterior}),
                           provenance={"content_sha256": data.content_sha256})


# --------------------------------------------------------------------------------------------
# The statistics


def test_school_statistics_by_hand():
    outcome = np.array([0, 4, 6, 3, 9, 0])
    pupils = np.array([100.0, 200.0, 300.0, 100.0, 300.0, 200.0])
    arm = np.array([0, 0, 0, 1, 1, 1])
    la = np.array(["A", "A", "B", "B", "A", "B"])
    got = school_statistics(outcome, pupils, arm, la, per=1000)
    control, swis = np.array([0.0, 20.0, 20.0]), np.array([30.0, 30.0, 0.0])
    la_rates = np.array([13 / 600, 9 / 600]) * 1000  # A: 0 + 4 + 9 of 600; B: 6 + 3 + 0 of 600
    expected = {"mean_rate_control": control.mean(), "mean_rate_swis": swis.mean(),
                "var_rate_control": control.var(ddof=1), "var_rate_swis": swis.var(ddof=1),
                "share_zero": 2 / 6, "max_rate": 30.0, "la_rate_sd": la_rates.std(ddof=1)}
    assert set(got) == set(STATISTICS) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)
    # leading axes (chains, draws) are kept, each set of outcomes on its own
    batch = school_statistics(np.stack([outcome, outcome * 2]), pupils, arm, la, per=1000)
    assert batch["max_rate"].shape == (2,)
    np.testing.assert_allclose(batch["max_rate"], [30.0, 60.0])


def test_school_statistics_reject_a_design_they_cannot_read():
    ones = np.ones(4)
    with pytest.raises(ValueError, match="one value per school"):
        school_statistics(ones, np.ones(3), np.array([0, 0, 1, 1]), np.array([1, 2, 1, 2]))
    with pytest.raises(ValueError, match="fewer than two schools"):
        school_statistics(ones, ones, np.array([0, 1, 1, 1]), np.array([1, 2, 1, 2]))
    with pytest.raises(ValueError, match="two LAs"):
        school_statistics(ones, ones, np.array([0, 0, 1, 1]), np.array([1, 1, 1, 1]))


def test_ties_count_half_so_a_statistic_always_tied_is_not_flagged():
    np.testing.assert_array_equal(exceedance(np.array([0.0, 1.0, 2.0]), 1.0), [0.0, 0.5, 1.0])
    assert exceedance(np.zeros(100), 0.0).mean() == 0.5  # no school with none, ever


# --------------------------------------------------------------------------------------------
# The pointwise log-likelihood, one term per school


def _pymc_log_likelihood(build: ModelBuild, posterior: xr.Dataset) -> np.ndarray:
    tree = xr.DataTree.from_dict({"posterior": posterior})
    ll = pm.compute_log_likelihood(tree, model=build.model, extend_inferencedata=False,
                                   progressbar=False, compile_kwargs=PREDICTIVE_COMPILE)
    return ll["y_obs"].transpose("chain", "draw", ...).to_numpy()


@pytest.mark.parametrize("name", SPECS)
def test_vectorised_log_likelihood_is_pymcs_term_by_term(specs, example_data, name):
    spec, data = specs[name], example_data[name]
    build = family_of(spec).build(spec, data)
    posterior = jittered_posterior(build, draws=20, sd=0.2)
    ll = pointwise_log_likelihood(build, posterior)["y_obs"]
    assert ll.dims == ("chain", "draw", "school")
    np.testing.assert_allclose(ll.to_numpy(), _pymc_log_likelihood(build, posterior),
                               rtol=1e-9, atol=1e-9)


def test_a_pupil_level_fit_has_one_log_likelihood_term_per_school(specs):
    spec = specs["s47_primary"].with_covariates(("fsm", "sen"))
    trial = simulate_pupils(3, irr={"s47": 0.85}, design=TrialDesign(
        n_la=4, n_swis=8, n_control=8, min_per_arm=1, max_per_arm=3, total_pupils=5_000))
    data = read_school_data(trial.frame, outcomes=["s47"], covariates=spec.covariates)
    assert len(data.cells) > len(data.frame)  # several cells per school
    build = family_of(spec).build(spec, data)
    posterior = jittered_posterior(build, draws=20, sd=0.2)
    ll = pointwise_log_likelihood(build, posterior)["y_obs"]
    assert ll.sizes["school"] == len(data.frame)
    np.testing.assert_allclose(ll.to_numpy(), _pymc_log_likelihood(build, posterior),
                               rtol=1e-9, atol=1e-9)
    # the check reads the school totals, the unit of randomisation
    ppc = criticism.posterior_predictive_check(fake_fit(spec, data))
    assert ppc.replicated_rates.shape == (200, len(data.frame))


# --------------------------------------------------------------------------------------------
# Plumbing, on posteriors made without MCMC


@pytest.mark.parametrize("name", SPECS)
def test_every_family_is_checked_on_its_own_rate_scale(specs, example_data, name):
    spec, data = specs[name], example_data[name]
    ppc = criticism.posterior_predictive_check(fake_fit(spec, data))
    assert [c.statistic for c in ppc.checks] == list(STATISTICS)
    assert ppc.unit == family_of(spec).rate.unit
    payload = ppc.to_dict()
    assert set(payload) == set(STATISTICS)
    assert all(set(v) == {"observed", "p_value", "flag"} for v in payload.values())
    assert all(0 <= v["p_value"] <= 1 for v in payload.values())
    json.dumps(payload)
    # the observed rates are the family's: outcome over its denominator
    rate = family_of(spec).rate
    outcome = data.frame[outcome_schema(spec.outcome).followup]
    np.testing.assert_allclose(ppc.observed_rates,
                               outcome / rate.denominator(spec, data) * rate.per)
    assert isinstance(ppc.plot(), Figure)
    assert "posterior predictive checks" in ppc.text


def test_loo_reports_per_school_k_hats_and_loo_pit(specs, example_data):
    fit_like = fake_fit(specs["s47_primary"], example_data["s47_primary"])
    draws = criticism.predictive_draws(fit_like)
    assert {"posterior", "posterior_predictive", "log_likelihood",
            "observed_data"} <= set(draws.children)
    result = criticism.loo(fit_like, draws=draws)
    assert set(result.to_dict()) == {"elpd_loo", "se", "p_loo", "pareto_k_over_0_7"}
    assert len(result.pareto_k) == len(result.loo_pit) == 268
    assert result.pareto_k.index.equals(result.loo_pit.index)
    assert result.loo_pit.between(0, 1).all()
    assert 0 <= result.pit_p_value <= 1
    assert result.pareto_k_over_0_7 == int((result.pareto_k > 0.7).sum())
    assert np.isclose(result.elpd_loo, result.elpd.elpd_i.sum())
    assert isinstance(result.plot(), Figure)
    without_pit = criticism.loo(fit_like, pit=False)
    assert without_pit.loo_pit is None
    assert without_pit.elpd_loo == pytest.approx(result.elpd_loo, rel=1e-12)
    with pytest.raises(ValueError, match="no LOO-PIT"):
        without_pit.plot()


def test_compare_ranks_fits_of_one_outcome_on_the_same_data(specs, example_data):
    spec, data = specs["s47_primary"], example_data["s47_primary"]
    fits = [fake_fit(spec, data), fake_fit(spec.model_copy(update={"name": "other"}), data,
                                           seed=1)]
    table = criticism.compare(fits).table
    assert list(table.columns) == list(criticism.COMPARE_COLUMNS)
    assert list(table["rank"]) == [0, 1]
    assert table["elpd_diff"].iloc[0] == 0.0
    assert table["elpd_diff"].iloc[1] <= 0.0
    with pytest.raises(swisbayes.SpecError, match="distinct names"):
        criticism.compare([fits[0], fits[0]])
    with pytest.raises(swisbayes.SpecError, match="different outcomes"):
        criticism.compare([fits[0], fake_fit(specs["care_entry"], example_data["care_entry"])])
    elsewhere = read_school_data(simulate_trial(5).frame, outcomes=["s47"],
                                 covariates=spec.covariates)
    with pytest.raises(swisbayes.DataError, match="same data"):
        criticism.compare([fits[0], fake_fit(spec.model_copy(update={"name": "b"}),
                                             elsewhere)])


def test_a_fit_without_its_data_says_so(specs, example_data):
    fit_like = fake_fit(specs["s47_primary"], example_data["s47_primary"])
    fit_like.data = None
    with pytest.raises(ValueError, match="loaded without its data"):
        criticism.posterior_predictive_check(fit_like)


# --------------------------------------------------------------------------------------------
# Known answers (MCMC)

FAST = {"draws": 500, "tune": 500, "chains": 2}
"""Sampler settings of the slow tests: enough draws for p-values near 0 or 1 and for PSIS."""


@pytest.fixture(scope="module")
def overdispersed(tmp_path_factory) -> pd.DataFrame:
    """A SWIS-shaped trial whose school counts vary far beyond Poisson: gamma noise of shape 2
    (variance mu + mu^2 / 2, about 13 times mu at 25 events a school)."""
    strong = Assumption(2.0, "assumption", "strong overdispersion, for the known-answer test")
    return simulate_trial(2024, irr={"s47": 0.85},
                          assumptions={"nb_dispersion": strong}).frame


@pytest.mark.slow
def test_overdispersion_flags_the_poisson_variance_and_loo_prefers_the_negative_binomial(
        overdispersed, tmp_path):
    path = tmp_path / "overdispersed.csv"
    overdispersed.to_csv(path, index=False)
    poisson = fit(swisbayes.load_spec("s47_poisson").with_sampler(**FAST), path)
    ppc = poisson.ppc()
    assert {"var_rate_control", "var_rate_swis"} <= set(ppc.flagged), ppc.text
    assert ppc["var_rate_control"].p_value < 0.01  # too little variance, not too much
    # the command line fits both on the same file and ranks them
    run = CliRunner().invoke(cli, ["compare", "s47_primary", "s47_poisson", "--data", str(path),
                                   "--json", *[f"--{k}={v}" for k, v in FAST.items()]],
                             catch_exceptions=False)
    assert run.exit_code in (0, 3), run.output  # 3: a short run may fail the strict gate
    rows = json.loads(run.stdout)
    assert [r["analysis"] for r in rows] == ["s47_primary", "s47_poisson"]
    worse = rows[1]
    assert -worse["elpd_diff"] > 2 * worse["dse"], rows
    assert set(worse) == {"analysis", *criticism.COMPARE_COLUMNS}


@pytest.mark.slow
def test_data_from_the_fitted_model_are_flagged_no_more_than_the_nominal_rate():
    """20 datasets replicated from the negative binomial fit of the bundled data (each at its
    own posterior draw), each refitted and checked.

    If a statistic's p-value were uniform, it would be flagged (p < 0.01 or p > 0.99) with
    probability 0.02 per dataset, so its count of flags over 20 datasets would be
    Binomial(20, 0.02): P(count >= 4) = 0.00057, under 0.4% for any of the 7 statistics.
    Posterior predictive p-values are conservative (concentrated near 0.5), so the real
    chance is smaller still: a count of 4 or more says the checks flag too often.
    """
    assert stats.binom.sf(3, 20, 0.02) < 0.001
    spec = swisbayes.load_spec("s47_primary").with_sampler(**FAST)
    example = swisbayes.load_example()
    draws = criticism.predictive_draws(fit(spec, example))["posterior_predictive"]["y_obs"]
    replicated = draws.stack(sample=("chain", "draw")).transpose("sample", "school")
    assert list(replicated["school"].values) == list(example["school_id"])
    rows = np.linspace(0, replicated.sizes["sample"] - 1, 20).round().astype(int)
    flags = dict.fromkeys(STATISTICS, 0)
    for k, row in enumerate(rows):
        data = example.copy()
        data["s47"] = replicated[row].to_numpy()
        ppc = fit(spec.with_sampler(seed=1000 + k), data).ppc()
        for name in ppc.flagged:
            flags[name] += 1
    assert max(flags.values()) <= 3, flags


@pytest.mark.slow
def test_check_command_prints_json_and_figures(tmp_path):
    run = CliRunner().invoke(cli, ["check", "s47_primary", "--json", "--plot", str(tmp_path),
                                   "--draws=200", "--tune=200", "--chains=2"],
                             catch_exceptions=False)
    assert run.exit_code in (0, 3), run.output
    payload = json.loads(run.stdout)
    assert set(payload) == {"ppc", "loo"}
    assert set(payload["ppc"]) == set(STATISTICS)
    assert set(payload["loo"]) == {"elpd_loo", "se", "p_loo", "pareto_k_over_0_7"}
    assert {p.name for p in tmp_path.iterdir()} == {"s47_primary-ppc.png",
                                                   "s47_primary-loo-pit.png"}
    text = CliRunner().invoke(cli, ["check", "s47_primary", "--draws=200", "--tune=200",
                                    "--chains=2"], catch_exceptions=False).output
    assert "posterior predictive checks" in text
    assert "PSIS-LOO over 268 schools" in text


def test_compare_needs_two_specs():
    run = CliRunner().invoke(cli, ["compare", "s47_primary"])
    assert run.exit_code == 2
    assert "two or more" in run.output
