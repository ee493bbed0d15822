"""Sensitivity grids without MCMC: the grid file, cells and hashes, routing, PSIS."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import swisbayes
from swisbayes._base.errors import SpecError
from swisbayes.decision.summaries import decide, ratio_keys, summarise_ratio
from swisbayes.families.registry import decide_spec
from swisbayes.inference.reweight import (
    NotReweightableError,
    PriorState,
    PriorTargets,
    Reweighted,
    find_targets,
    kish_ess,
    log_ratio,
    psis,
)
from swisbayes.spec.grid import Grid, Reweighting, load_grid
from swisbayes.workflows.keys import cell_keys
from swisbayes.workflows.routing import GroupRouter, Proposal, _reproduces_fit, make_draw_set
from swisbayes.workflows.rows import Entry, sampled_row
from swisbayes.workflows.store import ROW_FORMAT, CellStore

from .conftest import PRIMARY_SPEC, ROOT

SHA = "0" * 64


def grid(**raw) -> Grid:
    return Grid.from_dict(raw)


def test_product_of_axes_with_labels_and_spec_values(primary_spec):
    g = grid(priors={"library": ["vague", "sceptical"],
                     "normal": [{"centres_irr": [0.85, 1.0], "sds": [0.05]}],
                     "pilot": [{"robust_weights": [0.5, 0.8], "discount_a0": [1.0]}]},
             hyper={"sigma_la_effect": [0.2, 0.4]}, mcid=[0.05, 0.1], seeds=[1, 2])
    cells = g.cells([primary_spec])
    assert len(cells) == 6 * 2 * 2 * 2
    axes = g.axes([primary_spec])
    assert list(axes) == ["spec", "effect_prior", "sigma_la_effect_scale", "mcid", "seed"]
    assert axes["effect_prior"] == ["vague", "sceptical", "normal(irr=0.85, sd=0.05)",
                                    "normal(irr=1, sd=0.05)", "pilot-informed(w=0.5, a0=1)",
                                    "pilot-informed(w=0.8, a0=1)"]
    last = cells[-1]
    assert last.axes == {"spec": "s47_primary", "effect_prior": "pilot-informed(w=0.8, a0=1)",
                         "sigma_la_effect_scale": 0.4, "mcid": 0.1, "seed": 2}
    assert last.spec.priors.effect.robust_weight == 0.8
    assert last.spec.priors.hyper.sigma_la_effect.scale == 0.4
    assert last.spec.decision.mcid == 0.1
    assert last.spec.sampler.seed == 2
    normal = next(c for c in cells if c.axes["effect_prior"] == "normal(irr=0.85, sd=0.05)")
    assert normal.spec.effect_prior.means == (pytest.approx(math.log(0.85)),)
    # What the grid does not vary stays the spec's own.
    assert normal.spec.priors.hyper.sigma_la == primary_spec.priors.hyper.sigma_la


def test_axes_left_out_take_the_specs_values(primary_spec):
    cells = grid().cells([primary_spec])
    assert len(cells) == 1
    assert cells[0].spec == primary_spec.with_sampler()
    assert cells[0].axes == {"spec": "s47_primary", "effect_prior": "vague", "mcid": 0.1,
                             "seed": primary_spec.sampler.seed}


def test_sampler_overrides_apply_to_every_cell(primary_spec):
    cells = grid(sampler={"draws": 300, "tune": 200}, seeds=[5]).cells([primary_spec])
    assert (cells[0].spec.sampler.draws, cells[0].spec.sampler.tune) == (300, 200)
    assert cells[0].spec.sampler.chains == primary_spec.sampler.chains


def test_explicit_cells_pick_values_on_the_axes(primary_spec):
    g = grid(priors={"library": ["vague", "sceptical"]}, mcid=[0.05, 0.1],
             cells=[{"effect_prior": "sceptical", "mcid": 0.1}, {"effect_prior": "vague",
                                                                  "mcid": 0.05}])
    cells = g.cells([primary_spec])
    assert [(c.axes["effect_prior"], c.axes["mcid"]) for c in cells] == [
        ("sceptical", 0.1), ("vague", 0.05)]
    with pytest.raises(SpecError, match=r"mcid = 0.2 is not on the axis; values: \[0.05, 0.1\]"):
        grid(mcid=[0.05, 0.1], cells=[{"mcid": 0.2}]).cells([primary_spec])
    with pytest.raises(SpecError, match="missing 'mcid'"):
        grid(mcid=[0.05, 0.1], cells=[{"seed": 1}]).cells([primary_spec])
    with pytest.raises(SpecError, match=r"unknown axis \['prior'\]; axes: spec, effect_prior"):
        grid(cells=[{"prior": "vague"}]).cells([primary_spec])


@pytest.mark.parametrize(("raw", "message"), [
    ({"prior": {}}, "unknown key 'prior' in the top level; allowed keys: name, description"),
    ({"hyper": {"sigma_la_efect": [0.1]}},
     "unknown key 'sigma_la_efect' in hyper; allowed keys: sigma_la, sigma_la_effect"),
    ({"priors": {"pilot": [{"robust_weight": [0.5]}]}},
     "unknown key 'robust_weight' in priors.pilot.0; allowed keys: robust_weights, "
     "discount_a0"),
    ({"priors": {"library": ["sceptic"]}}, "unknown prior name(s) ['sceptic']; valid names"),
    ({"mcid": [1.5]}, "mcid.0: Input should be less than 1 (found 1.5)"),
    ({"hyper": {"sigma_la": []}}, "hyper.sigma_la: Tuple should have at least 1 item"),
    ({"reweighting": {"max_khat": 2}}, "reweighting.max_khat: Input should be less than or"),
])
def test_grid_errors_name_the_key_and_what_is_allowed(raw, message):
    with pytest.raises(SpecError) as err:
        Grid.from_dict(raw, source="g.toml")
    assert str(err.value).startswith("g.toml: 1 problem(s) in the grid")
    assert message in str(err.value)


def test_repeated_labels_and_specs_are_errors(primary_spec):
    with pytest.raises(SpecError, match="prior 'vague' appears twice"):
        grid(priors={"library": ["vague"], "custom": [{"name": "vague"}]}).cells([primary_spec])
    with pytest.raises(SpecError, match="spec names must differ"):
        grid().cells([primary_spec, primary_spec])


def test_grid_file_paths_are_relative_to_it(tmp_path):
    (tmp_path / "grid.toml").write_text(
        f'specs = ["{ROOT / "models" / "s47_primary.toml"}", "other.toml"]\n'
        '[[priors.pilot]]\npilots = "my_pilots.toml"\n')
    g = load_grid(tmp_path / "grid.toml")
    assert g.spec_paths() == [ROOT / "models" / "s47_primary.toml", tmp_path / "other.toml"]
    assert g.file.priors.pilot[0].pilots == "my_pilots.toml"
    with pytest.raises(SpecError, match="no such grid file"):
        load_grid(tmp_path / "missing.toml")


def test_shipped_grid_has_48_cells_and_is_not_an_analysis_spec(primary_spec):
    path = ROOT / "models" / "prior_grid.toml"
    g = load_grid(path)
    assert len(g.cells([primary_spec])) == 48
    # `swisbayes fit --all` treats a TOML with a top-level `outcome` as an analysis spec.
    assert "outcome" not in swisbayes._base.config.read_toml(path, "grid")


def test_cell_hashes_separate_cells_draws_and_groups(primary_spec):
    g = grid(priors={"library": ["vague", "sceptical"]}, mcid=[0.05, 0.1], seeds=[1, 2])
    keys = {tuple(c.axes.values()): cell_keys(c, SHA) for c in g.cells([primary_spec])}
    a = keys["s47_primary", "vague", 0.05, 1]
    assert a == cell_keys(g.cells([primary_spec])[0], SHA)  # stable
    mcid = keys["s47_primary", "vague", 0.1, 1]
    prior = keys["s47_primary", "sceptical", 0.05, 1]
    seed = keys["s47_primary", "vague", 0.05, 2]
    assert mcid.cell != a.cell
    assert mcid.draws == a.draws
    assert mcid.group == a.group
    assert prior.draws != a.draws
    assert prior.group == a.group
    assert seed.group != a.group
    assert cell_keys(g.cells([primary_spec])[0], "1" * 64).cell != a.cell  # other data


def test_pilot_variants_share_a_group_with_the_library_priors(primary_spec):
    g = grid(priors={"library": ["vague"], "pilot": [{"robust_weights": [0.5]}]})
    vague, pilot = (cell_keys(c, SHA) for c in g.cells([primary_spec]))
    assert vague.group == pilot.group
    assert vague.draws != pilot.draws


def test_kish_ess_of_normal_tilting_weights():
    x = np.random.default_rng(4).normal(size=200_000)
    # w = exp(x - 1/2) has E[w] = 1 and E[w^2] = e, so 1 / sum(w_normalised^2) -> n / e.
    assert kish_ess(np.exp(x - 0.5)) == pytest.approx(200_000 / math.e, rel=0.05)
    assert kish_ess(np.full(7, 0.3)) == 7.0
    assert kish_ess(None, 50) == 50.0
    with pytest.raises(ValueError, match="n \\(the number of draws\\) is needed"):
        kish_ess(None)


DAYS_SPEC = ROOT / "models" / "days_in_care.toml"


@pytest.fixture(scope="module")
def days_entry() -> Entry:
    spec = swisbayes.load_spec(DAYS_SPEC)
    cell = grid(priors={"library": ["sceptical"]}).cells([spec])[0]
    data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=[spec.outcome],
                                      covariates=spec.covariates)
    return Entry(cell, cell_keys(cell, data.content_sha256), data)


def _days_posterior(rng) -> xr.Dataset:
    post = _posterior(rng)
    shape, dims = (4, 1000), ("chain", "draw")
    return post.assign(zero_irr=(dims, np.exp(rng.normal(-0.1, 0.1, shape))),
                       positive_irr=(dims, np.exp(rng.normal(0.05, 0.1, shape))))


def _fit_row(entry: Entry, decision: dict) -> dict:
    """A sampled cell's row whose decision keys are ``decision``."""
    fit = {**decision, "diagnostics": {"rhat_max": 1.0, "ess_bulk_min": 1000.0,
                                       "divergences": 0, "ok": True, "reasons": [],
                                       "attempts": 1},
           "analysis": entry.cell.spec.name, "overrides": dict(entry.cell.spec.overrides),
           "file_sha256": entry.data.file_sha256,
           "content_sha256": entry.data.content_sha256, "seed": 1,
           "sampler": "nutpie", "swisbayes_version": swisbayes.__version__}
    return sampled_row(entry, {"fit": fit, "seconds": 1.0}, "cells/x.nc", SHA,
                       entry.cell.spec.to_json())


