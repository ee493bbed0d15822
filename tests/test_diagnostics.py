"""The convergence gate on synthetic draws with known properties: tail ESS, E-BFMI, tree depth,
its retry, and diagnostics saved before those checks existed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from scipy.stats import norm

from swisbayes.inference import fitting
from swisbayes.inference.diagnostics import Diagnostics, compute_diagnostics
from swisbayes.inference.results import load_gate_attrs
from swisbayes.spec.analysis import Sampler

CHAINS, DRAWS = 4, 1000
DIMS = ("chain", "draw")

OLD_FORMAT = {"rhat_max": 1.004, "rhat_worst": "sigma_la", "ess_bulk_min": 812.0,
              "ess_worst": "sigma_la", "divergences": 0, "ok": True, "reasons": []}
"""Diagnostics as saved before the gate checked tail ESS, E-BFMI and tree depth."""


def _iid(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((CHAINS, DRAWS))


def _tree(posterior: dict[str, np.ndarray], **stats: np.ndarray) -> xr.DataTree:
    """A sampler-like result: ``posterior`` and ``sample_stats`` over (chain, draw)."""
    coords = {"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)}
    stats = {"diverging": np.zeros((CHAINS, DRAWS), dtype=bool), **stats}
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({k: (DIMS, v) for k, v in posterior.items()}, coords=coords),
        "sample_stats": xr.Dataset({k: (DIMS, v) for k, v in stats.items()}, coords=coords),
    })


def _healthy(**stats: np.ndarray) -> xr.DataTree:
    """Independent draws: every check passes by a wide margin (ESS about 4000, E-BFMI about
    2), unless ``stats`` says otherwise."""
    stats = {"energy": _iid(2), "maxdepth_reached": np.zeros((CHAINS, DRAWS), dtype=bool),
             **stats}
    return _tree({"beta": _iid(0), "sigma_la": np.abs(_iid(1))}, **stats)


def _clustered_tails(seed: int, block: int = 100, period: int = 500) -> np.ndarray:
    """N(0, 1) draws whose most extreme ``block / period`` (both tails, random signs) come in
    blocks of ``block`` consecutive draws, one in each half of every chain.

    The rank-normalised centre is as good as independent draws (bulk ESS about 3000-4000) and
    the chains agree (R-hat about 1.000), but the 5% and 95% quantiles are visited only in
    8 blocks: tail ESS about 100.
    """
    rng = np.random.default_rng(seed)
    share = block / period
    extreme = (np.arange(DRAWS) % period) < block
    u = rng.random((CHAINS, DRAWS))
    sign = np.where(rng.random((CHAINS, DRAWS)) < 0.5, -1.0, 1.0)
    return np.where(extreme, sign * norm.ppf(1 - share / 2 + share / 2 * u),
                    norm.ppf(share / 2 + (1 - share) * u))


def _bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI of each chain: sum of squared steps over the sum of squared deviations."""
    return (np.diff(energy, axis=1) ** 2).sum(axis=1) / (
        (energy - energy.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)


def _slow_energy(period: float) -> np.ndarray:
    """An energy that drifts as a sine of ``period`` draws: E-BFMI about (2 pi / period)^2."""
    t = np.arange(DRAWS)
    return np.stack([np.sin(2 * np.pi * t / period + c) for c in range(CHAINS)])


def test_independent_draws_pass_every_check():
    d = compute_diagnostics(_healthy())
    assert d.ok, d.reasons
    assert d.reasons == ()
    assert d.ess_tail_min > 2000
    assert d.ess_tail_worst in {"beta", "sigma_la"}
    assert d.bfmi_min > 1.0
    assert d.treedepth_share == 0.0


def test_clustered_tails_fail_tail_ess_but_not_bulk_ess_or_rhat():
    tree = _tree({"beta": _iid(0), "irr_new_la": np.exp(_clustered_tails(5))},
                 energy=_iid(2))
    d = compute_diagnostics(tree)
    assert not d.ok
    assert d.ess_bulk_min > 1500, d
    assert d.rhat_max < 1.01, d
    assert d.ess_tail_min < 200, d
    assert d.ess_tail_worst == "irr_new_la"
    assert d.reasons == (f"min tail ESS {d.ess_tail_min:.0f} is below 400 (worst: irr_new_la)",)


def test_tail_ess_names_the_element_of_a_vector():
    post = {"beta": _iid(0), "w_la": np.stack([_iid(3), _clustered_tails(6)], axis=-1)}
    coords = {"chain": np.arange(CHAINS), "draw": np.arange(DRAWS), "la": ["LA01", "LA02"]}
    tree = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"beta": (DIMS, post["beta"]),
                                 "w_la": ((*DIMS, "la"), post["w_la"])}, coords=coords),
        "sample_stats": xr.Dataset({"diverging": (DIMS, np.zeros((CHAINS, DRAWS), bool))}),
    })
    assert compute_diagnostics(tree).ess_tail_worst == "w_la[LA02]"


def test_low_e_bfmi_in_one_chain_fails_and_names_it():
    energy = _iid(2)
    energy[2] = _slow_energy(period=20)[2]       # (2 pi / 20)^2 = 0.10
    d = compute_diagnostics(_healthy(energy=energy))
    expected = _bfmi(energy)
    assert expected[2] < 0.15
    assert np.delete(expected, 2).min() > 1.0
    assert d.bfmi_min == pytest.approx(expected[2], rel=1e-9)
    assert not d.ok
    assert d.reasons == (f"E-BFMI {d.bfmi_min:.2f} is below 0.3 (chain(s) 2): the sampler "
                         "explores the energy levels poorly",)


