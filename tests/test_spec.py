"""Analysis specs: the shipped spec loads, unknown keys and bad values are rejected precisely."""

from __future__ import annotations

import numpy as np
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
    text = PRIMARY_SPEC.read_text().replace('name = "vague"', 'name = "x"\nmean = 0.0\nsigma = 1.0')
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
    swapped = primary_spec.with_effect_prior(-0.1, 0.05, name="keen")
    a, b = prior_values(primary_spec), prior_values(swapped)
    np.testing.assert_allclose(b["effect_prior_means"], [-0.1] * 4)
    np.testing.assert_allclose(b["effect_prior_sds"], [0.05] * 4)
    np.testing.assert_allclose(b["effect_prior_weights"], [0.25] * 4)
    assert {k for k in a if not np.array_equal(a[k], b[k])} == {
        "effect_prior_means", "effect_prior_sds"}
    assert swapped.effect_prior.name == "keen"
    assert primary_spec.effect_prior.name == "vague"  # the original is unchanged


def test_library_priors_by_name_and_custom_forms(tmp_path, primary_spec):
    assert str(primary_spec.effect_prior) == (
        "vague: NormalMixture(w=[1], mu=[0], sigma=[10]) on log IRR")
    sceptical = primary_spec.with_prior("sceptical").effect_prior
    assert sceptical.prob_irr_below(0.85) == pytest.approx(0.05, abs=1e-12)
    text = PRIMARY_SPEC.read_text().replace(
        'name = "vague"', 'name = "pilot-ish"\nweights = [0.8, 0.2]\nmeans = [-0.2, 0.0]\n'
                          'sds = [0.1, 10.0]\nsource = "assumption: test"')
    mixture = load_spec(_write(tmp_path, text)).effect_prior
    assert (mixture.weights, mixture.means, mixture.sds) == ((0.8, 0.2), (-0.2, 0.0),
                                                             (0.1, 10.0))
    assert mixture.provenance == "assumption: test"


def test_bad_prior_entries_are_rejected_precisely(tmp_path):
    unknown = PRIMARY_SPEC.read_text().replace('name = "vague"', 'name = "hopeful"')
    with pytest.raises(SpecError, match=r"unknown prior 'hopeful'; valid names: vague, "
                                        r"sceptical, enthusiastic, pessimistic, pilot-informed, "
                                        r"neutral-strong"):
        load_spec(_write(tmp_path, unknown))
    half = PRIMARY_SPEC.read_text().replace('name = "vague"', 'name = "x"\nmean = 0.1')
    with pytest.raises(SpecError, match="a normal prior needs both 'mean' and 'sd'"):
        load_spec(_write(tmp_path, half))
    bad_weights = PRIMARY_SPEC.read_text().replace(
        'name = "vague"', 'name = "x"\nweights = [0.5, 0.4]\nmeans = [0, 0]\nsds = [1, 1]')
    with pytest.raises(SpecError, match=r"weights must sum to 1; they sum to 0\.9"):
        load_spec(_write(tmp_path, bad_weights))


def test_sampler_override_is_validated(primary_spec):
    assert primary_spec.with_sampler(seed=7).sampler.seed == 7
    with pytest.raises(SpecError, match="chains: Input should be greater than or equal to 1"):
        primary_spec.with_sampler(chains=0)
