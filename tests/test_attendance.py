"""Attendance: the beta-binomial density against SciPy, and recovery of the difference in points."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from click.testing import CliRunner
from scipy import stats
from scipy.special import expit

import swisbayes
from swisbayes.cli import cli, format_table
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import simulate_trial
from swisbayes.decision.summaries import decide, decide_attendance, difference_decimals, signed
from swisbayes.families.attendance import (
    attendance_columns,
    attendance_data_values,
    beta_binomial_logit_logp,
    log_binomial_coefficient,
)
from swisbayes.families.registry import build_model
from swisbayes.inference.fitting import FitResult

from .conftest import ROOT, clearly_outside

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
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))
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
    misses = []
    for seed, (result, diff_pp) in recovery_fits.items():
        # Whether a fit passes the gate is not asserted per seed: seed 22's first run has a
        # single divergence at the spec's settings and passes on the retry, so its verdict
        # depends on the floating-point bits of the machine. Grossly unconverged chains would
        # make the coverage meaningless: those are ruled out with bounds far from the gate's.
        d = result.diagnostics
        assert d.rhat_max < 1.05, (seed, d)
        assert d.ess_bulk_min > 100, (seed, d)
        post = result.idata["posterior"]
        if clearly_outside(post["diff_pp"].to_numpy(), result.decision.difference.ci, diff_pp):
            misses.append((seed, "diff_pp"))
        odds_ratio = post["odds_ratio"].to_numpy()
        interval = tuple(np.quantile(odds_ratio, [0.025, 0.975]))
        if clearly_outside(odds_ratio, interval, np.exp(TRUE["log_or"])):
            misses.append((seed, "odds_ratio"))
    # Six 95% intervals (two per fit, nearly the same event): one miss is allowed. A truth within
    # Monte Carlo error of a bound is not counted either way: seed 22's two upper bounds lie
    # within about one MCSE of the truth, inside on one machine and outside on another.
    assert len(misses) <= 1, misses


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
    result = swisbayes.fit(spec, swisbayes.load_example())
    assert result.ok, result.diagnostics.reasons
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]
    lo, hi = result.idata["posterior"]["odds_ratio"].quantile([0.025, 0.975]).to_numpy()
    assert lo < truth["absence_odds_ratio"] < hi
    keys = result.to_dict()
    assert {"diff_pp_median", "diff_pp_ci95", "prob_meaningful_improvement_pp", "mcid_pp",
            "control_absence_pct"} <= set(keys)
    assert {"diff_pp_median", "diff_pp_ci95"} <= set(keys["new_la"])


# --- what is printed: the difference in percentage points is the headline -------------------

PP_KEYS = {"diff_pp_median", "diff_pp_ci95", "prob_meaningful_improvement_pp",
           "prob_any_reduction_pp", "prob_harm_pp", "prob_rope_pp"}


def _decisions(seed: int = 5, shape=(2, 2000)):
    """An attendance decision and a count decision from consistent synthetic draws."""
    rng = np.random.default_rng(seed)
    control = rng.normal(0.07, 0.0005, shape)
    diff = rng.normal(-0.004, 0.007, shape)  # bundled-like: a hundredth of a point wide
    sessions = 380_000.0
    dims = ("chain", "draw")
    post = xr.Dataset({k: (dims, v) for k, v in {
        "irr": 1 + diff / 100 / control, "irr_new_la": 1 + diff / 100 / control,
        "rate_control_per_1000": control * sessions,
        "rate_swis_per_1000": (control + diff / 100) * sessions, "diff_pp": diff,
        "diff_pp_new_la": diff * 1.5, "absence_rate_control": control}.items()})
    attendance = decide_attendance(post, outcome="attendance", prior="vague", mcid=0.1,
                                   mcid_pp=0.5, followup_years=1.0)
    count = decide(post, outcome="s17", prior="vague", mcid=0.1, followup_years=1.0)
    return attendance, count, diff.ravel()


def test_fit_all_table_shows_attendance_in_points_and_counts_as_ratios():
    attendance, count, diff = _decisions()
    rows = [SimpleNamespace(spec=SimpleNamespace(name=n), decision=d, ok=True)
            for n, d in (("attendance", attendance), ("s17", count))]
    table, notes = format_table(rows).split("\n\n")
    header, att, s17 = table.splitlines()
    assert "MCID" in header
    assert "effect (95% interval)" in header
    places = difference_decimals(attendance.difference, attendance.new_la_difference)
    assert places >= 3
    d = attendance.difference
    assert f"{signed(d.median, places)} pp ({signed(d.ci[0], places)} to " in att
    assert "0.5 pp" in att
    assert f"{np.mean(diff < -0.5):.1%}" in att  # P(cut) = P(fall >= 0.5 points)
    assert f"{np.mean(diff > 0):.1%}" in att  # P(harm) = P(rise), on the same scale
    assert "IRR" not in att
    assert "10%" in s17
    assert f"IRR {count.effect.median:.3f}" in s17
    assert notes.startswith("attendance: effect = absence with SWIS minus without, percentage")


def test_attendance_text_leads_with_points():
    attendance, _, _ = _decisions()
    text = attendance.text
    assert text.startswith("Under the 'vague' prior, absence in SWIS schools is estimated to "
                           "change by ")
    places = difference_decimals(attendance.difference, attendance.new_la_difference)
    assert f"{signed(attendance.difference.median, places)} percentage points" in text
    assert attendance.to_dict()["headline"] == "diff_pp"


@pytest.mark.slow
def test_fit_all_json_has_the_points_headline_for_attendance(tmp_path):
    specs = tmp_path / "models"
    specs.mkdir()
    shutil.copy(SPEC_PATH, specs / "attendance.toml")
    result = CliRunner().invoke(cli, ["fit", "--all", "--spec-dir", str(specs), "--json",
                                      "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["headline"] == "diff_pp"
    assert set(row) >= PP_KEYS
    assert set(row["new_la"]) >= PP_KEYS
    lo, hi = row["diff_pp_ci95"]
    assert lo <= row["diff_pp_median"] <= hi
    back = FitResult.from_netcdf(tmp_path / "out" / "attendance.nc")
    diff = back.idata["posterior"]["diff_pp"].to_numpy().ravel()
    assert row["diff_pp_median"] == np.median(diff) == back.decision.difference.median
    assert row["prob_any_reduction_pp"] == np.mean(diff < 0)
    assert row["prob_harm_pp"] == np.mean(diff > 0)
    assert row["prob_meaningful_improvement_pp"] == np.mean(diff < -row["mcid_pp"])
    assert row["prob_rope_pp"] == np.mean(np.abs(diff) < row["mcid_pp"])
    # The existing ratio keys stay (on the ratio scale) beside the headline.
    assert {"irr_median", "prob_meaningful_reduction", "prob_harm"} <= set(row)
    table = format_table([back])
    places = difference_decimals(back.decision.difference, back.decision.new_la_difference)
    assert f"{signed(row['diff_pp_median'], places)} pp (" in table.splitlines()[1]
