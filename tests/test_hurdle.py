"""Days in care: the hurdle's densities against SciPy, and recovery of each part's effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import simulate_trial
from swisbayes.families.hurdle import (
    expected_days,
    hurdle_data_values,
    hurdle_logp,
    zero_truncated_nb_logp,
)
from swisbayes.families.likelihoods import log_factorial
from swisbayes.families.registry import build_model

from .conftest import ROOT, clearly_outside

SPEC_PATH = ROOT / "models" / "days_in_care.toml"

# Symbolic inputs, as in a model (pytensor constant-folds literal graphs through other code).
_y, _lyf = pt.lvector("y"), pt.dvector("lyf")
_eta_zero, _log_mu, _phi = pt.dvector("eta_zero"), pt.dvector("log_mu"), pt.dscalar("phi")
_ZTNB = pytensor.function([_y, _log_mu, _phi, _lyf],
                          zero_truncated_nb_logp(_y, _log_mu, _phi, _lyf))
_HURDLE = pytensor.function([_y, _eta_zero, _log_mu, _phi, _lyf],
                            hurdle_logp(_y, _eta_zero, _log_mu, _phi, _lyf))
_MEAN = pytensor.function([_eta_zero, _log_mu, _phi], expected_days(_eta_zero, _log_mu, _phi))

Y = np.array([1, 2, 5, 17, 40, 311, 2000])
MU = np.array([0.3, 1.2, 2.0, 25.0, 33.3, 280.0, 600.0])


@pytest.fixture(scope="module")
def spec() -> swisbayes.AnalysisSpec:
    return swisbayes.load_spec(SPEC_PATH)


def _scipy_ztnb(y, mu, phi):
    p = phi / (phi + mu)
    return stats.nbinom.logpmf(y, phi, p) - np.log1p(-stats.nbinom.pmf(0, phi, p))


def test_zero_truncated_negative_binomial_matches_scipy():
    for phi in (0.3, 1.5, 40.0, 1e6):
        ours = _ZTNB(Y, np.log(MU), phi, log_factorial(Y))
        np.testing.assert_allclose(ours, _scipy_ztnb(Y, MU, phi), rtol=1e-9, atol=1e-8)


def test_hurdle_is_zero_part_then_truncated_negative_binomial():
    y = np.array([0, 0, 3, 120])
    lam = np.array([0.05, 2.0, 0.7, 3.0])  # expected care episodes
    mu = np.array([10.0, 300.0, 4.0, 150.0])
    ours = _HURDLE(y, np.log(lam), np.log(mu), 1.3, log_factorial(y))
    p_any = -np.expm1(-lam)
    expected = np.where(y == 0, np.log1p(-p_any), np.log(p_any) + _scipy_ztnb(y, mu, 1.3))
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_hurdle_pmf_sums_to_one_with_the_stated_mean():
    y = np.arange(0, 6000)
    lam, mu, phi = 0.8, 220.0, 1.7
    pmf = np.exp(_HURDLE(y, np.full(y.size, np.log(lam)), np.full(y.size, np.log(mu)), phi,
                         log_factorial(y)))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    mean = _MEAN(np.array([np.log(lam)]), np.array([np.log(mu)]), phi)[0]
    assert (y * pmf).sum() == pytest.approx(mean, rel=1e-9)
    p0 = (phi / (phi + mu)) ** phi
    assert mean == pytest.approx(-np.expm1(-lam) * mu / (1 - p0), rel=1e-12)


def test_model_structure_parts_and_swappable_priors(spec):
    data = read_school_data(swisbayes.load_example(), outcomes=["days_in_care"],
                            covariates=["fsm_pct"])
    build = build_model(spec, data)
    model = build.model
    assert build.structure_key[0] == "hurdle"
    for part in ("zero_", "positive_"):
        for name in ("intercept", "log_irr", "coef", "sigma_la", "z_la", "sigma_la_effect",
                     "w_la", "w_new_la"):
            assert f"{part}{name}" in model.named_vars
    assert {"irr", "irr_new_la", "zero_irr", "positive_irr", "rate_control_per_1000",
            "rate_swis_per_1000"} <= set(model.named_vars)
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))
    # Every data value is a pm.Data in the graph (nutpie's with_data swaps them by name).
    assert set(build.data_values) <= set(model.named_vars)
    assert "inv_sqrt_dispersion_prior_scale" not in build.data_values
    starts = build.initial_values()
    assert starts["zero_intercept"] == -6.0
    assert starts["positive_intercept"] == -1.0
    raw = spec.model_dump()
    raw["priors"]["effect"] = {"name": "keen", "mean": -0.2, "sd": 0.1}
    raw["priors"]["hyper"]["positive"]["intercept_mean"] = 0.5
    other = swisbayes.AnalysisSpec.model_validate(raw)
    swapped = build_model(other, data)
    assert swapped.structure_key == build.structure_key
    assert swapped.data_values["positive_intercept_prior_mean"] == 0.5
    flat = spec.model_copy(update={"hierarchy": spec.hierarchy.model_copy(
        update={"la_varying_effect": False})})
    flat_build = build_model(flat, data)
    assert flat_build.structure_key != build.structure_key
    assert "sigma_la_effect_prior_scale" not in flat_build.data_values


# --- recovery -------------------------------------------------------------------------------

TRUE = {"zero_intercept": -6.6, "zero_coef": np.array([0.4, 0.2, 0.1]), "zero_sigma_la": 0.3,
        "zero_log_irr": np.log(0.7),
        "positive_intercept": -0.5, "positive_coef": np.array([0.3, 0.1, 0.1]),
        "positive_sigma_la": 0.2, "positive_log_irr": np.log(1.3), "dispersion": 2.0}
"""True parameters: fewer care episodes with SWIS, but longer care given any (opposite parts)."""

SEEDS = (11, 12, 13)


def simulate_days(seed: int, spec: swisbayes.AnalysisSpec) -> tuple[pd.DataFrame, float]:
    """Days in care drawn from the hurdle itself, on a SWIS-shaped trial; and the true ratio.

    Schools, arms, sizes, %FSM and baseline days come from :func:`simulate_trial`; the
    follow-up days from the model's equations with :data:`TRUE` (same effect in every LA).
    """
    frame = simulate_trial(seed).frame
    frame["days_in_care"] = 0  # a placeholder: the covariates do not depend on it
    data = read_school_data(frame, outcomes=["days_in_care"], covariates=["fsm_pct"])
    values, _ = hurdle_data_values(spec, data)
    rng = np.random.default_rng(seed)
    la = values["la_idx"]
    etas = {}
    for part in ("zero", "positive"):
        z = rng.normal(0.0, TRUE[f"{part}_sigma_la"], la.max() + 1)
        etas[part] = (values["log_exposure"] + TRUE[f"{part}_intercept"]
                      + values["X"] @ TRUE[f"{part}_coef"] + z[la])
    phi = TRUE["dispersion"]
    arm = values["arm"]
    eta_zero = etas["zero"] + TRUE["zero_log_irr"] * arm
    mu = np.exp(etas["positive"] + TRUE["positive_log_irr"] * arm)
    any_days = rng.random(arm.size) < -np.expm1(-np.exp(eta_zero))
    days = np.zeros(arm.size, dtype=np.int64)
    for j in np.flatnonzero(any_days):
        while days[j] == 0:  # zero-truncated: redraw zeros
            days[j] = rng.negative_binomial(phi, phi / (phi + mu[j]))
    frame["days_in_care"] = days

    def total(effect_zero, effect_positive):
        return _MEAN(etas["zero"] + effect_zero, etas["positive"] + effect_positive, phi).sum()

    return frame, total(TRUE["zero_log_irr"], TRUE["positive_log_irr"]) / total(0.0, 0.0)


@pytest.fixture(scope="module")
def recovery_fits(spec):
    fits = {}
    for seed in SEEDS:
        frame, ratio = simulate_days(seed, spec)
        fits[seed] = (swisbayes.fit(spec.with_sampler(seed=seed), frame), ratio)
    return fits


@pytest.mark.slow
def test_recovery_covers_each_part_and_the_headline(recovery_fits):
    misses = []
    for seed, (result, ratio) in recovery_fits.items():
        assert result.ok, (seed, result.diagnostics.reasons)
        parts = result.decision.parts
        post = result.idata["posterior"]
        for part, variable, truth in (("zero", "zero_irr", np.exp(TRUE["zero_log_irr"])),
                                      ("positive", "positive_irr",
                                       np.exp(TRUE["positive_log_irr"])),
                                      ("headline", "irr", ratio)):
            summary = result.decision.effect if part == "headline" else parts[part]
            if clearly_outside(post[variable].to_numpy(), summary.ci, truth):
                misses.append((seed, part))
    # Nine 95% intervals (three per fit, not independent): one miss is allowed (seed 12's zero
    # part is one, some 7 MCSEs outside). A truth within 4 Monte Carlo SEs of a bound is not
    # counted either way, since other draws (another machine's bits) may put it on either side.
    assert len(misses) <= 1, misses


@pytest.mark.slow
def test_recovery_tells_the_parts_apart(recovery_fits):
    # The parts move in opposite directions (log ratios -0.36 and +0.26); a model that pooled
    # them would put both near the headline (+0.15). Posterior SDs of the log ratios are about
    # 0.19 (zero part) and 0.12 (positive part) per fit, so the means of three fits have SEs of
    # about 0.11 and 0.07.
    zero = np.mean([np.log(r.decision.parts["zero"].median) for r, _ in recovery_fits.values()])
    positive = np.mean([np.log(r.decision.parts["positive"].median)
                        for r, _ in recovery_fits.values()])
    assert zero < 0 < positive
    assert abs(zero - TRUE["zero_log_irr"]) < 0.25
    assert abs(positive - TRUE["positive_log_irr"]) < 0.15


@pytest.mark.slow
def test_bundled_data_passes_the_gate_and_covers_the_truth(spec):
    result = swisbayes.fit(spec, swisbayes.load_example())
    assert result.ok, result.diagnostics.reasons
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]["days_in_care_ratio"]
    lo, hi = result.decision.effect.ci
    assert lo < truth < hi
    keys = result.to_dict()
    assert set(keys["parts"]) == {"zero", "positive"}
    assert set(keys["parts"]["zero"]) | {"estimand"} == set(keys["new_la"])
