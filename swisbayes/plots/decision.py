"""Figures of the decision-maker's report, drawn from plain arrays.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` sized for a one-page HTML
report (7 inches wide, fonts of at least 9 pt when shown about 700 pixels wide), in the house
style: no top or right spines, plain-English labels, legends outside the data, and one colour per
prior in every figure (:data:`PRIOR_COLOURS`, from the Okabe-Ito colour-blind-safe palette).
Posterior draws may carry importance weights (one non-negative number per draw, or None for
equal weights). :func:`figure_png` and :func:`png_data_uri` turn a figure into bytes to embed in
a self-contained HTML file.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)
from scipy.stats import gaussian_kde

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError
from swisbayes.decision.draws import (
    equal_tailed_interval,
    normalised_weights,
    prob_below,
    weighted_quantile,
)
from swisbayes.plots.basic import UNRELIABLE_COLOUR, draw_interval_rows
from swisbayes.plots.canvas import axes_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class _PriorColours(dict):
    """Colours by prior name; a name without its own colour gets a fixed fallback."""

    def __missing__(self, name: str) -> str:
        return prior_colour(name)


PRIOR_COLOURS: dict[str, str] = _PriorColours({
    "vague": "#0072B2",           # blue
    "sceptical": "#E69F00",       # orange
    "enthusiastic": "#009E73",    # bluish green
    "pilot-informed": "#CC79A7",  # reddish purple
})
"""Colour of each standard prior in every figure (Okabe-Ito). Indexing with any other name
gives its fallback colour (:func:`prior_colour`)."""

# Colour-blind-safe colours (Okabe-Ito sky blue, Tol olive, teal and indigo) that are not
# used for anything else; red is kept for unreliable estimates.
_FALLBACK_COLOURS = ("#56B4E9", "#999933", "#44AA99", "#332288")
_LA_COLOUR = "#6E6E6E"
_NEW_LA_COLOUR = "#000000"
_AVERAGE_COLOUR = "#882255"
_NO_EFFECT_COLOUR = "#000000"
_MCID_COLOUR = "#555555"

FIGURE_WIDTH = 7.0
"""Width of every report figure in inches (the report shows it about 700 pixels wide)."""

_HEIGHT = 3.2
_ROW_HEIGHT = 0.22  # inches per row of a forest-style figure: 9-pt labels need about 0.17
_GRID_POINTS = 400

_STYLE = {
    "font.size": 9.5, "axes.labelsize": 9.5, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "legend.fontsize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False, "axes.edgecolor": "#333333", "xtick.color": "#333333",
    "ytick.color": "#333333", "axes.labelcolor": "#222222", "text.color": "#222222",
}


def prior_colour(name: str) -> str:
    """The colour of a prior in every figure of the report.

    Parameters
    ----------
    name : str
        Prior name.

    Returns
    -------
    str
        Its colour in :data:`PRIOR_COLOURS`; any other name gets one of four fallback colours,
        chosen from the name itself so that it is the same in every figure and every run.

    Examples
    --------
    >>> prior_colour("sceptical")
    '#E69F00'
    >>> prior_colour("pessimistic") == PRIOR_COLOURS["pessimistic"] == prior_colour("pessimistic")
    True
    """
    if name in PRIOR_COLOURS:
        return dict.__getitem__(PRIOR_COLOURS, name)
    return _FALLBACK_COLOURS[zlib.crc32(name.encode()) % len(_FALLBACK_COLOURS)]


@contextmanager
def _house_style() -> Iterator[None]:
    # Artists read rcParams when they are created, so the whole drawing happens inside.
    with rc_context(_STYLE):
        yield


def _new_axes(height: float = _HEIGHT, ax: Axes | None = None) -> Axes:
    return axes_for(ax, (FIGURE_WIDTH, height))


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# ---------------------------------------------------------------------------------------------
# Input checks


def _ratio_draws(draws: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < 2:
        raise SpecError(f"{what}: need at least 2 draws; got {x.size}")
    bad = ~np.isfinite(x) | (x <= 0)
    if bad.any():
        raise SpecError(f"{what}: {int(bad.sum())} of {x.size} draws are not positive finite "
                        "numbers; a ratio must be positive")
    return x


def _weights(weights: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    try:
        return normalised_weights(weights, n)
    except SpecError as error:  # say which weights
        raise SpecError(f"{what}: {error}") from error


def _mcid(mcid: float) -> float:
    if not 0.0 < mcid < 1.0:
        raise SpecError(f"mcid must be a fraction strictly between 0 and 1 (0.1 = a 10% "
                        f"reduction); got {mcid!r}")
    return float(mcid)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _reference_lines(ax: Axes, mcid: float, *, label_y: float) -> None:
    """Solid line at 1 ("no effect") and dashed line at 1 - mcid, labelled at ``label_y``
    (axes fraction) on either side so the two labels never collide."""
    ax.axvline(1.0, color=_NO_EFFECT_COLOUR, lw=1.0, zorder=1)
    ax.axvline(1.0 - mcid, color=_MCID_COLOUR, lw=1.0, ls="--", zorder=1)
    transform = ax.get_xaxis_transform()
    style = {"transform": transform, "fontsize": 9, "va": "bottom", "clip_on": False}
    ax.text(1.0, label_y, " no effect", ha="left", color=_NO_EFFECT_COLOUR, **style)
    ax.text(1.0 - mcid, label_y, f"{mcid:.0%} reduction (MCID) ", ha="right",
            color=_MCID_COLOUR, **style)


_NICE_RATIOS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5,
                2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 20.0)


def _ratio_axis(ax: Axes, low: float, high: float, *, log: bool) -> None:
    """Limits and plainly written ticks (0.8, 1, 1.25) for a ratio axis."""
    ax.set_xlim(low, high)
    if log:
        ax.set_xscale("log")
    inside = [t for t in _NICE_RATIOS if low <= t <= high]
    while len(inside) > 9:  # keep 1 and thin the others evenly
        keep = inside[::2]
        inside = keep if 1.0 in keep else inside[1::2]
    ax.xaxis.set_major_locator(FixedLocator(inside))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _log_limits(values: Sequence[float], *, pad: float = 0.06) -> tuple[float, float]:
    logs = np.log(np.asarray(values, dtype=float))
    span = max(float(logs.max() - logs.min()), 0.05)
    return float(np.exp(logs.min() - pad * span)), float(np.exp(logs.max() + pad * span))


def _row_axes(n_rows: float, ax: Axes | None = None) -> Axes:
    return _new_axes(max(_HEIGHT, _ROW_HEIGHT * n_rows + 1.2), ax)


# ---------------------------------------------------------------------------------------------
# Posterior densities


def ratio_density(draws: np.ndarray, grid: np.ndarray,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """Posterior density of a ratio on ``grid``, by a weighted Gaussian KDE of its logarithm.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the ratio (positive).
    grid : numpy.ndarray
        Ratios (positive) at which to evaluate the density.
    weights : numpy.ndarray, optional
        One non-negative weight per draw; equal weights when None.

    Returns
    -------
    numpy.ndarray
        The density of the ratio :math:`r` at each grid point.

    Raises
    ------
    SpecError
        If a draw or grid point is not positive, or the weights do not match the draws.

    Notes
    -----
    Smoothing the log ratio keeps the density at zero for non-positive ratios and matches the
    models, whose effects are normal on the log scale. With :math:`\\hat p` the KDE of
    :math:`\\log r` (Scott's bandwidth, from the weights' effective sample size), the density is
    :math:`\\hat p(\\log r) / r`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> draws, grid = np.exp(rng.normal(0.0, 0.1, 4000)), np.linspace(0.7, 1.4, 400)
    >>> density = ratio_density(draws, grid)
    >>> round(float(np.sum(density) * (grid[1] - grid[0])), 2)   # integrates to 1
    1.0
    """
    x = _ratio_draws(draws, "ratio_density")
    grid = _ratio_draws(grid, "ratio_density grid")
    w = _weights(weights, x.size, "ratio_density")
    logs = np.log(x)
    if np.ptp(logs) == 0:
        raise SpecError("ratio_density: all draws are equal; a density needs some spread")
    return gaussian_kde(logs, weights=w)(np.log(grid)) / grid


def plot_ratio_posteriors(draws: Mapping[str, tuple[np.ndarray, np.ndarray | None]], *,
                          mcid: float, label: str, quantity: str = "rate ratio",
                          shade: bool = True, ax: Axes | None = None) -> Figure:
    """Posterior density of an outcome's ratio under each prior, against the decision lines.

    Parameters
    ----------
    draws : mapping of str to (numpy.ndarray, numpy.ndarray or None)
        By prior name, in the order to show: the draws of the ratio and their weights (None
        for equal weights).
    mcid : float
        The meaningful reduction as a fraction; a dashed line is drawn at ``1 - mcid``.
    label : str
        What the outcome counts, in the plural, for the axis label (e.g. "S47 enquiries").
    quantity : str, default "rate ratio"
        What the ratio is (e.g. "ratio of days in care").
    shade : bool, default True
        Shade each density left of the MCID line and give that area, the probability of at
        least the meaningful reduction, in the legend.
    ax : matplotlib Axes, optional
        Where to draw; a new 7 x 3.2 inch figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If there are no priors, a draw is not positive, or the weights do not match.

    Notes
    -----
    Each density is :func:`ratio_density` on a grid of 400 points, evenly spaced on the log
    scale and covering every prior's 0.2%-99.8% range, 1 and the MCID line.
    """
    mcid = _mcid(mcid)
    if not draws:
        raise SpecError("plot_ratio_posteriors: no priors to draw")
    checked = {name: (_ratio_draws(x, f"draws of prior {name!r}"), w)
               for name, (x, w) in draws.items()}
    checked = {name: (x, _weights(w, x.size, f"weights of prior {name!r}"))
               for name, (x, w) in checked.items()}
    ends = [float(v) for x, w in checked.values()
            for v in weighted_quantile(x, np.array([0.002, 0.998]), w)]
    low, high = _log_limits([*ends, 1.0 - mcid, 1.0])
    grid = np.exp(np.linspace(np.log(low), np.log(high), _GRID_POINTS))
    with _house_style():
        ax = _new_axes() if ax is None else ax
        _draw_densities(ax, checked, grid, mcid, shade=shade)
        _reference_lines(ax, mcid, label_y=1.0)
        _ratio_axis(ax, low, high, log=False)
        ax.set_ylim(0, None)
        ax.yaxis.set_major_locator(NullLocator())  # a density's scale means nothing to a reader
        ax.set_ylabel("how plausible\n(posterior density)")
        ax.set_xlabel(f"{quantity}, SWIS vs control (below 1 = fewer {label})")
        title = f"chance of at least a {mcid:.0%} reduction, by prior" if shade else None
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncols=min(len(checked), 4),
                  handlelength=1.6, borderaxespad=0.0, columnspacing=1.5, title=title,
                  title_fontsize=9, alignment="left")
        _tidy(ax)
    return ax.figure


def _draw_densities(ax: Axes, draws: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
                    grid: np.ndarray, mcid: float, *, shade: bool) -> None:
    left = grid <= 1.0 - mcid
    for name, (x, w) in draws.items():
        colour = prior_colour(name)
        density = ratio_density(x, grid, w)
        text = name
        if shade:
            prob = prob_below(x, 1.0 - mcid, w)
            text = f"{name}: {prob:.0%}"
            ax.fill_between(grid[left], density[left], color=colour, alpha=0.14, lw=0)
        ax.plot(grid, density, color=colour, lw=2.0, label=text)


# ---------------------------------------------------------------------------------------------
# Summary forest


@dataclass(frozen=True)
class ForestRow:
    """One estimate of the summary forest: an outcome under one prior.

    Parameters
    ----------
    group : str
        The outcome's label; rows of one group are drawn together under it.
    label : str
        The prior's name (its colour comes from :data:`PRIOR_COLOURS`).
    median, low, high : float
        Posterior median and credible interval of the ratio (positive, low <= median <= high).
    reliable : bool
        False when the fit failed its checks: the row is drawn in red and labelled so.
    note : str, default ""
        A short remark written after the interval (e.g. "reweighted from vague").
    """

    group: str
    label: str
    median: float
    low: float
    high: float
    reliable: bool
    note: str = ""

    def __post_init__(self) -> None:
        values = (self.low, self.median, self.high)
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise SpecError(f"ForestRow {self.group!r}/{self.label!r}: median, low and high "
                            f"must be positive ratios; got {values}")
        self._check_order()

    def _check_order(self) -> None:
        values = (self.low, self.median, self.high)
        if not self.low <= self.median <= self.high:
            raise SpecError(f"{type(self).__name__} {self.group!r}/{self.label!r}: expected "
                            f"low <= median <= high; got {values}")

    @property
    def display_label(self) -> str:
        """The row's label as shown: the prior, and a warning when it is unreliable."""
        return self.label if self.reliable else f"{self.label} (unreliable: failed checks)"


