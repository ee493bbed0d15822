"""Joint analysis: joint probabilities, the joint model's pieces, and fits with known truth."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from pymc.initial_point import make_initial_point_fn
from scipy import stats

import swisbayes
from swisbayes import SpecError, fit
from swisbayes._base.config import read_toml
from swisbayes.data.simulate import simulate_trial
from swisbayes.decision.joint import INDEPENDENCE_METHOD, JOINT_METHOD, prob_all_below
from swisbayes.families import batched_linalg
from swisbayes.families.joint import (
    _cell_covariance,
    _cell_effects,
    _mvn_logp,
    build_joint_model,
)
from swisbayes.inference.diagnostics import Diagnostics
from swisbayes.inference.fitting import FitResult
from swisbayes.inference.joint import JointResult, fit_joint, independent_joint_probability
from swisbayes.spec.joint import JointSpec, load_joint_spec

from .conftest import JOINT_MODEL_GROUP, ROOT

JOINT_SPEC = ROOT / "models" / "joint.toml"
OUTCOMES = ("s47", "care_entry")
OK = Diagnostics(1.0, "", 4000.0, "", 0, True, ())


def _specs(*files: str) -> tuple[swisbayes.AnalysisSpec, ...]:
    return tuple(swisbayes.load_spec(ROOT / "models" / f) for f in files)


def _posterior(irr: np.ndarray, corr: np.ndarray | None = None) -> xr.DataTree:
    """A one-chain posterior with ``irr`` (draws x outcome) and optional school correlations."""
    data = {"irr": (("chain", "draw", "outcome"), irr[None]),
            "irr_new_la": (("chain", "draw", "outcome"), irr[None] ** 2)}
    if corr is not None:
        data["corr_school"] = (("chain", "draw", "outcome_pair"), corr[None, :, None])
    ds = xr.Dataset(data, coords={"outcome": list(OUTCOMES), "outcome_pair": ["s47:care_entry"]})
    return xr.DataTree.from_dict({"posterior": ds})


def _joint_result(irr: np.ndarray, corr: np.ndarray | None = None) -> JointResult:
    specs = _specs("s47_primary.toml", "care_entry.toml")
    return JointResult(idata=_posterior(irr, corr), specs=specs, joint_spec=JointSpec(),
                       diagnostics=OK, attempts=(), provenance={})


def _fit_result(outcome: str, irr: np.ndarray) -> FitResult:
    spec = next(s for s in _specs("s47_primary.toml", "care_entry.toml") if s.outcome == outcome)
    ds = xr.Dataset({"irr": (("chain", "draw"), irr[None]),
                     "irr_new_la": (("chain", "draw"), irr[None])})
    return FitResult(idata=xr.DataTree.from_dict({"posterior": ds}), spec=spec, decision=None,
                     diagnostics=OK, attempts=(), provenance={})


# Four draws in which S47 and care entry fall together: two of four have both below 0.9, so the
# joint probability is 1/2 where the product of the marginals (3/4 and 2/4) is 3/8.
CONSTRUCTED = np.array([[0.80, 0.85], [0.85, 0.80], [0.88, 1.10], [1.20, 1.30]])


def test_joint_probability_of_constructed_draws_is_the_hand_count():
    result = _joint_result(CONSTRUCTED)
    joint = result.joint_probability({"s47": 0.9, "care_entry": 0.9})
    assert joint.probability == 0.5
    assert joint.marginals == {"s47": 0.75, "care_entry": 0.5}
    assert joint.method == JOINT_METHOD
    assert "(joint model)" in joint.text
    # Thresholds given per outcome are used as given.
    assert result.joint_probability({"s47": 0.86, "care_entry": 1.2}).probability == 0.5
    assert float(result.joint_probability({"s47": 0.81, "care_entry": 0.9})) == 0.25


def test_independence_is_the_product_of_marginals_and_says_so():
    result = _joint_result(CONSTRUCTED)
    product = result.independence_probability(["s47", "care_entry"])  # default thresholds 0.9
    assert product.probability == pytest.approx(0.75 * 0.5)
    assert product.method == INDEPENDENCE_METHOD
    assert product.label == "assuming independence"
    assert "(assuming independence)" in product.text
    fits = {"s47": _fit_result("s47", CONSTRUCTED[:, 0]),
            "care_entry": _fit_result("care_entry", CONSTRUCTED[::-1, 1])}  # pairing broken
    separate = independent_joint_probability(fits)
    assert separate.probability == pytest.approx(0.75 * 0.5)
    assert separate.method == INDEPENDENCE_METHOD
    assert "separate fits" in separate.source
    assert independent_joint_probability(fits, {"s47": 0.9}).probability == 0.75


def test_prob_all_below_pairs_draws_by_position():
    a = np.array([0.8, 0.8, 1.2, 1.2])
    assert prob_all_below({"a": a, "b": a}, {"a": 0.9, "b": 0.9}) == 0.5
    assert prob_all_below({"a": a, "b": a[::-1]}, {"a": 0.9, "b": 0.9}) == 0.0
    with pytest.raises(ValueError, match="paired draws"):
        prob_all_below({"a": a, "b": a[:3]}, {"a": 0.9, "b": 0.9})


def test_new_la_uses_the_new_la_draws():
    result = _joint_result(CONSTRUCTED)  # irr_new_la = irr**2
    joint = result.joint_probability({"s47": 0.9, "care_entry": 0.9}, new_la=True)
    assert joint.quantity == "irr_new_la"
    assert joint.probability == 0.5
    assert result.joint_probability({"s47": 0.7, "care_entry": 0.9},
                                    new_la=True).probability == 0.25


def test_bad_conditions_and_mislabelled_fits_are_errors():
    result = _joint_result(CONSTRUCTED)
    with pytest.raises(KeyError, match="referrals"):
        result.joint_probability({"referrals": 0.9})
    with pytest.raises(ValueError, match="positive"):
        result.joint_probability({"s47": -0.1})
    with pytest.raises(ValueError, match="is a fit of"):
        independent_joint_probability({"s47": _fit_result("care_entry", CONSTRUCTED[:, 1])})


def test_table_dict_and_correlations_are_labelled_and_json_ready():
    rng = np.random.default_rng(7)
    irr = np.exp(rng.multivariate_normal([np.log(0.9)] * 2, [[0.01, 0.008], [0.008, 0.01]], 4000))
    corr = rng.uniform(0.2, 0.6, 4000)
    result = _joint_result(irr, corr)
    row = result.table().loc["s47 & care_entry"]
    assert row["joint_model"] > row["assuming_independence"]  # positively correlated draws
    assert row["difference"] == pytest.approx(row["joint_model"] - row["assuming_independence"])
    corr_table = result.correlations("school")
    assert corr_table.loc["s47:care_entry", "median"] == pytest.approx(np.median(corr))
    assert corr_table.loc["s47:care_entry", "ci_low"] == pytest.approx(
        np.quantile(corr, 0.025))
    matrix = result.correlation_matrix("school")
    assert matrix.loc["care_entry", "s47"] == matrix.loc["s47", "care_entry"]
    assert np.diag(matrix).tolist() == [1.0, 1.0]
    with pytest.raises(KeyError, match="la"):
        result.correlations("la")


def test_to_dict_names_the_method(tmp_path):
    result = _joint_result(CONSTRUCTED, np.linspace(0.1, 0.3, 4))
    result = replace(result, provenance={"file_sha256": None, "content_sha256": "x",
                                               "versions": {"swisbayes": "0"}})
    d = json.loads(json.dumps(result.to_dict()))
    assert d["method"] == "joint model"
    pair = d["joint_probabilities"][0]
    assert pair["outcomes"] == ["s47", "care_entry"]
    assert pair["label"] == "joint model"
    assert pair["probability"] == 0.5
    assert pair["probability_assuming_independence"] == pytest.approx(0.375)
    assert d["correlations"]["school"]["s47:care_entry"]["median"] == pytest.approx(0.2)


# --- the model's pieces -----------------------------------------------------------------------


def test_mvn_logp_is_the_multivariate_normal_density():
    rng = np.random.default_rng(3)
    n, batch = 4, 3
    a = rng.normal(size=(batch, n, n))
    cov = a @ a.transpose(0, 2, 1) + n * np.eye(n)
    x = rng.normal(size=(batch, n))
    got = _mvn_logp(batched_linalg.cholesky(cov), pt.as_tensor(x)).eval(mode="FAST_COMPILE")
    want = sum(stats.multivariate_normal(np.zeros(n), c).logpdf(v) for c, v in zip(
        cov, x, strict=True)) + batch * n / 2 * np.log(2 * np.pi)
    assert got == pytest.approx(want, rel=1e-10)


def _factor(sd: list[float], corr: float) -> np.ndarray:
    k = len(sd)
    omega = np.full((k, k), corr) + (1 - corr) * np.eye(k)
    return np.diag(sd) @ np.linalg.cholesky(omega)


def test_cell_covariance_is_that_of_simulated_cell_means():
    """The cells' prior is what LA intercepts, LA effects and school effects imply."""
    school, la, effect_sd = _factor([0.3, 0.5], 0.6), _factor([0.2, 0.1], -0.4), [0.15, 0.05]
    sizes = np.array([[3.0, 5.0], [1.0, 8.0]])
    got = _cell_covariance({"cell_size": pt.as_tensor(sizes)}, pt.as_tensor(school),
                           pt.as_tensor(la), pt.as_tensor(effect_sd), 2).eval()
    rng = np.random.default_rng(5)
    n_sim = 200_000
    for b, (n0, n1) in enumerate(sizes.astype(int)):
        u = rng.normal(size=(n_sim, 2)) @ la.T
        delta = rng.normal(size=(n_sim, 2)) * effect_sd
        e = rng.normal(size=(n_sim, n0 + n1, 2)) @ school.T
        cells = np.hstack([u + e[:, :n0].mean(axis=1), u + delta + e[:, n0:].mean(axis=1)])
        np.testing.assert_allclose(got[b], np.cov(cells.T), atol=0.004)


