"""Shared fixtures: the bundled data, spec paths and a CSV writer that never touches the repo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import swisbayes

ROOT = Path(__file__).resolve().parents[1]
PRIMARY_SPEC = ROOT / "models" / "s47_primary.toml"


@pytest.fixture
def example() -> pd.DataFrame:
    """A fresh copy of the bundled synthetic SWIS dataset."""
    return swisbayes.load_example()


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write a frame to a CSV in a temporary directory and return its path."""

    def _write(frame: pd.DataFrame, name: str = "schools.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return _write


@pytest.fixture(scope="session")
def primary_spec() -> swisbayes.AnalysisSpec:
    return swisbayes.load_spec(PRIMARY_SPEC)


BUNDLED_REPORT_GROUP = "bundled_report"
"""The xdist group of every test reading :func:`bundled_report`: one worker builds it once."""


@pytest.fixture(scope="session")
def bundled_report(tmp_path_factory):
    """The decision report of the bundled data with the shipped specs (built once), and its
    HTML file; two worker processes, as the report is the same whichever number."""
    from swisbayes.report.run import make_report

    out = tmp_path_factory.mktemp("report") / "report.html"
    return make_report(data=swisbayes.load_example(), spec_dir=ROOT / "models", out=out,
                       workers=2), out


JOINT_MODEL_GROUP = "joint_model"
"""The tests that fit the joint model run on one worker (``xdist_group``): compiling it takes
about two minutes on a fresh machine, once; the other tests load it from the compile cache
instead of a second worker waiting for it."""


def pytest_itemcollected(item):
    """Run the tests that share a fixture on one worker, so that it is built once.

    Every test of the bundled report joins :data:`BUNDLED_REPORT_GROUP`; a test using a
    module-scoped fixture of its own module (most are fits on simulated data) joins a group
    named after the module. Otherwise xdist spreads such tests over both workers and each one
    builds the fixture again. A group set on the test itself stays. Marked as the test is
    collected: xdist reads the groups when the collection is modified.
    """
    if item.get_closest_marker("xdist_group") is not None:
        return
    if BUNDLED_REPORT_GROUP in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group(BUNDLED_REPORT_GROUP))
        return
    module = item.nodeid.split("::")[0]
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    if any(d.scope == "module" and d.baseid == module for defs in definitions for d in defs):
        item.add_marker(pytest.mark.xdist_group(module))


def clearly_outside(draws, interval: tuple[float, float], truth: float) -> bool:
    """Whether ``truth`` lies outside an equal-tailed 95% interval of ``draws`` by more than 4
    Monte Carlo SEs of the bound it is beyond.

    A truth near a bound is inside on one machine and outside on another (other floating-point
    bits, other draws); a coverage test that counts only clear misses has the same outcome on
    every machine. ``draws`` has dims (chain, draw).
    """
    import arviz as az

    lo, hi = interval
    if truth < lo:
        return lo - truth > 4 * float(az.mcse(np.asarray(draws), method="quantile", prob=0.025))
    if truth > hi:
        return truth - hi > 4 * float(az.mcse(np.asarray(draws), method="quantile", prob=0.975))
    return False
