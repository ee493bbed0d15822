"""Provenance says what it hashed: ``file_sha256`` (the bytes of the data file) and
``content_sha256`` (the table's typed values), the same in a fit, the report and a grid read
from one file; results saved with the older ``data_sha256`` still read; summary tables print
enough digits that an interval never seems to touch 1 when it does not."""

from __future__ import annotations

import hashlib
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import swisbayes
from swisbayes._base.provenance import LEGACY_CONTENT_SCOPE, read_provenance
from swisbayes.cli import cli
from swisbayes.data.io import content_sha256, read_school_data
from swisbayes.economics.net_benefit import load_economics
from swisbayes.inference.diagnostics import Diagnostics
from swisbayes.inference.fitting import FitResult
from swisbayes.inference.results import load_gate_attrs, posterior_summary
from swisbayes.report.tables import provenance_rows
from swisbayes.report.view import ratio_text
from swisbayes.spec.grid import Grid
from swisbayes.workflows.keys import cell_keys
from swisbayes.workflows.store import read_log

from .conftest import PRIMARY_SPEC


def _bytes_sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- the hashes


def test_content_hash_is_one_per_table_whatever_the_format(example, tmp_path, write_csv):
    parquet = tmp_path / "schools.parquet"
    example.to_parquet(parquet, index=False)
    spelled = example.astype({"arm": object, "school_id": object})
    spelled["arm"] = np.where(example["arm"] == 1, " SWIS", "control ")  # accepted spellings
    spelled["school_id"] = " " + example["school_id"] + " "  # ids are read trimmed
    hashes = {content_sha256(example), content_sha256(spelled),
              read_school_data(write_csv(example)).content_sha256,
              read_school_data(parquet).content_sha256}
    assert len(hashes) == 1
    assert re.fullmatch("[0-9a-f]{64}", hashes.pop())


@pytest.mark.parametrize("change", [
    lambda f: f.assign(days_in_care=f["days_in_care"] + 1),  # a column s47 does not read
    lambda f: f.assign(notes="checked"),  # a column no analysis reads
    lambda f: f.rename(columns={"fsm_pct": "fsm_percent"}),
    lambda f: f.iloc[::-1].reset_index(drop=True),
    lambda f: f.iloc[:-1],
], ids=["unanalysed-cell", "extra-column", "column-name", "row-order", "a-row-less"])
def test_content_hash_changes_with_anything_in_the_table(example, change):
    assert content_sha256(change(example)) != content_sha256(example)


def test_content_hash_does_not_change_its_input(example):
    before = example.copy(deep=True)
    content_sha256(example)
    pd.testing.assert_frame_equal(example, before)


def test_one_csv_read_two_ways_gives_the_same_hashes(example, write_csv):
    path = write_csv(example)
    for_s47 = read_school_data(path, outcomes=["s47"], covariates=["fsm_pct"])
    everything = read_school_data(str(path))
    rechecked = read_school_data(for_s47, outcomes=["care_entry", "days_in_care"])
    hashes = {(d.file_sha256, d.content_sha256) for d in (for_s47, everything, rechecked)}
    assert hashes == {(_bytes_sha256(path), content_sha256(example))}


def test_data_given_in_memory_have_no_file_hash(example, write_csv):
    in_memory = read_school_data(example, outcomes=["s47"])
    bundled = read_school_data(swisbayes.load_example(), outcomes=["s47"])
    from_file = read_school_data(write_csv(example), outcomes=["s47"])
    assert in_memory.file_sha256 is None
    assert bundled.file_sha256 is None
    assert in_memory.content_sha256 == bundled.content_sha256 == from_file.content_sha256


def test_file_hash_is_of_the_bytes_as_given(example, tmp_path):
    unix, windows = tmp_path / "unix.csv", tmp_path / "windows.csv"
    example.to_csv(unix, index=False)
    example.to_csv(windows, index=False, lineterminator="\r\n")
    a, b = read_school_data(unix), read_school_data(windows)
    assert (a.file_sha256, b.file_sha256) == (_bytes_sha256(unix), _bytes_sha256(windows))
    assert a.file_sha256 != b.file_sha256
    assert a.content_sha256 == b.content_sha256  # the same table