@pytest.mark.slow
def test_partially_centred_cells_have_the_target_distribution():
    import nutpie

    cov = _factor([0.3, 1.0, 0.5], 0.5) @ _factor([0.3, 1.0, 0.5], 0.5).T
    mean = np.array([[-1.0, 0.5, 2.0], [0.0, 0.0, 0.0]])
    with pm.Model(coords={"la": ["a", "b"], "cell_centred": ["x", "z"],
                          "cell_noncentred": ["y"]}) as model:
        pm.Deterministic("cells", _cell_effects(pt.as_tensor(np.stack([cov, 2 * cov])),
                                                pt.as_tensor(mean), (True, False, True)))
    idata = nutpie.sample(nutpie.compile_pymc_model(model), draws=4000, tune=1000, chains=2,
                          seed=3, progress_bar=False)
    draws = idata.posterior["cells"].to_numpy().reshape(-1, 2, 3)
    for b, scale in enumerate((1.0, 2.0)):
        np.testing.assert_allclose(draws[:, b].mean(axis=0), mean[b], atol=0.06)
        np.testing.assert_allclose(np.cov(draws[:, b].T), scale * cov, atol=0.08 * scale)


def _school_data(frame: pd.DataFrame, outcomes=("s47", "care_entry")):
    return swisbayes.read_school_data(frame, outcomes=list(outcomes), covariates=("fsm_pct",))


