"""Figures of model criticism: predictive densities of school rates, and LOO-PIT.

They take arrays (the inference layer computes the draws, the LOO-PIT values and the
uniformity test with arviz-stats) and draw with matplotlib on the caller's axes, as every
figure of the package does. arviz-plots' ``plot_ppc_dist`` and ``plot_loo_pit`` draw the
same pictures but only on figures of their own; the densities here are arviz-stats' KDEs and
the LOO-PIT panel is its ECDF-difference form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from arviz_stats.base import array_stats

from swisbayes.plots.canvas import axes_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ARM_COLOURS: Mapping[int, tuple[str, str]] = {0: ("control", "#0072B2"),
                                              1: ("SWIS", "#D55E00")}
"""Label and colour of each arm code (Okabe-Ito blue and vermillion)."""

DKW_LEVEL = 0.01
"""Level of the Dvoretzky-Kiefer-Wolfowitz band drawn around a LOO-PIT ECDF."""


def plot_predictive_rates(observed: np.ndarray, replicated: np.ndarray, arm: np.ndarray, *,
                          unit: str, n_lines: int = 50, ax: Axes | None = None) -> Figure:
    """Densities of the schools' rates: observed against data replicated from the model.

    Each arm gets the density of its observed school rates (a thick line) and those of
    ``n_lines`` replicated datasets (thin lines), evenly spaced through the draws. A model that
    fits has its observed line inside the bundle of replicated ones.

    Parameters
    ----------
    observed : numpy.ndarray
        Observed school rates, shape (school,).
    replicated : numpy.ndarray
        Replicated school rates, shape (draw, school) (chains flattened).
    arm : numpy.ndarray
        Arm code of each school (0 control, 1 SWIS).
    unit : str
        What the rate is (``"events per 1000 pupils"``), for the axis.
    n_lines : int, default 50
        Replicated datasets drawn per arm.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the arrays do not have one value per school.
    """
    observed, replicated, arm = (np.asarray(observed, float), np.asarray(replicated, float),
                                 np.asarray(arm))
    if observed.shape != arm.shape or replicated.ndim != 2 or replicated.shape[1] != arm.size:
        raise ValueError(f"expected observed (school,), replicated (draw, school) and arm "
                         f"(school,); got {observed.shape}, {replicated.shape} and {arm.shape}")
    ax = axes_for(ax, (7.0, 3.6))
    rows = np.linspace(0, len(replicated) - 1, min(n_lines, len(replicated))).round().astype(int)
    for code, (label, colour) in ARM_COLOURS.items():
        in_arm = arm == code
        if not in_arm.any():
            continue
        # one KDE grid per replicated dataset (arviz-stats' default bandwidth)
        grid, pdf, _ = array_stats.kde(replicated[rows][:, in_arm], axis=-1)
        for x, y in zip(grid, pdf, strict=True):
            ax.plot(x, y, color=colour, alpha=0.12, lw=0.8)
        grid, pdf, _ = array_stats.kde(observed[in_arm], axis=-1)
        ax.plot(grid, pdf, color=colour, lw=2.2, label=f"{label}: observed")
        ax.plot([], [], color=colour, alpha=0.4, lw=0.8, label=f"{label}: replicated")
    ax.set_xlabel(f"school rate ({unit})")
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8, ncol=2)
    return ax.figure


def plot_loo_pit(pit: np.ndarray, *, p_value: float | None = None,
                 ax: Axes | None = None) -> Figure:
    """The LOO-PIT values' ECDF minus the uniform CDF, with a simultaneous band.

    If the model predicts each school well from the others, its LOO-PIT values are uniform and
    the difference stays near zero: a hump above zero means observed values fall low in their
    predictive distributions too often (over-prediction), an S shape means the predictive
    distributions are too wide or too narrow. The dashed band is the Dvoretzky-Kiefer-Wolfowitz
    bound at level :data:`DKW_LEVEL` for independent values (LOO-PIT values are only nearly so).

    Parameters
    ----------
    pit : numpy.ndarray
        LOO-PIT values in [0, 1], one per school.
    p_value : float, optional
        A uniformity test's p-value, shown in the title (arviz-stats' ``pot_c`` test).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``pit`` is empty or has values outside [0, 1].
    """
    pit = np.sort(np.asarray(pit, float).ravel())
    if pit.size == 0 or pit.min() < 0 or pit.max() > 1:
        raise ValueError("LOO-PIT values must be a non-empty array in [0, 1]")
    ax = axes_for(ax, (6.0, 3.4))
    x = np.r_[0.0, pit, 1.0]
    ecdf = np.r_[0.0, np.arange(1, pit.size + 1) / pit.size, 1.0]
    ax.step(x, ecdf - x, where="post", color="#0072B2", lw=1.6, label="LOO-PIT ECDF - uniform")
    bound = np.sqrt(np.log(2 / DKW_LEVEL) / (2 * pit.size))
    for sign in (-1, 1):
        ax.axhline(sign * bound, color="0.4", lw=0.9, ls="--",
                   label=f"{1 - DKW_LEVEL:.0%} band" if sign > 0 else None)
    ax.axhline(0.0, color="k", lw=0.7)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"LOO-PIT ({pit.size} schools)")
    ax.set_ylabel("ECDF difference")
    if p_value is not None:
        ax.set_title(f"uniformity test p = {p_value:.3f}", fontsize=9)
    ax.legend(frameon=False, fontsize=8, loc="best")
    return ax.figure


__all__ = ["ARM_COLOURS", "DKW_LEVEL", "plot_loo_pit", "plot_predictive_rates"]
