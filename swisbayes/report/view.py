"""The report's view model: cells, rows, groups and figures, and how numbers read on the page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.text import format_estimate, format_probability
from swisbayes.data.schema import outcome_phrase, outcome_schema
from swisbayes.decision.summaries import (
    DifferenceSummary,
    RatioSummary,
    signed,
)
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.value_for_money import (
    find_outcome,
)


@dataclass(frozen=True)
class Cell:
    """One number of a table: its exact value, its text and its traffic-light class.

    Parameters
    ----------
    key : str
        What the number is (the JSON key of the decision functions, e.g.
        ``prob_meaningful_reduction``).
    value : float, str or None
        The exact value (written to ``data-value`` in the HTML and to the CSV).
    text : str
        What the reader sees.
    css : str, default ""
        ``invest``, ``more`` or ``stop`` for a traffic-light cell, ``text`` for a left-aligned
        one.
    """

    key: str
    value: float | str | None
    text: str
    css: str = ""


@dataclass(frozen=True)
class Row:
    """A row of the effects, economics or diagnostics table.

    ``scale`` is the scale of an effects row's headline and probabilities (:data:`RATIO` or
    :data:`POINTS`); empty for the other tables.
    """

    outcome: str
    prior: str
    cells: list[Cell]
    reliable: bool = True
    scale: str = ""


RATIO = "ratio"
"""Scale of a row whose effect is a ratio (intervention vs control) and whose MCID is a
fraction."""


POINTS = "percentage points"
"""Scale of attendance's rows: the difference in absence, intervention minus control, with the
MCID in percentage points (``mcid_pp``) and every probability of the row on that scale."""


@dataclass(frozen=True)
class Group:
    """The rows of one outcome in the effects table, under its label."""

    label: str
    note: str
    rows: list[Row]


@dataclass
class Figure:
    """An embedded figure: PNG bytes and what it shows.

    ``src`` is set by the renderer (a data URI in HTML, a file name in Markdown).
    """

    name: str
    caption: str
    alt: str
    png: bytes
    wide: bool = False
    src: str = ""


NONE = "\u2013"
"""An en dash: the text of a cell with no value."""


VERDICT_CSS = {"invest": "invest", "more evidence": "more", "stop": "stop"}


def pct(p: float, *against: float) -> str:
    """A probability for a table: :func:`~swisbayes._base.text.format_probability` (never reading
    as a threshold in ``against`` that it is not), with ``<0.1%``/``>99.9%`` for 0 and 1.

    Examples
    --------
    >>> pct(0.0), pct(0.0004), pct(0.0123), pct(0.0999, 0.1), pct(1.0)
    ('<0.1%', '0.04%', '1.2%', '9.99%', '>99.9%')
    """
    text = format_probability(p, *against)
    return text.replace("less than ", "<").replace("more than ", ">")


def bound(word: str, p: float, *against: float) -> str:
    """``at most 6.2%`` for a sentence, or ``less than 0.1%``/``more than 99.9%`` at the ends
    (never "at most <0.1%")."""
    text = format_probability(p, *against)
    return text if text.startswith(("less than", "more than")) else f"{word} {text}"


def ratio_text(s: RatioSummary) -> str:
    """Median and interval of a ratio: ``0.990 (0.901 to 1.016)`` written with an en dash, to
    three decimals, so that a bound never reads as 1 when it is not
    (:func:`~swisbayes._base.text.format_estimate`)."""
    lo, hi = s.ci
    return f"{format_estimate(s.median)} ({format_estimate(lo)}{NONE}{format_estimate(hi)})"


def points_text(s: DifferenceSummary, decimals: int) -> str:
    """Median and interval of a difference in percentage points: ``-0.0012 pp (-0.0150 to
    +0.0131)``, to ``decimals`` places (:func:`~swisbayes.decision.summaries.difference_decimals`).

    Examples
    --------
    >>> s = DifferenceSummary(-0.61234, (-1.2, -0.04), 0.95, 0.5, 0.6, 0.99, 0.01, 0.4)
    >>> points_text(s, 2)
    '-0.61 pp (-1.20 to -0.04)'
    """
    return (f"{signed(s.median, decimals)} pp ({signed(s.ci[0], decimals)} to "
            f"{signed(s.ci[1], decimals)})")


@dataclass(frozen=True)
class Subject:
    """What a report is about: the outcome its verdict reads and what is being decided on.

    Parameters
    ----------
    primary : str, default "s47"
        The primary outcome: the verdict, the value for money and the value of further trials
        are about it.
    intervention : str, default "SWIS"
        The intervention as sentences name it (``"SWIS"``, ``"the intervention"``).
    trial : str or None
        The trial the data declare they come from (``"SWIS"``), None when undeclared.
    """

    primary: str = "s47"
    intervention: str = DEFAULT_INTERVENTION
    trial: str | None = None

    @property
    def phrase(self) -> str:
        """The primary outcome inside a sentence (``"S47 enquiries"``)."""
        return outcome_phrase(self.primary)

    @property
    def label(self) -> str:
        """The primary outcome's label (``"Section 47 child-protection enquiries"``)."""
        return outcome_schema(self.primary).label


def primary_analysis(analyses: Sequence[OutcomeAnalysis], primary: str) -> OutcomeAnalysis:
    """The analysis of the primary outcome, which the verdict is about.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
    primary : str
        Its outcome (:attr:`Subject.primary`).

    Returns
    -------
    OutcomeAnalysis

    Raises
    ------
    SpecError
        If there is none.
    """
    return find_outcome(analyses, primary)


__all__ = [
    "POINTS",
    "RATIO",
    "Cell",
    "Figure",
    "Group",
    "Row",
    "Subject",
    "pct",
    "points_text",
    "ratio_text"
]
