"""Sensitivity runs with MCMC: exactness against fit, reweighting, resume, executors, exit codes.

Where only equality between runs is at stake (resume, executors), small sampler settings (4
chains x 500 + 500) keep the tests quick.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.spec.grid import load_grid
from swisbayes.workflows import sensitivity
from swisbayes.workflows.store import read_log

from .conftest import PRIMARY_SPEC

pytestmark = pytest.mark.slow

SMALL = '[sampler]\ndraws = 500\ntune = 500\n'
PRIORS = ('[priors]\nlibrary = ["vague", "sceptical", "enthusiastic"]\n'
          '[[priors.normal]]\ncentres_irr = [0.85]\nsds = [0.025]\n')
# Three seeds, so three groups of two cells. Each group samples its vague cell; its sceptical
# cell is reweighted from it when that fit passes the gate at 500 + 500 (and the weights pass
# k-hat and ESS), and is sampled otherwise. Which way each group goes depends on the draws, so on
# the machine's floating-point bits: the tests below check the routing rules
# (:func:`assert_routing`) and compare runs on one machine, never count the paths.
RESUMABLE = f'specs = ["{PRIMARY_SPEC}"]\nseeds = [2, 3, 4]\n' \
            '[priors]\nlibrary = ["vague", "sceptical"]\n' + SMALL


def run_grid(specs, grid, **options):
    """:func:`~swisbayes.workflows.sensitivity.run_grid` on the bundled synthetic data."""
    return sensitivity.run_grid(specs, grid, swisbayes.load_example(), **options)


def write_grid(directory: Path, text: str, name: str = "grid.toml") -> Path:
    path = directory / name
    path.write_text(f'name = "{path.stem}"\n' + text)
    return path


@pytest.fixture(scope="module")
def four_cells(tmp_path_factory):
    """The four-prior grid, every cell sampled, and the same grid with reweighting.

    The spec's own sampler settings: with fewer draws the vague fit may miss the ESS gate, and
    then (rightly) it is not a base for reweighting.
    """
    root = tmp_path_factory.mktemp("four")
    body = f'specs = ["{PRIMARY_SPEC}"]\nseeds = [11]\n' + PRIORS
    sampled = run_grid(None, write_grid(root, body + "[reweighting]\nenabled = false\n",
                                        "s.toml"), out=root / "sampled")
    reweighted = run_grid(None, write_grid(root, body, "r.toml"), out=root / "reweighted")
    return sampled, reweighted


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted serial run of the resumable grid."""
    root = tmp_path_factory.mktemp("reference")
    grid = write_grid(root, RESUMABLE)
    return grid, run_grid(None, grid, out=root / "out")


def by_prior(result) -> dict[str, dict]:
    return {r["axes"]["effect_prior"]: r for r in result.rows}


def assert_routing(result, max_khat: float = 0.7, min_ess: float = 400.0) -> None:
    """The routing rules hold for every row, whichever cells the gate let be reweighted.

    A sampled row has no base. A reweighted row names its base: the sampled vague cell of its
    own group (same spec and seed), which passed the diagnostics gate (a failed fit is never a
    proposal), and its importance weights met the grid's k-hat and ESS thresholds.
    """
    by_cell = {r["cell"]: r for r in result.rows}
    for row in result.rows:
        assert row["path"] in ("sampled", "reweighted"), row
        if row["path"] == "sampled":
            assert row["base"] is None, row
            continue
        base = by_cell[row["base"]]
        assert base["path"] == "sampled", (row["cell"], base)
        assert base["axes"]["effect_prior"] == "vague", (row["cell"], base["axes"])
        assert {k: v for k, v in base["axes"].items() if k != "effect_prior"} == \
            {k: v for k, v in row["axes"].items() if k != "effect_prior"}, (row, base)
        assert base["diagnostics"]["ok"], (row["cell"], base["diagnostics"])
        assert row["diagnostics"]["pareto_khat"] < max_khat, row["diagnostics"]
        assert row["diagnostics"]["ess_importance"] >= min_ess, row["diagnostics"]