@dataclass(frozen=True)
class DifferenceRow(ForestRow):
    """One estimate of a difference forest: like :class:`ForestRow`, but a difference (SWIS
    minus control, e.g. in percentage points) that may be negative, zero or positive."""

    def __post_init__(self) -> None:
        values = (self.low, self.median, self.high)
        if not all(np.isfinite(v) for v in values):
            raise SpecError(f"DifferenceRow {self.group!r}/{self.label!r}: median, low and "
                            f"high must be finite numbers; got {values}")
        self._check_order()


def _forest_layout(rows: Sequence[ForestRow]) -> tuple[dict[str, float], list[float]]:
    """y of each group heading and of each row (top down; a half-row gap between groups)."""
    groups = list(dict.fromkeys(r.group for r in rows))
    headings, row_y, y = {}, {}, 0.0
    for group in groups:
        headings[group] = y
        y -= 1.0
        for i, row in enumerate(rows):
            if row.group == group:
                row_y[i] = y
                y -= 1.0
        y -= 0.5
    return headings, [row_y[i] for i in range(len(rows))]


def plot_summary_forest(rows: Sequence[ForestRow], *, mcid: float,
                        ci_prob: float | None = None,
                        ax: Axes | None = None) -> Figure:
    """Forest plot of every outcome under every prior: medians and intervals of the ratio.

    Rows are grouped by outcome (in order of first appearance) under a bold heading, on a log
    axis with lines at 1 (no effect) and at ``1 - mcid``. An unreliable row is drawn in red
    (dashed, hollow dot) and labelled "(unreliable: failed checks)".

    Parameters
    ----------
    rows : sequence of ForestRow
    mcid : float
        The meaningful reduction as a fraction.
    ci_prob : float, optional
        Probability of the rows' intervals, for the axis label; defaults to 0.95.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If there are no rows.

    See Also
    --------
    swisbayes.plots.basic.plot_forest : the same rows from fit results, for statisticians.
    """
    mcid, prob = _mcid(mcid), validate_ci_prob(ci_prob)
    if not rows:
        raise SpecError("plot_summary_forest: no rows to draw")
    with _house_style():
        ax, ys = _forest_rows(rows, ax)
        low, high = _log_limits([*(r.low for r in rows), *(r.high for r in rows), 1.0 - mcid,
                                 1.0])
        _ratio_axis(ax, low, high * (1.25 if any(r.note for r in rows) else 1.0), log=True)
        ax.set_ylim(min(ys) - 0.7, 0.7)
        _reference_lines(ax, mcid, label_y=1.0)
        ax.set_xlabel(f"ratio, SWIS vs control (median and {prob:.0%} interval; "
                      "below 1 = fewer)")
        _tidy(ax)
    return ax.figure


