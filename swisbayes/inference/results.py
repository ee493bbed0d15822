"""The results of a sampled fit: the base every fit shares, and its netCDF record of the gate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from swisbayes._base.atomic import write_atomic
from swisbayes.inference.diagnostics import Diagnostics

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Attempt:
    """One sampling run of a fit (a fit that fails the gate is retried once)."""

    target_accept: float
    seed: int
    seconds: float
    diagnostics: Diagnostics


@dataclass(frozen=True, kw_only=True)
class SampledResult:
    """What every fit through the diagnostics gate has: its draws, their checks and provenance.

    :class:`~swisbayes.inference.fitting.FitResult` (one outcome) and
    :class:`~swisbayes.inference.joint.JointResult` (several outcomes together) extend it.

    Parameters
    ----------
    idata : xarray.DataTree
        Posterior and sample stats (and constant and observed data where the sampler gives
        them).
    diagnostics : Diagnostics
        Diagnostics of the reported (last) attempt.
    attempts : tuple of Attempt
        Every sampling run, in order.
    provenance : dict
        Versions, spec, data source and hash, seed, sampler settings.
    """

    idata: xr.DataTree
    diagnostics: Diagnostics
    attempts: tuple[Attempt, ...]
    provenance: dict

    @property
    def ok(self) -> bool:
        """True when the reported fit passed the diagnostics gate."""
        return self.diagnostics.ok

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior draws."""
        return self.idata["posterior"].to_dataset()

    @property
    def warning(self) -> str:
        """The loud warning a failed fit carries in front of its numbers ("" when it passed)."""
        if self.ok:
            return ""
        return ("WARNING: this fit FAILED its convergence checks and its numbers are unreliable ("
                + "; ".join(self.diagnostics.reasons) + ").")

    def _save(self, path: str | Path, attrs: dict[str, str]) -> Path:
        """Write the draws with ``attrs``, the gate record and provenance (atomically)."""
        return save_with_gate(self.idata, path, attrs, provenance=self.provenance,
                              attempts=self.attempts)


def save_with_gate(idata: xr.DataTree, path: str | Path, attrs: dict[str, str], *,
                   provenance: dict, attempts: Sequence[Attempt]) -> Path:
    """Write a posterior to netCDF atomically, with its gate record and provenance as attributes.

    Parameters
    ----------
    idata : xarray.DataTree
    path : str or pathlib.Path
    attrs : dict of str to str
        Further attributes (the spec as JSON).
    provenance : dict
    attempts : sequence of Attempt
        Every sampling run; the last one's diagnostics are those reported.

    Returns
    -------
    pathlib.Path
    """
    tree = idata.copy()
    tree.attrs.update({
        **attrs,
        "swisbayes_provenance": json.dumps(provenance, sort_keys=True),
        "swisbayes_diagnostics": json.dumps(attempts[-1].diagnostics.to_dict()),
        "swisbayes_attempts": json.dumps([
            {"target_accept": a.target_accept, "seed": a.seed, "seconds": a.seconds,
             "diagnostics": a.diagnostics.to_dict()} for a in attempts]),
    })
    return write_atomic(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def load_gate_attrs(tree: xr.DataTree) -> tuple[Diagnostics, tuple[Attempt, ...], dict]:
    """Diagnostics, attempts and provenance stored by :func:`save_with_gate`."""
    attempts = tuple(Attempt(a["target_accept"], a["seed"], a["seconds"],
                             Diagnostics.from_dict(a["diagnostics"]))
                     for a in json.loads(tree.attrs["swisbayes_attempts"]))
    diagnostics = Diagnostics.from_dict(json.loads(tree.attrs["swisbayes_diagnostics"]))
    return diagnostics, attempts, json.loads(tree.attrs["swisbayes_provenance"])


__all__ = ["Attempt", "SampledResult"]
