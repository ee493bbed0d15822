"""Attendance: the beta-binomial density against SciPy, and recovery of the difference in points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats
from scipy.special import expit

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import simulate_trial
from swisbayes.families.attendance import (
    attendance_columns,
    attendance_data_values,
    beta_binomial_logit_logp,
    log_binomial_coefficient,
)
from swisbayes.families.count import build_model

from .conftest import ROOT

SPEC_PATH = ROOT / "models" / "attendance.toml"

_k, _n, _lbc = pt.lvector("k"), pt.lvector("n"), pt.dvector("lbc")
_logit, _kappa = pt.dvector("logit"), pt.dscalar("kappa")
_BB = pytensor.function([_k, _logit, _kappa, _n, _lbc],
                        beta_binomial_logit_logp(_k, _logit, _kappa, _n, _lbc))

N = np.array([1, 10, 380, 5_000, 400_000, 400_000, 250_000])
K = np.array([0, 10, 27, 0, 30_000, 400_000, 1])
P = np.array([0.3, 0.9, 0.07, 0.001, 0.075, 0.999, 1e-4])


@pytest.fixture(scope="module")
def spec() -> swisbayes.AnalysisSpec:
    return swisbayes.load_spec(SPEC_PATH)


def _bb(kappa: float) -> np.ndarray:
    return _BB(K, np.log(P) - np.log1p(-P), kappa, N, log_binomial_coefficient(N, K))


def test_beta_binomial_matches_scipy():
    for kappa in (0.5, 3.0, 400.0, 2e5):
        expected = stats.betabinom.logpmf(K, N, kappa * P, kappa * (1 - P))
        # With n = 400,000 the gammaln terms (~5e6) cancel to ~1e-2: ~1e-9 absolute rounding.
        np.testing.assert_allclose(_bb(kappa), expected, rtol=1e-9, atol=1e-8)


def test_beta_binomial_switches_to_the_binomial_limit():
    np.testing.assert_allclose(_bb(1e12), stats.binom.logpmf(K, N, P), rtol=1e-10)


def test_beta_binomial_pmf_sums_to_one_with_mean_np():
    n, p, kappa = 60, 0.08, 7.0
    k = np.arange(n + 1)
    pmf = np.exp(_BB(k, np.full(k.size, np.log(p / (1 - p))), kappa, np.full(k.size, n),
                     log_binomial_coefficient(n, k)))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert (k * pmf).sum() == pytest.approx(n * p, rel=1e-10)


def test_baseline_enters_as_standardised_logit(spec):
    frame = simulate_absence(7, spec)[0]
    data = read_school_data(frame, outcomes=["attendance"], covariates=["fsm_pct"])
    columns = attendance_columns(spec, data)
    assert list(columns) == ["baseline_logit", "log_pupils", "fsm_pct"]
    share = (frame["sessions_missed_baseline"] + 0.5) / (frame["sessions_possible"] + 1)
    raw = np.log(share / (1 - share)).to_numpy()
    np.testing.assert_allclose(columns["baseline_logit"], (raw - raw.mean()) / raw.std())


def test_model_structure_and_swappable_priors(spec):
    data = read_school_data(simulate_absence(7, spec)[0], outcomes=["attendance"],
                            covariates=["fsm_pct"])
    build = build_model(spec, data)
    model = build.model
    assert build.structure_key[0] == "attendance"
    assert {"log_irr", "odds_ratio", "inv_sqrt_concentration", "diff_pp", "diff_pp_new_la",
            "absence_rate_control", "absence_rate_swis", "irr", "irr_new_la",
            "rate_control_per_1000", "rate_swis_per_1000"} <= set(model.named_vars)
    assert np.isfinite(model.compile_logp()(model.initial_point()))
    assert set(build.data_values) <= set(model.named_vars)
    assert "inv_sqrt_dispersion_prior_scale" not in build.data_values
    assert build.initial_values()["intercept"] == -2.6
    raw = spec.model_dump()
    raw["priors"]["hyper"]["inv_sqrt_concentration"]["scale"] = 0.05
    swapped = build_model(swisbayes.AnalysisSpec.model_validate(raw), data)
    assert swapped.structure_key == build.structure_key
    assert swapped.data_values["inv_sqrt_concentration_prior_scale"] == 0.05


# --- recovery -------------------------------------------------------------------------------

TRUE = {"intercept": -2.55, "coef": np.array([0.25, 0.0, 0.02]), "sigma_la": 0.1,
        "concentration": 400.0, "log_or": np.log(0.9)}
"""True parameters: SWIS cuts the odds of a missed session by 10% (about -0.65 points)."""

SEEDS = (21, 22, 23)


def simulate_absence(seed: int, spec: swisbayes.AnalysisSpec) -> tuple[pd.DataFrame, float]:
    """Sessions missed drawn from the beta-binomial itself on a SWIS-shaped trial; true diff_pp.

    Schools, arms, sizes, %FSM and sessions possible come from :func:`simulate_trial`; the
    baseline year from a persistent school absence logit; the follow-up from the model's
    equations with :data:`TRUE` (the same effect in every LA).
    """
    frame = simulate_trial(seed).frame
    rng = np.random.default_rng(seed)
    la = np.unique(frame["la_id"], return_inverse=True)[1]
    n = frame["sessions_possible"].to_numpy()
    school = -2.55 + rng.normal(0.0, 0.25, la.max() + 1)[la] + rng.normal(0.0, 0.2, la.size)
    frame["sessions_missed_baseline"] = rng.binomial(n, expit(school + rng.normal(0, 0.1, la.size)))
    frame["sessions_missed"] = 0  # a placeholder: the covariates do not depend on it
    data = read_school_data(frame, outcomes=["attendance"], covariates=["fsm_pct"])
    values, _ = attendance_data_values(spec, data)
    eta0 = (TRUE["intercept"] + values["X"] @ TRUE["coef"]
            + rng.normal(0.0, TRUE["sigma_la"], la.max() + 1)[la])
    p = expit(eta0 + TRUE["log_or"] * values["arm"])
    kappa = TRUE["concentration"]
    frame["sessions_missed"] = rng.binomial(n, rng.beta(kappa * p, kappa * (1 - p)))
    diff_pp = 100 * (n @ expit(eta0 + TRUE["log_or"]) - n @ expit(eta0)) / n.sum()
    return frame, float(diff_pp)


@pytest.fixture(scope="module")
def recovery_fits(spec):
    fits = {}
    for seed in SEEDS:
        frame, diff_pp = simulate_absence(seed, spec)
        fits[seed] = (swisbayes.fit(spec.with_sampler(seed=seed), frame), diff_pp)
    return fits


@pytest.mark.slow
def test_recovery_covers_the_difference_in_points_and_the_odds_ratio(recovery_fits):
    covered = []
    for seed, (result, diff_pp) in recovery_fits.items():
        assert result.ok, (seed, result.diagnostics.reasons)
        lo, hi = result.decision.difference.ci
        covered.append(lo <= diff_pp <= hi)
        odds_ratio = result.idata["posterior"]["odds_ratio"].to_numpy().ravel()
        lo, hi = np.quantile(odds_ratio, [0.025, 0.975])
        covered.append(lo <= np.exp(TRUE["log_or"]) <= hi)
    # Six 95% intervals (two per fit, nearly the same event): one miss is allowed.
    assert sum(covered) >= len(covered) - 1, covered


@pytest.mark.slow
def test_recovery_is_close_and_says_absence_fell(recovery_fits):
    # The realised difference scatters around the true one with SD ~0.18 points (beta-binomial
    # noise, 100 simulated trials), so the mean error of three fits has SE ~0.1: allow 3 SEs.
    errors = [r.decision.difference.median - d for r, d in recovery_fits.values()]
    assert abs(np.mean(errors)) < 0.3, errors
    for result, _ in recovery_fits.values():
        assert result.decision.effect.prob_any_reduction > 0.9
        # The truth (-0.65 points) is beyond the 0.5-point MCID, so P(fall >= 0.5) leans to it.
        assert result.decision.difference.prob_meaningful_reduction > 0.2


@pytest.mark.slow
def test_bundled_data_passes_the_gate_and_covers_the_truth(spec):
    result = swisbayes.fit(spec)
    assert result.ok, result.diagnostics.reasons
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]
    lo, hi = result.idata["posterior"]["odds_ratio"].quantile([0.025, 0.975]).to_numpy()
    assert lo < truth["absence_odds_ratio"] < hi
    keys = result.to_dict()
    assert {"diff_pp_median", "diff_pp_ci95", "prob_meaningful_improvement_pp", "mcid_pp",
            "control_absence_pct"} <= set(keys)
    assert {"diff_pp_median", "diff_pp_ci95"} <= set(keys["new_la"])
