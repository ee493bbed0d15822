"""Figures of calibration runs: SBC rank histograms and verdict probabilities per scenario.

Save them with :func:`swisbayes.plots.basic.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from swisbayes.stats.ranks import rank_histogram, uniform_band

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from swisbayes.workflows.sbc import SBCResult
    from swisbayes.workflows.study import StudyResult


def plot_rank_histograms(result: SBCResult, *, ax: Sequence[Axes] | None = None) -> Figure:
    """One panel per parameter: binned ranks with the 99% band of a uniform histogram.

    Parameters
    ----------
    result : SBCResult
    ax : sequence of matplotlib Axes, optional
        One axes per parameter (``result.tests()`` order), all in one figure; a new grid of
        panels when None.

    Returns
    -------
    matplotlib.figure.Figure
        Flagged parameters have a red title.
    """
    import matplotlib.pyplot as plt

    tests = result.tests()
    ranks = result.ranks
    ncols = 4
    nrows = max(1, math.ceil(len(tests) / ncols))
    if ax is None:
        fig, grid = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows),
                                 squeeze=False)
        panels = list(grid.flat)
    else:
        panels = list(ax)
        fig = panels[0].figure
    for ax_, test in zip(panels, tests.itertuples(), strict=False):
        counts = rank_histogram(ranks[test.parameter].to_numpy(), result.n_ranks, test.bins)
        lo, hi = uniform_band(len(ranks), test.bins)
        ax_.axhspan(lo, hi, color="0.85", zorder=0)
        ax_.axhline(len(ranks) / test.bins, color="0.5", lw=0.8)
        ax_.bar(np.arange(test.bins), counts, width=0.9, color="C0")
        ax_.set_title(f"{test.parameter}\np = {test.p_value:.3f}", fontsize=8,
                      color="red" if test.flagged else "black")
        ax_.set_xticks([])
    for ax_ in panels[len(tests):]:
        ax_.set_visible(False)
    fig.suptitle(f"SBC rank histograms: {result.spec.name}, {len(ranks)} replicates "
                 f"(grey: 99% band under uniformity)", fontsize=9)
    fig.tight_layout()
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
    import matplotlib.pyplot as plt

    from swisbayes.decision.rule import VERDICTS

    summary = result.summary()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
    else:
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
    fig.tight_layout()
    return fig


__all__ = ["plot_rank_histograms", "plot_verdicts"]
