"""Every family simulates its own outcome, and the draws have the model's closed-form moments.

Draws are checked at fixed parameter values, where each outcome's distribution is known in
closed form: a posterior whose every draw is the same point, so that the posterior predictive
is the likelihood itself. Each check pools independent draws (schools are independent given the
parameters) and allows 4 Monte Carlo standard errors, computed from the draws themselves. The
densities that are sampled stay the hand-written ones: they read the precomputed data terms
(``log y!``, ``log C(n, k)``) that PyMC's own densities would compute themselves.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from pytensor.scalar.math import Log1mexp, Softplus
from scipy.special import expit

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import TrialDesign, simulate_pupils
from swisbayes.families import likelihoods
from swisbayes.families.common import ModelBuild, cell_school_positions, pupil_design_columns
from swisbayes.families.hurdle import zero_truncated_nb_random
from swisbayes.families.joint import (
    build_joint_model,
    joint_posterior_predictive,
    joint_prior_predictive,
)
from swisbayes.families.predictive import PREDICTIVE_COMPILE
from swisbayes.families.registry import family_of, posterior_predictive, prior_predictive

DRAWS = 400
"""Posterior draws of the fixed-parameter checks (x 268 schools)."""


def assert_mean(x: np.ndarray, target: float, what: str) -> None:
    """The mean of independent draws ``x`` is ``target`` within 4 Monte Carlo SEs."""
    x = np.asarray(x, dtype=float).ravel()
    mcse = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - target) < 4 * mcse, (
        f"{what}: mean {x.mean():.6g}, want {target:.6g} within 4 x MCSE {mcse:.3g}")


def assert_moments(y: np.ndarray, mean: np.ndarray, var: np.ndarray, what: str) -> None:
    """Independent draws ``y`` have these means and variances (one of each per draw)."""
    z = (y - mean) / np.sqrt(var)
    assert_mean(z, 0.0, f"{what}, standardised mean")
    assert_mean(z**2, 1.0, f"{what}, standardised variance")


def constant_posterior(build: ModelBuild, draws: int = DRAWS, **values) -> xr.Dataset:
    """A posterior whose every draw is the model's starting point, with ``values`` replaced."""
    dims = build.model.named_vars_to_dims
    point = build.initial_values() | {k: np.asarray(v, dtype=float) for k, v in values.items()}
    used = {d for name in point for d in dims.get(name, ())}
    return xr.Dataset(
        {name: (("chain", "draw", *dims.get(name, ())),
                np.broadcast_to(value, (1, draws, *np.shape(value))))
         for name, value in point.items()},
        coords={"chain": [0], "draw": np.arange(draws)}
        | {d: build.coords[d] for d in used})


def schools(data) -> tuple[np.ndarray, np.ndarray]:
    """Pupils (exposure) and arm of each school."""
    return data.frame["pupils"].to_numpy(float), data.frame["arm"].to_numpy(float)


def nb_variance(mu: np.ndarray, phi: float) -> np.ndarray:
    return mu + mu**2 / phi


@pytest.fixture(scope="module")
def specs() -> dict[str, swisbayes.AnalysisSpec]:
    return {name: swisbayes.load_spec(name) for name in ("s47_primary", "days_in_care",
                                                         "attendance", "care_entry")}


@pytest.fixture(scope="module")
def example_data(specs):
    example = swisbayes.load_example()
    return {name: read_school_data(example, outcomes=[spec.outcome], covariates=spec.covariates)
            for name, spec in specs.items()}


@pytest.fixture(scope="module")
def pupil_spec(specs):
    spec = specs["s47_primary"]
    return spec.model_copy(update={"adjustment": spec.adjustment.model_copy(
        update={"covariates": ("fsm", "sen")})})


@pytest.fixture(scope="module")
def pupil_data(pupil_spec):
    trial = simulate_pupils(7, irr={"s47": 0.85}, design=TrialDesign(total_pupils=20_000))
    return read_school_data(trial.frame, outcomes=["s47"], covariates=pupil_spec.covariates)