def _forest_rows(rows: Sequence[ForestRow],
                 ax: Axes | None = None) -> tuple[Axes, list[float]]:
    """Axes (new unless given) with the rows drawn under their group headings; the rows' y."""
    headings, ys = _forest_layout(rows)
    ax = _row_axes(len(rows) + 1.5 * len(headings), ax)
    draw_interval_rows(ax, ys, [r.median for r in rows], [(r.low, r.high) for r in rows],
                       reliable=[r.reliable for r in rows],
                       colours=[prior_colour(r.label) for r in rows])
    for row, y in zip(rows, ys, strict=True):
        if row.note:
            ax.annotate(row.note, (row.high, y), xytext=(5, 0), textcoords="offset points",
                        va="center", fontsize=9, color="#555555", style="italic")
    _label_rows(ax, [*headings.values(), *ys], [*headings, *(r.display_label for r in rows)],
                bold=len(headings), reliable=[True] * len(headings)
                + [r.reliable for r in rows])
    for y in list(headings.values())[1:]:
        ax.axhline(y + 0.75, color="#DDDDDD", lw=0.8, zorder=0)
    return ax, ys


def plot_difference_forest(rows: Sequence[DifferenceRow], *, mcid: float,
                           what: str = "absence", unit: str = "pp",
                           ci_prob: float | None = None, ax: Axes | None = None) -> Figure:
    """Forest plot of differences (SWIS minus control; below 0 = fewer), e.g. of absence in
    percentage points, under each prior: the companion of :func:`plot_summary_forest` for an
    outcome whose effect is not read as a ratio.

    Rows are grouped as in :func:`plot_summary_forest`, on a linear axis with lines at 0 (no
    change) and at ``-mcid`` (the meaningful fall); a row's ``note`` (e.g. its median and
    interval as printed in the table) is written after its interval, so that rows too close to
    tell apart on the axis can still be read. Unreliable rows are red, as there.

    Parameters
    ----------
    rows : sequence of DifferenceRow
    mcid : float
        The meaningful fall, in the rows' units (positive).
    what : str, default "absence"
        What differs, for the axis label.
    unit : str, default "pp"
        The rows' unit (percentage points), for the axis label and the MCID line.
    ci_prob : float, optional
        Probability of the rows' intervals, for the axis label; defaults to 0.95.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If there are no rows, or ``mcid`` is not a positive number.
    """
    prob = validate_ci_prob(ci_prob)
    if not rows:
        raise SpecError("plot_difference_forest: no rows to draw")
    if not (np.isfinite(mcid) and mcid > 0):
        raise SpecError(f"mcid must be a positive difference (0.5 = a fall of half a point); "
                        f"got {mcid!r}")
    with _house_style():
        ax, ys = _forest_rows(rows, ax)
        low = min(*(r.low for r in rows), -mcid)
        high = max(*(r.high for r in rows), 0.0)
        span = high - low
        # room on the right for the notes (about 2.5 in of 9-pt text on a ~5 in axis)
        right = high + span * (1.0 if any(r.note for r in rows) else 0.06)
        ax.set_xlim(low - 0.06 * span, right)
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.set_ylim(min(ys) - 0.7, 0.7)
        ax.axvline(0.0, color=_NO_EFFECT_COLOUR, lw=1.0, zorder=1)
        ax.axvline(-mcid, color=_MCID_COLOUR, lw=1.0, ls="--", zorder=1)
        style = {"transform": ax.get_xaxis_transform(), "fontsize": 9, "va": "bottom",
                 "clip_on": False}
        ax.text(0.0, 1.0, " no change", ha="left", color=_NO_EFFECT_COLOUR, **style)
        ax.text(-mcid, 1.0, f"fall of {mcid:g} {unit} (MCID) ", ha="right",
                color=_MCID_COLOUR, **style)
        ax.set_xlabel(f"difference in {what}, SWIS minus control, {unit} (median and "
                      f"{prob:.0%} interval; below 0 = less)")
        _tidy(ax)
    return ax.figure


