"""Analysis specs: the shipped spec loads, unknown keys and bad values are rejected precisely."""

from __future__ import annotations

import pytest

from swisbayes import SpecError, load_spec
from swisbayes.model import prior_values

from .conftest import PRIMARY_SPEC


def test_primary_spec_loads_with_its_stated_values(primary_spec):
    assert primary_spec.outcome == "s47"
    assert primary_spec.family == "negative_binomial"
    assert primary_spec.decision.mcid == 0.10
    assert primary_spec.decision.mcid_source == "assumption"
    assert primary_spec.covariates == ("fsm_pct",)
    assert primary_spec.hierarchy.la_varying_effect is True
    assert primary_spec.followup_years == pytest.approx(23 / 12, abs=1e-3)


def _write(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_unknown_keys_are_named_with_the_allowed_ones(tmp_path):
    text = PRIMARY_SPEC.read_text().replace("la_intercepts", "la_intercept")
    text = text.replace("[sampler]", "[sampler]\nthin = 2")
    text = "colour = 'red'\n" + text
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    message = str(info.value)
    assert "3 problem(s)" in message
    assert "unknown key 'la_intercept' in hierarchy; allowed keys: la_intercepts, " \
           "la_varying_effect" in message
    assert "unknown key 'thin' in sampler; allowed keys: backend, draws, tune, chains, cores, " \
           "target_accept, seed" in message
    assert "unknown key 'colour' in the top level; allowed keys: name, title, outcome" in message


def test_nested_unknown_key_in_prior_lists_prior_fields(tmp_path):
    text = PRIMARY_SPEC.read_text().replace("mean = 0.0\nsd = 1.0", "mean = 0.0\nsigma = 1.0")
    with pytest.raises(SpecError, match=r"unknown key 'sigma' in priors\.effect; allowed keys: "
                                        r"name, description, source, mean, sd"):
        load_spec(_write(tmp_path, text))


def test_bad_values_are_reported_with_the_value_found(tmp_path):
    text = PRIMARY_SPEC.read_text().replace('outcome = "s47"', 'outcome = "s48"')
    text = text.replace("mcid = 0.10", "mcid = 1.5")
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    message = str(info.value)
    assert "unknown count outcome 's48'; expected one of s47, referrals, s17, care_entry" in message
    assert "decision.mcid: Input should be less than 1 (found 1.5)" in message


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "absent.toml")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(_write(tmp_path, "name = "))


def test_prior_swap_changes_only_the_effect_prior(primary_spec):
    swapped = primary_spec.with_effect_prior(-0.1, 0.05, name="enthusiastic")
    a, b = prior_values(primary_spec), prior_values(swapped)
    assert (float(b["effect_prior_mean"]), float(b["effect_prior_sd"])) == (-0.1, 0.05)
    assert {k for k in a if a[k] != b[k]} == {"effect_prior_mean", "effect_prior_sd"}
    assert swapped.priors.effect.name == "enthusiastic"
    assert primary_spec.priors.effect.name == "vague"  # the original is unchanged


def test_sampler_override_is_validated(primary_spec):
    assert primary_spec.with_sampler(seed=7).sampler.seed == 7
    with pytest.raises(SpecError, match="chains: Input should be greater than or equal to 1"):
        primary_spec.with_sampler(chains=0)