def test_a_fit_is_derived_from_only_when_its_kernels_reproduce_its_row(days_entry):
    post = _days_posterior(np.random.default_rng(3))
    spec = days_entry.cell.spec
    own = decide_spec(post, spec).to_dict()
    draw_set = make_draw_set([days_entry])
    assert "parts" in own
    assert _reproduces_fit(days_entry, Proposal(draw_set, _fit_row(days_entry, own), post))
    changed = {**own, "irr_median": own["irr_median"] * 1.001}
    assert not _reproduces_fit(days_entry, Proposal(draw_set, _fit_row(days_entry, changed),
                                                    post))
    # A row of the count formulas for a days-in-care fit lacks the parts: not derived from.
    counts = decide(post, outcome=spec.outcome, prior=spec.priors.effect.name,
                    mcid=spec.decision.mcid, followup_years=spec.followup_years).to_dict()
    assert not _reproduces_fit(days_entry, Proposal(draw_set, _fit_row(days_entry, counts),
                                                    post))
    # A posterior without the hurdle's parts cannot give its decision.
    assert not _reproduces_fit(days_entry, Proposal(draw_set, _fit_row(days_entry, own),
                                                    post.drop_vars("zero_irr")))


def test_a_reweighted_days_in_care_cell_has_weighted_parts(days_entry):
    rng = np.random.default_rng(7)
    post = _days_posterior(rng)
    spec = days_entry.cell.spec
    rows: list[dict] = []
    router = GroupRouter([make_draw_set([days_entry])], set(), Reweighting(), rows.append)
    base = _fit_row(days_entry, decide_spec(post, spec).to_dict())
    weights = rng.uniform(0.5, 1.5, 4000)
    weights /= weights.sum()
    router._derive(days_entry, Proposal(router.draw_sets[0], base, post),
                   Reweighted(weights, 0.2, 3500.0))
    (row,) = rows
    assert row["path"] == "reweighted"
    assert row["diagnostics"]["pareto_khat"] == 0.2
    zero = post["zero_irr"].to_numpy().ravel()
    assert row["parts"]["zero"] == ratio_keys(summarise_ratio(
        zero, mcid=spec.decision.mcid, weights=weights, chains=post.sizes["chain"]))
    assert row["parts"]["zero"]["prob_any_reduction"] == pytest.approx(
        np.sum(weights[zero < 1.0]), abs=1e-12)
    assert row["parts"] != base["parts"]


