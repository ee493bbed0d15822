"""Analysis specs: the shipped spec loads, unknown keys and bad values are rejected precisely."""

from __future__ import annotations

import numpy as np
import pytest

from swisbayes import SpecError, load_spec
from swisbayes.families.common import prior_values

from .conftest import PRIMARY_SPEC, ROOT


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
    assert ("unknown outcome 's48'; expected one of s47, referrals, s17, care_entry, "
            "days_in_care, attendance") in message
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


# --- days in care and attendance -------------------------------------------------------------

DAYS_SPEC = ROOT / "models" / "days_in_care.toml"
ATTENDANCE_SPEC = ROOT / "models" / "attendance.toml"


def test_shipped_non_count_specs_load_with_their_stated_values():
    days = load_spec(DAYS_SPEC)
    assert (days.outcome, days.family) == ("days_in_care", "hurdle_negative_binomial")
    assert days.priors.hyper.intercept_mean == -6.0
    assert days.priors.hyper.positive.intercept_mean == -1.0
    assert days.priors.hyper.positive.inv_sqrt_dispersion.scale == 1.0
    assert days.decision.mcid_pp is None
    attendance = load_spec(ATTENDANCE_SPEC)
    assert (attendance.outcome, attendance.family) == ("attendance", "beta_binomial")
    assert attendance.followup_years == 1.0
    assert attendance.priors.hyper.intercept_mean == -2.6
    assert attendance.priors.hyper.inv_sqrt_concentration.scale == 0.2
    assert attendance.decision.mcid_pp == 0.5


@pytest.mark.parametrize(("outcome", "family", "expected"), [
    ("s47", "hurdle_negative_binomial", "negative_binomial or poisson"),
    ("care_entry", "beta_binomial", "negative_binomial or poisson"),
    ("attendance", "negative_binomial", "beta_binomial"),
    ("days_in_care", "poisson", "hurdle_negative_binomial"),
])
def test_family_must_fit_the_outcome(tmp_path, outcome, family, expected):
    text = f'name = "x"\noutcome = "{outcome}"\nfamily = "{family}"\n'
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    message = str(info.value)
    assert f"family: Value error, family '{family}' does not fit outcome '{outcome}'" in message
    assert f"expected {expected} (found '{family}')" in message


def test_unknown_family_lists_every_family(tmp_path):
    with pytest.raises(SpecError, match="'negative_binomial', 'poisson', "
                                        "'hurdle_negative_binomial' or 'beta_binomial'"):
        load_spec(_write(tmp_path, 'name = "x"\noutcome = "attendance"\nfamily = "beta"\n'))


def test_non_count_outcomes_get_their_own_defaults(tmp_path):
    attendance = load_spec(_write(tmp_path, 'name = "x"\noutcome = "attendance"\n'))
    assert attendance.family == "beta_binomial"
    assert attendance.followup_years == 1.0
    assert (attendance.priors.hyper.intercept_mean, attendance.priors.hyper.intercept_sd) == (
        -2.6, 1.0)
    assert attendance.decision.mcid_pp == 0.5
    days = load_spec(_write(tmp_path, 'name = "x"\noutcome = "days_in_care"\n'
                                      '[priors.hyper]\nintercept_sd = 3.0\n'))
    assert days.family == "hurdle_negative_binomial"
    assert (days.priors.hyper.intercept_mean, days.priors.hyper.intercept_sd) == (-6.0, 3.0)
    assert days.followup_years == pytest.approx(23 / 12)
    counts = load_spec(_write(tmp_path, 'name = "x"\noutcome = "s17"\n'))
    assert counts.family == "negative_binomial"
    assert counts.priors.hyper.intercept_mean == -4.0
    assert counts.decision.mcid_pp is None


def test_mcid_in_points_is_only_for_attendance(tmp_path):
    text = PRIMARY_SPEC.read_text().replace("mcid = 0.10", "mcid = 0.10\nmcid_pp = 0.5")
    with pytest.raises(SpecError, match=r"decision: Value error, mcid_pp \(a difference in "
                                        r"percentage points of absence\) applies only to the "
                                        r"attendance outcome, not 's47'"):
        load_spec(_write(tmp_path, text))
    bad = ATTENDANCE_SPEC.read_text().replace("mcid_pp = 0.5", "mcid_pp = -1")
    with pytest.raises(SpecError, match=r"decision.mcid_pp: Input should be greater than 0"):
        load_spec(_write(tmp_path, bad))


def test_new_tables_keep_closed_key_sets(tmp_path):
    text = DAYS_SPEC.read_text().replace("[priors.hyper.positive]",
                                         "[priors.hyper.positive]\ninv_sqrt_dispersal = 1.0")
    text = text.replace("[decision]", "[decision]\nmcid_points = 0.5")
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    message = str(info.value)
    assert "unknown key 'inv_sqrt_dispersal' in priors.hyper.positive; allowed keys: " \
           "intercept_mean, intercept_sd, inv_sqrt_dispersion" in message
    assert "unknown key 'mcid_points' in decision; allowed keys: mcid, mcid_source, " \
           "mcid_rationale, mcid_pp" in message


def test_a_mistyped_prior_name_is_a_spec_error_naming_the_field():
    spec = load_spec("s47_primary")
    with pytest.raises(SpecError,
                       match=r"(?s)priors\.effect.*unknown prior 'sceptcal'; valid names: vague"):
        spec.with_prior("sceptcal")
