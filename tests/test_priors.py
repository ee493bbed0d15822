"""Named priors: defining tail probabilities, exact padding, quantiles, equality and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from swisbayes._base.errors import SpecError
from swisbayes.evidence.resolver import get_prior
from swisbayes.priors.library import (
    MAX_COMPONENTS,
    MixturePrior,
    enthusiastic,
    grid_prior,
    library_names,
    pessimistic,
    sceptical,
    vague,
)


@pytest.mark.parametrize("planned", [0.7, 0.85, 0.95])
def test_calibrated_priors_meet_their_defining_tail_probabilities(planned):
    assert sceptical(planned).prob_irr_below(planned) == pytest.approx(0.05, abs=1e-12)
    assert sceptical(planned).mean == 0.0
    assert 1 - enthusiastic(planned).prob_irr_below(1.0) == pytest.approx(0.05, abs=1e-12)
    assert enthusiastic(planned).quantile(0.5) == pytest.approx(np.log(planned), abs=1e-10)
    assert pessimistic(planned).prob_irr_below(1.0) == pytest.approx(0.05, abs=1e-12)


def test_grid_strengths_scale_the_sceptical_sd():
    base = sceptical().sd
    for strength, factor in (("strong", 1), ("moderate", 2), ("weak", 4)):
        prior = grid_prior(f"neutral-{strength}")
        assert prior.sd == pytest.approx(factor * base, rel=1e-12)
    assert grid_prior("optimistic-weak").mean == pytest.approx(np.log(0.85))
    assert grid_prior("pessimistic-moderate").mean == pytest.approx(-np.log(0.85))
    with pytest.raises(SpecError, match="unknown grid prior 'optimistic-huge'"):
        grid_prior("optimistic-huge")


def test_mixture_moments_cdf_and_quantiles_are_exact():
    prior = MixturePrior("m", "d", "p", (0.3, 0.7), (-0.2, 0.1), (0.1, 0.3))
    assert prior.mean == pytest.approx(0.3 * -0.2 + 0.7 * 0.1)
    var = 0.3 * (0.1**2 + 0.04) + 0.7 * (0.3**2 + 0.01) - prior.mean**2
    assert prior.sd == pytest.approx(np.sqrt(var))
    x = 0.05
    cdf = 0.3 * stats.norm.cdf(x, -0.2, 0.1) + 0.7 * stats.norm.cdf(x, 0.1, 0.3)
    assert prior.cdf(x) == pytest.approx(cdf, rel=1e-14)
    for q in (0.01, 0.3, 0.5, 0.97):
        assert prior.cdf(prior.quantile(q)) == pytest.approx(q, abs=1e-10)
    draws = np.concatenate([np.random.default_rng(1).normal(-0.2, 0.1, 300_000),
                            np.random.default_rng(2).normal(0.1, 0.3, 700_000)])
    assert prior.quantile(0.5) == pytest.approx(np.median(draws), abs=3e-3)


def test_mixture_sd_has_no_cancellation_when_the_mean_dwarfs_it():
    # E[x^2] - E[x]^2 would lose every digit here; the moment ESS divides by sd^2
    assert MixturePrior.normal("n", 5.0, 1e-7).sd == pytest.approx(1e-7, rel=1e-12)
    prior = MixturePrior("m", "d", "p", (0.5, 0.5), (3.0, 3.0 + 2e-6), (1e-6, 1e-6))
    assert prior.sd == pytest.approx(np.sqrt(2e-12), rel=1e-9)


def test_padding_keeps_the_distribution():
    prior = MixturePrior("m", "d", "p", (0.6, 0.4), (-0.2, 0.1), (0.1, 0.3))
    w, m, s = prior.padded()
    assert len(w) == MAX_COMPONENTS
    padded = MixturePrior("p", "d", "p", tuple(w), tuple(m), tuple(s))
    grid = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(padded.logpdf(grid), prior.logpdf(grid), rtol=1e-13)


def test_string_equality_and_round_trip():
    assert str(sceptical()) == "sceptical: NormalMixture(w=[1], mu=[0], sigma=[0.0988]) on log IRR"
    prior = MixturePrior("m", "d", "p", (0.6, 0.4), (-0.2, 0.1), (0.1, 0.3))
    assert MixturePrior.from_dict(prior.to_dict()) == prior
    assert vague() == get_prior("vague")


def test_invalid_mixtures_and_names_are_rejected_precisely():
    with pytest.raises(SpecError, match="prior 'x': 5 components; expected 1 to 4"):
        MixturePrior("x", "", "", (0.2,) * 5, (0,) * 5, (1,) * 5)
    with pytest.raises(SpecError, match="sds must be positive"):
        MixturePrior("x", "", "", (1.0,), (0.0,), (-1.0,))
    with pytest.raises(SpecError, match="same length"):
        MixturePrior("x", "", "", (0.5, 0.5), (0.0,), (1.0, 1.0))
    with pytest.raises(SpecError, match="planned IRR must be between 0 and 1"):
        sceptical(1.2)
    with pytest.raises(SpecError, match="valid names: " + ", ".join(library_names()[:3])):
        get_prior("nope")