def test_psis_recovers_a_normal_posterior_and_flags_a_bad_proposal():
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, size=(4, 1000))
    good = psis(stats.norm.logpdf(x, 0.5, 0.8) - stats.norm.logpdf(x))
    assert good.pareto_khat < 0.5
    assert np.sum(good.weights * x.ravel()) == pytest.approx(0.5, abs=0.06)
    # Proposal far narrower than the target: heavy-tailed weights, k-hat above 0.7.
    bad = psis(stats.norm.logpdf(x, 3.0, 1.0) - stats.norm.logpdf(x))
    assert bad.pareto_khat > 0.7
    assert not bad.acceptable(0.7, 400)
    same = psis(np.zeros((4, 1000)))
    assert same.weights is None
    assert same.acceptable(0.7, 400)


def test_log_ratio_adds_mixture_and_half_normal_terms(primary_spec):
    rng = np.random.default_rng(6)
    post = xr.Dataset({"log_irr": (("chain", "draw"), rng.normal(0, 0.1, (2, 50))),
                       "sigma_la_effect": (("chain", "draw"), np.abs(rng.normal(0, 0.1, (2, 50))))})
    targets = PriorTargets(effect=("log_irr",), scales={"sigma_la_effect": ("sigma_la_effect",)})
    old_spec = primary_spec
    new_spec = grid(priors={"library": ["sceptical"]}, hyper={"sigma_la_effect": [0.4]}).cells(
        [primary_spec])[0].spec
    old = PriorState.of(old_spec, old_spec.effect_prior)
    new = PriorState.of(new_spec, new_spec.effect_prior)
    lr = log_ratio(post, targets, new, old)
    x, s = post["log_irr"].to_numpy(), post["sigma_la_effect"].to_numpy()
    expected = (stats.norm.logpdf(x, 0, new_spec.effect_prior.sds[0]) - stats.norm.logpdf(x, 0, 10)
                + stats.halfnorm.logpdf(s, scale=0.4) - stats.halfnorm.logpdf(s, scale=0.2))
    np.testing.assert_allclose(lr, expected, rtol=1e-12)
    with pytest.raises(NotReweightableError):
        log_ratio(post, PriorTargets(effect=None), new, old)