# --------------------------------------------------------------------------------------------
# The generators of the likelihoods


def test_negative_multinomial_cells_are_negative_binomial_and_sum_to_nb_totals():
    rng = np.random.default_rng(11)
    school = np.array([0, 1, 0, 2, 1, 0])
    mu = np.array([0.5, 2.0, 3.0, 4.0, 5.0, 6.0])
    phi, n = 2.5, 100_000
    cells = likelihoods.negative_multinomial_random(np.broadcast_to(np.log(mu), (n, 6)), phi,
                                                    school, 3, rng)
    assert cells.shape == (n, 6)
    assert cells.dtype == np.int64
    for c in range(6):
        assert_moments(cells[:, c], mu[c], nb_variance(mu[c], phi), f"cell {c}")
    totals = np.stack([cells[:, school == j].sum(axis=1) for j in range(3)], axis=1)
    total_mu = np.bincount(school, weights=mu)
    for j in range(3):
        assert_moments(totals[:, j], total_mu[j], nb_variance(total_mu[j], phi), f"school {j}")


def test_negative_multinomial_split_is_multinomial_in_proportion_to_the_weights():
    rng = np.random.default_rng(12)
    school = np.array([1, 0, 1, 1, 0])
    weight = np.array([1.0, 3.0, 0.2, 2.0, 1.0])
    totals = np.broadcast_to(np.array([40, 7]), (50_000, 2))
    cells = likelihoods.negative_multinomial_split(totals, np.log(weight), school, rng)
    share = weight / np.bincount(school, weights=weight)[school]
    n = totals[:, school]
    np.testing.assert_array_equal(cells[:, school == 0].sum(axis=1), 40)
    np.testing.assert_array_equal(cells[:, school == 1].sum(axis=1), 7)
    for c in range(5):
        assert_moments(cells[:, c], n[:, c] * share[c], n[:, c] * share[c] * (1 - share[c]),
                       f"cell {c}")


def test_negative_multinomial_split_keeps_every_count_of_huge_totals():
    # A vague prior draws totals beyond 2^50, where NumPy's multinomial can drop a count.
    rng = np.random.default_rng(3)
    totals = np.array([[1_570_217_477_147_080, 3], [2**52 + 1, 0]])
    cells = likelihoods.negative_multinomial_split(
        totals, np.log([1e-6, 1e-3, 1.0, 0.5, 1.0, 1e-9, 0.7]), np.array([0, 0, 0, 1, 1, 0, 0]),
        rng)
    np.testing.assert_array_equal(cells[:, [0, 1, 2, 5, 6]].sum(axis=1), totals[:, 0])
    np.testing.assert_array_equal(cells[:, [3, 4]].sum(axis=1), totals[:, 1])


@pytest.mark.parametrize(("mu", "phi"), [(0.01, 0.5), (0.3, 1.0), (3.0, 2.0), (2.0, 1e12)])
def test_zero_truncated_negative_binomial_draws_have_its_moments(mu, phi):
    """By rejection (mu = 3), by inversion where a zero is almost certain (mu = 0.01), and by
    both (mu = 0.3: 12% of draws are still zero after the rejection rounds)."""
    rng = np.random.default_rng(5)
    y = zero_truncated_nb_random(np.log(mu), phi, rng, size=(200_000,))
    assert y.min() >= 1
    poisson = phi > likelihoods.POISSON_LIMIT
    p0 = np.exp(-mu) if poisson else (phi / (phi + mu)) ** phi
    var = mu if poisson else nb_variance(mu, phi)
    mean = mu / (1 - p0)
    assert_moments(y, mean, (var + mu**2) / (1 - p0) - mean**2, "zero-truncated NB")


def test_negative_multinomial_total_draws_poisson_beyond_the_limit():
    """The Poisson family's dispersion of 1e12 would bias a negative-binomial draw of a small
    mean (by 15% at 0.001: its 1 - p keeps one digit), so its Poisson limit is drawn."""
    n = 2_000_000
    with pm.Model():
        data = {"school_y": np.zeros(n, dtype=np.int64), "school_log_y_factorial": np.zeros(n)}
        totals = likelihoods.negative_multinomial("y", np.full(n, np.log(1e-3)), np.zeros(n),
                                                  1e12, data, dims=None)
        y = pm.draw(totals, random_seed=4, mode=PREDICTIVE_COMPILE["mode"])
    assert_moments(y, 1e-3, 1e-3, "Poisson-limit totals")