def test_lkj_prior_of_two_outcomes_has_the_beta_marginal(example):
    """For two outcomes LKJ(eta) makes (r + 1) / 2 ~ Beta(eta, eta)."""
    specs = _specs("s47_primary.toml", "care_entry.toml")
    model = build_joint_model(specs, _school_data(example), lkj_eta=3.0).model
    value = model.rvs_to_values[model["corr_raw_school"]]
    potential = next(p for p in model.potentials if p.name == "corr_raw_school_prior")
    f = pytensor.function([value], model.replace_rvs_by_values([potential])[0],
                          mode="FAST_COMPILE")  # a few points: no machine code needed
    grid = np.linspace(-2.5, 2.5, 11)
    r = grid / np.sqrt(1 + grid**2)  # PyMC's transform of the one off-diagonal entry
    jacobian = -1.5 * np.log1p(grid**2)  # log dr/dx
    implied = np.array([f(np.array([g])) for g in grid]) - jacobian  # the density of r
    want = stats.beta(3.0, 3.0).logpdf((r + 1) / 2) - np.log(2)
    assert np.ptp(implied - want) < 1e-8  # equal up to the normalising constant


def test_model_has_outcome_dims_and_switched_off_levels_drop_out(example):
    specs = _specs("s47_primary.toml", "care_entry.toml")
    build = build_joint_model(specs, _school_data(example))
    model = build.model
    assert model.named_vars_to_dims["irr"] == ("outcome",)
    assert model.named_vars_to_dims["corr_school"] == ("outcome_pair",)
    assert {"corr_la", "sigma_la_effect", "w_new_la"} <= set(model.named_vars)
    # S47 cells hold about 150 events and are sampled centred; care-entry cells about 15.
    assert build.coords["cell_centred"] == ["control:s47", "swis:s47"]
    assert build.coords["cell_noncentred"] == ["control:care_entry", "swis:care_entry"]
    start = make_initial_point_fn(model=model, overrides=build.initial_values(),
                                  return_transformed=True)(0)
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(start))
    flat = [s.model_copy(update={"hierarchy": s.hierarchy.model_copy(
        update={"la_intercepts": False, "la_varying_effect": False})}) for s in specs]
    lean = build_joint_model(flat, _school_data(example))
    assert not {"corr_la", "sigma_la", "sigma_la_effect", "w_new_la"} & set(lean.model.named_vars)
    assert lean.structure_key != build.structure_key