def _label_rows(ax: Axes, ys: Sequence[float], labels: Sequence[str], *, bold: int,
                reliable: Sequence[bool]) -> None:
    """Tick labels: the first ``bold`` are headings; unreliable rows' labels are red."""
    ax.set_yticks(ys, labels)
    ax.tick_params(axis="y", length=0)
    for i, (tick, ok) in enumerate(zip(ax.get_yticklabels(), reliable, strict=True)):
        if i < bold:
            tick.set_fontweight("bold")
        if not ok:
            tick.set_color(UNRELIABLE_COLOUR)


# ---------------------------------------------------------------------------------------------
# Local authorities


def _interval(draws: np.ndarray, weights: np.ndarray | None,
              prob: float) -> tuple[float, float, float]:
    """Median, low and high of (weighted) draws."""
    low, high = equal_tailed_interval(draws, prob, weights)
    return float(weighted_quantile(draws, 0.5, weights)), low, high


def plot_la_effects(la_ratio: np.ndarray, new_la: np.ndarray, *,
                    weights: np.ndarray | None = None, labels: Sequence[str] | None = None,
                    mcid: float, average: np.ndarray | None = None,
                    ci_prob: float | None = None, ax: Axes | None = None) -> Figure:
    """Caterpillar plot of the effect in each local authority, and for a new one.

    Each LA's ratio (median and 95% interval) is drawn on a log axis, sorted by median (largest
    reduction on top). Below them, apart, the predictive ratio for a new LA that was not in the
    trial (what a roll-out decision is about) and, if given, the average effect.

    Parameters
    ----------
    la_ratio : numpy.ndarray
        Draws of each LA's ratio, shape (draws, LAs).
    new_la : numpy.ndarray
        Draws of the ratio in a new LA, shape (draws,).
    weights : numpy.ndarray, optional
        One weight per draw, shared by all three arrays; equal weights when None.
    labels : sequence of str, optional
        LA names in the columns' order. When None (the default) LAs are anonymised as
        "LA 1".."LA n" in the sorted order, so no LA can be identified.
    mcid : float
        The meaningful reduction as a fraction.
    average : numpy.ndarray, optional
        Draws of the average ratio over LAs, shape (draws,).
    ci_prob : float, optional
        Probability of the intervals; defaults to 0.95.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If the shapes, labels or weights do not match, or a draw is not positive.
    """
    mcid, prob = _mcid(mcid), validate_ci_prob(ci_prob)
    ratios = np.asarray(la_ratio, dtype=float)
    if ratios.ndim != 2 or ratios.shape[1] == 0:
        raise SpecError(f"plot_la_effects: la_ratio must be (draws, LAs); got shape "
                        f"{ratios.shape}")
    n, n_la = ratios.shape
    if labels is not None and len(labels) != n_la:
        raise SpecError(f"plot_la_effects: {len(labels)} labels for {n_la} LAs")
    w = _weights(weights, n, "plot_la_effects")
    summaries = [_interval(_ratio_draws(ratios[:, j], f"la_ratio column {j}"), w, prob)
                 for j in range(n_la)]
    order = sorted(range(n_la), key=lambda j: summaries[j][0])
    names = ([f"LA {k + 1}" for k in range(n_la)] if labels is None
             else [str(labels[j]) for j in order])
    extra = [("new LA (not in the trial)", new_la, _NEW_LA_COLOUR)]
    if average is not None:
        extra.append(("average effect", average, _AVERAGE_COLOUR))
    extra_rows = []
    for name, values, colour in extra:
        x = _ratio_draws(values, f"plot_la_effects {name}")
        if x.size != n:
            raise SpecError(f"plot_la_effects: {x.size} draws of {name} for {n} LA draws")
        extra_rows.append((name, _interval(x, w, prob), colour))
    return _draw_caterpillar([summaries[j] for j in order], names, extra_rows, mcid, prob,
                             ax)


