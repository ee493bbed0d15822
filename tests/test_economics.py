"""Economic inputs (loader and validation), net monetary benefit, acceptability curve and EVPI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import swisbayes
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import OUTCOMES
from swisbayes.decision.rule import DecisionRule
from swisbayes.economics.net_benefit import (
    ASSUMPTION,
    annuity_factor,
    ceac,
    economics_path,
    evpi,
    evpi_by_wtp,
    format_money,
    load_economics,
    net_benefit,
    population_scale,
    summarise_net_benefit,
    validated_economics,
)

from .conftest import ROOT

BUNDLED = ROOT / "models" / "economics.toml"

# Small constructed draws: events averted per school-year of two valued outcomes and one without
# a value, paired by index.
AVERTED = {"s47": np.array([1.0, 2.0, 3.0, 4.0]),
           "referrals": np.array([0.0, 10.0, -10.0, 5.0]),
           "care_entry": np.array([0.1, 0.2, 0.3, 0.4])}
VALUES = {"s47": 2000.0, "referrals": 300.0, "days_in_care": 200.0}
COST = 5000.0
# by hand: 2000 * s47 + 300 * referrals - 5000 (care entry has no value; no days-in-care draws)
NMB = np.array([2000 - 5000, 4000 + 3000 - 5000, 6000 - 3000 - 5000, 8000 + 1500 - 5000.0])
WEIGHTS = np.array([1.0, 1.0, 2.0, 0.0])


# ----------------------------------------------------------------------------- net benefit


def test_net_benefit_is_the_hand_sum_and_ignores_outcomes_without_a_value():
    np.testing.assert_array_equal(net_benefit(AVERTED, VALUES, COST), NMB)
    np.testing.assert_array_equal(NMB, [-3000.0, 2000.0, -2000.0, 4500.0])


def test_net_benefit_takes_cost_draws_aligned_with_the_effects():
    cost = np.array([5000.0, 6000.0, 4000.0, 5000.0])
    np.testing.assert_array_equal(net_benefit(AVERTED, VALUES, cost),
                                  NMB - np.array([0.0, 1000.0, -1000.0, 0.0]))


@pytest.mark.parametrize(("averted", "values", "message"), [
    ({"s48": np.ones(4)}, VALUES, "unknown outcome"),
    ({"care_entry": np.ones(4)}, VALUES, "has a value per averted event"),
    ({"s47": np.ones(4), "referrals": np.ones(3)}, VALUES, "aligned"),
])
def test_net_benefit_rejects_bad_input(averted, values, message):
    with pytest.raises(SpecError, match=message):
        net_benefit(averted, values, COST)


def test_summary_of_net_benefit_by_hand_unweighted_and_weighted():
    plain = summarise_net_benefit(NMB, ci_prob=0.5)
    assert plain.mean == pytest.approx(375.0)          # (-3000 + 2000 - 2000 + 4500) / 4
    assert plain.median == pytest.approx(0.0)          # between -2000 and 2000
    assert plain.prob_positive == 0.5
    assert plain.ci == pytest.approx(tuple(np.quantile(NMB, [0.25, 0.75])))
    # weights 1/4, 1/4, 1/2, 0: sorted draws -3000, -2000, 2000, 4500 with weights 1/4, 1/2,
    # 1/4, 0 sit at cumulative midpoints 1/8, 1/2, 7/8, 1
    weighted = summarise_net_benefit(NMB, WEIGHTS, ci_prob=0.5)
    assert weighted.mean == pytest.approx((-3000 + 2000 - 4000) / 4)
    assert weighted.prob_positive == pytest.approx(0.25)
    assert weighted.median == pytest.approx(-2000.0)
    assert weighted.ci == pytest.approx((-3000 + (0.125 / 0.375) * 1000,
                                         -2000 + (0.25 / 0.375) * 4000))
    assert weighted.to_dict()["prob_nmb_positive"] == weighted.prob_positive


def test_equal_weights_give_the_unweighted_summary():
    assert summarise_net_benefit(NMB, np.full(4, 3.0)) == summarise_net_benefit(NMB)


# ----------------------------------------------------------------------------- CEAC


def test_ceac_by_hand():
    averted, wtp = np.array([-1.0, 1.0, 2.0, 4.0]), [0.0, 1.0, 2.0, 10.0]
    # NMB at wtp 1: (-3, -1, 0, 2); at 2: (-4, 0, 2, 6); at 10: (-12, 8, 18, 38); 0 is not > 0
    np.testing.assert_allclose(ceac(averted, 2.0, wtp), [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(ceac(averted, 2.0, wtp, weights=np.array([4.0, 1.0, 1.0, 2.0])),
                               [0.0, 2 / 8, 3 / 8, 4 / 8])


def test_ceac_is_monotone_when_the_sign_of_the_effect_is_known():
    rng = np.random.default_rng(20240)
    wtp = np.linspace(0.0, 50_000.0, 41)
    gains = rng.lognormal(0.0, 1.0, 500)              # SWIS averts events in every draw
    up = ceac(gains, 37_500.0, wtp)
    assert up[0] == 0.0
    assert np.all(np.diff(up) >= 0)
    assert ceac(gains, 37_500.0, [1e12])[0] == 1.0      # P(averted > 0)
    down = ceac(-gains, 0.0, wtp)                       # more events in every draw, free
    assert np.all(np.diff(down) <= 0)
    assert down[-1] == 0.0


# ----------------------------------------------------------------------------- EVPI


def test_evpi_by_hand_unweighted_and_weighted():
    assert evpi(NMB) == pytest.approx(1625.0 - 375.0)  # mean(0, 2000, 0, 4500) - 375
    # weights 1/4, 1/4, 1/2, 0: E[max(NMB, 0)] = 500, E[NMB] = -1250 -> not investing now
    assert evpi(NMB, WEIGHTS) == pytest.approx(500.0)
    # investing now: E[NMB] = 2, E[max(NMB, 0)] = 2.5
    assert evpi(np.array([-2.0, 1.0, 3.0, 6.0])) == pytest.approx(0.5)


def test_evpi_is_exactly_zero_when_one_option_is_best_in_every_draw():
    rng = np.random.default_rng(5)
    positive = rng.lognormal(8.0, 1.0, 1001)
    assert evpi(positive) == 0.0
    assert evpi(-positive) == 0.0
    assert evpi(positive, rng.uniform(size=1001)) == 0.0
    assert evpi(np.zeros(10)) == 0.0


def test_evpi_is_never_negative_and_at_most_the_mean_absolute_nmb():
    rng = np.random.default_rng(11)
    for _ in range(200):
        x = rng.normal(rng.normal(0, 3), rng.uniform(0.1, 5), 7)
        w = rng.uniform(size=7)
        value = evpi(x, w)
        assert 0.0 <= value <= np.average(np.abs(x), weights=w)


def test_evpi_across_willingness_to_pay_is_evpi_of_each_nmb():
    averted, cost, wtp = np.array([-1.0, 1.0, 2.0, 4.0]), 2.0, [0.0, 1.0, 2.0, 10.0]
    # by hand: wtp 0 -> always -2 (0); 1 -> mean(0, 0, 0, 2) - 0 = 0.5; 2 -> mean(0, 0, 2, 6) - 1
    # = 1; 10 -> mean(0, 8, 18, 38) - mean(-12, 8, 18, 38) = 16 - 13 = 3
    np.testing.assert_allclose(evpi_by_wtp(averted, cost, wtp), [0.0, 0.5, 1.0, 3.0])
    w = np.array([4.0, 1.0, 1.0, 2.0])
    np.testing.assert_allclose(evpi_by_wtp(averted, cost, wtp, w),
                               [evpi(t * averted - cost, w) for t in wtp])


# ----------------------------------------------------------------------------- scaling


def test_annuity_factor_against_a_hand_sum_and_the_closed_form():
    r, h = 0.035, 5
    by_hand = 1 + 1 / 1.035 + 1 / 1.035**2 + 1 / 1.035**3 + 1 / 1.035**4
    assert annuity_factor(h, r) == pytest.approx(by_hand, rel=1e-14)
    assert annuity_factor(h, r) == pytest.approx((1 - (1 + r) ** -h) * (1 + r) / r, rel=1e-12)
    assert annuity_factor(1, 0.5) == 1.0
    assert annuity_factor(7, 0.0) == 7.0


@pytest.mark.parametrize(("horizon", "rate"), [(0, 0.035), (2.5, 0.035), (5, -0.01), (5, 1.0)])
def test_annuity_factor_rejects_bad_input(horizon, rate):
    with pytest.raises(SpecError, match=r"^(horizon_years|discount_rate) must be"):
        annuity_factor(horizon, rate)


def test_population_scale_is_rollout_schools_times_discounted_years():
    inputs = load_economics(BUNDLED)
    by_hand = 160 * sum(1.035**-t for t in range(5))
    assert population_scale(inputs) == pytest.approx(by_hand, rel=1e-13)


@pytest.mark.parametrize(("amount", "text"), [
    (0, "£0"), (430.4, "£430"), (999.4, "£999"), (999.6, "£1k"), (37_500, "£38k"),
    (430_200, "£430k"), (999_600, "£1m"), (1_234_567, "£1.2m"), (12_345_678, "£12m"),
    (3.4e9, "£3.4bn"), (-2_500_000, "-£2.5m"), (-0.4, "£0"), (-0.6, "-£1"),
])
def test_format_money(amount, text):
    assert format_money(amount) == text


def test_format_money_in_another_currency():
    assert format_money(1_500_000, "EUR") == "EUR 1.5m"


# ----------------------------------------------------------------------------- loader


def test_bundled_inputs_load_with_their_sources():
    inputs = load_economics(BUNDLED)
    assert inputs.currency == "GBP"
    assert inputs.cost_per_school_year.value == 37_500.0
    assert inputs.cost_per_school_year.value == 300_000 / 8  # the derivation in its note
    assert "staffsscb.org.uk" in inputs.cost_per_school_year.source
    assert "£6.5m" in inputs.cost_per_school_year.note
    assert inputs.values == {"s47": 2000.0, "referrals": 300.0, "s17": 1000.0,
                             "days_in_care": 200.0}
    assert "care_entry" not in inputs.values
    assert inputs.rollout.schools.value == 160
    assert inputs.rollout.schools.source == "https://whatworks-csc.org.uk/funding/"
    assert {1000.0, 10000.0, 20000.0} <= set(inputs.willingness_to_pay.grid)
    published = inputs.willingness_to_pay.published
    assert dict(zip(published.wtp, published.prob_cost_effective, strict=True)) == {
        1000.0: 0.013, 10000.0: 0.011, 20000.0: 0.061}
    assert published.source == "https://www.phc.ox.ac.uk/publications/2031458"
    assert inputs.further_trial.n_per_arm == (25, 50, 100, 150, 200)
    assert inputs.further_trial.cost(100) == 500_000 + 45_000 * 200


def test_default_file_is_the_working_directory_s_else_the_project_s(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert economics_path().resolve() == BUNDLED.resolve()
    assert load_economics() == load_economics(BUNDLED)
    (tmp_path / "models").mkdir()
    local = BUNDLED.read_text(encoding="utf-8").replace("value = 37500", "value = 40000")
    (tmp_path / "models" / "economics.toml").write_text(local, encoding="utf-8")
    assert economics_path() == Path("models") / "economics.toml"
    assert load_economics().cost_per_school_year.value == 40_000.0


def test_every_bundled_value_has_a_source_and_every_assumption_a_rationale():
    inputs = load_economics(BUNDLED)
    paths = [path for path, _ in inputs.sourced()]
    assert paths == ["price_year", "cost_per_school_year", "value_per_event.s47",
                     "value_per_event.referrals", "value_per_event.s17",
                     "value_per_event.days_in_care", "rollout.schools", "rollout.horizon_years",
                     "rollout.discount_rate", "further_trial.fixed_cost",
                     "further_trial.cost_per_school"]
    for path, entry in inputs.sourced():
        assert entry.source.strip(), path
        cited = entry.source.startswith("https://")
        assert cited or entry.source == ASSUMPTION, path
        if entry.is_assumption:  # one sentence
            assert entry.rationale.count(". ") == 0, path
            assert entry.rationale.endswith("."), path


def test_assumptions_lists_exactly_the_inputs_without_a_citation():
    assumed = load_economics(BUNDLED).assumptions()
    assert [path for path, _, _ in assumed] == [
        "price_year", "value_per_event.s47", "value_per_event.referrals", "value_per_event.s17",
        "value_per_event.days_in_care", "rollout.horizon_years", "rollout.discount_rate",
        "further_trial.fixed_cost", "further_trial.cost_per_school"]
    by_path = {path: (value, why) for path, value, why in assumed}
    assert by_path["value_per_event.s47"][0] == 2000.0
    assert by_path["rollout.discount_rate"][0] == 0.035
    assert "Green Book" in by_path["rollout.discount_rate"][1]
    # a further trial pays for SWIS in its intervention half: at least half the programme cost
    assert by_path["further_trial.cost_per_school"][0] >= 37_500 / 2


def test_to_dict_is_json_and_round_trips():
    inputs = load_economics(BUNDLED)
    data = json.loads(json.dumps(inputs.to_dict()))
    assert data["value_per_event"]["s47"]["source"] == ASSUMPTION
    assert validated_economics(data) == inputs


def test_rule_thresholds_build_the_decision_rule():
    rule = load_economics(BUNDLED).decision_rule
    assert rule == DecisionRule(invest=0.80, stop=0.10, invest_nmb=0.5)


def test_another_trials_inputs_value_its_declared_outcome(tmp_path):
    """A value per averted event of an outcome a spec declares, as another trial would give."""
    swisbayes.load_spec(ROOT / "models" / "examples" / "other_trial" / "exclusions.toml")
    text = (ROOT / "models" / "economics.toml").read_text(encoding="utf-8")
    path = tmp_path / "economics.toml"
    path.write_text(text.replace("[value_per_event.s47]", "[value_per_event.exclusions]"),
                    encoding="utf-8")
    assert load_economics(path).values["exclusions"] == load_economics().values["s47"]


# Bad files: each edit of the bundled text and the error it must give (file and field path).
BAD_EDITS = [
    pytest.param("[value_per_event.s47]", "[value_per_event.s48]",
                 "value_per_event: unknown outcome 's48'; known outcomes: "
                 + ", ".join(OUTCOMES), id="unknown-outcome"),
    pytest.param("value = 37500", "value = -37500",
                 "cost_per_school_year.value: Input should be greater than or equal to 0 "
                 "(found -37500)", id="negative-cost"),
    pytest.param("value = 2000\n", "value = -2000\n",
                 "value_per_event.s47.value: Input should be greater than or equal to 0",
                 id="negative-value"),
    pytest.param("grid = [0, 1000, 2000, 5000, 10000, 20000, 30000, 50000]", "grid = []",
                 "willingness_to_pay.grid: Tuple should have at least 1 item", id="empty-grid"),
    pytest.param("grid = [0, 1000, 2000, 5000, 10000, 20000, 30000, 50000]",
                 "grid = [0, 2000, 1000, 10000, 20000]",
                 "willingness_to_pay.grid: Value error, must be strictly increasing; got "
                 "[0.0, 2000.0, 1000.0, 10000.0, 20000.0]", id="unsorted-grid"),
    pytest.param("grid = [0, 1000, 2000, 5000, 10000, 20000, 30000, 50000]",
                 "grid = [-1000, 1000, 10000, 20000]",
                 "willingness_to_pay.grid.0: Input should be greater than or equal to 0",
                 id="negative-grid"),
    pytest.param("grid = [0, 1000, 2000, 5000, 10000, 20000, 30000, 50000]",
                 "grid = [0, 1000, 20000]",
                 "willingness_to_pay.published: Value error, published thresholds [10000.0] are "
                 "not on the grid", id="published-off-grid"),
    pytest.param('value = 2000\nsource = "assumption"\nrationale = ',
                 'value = 2000\nsource = "assumption"\nnote = ',
                 "value_per_event.s47.rationale: Value error, an input whose source is "
                 "'assumption' needs a one-sentence 'rationale'", id="assumption-no-rationale"),
    pytest.param('value = 37500\nsource = "https://www.staffsscb.org.uk/funding-for-social-'
                 'workers-in-schools/"', 'value = 37500\nsource = "  "',
                 "cost_per_school_year.source: Value error, give a citation", id="empty-source"),
    pytest.param("value = 2000\n", "value = 2000\nvalu = 3\n",
                 "unknown key 'valu' in value_per_event.s47; allowed keys: value, source, "
                 "rationale, note", id="unknown-key-in-outcome"),
    pytest.param("[rollout]\n", "[rollout]\nregions = 3\n",
                 "unknown key 'regions' in rollout; allowed keys: schools, horizon_years, "
                 "discount_rate", id="unknown-key"),
    pytest.param("discount_rate = { value = 0.035,", "discount_rate = { value = 1.5,",
                 "rollout.discount_rate.value: Input should be less than 1", id="rate"),
    pytest.param("schools = { value = 160,", "schools = { value = 0,",
                 "rollout.schools.value: Input should be greater than 0", id="no-schools"),
    pytest.param("n_per_arm = [25, 50, 100, 150, 200]", "n_per_arm = [25, 0]",
                 "further_trial.n_per_arm.1: Input should be greater than 0", id="trial-size"),
    pytest.param("stop_prob_meaningful = 0.10", "stop_prob_meaningful = 0.90",
                 "rule: Value error, stop_prob_meaningful (0.9) must be below "
                 "invest_prob_meaningful (0.8)", id="rule"),
    pytest.param("invest_prob_nmb_positive = 0.5", "invest_prob_nmb_positive = 1.5",
                 "rule.invest_prob_nmb_positive: Input should be less than or equal to 1",
                 id="rule-range"),
    pytest.param('currency = "GBP"', 'currency = "pounds"',
                 "currency: String should match pattern", id="currency"),
    pytest.param("\nfixed_cost = {", "\nfixed_costs = {",
                 "2 problems in the economic inputs\n  - missing required key "
                 "'further_trial.fixed_cost'\n  - unknown key 'fixed_costs' in further_trial; "
                 "allowed keys: fixed_cost, cost_per_school, n_per_arm", id="misspelt-key"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_EDITS)
def test_bad_inputs_give_a_specific_error_naming_the_file_and_field(tmp_path: Path, old, new,
                                                                   message):
    text = BUNDLED.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "economics.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_economics(path)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert message in str(caught.value), str(caught.value)


def test_several_problems_are_listed_one_per_line(tmp_path: Path):
    text = BUNDLED.read_text(encoding="utf-8").replace("value = 37500", "value = -1").replace(
        "stop_prob_meaningful = 0.10", "stop_prob_meaningful = 0.95")
    path = tmp_path / "economics.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape(f"{path}: 2 problems in the economic inputs\n"
                                                  "  - cost_per_school_year.value: ")):
        load_economics(path)


def test_missing_or_broken_files(tmp_path: Path):
    with pytest.raises(SpecError, match="no such economic inputs file"):
        load_economics(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("currency = \n", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_economics(broken)


# ----------------------------------------------------------------------------- value for money


def test_per_school_and_mean_pupils():
    from swisbayes.data.io import read_school_data
    from swisbayes.data.simulate import simulate_trial
    from swisbayes.economics.value_for_money import mean_pupils, per_school

    assert per_school(2.5, 1200.0) == 3.0
    np.testing.assert_array_equal(per_school(np.array([1.0, -2.0]), 500.0), [0.5, -1.0])
    data = read_school_data(simulate_trial(3).frame)
    assert mean_pupils(data) == data.frame["pupils"].sum() / len(data.frame)


def test_value_of_the_other_outcomes_by_hand():
    from swisbayes.economics.value_for_money import expected_value_of_others, value_of_others

    valued = {k: AVERTED[k] for k in ("s47", "referrals")}
    np.testing.assert_array_equal(value_of_others(valued, VALUES), 300.0 * AVERTED["referrals"])
    assert expected_value_of_others(valued, VALUES) == 300.0 * 1.25
    np.testing.assert_array_equal(value_of_others({"s47": AVERTED["s47"]}, VALUES), np.zeros(4))
    assert expected_value_of_others({"s47": AVERTED["s47"]}, VALUES) == 0.0


def test_value_for_money_by_hand():
    from swisbayes.economics.value_for_money import value_for_money

    inputs = load_economics(BUNDLED)
    valued = {"s47": AVERTED["s47"], "referrals": AVERTED["referrals"]}
    values = inputs.values
    cost = inputs.cost_per_school_year.value
    nmb = values["s47"] * valued["s47"] + values["referrals"] * valued["referrals"] - cost
    v = value_for_money(valued, inputs)
    assert v.nmb == summarise_net_benefit(nmb)
    assert v.evpi_per_school_year == evpi(nmb)
    assert v.population_evpi == evpi(nmb) * population_scale(inputs)
    grid = inputs.willingness_to_pay.grid
    # per S47 enquiry avoided, at the cost less the value of the averted referrals
    by_hand = [np.mean(w * valued["s47"] - (cost - values["referrals"] * valued["referrals"]) > 0)
               for w in grid]
    np.testing.assert_array_equal(v.ceac, by_hand)
    assert v.ceac_at(grid[2]) == by_hand[2]
    with pytest.raises(SpecError, match="not on the grid"):
        v.ceac_at(grid[2] + 0.5)
    assert json.loads(json.dumps(v.to_dict()))["population_evpi"] == v.population_evpi
    with pytest.raises(SpecError, match="needs draws of 's47'"):
        value_for_money({"referrals": AVERTED["referrals"]}, inputs)


def test_with_value_changes_one_value_and_validates_it():
    inputs = load_economics(BUNDLED)
    high = inputs.with_value("s47", 50_000.0)
    assert high.values == {**inputs.values, "s47": 50_000.0}
    assert high.value_per_event["s47"].is_assumption
    assert "sensitivity" in high.value_per_event["s47"].rationale
    assert inputs.values["s47"] == 2000.0  # the original is untouched
    with pytest.raises(SpecError, match=r"value_per_event\.s47\.value"):
        inputs.with_value("s47", -1.0)


class _Fit:
    """A stand-in for a PriorAnalysis: the draws, weights and decision that value for money
    reads."""

    def __init__(self, control: np.ndarray, swis: np.ndarray, weights: np.ndarray | None,
                 prob_meaningful: float, *, followup_years: float = 2.0,
                 prior: str = "vague") -> None:
        from types import SimpleNamespace

        import xarray as xr

        from swisbayes.priors.library import library_prior

        self.prior = library_prior(prior)
        shape = (1, control.size)
        self.posterior = xr.Dataset({
            "rate_control_per_1000": (("chain", "draw"), control.reshape(shape)),
            "rate_swis_per_1000": (("chain", "draw"), swis.reshape(shape)),
            "irr": (("chain", "draw"), (swis / control).reshape(shape))})
        self.spec = SimpleNamespace(followup_years=followup_years)
        self.weights = weights
        self.reliable = True
        self.decision = SimpleNamespace(mcid=0.1, effect=SimpleNamespace(
            prob_meaningful_reduction=prob_meaningful, mcse=None))

    def draws(self, name: str) -> np.ndarray:
        return self.posterior[name].to_numpy().ravel()


def _outcome(name: str, results: dict):
    from types import SimpleNamespace

    from swisbayes.workflows.multiprior import OutcomeAnalysis

    return OutcomeAnalysis(SimpleNamespace(outcome=name, name=name), results)


def test_prior_economics_pairs_the_outcomes_and_borrows_the_vague_prior():
    from swisbayes.economics.value_for_money import value_for_money
    from swisbayes.workflows.value_for_money import (
        averted_per_school_year,
        control_events_per_school_year,
        paired_draws,
        prior_economics,
        trial_value,
    )

    rng = np.random.default_rng(2)
    n, pupils = 400, 1000.0
    control = rng.normal(60.0, 2.0, n)
    s47 = {"vague": _Fit(control, control * rng.normal(0.95, 0.05, n), None, 0.2),
           "sceptical": _Fit(control, control * rng.normal(0.99, 0.03, n),
                             rng.uniform(0.5, 1.5, n) / (n * 1.0), 0.05, prior="sceptical")}
    referrals = {"vague": _Fit(control * 3, control * 3 * rng.normal(1.0, 0.05, n), None, 0.1)}
    analyses = [_outcome("s47", s47), _outcome("referrals", referrals)]
    inputs = load_economics(BUNDLED)
    pa = s47["vague"]
    # per 1000 pupils over two years -> per school of 1000 pupils per year
    np.testing.assert_allclose(averted_per_school_year(pa, pupils),
                               (pa.draws("rate_control_per_1000")
                                - pa.draws("rate_swis_per_1000")) / 2.0)
    assert control_events_per_school_year(pa, pupils) == pytest.approx(control.mean() / 2.0)
    paired = paired_draws(analyses, "sceptical", list(inputs.values), pupils)
    assert paired.borrowed == ("referrals",)
    assert paired.missing == ("s17", "days_in_care")
    assert {k: a.shape for k, a in paired.averted.items()} == {"s47": (n,), "referrals": (n,)}
    e = prior_economics(analyses, "sceptical", inputs, pupils)
    expected = value_for_money(paired.averted, inputs)
    assert (e.nmb, e.population_evpi) == (expected.nmb, expected.population_evpi)
    np.testing.assert_array_equal(e.ceac, expected.ceac)
    assert (e.borrowed, e.counted, e.missing) == (("referrals",), ("s47", "referrals"),
                                                   ("s17", "days_in_care"))
    assert e.verdict.verdict == "stop"  # P(meaningful) 5% is below the 10% stop threshold
    # the verdict reads the value of further trials under the same prior
    assert e.further.to_dict() == trial_value(analyses, "sceptical", inputs, pupils).to_dict()
    assert e.verdict.worth_more_evidence == e.further.worth_a_trial
    assert e.verdict.prob_nmb_positive == e.nmb.prob_positive
    assert e.verdict.outcome_label == "S47 enquiries"
