"""EVPI and EVSI of the investment decision on a normal-mixture posterior of the log IRR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from swisbayes._base.errors import SpecError
from swisbayes.economics.net_benefit import evpi, format_money, load_economics, population_scale
from swisbayes.economics.voi import (
    LinearNetBenefit,
    evpi_mixture,
    evsi,
    further_trial_value,
    trial_se,
)
from swisbayes.evidence.reanalysis import reanalyse
from swisbayes.priors.library import MixturePrior
from swisbayes.priors.robust import TRIAL_LOG_IRR_SE, TRIAL_SCHOOLS_HARMONIC, UNIT_SD

from .conftest import ROOT

# Investing pays when a third of events are averted (IRR < 1/3, log IRR < -1.0986).
NB = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20_000.0)
# Two posteriors that leave the decision uncertain: one that does not invest now (E[NMB] < 0)
# and one that does (E[NMB] > 0).
NOT_NOW = MixturePrior("not now", "", "", (0.7, 0.3), (-1.0, -0.5), (0.25, 0.4))
INVEST_NOW = MixturePrior("invest now", "", "", (0.6, 0.4), (-1.5, -1.0), (0.2, 0.35))
GRID = [1, 2, 5, 10, 25, 50, 100, 200, 400, 1000, 10_000]


def components(mix: MixturePrior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(v) for v in (mix.weights, mix.means, mix.sds))


def draw(mix: MixturePrior, n: int, rng: np.random.Generator) -> np.ndarray:
    w, m, s = components(mix)
    k = rng.choice(len(w), size=n, p=w)
    return rng.normal(m[k], s[k])


def updated_nmb(mix: MixturePrior, nb: LinearNetBenefit, y: np.ndarray, se: float) -> np.ndarray:
    """E[NMB | y] for many y at once, written out independently of the package."""
    w, m, s = components(mix)
    y = np.asarray(y, dtype=float)[..., None]
    v = 1 / (1 / s**2 + 1 / se**2)
    mu = v * (m / s**2 + y / se**2)
    log_w = np.log(w) + stats.norm.logpdf(y, m, np.sqrt(s**2 + se**2))
    log_w -= special.logsumexp(log_w, axis=-1, keepdims=True)
    return nb.intercept - nb.slope * np.exp(special.logsumexp(log_w + mu + v / 2, axis=-1))


def evsi_by_quadrature(mix: MixturePrior, nb: LinearNetBenefit, se: float) -> float:
    """EVSI by 1-D quadrature over each predictive component, split where the decision turns."""
    w, m, s = components(mix)
    y_star = optimize.brentq(lambda y: float(updated_nmb(mix, nb, y, se)), -30.0, 30.0,
                             xtol=1e-13)
    invest_if_y_below = sum(
        wk * integrate.quad(lambda y, mk=mk, sk=sk: float(updated_nmb(mix, nb, y, se))
                            * stats.norm.pdf(y, mk, np.hypot(sk, se)), -np.inf, y_star,
                            epsabs=1e-10, epsrel=1e-12)[0]
        for wk, mk, sk in zip(w, m, s, strict=True))
    return invest_if_y_below - max(nb.expected(mix), 0.0)


# ----------------------------------------------------------------------------- net benefit


def test_linear_net_benefit_by_hand():
    assert NB.slope == 30_000.0
    assert NB.intercept == 10_000.0
    assert float(NB.at(0.0)) == -20_000.0                       # no effect: the cost
    assert float(NB.at(np.log(0.5))) == pytest.approx(-5_000.0)  # 7.5 enquiries x £2,000
    assert NB.break_even_log_irr == pytest.approx(np.log(1 / 3))
    with_offset = LinearNetBenefit(2000.0, 15.0, 20_000.0, offset=-12_000.0)
    assert with_offset.break_even_log_irr == -np.inf           # never pays
    assert LinearNetBenefit(0.0, 15.0, 0.0, offset=5.0).break_even_log_irr == np.inf


def test_expected_net_benefit_is_the_lognormal_mean_per_component():
    by_hand = 10_000 - 30_000 * (0.7 * np.exp(-1.0 + 0.25**2 / 2) + 0.3 * np.exp(-0.5 + 0.08))
    assert NB.expected(NOT_NOW) == pytest.approx(by_hand, rel=1e-14)
    assert NB.expected(NOT_NOW) < 0 < NB.expected(INVEST_NOW)


def test_net_benefit_from_the_economic_inputs():
    inputs = load_economics(ROOT / "models" / "economics.toml")
    nb = LinearNetBenefit.from_inputs(inputs, events_per_school_year=15.0, offset=100.0)
    assert nb == LinearNetBenefit(2000.0, 15.0, 37_500.0, 100.0)
    with pytest.raises(SpecError, match="'care_entry' has no value per averted event"):
        LinearNetBenefit.from_inputs(inputs, outcome="care_entry", events_per_school_year=1.0)


@pytest.mark.parametrize("kwargs", [{"value": -1.0}, {"cost": -5.0},
                                    {"events_per_school_year": np.nan}, {"offset": np.inf}])
def test_linear_net_benefit_rejects_bad_numbers(kwargs):
    with pytest.raises(SpecError, match="net benefit: "):
        LinearNetBenefit(**{"value": 1.0, "events_per_school_year": 1.0, "cost": 1.0, **kwargs})


def test_trial_se_reproduces_the_published_trial():
    assert trial_se(TRIAL_SCHOOLS_HARMONIC) == pytest.approx(TRIAL_LOG_IRR_SE, rel=1e-12)
    np.testing.assert_allclose(trial_se([50, 200]), UNIT_SD * np.sqrt([2 / 50, 2 / 200]))
    with pytest.raises(SpecError, match="n_per_arm"):
        trial_se(0)
    with pytest.raises(SpecError, match="unit_sd"):
        trial_se(10, unit_sd=-1.0)


# ----------------------------------------------------------------------------- EVPI


@pytest.mark.parametrize("mix", [NOT_NOW, INVEST_NOW], ids=lambda m: m.name)
def test_evpi_on_a_mixture_matches_monte_carlo(mix):
    nmb = NB.at(draw(mix, 1_000_000, np.random.default_rng(7)))
    # the estimator is the mean of max(NMB, 0) (not investing now) or of max(-NMB, 0)
    # (investing now) minus a constant, so its MCSE is that term's SD / sqrt(N)
    loss = np.maximum(nmb, 0.0) if NB.expected(mix) < 0 else np.maximum(-nmb, 0.0)
    mcse = loss.std() / np.sqrt(nmb.size)
    exact = evpi_mixture(mix, NB)
    assert exact > 100 * mcse                                  # a test that can fail
    assert abs(evpi(nmb) - exact) < 4 * mcse


def test_evpi_of_a_normal_by_its_closed_form():
    m, s = -1.0, 0.3
    t = np.log(1 / 3)
    by_hand = (10_000 * stats.norm.cdf((t - m) / s)
               - 30_000 * np.exp(m + s**2 / 2) * stats.norm.cdf((t - m - s**2) / s))
    current = 10_000 - 30_000 * np.exp(m + s**2 / 2)
    assert current < 0
    assert evpi_mixture(MixturePrior.normal("p", m, s), NB) == pytest.approx(by_hand, rel=1e-12)


# ----------------------------------------------------------------------------- EVSI


@pytest.mark.parametrize("mix", [NOT_NOW, INVEST_NOW], ids=lambda m: m.name)
@pytest.mark.parametrize("n", [5, 50, 200])
def test_evsi_matches_quadrature_over_the_predictive_mixture(mix, n):
    assert evsi(mix, NB, n) == pytest.approx(evsi_by_quadrature(mix, NB, trial_se(n)),
                                             rel=1e-8)


@pytest.mark.parametrize("mix", [NOT_NOW, INVEST_NOW], ids=lambda m: m.name)
def test_evsi_matches_a_monte_carlo_preposterior_simulation(mix):
    rng = np.random.default_rng(2024)
    n, size = 25, 400_000
    se = trial_se(n)
    y = draw(mix, size, rng) + se * rng.normal(size=size)
    best = np.maximum(updated_nmb(mix, NB, y, se), 0.0)
    estimate = best.mean() - max(NB.expected(mix), 0.0)
    mcse = best.std() / np.sqrt(size)
    exact = evsi(mix, NB, n)
    assert exact > 50 * mcse
    assert abs(estimate - exact) < 4 * mcse


def test_evsi_of_a_normal_is_the_evpi_of_its_preposterior_mean():
    # With a normal posterior N(m, s^2), E[theta | y] ~ N(m, s^2 - v) before the trial and the
    # updated SD is sqrt(v), so E[exp(theta) | y] = exp(Z) with Z ~ N(m + v / 2, s^2 - v).
    m, s = -1.0, 0.3
    for n in (3, 30, 300):
        se = trial_se(n)
        v = 1 / (1 / s**2 + 1 / se**2)
        equivalent = MixturePrior.normal("z", m + v / 2, np.sqrt(s**2 - v))
        assert evsi(MixturePrior.normal("p", m, s), NB, n) == pytest.approx(
            evpi_mixture(equivalent, NB), rel=1e-9)


@pytest.mark.parametrize("mix", [NOT_NOW, INVEST_NOW], ids=lambda m: m.name)
def test_evsi_lies_between_zero_and_evpi_and_increases_with_trial_size(mix):
    values = evsi(mix, NB, GRID)
    ceiling = evpi_mixture(mix, NB)
    assert np.all(values >= 0)
    assert np.all(values <= ceiling)
    assert np.all(np.diff(values) > 0)
    assert evsi(mix, NB, 10**9) == pytest.approx(ceiling, rel=0.01)
    assert evsi(mix, NB, 10**-4) < 1e-3 * ceiling


def test_evsi_is_zero_when_no_result_could_change_the_decision():
    # £2,000 x 15 enquiries = £30,000 a school-year even if every enquiry were averted: a cost
    # of £40,000 is never repaid, whatever a trial shows
    dear = LinearNetBenefit(2000.0, 15.0, 40_000.0)
    assert evpi_mixture(NOT_NOW, dear) == 0.0
    np.testing.assert_array_equal(evsi(NOT_NOW, dear, GRID), np.zeros(len(GRID)))
    flat = LinearNetBenefit(0.0, 15.0, 1000.0, offset=3000.0)  # NMB does not depend on theta
    assert evsi(NOT_NOW, flat, 100) == 0.0
    assert evpi_mixture(NOT_NOW, flat) == 0.0


def test_evsi_returns_a_float_for_one_size_and_an_array_for_several():
    assert isinstance(evsi(NOT_NOW, NB, 50), float)
    many = evsi(NOT_NOW, NB, [25, 50])
    assert isinstance(many, np.ndarray)
    assert many[1] == evsi(NOT_NOW, NB, 50)


def test_eight_trial_sizes_at_once_equal_one_at_a_time():
    # Their speed is measured in benchmarks/bench_fast_paths.py, not asserted here.
    sizes = [10, 25, 50, 75, 100, 150, 200, 400]
    at_once = evsi(NOT_NOW, NB, sizes)
    assert at_once.shape == (len(sizes),)
    np.testing.assert_allclose(at_once, [evsi(NOT_NOW, NB, n) for n in sizes], rtol=1e-12)


# ----------------------------------------------------------------------------- the SWIS case


def test_published_s47_posterior_with_bundled_values_leaves_nothing_to_learn():
    # 15 enquiries per school-year x £2,000 = £30,000 < £37,500: SWIS cannot pay for itself on
    # S47 enquiries alone, so no information about the S47 effect can change the decision
    inputs = load_economics(ROOT / "models" / "economics.toml")
    post = reanalyse(prior="vague").posterior
    nb = LinearNetBenefit.from_inputs(inputs, events_per_school_year=15.0)
    value = further_trial_value(post, nb, inputs)
    assert value.evpi_per_school_year == 0.0
    assert value.population_evpi == 0.0
    np.testing.assert_array_equal(value.table["population_evsi"], np.zeros(5))
    np.testing.assert_array_equal(value.table["expected_net_gain"], -value.table["trial_cost"])
    assert value.text.startswith("No further trial could change this decision")


def test_further_trial_value_table_by_hand():
    inputs = load_economics(ROOT / "models" / "economics.toml")
    post = reanalyse(prior="vague").posterior
    nb = LinearNetBenefit(value=20_000.0, events_per_school_year=15.0, cost=37_500.0)
    value = further_trial_value(post, nb, inputs)
    scale = population_scale(inputs)
    n = np.array([25, 50, 100, 150, 200])
    table = value.table
    np.testing.assert_array_equal(table["n_per_arm"], n)
    np.testing.assert_allclose(table["evsi_per_school_year"], evsi(post, nb, n.tolist()))
    np.testing.assert_allclose(table["population_evsi"], table["evsi_per_school_year"] * scale)
    np.testing.assert_allclose(table["trial_cost"], 500_000 + 45_000 * 2 * n)
    np.testing.assert_allclose(table["expected_net_gain"],
                               table["population_evsi"] - table["trial_cost"])
    assert value.population_evpi == pytest.approx(evpi_mixture(post, nb) * scale)
    assert np.all(table["population_evsi"] <= value.population_evpi)
    row = table.set_index("n_per_arm").loc[100]
    assert value.sentence(100) == (
        f"A new trial of 100 schools per arm would be worth at most "
        f"{format_money(row['population_evsi'])} to this decision (it would cost about £9.5m).")
    with pytest.raises(SpecError, match="no trial of 75 schools per arm"):
        value.sentence(75)
    assert value.to_dict()["table"][2]["trial_cost"] == 9_500_000


def test_further_trial_value_says_when_a_trial_is_worth_its_cost():
    inputs = load_economics(ROOT / "models" / "economics.toml")
    nb = LinearNetBenefit(value=2000.0, events_per_school_year=60.0, cost=37_500.0)
    mix = MixturePrior.normal("uncertain", -0.5, 0.3)        # break-even at IRR 0.6875
    value = further_trial_value(mix, nb, inputs)
    best = value.table.loc[value.table["expected_net_gain"].idxmax()]
    assert best["expected_net_gain"] > 0
    assert value.text.startswith("Perfect information about the effect would be worth at most")
    assert value.sentence(int(best["n_per_arm"])) in value.text


def test_evsi_table_puts_the_priors_side_by_side_with_perfect_information_last():
    from swisbayes.economics.voi import PERFECT_INFORMATION, evsi_table

    inputs = load_economics(ROOT / "models" / "economics.toml")
    nb = LinearNetBenefit(value=2000.0, events_per_school_year=60.0, cost=37_500.0)
    values = {name: further_trial_value(mix, nb, inputs)
              for name, mix in (("a", MixturePrior.normal("a", -0.5, 0.3)),
                                ("b", MixturePrior.normal("b", -0.3, 0.2)))}
    table = evsi_table(values)
    assert list(table.index) == [25, 50, 100, 150, 200, PERFECT_INFORMATION]
    assert list(table.columns) == ["trial_cost", "a", "b"]
    for name, v in values.items():
        assert list(table[name].iloc[:-1]) == list(v.table["population_evsi"])  # exactly
        assert table[name].iloc[-1] == v.population_evpi
    assert list(table["trial_cost"].iloc[:-1]) == list(values["a"].table["trial_cost"])
    assert np.isnan(table["trial_cost"].iloc[-1])
    with pytest.raises(SpecError, match="no further-trial values"):
        evsi_table({})
    other = inputs.model_copy(update={"further_trial": inputs.further_trial.model_copy(
        update={"n_per_arm": (25, 50)})})
    with pytest.raises(SpecError, match="trial sizes"):
        evsi_table({**values, "c": further_trial_value(MixturePrior.normal("c", 0.0, 0.2), nb,
                                                       other)})


def test_break_even_value_is_where_averting_every_event_pays():
    nb = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20_000.0, offset=500.0)
    assert nb.break_even_value == (20_000.0 - 500.0) / 15.0
    at = LinearNetBenefit(value=nb.break_even_value, events_per_school_year=15.0,
                          cost=20_000.0, offset=500.0)
    assert at.intercept == pytest.approx(0.0, abs=1e-9)  # NMB if every event were averted
    assert LinearNetBenefit(value=1.0, events_per_school_year=0.0,
                            cost=1.0).break_even_value == np.inf