def test_specs_must_share_one_structure(example):
    s47, care = _specs("s47_primary.toml", "care_entry.toml")
    other = care.model_copy(update={"hierarchy": care.hierarchy.model_copy(
        update={"la_varying_effect": False})})
    with pytest.raises(SpecError, match="hierarchy"):
        build_joint_model([s47, other], _school_data(example))
    with pytest.raises(SpecError, match="distinct"):
        build_joint_model([s47, s47], _school_data(example))


# --- the spec -------------------------------------------------------------------------------


def test_bundled_joint_spec_loads_and_is_not_an_analysis_spec():
    spec = load_joint_spec(JOINT_SPEC)
    assert [s.outcome for s in spec.analyses()] == ["s47", "referrals", "s17", "care_entry"]
    # `swisbayes fit --all` takes a TOML with a top-level 'outcome' for an analysis spec.
    assert "outcome" not in read_toml(JOINT_SPEC, "joint spec")


def test_joint_spec_keys_are_closed_and_report_outcomes_checked(tmp_path):
    text = JOINT_SPEC.read_text()
    (tmp_path / "s47_primary.toml").write_text((ROOT / "models/s47_primary.toml").read_text())
    (tmp_path / "care_entry.toml").write_text((ROOT / "models/care_entry.toml").read_text())
    pair = 'specs = ["s47_primary.toml", "care_entry.toml"]'
    base = "\n".join(pair if line.startswith("specs =") else line for line in text.splitlines())
    (tmp_path / "ok.toml").write_text(base.replace('sets = [["s47", "referrals", "s17", '
                                                   '"care_entry"]]', 'sets = []'))
    assert len(load_joint_spec(tmp_path / "ok.toml").specs) == 2
    (tmp_path / "typo.toml").write_text(base.replace("lkj_eta", "lkj_etta"))
    with pytest.raises(SpecError, match="unknown key 'lkj_etta'"):
        load_joint_spec(tmp_path / "typo.toml")
    (tmp_path / "unknown.toml").write_text(base)  # its report set names referrals and s17
    with pytest.raises(SpecError, match="referrals"):
        load_joint_spec(tmp_path / "unknown.toml")


# --- fits -----------------------------------------------------------------------------------

TRUE_SCHOOL_CORR = 0.8
TRUE_IRR = 0.9
PER_1000_PER_YEAR = {"s47": 12.0, "referrals": 55.0, "s17": 30.0, "care_entry": 1.0}
ALL_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml")


