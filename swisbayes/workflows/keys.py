"""Hashes that identify a cell, its draws and its group (see :class:`CellKeys`).

A cell's hash covers its spec (prior, hyperpriors, MCID, sampler settings and seed), the data,
the package version and, for an unresolved pilot-informed prior, the pilots file: a re-run
with the same of all of these finds the cell finished, and any change computes it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from swisbayes._base.provenance import package_version
from swisbayes.priors.library import PILOT_PRIOR
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.hyper import half_normal_paths, set_scale

if TYPE_CHECKING:
    from swisbayes.spec.grid import Cell

HASH_FORMAT = 2
"""Bump when what a cell's hash covers changes (old cells are then recomputed); 2: the data
hash is ``content_sha256``, of the whole table."""


@dataclass(frozen=True)
class CellKeys:
    """Hashes that identify a cell, its draws and the cells that may share draws.

    Parameters
    ----------
    cell : str
        The cell: spec (prior, hyperpriors, MCID, sampler and seed), data and package version.
    draws : str
        The same without the decision settings: cells with equal ``draws`` have the same
        posterior.
    group : str
        The same without the effect prior and the half-normal scales either: cells of one group
        differ only in what importance reweighting can change.
    """

    cell: str
    draws: str
    group: str


def cell_keys(cell: Cell, content_sha256: str) -> CellKeys:
    """The hashes that identify a cell (see :class:`CellKeys`).

    Parameters
    ----------
    cell : Cell
    content_sha256 : str
        :func:`~swisbayes.data.io.content_sha256` of the data the cell is fitted to (not the
        file's bytes: the same table as CSV or Parquet is the same data).

    Returns
    -------
    CellKeys
    """
    # what was overridden is a record of how the spec was made, not part of what it fits
    spec = cell.spec.model_dump(mode="json", exclude={"overrides"})
    base = {"format": HASH_FORMAT, "content_sha256": content_sha256,
            "swisbayes_version": package_version()}
    pilots = {"pilots_sha256": _pilots_sha256(cell.spec)}  # part of the effect prior
    draws = {**spec, "decision": None}
    group = json.loads(json.dumps(draws))
    group["priors"]["effect"] = None
    for path in half_normal_paths():
        set_scale(group["priors"]["hyper"], path, None)
    return CellKeys(cell=_digest({**base, **pilots, "spec": spec}),
                    draws=_digest({**base, **pilots, "spec": draws}),
                    group=_digest({**base, "spec": group}))


def _pilots_sha256(spec: AnalysisSpec) -> str | None:
    """Hash of the pilots file behind an unresolved pilot-informed prior (None otherwise)."""
    effect = spec.priors.effect
    if effect.name != PILOT_PRIOR or effect.weights is not None or effect.mean is not None:
        return None
    path = effect.pilot_settings(spec.outcome).pilots_path()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


__all__ = ["HASH_FORMAT", "CellKeys", "cell_keys"]
