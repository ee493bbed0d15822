"""Disclosure control for the report: children's data, so no small counts anywhere.

The report shows model summaries (ratios, probabilities, rates per 1000 pupils) and one table of
counts: each outcome's events per trial arm. Counts follow the rule of the Department for
Education's children-in-need statistics: any number from 1 to the threshold (5 by default) is
suppressed and shown as ``c``; where an arm is suppressed, the total is suppressed too, so the
hidden number cannot be recovered by subtraction (secondary suppression). No school-level or
LA-level count is shown at all, and LAs are anonymised in figures ("LA 1", ... in the order of
their effects) unless the user asks for their codes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from swisbayes._base.defaults import SMALL_COUNT_SUPPRESS
from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema

SUPPRESSED = "c"
"""What a suppressed count is shown as (the DfE convention)."""

ARMS = ("SWIS", "control", "total")


def is_disclosive(value: float, threshold: int = SMALL_COUNT_SUPPRESS) -> bool:
    """Whether a count must be suppressed: from 1 to ``threshold`` inclusive.

    Parameters
    ----------
    value : float
    threshold : int, default 5

    Returns
    -------
    bool

    Examples
    --------
    >>> [is_disclosive(v) for v in (0, 1, 5, 6)]
    [False, True, True, False]
    """
    return 1 <= value <= threshold


def suppress_row(counts: Sequence[int], threshold: int = SMALL_COUNT_SUPPRESS,
                 ) -> list[int | str]:
    """Suppress one row of (SWIS, control, total) counts.

    Parameters
    ----------
    counts : sequence of int
        The two arms' counts, then their total.
    threshold : int, default 5

    Returns
    -------
    list of int or str
        The counts, with :data:`SUPPRESSED` in place of every small count, and in place of
        the total when exactly one arm is suppressed (else it could be recovered). A small
        total has small (or zero) arms, so they are hidden with it.

    Examples
    --------
    >>> suppress_row([3, 40, 43])
    ['c', 40, 'c']
    >>> suppress_row([0, 4, 4])
    [0, 'c', 'c']
    >>> suppress_row([120, 98, 218])
    [120, 98, 218]
    """
    swis, control, total = (int(c) for c in counts)
    hidden = [is_disclosive(v, threshold) for v in (swis, control, total)]
    if hidden[0] != hidden[1]:  # one arm hidden: the total minus the other would give it away
        hidden[2] = True
    return [SUPPRESSED if h else v for h, v in zip(hidden, (swis, control, total), strict=True)]


def arm_counts(data: SchoolData, outcomes: Sequence[str],
               threshold: int = SMALL_COUNT_SUPPRESS) -> pd.DataFrame:
    """Each outcome's follow-up total per trial arm, with disclosure control applied.

    Parameters
    ----------
    data : SchoolData
    outcomes : sequence of str
        Outcome names (their follow-up columns are summed; attendance is not a count of
        children and is left out).
    threshold : int, default 5
        Largest count suppressed.

    Returns
    -------
    pandas.DataFrame
        Index: outcome labels; columns ``SWIS``, ``control``, ``total`` (object dtype: whole
        numbers or ``"c"``), plus ``schools`` rows for each arm.
    """
    frame = data.frame
    arm = frame["arm"].to_numpy()
    rows = {"schools": [int((arm == 1).sum()), int((arm == 0).sum()), len(frame)]}
    for name in outcomes:
        schema = outcome_schema(name)
        if not schema.traits.summable:
            continue
        values = frame[schema.followup].to_numpy()
        swis, control = int(values[arm == 1].sum()), int(values[arm == 0].sum())
        rows[schema.label] = [swis, control, swis + control]
    table = {label: suppress_row(counts, threshold) for label, counts in rows.items()}
    return pd.DataFrame.from_dict(table, orient="index", columns=list(ARMS), dtype=object)


__all__ = ["ARMS", "SUPPRESSED", "arm_counts", "is_disclosive", "suppress_row"]
