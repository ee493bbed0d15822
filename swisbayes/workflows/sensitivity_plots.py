"""Figures of a sensitivity run: the decision probability against the prior, and heat maps.

Both draw the run's own numbers (:attr:`SensitivityResult.table` and
:meth:`SensitivityResult.to_xarray`); save them with :func:`swisbayes.plots.basic.save_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from swisbayes.plots.basic import save_figure
from swisbayes.plots.canvas import axes_for
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.grid import PRIOR_AXIS, SPEC_AXIS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from swisbayes.workflows.sensitivity import SensitivityResult

DECISION_THRESHOLD = 0.8
"""Default P(meaningful reduction) a decision-maker asks for before adopting the programme."""

_X = {"centre": ("prior_centre_irr", "prior centre (IRR = exp of the mean log IRR)"),
      "sd": ("prior_sd", "prior SD of the log IRR (strength: smaller = stronger)")}


def prior_moments(result: SensitivityResult) -> pd.DataFrame:
    """Centre and spread of every effect prior of a run, from its cells' resolved specs.

    Parameters
    ----------
    result : SensitivityResult

    Returns
    -------
    pandas.DataFrame
        Columns ``spec``, ``effect_prior``, ``prior_centre_irr`` (exp of the prior mean of the
        log IRR) and ``prior_sd`` (its SD; mixture moments for a mixture).
    """
    seen: dict[tuple, dict] = {}
    for row in result.rows:
        key = (row["axes"][SPEC_AXIS], row["axes"][PRIOR_AXIS])
        if key not in seen:
            prior = AnalysisSpec.model_validate(row["spec"]).effect_prior
            seen[key] = {SPEC_AXIS: key[0], PRIOR_AXIS: key[1],
                         "prior_centre_irr": float(np.exp(prior.mean)), "prior_sd": prior.sd}
    return pd.DataFrame(list(seen.values()),
                        columns=[SPEC_AXIS, PRIOR_AXIS, "prior_centre_irr", "prior_sd"])


def _select(table: pd.DataFrame, where: dict | None) -> pd.DataFrame:
    for axis, value in (where or {}).items():
        if axis not in table:
            raise ValueError(f"unknown axis {axis!r}; axes: {list(table.columns)}")
        table = table[table[axis] == value]
    if table.empty:
        raise ValueError(f"no cells with {where}")
    return table


def _axes_of(table: pd.DataFrame) -> list[str]:
    """The grid-axis columns of a tidy table (they come before ``cell``)."""
    return list(table.columns[:table.columns.get_loc("cell")])


def probability_lines(result: SensitivityResult, *, x: str = "centre",
                      column: str = "prob_meaningful_reduction",
                      where: dict | None = None) -> dict[str, pd.DataFrame]:
    """The lines that :func:`plot_probability_by_prior` draws, by label.

    One line per spec; a grid axis that still has several values after ``where`` makes one line
    per value too (its value goes in the label).

    Parameters
    ----------
    result : SensitivityResult
    x : {"centre", "sd"}, default "centre"
        Prior centre (as an IRR) or prior SD of the log IRR.
    column : str, default "prob_meaningful_reduction"
    where : dict, optional
        Axis values to keep, e.g. ``{"mcid": 0.1}``.

    Returns
    -------
    dict of str to pandas.DataFrame
        Each with columns ``x``, ``y`` and ``effect_prior``, sorted by ``x``.
    """
    if x not in _X:
        raise ValueError(f"x must be one of {sorted(_X)}; got {x!r}")
    table = _select(result.table, where)
    table = table.merge(prior_moments(result), on=[SPEC_AXIS, PRIOR_AXIS], how="left")
    others = [a for a in _axes_of(result.table)
              if a not in (SPEC_AXIS, PRIOR_AXIS) and table[a].nunique() > 1]
    lines = {}
    for key, part in table.groupby([SPEC_AXIS, *others], sort=False):
        label = ", ".join([str(key[0])] + [f"{a}={v}" for a, v in zip(others, key[1:],
                                                                      strict=True)])
        frame = pd.DataFrame({"x": part[_X[x][0]].to_numpy(float),
                              "y": part[column].to_numpy(float),
                              PRIOR_AXIS: part[PRIOR_AXIS].to_numpy()})
        lines[label] = frame.sort_values(["x", PRIOR_AXIS], kind="stable").reset_index(drop=True)
    return lines


def plot_probability_by_prior(result: SensitivityResult, *, x: str = "centre",
                              column: str = "prob_meaningful_reduction",
                              threshold: float = DECISION_THRESHOLD, where: dict | None = None,
                              ax: Axes | None = None) -> Figure:
    """P(meaningful reduction) against the prior's centre or strength, one line per outcome.

    Parameters
    ----------
    result : SensitivityResult
    x : {"centre", "sd"}, default "centre"
        Prior centre (as an IRR) or prior SD of the log IRR (log axis).
    column : str, default "prob_meaningful_reduction"
        The table column on the y axis.
    threshold : float, default 0.8
        The decision threshold, drawn as a horizontal dashed line.
    where : dict, optional
        Axis values to keep (e.g. ``{"mcid": 0.1}``); see :func:`probability_lines`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = axes_for(ax, (7.5, 4.2))
    for label, line in probability_lines(result, x=x, column=column, where=where).items():
        ax.plot(line["x"], line["y"], "o-", lw=1.4, ms=4, label=label)
    ax.axhline(threshold, color="0.35", lw=0.9, ls="--", label=f"decision threshold {threshold:g}")
    if x == "sd":
        ax.set_xscale("log")
    ax.set_xlabel(_X[x][1])
    ax.set_ylabel(column.replace("_", " "))
    if column.startswith("prob"):
        ax.set_ylim(-0.02, 1.02)
    ax.legend(frameon=False, fontsize=7)
    return ax.figure


