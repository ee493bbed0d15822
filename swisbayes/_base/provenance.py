"""Provenance recorded with every result: versions, inputs and settings."""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


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


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the ``file_sha256`` of a result read from a file).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    str
        64 hex digits, as ``sha256sum`` prints them.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LEGACY_CONTENT_SCOPE = "the analysed columns only (saved by an earlier swisbayes)"
"""``content_sha256_scope`` of a result saved when provenance had one ``data_sha256``."""


def read_provenance(stored: dict) -> dict:
    """Saved provenance with its data hashes under their current names.

    A result saved before provenance said what it hashed has one ``data_sha256``, the hash of
    the typed columns of the outcome and covariates it analysed. It is read as
    ``content_sha256``, with ``file_sha256`` None (the file's bytes were not hashed) and
    ``content_sha256_scope`` saying that it covers those columns only, so that it is never
    taken for the hash of a whole table. Newer provenance is returned as it is.

    Parameters
    ----------
    stored : dict
        Provenance as saved (e.g. a netCDF file's ``swisbayes_provenance`` attribute).

    Returns
    -------
    dict
        A new dict; ``stored`` is not modified.

    Examples
    --------
    >>> read_provenance({"data_sha256": "ab12", "seed": 1})["content_sha256"]
    'ab12'
    >>> read_provenance({"file_sha256": None, "content_sha256": "cd34"})
    {'file_sha256': None, 'content_sha256': 'cd34'}
    """
    provenance = dict(stored)
    if "data_sha256" in provenance and "content_sha256" not in provenance:
        provenance["content_sha256"] = provenance.pop("data_sha256")
        provenance["file_sha256"] = None
        provenance["content_sha256_scope"] = LEGACY_CONTENT_SCOPE
    return provenance
