"""The results of a sampled fit: the base every fit shares, and its netCDF record of the gate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.atomic import write_atomic
from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.provenance import read_provenance
from swisbayes._base.text import format_estimate
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
        Versions, spec, data source, the data's ``file_sha256`` (its file's bytes; None for a
        table given in memory) and ``content_sha256`` (the table's values,
        :func:`~swisbayes.data.io.content_sha256`), seed, sampler settings.
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
    return diagnostics, attempts, read_provenance(json.loads(tree.attrs["swisbayes_provenance"]))


class SummaryTable(pd.DataFrame):
    """A posterior summary: its numbers unrounded, printed so that each can be read.

    ESS columns print as whole numbers, R-hat to three decimals, and every other number to at
    least three decimals and three significant figures
    (:func:`~swisbayes._base.text.format_estimate`): an interval bound of 1.016 prints as
    1.016, never as "1". Computing with the table uses the exact numbers, and
    :meth:`formatted` gives the printed text.
    """

    @property
    def _constructor(self):
        return SummaryTable

    def formatted(self) -> pd.DataFrame:
        """The table as the text it prints (one string per cell)."""
        return pd.DataFrame({column: [_summary_cell(str(column), v) for v in self[column]]
                             for column in self.columns}, index=self.index)

    def __repr__(self) -> str:
        return self.formatted().to_string()

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str:
        return self.formatted().to_html()


def _summary_cell(column: str, value: object) -> str:
    if not isinstance(value, int | float | np.number) or not np.isfinite(value):
        return str(value)
    if column.startswith("ess_"):
        return str(int(np.floor(value)))
    if column == "r_hat":
        return f"{value:.3f}"
    return format_estimate(float(value))


def posterior_summary(posterior: xr.Dataset, names: Sequence[str], *,
                      ci_prob: float | None = None) -> SummaryTable:
    """Mean, SD, equal-tailed interval, ESS, R-hat and MCSE of each variable in ``names``.

    Parameters
    ----------
    posterior : xarray.Dataset
    names : sequence of str
        Variables, in the order of the rows.
    ci_prob : float, optional
        Probability of the interval (its columns are ``eti{100 ci_prob}_lb``/``_ub``); the
        package default, 0.95, when None.

    Returns
    -------
    SummaryTable
        One row per variable element (``arviz.summary`` columns), unrounded.
    """
    import arviz as az

    table = az.summary(posterior[list(names)], ci_prob=validate_ci_prob(ci_prob), ci_kind="eti",
                       round_to="none")
    return SummaryTable(table)


__all__ = ["Attempt", "SampledResult", "SummaryTable", "posterior_summary"]
