"""The What if? panel's Python side on a made-up payload: its settings, and answers that follow
the library (a prior by reweighting, the MCID, the values and the rule). The page itself is held
to :func:`~swisbayes.report.whatif.answer` in ``test_whatif_browser.py``."""

from __future__ import annotations

import base64
import json
import math
import re
from statistics import NormalDist

import numpy as np
import pytest

from swisbayes._base.errors import SpecError
from swisbayes.decision.rule import DecisionRule
from swisbayes.economics.net_benefit import load_economics, population_scale
from swisbayes.priors.library import library_prior
from swisbayes.report.whatif import (
    _encode,
    answer,
    page_assets,
    parse_settings,
    setting_keys,
    settings_fragment,
)

CHAINS, DRAWS = 4, 500
LIKELIHOOD = (-0.03, 0.05)
"""The made-up trial's normal likelihood of the log ratio."""


def _mixture(prior) -> dict:
    return {"w": list(prior.weights), "m": list(prior.means), "s": list(prior.sds)}


@pytest.fixture(scope="module")
def payload() -> dict:
    """A payload as :func:`whatif_payload` writes it, with draws from a normal likelihood
    under a flat prior: S47 (a ratio, valued, the primary outcome) and absence (in points)."""
    rng = np.random.default_rng(20240601)
    n = CHAINS * DRAWS
    log_irr = rng.normal(*LIKELIHOOD, n)
    control = rng.normal(40.0, 2.0, n)  # events per 1000 pupils over the follow-up
    s47 = {"log_irr": log_irr, "rate_control_per_1000": control,
           "rate_swis_per_1000": control * np.exp(log_irr)}
    absence = {"log_irr": rng.normal(0.0, 0.02, n), "diff_pp": rng.normal(-0.1, 0.2, n)}
    priors = {name: _mixture(library_prior(name)) for name in ("vague", "sceptical")}
    economics = load_economics()
    rule = economics.decision_rule
    outcome = {"effect_vars": ["log_irr"], "base_prior": priors["vague"], "priors": priors,
               "pilots": None, "reliable": True}
    further = economics.further_trial
    return {
        "version": 1, "primary": "s47", "chains": CHAINS, "draws": DRAWS, "thin": 1,
        "ci_prob": 0.95, "max_khat": 0.7, "min_ess": 400.0, "pupils_per_school": 1000.0,
        "outcomes": [
            {**outcome, "key": "s47", "label": "S47", "headline": "ratio",
             "followup_years": 2.0, "draws": {k: _encode(v) for k, v in s47.items()},
             "mcid": 0.1, "mcid_pp": None, "decimals": None},
            {**outcome, "key": "attendance", "label": "Absence", "headline": "points",
             "followup_years": 1.0, "draws": {k: _encode(v) for k, v in absence.items()},
             "mcid": 0.1, "mcid_pp": 0.5, "decimals": 2}],
        "valued": ["s47"], "prior_names": ["vague", "sceptical"],
        "economics": {"inputs": economics.to_dict(), "currency": "GBP",
                      "population_scale": population_scale(economics),
                      "trial_n": list(further.n_per_arm),
                      "trial_cost": [float(c) for c in further.cost(np.array(
                          further.n_per_arm))],
                      "unit_sd": 0.417, "likelihood": list(LIKELIHOOD)},
        "defaults": {"prior": "vague", "pilot_weight": None, "centre": 1.0, "sd": 0.1,
                     "mcid": 0.1, "mcid_pp": 0.5, "value_s47": 2000.0, "cost": 37500.0,
                     "invest": rule.invest, "stop": rule.stop, "invest_nmb": rule.invest_nmb},
    }


def _s47(payload: dict) -> dict[str, np.ndarray]:
    return {k: np.frombuffer(base64.b64decode(v), "<f8")
            for k, v in payload["outcomes"][0]["draws"].items()}


def _ratio(payload: dict) -> np.ndarray:
    draws = _s47(payload)
    return draws["rate_swis_per_1000"] / draws["rate_control_per_1000"]


def test_the_vague_prior_reads_the_draws_as_they_are(payload):
    a = answer(payload)
    ratio = _ratio(payload)
    assert a["median.s47"] == np.median(ratio)
    assert a["p_meaningful.s47"] == np.mean(ratio < 0.9)
    assert a["p_any.s47"] == np.mean(ratio < 1.0)
    assert a["p_harm.s47"] == np.mean(ratio > 1.0)
    assert (a["ci_low.s47"], a["ci_high.s47"]) == tuple(np.quantile(ratio, [0.025, 0.975]))
    assert a["ess.s47"] == CHAINS * DRAWS
    assert a["khat.s47"] is None
    assert a["trusted.s47"]
    # per 1000 pupils a year (a follow-up of 2 years), per school of 1000 pupils
    averted = _s47(payload)["rate_control_per_1000"] / 2.0 * (1 - ratio)
    assert a["nmb_mean"] == pytest.approx(2000.0 * averted.mean() - 37500.0, rel=1e-12)
    assert a["verdict"] == DecisionRule().verdict(a["p_meaningful.s47"], a["p_nmb_positive"],
                                                  worth_more_evidence=a["worth_a_trial"])


