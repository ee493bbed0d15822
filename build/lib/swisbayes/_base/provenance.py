"""Provenance recorded with every result: versions, inputs and settings."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version(name: str = "swisbayes") -> str:
    """Installed version of a distribution, or ``"unknown"`` when it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of swisbayes and the libraries a fit depends on."""
    return {name: package_version(name) for name in
            ("swisbayes", "pymc", "pytensor", "nutpie", "arviz", "numpy", "xarray")}
