"""Every count-outcome spec in models/ fits the bundled data cleanly and recovers its truth."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli

from .conftest import ROOT

COUNT_SPECS = ("s47_primary", "referrals", "s17", "care_entry")


@pytest.fixture(scope="module")
def fitted():
    payload = CliRunner().invoke(cli, ["fit", "--all", "--spec-dir", str(ROOT / "models"),
                                       "--json"], catch_exceptions=False)
    assert payload.exit_code == 0, payload.output
    return {row["analysis"]: row for row in json.loads(payload.output)}


@pytest.mark.slow
def test_every_count_spec_passes_the_gate_and_covers_the_synthetic_truth(fitted):
    truth = swisbayes.load_example().attrs["swisbayes"]["truth"]["irr"]
    assert set(fitted) >= set(COUNT_SPECS)
    for name in COUNT_SPECS:
        row = fitted[name]
        assert row["diagnostics"]["ok"], (name, row["diagnostics"]["reasons"])
        lo, hi = row["irr_ci95"]
        assert lo < truth[row["outcome"]] < hi, name


@pytest.mark.slow
def test_fit_all_table_has_one_row_per_spec():
    result = CliRunner().invoke(cli, ["fit", "--all", "--spec-dir", str(ROOT / "models")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()[1:]
    assert [r.split()[0] for r in rows] == sorted(COUNT_SPECS)
    assert all(r.endswith("ok") for r in rows)


def test_fit_needs_exactly_one_of_spec_and_all(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["fit"]).exit_code == 2
    both = runner.invoke(cli, ["fit", str(ROOT / "models" / "s47_primary.toml"), "--all"])
    assert both.exit_code == 2
    assert "give either SPEC or --all" in both.output
    (tmp_path / "pilots.toml").write_text((ROOT / "models" / "pilots.toml").read_text())
    empty = runner.invoke(cli, ["fit", "--all", "--spec-dir", str(tmp_path)])
    assert empty.exit_code == 2
    assert "no analysis specs" in empty.output
