"""The tidy row of one cell: decision quantities, diagnostics, provenance and how it was obtained.

A row has the keys of ``swisbayes fit --json``
(:meth:`swisbayes.inference.fitting.FitResult.to_dict`),
plus:

- ``cell``, ``draws``, ``group``: the hashes of :class:`~swisbayes.workflows.keys.CellKeys`;
- ``axes``: the cell's value on each grid axis;
- ``path``: ``"sampled"`` (fitted), ``"reweighted"`` (importance weights on the draws of
  ``base``) or ``"recomputed"`` (the draws of ``base`` with equal weights: only the MCID
  differs, or the two priors are the same density);
- ``base``: the sampled cell whose draws were used (None for a sampled cell);
- ``diagnostics``: for a derived row, the base fit's, with ``pareto_khat`` and
  ``ess_importance`` (None for sampled and recomputed rows);
- ``file_sha256``/``content_sha256`` (from the fit's keys): the data its draws were fitted to, so
  a derived row has its base's. The cell hash covers ``content_sha256`` only, so a resumed run
  reuses a cell for the same table saved as another file, and the row keeps the
  ``file_sha256`` of the file it was computed from;
- ``netcdf``/``netcdf_sha256``: the posterior file of a sampled cell and its checksum;
- ``spec``: the cell's spec with its prior resolved; ``format``: the row layout version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from swisbayes.data.io import SchoolData
from swisbayes.decision.summaries import DecisionSummary
from swisbayes.inference.reweight import Reweighted
from swisbayes.spec.grid import Cell
from swisbayes.workflows.keys import CellKeys
from swisbayes.workflows.store import ROW_FORMAT

FIT_RECORD_KEYS = ("diagnostics", "analysis", "file_sha256", "content_sha256", "seed",
                   "sampler", "swisbayes_version")
"""Keys of a fit's JSON that are not decision quantities (a derived row copies its base's)."""


@dataclass(frozen=True)
class Entry:
    """A cell with its hashes and data, as the grid's plan handles it."""

    cell: Cell
    keys: CellKeys
    data: SchoolData

    @property
    def name(self) -> str:
        """The cell hash."""
        return self.keys.cell


def _identity(entry: Entry) -> dict:
    return {"format": ROW_FORMAT, "cell": entry.keys.cell, "draws": entry.keys.draws,
            "group": entry.keys.group, "axes": dict(entry.cell.axes)}


def sampled_row(entry: Entry, payload: dict, netcdf: str, sha256: str, spec_json: str) -> dict:
    """The row of a sampled cell.

    Parameters
    ----------
    entry : Entry
    payload : dict
        What :func:`swisbayes.workflows.worker.sample_cell` returned.
    netcdf : str
        Path of its posterior file, relative to the output directory.
    sha256 : str
        Checksum of that file.
    spec_json : str
        The fitted spec (prior resolved).

    Returns
    -------
    dict
    """
    fit = payload["fit"]
    diagnostics = {**fit["diagnostics"], "pareto_khat": None, "ess_importance": None}
    return _plain({**_identity(entry), "path": "sampled", "base": None, **fit,
                   "diagnostics": diagnostics, "netcdf": netcdf, "netcdf_sha256": sha256,
                   "spec": json.loads(spec_json), "seconds": payload["seconds"]})


def derived_row(entry: Entry, base: dict, decision: DecisionSummary, spec_json: str,
                reweighted: Reweighted | None) -> dict:
    """The row of a cell answered from a sampled cell's draws.

    Parameters
    ----------
    entry : Entry
    base : dict
        The sampled cell's row.
    decision : DecisionSummary
        Decision quantities from its draws (weighted or not).
    spec_json : str
        This cell's spec (prior resolved).
    reweighted : Reweighted or None
        The importance weights; None when the draws were used with equal weights.

    Returns
    -------
    dict
    """
    record = {k: base[k] for k in FIT_RECORD_KEYS}
    weighted = reweighted is not None and reweighted.weights is not None
    record["diagnostics"] = {
        **base["diagnostics"],
        "pareto_khat": reweighted.pareto_khat if weighted else None,
        "ess_importance": reweighted.ess if weighted else None,
    }
    return _plain({**_identity(entry), "path": "reweighted" if weighted else "recomputed",
                   "base": base["cell"], **decision.to_dict(), **record,
                   "overrides": dict(entry.cell.spec.overrides), "netcdf": None,
                   "netcdf_sha256": None, "spec": json.loads(spec_json), "seconds": 0.0})


def _plain(row: dict) -> dict:
    """The row as it reads back from JSON, so a resumed run's rows equal a fresh run's."""
    return json.loads(json.dumps(row, allow_nan=True))


__all__ = ["FIT_RECORD_KEYS", "Entry", "derived_row", "sampled_row"]
