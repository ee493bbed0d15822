"""The power-scaling screen over a sensitivity run's sampled fits, compared with the grid."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from swisbayes._base.atomic import write_text_atomic
from swisbayes.data.io import SchoolData
from swisbayes.spec.grid import PRIOR_AXIS, SPEC_AXIS

if TYPE_CHECKING:
    from swisbayes.workflows.sensitivity import SensitivityResult
from swisbayes.inference.screen import THRESHOLD, ScreenResult, power_scaling_screen

GRID_SPREAD = 0.1
"""Range of P(meaningful reduction) across the grid's priors that counts as prior-sensitive."""


def screen_grid(result: SensitivityResult,
                data: str | Path | pd.DataFrame | SchoolData | None = None, *,
                threshold: float = THRESHOLD) -> list[ScreenResult]:
    """Screen every sampled (base) fit of a sensitivity run.

    Parameters
    ----------
    result : SensitivityResult
        A run written to an output directory (its sampled cells' netCDF files are read).
    data : path, DataFrame or SchoolData, optional
        The run's data; the bundled synthetic data when None.
    threshold : float, default 0.05

    Returns
    -------
    list of ScreenResult
        One per sampled cell, in grid order.

    Raises
    ------
    ValueError
        If the run kept no output directory (``out=None``: its files are gone).
    """
    from swisbayes.inference.fitting import FitResult

    if result.out is None:
        raise ValueError("the screen reads the sampled cells' files: run the grid with out=DIR")
    screens = []
    for row in result.rows:
        if row["path"] != "sampled":
            continue
        fit = FitResult.from_netcdf(result.out / row["netcdf"])
        screen = power_scaling_screen(fit, data, threshold=threshold)
        screens.append(ScreenResult(screen.analysis, row["axes"][PRIOR_AXIS], screen.values,
                                    threshold, row["cell"], dict(row["axes"])))
    return screens


def grid_spread(table: pd.DataFrame, column: str = "prob_meaningful_reduction") -> pd.Series:
    """The largest change of a column across the grid's priors, by spec.

    The range (max - min) over the prior axis is taken with every other axis held fixed
    (MCID, hyperprior scales, seed), and the largest such range is reported.

    Parameters
    ----------
    table : pandas.DataFrame
        The run's tidy table (:attr:`SensitivityResult.table`).
    column : str, default "prob_meaningful_reduction"

    Returns
    -------
    pandas.Series
        Indexed by spec name.
    """
    axes = [c for c in table.columns[:table.columns.get_loc("cell")]
            if c not in (SPEC_AXIS, PRIOR_AXIS)]
    keys = [SPEC_AXIS, *axes]
    ranges = table.groupby(keys, dropna=False)[column].agg(lambda s: s.max() - s.min())
    return ranges.groupby(level=SPEC_AXIS).max()


def compare_with_grid(screens: Sequence[ScreenResult], table: pd.DataFrame, *,
                      spread: float = GRID_SPREAD) -> list[str]:
    """Notes where the screen and the grid disagree about an outcome's prior sensitivity.

    The grid calls a spec prior-sensitive when P(meaningful reduction) moves by more than
    ``spread`` across its priors (:func:`grid_spread`); the screen when any of its sampled fits
    is flagged.

    Parameters
    ----------
    screens : sequence of ScreenResult
    table : pandas.DataFrame
        The run's tidy table.
    spread : float, default 0.1

    Returns
    -------
    list of str
        One note per disagreeing spec (empty when they agree).
    """
    ranges = grid_spread(table)
    notes = []
    for spec, moved in ranges.items():
        mine = [s for s in screens if s.analysis == spec]
        if not mine or math.isnan(moved):
            continue
        flagged = [s.prior for s in mine if s.flagged]
        if flagged and moved <= spread:
            notes.append(f"{spec}: the screen flags the fit(s) under {', '.join(flagged)}, but "
                         f"P(meaningful reduction) moves by only {moved:.2f} across the grid's "
                         "priors: the local sensitivity does not change the decision here")
        elif not flagged and moved > spread:
            notes.append(f"{spec}: the screen finds no prior sensitivity near "
                         f"{', '.join(s.prior for s in mine)}, but P(meaningful reduction) moves "
                         f"by {moved:.2f} across the grid's priors: the grid's stronger or "
                         "more distant priors matter, a local screen cannot see that")
    return notes


def write_screen(screens: Sequence[ScreenResult], notes: Sequence[str],
                 path: str | Path) -> Path:
    """Write the screens and the disagreement notes as JSON, atomically.

    Parameters
    ----------
    screens : sequence of ScreenResult
    notes : sequence of str
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path
    """
    content = {"rule": f"flagged when the effect's power-scaling prior sensitivity >= "
                       f"{screens[0].threshold if screens else THRESHOLD:g} (prior-data "
                       "conflict if the likelihood sensitivity is too, else strong prior / "
                       "weak likelihood)",
               "screens": [s.to_dict() for s in screens], "disagreements": list(notes)}
    return write_text_atomic(path, json.dumps(content, indent=2) + "\n")


__all__ = ["GRID_SPREAD", "compare_with_grid", "grid_spread", "screen_grid", "write_screen"]
