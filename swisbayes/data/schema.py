"""Column schemas of trial files: school-level (one row per school) and pupil-level.

The outcomes are data: the built-in ones are SWIS's (:data:`OUTCOMES`), and a spec declares any
other (:func:`register_outcome`). :func:`outcome_schema` is the one lookup of both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from swisbayes._base.errors import SpecError

ID_COLUMNS = ("school_id", "la_id")
"""Identifier columns, read as text."""

ARM_COLUMN = "arm"
EXPOSURE_COLUMN = "pupils"
REQUIRED_COLUMNS = (*ID_COLUMNS, ARM_COLUMN, EXPOSURE_COLUMN)

ARM_CODES: dict[str, int] = {"0": 0, "1": 1, "control": 0, "swis": 1, "intervention": 1}
"""Accepted spellings of the arm (case-insensitive) and the code each maps to: SWIS's, and the
generic name another trial's file may use."""

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


def column_problem(kind: str, followup: str, baseline: str | None,
                   denominator: str | None) -> str | None:
    """What is wrong with an outcome's kind and columns, or None when nothing is.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    followup, baseline, denominator : str or None
        The outcome's columns (``followup`` always given).

    Returns
    -------
    str or None
        A sentence naming the field and what was expected, for :class:`OutcomeSchema` and the
        ``[outcome_schema]`` table of a spec.
    """
    if kind not in KINDS:
        return f"kind {kind!r} is not one of {', '.join(KINDS)}"
    columns = [c for c in (followup, baseline, denominator) if c is not None]
    design = (*REQUIRED_COLUMNS, PUPIL_ID_COLUMN)
    reserved = [c for c in columns if c in design]
    if reserved:
        return (f"column(s) {reserved} are design columns of every trial file "
                f"({', '.join(design)}); expected the outcome's own columns")
    if len(set(columns)) < len(columns):
        return (f"followup, baseline and denominator name the same column "
                f"({', '.join(columns)}); expected a column for each")
    if (kind == "sessions") != (denominator is not None):
        return ("a 'sessions' outcome needs a denominator column (sessions possible) and the "
                f"other kinds have none; found kind {kind!r} with denominator {denominator!r}")
    return None


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
        Column bounding ``followup`` from above (sessions possible); a ``sessions`` outcome
        needs one, the other kinds have none.
    unit : str or None
        What one unit of ``followup`` is, in the plural (``"enquiries"``, ``"days in care"``),
        for text; None when not given.
    phrase : str or None
        The outcome as it reads inside a sentence (``"S47 enquiries"``); the label with a lower
        case first letter when None (:func:`outcome_phrase`).

    Raises
    ------
    SpecError
        For an unknown kind, a column that is one of the design columns (:data:`REQUIRED_COLUMNS`
        or ``pupil_id``), a column given twice, or a denominator missing from a ``sessions``
        outcome or given to another kind.
    """

    name: str
    label: str
    kind: Literal["count", "days", "sessions"]
    followup: str
    baseline: str | None
    denominator: str | None = None
    unit: str | None = None
    phrase: str | None = None

    def __post_init__(self) -> None:
        problem = column_problem(self.kind, self.followup, self.baseline, self.denominator)
        if problem:
            raise SpecError(f"outcome {self.name!r}: {problem}")

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
                      "s47_baseline", unit="enquiries", phrase="S47 enquiries"),
        OutcomeSchema("referrals", "Referrals to children's social care", "count", "referrals",
                      "referrals_baseline", unit="referrals", phrase="referrals"),
        OutcomeSchema("s17", "Section 17 child-in-need assessments", "count", "s17",
                      "s17_baseline", unit="assessments", phrase="S17 assessments"),
        OutcomeSchema("care_entry", "Children entering care", "count", "care_entry",
                      "care_entry_baseline", unit="children entering care",
                      phrase="entries to care"),
        OutcomeSchema("days_in_care", "Days in care", "days", "days_in_care",
                      "days_in_care_baseline", unit="days in care", phrase="days in care"),
        OutcomeSchema("attendance", "Sessions missed (absence)", "sessions", "sessions_missed",
                      "sessions_missed_baseline", denominator="sessions_possible",
                      unit="sessions missed", phrase="absence"),
    )
}
"""The built-in outcomes (those of SWIS), by name; :func:`known_outcomes` adds the declared ones."""

DECLARATION_TABLE = "outcome_schema"
"""The table of a spec that declares an outcome the schema does not know (see
:func:`register_outcome`)."""

DECLARATION_HINT = (
    f"to analyse another outcome, declare it in its spec with an [{DECLARATION_TABLE}] table: "
    "label, kind (count, days or sessions), followup (its column), and optionally baseline, "
    "denominator and unit")
"""How to declare an outcome, for the messages about an unknown one."""

_DECLARED: dict[str, tuple[OutcomeSchema, str]] = {}
"""Outcomes declared in this process, by name, with where each was declared."""


def register_outcome(schema: OutcomeSchema, *, source: str = "Python") -> OutcomeSchema:
    """Make a declared outcome known to every reader and model, by its name.

    A spec with an ``[outcome_schema]`` table calls this when it is read, so a count outcome of
    another school-clustered trial is a spec, not new code. Declaring the same outcome again
    identically does nothing.

    Parameters
    ----------
    schema : OutcomeSchema
        The outcome's columns, label, unit and kind.
    source : str, default "Python"
        Where it is declared (``"spec 'exclusions'"``), named if another declaration conflicts.

    Returns
    -------
    OutcomeSchema
        ``schema``.

    Raises
    ------
    SpecError
        If the name is a built-in outcome declared differently, or was declared before with
        other values; the message names both declarations and the fields that differ.

    Examples
    --------
    >>> schema = OutcomeSchema("incidents", "Recorded behaviour incidents", "count",
    ...                        "incidents", "incidents_baseline", unit="incidents")
    >>> register_outcome(schema) is schema
    True
    >>> outcome_schema("incidents").baseline
    'incidents_baseline'
    """
    check_declaration(schema, source=source)
    if schema.name not in OUTCOMES:
        _DECLARED.setdefault(schema.name, (schema, source))  # the first source is kept
    return schema


def check_declaration(schema: OutcomeSchema, *, source: str = "Python") -> None:
    """Raise what :func:`register_outcome` would raise for ``schema``, without registering it.

    Parameters
    ----------
    schema : OutcomeSchema
    source : str, default "Python"
        Where it is declared, for the message.

    Raises
    ------
    SpecError
        If the name is a built-in outcome with other values, or was declared with other values
        before; the message names both declarations and every field that differs.
    """
    if schema.name in OUTCOMES:
        previous, where = OUTCOMES[schema.name], "the built-in outcome"
    elif schema.name in _DECLARED:
        previous, where = _DECLARED[schema.name]
    else:
        return
    if schema == previous:
        return
    differ = "; ".join(f"{f.name} {getattr(previous, f.name)!r} vs {getattr(schema, f.name)!r}"
                       for f in fields(OutcomeSchema)
                       if getattr(previous, f.name) != getattr(schema, f.name))
    raise SpecError(f"outcome {schema.name!r} is declared differently by {where} and by "
                    f"{source}: {differ}; expected one declaration per outcome name (give the "
                    "new outcome another name, or the same values)")


def known_outcomes() -> dict[str, OutcomeSchema]:
    """Every outcome known in this process: the built-in ones, then those declared, by name."""
    return {**OUTCOMES, **{name: schema for name, (schema, _) in _DECLARED.items()}}


def unknown_outcome_message(names: list[str] | str, expected: str = "known outcomes:") -> str:
    """The one message for outcome names the schema does not know, with how to declare one.

    Parameters
    ----------
    names : list of str or str
        The unknown names (a list), or one name.
    expected : str, default "known outcomes:"
        The words before the list of known outcomes.

    Returns
    -------
    str
    """
    what = f"outcome(s) {names}" if isinstance(names, list) else f"outcome {names!r}"
    return f"unknown {what}; {expected} {', '.join(known_outcomes())}; {DECLARATION_HINT}"


def outcome_schema(name: str) -> OutcomeSchema:
    """Return the schema of outcome ``name``, built in or declared (:func:`register_outcome`).

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
        If the outcome is neither built in nor declared; the message lists the known ones and
        says how to declare another.
    """
    known = known_outcomes()
    if name not in known:
        raise KeyError(unknown_outcome_message(name))
    return known[name]


def outcome_phrase(name: str) -> str:
    """How outcome ``name`` reads inside a sentence: its declared ``phrase``, else its label
    with a lower-case first letter (kept when the label opens with an acronym).

    Parameters
    ----------
    name : str
        A built-in or declared outcome.

    Returns
    -------
    str

    Examples
    --------
    >>> outcome_phrase("s47"), outcome_phrase("care_entry")
    ('S47 enquiries', 'entries to care')
    """
    schema = outcome_schema(name)
    if schema.phrase:
        return schema.phrase
    label = schema.label
    acronym = len(label) > 1 and (label[1].isupper() or label[1].isdigit())
    return label if acronym else label[:1].lower() + label[1:]