# --------------------------------------------------------------------------------------------
# The densities sampled are the hand-written ones


def _y_obs_logp(build: ModelBuild):
    model = build.model
    logp = model.compile_logp(vars=[model["y_obs"]], sum=False, mode=PREDICTIVE_COMPILE["mode"])
    return lambda point: logp(point)[0]


def _density_reads_its_data_term(build: ModelBuild, term: str, sign: float = -1.0) -> None:
    """Zeroing the precomputed data term moves the density by exactly that term.

    PyMC's own densities compute ``log y!`` (or ``log C(n, k)``) themselves; the hand-written
    ones add ``sign`` x the data term they are given.
    """
    logp = _y_obs_logp(build)
    point = build.model.initial_point()
    before = logp(point)
    value = build.model[term].get_value()
    with build.model:
        pm.set_data({term: np.zeros_like(value)})
    after = logp(point)
    np.testing.assert_allclose(before - after, sign * value, rtol=1e-9,
                               atol=1e-9 * np.abs(before).max())
    assert value.max() > 1  # the check had something to find


@pytest.mark.parametrize(("name", "term", "sign"), [("s47_primary", "log_y_factorial", -1),
                                                    ("days_in_care", "log_y_factorial", -1),
                                                    ("attendance", "log_binom_coef", 1)])
def test_sampled_density_is_the_hand_written_one(specs, example_data, name, term, sign):
    spec = specs[name]
    _density_reads_its_data_term(family_of(spec).build(spec, example_data[name]), term, sign)


def test_sampled_density_is_the_hand_written_one_for_poisson_cells_and_joint(
        specs, example_data, pupil_spec, pupil_data):
    poisson = specs["s47_primary"].model_copy(update={"family": "poisson"})
    _density_reads_its_data_term(family_of(poisson).build(poisson, example_data["s47_primary"]),
                                 "log_y_factorial")
    _density_reads_its_data_term(family_of(pupil_spec).build(pupil_spec, pupil_data),
                                 "school_log_y_factorial")
    joint_data = read_school_data(swisbayes.load_example(), outcomes=["s47", "care_entry"],
                                  covariates=["fsm_pct"])
    _density_reads_its_data_term(
        build_joint_model([specs["s47_primary"], specs["care_entry"]], joint_data),
        "log_y_factorial")


# --------------------------------------------------------------------------------------------
# Each family's draws at fixed parameter values


@pytest.mark.parametrize("family", ["negative_binomial", "poisson"])
def test_count_draws_have_the_closed_form_moments(specs, example_data, family):
    spec = specs["s47_primary"].model_copy(update={"family": family})
    data = example_data["s47_primary"]
    build = family_of(spec).build(spec, data)
    tree = posterior_predictive(spec, data, constant_posterior(build, log_irr=-0.3), seed=1)
    y = tree["posterior_predictive"]["y_obs"].to_numpy()[0]
    pupils, arm = schools(data)
    mu = pupils * np.exp(-4.0 - 0.3 * arm)  # intercept -4; z, w and coef 0 at the start
    var = nb_variance(mu, 1 / 0.5**2) if family == "negative_binomial" else mu
    assert_moments(y, mu, var, family)


