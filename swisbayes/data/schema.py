"""Column schemas of trial files: school-level (one row per school) and pupil-level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ID_COLUMNS = ("school_id", "la_id")
"""Identifier columns, read as text."""

ARM_COLUMN = "arm"
EXPOSURE_COLUMN = "pupils"
REQUIRED_COLUMNS = (*ID_COLUMNS, ARM_COLUMN, EXPOSURE_COLUMN)

ARM_CODES: dict[str, int] = {"0": 0, "1": 1, "control": 0, "swis": 1}
"""Accepted spellings of the arm (case-insensitive) and the code each maps to."""

PERCENT_COVARIATES = ("fsm_pct",)
"""Covariates that are percentages and must lie in [0, 100]."""

PUPIL_ID_COLUMN = "pupil_id"
"""The column that marks a pupil-level file (one row per pupil)."""

PUPIL_REQUIRED_COLUMNS = (PUPIL_ID_COLUMN, *ID_COLUMNS, ARM_COLUMN)
"""Columns every pupil-level file needs; it has no ``pupils`` column (each row is one pupil)."""

PUPIL_BINARY_COVARIATES = ("fsm", "sen", "baseline_cin")
"""Pupil covariates coded 0/1 (free school meals, special needs, child in need at baseline)."""

PERCENT_SUFFIX = "_pct"
"""A school covariate ``X_pct`` is 100 x the school mean of the 0/1 pupil column ``X``."""

MAX_FOLLOWUP_DAYS = 2 * 366
"""Most days one pupil can spend in care in the follow-up window (23 months in SWIS, 700 days;
two leap years bound any window of up to two years)."""

MAX_BASELINE_DAYS = 366
"""Most days one pupil can spend in care in the one-year baseline window."""


@dataclass(frozen=True)
class OutcomeKind:
    """What the data layer needs to know of a kind of outcome, declared as data.

    Parameters
    ----------
    name : str
        ``count``, ``days`` or ``sessions``; the model of each kind is its family in
        :mod:`swisbayes.families.registry`.
    events : bool
        A count of events: pupil rows reduce to cells of pupils, and a school's rate per pupil
        is checked for plausibility.
    day_windows : bool
        Days bounded by the follow-up and baseline windows.
    summable : bool
        School values add up to a meaningful arm total (events or days; not sessions missed,
        whose total depends on sessions possible).
    """

    name: str
    events: bool
    day_windows: bool
    summable: bool


KINDS: dict[str, OutcomeKind] = {k.name: k for k in (
    OutcomeKind("count", events=True, day_windows=False, summable=True),
    OutcomeKind("days", events=False, day_windows=True, summable=True),
    OutcomeKind("sessions", events=False, day_windows=False, summable=False),
)}
"""Every kind of outcome, by name."""


@dataclass(frozen=True)
class OutcomeSchema:
    """The columns that carry one outcome.

    Parameters
    ----------
    name : str
        Outcome name used in specs and results (``"s47"``).
    label : str
        Plain-English label for tables and reports.
    kind : {"count", "days", "sessions"}
        ``count``: events per school; ``days``: days in care (a non-negative whole number);
        ``sessions``: sessions missed out of sessions possible.
    followup : str
        Column of the follow-up value.
    baseline : str or None
        Column of the same measure in the pre-randomisation year.
    denominator : str or None
        Column bounding ``followup`` from above (sessions possible), if any.
    """

    name: str
    label: str
    kind: Literal["count", "days", "sessions"]
    followup: str
    baseline: str | None
    denominator: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns of this outcome, follow-up first."""
        cols = [self.followup, self.baseline, self.denominator]
        return tuple(c for c in cols if c is not None)

    @property
    def traits(self) -> OutcomeKind:
        """What this outcome's kind means for the data (:data:`KINDS`)."""
        return KINDS[self.kind]

    @property
    def integer_columns(self) -> tuple[str, ...]:
        """Columns that must hold non-negative whole numbers."""
        return self.columns

    def role(self, column: str) -> str:
        """What ``column`` holds for this outcome, for messages.

        Parameters
        ----------
        column : str
            One of :attr:`columns`.

        Returns
        -------
        str
            ``"follow-up"``, ``"baseline"`` or ``"denominator"``.
        """
        roles = {self.followup: "follow-up", self.baseline: "baseline",
                 self.denominator: "denominator"}
        return roles[column]


OUTCOMES: dict[str, OutcomeSchema] = {
    o.name: o
    for o in (
        OutcomeSchema("s47", "Section 47 child-protection enquiries", "count", "s47",
                      "s47_baseline"),
        OutcomeSchema("referrals", "Referrals to children's social care", "count", "referrals",
                      "referrals_baseline"),
        OutcomeSchema("s17", "Section 17 child-in-need assessments", "count", "s17",
                      "s17_baseline"),
        OutcomeSchema("care_entry", "Children entering care", "count", "care_entry",
                      "care_entry_baseline"),
        OutcomeSchema("days_in_care", "Days in care", "days", "days_in_care",
                      "days_in_care_baseline"),
        OutcomeSchema("attendance", "Sessions missed (absence)", "sessions", "sessions_missed",
                      "sessions_missed_baseline", denominator="sessions_possible"),
    )
}
"""Every outcome the schema knows, by name."""


def outcome_schema(name: str) -> OutcomeSchema:
    """Return the schema of outcome ``name``.

    Parameters
    ----------
    name : str
        An outcome name, e.g. ``"s47"``.

    Returns
    -------
    OutcomeSchema

    Raises
    ------
    KeyError
        If the outcome is unknown; the message lists the known ones.
    """
    try:
        return OUTCOMES[name]
    except KeyError:
        raise KeyError(f"unknown outcome {name!r}; known outcomes: {', '.join(OUTCOMES)}") from None
