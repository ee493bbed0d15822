"""Decision quantities against closed forms and hand computations, with and without weights."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import swisbayes
from swisbayes._base.errors import SpecError
from swisbayes.decision.draws import (
    equal_tailed_interval,
    normalised_weights,
    prob_above,
    prob_below,
    prob_between,
    rope_bounds,
    weighted_quantile,
)
from swisbayes.decision.summaries import (
    ESTIMANDS,
    AttendanceDecision,
    HurdleDecision,
    averted_per_1000,
    decide,
    decide_attendance,
    decide_hurdle,
    difference_keys,
    population_ratio,
    ratio_keys,
    summarise_difference,
    summarise_ratio,
)
from swisbayes.families.registry import decide_spec

from .conftest import PRIMARY_SPEC, ROOT

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
    assert s.prob_rope == pytest.approx(stats.norm.cdf((np.log(1 / 0.9) - mu) / sigma)
                                        - stats.norm.cdf((np.log(0.9) - mu) / sigma), abs=MC_TOL)
    assert s.median == pytest.approx(np.exp(mu), rel=2e-3)
    lo, hi = s.ci
    assert lo == pytest.approx(np.exp(mu - 1.959964 * sigma), rel=3e-3)
    assert hi == pytest.approx(np.exp(mu + 1.959964 * sigma), rel=3e-3)


def test_probabilities_are_shares_of_draws_exactly():
    draws = np.array([0.5, 0.85, 0.95, 1.0, 1.2])
    s = summarise_ratio(draws, mcid=0.1)
    assert (s.prob_any_reduction, s.prob_meaningful_reduction, s.prob_harm) == (0.6, 0.4, 0.2)
    assert s.prob_rope == 0.4  # 0.95 and 1.0, inside (0.9, 1.111...)
    assert prob_below(draws, 0.9) == 0.4


@pytest.mark.parametrize("mcid", [0.05, 0.1, 0.2, 0.5])
def test_rope_is_the_change_smaller_than_the_mcid_either_way(mcid):
    lo, hi = rope_bounds(mcid)
    assert (lo, hi) == (1 - mcid, 1 / (1 - mcid))
    assert np.log(lo) == pytest.approx(-np.log(hi), rel=1e-14)  # symmetric on the log scale


@pytest.mark.parametrize("mcid", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_rope_needs_an_mcid_strictly_between_0_and_1(mcid):
    with pytest.raises(SpecError, match="strictly between 0 and 1"):
        rope_bounds(mcid)
    with pytest.raises(SpecError, match="strictly between 0 and 1"):
        summarise_ratio(np.array([0.9, 1.1]), mcid=mcid)


def test_rope_excludes_its_bounds():
    lo, hi = rope_bounds(0.2)  # 0.8 and 1.25, both exact in binary floating point
    draws = np.array([lo, np.nextafter(lo, 1.0), 1.0, np.nextafter(hi, 1.0), hi])
    s = summarise_ratio(draws, mcid=0.2)
    assert s.prob_rope == 0.6          # the three draws strictly inside
    assert prob_between(draws, lo, hi) == 0.6
    assert s.prob_meaningful_reduction == 0.0   # lo itself is not a meaningful reduction
    weights = np.array([4.0, 1.0, 1.0, 1.0, 3.0])   # all the weight at the bounds but 3/10
    assert summarise_ratio(draws, mcid=0.2, weights=weights).prob_rope == pytest.approx(0.3)
    assert prob_between(draws, 1.0, 1.0) == 0.0      # an empty interval
    # a change smaller than the MCID, up or down, is practically equivalent; at the MCID it is not
    assert summarise_ratio(np.array([0.9, 1 / 0.9]), mcid=0.1).prob_rope == 0.0


def test_interval_probability_is_validated():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        equal_tailed_interval(np.ones(3), 1.5)
    assert equal_tailed_interval(np.arange(101.0), 0.5) == (25.0, 75.0)


RATIO_MCSE = {f"{k}_mcse" for k in ("irr_median", "irr_ci95", "prob_any_reduction",
                                     "prob_meaningful_reduction", "prob_harm", "prob_rope")}
"""The Monte Carlo standard error beside each number of a ratio."""


def test_decide_turns_rates_into_events_averted_per_year():
    rng = np.random.default_rng(0)
    shape = (2, 5000)
    control = rng.normal(24.0, 0.5, shape)        # per 1000 pupils over 2 years
    irr = np.exp(rng.normal(np.log(0.9), 0.05, shape))
    # the trial's LAs depart from the typical one: the ratio of totals is not exp(log IRR)
    population = irr * np.exp(rng.normal(0.02, 0.01, shape))
    posterior = xr.Dataset({
        "irr": (("chain", "draw"), irr),
        "irr_new_la": (("chain", "draw"), irr * np.exp(rng.normal(0, 0.1, shape))),
        "rate_control_per_1000": (("chain", "draw"), control),
        "rate_swis_per_1000": (("chain", "draw"), control * population),
    })
    d = decide(posterior, outcome="s47", prior="test", mcid=0.1, followup_years=2.0)
    # events averted are the control rate times (1 - the decision's ratio), draw by draw
    np.testing.assert_allclose(averted_per_1000(posterior, 2.0),
                               (control / 2.0 * (1 - population_ratio(posterior).reshape(shape)))
                               .ravel(), rtol=1e-12)
    np.testing.assert_allclose(population_ratio(posterior), population.ravel(), rtol=1e-12)
    assert d.averted_per_1000 == pytest.approx(np.median(control / 2.0 * (1 - population)))
    assert d.control_rate_per_1000 == pytest.approx(12.0, rel=0.01)
    # the decision reads the trial-population ratio; the typical LA's is reported beside it
    assert d.effect.median == pytest.approx(np.median(population))
    assert d.effect.prob_meaningful_reduction == np.mean(population < 0.9)
    assert d.typical_la.median == pytest.approx(np.median(irr))
    assert d.new_la.ci[1] - d.new_la.ci[0] > d.effect.ci[1] - d.effect.ci[0]
    keys = d.to_dict()
    assert {"irr_median", "irr_ci95", "prob_any_reduction", "prob_meaningful_reduction",
            "prob_harm", "new_la", "typical_la", "averted_per_1000"} <= set(keys)
    assert keys["estimand"] == "trial_population"
    assert keys["typical_la"]["estimand"] == "typical_la"
    assert set(keys["new_la"]) == {"estimand", "irr_median", "irr_ci95", "ci_prob",
                                   "prob_any_reduction", "prob_meaningful_reduction",
                                   "prob_harm", "prob_rope"} | RATIO_MCSE
    assert set(ESTIMANDS) == {"trial_population", "typical_la", "new_la"}
    assert keys["ci_prob"] == 0.95
    assert keys["prob_rope"] == d.effect.prob_rope == np.mean(
        (population > 0.9) & (population < 1 / 0.9))


# --- days in care and attendance -------------------------------------------------------------

COUNT_KEYS = {"outcome", "prior", "mcid", "estimand", "irr_median", "irr_ci95", "ci_prob",
              "prob_any_reduction", "prob_meaningful_reduction", "prob_harm", "prob_rope",
              "new_la", "averted_per_1000", "averted_per_1000_ci95", "control_rate_per_1000",
              *RATIO_MCSE}


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
    assert set(d.to_dict()) == COUNT_KEYS | {"typical_la"}  # a count model has a typical LA
    assert "events" in d.text


def test_hurdle_adds_each_part_to_the_count_keys():
    rng = np.random.default_rng(2)
    shape = (2, 5000)
    zero, positive = np.exp(rng.normal(-0.3, 0.1, shape)), np.exp(rng.normal(0.2, 0.1, shape))
    posterior = _posterior(rng, zero_irr=zero, positive_irr=positive)
    d = decide_hurdle(posterior, outcome="days_in_care", prior="p", mcid=0.1,
                      followup_years=2.0)
    base = decide(posterior, outcome="days_in_care", prior="p", mcid=0.1, followup_years=2.0,
                  typical_la=None)
    keys = d.to_dict()
    assert set(keys) == COUNT_KEYS | {"parts"}
    assert {k: v for k, v in keys.items() if k != "parts"} == base.to_dict()
    assert keys["parts"]["zero"] == ratio_keys(summarise_ratio(zero, mcid=0.1, chains=2))
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
    pp_keys = {"diff_pp_median", "diff_pp_ci95", "prob_meaningful_improvement_pp",
               "prob_any_reduction_pp", "prob_harm_pp", "prob_rope_pp"}
    pp_keys |= {f"{k}_mcse" for k in pp_keys}
    assert set(keys) == COUNT_KEYS | pp_keys | {"headline", "mcid_pp", "control_absence_pct"}
    assert keys["headline"] == "diff_pp"
    assert set(keys["new_la"]) == {"estimand", "irr_median", "irr_ci95", "ci_prob",
                                   "prob_any_reduction", "prob_meaningful_reduction",
                                   "prob_harm", "prob_rope"} | RATIO_MCSE | pp_keys
    # The headline's probabilities are on its own scale, points of absence.
    assert keys["prob_any_reduction_pp"] == np.mean(diff < 0)
    assert keys["prob_harm_pp"] == np.mean(diff > 0)
    assert keys["prob_rope_pp"] == np.mean(np.abs(diff) < 0.5)
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


# --- weighted draws --------------------------------------------------------------------------
# Four draws, chains then draws, with weights 1:2:3:2, i.e. 1/8, 2/8, 3/8, 2/8. A weighted
# quantile puts each sorted draw at the midpoint of its share of the cumulative weight and
# interpolates between those points; the comments give each hand computation.

W = np.array([1.0, 2.0, 3.0, 2.0])


def _tiny(**values) -> xr.Dataset:
    """A posterior of 2 chains x 2 draws from flat lists of four draws each."""
    return xr.Dataset({name: (("chain", "draw"), np.reshape(v, (2, 2)))
                       for name, v in values.items()})


TINY_COUNT = {
    "irr": [0.8, 0.95, 1.05, 0.7],
    "irr_new_la": [0.75, 1.0, 1.2, 0.6],
    "rate_control_per_1000": [400.0, 380.0, 420.0, 410.0],
    "rate_swis_per_1000": [320.0, 361.0, 441.0, 287.0],  # control x irr
}


def test_weighted_quantile_by_hand():
    x = np.array([0.8, 0.95, 1.05, 0.7])
    # sorted 0.7 (2/8), 0.8 (1/8), 0.95 (2/8), 1.05 (3/8): points 1/8, 5/16, 1/2, 13/16
    assert weighted_quantile(x, 0.5, W) == pytest.approx(0.95, abs=1e-12)
    lo, hi = weighted_quantile(x, np.array([0.25, 0.75]), W)
    assert lo == pytest.approx(0.7 + 0.1 * (0.25 - 1 / 8) / (5 / 16 - 1 / 8), abs=1e-12)
    assert hi == pytest.approx(0.95 + 0.1 * (0.75 - 1 / 2) / (13 / 16 - 1 / 2), abs=1e-12)
    # beyond the first and last points: the extreme draws
    assert equal_tailed_interval(x, 0.95, W) == (0.7, 1.05)
    assert equal_tailed_interval(x, 0.5, W) == (pytest.approx(0.7 + 0.2 / 3),
                                                 pytest.approx(1.03))


def test_weighted_probabilities_by_hand():
    x = np.array([0.8, 0.95, 1.05, 0.7])
    assert prob_below(x, 1.0, W) == pytest.approx(5 / 8)   # 0.8, 0.95, 0.7
    assert prob_below(x, 0.8, W) == pytest.approx(2 / 8)   # strictly below: 0.7 only
    assert prob_above(x, 1.0, W) == pytest.approx(3 / 8)   # 1.05
    assert prob_above(x, 0.7, W) == pytest.approx(6 / 8)
    assert (prob_below(x, 0.9), prob_above(x, 0.9)) == (0.5, 0.5)
    assert prob_between(x, 0.75, 1.0, W) == pytest.approx(3 / 8)   # 0.8, 0.95
    assert prob_between(x, 0.7, 1.05, W) == pytest.approx(3 / 8)   # the bounds are left out
    assert prob_between(x, 0.0, 2.0, W) == 1.0
    assert prob_between(x, 0.8, 0.8, W) == 0.0


def test_normal_tilting_weights_give_the_tilted_normal():
    rng = np.random.default_rng(4)
    x = rng.normal(size=200_000)
    # Weights N(1, 1) / N(0, 1) = exp(x - 1/2) turn N(0, 1) draws into N(1, 1) draws. With a
    # Kish ESS of n / e ~ 73,600 the MCSEs are ~0.0014 for the probabilities, ~0.005 for the
    # median and ~0.008 for the 5% and 95% quantiles: each tolerance is at least four MCSEs.
    weights = np.exp(x - 0.5)
    assert weighted_quantile(x, 0.5, weights) == pytest.approx(1.0, abs=0.02)
    assert prob_below(x, 0.0, weights) == pytest.approx(stats.norm.cdf(-1), abs=0.01)
    assert prob_above(x, 2.0, weights) == pytest.approx(stats.norm.sf(1), abs=0.01)
    lo, hi = equal_tailed_interval(x, 0.9, weights)
    z = stats.norm.ppf(0.95)
    assert (lo, hi) == (pytest.approx(1 - z, abs=0.03), pytest.approx(1 + z, abs=0.03))


def test_equal_weights_are_exactly_no_weights():
    rng = np.random.default_rng(5)
    draws = np.exp(rng.normal(-0.1, 0.1, 1001))
    for weights in (np.ones(1001), np.full(1001, 0.37)):
        assert normalised_weights(weights, 1001) is None
        assert weighted_quantile(draws, 0.3, weights) == np.quantile(draws, 0.3)
        assert summarise_ratio(draws, mcid=0.1, weights=weights) == summarise_ratio(draws,
                                                                                     mcid=0.1)
        assert summarise_difference(draws - 1, mcid=0.05, weights=weights) == \
            summarise_difference(draws - 1, mcid=0.05)
    post = _posterior(rng, shape=(2, 300), zero_irr=rng.uniform(0.5, 1.5, (2, 300)),
                      positive_irr=rng.uniform(0.5, 1.5, (2, 300)))
    kwargs = {"outcome": "days_in_care", "prior": "p", "mcid": 0.1, "followup_years": 2.0}
    assert decide_hurdle(post, weights=np.full(600, 2.0), **kwargs) == decide_hurdle(post,
                                                                                   **kwargs)


def test_bad_weights_name_what_was_expected():
    with pytest.raises(SpecError, match="3 weights for 2 draws"):
        weighted_quantile(np.zeros(2), 0.5, np.ones(3))
    with pytest.raises(SpecError, match="non-negative"):
        prob_below(np.zeros(2), 0.5, np.array([1.0, -1.0]))
    with pytest.raises(SpecError, match="not all zero"):
        prob_above(np.zeros(2), 0.5, np.zeros(2))
    with pytest.raises(SpecError, match="finite"):
        decide(_tiny(**TINY_COUNT), outcome="s47", prior="p", mcid=0.1, followup_years=2.0,
               weights=np.array([1.0, np.nan, 1.0, 1.0]))


def test_weighted_count_decision_by_hand():
    d = decide(_tiny(**TINY_COUNT), outcome="s47", prior="p", mcid=0.1, followup_years=2.0,
               ci_prob=0.5, weights=W)
    assert d.effect.median == pytest.approx(0.95)
    assert d.effect.ci == (pytest.approx(0.7 + 0.2 / 3), pytest.approx(1.03))
    assert (d.effect.prob_any_reduction, d.effect.prob_meaningful_reduction,
            d.effect.prob_harm) == (pytest.approx(5 / 8), pytest.approx(3 / 8),
                                    pytest.approx(3 / 8))
    # ROPE (0.9, 1.111): 0.95 (2/8) and 1.05 (3/8); 0.8 and 0.7 are meaningful reductions
    assert d.effect.prob_rope == pytest.approx(5 / 8)
    # new LA 0.75, 1.0, 1.2, 0.6: only 1.0 (2/8)
    assert d.new_la.prob_rope == pytest.approx(2 / 8)
    assert d.to_dict()["prob_rope"] == d.effect.prob_rope
    assert summarise_ratio(TINY_COUNT["irr"], mcid=0.1).prob_rope == 0.5  # unweighted: 2 of 4
    # new LA: sorted 0.6 (2/8), 0.75 (1/8), 1.0 (2/8), 1.2 (3/8): the median point 1/2 is 1.0
    assert d.new_la.median == pytest.approx(1.0)
    assert d.new_la.prob_any_reduction == pytest.approx(3 / 8)
    # per year: control 200, 190, 210, 205; averted 40, 9.5, -10.5, 61.5
    # averted sorted -10.5 (3/8), 9.5 (2/8), ...: points 3/16, 1/2 -> 9.5
    assert d.averted_per_1000 == pytest.approx(9.5)
    # control sorted 190 (2/8), 200 (1/8), 205 (2/8), 210 (3/8): points 1/8, 5/16, 1/2 -> 205
    assert d.control_rate_per_1000 == pytest.approx(205.0)
    # unweighted, the medians are midpoints of the middle two draws
    plain = decide(_tiny(**TINY_COUNT), outcome="s47", prior="p", mcid=0.1, followup_years=2.0)
    assert (plain.effect.median, plain.averted_per_1000) == (pytest.approx(0.875),
                                                             pytest.approx(24.75))


def test_weighted_hurdle_decision_by_hand():
    post = _tiny(**TINY_COUNT, zero_irr=[1.2, 0.85, 0.6, 0.9],
                 positive_irr=[1.1, 1.3, 0.95, 1.0])
    d = decide_hurdle(post, outcome="days_in_care", prior="p", mcid=0.1, followup_years=2.0,
                      weights=W)
    assert isinstance(d, HurdleDecision)
    assert d.effect.median == pytest.approx(0.95)
    zero, positive = d.parts["zero"], d.parts["positive"]
    # zero sorted 0.6 (3/8), 0.85 (2/8), 0.9 (2/8), 1.2 (1/8): points 3/16, 1/2 -> 0.85
    assert zero.median == pytest.approx(0.85)
    assert zero.prob_any_reduction == pytest.approx(7 / 8)
    assert zero.prob_meaningful_reduction == pytest.approx(5 / 8)  # 0.85, 0.6; 0.9 is not < 0.9
    assert zero.prob_harm == pytest.approx(1 / 8)
    assert zero.prob_rope == 0.0  # 0.9 is on the bound; 1.2 and the rest are outside
    # positive sorted 0.95 (3/8), 1.0 (2/8), 1.1 (1/8), 1.3 (2/8): points 3/16, 1/2 -> 1.0
    assert positive.median == pytest.approx(1.0)
    assert positive.prob_any_reduction == pytest.approx(3 / 8)
    assert positive.prob_meaningful_reduction == 0.0
    assert positive.prob_harm == pytest.approx(3 / 8)  # 1.1 and 1.3; 1.0 is not > 1
    assert positive.prob_rope == pytest.approx(6 / 8)  # 0.95, 1.0 and 1.1 < 1.111; not 1.3
    assert d.to_dict()["parts"]["zero"]["prob_any_reduction"] == pytest.approx(7 / 8)


def test_weighted_attendance_decision_by_hand():
    post = _tiny(**TINY_COUNT, diff_pp=[-0.8, -0.3, 0.2, -1.0],
                 diff_pp_new_la=[-1.5, 0.5, -0.6, 0.1],
                 absence_rate_control=[0.07, 0.065, 0.072, 0.08])
    d = decide_attendance(post, outcome="attendance", prior="p", mcid=0.1, mcid_pp=0.5,
                          followup_years=1.0, weights=W)
    assert isinstance(d, AttendanceDecision)
    # diff sorted -1.0 (2/8), -0.8 (1/8), -0.3 (2/8), 0.2 (3/8): points 1/8, 5/16, 1/2 -> -0.3
    assert d.difference.median == pytest.approx(-0.3)
    assert d.difference.prob_meaningful_reduction == pytest.approx(3 / 8)  # -0.8, -1.0
    # new LA sorted -1.5 (1/8), -0.6 (3/8), 0.1 (2/8), 0.5 (2/8): points 1/16, 5/16, 5/8, 7/8;
    # 1/2 lies 0.6 of the way from 5/16 to 5/8, so -0.6 + 0.6 x 0.7
    assert d.new_la_difference.median == pytest.approx(-0.18)
    assert d.new_la_difference.prob_meaningful_reduction == pytest.approx(4 / 8)
    # absence sorted 0.065 (2/8), 0.07 (1/8), 0.072 (3/8), 0.08 (2/8): points 1/8, 5/16, 9/16;
    # 1/2 lies 3/4 of the way from 5/16 to 9/16: 0.07 + 0.75 x 0.002 = 0.0715
    assert d.control_absence_pct == pytest.approx(7.15)
    keys = d.to_dict()
    assert keys["prob_meaningful_improvement_pp"] == pytest.approx(3 / 8)
    assert keys["new_la"]["diff_pp_median"] == pytest.approx(-0.18)


def test_decide_spec_dispatches_on_the_outcome_kind():
    rng = np.random.default_rng(6)
    shape = (2, 400)
    post = _posterior(rng, shape=shape, zero_irr=rng.uniform(0.5, 1.5, shape),
                      positive_irr=rng.uniform(0.5, 1.5, shape),
                      diff_pp=rng.normal(-0.6, 0.2, shape), diff_pp_new_la=rng.normal(-0.6, 0.4,
                                                                                      shape),
                      absence_rate_control=rng.normal(0.07, 0.001, shape))
    weights = rng.uniform(0.5, 1.5, 800)
    count = swisbayes.load_spec(PRIMARY_SPEC)
    days = swisbayes.load_spec(ROOT / "models" / "days_in_care.toml")
    attendance = swisbayes.load_spec(ROOT / "models" / "attendance.toml")
    for spec, kernel, extra in ((count, decide, {}), (days, decide_hurdle, {}),
                                (attendance, decide_attendance,
                                 {"mcid_pp": attendance.decision.mcid_pp})):
        expected = kernel(post, outcome=spec.outcome, prior=spec.priors.effect.name,
                          mcid=spec.decision.mcid, followup_years=spec.followup_years,
                          weights=weights, **extra)
        assert decide_spec(post, spec, weights=weights) == expected
        assert type(decide_spec(post, spec)) is type(expected)
    assert decide_spec(post, attendance).mcid_pp == 0.5  # the spec's default