def test_hurdle_draws_have_the_zero_probability_and_truncated_mean(specs, example_data):
    spec, data = specs["days_in_care"], example_data["days_in_care"]
    build = family_of(spec).build(spec, data)
    posterior = constant_posterior(build, zero_log_irr=-0.4, positive_intercept=-7.0,
                                   positive_inv_sqrt_dispersion=0.5)
    y = posterior_predictive(spec, data, posterior, seed=2)["posterior_predictive"]["y_obs"]
    y = y.to_numpy()[0]
    pupils, arm = schools(data)
    p_zero = np.exp(-pupils * np.exp(-6.0 - 0.4 * arm))  # zero part: cloglog, start -6
    assert_mean((y == 0) - p_zero, 0.0, "P(no days)")
    mu, phi = pupils * np.exp(-7.0), 4.0  # untruncated mean of the positive part, about 1
    p0 = (phi / (phi + mu)) ** phi
    mean = mu / (1 - p0)
    var = (nb_variance(mu, phi) + mu**2) / (1 - p0) - mean**2
    positive = y > 0
    assert_moments(y[positive], np.broadcast_to(mean, y.shape)[positive],
                   np.broadcast_to(var, y.shape)[positive], "days given any")


def test_beta_binomial_draws_have_the_closed_form_moments(specs, example_data):
    spec, data = specs["attendance"], example_data["attendance"]
    build = family_of(spec).build(spec, data)
    tree = posterior_predictive(spec, data, constant_posterior(build, log_irr=-0.2), seed=3)
    k = tree["posterior_predictive"]["y_obs"].to_numpy()[0]
    n = data.frame["sessions_possible"].to_numpy(float)
    p, kappa = expit(-2.6 - 0.2 * schools(data)[1]), 1 / 0.1**2  # starting intercept, 1/sqrt
    assert np.all(k <= n)
    assert_moments(k, n * p, n * p * (1 - p) * (n + kappa) / (1 + kappa), "sessions missed")


@pytest.mark.parametrize("family", ["negative_binomial", "poisson"])
def test_pupil_cells_split_negative_binomial_totals_in_proportion_to_their_means(
        pupil_spec, pupil_data, family):
    spec = pupil_spec.model_copy(update={"family": family})
    build = family_of(spec).build(spec, pupil_data)
    pupil = np.array([0.5, -0.4, 0.3])  # own baseline, fsm, sen
    coef = np.r_[np.zeros(len(build.coords["covariate"]) - 3), pupil]
    tree = posterior_predictive(spec, pupil_data, constant_posterior(build, coef=coef), seed=4)
    draws = tree["posterior_predictive"]
    totals, cells = draws["y_obs"].to_numpy()[0], draws["y_cell"].to_numpy()[0]
    school = cell_school_positions(pupil_data)
    np.testing.assert_array_equal(np.stack([np.bincount(school, weights=c, minlength=268)
                                            for c in cells]), totals)
    # Totals: negative binomial with mean M_j = exp(eta_j) sum_c E_c exp(v_c' theta).
    v = np.column_stack(list(pupil_design_columns(spec, pupil_data).values()))
    weight = pupil_data.cells["pupils"].to_numpy(float) * np.exp(v @ pupil)
    total_mu = np.exp(-4.0) * np.bincount(school, weights=weight, minlength=268)
    var = nb_variance(total_mu, 4.0) if family == "negative_binomial" else total_mu
    assert_moments(totals, total_mu, var, "school totals")
    # Split: given its total, each school's cells are multinomial with shares w_c / W_j, so
    # per school sum_c v_c (y_c - T_j share_c) has mean 0, and so has Pearson's X^2 - (C_j - 1).
    share = weight / np.bincount(school, weights=weight)[school]
    expected = totals[:, school] * share
    for k in range(v.shape[1]):
        per_school = np.stack([np.bincount(school, weights=r, minlength=268)
                               for r in (cells - expected) * v[:, k]])
        assert_mean(per_school, 0.0, f"split against pupil covariate {k}")
    pearson = np.stack([np.bincount(school, weights=r, minlength=268)
                        for r in (cells - expected) ** 2 / np.where(expected > 0, expected, 1)])
    n_cells = np.bincount(school, minlength=268)
    assert_mean((pearson - (n_cells - 1))[totals > 0], 0.0, "Pearson X^2 of the split")


