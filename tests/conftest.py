"""Shared fixtures: the bundled data, spec paths and a CSV writer that never touches the repo."""

from __future__ import annotations

from pathlib import Path

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