def test_a_grid_cell_hash_follows_the_content_not_the_file(example, tmp_path, write_csv,
                                                           primary_spec):
    parquet = tmp_path / "schools.parquet"
    example.to_parquet(parquet, index=False)
    cell = Grid.from_dict({"priors": {"library": ["vague"]}}).cells([primary_spec])[0]
    csv_key = cell_keys(cell, read_school_data(write_csv(example)).content_sha256)
    parquet_key = cell_keys(cell, read_school_data(parquet).content_sha256)
    changed = example.assign(s47=example["s47"] + 1)
    changed_key = cell_keys(cell, read_school_data(changed).content_sha256)
    assert csv_key == parquet_key
    assert changed_key.cell != csv_key.cell
    assert changed_key.draws != csv_key.draws


def test_report_provenance_names_both_hashes(example, write_csv):
    path = write_csv(example)
    rows = dict(provenance_rows([], read_school_data(path), load_economics(), None))
    assert rows["file_sha256 (the data file's bytes)"] == _bytes_sha256(path)
    assert rows["content_sha256 (the table's values)"] == content_sha256(example)
    in_memory = dict(provenance_rows([], read_school_data(example), load_economics(), None))
    assert in_memory["file_sha256 (the data file's bytes)"].startswith("none: ")


# ----------------------------------------------------------------------------- older results


def test_older_provenance_reads_its_data_hash_as_a_content_hash_of_fewer_columns():
    old = {"data_sha256": "ab" * 32, "seed": 3}
    new = read_provenance(old)
    assert new == {"content_sha256": "ab" * 32, "file_sha256": None, "seed": 3,
                   "content_sha256_scope": LEGACY_CONTENT_SCOPE}
    assert old == {"data_sha256": "ab" * 32, "seed": 3}  # not modified
    current = {"file_sha256": None, "content_sha256": "cd" * 32}
    assert read_provenance(current) == current


def test_a_saved_fit_with_data_sha256_still_loads():
    diagnostics = {"rhat_max": 1.0, "rhat_worst": "irr", "ess_bulk_min": 4000.0,
                   "ess_worst": "irr", "divergences": 0, "ok": True, "reasons": []}
    tree = xr.DataTree(xr.Dataset(attrs={
        "swisbayes_provenance": json.dumps({"data_sha256": "ef" * 32, "n_las": 21}),
        "swisbayes_diagnostics": json.dumps(diagnostics),
        "swisbayes_attempts": json.dumps([{"target_accept": 0.8, "seed": 1, "seconds": 2.0,
                                           "diagnostics": diagnostics}])}))
    loaded, attempts, provenance = load_gate_attrs(tree)
    assert loaded == Diagnostics.from_dict(diagnostics)
    assert len(attempts) == 1
    assert (provenance["file_sha256"], provenance["content_sha256"]) == (None, "ef" * 32)
    assert "data_sha256" not in provenance


# ----------------------------------------------------------------------------- digits


def _posterior(upper: float) -> xr.Dataset:
    """Draws of an IRR whose 97.5% quantile is ``upper`` (and of its log)."""
    q = np.linspace(0.0, 1.0, 4000)
    irr = 0.9 + (upper - 0.9) * q / 0.975
    rng = np.random.default_rng(1)
    irr = rng.permutation(irr).reshape(4, 1000)
    return xr.Dataset({"irr": (("chain", "draw"), irr),
                       "log_irr": (("chain", "draw"), np.log(irr))})


@pytest.mark.parametrize(("upper", "printed"), [(1.016, "1.016"), (0.9962, "0.996"),
                                                 (1.0004, "1.000")])