def test_joint_draws_are_poisson_at_the_starting_point(specs):
    joint_specs = [specs["s47_primary"], specs["care_entry"]]
    data = read_school_data(swisbayes.load_example(), outcomes=["s47", "care_entry"],
                            covariates=["fsm_pct"])
    build = build_joint_model(joint_specs, data)
    tree = joint_posterior_predictive(joint_specs, data, constant_posterior(build), seed=5)
    y = tree["posterior_predictive"]["y_obs"].to_numpy()[0]
    # Every cell effect starts at the intercept's -4 and the school deviations at 0.
    mu = schools(data)[0][:, None] * np.exp(-4.0)
    assert y.shape == (DRAWS, 268, 2)
    assert_moments(y, mu, mu, "joint outcomes")


def test_joint_prior_form_draws_correlated_lognormal_school_effects(specs):
    """The generative joint model is the fitted one: schools' log-normal effects correlate."""
    joint_specs = [specs["s47_primary"], specs["care_entry"]]
    data = read_school_data(swisbayes.load_example(), outcomes=["s47", "care_entry"],
                            covariates=["fsm_pct"])
    build = build_joint_model(joint_specs, data, generative=True)
    intercept, log_irr, sigma, rho = np.array([-4.0, -6.0]), np.array([-0.2, 0.1]), \
        np.array([0.4, 0.6]), 0.5
    n_cov = len(build.coords["covariate"])
    fixed = pm.do(build.model, {
        "intercept": intercept, "log_irr": log_irr, "coef": np.zeros((2, n_cov)),
        "sigma_school": sigma, "corr_raw_school_chol": np.linalg.cholesky([[1, rho], [rho, 1]]),
        # no LA variation, so that schools are independent given these values
        "sigma_la": np.zeros(2), "corr_raw_la_chol": np.eye(2), "sigma_la_effect": np.zeros(2)})
    y = pm.sample_prior_predictive(draws=DRAWS, model=fixed, var_names=["y_obs"], random_seed=6,
                                   compile_kwargs=PREDICTIVE_COMPILE)["prior_predictive"]["y_obs"]
    y = y.to_numpy()[0].astype(float)
    pupils, arm = schools(data)
    m = pupils[:, None] * np.exp(intercept + log_irr * arm[:, None] + sigma**2 / 2)
    var = m + m**2 * np.expm1(sigma**2)
    assert_moments(y, m, var, "joint outcomes")
    cov = m[:, 0] * m[:, 1] * np.expm1(rho * sigma[0] * sigma[1])
    z = (y - m) / np.sqrt(var)
    assert_mean(z[..., 0] * z[..., 1] - cov / np.sqrt(var[:, 0] * var[:, 1]), 0.0,
                "correlation of a school's outcomes")


# --------------------------------------------------------------------------------------------
# Prior predictive draws of the shipped specs


@pytest.mark.parametrize("name", ["s47_primary", "days_in_care", "attendance"])
def test_prior_predictive_draws_have_the_observed_shape(specs, example_data, name):
    spec, data = specs[name], example_data[name]
    tree = prior_predictive(spec, data, draws=30, seed=7)
    assert {"prior", "prior_predictive", "observed_data"} <= set(tree.children)
    y = tree["prior_predictive"]["y_obs"]
    assert y.dims == ("chain", "draw", "school")
    assert y.shape == (1, 30, 268)
    assert y.dtype == np.int64
    assert int(y.min()) >= 0
    assert tree["observed_data"]["y_obs"].shape == (268,)
    assert list(y["school"].values) == list(data.frame["school_id"])
    assert tree["prior"]["log_irr" if name != "days_in_care" else "zero_log_irr"].shape == (1, 30)
    again = prior_predictive(spec, data, draws=30, seed=7)
    np.testing.assert_array_equal(again["prior_predictive"]["y_obs"], y)  # seeded