def heatmap_values(result: SensitivityResult, x_axis: str, y_axis: str, *,
                   column: str = "prob_meaningful_reduction", where: dict | None = None,
                   ) -> pd.DataFrame:
    """The numbers :func:`plot_heatmap` draws: ``column`` over two grid axes.

    Every other axis is held at the value in ``where``, or at its first value.

    Returns
    -------
    pandas.DataFrame
        Rows: values of ``y_axis``; columns: values of ``x_axis`` (NaN where a cell is absent).
    """
    data = result.to_xarray()
    if column not in data:
        raise ValueError(f"unknown column {column!r}")
    where = dict(where or {})
    for axis in result.axes:
        if axis not in (x_axis, y_axis):
            where.setdefault(axis, result.axes[axis][0])
    unknown = {x_axis, y_axis} - set(result.axes)
    if unknown:
        raise ValueError(f"unknown axis {sorted(unknown)}; axes: {list(result.axes)}")
    values = data[column].sel(where).transpose(y_axis, x_axis)
    return pd.DataFrame(values.to_numpy().astype(float),
                        index=pd.Index(values[y_axis].values, name=y_axis),
                        columns=pd.Index(values[x_axis].values, name=x_axis))


def plot_heatmap(result: SensitivityResult, x_axis: str, y_axis: str = PRIOR_AXIS, *,
                 column: str = "prob_meaningful_reduction", where: dict | None = None,
                 ax: Axes | None = None) -> Figure:
    """Heat map of a table column over two grid axes, with the values written in the cells.

    Parameters
    ----------
    result : SensitivityResult
    x_axis, y_axis : str
        Grid axes (e.g. ``"mcid"`` and ``"effect_prior"``).
    column : str, default "prob_meaningful_reduction"
        Any numeric table column.
    where : dict, optional
        Values of the other axes (default: each one's first value; shown in the title).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = heatmap_values(result, x_axis, y_axis, column=column, where=where)
    ax = axes_for(ax, (1.3 * values.shape[1] + 4.5, 0.4 * values.shape[0] + 1.8))
    limits = {"vmin": 0.0, "vmax": 1.0} if column.startswith("prob") else {}
    image = ax.imshow(values.to_numpy(), cmap="viridis", aspect="auto", **limits)
    for (i, j), value in np.ndenumerate(values.to_numpy()):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < np.nanmean(values.to_numpy()) else "black")
    ax.set_xticks(range(values.shape[1]), [str(v) for v in values.columns])
    ax.set_yticks(range(values.shape[0]), [str(v) for v in values.index])
    ax.set_xlabel(x_axis)
    ax.set_ylabel(y_axis)
    fixed = dict(where or {}) | {
        a: result.axes[a][0] for a in result.axes
        if a not in (x_axis, y_axis) and a not in (where or {}) and len(result.axes[a]) > 1}
    ax.set_title(", ".join(f"{a}={v}" for a, v in fixed.items()) or column, fontsize=8)
    ax.figure.colorbar(image, ax=ax, label=column.replace("_", " "))
    return ax.figure


def write_plots(result: SensitivityResult, directory: str | Path, *,
                threshold: float = DECISION_THRESHOLD) -> list[Path]:
    """Write a run's standard figures as PNG files.

    ``probability_by_prior_centre.png`` and ``probability_by_prior_sd.png`` (every cell), and
    per spec ``heatmap_SPEC.png``: P(meaningful reduction) over the prior and the first other
    axis with several values (the spec's own when there is none).

    Parameters
    ----------
    result : SensitivityResult
    directory : str or pathlib.Path
    threshold : float, default 0.8
        Decision threshold on the line plots.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    directory = Path(directory)
    if not result.rows:
        return []
    paths = [save_figure(plot_probability_by_prior(result, x=x, threshold=threshold),
                         directory / f"probability_by_prior_{x}.png") for x in _X]
    varying = [a for a, v in result.axes.items()
               if a not in (SPEC_AXIS, PRIOR_AXIS) and len(v) > 1]
    x_axis = varying[0] if varying else SPEC_AXIS
    specs = [None] if x_axis == SPEC_AXIS else result.axes[SPEC_AXIS]
    for spec in specs:
        where = None if spec is None else {SPEC_AXIS: spec}
        name = "heatmap" if spec is None else f"heatmap_{spec}"
        paths.append(save_figure(plot_heatmap(result, x_axis, PRIOR_AXIS, where=where),
                                 directory / f"{name}.png"))
    return paths


__all__ = [
    "DECISION_THRESHOLD", "heatmap_values", "plot_heatmap", "plot_probability_by_prior",
    "prior_moments", "probability_lines", "write_plots"
]