def test_another_prior_gives_the_conjugate_posterior(payload):
    """Reweighting draws of a normal likelihood to a normal prior gives the exact normal
    posterior, to Monte Carlo error."""
    centre, sd = 0.9, 0.04
    a = answer(payload, f"centre={centre}&sd={sd}")
    y, se = LIKELIHOOD
    precision = 1 / sd**2 + 1 / se**2
    mean = (math.log(centre) / sd**2 + y / se**2) / precision
    post = NormalDist(mean, precision**-0.5)
    assert a["trusted.s47"]
    assert a["khat.s47"] < 0.7
    assert a["ess.s47"] < CHAINS * DRAWS
    assert a["median.s47"] == pytest.approx(math.exp(mean), abs=0.005)
    assert a["p_meaningful.s47"] == pytest.approx(post.cdf(math.log(0.9)), abs=0.03)
    assert a["p_any.s47"] == pytest.approx(post.cdf(0.0), abs=0.03)


def test_a_prior_the_draws_cannot_answer_gets_no_verdict(payload):
    a = answer(payload, "centre=0.5&sd=0.005")  # far from every draw: a few carry all weight
    assert not a["trusted.s47"]
    assert a["ess.s47"] < 400
    assert a["verdict"] is None


def test_the_mcid_of_ratios_and_of_points_are_separate_controls(payload):
    base = answer(payload)
    a = answer(payload, "mcid=0.3&mcid_pp=0.05")
    assert a["p_meaningful.s47"] == np.mean(_ratio(payload) < 0.7) < base["p_meaningful.s47"]
    assert a["p_meaningful.attendance"] > base["p_meaningful.attendance"]
    assert a["median.attendance"] == base["median.attendance"]


def test_the_value_of_an_averted_event_moves_the_net_benefit_linearly(payload):
    base, more = answer(payload), answer(payload, "value_s47=5000&cost=25000")
    averted = (base["nmb_mean"] + 37500.0) / 2000.0
    assert more["nmb_mean"] == pytest.approx(5000.0 * averted - 25000.0, rel=1e-9)
    assert more["p_nmb_positive"] >= base["p_nmb_positive"]


def test_the_rule_thresholds_decide_the_verdict(payload):
    a = answer(payload, "invest=0.01&stop=0&invest_nmb=0")
    assert a["verdict"] == "invest"


@pytest.mark.parametrize(("fragment", "message"), [
    ("#mcid=1.5", "mcid=1.5 is out of range"),
    ("#prior=nonsense", "prior=nonsense is not a prior of this page"),
    ("#colour=red", "'colour' is not a setting of this page"),
    ("#mcid=0.2&mcid=0.3", "'mcid' is given twice"),
    ("#mcid=abc", "mcid=abc is not a number"),
    ("#cost=-1", "cost=-1 is out of range"),
    ("#prior=sceptical&centre=0.9", "centre sets a custom normal prior, but prior=sceptical"),
    ("#stop=0.9", "stop=0.9 must be below invest=0.8"),
    ("#pilot_weight=0.5", "'pilot_weight' is not a setting of this page"),  # no pilots here
    ("#mcid", "'mcid' is not a setting: expected key=value"),
])
def test_a_bad_setting_is_refused_in_plain_words(payload, fragment, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_settings(payload, fragment)


def test_settings_round_trip_through_the_fragment(payload):
    assert parse_settings(payload, "") == parse_settings(payload, "#")
    assert settings_fragment(payload, parse_settings(payload, "")) == "#"
    for text in ("#prior=sceptical&mcid=0.2&value_s47=5000", "#centre=0.85&sd=0.1",
                 "#prior=custom&centre=1.1&sd=0.3&cost=25000&invest=0.9&stop=0.05"):
        settings = parse_settings(payload, text)
        again = settings_fragment(payload, settings)
        assert parse_settings(payload, again) == settings
    assert parse_settings(payload, "#centre=0.85&sd=0.1")["prior"] == "custom"
    assert setting_keys(payload) == [k for k in payload["defaults"] if k != "pilot_weight"]


def test_the_page_parts_are_inert_and_offline(payload):
    assets = page_assets(payload)
    assert "<" not in assets["data"]
    assert json.loads(assets["data"]) == payload
    for part in (assets["script"], assets["style"]):
        assert "</" not in part
        assert not re.search(r"https?://|fetch\(|XMLHttpRequest|WebSocket|import\(|@import",
                             part)