def test_summary_prints_an_interval_bound_to_three_decimals(upper, printed):
    table = posterior_summary(_posterior(upper), ["irr", "log_irr"])
    assert table.loc["irr", "eti95_ub"] == pytest.approx(upper)  # the numbers are not rounded
    assert table.formatted().loc["irr", "eti95_ub"] == printed
    line = next(x for x in repr(table).splitlines() if x.startswith("irr "))
    assert printed in line.split()
    assert "1" not in line.split()  # no estimate of the ratio prints as a bare 1
    assert table.formatted().loc["irr", "ess_bulk"].isdigit()


def test_fit_result_summary_prints_enough_digits(primary_spec):
    fit = FitResult(idata=xr.DataTree.from_dict({"posterior": _posterior(1.016)}),
                    spec=primary_spec, decision=None, diagnostics=None, attempts=(),
                    provenance={})
    summary = fit.summary()
    assert list(summary.index) == ["irr", "log_irr"]
    assert summary.formatted().loc["irr", "eti95_ub"] == "1.016"
    assert "1.016" in repr(summary)
    assert "1.016" in summary._repr_html_()
    assert isinstance(summary.loc["irr", "eti95_ub"], float)


def test_report_ratio_cells_keep_three_decimals():
    s = SimpleNamespace(median=0.9512, ci=(0.9004, 0.9962))
    assert ratio_text(s) == "0.951 (0.900\u20130.996)"
    assert ratio_text(SimpleNamespace(median=0.97, ci=(0.93, 1.016))).endswith("1.016)")


# ----------------------------------------------------------------------------- end to end


TINY = "draws = 100\ntune = 100\nchains = 2\n"


@pytest.mark.slow
def test_fit_report_and_grid_of_one_file_carry_the_same_hashes(example, tmp_path, write_csv):
    path = write_csv(example)
    want = {"file_sha256": _bytes_sha256(path), "content_sha256": content_sha256(example)}

    # the fit, through the command line (exit 3 only if these short chains fail the gate)
    run = CliRunner().invoke(cli, ["fit", "s47_primary", "--data", str(path), "--json",
                                   "--draws", "100", "--tune", "100", "--chains", "2"])
    assert run.exit_code in (0, 3), run.output
    fitted = json.loads(run.stdout)
    assert {k: fitted[k] for k in want} == want

    # the report, from a spec folder holding the primary analysis with short chains
    specs = tmp_path / "specs"
    specs.mkdir()
    text = PRIMARY_SPEC.read_text()
    (specs / "s47_primary.toml").write_text(
        text.replace("draws = 1000\ntune = 1000\nchains = 4\n", TINY))
    report = swisbayes.make_report(data=path, spec_dir=specs, out=tmp_path / "report.html",
                                   priors=("vague",))
    rows = dict(report.report.provenance)
    assert rows["file_sha256 (the data file's bytes)"] == want["file_sha256"]
    assert rows["content_sha256 (the table's values)"] == want["content_sha256"]
    fit = report.analyses[0].results["vague"].fit
    assert {k: fit.to_dict()[k] for k in want} == want
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert want["file_sha256"] in html
    assert want["content_sha256"] in html

    # the grid: its rows, its table and its run log
    grid = tmp_path / "grid.toml"
    grid.write_text(f'name = "grid"\nspecs = ["{PRIMARY_SPEC}"]\nseeds = [5]\n'
                    f'[priors]\nlibrary = ["vague", "sceptical"]\n[sampler]\n{TINY}')
    result = swisbayes.run_grid(None, grid, path, out=tmp_path / "grid")
    assert result.rows
    assert all({k: r[k] for k in want} == want for r in result.rows)
    table = pd.read_csv(tmp_path / "grid" / "table.csv")
    assert set(table["file_sha256"]) == {want["file_sha256"]}
    assert set(table["content_sha256"]) == {want["content_sha256"]}
    end = [e for e in read_log(tmp_path / "grid") if e["event"] == "end"][-1]
    assert {k: end[k] for k in want} == want
