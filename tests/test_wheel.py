"""An installed wheel works outside the repository, with the shipped default specs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "swisbayes", "models")
"""What the wheel is built from (``swisbayes/specs`` links to ``models``)."""

# both tests share one built wheel, so they run on one worker
pytestmark = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel and installed (not editable) into its own directory."""
    base = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the source tree (build/, *.egg-info): build from a copy, so the
    # checkout is left as it was and no other process building from it gets in the way
    source = base / "source"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(base / "dist"), str(source)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("swisbayes-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(base / "site"), str(wheel)], check=True, capture_output=True)
    return base / "site"


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # the installed copy comes first on the path; dependencies come from this environment
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "swisbayes", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_the_wheel_ships_the_default_specs(installed: Path):
    specs = installed / "swisbayes" / "specs"
    shipped = {p.name for p in specs.glob("*.toml")}
    assert shipped == {p.name for p in (ROOT / "models").glob("*.toml")}
    assert not specs.is_symlink()
    for name in shipped:  # byte for byte the files of models/: one source
        assert (specs / name).read_bytes() == (ROOT / "models" / name).read_bytes()
    examples = {p.relative_to(ROOT / "models") for p in (ROOT / "models").glob("examples/*/*.toml")}
    assert examples, "models/examples has no spec"
    assert {p.relative_to(specs) for p in specs.glob("examples/*/*.toml")} == examples
    data = installed / "swisbayes" / "data" / "files"
    assert {"other_trial_example.csv", "other_trial_example.json"} <= {p.name for p in
                                                                        data.iterdir()}


@pytest.mark.slow
def test_installed_package_fits_a_shipped_spec_from_another_directory(installed: Path,
                                                                        tmp_path: Path):
    probe = subprocess.run([sys.executable, "-c", "import swisbayes; print(swisbayes.__file__)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
                           capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()).is_relative_to(installed)
    done = _run(installed, tmp_path, "fit", "s47_primary", "--json", "--draws", "300",
                "--tune", "300")
    assert done.returncode in (0, 3), done.stderr
    result = json.loads(done.stdout)
    assert result["analysis"] == "s47_primary"
    assert 0.5 < result["irr_median"] < 2.0
