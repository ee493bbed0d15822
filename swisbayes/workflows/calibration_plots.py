"""Figures of calibration runs: SBC PIT-ECDF plots and verdict probabilities per scenario.

Save them with :func:`swisbayes.plots.basic.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from swisbayes.plots.canvas import axes_for
from swisbayes.stats.ranks import BAND_PROB, pit_ecdf_test

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from swisbayes.workflows.sbc import SBCResult
    from swisbayes.workflows.study import StudyResult


def plot_pit_ecdf(result: SBCResult, *, prob: float = BAND_PROB,
                  ax: Sequence[Axes] | None = None) -> Figure:
    """One panel per parameter: the PIT-ECDF difference plot with its simultaneous band.

    The ECDF of the PIT values of the ranks minus the uniform CDF, at the rank partition
    (:func:`~swisbayes.stats.ranks.pit_ecdf_test`), over every replicate (blue) and over those
    that passed the diagnostics gate (thin orange); grey is the ``prob`` simultaneous band of
    all replicates (Säilynoja et al. 2022). A curve leaving the band says the ranks are not
    uniform. Too narrow a posterior piles ranks at both ends, so the curve rises above zero
    and then falls below it; too wide a one does the mirror image; a bias keeps the curve on
    one side (above zero: truths mostly below the posterior draws, an overestimate).

    Parameters
    ----------
    result : SBCResult
    prob : float, default 0.95
        Simultaneous coverage of the band.
    ax : sequence of matplotlib Axes, optional
        One axes per parameter (``result.parameters`` order), all in one figure; a new grid
        of panels when None.

    Returns
    -------
    matplotlib.figure.Figure
        A parameter whose ECDF leaves the band has a red title.
    """
    from matplotlib.figure import Figure

    ranks = result.ranks
    params = result.parameters
    ncols = 4
    nrows = max(1, math.ceil(len(params) / ncols))
    if ax is None:
        # a bare Figure, as every figure of the package (plots/canvas.py): shown once
        fig = Figure(figsize=(3.0 * ncols, 2.3 * nrows), layout="constrained")
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        panels = list(grid.flat)
    else:
        panels = list(ax)
        fig = panels[0].figure
    for ax_, p in zip(panels, params, strict=False):
        test = pit_ecdf_test(ranks[p].to_numpy(), result.n_ranks, prob)
        passed = pit_ecdf_test(ranks.loc[ranks["ok"], p].to_numpy(), result.n_ranks, prob)
        z = np.concatenate(([0.0], test.z, [1.0]))

        def ends(v):
            return np.concatenate(([0.0], v, [0.0]))

        ax_.fill_between(z, ends(test.lower - test.z), ends(test.upper - test.z),
                         color="0.85", lw=0, zorder=0)
        ax_.axhline(0.0, color="0.5", lw=0.6)
        if passed.n and passed.n < test.n:
            ax_.plot(z, ends(passed.ecdf - passed.z), color="C1", lw=0.8)
        ax_.plot(z, ends(test.ecdf - test.z), color="C0", lw=1.2)
        ax_.set_title(f"{p}\np = {test.p_value:.3f}", fontsize=8,
                      color="red" if test.outside else "black")
        ax_.tick_params(labelsize=7)
    for ax_ in panels[len(params):]:
        ax_.set_visible(False)
    fig.supxlabel("fractional rank (PIT)", fontsize=8)
    fig.supylabel("ECDF minus uniform CDF", fontsize=8)
    fig.suptitle(f"SBC PIT-ECDF minus uniform: {result.spec.name}, {len(ranks)} replicates "
                 f"(grey: {prob:.0%} simultaneous band; orange: the "
                 f"{int(ranks['ok'].sum())} passing the gate)", fontsize=9)
    return fig


def plot_verdicts(result: StudyResult, *, ax: Axes | None = None) -> Figure:
    """Stacked bars of P(invest), P(more evidence) and P(stop) per true IRR, with MCSE.

    Parameters
    ----------
    result : StudyResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from swisbayes.decision.rule import VERDICTS

    summary = result.summary()
    ax = axes_for(ax, (6.5, 3.8))
    fig = ax.figure
    x = np.arange(len(summary))
    width = 0.25
    colours = {"invest": "C2", "more evidence": "C1", "stop": "C3"}
    for k, v in enumerate(VERDICTS):
        ax.bar(x + (k - 1) * width, summary[f"p_{v}"], width, yerr=summary[f"mcse_{v}"],
               color=colours[v], label=v, capsize=2)
    ax.set_xticks(x, [f"IRR {irr:g}\n(n={n})" for irr, n in zip(summary["irr"], summary["n"],
                                                                 strict=True)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability of verdict")
    ax.set_title(f"Operating characteristics: {result.spec.name} "
                 f"(MCID {result.spec.decision.mcid:.0%})", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    return fig


__all__ = ["plot_pit_ecdf", "plot_verdicts"]
