"""Model structure: dims, coords, finite log density, prior parameters as swappable data."""

from __future__ import annotations

import numpy as np
import pytest

from swisbayes.data.io import read_school_data
from swisbayes.families.common import prior_values
from swisbayes.families.registry import build_model


@pytest.fixture(scope="module")
def school_data():
    import swisbayes

    return read_school_data(swisbayes.load_example(), outcomes=["s47"], covariates=["fsm_pct"])


def test_model_has_named_dims_and_finite_logp(primary_spec, school_data):
    build = build_model(primary_spec, school_data)
    model = build.model
    assert len(model.coords["la"]) == 21
    assert len(model.coords["school"]) == 268
    assert list(model.coords["covariate"]) == ["baseline_log_rate", "log_pupils", "fsm_pct"]
    assert model.named_vars_to_dims["z_la"] == ("la",)
    assert model.named_vars_to_dims["la_log_irr"] == ("la",)
    # evaluated once, so not compiled to machine code (a cold numba compile of the model)
    logp = model.compile_logp(mode="FAST_COMPILE")(model.initial_point())
    assert np.isfinite(logp)
    assert {"irr", "irr_new_la", "rate_control_per_1000", "rate_swis_per_1000"} <= set(
        model.named_vars)


def test_every_prior_parameter_is_model_data(primary_spec, school_data):
    build = build_model(primary_spec, school_data)
    for name, value in prior_values(primary_spec).items():
        assert name in build.model.named_vars
        np.testing.assert_array_equal(build.model[name].get_value(), value)


def test_structure_key_ignores_priors_but_not_hierarchy(primary_spec, school_data):
    a = build_model(primary_spec, school_data).structure_key
    b = build_model(primary_spec.with_effect_prior(-0.2, 0.1), school_data).structure_key
    assert a == b
    flat = primary_spec.model_copy(update={"hierarchy": primary_spec.hierarchy.model_copy(
        update={"la_varying_effect": False})})
    built = build_model(flat, school_data)
    assert built.structure_key != a
    assert "irr_new_la" in built.model.named_vars  # equals the average effect without LA variation
    assert "w_la" not in built.model.named_vars


def test_baseline_enters_as_standardised_log_rate(primary_spec, school_data):
    build = build_model(primary_spec, school_data)
    x = build.data_values["X"][:, 0]
    frame = school_data.frame
    raw = np.log((frame["s47_baseline"].to_numpy() + 0.5) / frame["pupils"].to_numpy())
    np.testing.assert_allclose(x, (raw - raw.mean()) / raw.std())


def test_switched_off_levels_leave_their_data_out_of_the_swap(primary_spec, school_data):
    # nutpie's with_data refuses names the compiled graph does not read
    flat = primary_spec.model_copy(update={"hierarchy": primary_spec.hierarchy.model_copy(
        update={"la_intercepts": False, "la_varying_effect": False})})
    values = build_model(flat, school_data).data_values
    assert "la_idx" not in values
    assert "sigma_la_prior_scale" not in values
    assert "effect_prior_means" in values
    assert "la_idx" in build_model(primary_spec, school_data).data_values
