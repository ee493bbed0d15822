"""Verdict changes by the whole rule: every sentence agrees with the rule applied to the same
numbers, over random data summaries, economic inputs and thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from swisbayes.decision.prior_families import NormalCentreFamily, RobustWeightFamily
from swisbayes.decision.rule import VERDICTS, DecisionRule
from swisbayes.decision.verdict_changes import (
    RuleTerms,
    verdict_along,
    verdict_changes,
)
from swisbayes.economics.voi import LinearNetBenefit, evsi
from swisbayes.priors.library import MixturePrior, vague


def _case(rng: np.random.Generator):
    """A random data summary, rule, net benefit and family."""
    likelihood = (rng.uniform(-0.5, 0.3), rng.uniform(0.02, 0.3))
    stop = rng.uniform(0.02, 0.3)
    rule = DecisionRule(invest=rng.uniform(stop + 0.2, 0.95), stop=stop,
                        invest_nmb=rng.uniform(0.3, 0.8))
    nb = LinearNetBenefit(value=rng.uniform(500, 6000), events_per_school_year=rng.uniform(2, 30),
                          cost=rng.uniform(5_000, 60_000), offset=rng.uniform(-2000, 2000))
    n, trial_cost, scale = 100, rng.uniform(1e5, 5e6), rng.uniform(100, 5000)
    terms = RuleTerms(
        prob_nmb_positive=nb.prob_positive,
        trial_net_gain=lambda post: float(evsi(post, nb, n)) * scale - trial_cost,
        cannot_pay=None if nb.can_pay else "averting every event would not pay")
    family = (NormalCentreFamily() if rng.uniform() < 0.6 else RobustWeightFamily(
        MixturePrior.normal("informative", rng.uniform(-0.4, 0.1), rng.uniform(0.05, 0.2)),
        vague()))
    return likelihood, rule, terms, family, float(rng.choice([0.05, 0.1, 0.2]))


@pytest.mark.parametrize("seed", range(40))
def test_every_sentence_agrees_with_the_rule_on_the_same_numbers(seed):
    likelihood, rule, terms, family, mcid = _case(np.random.default_rng(seed))
    current = str(np.random.default_rng(seed + 1000).choice(VERDICTS))
    changes = verdict_changes(likelihood, rule, current, family, mcid=mcid, terms=terms)
    assert [c.target for c in changes] == [v for v in VERDICTS if v != current]
    # a finer grid than the search's: what the sentences claim must hold on it too
    xs = family.grid(n=401)
    verdicts = [r.verdict for r in verdict_along(likelihood, rule, family, xs, mcid=mcid,
                                                 terms=terms)]
    for change in changes:
        gives = xs[[v == change.target for v in verdicts]]
        if not change.found:
            # unreachable: no prior of the family gives it, and the reason names a condition
            assert gives.size == 0, change.text
            assert "No prior of this family" in change.text
            continue
        # the boundary itself gives the target, and the stated side holds for every prior that
        # gives it (a necessary condition), up to the bisection's resolution
        (at,) = verdict_along(likelihood, rule, family, np.array([change.value]), mcid=mcid,
                              terms=terms)
        assert at.verdict == change.target
        tol = 1e-9 * max(1.0, abs(change.value))
        if change.above:
            assert np.all(gives >= change.value - tol), change.text
        else:
            assert np.all(gives <= change.value + tol), change.text
        assert f"to '{change.target}' only if" in change.text


def test_investing_that_cannot_pay_is_said_to_be_unreachable_and_why():
    # ten S47 enquiries a school-year at £2,000 cannot pay for £37,500: no effect makes it pay
    nb = LinearNetBenefit(value=2000, events_per_school_year=10, cost=37_500)
    assert not nb.can_pay
    assert nb.prob_positive(MixturePrior.normal("p", math.log(0.1), 0.01)) == 0.0
    terms = RuleTerms(prob_nmb_positive=nb.prob_positive,
                      trial_net_gain=lambda post: -1.0,
                      cannot_pay="even averting every one of the S47 enquiries would not pay")
    changes = verdict_changes((math.log(0.9), 0.06), DecisionRule(), "stop",
                              NormalCentreFamily(), mcid=0.1, terms=terms,
                              outcome_label="S47 enquiries")
    by_target = {c.target: c for c in changes}
    assert not by_target["invest"].found
    assert "net monetary benefit is positive stays below the 50%" in by_target["invest"].text
    assert "even averting every one of the S47 enquiries would not pay" in by_target[
        "invest"].text
    # and more evidence is never worth gathering, so no prior gives "more evidence" either
    assert not by_target["more evidence"].found
    assert "no further trial considered is expected to be worth its cost" in by_target[
        "more evidence"].text


def test_prob_positive_is_the_cdf_at_break_even():
    nb = LinearNetBenefit(value=3000, events_per_school_year=20, cost=40_000)
    post = MixturePrior.normal("p", math.log(0.8), 0.1)
    draws = np.random.default_rng(0).normal(math.log(0.8), 0.1, 400_000)
    share = np.mean(nb.at(draws) > 0)
    assert nb.prob_positive(post) == pytest.approx(share, abs=4 * math.sqrt(0.25 / draws.size))
