"""Pupil-level data: the model of the reduced cells is the model of the pupil rows, and it
contains the school-level model, so pupil data are never less precise than their school totals.

The reduction is exact, so fitting the cells must give the posterior of fitting every pupil as
its own cell: the two log densities differ by a constant. The pupil-level model keeps every
school-level column of the school model (the school's baseline rate beside the pupil's own
baseline), so with its pupil-level coefficients at zero its density is the school model's plus
a constant; fitted to a trial whose pupil baselines say nothing beyond their school's rate, it
gives the school-level posterior, and where they do say more, a posterior at least as precise.
"""

from __future__ import annotations

import dataclasses

import arviz as az
import numpy as np
import pytest
from scipy.special import gammaln

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import Assumption, TrialDesign, simulate_pupils
from swisbayes.families import likelihoods
from swisbayes.families.common import pupil_design_columns, school_design_columns
from swisbayes.families.registry import build_model

TRUE_IRR = 0.85


@pytest.fixture(scope="module")
def pupil_spec(primary_spec):
    adjustment = primary_spec.adjustment.model_copy(update={"covariates": ("fsm", "sen")})
    return primary_spec.model_copy(update={"adjustment": adjustment})


@pytest.fixture(scope="module")
def reduced(pupil_spec):
    trial = simulate_pupils(7, irr={"s47": TRUE_IRR}, design=TrialDesign(total_pupils=20_000))
    return read_school_data(trial.frame, outcomes=["s47"], covariates=pupil_spec.covariates)


def as_rows(data):
    """The same data with every pupil as its own cell (no reduction)."""
    rows = data.pupil_rows.assign(pupils=1.0)
    columns = [c for c in data.cells.columns if c in rows.columns]
    return dataclasses.replace(data, cells=rows[columns].reset_index(drop=True))


def as_school_totals(data):
    """The school-level data the pupil file reduces to (its exact aggregate)."""
    return dataclasses.replace(data, cells=None, level="school", pupil_rows=None)