def simulate_correlated(seed: int, *, school_corr: float = TRUE_SCHOOL_CORR,
                        school_sd: float = 0.3, la_sd: float = 0.2, la_corr: float = 0.5,
                        irr: float = TRUE_IRR) -> pd.DataFrame:
    """SWIS-shaped data whose S47 and referral school effects are correlated (known truth).

    The design (LAs, arms, pupils, %FSM) is :func:`simulate_trial`'s, so the joint model
    compiled for the bundled data is reused. The follow-up counts of the four outcomes are
    Poisson with log-normal school effects (S47 and referrals correlated ``school_corr``, the
    rest independent), LA intercepts (correlation ``la_corr``) and the same IRR. The baseline
    counts carry no school effect, so the fitted school effect (after baseline adjustment) is
    the simulated one.
    """
    frame = simulate_trial(seed).frame[["school_id", "la_id", "arm", "pupils", "fsm_pct"]].copy()
    rng = np.random.default_rng(seed)
    la_idx = np.unique(frame["la_id"], return_inverse=True)[1]
    arm, pupils = frame["arm"].to_numpy(), frame["pupils"].to_numpy(float)
    k = len(PER_1000_PER_YEAR)
    school_cov = np.eye(k)
    school_cov[0, 1] = school_cov[1, 0] = school_corr
    la_cov = np.full((k, k), la_corr) + (1 - la_corr) * np.eye(k)
    school = rng.multivariate_normal(np.zeros(k), school_sd**2 * school_cov, len(frame))
    la = rng.multivariate_normal(np.zeros(k), la_sd**2 * la_cov, la_idx.max() + 1)
    for j, (outcome, per_1000) in enumerate(PER_1000_PER_YEAR.items()):
        rate = pupils * per_1000 / 1000 * np.exp(0.02 * (frame["fsm_pct"].to_numpy() - 25))
        frame[f"{outcome}_baseline"] = rng.poisson(rate)
        log_mu = np.log(rate * 23 / 12) + la[la_idx, j] + school[:, j] + np.log(irr) * arm
        frame[outcome] = rng.poisson(np.exp(log_mu))
    return frame


@pytest.fixture(scope="module")
def correlated_fits():
    frame = simulate_correlated(11)
    specs = _specs(*ALL_SPECS)
    joint = fit_joint(specs, frame)
    separate = {s.outcome: fit(s, frame) for s in specs[:2]}
    return joint, separate


@pytest.mark.slow
@pytest.mark.xdist_group(JOINT_MODEL_GROUP)
def test_school_correlation_interval_covers_the_truth(correlated_fits):
    joint, _ = correlated_fits
    assert joint.ok, joint.diagnostics.reasons
    row = joint.correlations("school").loc["s47:referrals"]
    assert row["ci_low"] <= TRUE_SCHOOL_CORR <= row["ci_high"], row
    assert row["ci_low"] > 0.3  # the data say more than the LKJ prior


@pytest.mark.slow
@pytest.mark.xdist_group(JOINT_MODEL_GROUP)
def test_correlated_outcomes_raise_the_joint_probability_above_independence(correlated_fits):
    joint, separate = correlated_fits
    outcomes = ("s47", "referrals")
    # The same chance imbalance of school effects between the arms moves both estimates.
    log_irr = np.log(np.column_stack([joint.draws(o) for o in outcomes]))
    r = np.corrcoef(log_irr.T)[0, 1]
    assert r > 0.3
    # With each threshold at its own posterior's median every marginal is 1/2, so independence
    # gives 1/4; for normal draws with correlation r, P(both below) = 1/4 + asin(r) / (2 pi).
    medians = {o: float(np.median(joint.draws(o))) for o in outcomes}
    from_joint = joint.joint_probability(medians)
    assert from_joint.method == JOINT_METHOD
    assert from_joint.probability == pytest.approx(0.25 + np.arcsin(r) / (2 * np.pi), abs=0.02)
    own = joint.independence_probability(medians)
    separate_medians = {o: float(np.median(separate[o].idata["posterior"]["irr"]))
                        for o in outcomes}
    assuming_independence = independent_joint_probability(separate, separate_medians)
    for product in (own, assuming_independence):
        assert product.method == INDEPENDENCE_METHOD
        assert product.probability == pytest.approx(0.25, abs=0.01)
        assert from_joint.probability > product.probability + 0.05


@pytest.mark.slow
@pytest.mark.xdist_group(JOINT_MODEL_GROUP)
def test_bundled_data_joint_fit_passes_the_gate(tmp_path):
    result = fit_joint(data=swisbayes.load_example())
    assert result.ok, result.diagnostics.reasons
    assert result.outcomes == ["s47", "referrals", "s17", "care_entry"]
    assert result.provenance["sampler"]["draws"] == 2000
    table = result.table()
    assert len(table) == 6 + 1  # every pair, and the four outcomes together
    d = json.loads(json.dumps(result.to_dict()))
    assert d["method"] == "joint model"
    assert d["diagnostics"]["ok"]
    # The bundled data's school and LA effects are independent across outcomes (as simulated),
    # so every school-level interval should be compatible with no correlation or close to it.
    assert (result.correlations("school")["ci_low"] < 0.1).all()
    back = JointResult.from_netcdf(result.to_netcdf(tmp_path / "joint.nc"))
    assert back.to_dict() == result.to_dict()