def test_prior_targets_are_read_from_the_model_graph(primary_spec):
    data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=["s47"],
                                      covariates=primary_spec.covariates)
    targets = find_targets(primary_spec, data, ["sigma_la", "sigma_la_effect",
                                                "inv_sqrt_concentration"])
    assert targets.effect == ("log_irr",)
    assert targets.scales == {"sigma_la": ("sigma_la",), "sigma_la_effect": ("sigma_la_effect",),
                              "inv_sqrt_concentration": ()}  # not in a count model


def test_store_trusts_only_intact_rows(tmp_path):
    store = CellStore(tmp_path)
    sha = store.write_netcdf("a", b"posterior bytes")
    store.write_row({"format": ROW_FORMAT, "cell": "a", "path": "sampled", "netcdf_sha256": sha})
    store.write_row({"format": ROW_FORMAT, "cell": "b", "path": "reweighted"})
    store.write_row({"format": ROW_FORMAT, "cell": "other", "path": "reweighted"})
    store.write_row({"format": ROW_FORMAT - 1, "cell": "old", "path": "reweighted"})
    store.row_path("c").write_text('{"format": 2, "cell": "c", "pa')  # truncated
    store.row_path("d").write_text(store.row_path("other").read_text())  # another cell's row
    (store.cells / ".a.json.x1.tmp").write_text("half")
    assert store.remove_temporaries() == 1
    assert set(store.valid_rows(["a", "b", "c", "d", "e", "old"])) == {"a", "b"}
    store.netcdf_path("a").write_bytes(b"posterior bytez")
    assert set(store.valid_rows(["a", "b"])) == {"b"}
    reasons = {e["cell"]: e["reason"] for e in map(json.loads, (tmp_path / "run.log").read_text(
        ).splitlines()) if e["event"] == "invalid"}
    assert reasons == {"a": "netCDF checksum mismatch", "c": "row does not parse (JSONDecodeError)",
                       "d": "row belongs to another cell",
                       "old": f"row format {ROW_FORMAT - 1}, expected {ROW_FORMAT}"}


