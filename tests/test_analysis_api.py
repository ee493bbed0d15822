"""The notebook API: Analysis owns data, prior and model; FitResult answers new questions."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import swisbayes as sb
from swisbayes.decision.summaries import population_ratio
from swisbayes.families.registry import decide_spec

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def analysis() -> sb.Analysis:
    return sb.Analysis(sb.load_spec("s47_primary"), sb.load_example())


@pytest.fixture(scope="module")
def fitted(analysis: sb.Analysis) -> sb.FitResult:
    return analysis.fit()


def test_data_are_never_implied():
    spec = sb.load_spec("s47_primary")
    with pytest.raises(sb.DataError, match="no data given"):
        sb.Analysis(spec, None)
    with pytest.raises(sb.DataError, match="no data given"):
        sb.fit(spec, None)


def test_a_shipped_spec_loads_by_name_and_an_unknown_name_says_what_exists():
    assert sb.load_spec("s47_primary") == sb.load_spec("models/s47_primary.toml")
    with pytest.raises(sb.SpecError, match="s47_primary"):
        sb.load_spec("s48_primary")


@pytest.mark.slow
def test_decide_reads_another_threshold_from_the_same_draws(fitted: sb.FitResult):
    ratio = population_ratio(fitted.posterior)  # the effect the decision reads
    irr = fitted.posterior["irr"].to_numpy().ravel()  # the typical LA's, reported beside it
    for mcid in (0.05, 0.15, 0.25):
        d = fitted.decide(mcid=mcid)
        assert d.effect.prob_meaningful_reduction == pytest.approx(np.mean(ratio < 1 - mcid),
                                                                   abs=1e-12)
        assert d.typical_la.prob_meaningful_reduction == pytest.approx(
            np.mean(irr < 1 - mcid), abs=1e-12)
        assert d.effect.median == fitted.decision.effect.median  # same draws
    assert fitted.decide().to_dict() == fitted.decision.to_dict()


@pytest.mark.slow
def test_under_reweights_when_reliable_and_agrees_with_a_refit(analysis: sb.Analysis,
                                                                fitted: sb.FitResult):
    answer = fitted.under("sceptical")
    assert answer.path == "reweighted"
    assert answer.pareto_khat < 0.7
    assert answer.importance_ess >= 400
    assert answer.prior.name == "sceptical"
    assert "reweighted draws" in answer.text
    refit = analysis.with_prior("sceptical").fit()
    assert refit.ok
    # P(any reduction) from both, within Monte Carlo error (4 combined standard errors)
    p_rw = answer.decision.effect.prob_any_reduction
    p_fit = refit.decision.effect.prob_any_reduction
    se = np.sqrt(p_rw * (1 - p_rw) / answer.importance_ess
                 + p_fit * (1 - p_fit) / refit.diagnostics.ess_bulk_min)
    assert abs(p_rw - p_fit) < 4 * se + 1e-3


@pytest.mark.slow
def test_under_refits_when_the_weights_fail_their_gate(fitted: sb.FitResult):
    # a prior far from the data: importance weights degenerate, so the answer is a refit
    far = sb.MixturePrior.normal("far", np.log(0.3), 0.02)
    answer = fitted.under(far)
    assert answer.path == "sampled"
    assert answer.fit is not fitted
    assert answer.fit.spec.effect_prior == far
    # the prior pins the typical LA's effect; the LAs' own effects (the trial-population
    # ratio) can stay with the data through the LA-level spread
    assert answer.decision.typical_la.median < 0.5


@pytest.mark.slow
def test_plot_returns_the_figure_it_drew_on(fitted: sb.FitResult):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert fitted.plot(ax=ax) is fig
    finally:
        plt.close(fig)
    assert fitted.plot().axes  # a new figure of its own


@pytest.mark.slow
def test_a_prior_analysis_decides_and_plots_from_its_own_weighted_draws(fitted: sb.FitResult):
    import matplotlib.pyplot as plt

    answer = fitted.under("sceptical")
    assert answer.path == "reweighted"
    # same draws, same weights, another threshold: equal to the weighted decision by hand
    again = answer.decide(mcid=0.2)
    by_hand = decide_spec(fitted.posterior, answer.spec.with_mcid(0.2),
                             weights=answer.weights)
    assert again.to_dict() == by_hand.to_dict()
    assert (again.effect.prob_meaningful_reduction
            <= answer.decision.effect.prob_meaningful_reduction)
    fig, ax = plt.subplots()
    try:
        assert answer.plot(ax=ax) is fig
    finally:
        plt.close(fig)
