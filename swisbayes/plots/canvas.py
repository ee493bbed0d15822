"""Where a figure is drawn: the caller's axes, or a new figure that only its owner holds.

Every figure function of the package takes ``ax=`` and returns its ``Figure``. A new figure is a
bare :class:`matplotlib.figure.Figure`, not one made by ``pyplot``: pyplot does not keep it open
(no memory growing over a batch of figures, no "too many figures" warning), and a notebook shows
it once, when it is returned, instead of once by pyplot and again as the cell's value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def axes_for(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``figsize`` inches.

    Parameters
    ----------
    ax : matplotlib Axes or None
        The caller's axes (drawn on, in their figure).
    figsize : tuple of float
        Width and height of a new figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


__all__ = ["axes_for"]