def _posterior(rng) -> xr.Dataset:
    shape, dims = (4, 1000), ("chain", "draw")
    log_irr = rng.normal(-0.05, 0.05, shape)
    control = rng.normal(30, 2, shape)
    return xr.Dataset({"irr": (dims, np.exp(log_irr)),
                       "irr_new_la": (dims, np.exp(log_irr + rng.normal(0, 0.05, shape))),
                       "rate_control_per_1000": (dims, control),
                       "rate_swis_per_1000": (dims, control * np.exp(log_irr))})


def test_a_scheduler_needs_the_dask_extra(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from swisbayes.cli import cli

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    path = tmp_path / "grid.toml"
    path.write_text(f'specs = ["{PRIMARY_SPEC}"]\n')
    result = CliRunner().invoke(cli, ["sensitivity", "--grid", str(path), "--out",
                                      str(tmp_path / "out"), "--scheduler", "tcp://x:1"])
    assert result.exit_code == 1
    assert "--scheduler needs Dask: install the 'dask' extra" in result.output
    assert not list((tmp_path / "out" / "cells").glob("*"))


def test_dataset_has_nan_where_a_product_cell_is_absent():
    from swisbayes.workflows.tables import to_dataset

    table = pd.DataFrame({"effect_prior": ["vague", "sceptical"], "mcid": [0.1, 0.05],
                          "irr_median": [1.0, 0.9], "path": ["sampled", "reweighted"]})
    data = to_dataset(table, {"effect_prior": ["vague", "sceptical"], "mcid": [0.05, 0.1]})
    assert dict(data.sizes) == {"effect_prior": 2, "mcid": 2}
    assert data["irr_median"].sel(effect_prior="sceptical", mcid=0.05).item() == 0.9
    assert np.isnan(data["irr_median"].sel(effect_prior="vague", mcid=0.05).item())
