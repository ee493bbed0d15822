"""Figures for statisticians and decision-makers (matplotlib, Agg-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from swisbayes._base.atomic import write_atomic
from swisbayes.plots.canvas import axes_for
from swisbayes.priors.library import MixturePrior

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure



def plot_priors(priors: Sequence[MixturePrior], *, mcid: float = 0.10,
                irr_range: tuple[float, float] = (0.5, 1.6), ax: Axes | None = None) -> Figure:
    """Draw prior densities on the IRR scale, with the MCID and no-effect lines.

    Parameters
    ----------
    priors : sequence of MixturePrior
    mcid : float, default 0.10
        The meaningful reduction; a dashed line is drawn at ``1 - mcid``.
    irr_range : tuple of float, default (0.5, 1.6)
        IRR axis limits.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The density of the IRR :math:`r` is :math:`p(\\log r) / r`.
    """
    ax = axes_for(ax, (7.5, 4.0))
    r = np.linspace(*irr_range, 600)
    for prior in priors:
        density = np.exp(prior.logpdf(np.log(r))) / r
        ax.plot(r, density, lw=1.6, label=prior.name)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.axvline(1 - mcid, color="0.35", lw=0.9, ls="--", label=f"{mcid:.0%} reduction (MCID)")
    ax.set_xlabel("incidence rate ratio, SWIS vs control (below 1 = fewer events)")
    ax.set_ylabel("prior density")
    ax.set_xlim(*irr_range)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    return ax.figure


UNRELIABLE_COLOUR = "red"
"""Colour of an estimate whose fit failed its convergence checks, in every forest-style figure."""


def draw_interval_rows(ax: Axes, y: Sequence[float], medians: Sequence[float],
                       intervals: Sequence[tuple[float, float]], *, reliable: Sequence[bool],
                       colours: Sequence[str]) -> None:
    """Draw one estimate per row: a line for its interval and a dot at its median.

    The drawing shared by every forest-style figure. A row whose fit failed its checks is drawn
    in :data:`UNRELIABLE_COLOUR`, with a dashed line and a hollow dot, so it stands out in grey
    scale and to colour-blind readers too (its label should say so as well).

    Parameters
    ----------
    ax : matplotlib Axes
    y : sequence of float
        Vertical position of each row.
    medians : sequence of float
        Posterior median of each row.
    intervals : sequence of tuple of float
        ``(low, high)`` of each row's credible interval.
    reliable : sequence of bool
        False for a row whose fit failed its convergence checks.
    colours : sequence of str
        Colour of each reliable row.
    """
    for row in zip(y, medians, intervals, reliable, colours, strict=True):
        pos, median, (low, high), ok, colour = row
        colour = colour if ok else UNRELIABLE_COLOUR
        ax.plot([low, high], [pos, pos], color=colour, lw=2, ls="-" if ok else "--",
                solid_capstyle="butt")
        ax.plot(median, pos, "o", color=colour, ms=5.5,
                markerfacecolor=colour if ok else "white", markeredgewidth=1.5)


def plot_forest(results: Sequence[Any], *, ax: Axes | None = None) -> Figure:
    """Forest plot of the headline ratio of several fits, with the MCID and no-effect lines.

    One row per fit (labelled by its analysis and prior): the posterior median and 95% interval
    of the ratio (IRR, ratio of expected days in care, or of absence rates), on a log axis. A
    fit that failed its convergence checks is drawn in red and labelled as such.

    Parameters
    ----------
    results : sequence of FitResult
        (:class:`~swisbayes.inference.fitting.FitResult`; anything with ``spec``, ``decision``
        and ``ok``.)
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = axes_for(ax, (7.5, 0.45 * len(results) + 1.2))
    rows = np.arange(len(results))[::-1]
    draw_interval_rows(ax, rows, [r.decision.effect.median for r in results],
                       [r.decision.effect.ci for r in results],
                       reliable=[r.ok for r in results], colours=["C0"] * len(results))
    labels = [f"{r.spec.name} ({r.spec.priors.effect.name})"
              + ("" if r.ok else " - FAILED checks") for r in results]
    ax.set_yticks(rows, labels)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    mcids = {r.spec.decision.mcid for r in results}
    if len(mcids) == 1:
        mcid = mcids.pop()
        ax.axvline(1 - mcid, color="0.35", lw=0.9, ls="--", label=f"{mcid:.0%} reduction (MCID)")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_xlabel("ratio, SWIS vs control (median and 95% interval; below 1 = fewer)")
    return ax.figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Save a matplotlib figure atomically (format from the suffix) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    write_atomic(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=120))
    plt.close(figure)
    return path