def _draw_caterpillar(la_rows: list[tuple[float, float, float]], names: list[str],
                      extra_rows: list[tuple[str, tuple[float, float, float], str]],
                      mcid: float, prob: float, ax: Axes | None = None) -> Figure:
    n_la = len(la_rows)
    la_y = [-float(k) for k in range(n_la)]
    extra_y = [-(n_la + 0.8 + k) for k in range(len(extra_rows))]
    rows = la_rows + [r for _, r, _ in extra_rows]
    colours = [_LA_COLOUR] * n_la + [c for _, _, c in extra_rows]
    with _house_style():
        ax = _row_axes(n_la + 1.0 + len(extra_rows), ax)
        draw_interval_rows(ax, la_y + extra_y, [m for m, _, _ in rows],
                           [(lo, hi) for _, lo, hi in rows], reliable=[True] * len(rows),
                           colours=colours)
        ax.set_yticks(la_y + extra_y, names + [name for name, _, _ in extra_rows])
        ax.tick_params(axis="y", length=0)
        for tick, colour in zip(ax.get_yticklabels(), colours, strict=True):
            tick.set_color(colour if colour != _LA_COLOUR else "#222222")
        ax.axhline(-(n_la - 0.1), color="#BBBBBB", lw=0.8, zorder=0)
        low, high = _log_limits([*(lo for _, lo, _ in rows), *(hi for _, _, hi in rows),
                                 1.0 - mcid, 1.0])
        _ratio_axis(ax, low, high, log=True)
        ax.set_ylim(min(extra_y) - 0.7, 0.7)
        _reference_lines(ax, mcid, label_y=1.0)
        ax.set_xlabel(f"ratio, SWIS vs control, by local authority (median and {prob:.0%} "
                      "interval; below 1 = fewer)")
        _tidy(ax)
    return ax.figure