def test_sampled_cells_are_exactly_the_fits_of_their_specs(four_cells):
    sampled, _ = four_cells
    assert sampled.counts() == {"sampled": 4, "reweighted": 0, "recomputed": 0}
    grid = load_grid(Path(sampled.out).parent / "s.toml")
    cells = grid.cells([swisbayes.load_spec(PRIMARY_SPEC)])
    for cell, row in zip(cells, sampled.rows, strict=True):
        expected = swisbayes.fit(cell.spec, swisbayes.load_example()).to_dict()
        for key, value in expected.items():
            if key == "diagnostics":
                assert {k: row[key][k] for k in value} == value
            else:
                assert row[key] == value, (cell.axes, key)
    first = sampled.rows[0]
    assert (sampled.out / first["netcdf"]).exists()
    assert (sampled.out / "cells" / f"{first['cell']}.json").exists()
    assert first["spec"]["priors"]["effect"]["weights"] == [1.0]  # the resolved prior
    assert first["swisbayes_version"] == swisbayes.__version__
    assert pd.read_parquet(sampled.out / "table.parquet")["irr_median"].tolist() == \
        sampled.table["irr_median"].tolist()


def test_reweighted_cells_agree_with_sampled_ones_within_monte_carlo_error(four_cells):
    sampled, reweighted = four_cells
    assert_routing(reweighted)
    s, r = by_prior(sampled), by_prior(reweighted)
    # At the spec's settings the vague base passes the gate with room to spare (bulk ESS about
    # 800 against 400, R-hat about 1.003), and the weights for the sceptical and enthusiastic
    # priors are far inside the thresholds (k-hat below 0, importance ESS about 1500 against
    # 400), so these two are reweighted on any machine. The dogmatic normal prior sits several
    # posterior SDs from the data (k-hat far above 0.7), so it is sampled on any machine.
    # The sampled cells are then the same fits as in the all-sampled grid.
    for name in ("vague", "normal(irr=0.85, sd=0.025)"):
        assert r[name]["path"] == "sampled"
        assert r[name]["irr_median"] == s[name]["irr_median"]
    assert r["normal(irr=0.85, sd=0.025)"]["base"] is None
    for name in ("sceptical", "enthusiastic"):
        row = r[name]
        assert row["path"] == "reweighted"
        assert row["base"] == r["vague"]["cell"]
        assert row["diagnostics"]["pareto_khat"] < 0.7
        ess_is = row["diagnostics"]["ess_importance"]
        post = _posterior(sampled, s[name])
        ess = float(az.ess(post["irr"]))
        for key in ("prob_any_reduction", "prob_meaningful_reduction"):
            p = s[name][key]
            tolerance = 4 * math.sqrt(max(p * (1 - p), 1e-4) * (1 / ess + 1 / ess_is))
            assert abs(row[key] - p) < tolerance, (name, key, row[key], p, tolerance)
        sd = float(np.log(post["irr"]).std())
        tolerance = 4 * 1.2533 * sd * math.sqrt(1 / ess + 1 / ess_is)
        assert abs(math.log(row["irr_median"] / s[name]["irr_median"])) < tolerance
    # The weights matter: the enthusiastic prior moves the answer well beyond that error.
    assert r["enthusiastic"]["prob_any_reduction"] - r["vague"]["prob_any_reduction"] > 0.1


DAYS_GRID = (f'specs = ["{PRIMARY_SPEC.parent / "days_in_care.toml"}"]\nseeds = [1]\n'
             '[priors]\nlibrary = ["vague"]\n'
             '[[priors.normal]]\ncentres_irr = [0.9]\nsds = [0.3]\n')