def jittered_points(model, n, seed, **fixed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        point = {name: value + rng.normal(0, 0.3, np.shape(value))
                 for name, value in model.initial_point().items()}
        yield point | fixed


def test_reduced_cells_are_far_fewer_than_rows(reduced):
    assert reduced.level == "pupil"
    assert reduced.n_rows == 20_000
    assert len(reduced.cells) < 20_000 / 10
    assert reduced.cells["pupils"].sum() == 20_000


def test_pupil_model_keeps_the_school_columns_beside_the_pupil_columns(pupil_spec, reduced):
    pupil = build_model(pupil_spec, reduced)
    school = build_model(pupil_spec, as_school_totals(reduced))
    school_columns = ["baseline_log_rate", "log_pupils", "fsm", "sen"]
    assert list(school.coords["covariate"]) == school_columns
    assert list(pupil.coords["covariate"]) == [*school_columns, "pupil_baseline_log_rate",
                                               "pupil_fsm", "pupil_sen"]
    # the very same school-level columns (the contextual effects), school by school
    np.testing.assert_array_equal(pupil.data_values["X"], school.data_values["X"])
    frame = reduced.frame
    raw = np.log((frame["s47_baseline"] + 0.5) / frame["pupils"]).to_numpy()
    np.testing.assert_allclose(pupil.data_values["X"][:, 0], (raw - raw.mean()) / raw.std())
    # pupil columns are those of the pupil rows, standardised over pupils
    own = pupil_design_columns(pupil_spec, reduced)["pupil_baseline_log_rate"]
    rows = np.log(reduced.pupil_rows["s47_baseline"].to_numpy() + 0.5)
    pupils = reduced.cells["pupils"].to_numpy()
    np.testing.assert_allclose(np.repeat(own, pupils).mean(), 0, atol=1e-12)
    np.testing.assert_allclose(np.sort(np.repeat(own, pupils)),
                               np.sort((rows - rows.mean()) / rows.std()))
    # the structure is that of a school model: data per school, plus a few pupil patterns
    assert pupil.model["y_obs"].shape.eval()[0] == len(frame)
    assert len(pupil.coords["pattern"]) < len(reduced.cells) / 5


def test_a_covariate_constant_within_schools_is_school_level_only(primary_spec, reduced):
    spec = primary_spec.model_copy(update={"adjustment": primary_spec.adjustment.model_copy(
        update={"covariates": ("fsm_pct",)})})
    data = read_school_data(reduced, outcomes=["s47"], covariates=["fsm_pct"])
    assert list(pupil_design_columns(spec, data)) == ["pupil_baseline_log_rate"]
    assert list(school_design_columns(spec, data.frame)) == ["baseline_log_rate", "log_pupils",
                                                             "fsm_pct"]


def test_reduced_and_row_level_log_densities_differ_by_a_constant(pupil_spec, reduced):
    rows_data = as_rows(reduced)
    assert len(rows_data.cells) == 20_000
    cells = build_model(pupil_spec, reduced).model
    rows = build_model(pupil_spec, rows_data).model
    # a few points each: evaluated without compiling the models to machine code
    logp_cells, logp_rows = (m.compile_logp(mode="FAST_COMPILE") for m in (cells, rows))
    differences = [logp_rows(point) - logp_cells(point)
                   for point in jittered_points(cells, 5, seed=11)]
    # the constant is the split of each cell's count over its pupils: no parameter in it
    np.testing.assert_allclose(differences, differences[0], rtol=0, atol=1e-7)


@pytest.mark.parametrize("dense", [True, False])
def test_pupil_density_is_the_cell_by_cell_negative_multinomial(pupil_spec, reduced,
                                                                monkeypatch, dense):
    # Each school's density, recomputed cell by cell in NumPy from the parameter values:
    # cell means E_c exp(eta_j + v_c' theta), a gamma frailty shared by the school's cells.
    if not dense:  # the per-cell path used when there are many distinct pupil patterns
        monkeypatch.setattr(likelihoods, "DENSE_PATTERN_FACTOR", 0)
    build = build_model(pupil_spec, reduced)
    assert ("pattern_pupils" in build.data_values) is dense
    model = build.model
    names = ["intercept", "coef", "sigma_la", "z_la", "log_irr", "sigma_la_effect", "w_la",
             "inv_sqrt_dispersion"]
    params = model.compile_fn(model.replace_rvs_by_values([model[n] for n in names]),
                              inputs=model.value_vars, on_unused_input="ignore",
                              mode="FAST_COMPILE")
    density = model.compile_fn(model.logp(vars=[model["y_obs"]], sum=False)[0],
                               inputs=model.value_vars, on_unused_input="ignore",
                               mode="FAST_COMPILE")
    frame, cells = reduced.frame, reduced.cells
    school = frame["school_id"].searchsorted(cells["school_id"])
    la = np.unique(frame["la_id"], return_inverse=True)[1]
    x_school = np.column_stack(list(school_design_columns(pupil_spec, frame).values()))
    x_pupil = np.column_stack(list(pupil_design_columns(pupil_spec, reduced).values()))
    y, pupils = cells["s47"].to_numpy(), cells["pupils"].to_numpy(float)
    for point in jittered_points(model, 3, seed=5):
        p = dict(zip(names, params(point), strict=True))
        k = x_school.shape[1]
        eta = (p["intercept"] + x_school @ p["coef"][:k] + p["sigma_la"] * p["z_la"][la]
               + (p["log_irr"] + p["sigma_la_effect"] * p["w_la"][la]) * frame["arm"])
        log_mu = np.log(pupils) + eta.to_numpy()[school] + x_pupil @ p["coef"][k:]
        phi = 1 / p["inv_sqrt_dispersion"] ** 2
        total_y = np.bincount(school, y)
        total_mu = np.bincount(school, np.exp(log_mu))
        expected = (gammaln(total_y + phi) - gammaln(phi) - np.bincount(school, gammaln(y + 1))
                    + phi * np.log(phi) + np.bincount(school, y * log_mu)
                    - (phi + total_y) * np.log(phi + total_mu))
        np.testing.assert_allclose(density(point), expected, rtol=1e-10)


def test_pupil_model_with_pupil_coefficients_at_zero_is_the_school_model(pupil_spec, reduced):
    pupil = build_model(pupil_spec, reduced).model
    school = build_model(pupil_spec, as_school_totals(reduced)).model
    logp_pupil, logp_school = (m.compile_logp(mode="FAST_COMPILE") for m in (pupil, school))
    n_school = len(school.coords["covariate"])
    differences = []
    for point in jittered_points(school, 5, seed=3):
        at_zero = point | {"coef": np.r_[point["coef"], np.zeros(3)]}
        differences.append(logp_pupil(at_zero) - logp_school(point))
    assert n_school == 4
    # the multinomial split of each school's total over its cells, and the priors of the
    # three pupil coefficients at zero: no school-level parameter in it
    np.testing.assert_allclose(differences, differences[0], rtol=0, atol=1e-7)


@pytest.mark.slow
def test_reduced_fit_equals_row_level_fit(pupil_spec, reduced):
    spec = pupil_spec.with_sampler(seed=5)
    reduced_fit = swisbayes.fit(spec, reduced, raise_on_failure=True)
    row_fit = swisbayes.fit(spec, as_rows(reduced), raise_on_failure=True)
    summaries = [r.summary().loc["log_irr"] for r in (reduced_fit, row_fit)]
    mcse = np.hypot(summaries[0]["mcse_mean"], summaries[1]["mcse_mean"])
    assert abs(summaries[0]["mean"] - summaries[1]["mean"]) < 4 * mcse
    assert abs(summaries[0]["sd"] / summaries[1]["sd"] - 1) < 0.08
    lo, hi = reduced_fit.decision.typical_la.ci
    assert lo < TRUE_IRR < hi


# --- pupil data against their exact school aggregate, same spec -------------------------------

PRECISION_DRAWS = 4000
"""Draws per chain (4 chains): each 95% limit then has an MCSE of about 0.7% of the width."""


def _uninformative():
    # Schools differ persistently (SD 0.5 on the log scale, in both years); a pupil's own
    # baseline, FSM and SEN carry no information about the follow-up beyond the school's rate.
    zero = Assumption(0.0, "test", "pupil baselines uninformative beyond the school rate")
    return {"pupil_baseline_log_rate": zero, "pupil_fsm_log_rate": zero,
            "pupil_sen_log_rate": zero,
            "persistent_school_log_rate_sd": Assumption(0.5, "test", "school rates persist")}


def _pupil_and_school_fits(primary_spec, assumptions, seed):
    trial = simulate_pupils(seed, irr={"s47": 0.9}, assumptions=assumptions)
    spec = primary_spec.model_copy(update={"adjustment": primary_spec.adjustment.model_copy(
        update={"covariates": ()})}).with_sampler(draws=PRECISION_DRAWS, seed=20231)
    pupils = read_school_data(trial.frame, outcomes=["s47"])
    schools = read_school_data(pupils.frame.copy(), outcomes=["s47"])
    assert (pupils.level, schools.level) == ("pupil", "school")
    return [swisbayes.fit(spec, data, raise_on_failure=True) for data in (pupils, schools)]


def _interval(fit):
    """95% interval of the IRR, its width, median, and the MCSEs of width and median."""
    irr = fit.idata["posterior"]["irr"]
    lo, hi = fit.decision.typical_la.ci
    mcse = {q: float(az.mcse(irr, method="quantile", prob=q)) for q in (0.025, 0.5, 0.975)}
    return {"width": hi - lo, "median": fit.decision.typical_la.median,
            "width_mcse": float(np.hypot(mcse[0.025], mcse[0.975])), "median_mcse": mcse[0.5]}


def _pupil_coefficient(fit):
    return fit.idata["posterior"]["coef"].sel(covariate="pupil_baseline_log_rate")


def _assert_at_least_as_precise(pupil, school):
    # 3 combined MCSEs: a pupil interval really wider than the school's by more than that
    # fails; equal widths pass but with probability ~0.1% (the MCSEs are estimates too).
    tolerance = 3 * np.hypot(pupil["width_mcse"], school["width_mcse"])
    assert tolerance < 0.08 * school["width"], tolerance  # the check can see an 8% difference
    assert pupil["width"] <= school["width"] + tolerance, (pupil, school)


@pytest.mark.slow
def test_pupil_fit_equals_school_fit_when_pupil_baselines_add_nothing(primary_spec):
    pupil_fit, school_fit = _pupil_and_school_fits(primary_spec, _uninformative(), seed=31)
    pupil, school = _interval(pupil_fit), _interval(school_fit)
    print(f"95% IRR interval width: pupil {pupil['width']:.4f}, school {school['width']:.4f}")
    _assert_at_least_as_precise(pupil, school)
    # and no more precise either: the same posterior (a pupil model adjusting only for the
    # pupil's own baseline gave an interval ~25% wider here)
    tolerance = 3 * np.hypot(pupil["width_mcse"], school["width_mcse"])
    assert pupil["width"] >= school["width"] - tolerance, (pupil, school)
    assert abs(pupil["median"] - school["median"]) <= 3 * np.hypot(pupil["median_mcse"],
                                                                   school["median_mcse"])
    own = _pupil_coefficient(pupil_fit)
    assert abs(float(own.mean())) < 3 * float(own.std())  # the data find no pupil-level effect


@pytest.mark.slow
def test_pupil_fit_is_at_least_as_precise_when_pupil_baselines_inform(primary_spec):
    # The simulator's defaults: a pupil's own baseline events raise its follow-up rate.
    pupil_fit, school_fit = _pupil_and_school_fits(primary_spec, {}, seed=32)
    pupil, school = _interval(pupil_fit), _interval(school_fit)
    print(f"95% IRR interval width: pupil {pupil['width']:.4f}, school {school['width']:.4f}")
    _assert_at_least_as_precise(pupil, school)
    own = _pupil_coefficient(pupil_fit)
    assert float(own.mean()) > 5 * float(own.std())  # the pupil baselines are informative