def test_pupil_level_prior_predictive_has_cells_that_sum_to_the_schools(pupil_spec, pupil_data):
    tree = prior_predictive(pupil_spec, pupil_data, draws=30, seed=8)
    draws, observed = tree["prior_predictive"], tree["observed_data"]
    assert draws["y_cell"].dims == ("chain", "draw", "cell")
    assert draws["y_cell"].shape == (1, 30, len(pupil_data.cells))
    labels = list(pupil_data.frame["school_id"])
    for group in (draws, observed):
        by_school = group["y_cell"].groupby("cell_school").sum().rename(cell_school="school")
        np.testing.assert_array_equal(
            by_school.sel(school=labels).transpose(*group["y_obs"].dims), group["y_obs"])


def test_joint_prior_predictive_draws_every_outcome(specs):
    joint_specs = [specs["s47_primary"], specs["care_entry"]]
    data = read_school_data(swisbayes.load_example(), outcomes=["s47", "care_entry"],
                            covariates=["fsm_pct"])
    tree = joint_prior_predictive(joint_specs, data, draws=20, seed=9)
    y = tree["prior_predictive"]["y_obs"]
    assert y.dims == ("chain", "draw", "school", "outcome")
    assert y.shape == (1, 20, 268, 2)
    assert tree["prior"]["corr_school"].shape == (1, 20, 1)


@pytest.mark.parametrize("name", ["s47_primary", "days_in_care"])
def test_counts_too_large_to_draw_say_why(specs, example_data, name):
    spec = specs[name].with_effect_prior(50.0, 0.1)  # SWIS schools expect e^50 events
    with pytest.raises(ValueError, match=r"too large|too small|beyond about 9e18") as err:
        prior_predictive(spec, example_data[name], draws=2, seed=12)
    assert "plausible prior" in "\n".join([str(err.value), *getattr(err.value, "__notes__", [])])


def test_posterior_predictive_needs_every_parameter(specs, example_data):
    spec, data = specs["s47_primary"], example_data["s47_primary"]
    posterior = constant_posterior(family_of(spec).build(spec, data), draws=3)
    with pytest.raises(KeyError, match="inv_sqrt_dispersion"):
        posterior_predictive(spec, data, posterior.drop_vars("inv_sqrt_dispersion"))


def test_a_fit_datatree_can_be_passed_as_the_posterior(specs, example_data):
    spec, data = specs["attendance"], example_data["attendance"]
    posterior = constant_posterior(family_of(spec).build(spec, data), draws=5)
    tree = xr.DataTree.from_dict({"posterior": posterior})
    a = posterior_predictive(spec, data, tree, seed=10)["posterior_predictive"]["y_obs"]
    b = posterior_predictive(spec, data, posterior, seed=10)["posterior_predictive"]["y_obs"]
    xr.testing.assert_equal(a, b)
    assert a.shape == (1, 5, 268)


def test_school_data_are_kept_when_a_pupil_file_is_read_as_schools(pupil_spec, pupil_data):
    schools_only = dataclasses.replace(pupil_data, cells=None, level="school", pupil_rows=None)
    tree = prior_predictive(pupil_spec, schools_only, draws=5, seed=11)
    assert "y_cell" not in tree["prior_predictive"]


@pytest.mark.parametrize("op", [pt.softplus, pt.log1mexp])
def test_uncompiled_forward_graphs_evaluate_softplus_and_log1mexp_as_pytensor_does(op):
    # Every branch of each op and its edges; log1mexp is defined for x <= 0.
    x = (np.array([-800.0, -37.5, -37.0, -5.0, np.log(0.5) - 1e-12, np.log(0.5), -0.3, -1e-20])
         if op is pt.log1mexp else
         np.array([-800.0, -37.0, -36.9, -1.0, 0.0, 17.99, 18.0, 25.0, 30.5, 33.29, 33.3, 50.0,
                   800.0]))
    v = pt.dvector("x")
    rewritten = pytensor.function([v], op(v), mode=PREDICTIVE_COMPILE["mode"])
    assert not any(isinstance(getattr(n.op, "scalar_op", None), Softplus | Log1mexp)
                   for n in rewritten.maker.fgraph.apply_nodes), "the op was not rewritten"
    scalar = op(v).owner.op.scalar_op  # what an uncompiled graph runs element by element
    np.testing.assert_array_equal(rewritten(x), [scalar.impl(xi) for xi in x])
