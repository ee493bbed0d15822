"""The decision rule, the verdict's wording, and tipping points against closed forms."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

from swisbayes._base.errors import SpecError
from swisbayes.data.published import published_estimate
from swisbayes.decision.prior_families import NormalCentreFamily, NormalSDFamily, RobustWeightFamily
from swisbayes.decision.rule import VERDICTS, DecisionRule, Verdict, decide_verdict, prob_meaningful
from swisbayes.decision.tipping import (
    likelihood_from_draws,
    probability_curve,
    tipping_point,
    tipping_points,
)
from swisbayes.evidence.meta_analysis import map_prior
from swisbayes.evidence.resolver import get_prior
from swisbayes.priors.conjugate import normal_likelihood_from_ci, posterior
from swisbayes.priors.library import MixturePrior, sceptical, vague
from swisbayes.priors.robust import robustify
from swisbayes.spec.pilots import load_pilots

from .conftest import ROOT

MCID = 0.10
CUT = math.log(1 - MCID)
LABEL = "S47 enquiries"
SAYS = f"the probability that SWIS cuts {LABEL} by at least 10% is"


@pytest.fixture(scope="module")
def s47() -> tuple[float, float]:
    """The published primary result as a normal likelihood on the log IRR."""
    entry = published_estimate("s47")
    return normal_likelihood_from_ci(entry.estimate, *entry.ci, level=entry.ci_level)


def exact_prob(prior: MixturePrior, lik: tuple[float, float]) -> float:
    """P(log IRR < log 0.9), recomputed from the exact conjugate posterior."""
    return float(posterior(prior, *lik).cdf(CUT))


def normal_update(m: float, s0: float, lik: tuple[float, float]) -> tuple[float, float]:
    """Mean and SD of the normal-normal posterior, written out."""
    y, s = lik
    v = 1 / (1 / s0**2 + 1 / s**2)
    return v * (m / s0**2 + y / s**2), math.sqrt(v)


# ------------------------------------------------------------------------------- the rule


def test_rule_validates_its_thresholds_and_names_the_values():
    with pytest.raises(SpecError, match=r"stop < invest.*stop=0\.5, invest=0\.1"):
        DecisionRule(invest=0.1, stop=0.5)
    with pytest.raises(ValueError, match=r"invest_nmb=1\.5"):
        DecisionRule(invest_nmb=1.5)
    with pytest.raises(SpecError, match="stop must be a number"):
        DecisionRule(stop=float("nan"))
    edge = DecisionRule(invest=1.0, stop=0.0, invest_nmb=0.0)
    assert (edge.verdict(0.0), edge.verdict(0.999), edge.verdict(1.0)) == (
        "more evidence", "more evidence", "invest")


@pytest.mark.parametrize(("p", "nmb", "expected"), [
    (0.7999, None, "more evidence"), (0.80, None, "invest"), (0.8001, None, "invest"),
    (0.0999, None, "stop"), (0.10, None, "more evidence"), (0.1001, None, "more evidence"),
    (0.85, 0.4999, "more evidence"), (0.85, 0.50, "invest"), (0.85, 0.5001, "invest"),
    (0.05, 0.99, "stop"), (0.5, 0.99, "more evidence"), (0.5, 0.01, "more evidence"),
])
def test_verdict_on_each_side_of_each_threshold(p, nmb, expected):
    assert DecisionRule().verdict(p, nmb) == expected
    assert decide_verdict(None, p, nmb, mcid=MCID, outcome_label=LABEL).verdict == expected


@pytest.mark.parametrize(("p", "nmb", "text"), [
    (0.0009, None, f"Stop: {SAYS} 0.1%, below the 10% needed to keep considering it."),
    (0.0999, None, f"Stop: {SAYS} 9.99%, below the 10% needed to keep considering it."),
    (0.0999, 0.2, f"Stop: {SAYS} 9.99%, below the 10% needed to keep considering it. The "
                  "probability that its net monetary benefit is positive is 20.0%."),
    (0.10, None, f"More evidence: {SAYS} 10.0%, not below the 10% at which the rule stops, "
                 "but short of the 80% needed to invest."),
    (0.7999, None, f"More evidence: {SAYS} 79.99%, not below the 10% at which the rule "
                   "stops, but short of the 80% needed to invest."),
    (0.80, None, f"Invest: {SAYS} 80.0%, at least the 80% required. Value for money was not "
                 "assessed, so the rule's net monetary benefit condition was not applied."),
    (0.85, 0.50, f"Invest: {SAYS} 85.0%, at least the 80% required, and the probability that "
                 "its net monetary benefit is positive is 50.0%, at least the 50% required."),
    (0.85, 0.4999, f"More evidence: {SAYS} 85.0%, at least the 80% needed to invest, but the "
                   "probability that its net monetary benefit is positive is only 49.99%, "
                   "below the 50% required. SWIS is likely effective but not likely value "
                   "for money at this cost."),
    (0.00001, None, f"Stop: {SAYS} 0.001%, below the 10% needed to keep considering it."),
])
def test_verdict_text_gives_the_numbers(p, nmb, text):
    v = decide_verdict(DecisionRule(), p, nmb, mcid=MCID, outcome_label=LABEL)
    assert v.text == text
    assert v.effective_not_value_for_money == (p >= 0.8 and nmb is not None and nmb < 0.5)
    assert json.loads(json.dumps(v.to_dict()))["verdict"] == v.verdict


def test_verdict_must_follow_from_its_rule_and_inputs_are_checked():
    with pytest.raises(SpecError, match="does not follow"):
        Verdict("invest", 0.5, None, DecisionRule(), MCID, LABEL)
    with pytest.raises(SpecError, match="prob_meaningful"):
        decide_verdict(None, 1.2, mcid=MCID, outcome_label=LABEL)
    with pytest.raises(SpecError, match="prob_nmb_positive"):
        DecisionRule().verdict(0.5, float("nan"))
    with pytest.raises(SpecError, match="mcid"):
        decide_verdict(None, 0.5, mcid=1.5, outcome_label=LABEL)


def test_describe_states_the_rule_with_its_numbers():
    text = DecisionRule(invest=0.9, stop=0.05, invest_nmb=0.6).describe(0.15)
    assert text == ("Invest if the probability of a reduction of at least 15% is at least 90% "
                    "and the probability that the net monetary benefit is positive is at least "
                    "60%; otherwise stop if the probability of a reduction of at least 15% is "
                    "below 5% or no further trial considered is expected to be worth its cost; "
                    "otherwise gather more evidence.")
    assert "a meaningful reduction" in DecisionRule().describe()
    assert VERDICTS == ("invest", "more evidence", "stop")


# ---------------------------------------------------------------------- P(meaningful)


def test_prob_meaningful_is_the_normal_normal_closed_form(s47):
    s0 = sceptical().sds[0]
    mean, sd = normal_update(0.0, s0, s47)
    expected = stats.norm.cdf((CUT - mean) / sd)
    assert prob_meaningful(sceptical(), s47, mcid=MCID) == pytest.approx(expected, rel=1e-12)


def test_probability_curve_matches_pointwise(s47):
    # Its speed is measured in benchmarks/bench_fast_paths.py, not asserted here.
    fam = NormalCentreFamily()
    values = np.geomspace(0.3, 3.0, 200)
    curve = probability_curve(s47, fam, values, mcid=MCID)
    assert curve.shape == (200,)
    assert np.all(np.diff(curve) < 0)  # a higher centre, a smaller chance of a real cut
    for i in (0, 77, 199):
        assert curve[i] == pytest.approx(exact_prob(fam.prior_at(values[i]), s47), abs=1e-15)


# --------------------------------------------------------------------------- tipping points


def centre_root(target: float, lik: tuple[float, float], s0: float) -> float:
    """The centre (as an IRR) giving P(meaningful) = target, solved by hand."""
    y, s = lik
    v = 1 / (1 / s0**2 + 1 / s**2)
    mean = CUT - math.sqrt(v) * stats.norm.ppf(target)
    return math.exp(s0**2 * (mean / v - y / s**2))


def weight_root_complement(target: float, lik: tuple[float, float],
                           informative: MixturePrior) -> float:
    """1 - w for the robust weight w giving P(meaningful) = target, solved by hand.

    With marginal likelihoods L1, L0 and probabilities P1, P0 under the informative and vague
    components, P(w) = (w L1 P1 + (1 - w) L0 P0) / (w L1 + (1 - w) L0).
    """
    y, s = lik
    (m1,), (s1,) = informative.means, informative.sds
    l1, l0 = stats.norm.pdf(y, m1, math.hypot(s1, s)), stats.norm.pdf(y, 0, math.hypot(10, s))
    p1 = stats.norm.cdf(CUT, *normal_update(m1, s1, lik))
    p0 = stats.norm.cdf(CUT, *normal_update(0.0, 10.0, lik))
    a, b = l1 * (p1 - target), l0 * (target - p0)
    return a / (a + b)


STRONG_PILOTS = MixturePrior.normal("strong", math.log(0.7), 0.05)
"""An informative prior in conflict with the published S47 result: P(meaningful) reaches 92%."""

FAMILIES = {
    "normal_centre": NormalCentreFamily(),
    "normal_sd": NormalSDFamily(),
    "pilot_weight": RobustWeightFamily(STRONG_PILOTS),
}


@pytest.mark.parametrize("target", [0.10, 0.80])
@pytest.mark.parametrize("kind", list(FAMILIES))
def test_found_prior_gives_the_threshold_exactly(s47, kind, target):
    fam = FAMILIES[kind]
    tp = tipping_point(s47, fam, target=target, mcid=MCID)
    assert tp.found
    lo, hi = tp.bounds
    assert lo <= tp.value <= hi
    assert exact_prob(tp.prior, s47) == pytest.approx(target, abs=1e-3)
    assert exact_prob(fam.prior_at(tp.value), s47) == pytest.approx(target, abs=1e-9)
    assert tp.prob_meaningful == pytest.approx(target, abs=1e-9)


@pytest.mark.parametrize("target", [0.10, 0.80])
def test_centre_root_matches_the_closed_form(s47, target):
    tp = tipping_point(s47, NormalCentreFamily(), target=target, mcid=MCID)
    assert tp.value == pytest.approx(centre_root(target, s47, sceptical().sds[0]), rel=1e-9)
    assert tp.increasing is False


@pytest.mark.parametrize("target", [0.10, 0.80])
def test_weight_root_matches_the_closed_form(s47, target):
    tp = tipping_point(s47, RobustWeightFamily(STRONG_PILOTS), target=target, mcid=MCID)
    # the root sits within 1e-4 of 1 (strong conflict), so compare 1 - w
    assert 1 - tp.value == pytest.approx(weight_root_complement(target, s47, STRONG_PILOTS),
                                         rel=1e-5)
    assert tp.increasing is True


def test_weight_root_in_the_middle_of_the_range():
    # Data close to the informative prior (IRR 0.92 vs 0.8): P(meaningful) goes from 39% under
    # the vague prior to 70% under the informative one, and reaches 69% near w = 0.44.
    lik = (math.log(0.92), 0.08)
    informative = MixturePrior.normal("map", math.log(0.8), 0.1)
    tp = tipping_point(lik, RobustWeightFamily(informative), target=0.69, mcid=MCID)
    w = 1 - weight_root_complement(0.69, lik, informative)
    assert 0.05 < w < 0.95
    assert tp.value == pytest.approx(w, abs=1e-9)


def test_not_found_reports_the_range_reached(s47):
    informative = MixturePrior.normal("mild", math.log(0.8), 0.1)
    tp = tipping_point(s47, RobustWeightFamily(informative), target=0.10, mcid=MCID,
                       change=("stop", "more evidence"), outcome_label=LABEL)
    # P(meaningful) is monotone in the weight: its extremes are the vague and informative ends
    lo, hi = exact_prob(vague(), s47), exact_prob(informative, s47)
    assert not tp.found
    assert (tp.value, tp.prior, tp.prob_meaningful) == (None, None, None)
    assert tp.prob_range == pytest.approx((lo, hi), abs=1e-15)
    assert hi < 0.10
    assert tp.text.startswith("No prior of this family (the weight on the pilots' evidence")
    assert tp.text.endswith(f"changes the verdict: the probability that SWIS cuts {LABEL} by "
                            f"at least 10% stays between {100 * lo:.1f}% and {100 * hi:.1f}%.")


def test_not_found_within_narrow_bounds(s47):
    fam = NormalCentreFamily()
    tp = tipping_point(s47, fam, target=0.10, mcid=MCID, bounds=(0.9, 1.1))
    assert not tp.found
    assert tp.prob_range == pytest.approx(
        (exact_prob(fam.prior_at(1.1), s47), exact_prob(fam.prior_at(0.9), s47)), rel=1e-12)
    assert "brings it to 10%" in tp.text


def test_two_crossings_the_one_nearest_the_data_alone_is_returned(s47):
    # Centred just short of the MCID, P(meaningful) rises and then falls as the SD grows.
    fam = NormalSDFamily(centre_irr=0.95)
    xs = fam.grid()
    curve = probability_curve(s47, fam, xs, mcid=MCID)
    peak = xs[int(np.argmax(curve))]
    target = (curve.max() + curve[-1]) / 2
    tp = tipping_point(s47, fam, target=target, mcid=MCID)
    inner = optimize.brentq(lambda sd: exact_prob(fam.prior_at(sd), s47) - target, xs[0], peak)
    assert inner < peak < tp.value
    assert tp.increasing is False
    assert exact_prob(tp.prior, s47) == pytest.approx(target, abs=1e-9)


def test_bad_arguments_raise_spec_errors(s47):
    fam = NormalCentreFamily()
    with pytest.raises(SpecError, match="increasing"):
        tipping_point(s47, fam, target=0.1, mcid=MCID, bounds=(1.1, 0.9))
    with pytest.raises(SpecError, match="weight"):
        tipping_point(s47, RobustWeightFamily(STRONG_PILOTS), target=0.1, mcid=MCID,
                      bounds=(0.0, 1.5))
    with pytest.raises(SpecError, match="target"):
        tipping_point(s47, fam, target=0.0, mcid=MCID)
    with pytest.raises(SpecError, match="change"):
        tipping_point(s47, fam, target=0.1, mcid=MCID, change=("stop", "go"))
    with pytest.raises(SpecError, match="likelihood"):
        tipping_point((0.1,), fam, target=0.1, mcid=MCID)
    with pytest.raises(SpecError, match="positive"):
        NormalCentreFamily(sd=-1.0)
    with pytest.raises(SpecError, match="unknown verdict"):
        tipping_points(s47, None, "wait", [fam], mcid=MCID)


def test_flips_follow_the_current_verdict(s47):
    rule = DecisionRule()
    fam = NormalCentreFamily()
    expected = {"stop": [("stop", "more evidence", 0.10)],
                "invest": [("invest", "more evidence", 0.80)],
                "more evidence": [("more evidence", "invest", 0.80),
                                  ("more evidence", "stop", 0.10)]}
    for current, flips in expected.items():
        got = tipping_points(s47, rule, current, [fam], mcid=MCID)
        assert [(*tp.change, tp.target) for tp in got] == flips
    effective_dear = decide_verdict(rule, 0.9, 0.2, mcid=MCID, outcome_label=LABEL)
    got = tipping_points(s47, rule, effective_dear, [fam], mcid=MCID)
    assert [(*tp.change, tp.target) for tp in got] == [("more evidence", "stop", 0.10)]
    assert LABEL in got[0].text
    with pytest.raises(SpecError, match="MCID"):
        tipping_points(s47, rule, effective_dear, [fam], mcid=0.2)


def test_text_says_which_side_of_the_tipping_point_flips(s47):
    fam = NormalCentreFamily()
    down = tipping_points(s47, None, "invest", [fam], mcid=MCID, outcome_label=LABEL)[0]
    irr = centre_root(0.80, s47, sceptical().sds[0])
    assert down.text == (
        "The verdict would change from 'invest' to 'more evidence' only if one believed "
        "beforehand — with the certainty of the sceptical prior (SD 0.10 on the log IRR) — "
        f"that SWIS cuts {LABEL} by no more than {1 - irr:.0%}, if at all (a prior centred on "
        f"IRR {irr:.2f} or higher).")
    sd = tipping_points(s47, None, "stop", [NormalSDFamily()], mcid=MCID)[0]
    assert f"with an SD of at most {sd.value:.3f} on the log IRR" in sd.text
    weight = tipping_points(s47, None, "stop", [RobustWeightFamily(STRONG_PILOTS)],
                            mcid=MCID)[0]
    assert weight.text == ("The verdict would change from 'stop' to 'more evidence' only if "
                           "one put at least 99.99% weight on the pilots' evidence (the rest on "
                           "the vague prior).")
    assert weight.value == pytest.approx(0.99992, abs=5e-6)
    assert json.loads(json.dumps(weight.to_dict()))["found"] is True


def test_published_s47_tipping_points(s47):
    """The published primary result, MCID 10% and the default rule."""
    y, se = s47
    p_vague = prob_meaningful(vague(), s47, mcid=MCID)
    # the vague prior adds 1/100 to the likelihood's precision of 1/se^2 (about 386)
    v = 1 / (1 / se**2 + 1 / 100)
    assert p_vague == pytest.approx(stats.norm.cdf((CUT - v * y / se**2) / math.sqrt(v)))
    verdict = decide_verdict(None, p_vague, mcid=MCID, outcome_label=LABEL)
    assert verdict.verdict == "stop"
    assert verdict.text == (f"Stop: {SAYS} 0.1%, below the 10% needed to keep considering "
                            "it.")
    fixed_effect_map = map_prior(load_pilots(ROOT / "models" / "pilots.toml"), tau=0.0).prior
    families = [NormalCentreFamily(), NormalSDFamily(), RobustWeightFamily(fixed_effect_map)]
    centre, strength, pilots = tipping_points(s47, None, verdict, families, mcid=MCID)
    irr = centre_root(0.10, s47, sceptical().sds[0])
    assert centre.value == pytest.approx(irr, rel=1e-9)
    assert round(irr, 2) == 0.65
    assert centre.text == (
        "The verdict would change from 'stop' to 'more evidence' only if one believed "
        "beforehand — with the certainty of the sceptical prior (SD 0.10 on the log IRR) — "
        f"that SWIS cuts {LABEL} by at least 35% (a prior centred on IRR 0.65 or lower).")
    assert exact_prob(strength.prior, s47) == pytest.approx(0.10, abs=1e-9)
    assert strength.prior.means[0] == pytest.approx(math.log(0.85))
    assert not pilots.found
    assert pilots.prob_range == pytest.approx((p_vague, exact_prob(fixed_effect_map, s47)),
                                              abs=1e-15)


# --------------------------------------------------------------------------- families


def test_robust_weight_family_reads_back_a_robustified_prior():
    informative = MixturePrior("map", "d", "p", (0.3, 0.7), (-0.4, -0.1), (0.2, 0.1))
    robust = robustify(informative, 0.8)
    fam = RobustWeightFamily.from_robust(robust)
    assert fam.informative.weights == pytest.approx(informative.weights, rel=1e-12)
    assert (fam.informative.means, fam.informative.sds) == (informative.means, informative.sds)
    assert fam.vague == vague()
    assert fam.member_value(robust) == pytest.approx(0.8)
    assert fam.landmarks([robust, vague(), informative, sceptical()]) == pytest.approx(
        {robust.name: 0.8, "vague": 0.0, "map": 1.0})
    with pytest.raises(SpecError, match="not a robustified prior"):
        RobustWeightFamily.from_robust(informative)
    with pytest.raises(SpecError, match="MAX_COMPONENTS"):
        RobustWeightFamily(MixturePrior("four", "d", "p", (0.25,) * 4, (0.0,) * 4, (1.0,) * 4))


def test_landmarks_place_the_library_priors():
    library = [get_prior(n) for n in ("vague", "sceptical", "enthusiastic", "pessimistic",
                                      "optimistic-moderate")]
    centres = NormalCentreFamily().landmarks(library)
    assert centres == pytest.approx({"sceptical": 1.0, "enthusiastic": 0.85,
                                     "pessimistic": 1 / 0.85})
    sds = NormalSDFamily().landmarks(library)
    s0 = sceptical().sds[0]
    assert sds == pytest.approx({"enthusiastic": s0, "optimistic-moderate": 2 * s0})


# ------------------------------------------------------------------ likelihood from draws


def test_likelihood_from_hand_computed_weighted_draws():
    x, w = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])
    assert likelihood_from_draws(x, w, prior_sd=None) == pytest.approx((1.25, math.sqrt(0.6875)))
    # equal weights are the unweighted case, exactly
    assert likelihood_from_draws(x, np.full(3, 5.0)) == likelihood_from_draws(x)


def test_dividing_out_the_prior_recovers_the_draws_moments_on_update():
    x = np.array([-0.3, 0.7])  # mean 0.2, variance 0.25
    y, se = likelihood_from_draws(x, prior_sd=1.0)
    assert (y, se) == pytest.approx((0.2 / 0.25 / 3, 1 / math.sqrt(3)))
    post = posterior(MixturePrior.normal("p", 0.0, 1.0), y, se)
    assert (post.means[0], post.sds[0]) == pytest.approx((0.2, 0.5))


def test_likelihood_from_normal_draws_within_mcse():
    rng = np.random.default_rng(20240611)
    n, mu, sd = 40_000, -0.1, 0.05
    y, se = likelihood_from_draws(rng.normal(mu, sd, n), prior_sd=None)
    # MCSEs: sd / sqrt(n) for the mean, about sd / sqrt(2 n) for the SD; allow 4 of each
    assert abs(y - mu) < 4 * sd / math.sqrt(n)
    assert abs(se - sd) < 4 * sd / math.sqrt(2 * n)
    # the vague prior's information (1/100) changes the SE by a relative 1.25e-5 here
    _, se10 = likelihood_from_draws(rng.normal(mu, sd, n))
    assert abs(se10 - sd) < 4 * sd / math.sqrt(2 * n)


def test_likelihood_from_importance_weighted_draws_within_mcse():
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 0.1, 40_000)
    target_mu, target_sd = -0.05, 0.08
    w = stats.norm.pdf(x, target_mu, target_sd) / stats.norm.pdf(x, 0.0, 0.1)
    ess = w.sum() ** 2 / (w**2).sum()
    y, se = likelihood_from_draws(x, w, prior_sd=None)
    # MCSEs of a weighted mean and SD: target_sd / sqrt(ESS) and about that / sqrt(2)
    assert abs(y - target_mu) < 4 * target_sd / math.sqrt(ess)
    assert abs(se - target_sd) < 4 * target_sd / math.sqrt(2 * ess)


@pytest.mark.parametrize(("draws", "weights", "prior_sd", "match"), [
    ([0.1], None, 10.0, "at least 2"),
    ([0.1, float("nan"), 0.2], None, 10.0, "not finite"),
    ([0.1, 0.1, 0.1], None, 10.0, "do not vary"),
    ([0.1, 0.2], [1.0, -1.0], 10.0, "weight"),
    ([-5.0, 5.0], None, 4.0, "as wide as the prior"),
    ([0.1, 0.2], None, -1.0, "prior_sd"),
])
def test_likelihood_from_draws_rejects_bad_input(draws, weights, prior_sd, match):
    w = None if weights is None else np.array(weights)
    with pytest.raises(SpecError, match=match):
        likelihood_from_draws(np.array(draws), w, prior_sd=prior_sd)


# ------------------------------------------------------------- overall verdict, curves


def test_overall_verdict_is_the_common_one_or_depends_on_the_prior():
    from swisbayes.decision.rule import DEPENDS_ON_PRIOR, overall_verdict

    def verdicts(*probs: float) -> dict[str, Verdict]:
        return {f"p{i}": decide_verdict(None, p, mcid=MCID, outcome_label=LABEL)
                for i, p in enumerate(probs)}

    assert overall_verdict(verdicts(0.01, 0.0999)) == "stop"
    assert overall_verdict(verdicts(0.1, 0.5)) == "more evidence"
    assert overall_verdict(verdicts(0.05, 0.5)) == DEPENDS_ON_PRIOR == "depends on the prior"
    with pytest.raises(SpecError, match="no verdict"):
        overall_verdict({})


def test_published_likelihood_is_the_published_ci_on_the_log_scale(s47):
    from swisbayes.decision.tipping import published_likelihood

    assert published_likelihood("s47") == s47
    with pytest.raises(SpecError, match="no estimate was published"):
        published_likelihood("attendance")


def test_tipping_curve_marks_the_family_s_points_and_priors_within_its_range(s47):
    from swisbayes.decision.tipping import tipping_curve

    family = NormalCentreFamily()
    points = tipping_points(s47, None, "stop", [family, NormalSDFamily()], mcid=MCID)
    library = [get_prior(n) for n in ("vague", "sceptical", "enthusiastic", "pessimistic")]
    curve = tipping_curve(s47, family, mcid=MCID, bounds=(0.3, 1.1), tipping=points,
                          priors=library)
    np.testing.assert_array_equal(curve.values, family.grid((0.3, 1.1)))
    np.testing.assert_array_equal(curve.prob_meaningful,
                                  probability_curve(s47, family, curve.values, mcid=MCID))
    assert curve.points == (points[0],)  # the SD family's point is not on this curve
    assert curve.points[0].value == pytest.approx(0.652, abs=1e-3)
    # the pessimistic prior (centre 1/0.85) is outside the range; the vague is not a member
    assert list(curve.landmarks) == ["sceptical", "enthusiastic"]
    value, prob = curve.landmarks["enthusiastic"]
    assert value == pytest.approx(0.85)
    assert prob == prob_meaningful(get_prior("enthusiastic"), s47, mcid=MCID)
    narrow = tipping_curve(s47, family, mcid=MCID, bounds=(0.9, 1.1), tipping=points)
    assert narrow.points == ()
    assert narrow.landmarks == {}


def test_the_rule_is_exhaustive_exclusive_and_never_asks_for_evidence_that_cannot_pay():
    # every combination of the rule's inputs, on and around each threshold
    rule = DecisionRule(invest=0.8, stop=0.1, invest_nmb=0.5)
    probs = [0.0, 0.0999, 0.1, 0.5, 0.7999, 0.8, 1.0]
    for p, nmb, worth in itertools.product(probs, [None, *probs], [None, True, False]):
        v = rule.verdict(p, nmb, worth_more_evidence=worth)
        invest = p >= rule.invest and (nmb is None or nmb >= rule.invest_nmb)
        stop = not invest and (p < rule.stop or worth is False)
        assert v == ("invest" if invest else "stop" if stop else "more evidence"), (p, nmb, worth)
        if worth is False:
            assert v != "more evidence"
        verdict = decide_verdict(rule, p, nmb, mcid=0.1, outcome_label="S47 enquiries",
                                 worth_more_evidence=worth, evidence_text="EVSI sentence.")
        assert verdict.verdict == v
        if verdict.stopped_by_value:
            assert "no further trial considered is expected to be worth its cost" in verdict.text
            assert "EVSI sentence." in verdict.text


def test_a_probability_within_two_monte_carlo_errors_of_a_threshold_is_not_settled():
    rule = DecisionRule()
    near = decide_verdict(rule, 0.79, 0.9, mcid=0.1, outcome_label="S47 enquiries",
                          prob_meaningful_mcse=0.006)
    assert near.verdict == "more evidence"
    (line,) = near.unsettled
    assert "within two standard errors of the rule's 80%" in line
    assert line in near.text
    assert near.to_dict()["settled"] is False
    far = decide_verdict(rule, 0.75, 0.9, mcid=0.1, outcome_label="S47 enquiries",
                         prob_meaningful_mcse=0.006, prob_nmb_positive_mcse=0.01)
    assert far.unsettled == ()
    assert far.to_dict()["settled"] is True
    nmb = decide_verdict(rule, 0.9, 0.51, mcid=0.1, outcome_label="S47 enquiries",
                         prob_meaningful_mcse=0.006, prob_nmb_positive_mcse=0.01)
    assert len(nmb.unsettled) == 1
    assert "positive net benefit" in nmb.unsettled[0]