def test_days_in_care_cells_are_reweighted_with_their_parts(tmp_path):
    """A hurdle cell is reweighted from the vague fit, parts included, and agrees with its fit.

    The spec's own sampler settings: the base must pass the gate (bulk ESS >= 400 for every
    parameter of both parts), which 2 chains x 300 draws do not reach.
    """
    sampled = run_grid(None, write_grid(tmp_path, DAYS_GRID + "[reweighting]\nenabled = false\n",
                                        "s.toml"), out=tmp_path / "sampled")
    reweighted = run_grid(None, write_grid(tmp_path, DAYS_GRID, "r.toml"),
                          out=tmp_path / "reweighted")
    assert_routing(reweighted)
    s, r = by_prior(sampled), by_prior(reweighted)
    name = "normal(irr=0.9, sd=0.3)"
    row = r[name]
    # The base passes with room to spare (bulk ESS about 900 against 400) and the weights are
    # far inside the thresholds (k-hat below 0, importance ESS about 3000), on any machine.
    assert (row["path"], row["base"]) == ("reweighted", r["vague"]["cell"])
    assert set(row) == set(s[name])  # the keys of a sampled days-in-care row, parts included
    assert row["parts"] != r["vague"]["parts"]
    post = _posterior(sampled, s[name])
    ess_is = row["diagnostics"]["ess_importance"]
    checks = [(row, s[name], "irr")] + [(row["parts"][part], s[name]["parts"][part], f"{part}_irr")
                                        for part in ("zero", "positive")]
    for got, fitted, variable in checks:
        ess = float(az.ess(post[variable]))
        p = fitted["prob_any_reduction"]
        tolerance = 4 * math.sqrt(max(p * (1 - p), 1e-4) * (1 / ess + 1 / ess_is))
        assert abs(got["prob_any_reduction"] - p) < tolerance, (variable, got, p, tolerance)
        sd = float(np.log(post[variable]).std())
        tolerance = 4 * 1.2533 * sd * math.sqrt(1 / ess + 1 / ess_is)
        assert abs(math.log(got["irr_median"] / fitted["irr_median"])) < tolerance, variable


def test_to_xarray_has_one_dimension_per_axis(four_cells):
    _, reweighted = four_cells
    data = reweighted.to_xarray()
    assert dict(data.sizes) == {"spec": 1, "effect_prior": 4, "mcid": 1, "seed": 1}
    value = data["irr_median"].sel(effect_prior="sceptical").item()
    assert value == by_prior(reweighted)["sceptical"]["irr_median"]


def test_an_mcid_change_is_recomputed_from_the_same_draws(tmp_path, four_cells):
    sampled, _ = four_cells
    grid = write_grid(tmp_path, f'specs = ["{PRIMARY_SPEC}"]\nseeds = [11]\n'
                      'mcid = [0.1, 0.05]\n')
    result = run_grid(None, grid, out=tmp_path / "out")
    first, second = result.rows
    assert (first["path"], second["path"]) == ("sampled", "recomputed")
    assert second["base"] == first["cell"]
    assert first["irr_median"] == second["irr_median"] == by_prior(sampled)["vague"]["irr_median"]
    assert second["prob_meaningful_reduction"] > first["prob_meaningful_reduction"]
    assert second["new_la"]["prob_meaningful_reduction"] == swisbayes.fit(
        load_grid(grid).cells([swisbayes.load_spec(PRIMARY_SPEC)])[1].spec,
        swisbayes.load_example()).decision.new_la.prob_meaningful_reduction