# ---------------------------------------------------------------------------------------------
# Value for money


def _pounds(value: float, _pos: int | None = None) -> str:
    return f"£{value:,.0f}"


def plot_ceac(wtp: Sequence[float], curves: Mapping[str, np.ndarray], *,
              published: Mapping[float, float] | None = None,
              unit: str = "per S47 enquiry avoided",
              ax: Axes | None = None) -> Figure:
    """Cost-effectiveness acceptability curves: P(cost-effective) against willingness to pay.

    Parameters
    ----------
    wtp : sequence of float
        Willingness-to-pay values in pounds, increasing.
    curves : mapping of str to numpy.ndarray
        By prior name: the probability that SWIS is cost-effective at each ``wtp`` (0 to 1).
    published : mapping of float to float, optional
        The published economic evaluation's bootstrap probabilities, by willingness to pay;
        drawn as labelled markers.
    unit : str, default "per S47 enquiry avoided"
        What the willingness to pay is for.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If ``wtp`` is not increasing, or a curve does not have one probability per value.
    """
    x = np.asarray(wtp, dtype=float)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0) or not np.all(np.isfinite(x)):
        raise SpecError("plot_ceac: wtp must be at least 2 increasing finite amounts in pounds")
    if not curves:
        raise SpecError("plot_ceac: no curves to draw")
    checked = {name: _probabilities(y, x.size, f"plot_ceac curve {name!r}")
               for name, y in curves.items()}
    marks = dict(published or {})
    _probabilities(list(marks.values()), len(marks), "plot_ceac published")
    with _house_style():
        ax = _new_axes(ax=ax)
        for name, y in checked.items():
            ax.plot(x, y, color=prior_colour(name), lw=2.0, label=name)
        if marks:
            _draw_published(ax, marks)
        ax.set_xlim(*_padded([*x, *marks], 0.02))
        ax.set_ylim(0, 1.0)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(_pounds))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_xlabel(f"what a decision-maker is willing to pay {unit}")
        ax.set_ylabel("probability that SWIS\nis cost-effective")
        ax.grid(axis="y", color="#EEEEEE", lw=0.8)
        ax.set_axisbelow(True)
        _ceac_legends(ax, n_curves=len(checked), published=bool(marks))
        _tidy(ax)
    return ax.figure