def test_e_bfmi_above_the_threshold_passes():
    energy = _slow_energy(period=8)               # (2 pi / 8)^2 = 0.62 in every chain
    d = compute_diagnostics(_healthy(energy=energy))
    assert d.bfmi_min == pytest.approx(_bfmi(energy).min(), rel=1e-9)
    assert 0.45 < d.bfmi_min < 0.8
    assert d.ok, d.reasons


@pytest.mark.parametrize("name", ["maxdepth_reached", "reached_max_treedepth"])
def test_tree_depth_share_is_read_from_either_sampler(name):
    hits = np.zeros((CHAINS, DRAWS), dtype=bool)
    hits[1, :20] = True                           # 20 of 4000 transitions: 0.5%
    stats = {"energy": _iid(2), name: hits}
    tree = _tree({"beta": _iid(0)}, **stats)
    d = compute_diagnostics(tree)
    assert d.treedepth_share == 20 / (CHAINS * DRAWS)
    assert d.ok, d.reasons


def test_more_than_one_percent_at_maximum_depth_fails():
    hits = np.zeros((CHAINS, DRAWS), dtype=bool)
    hits[:, :20] = True                           # 80 of 4000: 2%
    d = compute_diagnostics(_healthy(maxdepth_reached=hits))
    assert d.treedepth_share == 0.02
    assert not d.ok
    assert d.reasons == ("2.0% of transitions hit the maximum tree depth (more than 1%)",)


def test_checks_without_their_sample_stat_are_skipped():
    d = compute_diagnostics(_tree({"beta": _iid(0)}))
    assert d.bfmi_min is None
    assert d.treedepth_share is None
    assert d.ess_tail_min is not None
    assert d.ok, d.reasons


def test_every_failed_check_has_its_own_sentence():
    energy = _slow_energy(period=20)
    hits = np.ones((CHAINS, DRAWS), dtype=bool)
    tree = _tree({"irr_new_la": _clustered_tails(5)}, energy=energy, maxdepth_reached=hits)
    reasons = compute_diagnostics(tree).reasons
    assert [r.split()[0] for r in reasons] == ["min", "E-BFMI", "100.0%"]


def test_round_trip_through_a_dict_and_json():
    d = compute_diagnostics(_healthy())
    back = Diagnostics.from_dict(json.loads(json.dumps(d.to_dict())))
    assert back == d
    assert {"ess_tail_min", "ess_tail_worst", "bfmi_min", "treedepth_share"} <= set(d.to_dict())


def test_diagnostics_saved_before_the_new_checks_read_back_unchecked():
    d = Diagnostics.from_dict(OLD_FORMAT)
    assert d.ok
    assert d.reasons == ()
    assert d.ess_bulk_min == 812.0
    assert (d.ess_tail_min, d.ess_tail_worst, d.bfmi_min, d.treedepth_share) == (None,) * 4
    # Code written before the new fields existed still builds one positionally.
    assert Diagnostics(1.0, "", 4000.0, "", 0, True, ()).ess_tail_min is None


def test_unknown_diagnostics_field_is_an_error():
    with pytest.raises(TypeError, match="unknown diagnostics field"):
        Diagnostics.from_dict({**OLD_FORMAT, "mystery": 1})


def test_gate_attributes_of_an_old_netcdf_load():
    tree = xr.DataTree(xr.Dataset(attrs={
        "swisbayes_diagnostics": json.dumps(OLD_FORMAT),
        "swisbayes_attempts": json.dumps([{"target_accept": 0.8, "seed": 1, "seconds": 2.0,
                                           "diagnostics": OLD_FORMAT}]),
        "swisbayes_provenance": json.dumps({"seed": 1}),
    }))
    diagnostics, attempts, provenance = load_gate_attrs(tree)
    assert diagnostics == attempts[0].diagnostics == Diagnostics.from_dict(OLD_FORMAT)
    assert diagnostics.bfmi_min is None
    assert provenance == {"seed": 1}


@pytest.mark.parametrize("failing", ["tail", "bfmi", "depth"])
def test_new_checks_are_retried_at_higher_target_acceptance_then_flagged(monkeypatch, failing):
    hits = np.zeros((CHAINS, DRAWS), dtype=bool)
    bad = {"tail": _tree({"beta": _clustered_tails(5)}, energy=_iid(2)),
           "bfmi": _healthy(energy=_slow_energy(period=20)),
           "depth": _healthy(maxdepth_reached=~hits)}[failing]
    calls = []

    def fake_sample(build, sampler, target_accept, progress):
        calls.append(target_accept)
        return bad, 0.1, {"path": "test"}

    monkeypatch.setattr(fitting, "_sample", fake_sample)
    _, attempts, _ = fitting.sample_with_gate(None, Sampler(target_accept=0.8))
    assert calls == [0.8, 0.95]
    assert [a.diagnostics.ok for a in attempts] == [False, False]
    assert len(attempts[-1].diagnostics.reasons) == 1


def test_a_retry_that_passes_ends_the_attempts(monkeypatch):
    trees = iter([_healthy(energy=_slow_energy(period=20)), _healthy()])
    monkeypatch.setattr(fitting, "_sample", lambda *a: (next(trees), 0.1, {}))
    _, attempts, _ = fitting.sample_with_gate(None, Sampler(target_accept=0.8))
    assert [a.target_accept for a in attempts] == [0.8, 0.95]
    assert [a.diagnostics.ok for a in attempts] == [False, True]