def test_killed_run_resumes_without_redoing_finished_cells(tmp_path, reference):
    grid, expected = reference
    assert len(expected.rows) == 6
    assert_routing(expected)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "swisbayes", "sensitivity", "--grid", str(grid), "--out",
               str(out), "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rows = []
    deadline = time.monotonic() + 600  # a timeout for a hung run, not a timing check
    while time.monotonic() < deadline and proc.poll() is None:
        rows = list((out / "cells").glob("*.json")) if (out / "cells").exists() else []
        if len(rows) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert 2 <= len(finished) < 6, "the run must be killed with some cells done and some not"
    finished |= {p.with_suffix(".nc"): p.with_suffix(".nc").stat().st_mtime_ns
                 for p in list(finished) if p.with_suffix(".nc").exists()}

    resumed = subprocess.run(command, capture_output=True, text=True)
    # exit 3 when a cell failed its diagnostics, which at 500 + 500 depends on the machine
    assert resumed.returncode == (0 if expected.ok else 3), resumed.stderr
    assert "were already finished" in resumed.stdout
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was written again"
    runs = [e["run"] for e in read_log(out) if e["event"] == "start"]
    redone = {e["cell"] for e in read_log(out) if e["event"] == "cell" and e["run"] == runs[-1]}
    done_before = {p.stem for p in finished if p.suffix == ".json"}
    assert redone
    assert not redone & done_before
    assert len(redone) + len(done_before) == 6
    assert not list((out / "cells").glob(".*.tmp"))

    again = run_grid(None, grid, out=out)
    assert again.computed == []
    pd.testing.assert_frame_equal(again.table, expected.table)
    assert_routing(again)
    assert [(r["path"], r["base"]) for r in again.rows] == \
        [(r["path"], r["base"]) for r in expected.rows]


def test_corrupt_or_truncated_cell_files_are_recomputed(tmp_path, reference):
    grid, expected = reference
    out = tmp_path / "out"
    first = run_grid(None, grid, out=out)
    pd.testing.assert_frame_equal(first.table, expected.table)
    # A sampled cell loses half its netCDF; another cell (a reweighted one when the gate let
    # any be reweighted on this machine) gets a row that does not parse.
    sampled = next(r for r in first.rows if r["path"] == "sampled")
    other = next((r for r in first.rows if r["path"] == "reweighted"),
                 next(r for r in first.rows if r["cell"] != sampled["cell"]))
    netcdf = out / sampled["netcdf"]
    netcdf.write_bytes(netcdf.read_bytes()[: netcdf.stat().st_size // 2])  # truncated
    (out / "cells" / f"{other['cell']}.json").write_text('{"format": 1, "cell": ')
    again = run_grid(None, grid, out=out)
    assert sorted(again.computed) == sorted([sampled["cell"], other["cell"]])
    invalid = {e["cell"]: e["reason"] for e in read_log(out) if e["event"] == "invalid"}
    assert invalid == {sampled["cell"]: "netCDF checksum mismatch",
                       other["cell"]: "row does not parse (JSONDecodeError)"}
    pd.testing.assert_frame_equal(again.table, expected.table)


def test_two_worker_processes_give_the_serial_table(tmp_path, reference):
    grid, expected = reference
    result = run_grid(None, grid, out=tmp_path / "out", workers=2)
    assert len(result.computed) == 6
    pd.testing.assert_frame_equal(result.table, expected.table)


def test_dask_local_cluster_gives_the_serial_table(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    grid, expected = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = run_grid(None, grid, out=tmp_path / "out", scheduler=cluster.scheduler_address)
    assert len(result.computed) == 6
    pd.testing.assert_frame_equal(result.table, expected.table)


def test_failed_diagnostics_exit_3_and_are_never_reweighted_from(tmp_path):
    grid = write_grid(tmp_path, f'specs = ["{PRIMARY_SPEC}"]\n[priors]\n'
                      'library = ["vague", "sceptical"]\n'
                      '[sampler]\ndraws = 20\ntune = 20\nchains = 2\n')
    result = CliRunner().invoke(cli, ["sensitivity", "--grid", str(grid), "--out",
                                      str(tmp_path / "out"), "--json"])
    assert result.exit_code == 3, result.output
    rows = json.loads(result.stdout)
    assert [r["path"] for r in rows] == ["sampled", "sampled"]
    assert not any(r["diagnostics"]["ok"] for r in rows)
    assert "FAILED its convergence checks" in result.stderr


def _posterior(result, row: dict) -> xr.Dataset:
    tree = xr.load_datatree(Path(result.out) / row["netcdf"], engine="h5netcdf")
    return tree["posterior"].to_dataset()