def _ceac_legends(ax: Axes, *, n_curves: int, published: bool) -> None:
    """The priors in a row above the axes, and the published marker in a row of its own
    above them (one legend would wrap the priors into uneven columns)."""
    handles, labels = ax.get_legend_handles_labels()
    style = {"loc": "lower left", "handlelength": 1.6, "borderaxespad": 0.0}
    priors = ax.legend(handles[:n_curves], labels[:n_curves], ncols=min(n_curves, 4),
                       columnspacing=1.5, bbox_to_anchor=(0.0, 1.02), **style)
    if published:
        ax.add_artist(priors)
        ax.legend(handles[n_curves:], labels[n_curves:], bbox_to_anchor=(0.0, 1.02 + 0.08 * (
            1 + (n_curves - 1) // 4)), **style)


def _padded(values: Sequence[float], pad: float) -> tuple[float, float]:
    low, high = float(min(values)), float(max(values))
    return low - pad * (high - low), high + pad * (high - low)


def _probabilities(values: Sequence[float] | np.ndarray, n: int, what: str) -> np.ndarray:
    y = np.asarray(values, dtype=float).ravel()
    if y.size != n:
        raise SpecError(f"{what}: {y.size} values; expected {n}")
    if not np.all((y >= 0) & (y <= 1)):
        raise SpecError(f"{what}: probabilities must be between 0 and 1")
    return y


def _draw_published(ax: Axes, marks: Mapping[float, float]) -> None:
    xs, ys = list(marks), list(marks.values())
    ax.plot(xs, ys, "D", color="#000000", ms=6, markerfacecolor="white", markeredgewidth=1.5,
            ls="none", label="published economic evaluation", zorder=4)
    for x, y in marks.items():
        ax.annotate(f"{y:.0%}", (x, y), xytext=(0, 7 if y < 0.9 else -14),
                    textcoords="offset points", ha="center", fontsize=9)


# ---------------------------------------------------------------------------------------------
# Tipping points


def plot_tipping(values: np.ndarray, prob: np.ndarray, *, thresholds: Mapping[str, float],
                 points: Sequence[tuple[float, float, str]] = (),
                 current: Sequence[tuple[float, float, str]] = (), xlabel: str,
                 ylabel: str = "probability of a meaningful reduction",
                 ax: Axes | None = None) -> Figure:
    """P(meaningful reduction) along a family of priors, with the decision thresholds.

    Parameters
    ----------
    values : numpy.ndarray
        Where each prior of the family sits, e.g. its centre as a rate ratio (increasing).
    prob : numpy.ndarray
        P(meaningful reduction) under each prior (0 to 1).
    thresholds : mapping of str to float
        Decision thresholds by name, e.g. ``{"invest at 80%": 0.8, "stop below 10%": 0.1}``;
        each is a horizontal dashed line with its name.
    points : sequence of (float, float, str), default ()
        Tipping points: where the decision flips, with a short label (e.g. "0.93").
    current : sequence of (float, float, str), default ()
        Where standard priors sit: ``(value, probability, prior name)``, in the prior's colour.
    xlabel : str
        What ``values`` are, in plain English.
    ylabel : str, default "probability of a meaningful reduction"
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If ``values`` and ``prob`` do not match or a probability is outside 0 to 1.
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise SpecError("plot_tipping: values must be at least 2 finite numbers")
    y = _probabilities(prob, x.size, "plot_tipping prob")
    for name, level in thresholds.items():
        _probabilities([level], 1, f"plot_tipping threshold {name!r}")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    with _house_style():
        ax = _new_axes(ax=ax)
        ax.plot(x, y, color="#333333", lw=2.0, zorder=2)
        for name, level in thresholds.items():
            _threshold_line(ax, name, level, x, y)
        for px, py, text in points:
            ax.plot(px, py, "o", color="#000000", ms=7, zorder=4)
            _point_label(ax, px, py, text, x, y, colour="#000000", above=True)
        for px, py, name in current:
            ax.plot(px, py, "s", color=prior_colour(name), ms=7, zorder=3,
                    markeredgecolor="white")
            _point_label(ax, px, py, name, x, y, colour=prior_colour(name), above=False)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _tidy(ax)
    return ax.figure


def _threshold_line(ax: Axes, name: str, level: float, x: np.ndarray, y: np.ndarray) -> None:
    """A dashed threshold line, named at the end of the axis where the curve is farthest from
    it, on the side of the line away from the curve."""
    ax.axhline(level, color=_MCID_COLOUR, lw=1.0, ls="--", zorder=1)
    at_right = abs(y[-1] - level) >= abs(y[0] - level)
    curve_below = (y[-1] if at_right else y[0]) < level
    ax.annotate(name, (1.0 if at_right else 0.0, level), xycoords=("axes fraction", "data"),
                xytext=(-2 if at_right else 2, 3 if curve_below else -3),
                textcoords="offset points", ha="right" if at_right else "left",
                va="bottom" if curve_below else "top", fontsize=9, color=_MCID_COLOUR)


def _point_label(ax: Axes, px: float, py: float, text: str, x: np.ndarray, y: np.ndarray, *,
                 colour: str, above: bool) -> None:
    """A marker's label in a corner the curve does not pass through: for a falling curve,
    above and to the right or below and to the left (mirrored for a rising one), moved to
    the other side when it would run off the axis."""
    falling = np.interp(px, x, np.gradient(y, x)) <= 0
    right = falling == above
    span = x[-1] - x[0]
    if (right and px > x[-1] - 0.25 * span) or (not right and px < x[0] + 0.25 * span):
        right = not right
    ax.annotate(text, (px, py), xytext=(6 if right else -6, 5 if above else -5),
                textcoords="offset points", ha="left" if right else "right",
                va="bottom" if above else "top", fontsize=9, color=colour)


# ---------------------------------------------------------------------------------------------
# Embedding


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (closing it), trimmed to its contents and kept small.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int, default 110
        Pixels per inch: 110 makes a 7-inch figure about 770 pixels wide.

    Returns
    -------
    bytes
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05,
                facecolor="white", metadata={"Software": None},
                pil_kwargs={"optimize": True})
    plt.close(fig)
    return buffer.getvalue()


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_data_uri(png: bytes) -> str:
    """A data URI (``data:image/png;base64,...``) to put PNG bytes in an ``<img src>``.

    Parameters
    ----------
    png : bytes
        A PNG image, e.g. from :func:`figure_png`.

    Returns
    -------
    str

    Raises
    ------
    SpecError
        If ``png`` is not a PNG image.

    Examples
    --------
    >>> png_data_uri(b"\\x89PNG\\r\\n\\x1a\\n")
    'data:image/png;base64,iVBORw0KGgo='
    """
    if not bytes(png[:8]) == _PNG_MAGIC:
        raise SpecError("png_data_uri: the bytes are not a PNG image (no PNG signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


__all__ = ["FIGURE_WIDTH", "PRIOR_COLOURS", "DifferenceRow", "ForestRow", "figure_png",
           "plot_ceac", "plot_difference_forest", "plot_la_effects", "plot_ratio_posteriors",
           "plot_summary_forest", "plot_tipping", "png_data_uri", "prior_colour",
           "ratio_density"]
