"""Decision quantities against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from swisbayes.decision import (
    decide,
    decide_attendance,
    decide_hurdle,
    difference_keys,
    equal_tailed_interval,
    prob_below,
    ratio_keys,
    summarise_difference,
    summarise_ratio,
)

N = 400_000
MC_TOL = 4 * np.sqrt(0.25 / N)  # four Monte Carlo SEs of a probability


@pytest.fixture(scope="module")
def normal_log_irr():
    mu, sigma = np.log(0.93), 0.06
    return mu, sigma, np.random.default_rng(42).normal(mu, sigma, N)


def test_probabilities_match_the_normal_closed_form(normal_log_irr):
    mu, sigma, draws = normal_log_irr
    s = summarise_ratio(np.exp(draws), mcid=0.10)
    assert s.prob_any_reduction == pytest.approx(stats.norm.cdf(-mu / sigma), abs=MC_TOL)
    assert s.prob_meaningful_reduction == pytest.approx(
        stats.norm.cdf((np.log(0.9) - mu) / sigma), abs=MC_TOL)
    assert s.prob_harm == pytest.approx(stats.norm.sf(-mu / sigma), abs=MC_TOL)
    assert s.median == pytest.approx(np.exp(mu), rel=2e-3)
    lo, hi = s.ci
    assert lo == pytest.approx(np.exp(mu - 1.959964 * sigma), rel=3e-3)
    assert hi == pytest.approx(np.exp(mu + 1.959964 * sigma), rel=3e-3)


def test_probabilities_are_shares_of_draws_exactly():
    draws = np.array([0.5, 0.85, 0.95, 1.0, 1.2])
    s = summarise_ratio(draws, mcid=0.1)
    assert (s.prob_any_reduction, s.prob_meaningful_reduction, s.prob_harm) == (0.6, 0.4, 0.2)
    assert prob_below(draws, 0.9) == 0.4


def test_interval_probability_is_validated():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        equal_tailed_interval(np.ones(3), 1.5)
    assert equal_tailed_interval(np.arange(101.0), 0.5) == (25.0, 75.0)


def test_decide_turns_rates_into_events_averted_per_year():
    rng = np.random.default_rng(0)
    shape = (2, 5000)
    control = rng.normal(24.0, 0.5, shape)        # per 1000 pupils over 2 years
    irr = np.exp(rng.normal(np.log(0.9), 0.05, shape))
    posterior = xr.Dataset({
        "irr": (("chain", "draw"), irr),
        "irr_new_la": (("chain", "draw"), irr * np.exp(rng.normal(0, 0.1, shape))),
        "rate_control_per_1000": (("chain", "draw"), control),
        "rate_swis_per_1000": (("chain", "draw"), control * irr),
    })
    d = decide(posterior, outcome="s47", prior="test", mcid=0.1, followup_years=2.0)
    expected = np.median((control - control * irr) / 2.0)
    assert d.averted_per_1000 == pytest.approx(expected)
    assert d.control_rate_per_1000 == pytest.approx(12.0, rel=0.01)
    assert d.new_la.ci[1] - d.new_la.ci[0] > d.effect.ci[1] - d.effect.ci[0]
    keys = d.to_dict()
    assert {"irr_median", "irr_ci95", "prob_any_reduction", "prob_meaningful_reduction",
            "prob_harm", "new_la", "averted_per_1000"} <= set(keys)
    assert set(keys["new_la"]) == {"irr_median", "irr_ci95", "ci_prob", "prob_any_reduction",
                                   "prob_meaningful_reduction", "prob_harm"}
    assert keys["ci_prob"] == 0.95


# --- days in care and attendance -------------------------------------------------------------

COUNT_KEYS = {"outcome", "prior", "mcid", "irr_median", "irr_ci95", "ci_prob",
              "prob_any_reduction", "prob_meaningful_reduction", "prob_harm", "new_la",
              "averted_per_1000", "averted_per_1000_ci95", "control_rate_per_1000"}


def _posterior(rng, shape=(2, 5000), **extra) -> xr.Dataset:
    control = rng.normal(400.0, 10.0, shape)
    irr = np.exp(rng.normal(np.log(0.9), 0.05, shape))
    return xr.Dataset({name: (("chain", "draw"), value) for name, value in {
        "irr": irr, "irr_new_la": irr * np.exp(rng.normal(0, 0.1, shape)),
        "rate_control_per_1000": control, "rate_swis_per_1000": control * irr,
        **extra}.items()})


def test_count_outcomes_keep_their_keys_exactly():
    d = decide(_posterior(np.random.default_rng(1)), outcome="s47", prior="p", mcid=0.1,
               followup_years=2.0)
    assert set(d.to_dict()) == COUNT_KEYS
    assert "events" in d.text


def test_hurdle_adds_each_part_to_the_count_keys():
    rng = np.random.default_rng(2)
    shape = (2, 5000)
    zero, positive = np.exp(rng.normal(-0.3, 0.1, shape)), np.exp(rng.normal(0.2, 0.1, shape))
    posterior = _posterior(rng, zero_irr=zero, positive_irr=positive)
    d = decide_hurdle(posterior, outcome="days_in_care", prior="p", mcid=0.1,
                      followup_years=2.0)
    base = decide(posterior, outcome="days_in_care", prior="p", mcid=0.1, followup_years=2.0)
    keys = d.to_dict()
    assert set(keys) == COUNT_KEYS | {"parts"}
    assert {k: v for k, v in keys.items() if k != "parts"} == base.to_dict()
    assert keys["parts"]["zero"] == ratio_keys(summarise_ratio(zero, mcid=0.1))
    assert keys["parts"]["positive"]["prob_harm"] == pytest.approx(np.mean(positive > 1))
    assert "days in care" in d.text
    assert "0.74" in d.text  # the zero part's median, exp(-0.3)


def test_attendance_adds_the_difference_in_points():
    rng = np.random.default_rng(3)
    shape = (2, 5000)
    diff = rng.normal(-0.6, 0.2, shape)
    posterior = _posterior(rng, diff_pp=diff, diff_pp_new_la=diff + rng.normal(0, 0.3, shape),
                           absence_rate_control=rng.normal(0.07, 0.001, shape))
    d = decide_attendance(posterior, outcome="attendance", prior="p", mcid=0.1, mcid_pp=0.5,
                          followup_years=1.0)
    keys = d.to_dict()
    assert set(keys) == COUNT_KEYS | {"mcid_pp", "diff_pp_median", "diff_pp_ci95",
                                      "prob_meaningful_improvement_pp", "control_absence_pct"}
    assert set(keys["new_la"]) == {"irr_median", "irr_ci95", "ci_prob", "prob_any_reduction",
                                   "prob_meaningful_reduction", "prob_harm", "diff_pp_median",
                                   "diff_pp_ci95", "prob_meaningful_improvement_pp"}
    # P(diff < -0.5) for N(-0.6, 0.2) is Phi(0.5).
    assert keys["prob_meaningful_improvement_pp"] == pytest.approx(stats.norm.cdf(0.5),
                                                                   abs=MC_TOL * 2)
    assert keys["prob_meaningful_improvement_pp"] == np.mean(diff < -0.5)
    assert keys["diff_pp_median"] == pytest.approx(-0.6, abs=0.01)
    assert keys["control_absence_pct"] == pytest.approx(7.0, abs=0.01)
    assert keys["averted_per_1000"] == pytest.approx(
        np.median(posterior["rate_control_per_1000"] - posterior["rate_swis_per_1000"]))
    assert "percentage points" in d.text


def test_difference_probability_counts_draws_strictly_beyond_the_mcid():
    s = summarise_difference(np.array([-1.0, -0.5, -0.49, 0.0, 0.3]), mcid=0.5)
    assert s.prob_meaningful_reduction == 0.2
    assert difference_keys(s)["diff_pp_median"] == -0.49
