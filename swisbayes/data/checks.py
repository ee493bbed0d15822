"""Validation of trial tables: every problem reported at once, precisely.

School-level tables are checked here; a table with a ``pupil_id`` column is handed to
:func:`swisbayes.data.pupils.validate_pupil_frame`, which reuses these checks.

Each check is a small function that appends :class:`Issue` objects; none stops the others, so a
file with three problems yields three messages. Rows are numbered as data rows from 1 (the header
is not counted), which is what a user sees in a spreadsheet below the header line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from swisbayes._base.errors import DataError
from swisbayes.data.schema import (
    ARM_CODES,
    ARM_COLUMN,
    OutcomeSchema,
    known_outcomes,
    unknown_outcome_message,
)

_MAX_LISTED = 8

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem found in a trial table.

    Parameters
    ----------
    severity : {"error", "warning"}
        Errors stop an analysis; warnings are reported and the analysis goes on.
    check : str
        Short code of the check that fired (``"negative_count"``, ``"duplicate_school"``, ...).
    column : str or None
        Column concerned, if any.
    rows : tuple of int
        Data rows concerned, numbered from 1 below the header.
    found : tuple
        Offending values, aligned with ``rows`` when both are given.
    expected : str
        What a valid value looks like.
    detail : str
        Extra plain-English context (may be empty).
    """

    severity: Severity
    check: str
    column: str | None
    rows: tuple[int, ...] = ()
    found: tuple = ()
    expected: str = ""
    detail: str = ""

    def describe(self, source: str) -> str:
        """Return the one-paragraph message for this issue, prefixed with ``source``."""
        parts = [f"{self.severity.upper()} {source}"]
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.rows:
            parts.append(_list("row", self.rows))
        head = ", ".join(parts) + ":"
        body = []
        if self.detail:
            body.append(self.detail)
        if self.found:
            body.append("found " + _list_values(self.found))
        if self.expected:
            body.append("expected " + self.expected)
        return head + " " + "; ".join(body)


@dataclass
class ValidationReport:
    """All issues found in one table.

    Parameters
    ----------
    source : str
        File path (or a label for an in-memory table) used in every message.
    issues : list of Issue
        Problems in the order they were found.
    """

    source: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """Issues that stop an analysis."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues that are reported but do not stop an analysis."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def __str__(self) -> str:
        if not self.issues:
            return f"{self.source}: no problems found"
        lines = [i.describe(self.source) for i in self.errors + self.warnings]
        summary = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) in {self.source}"
        return "\n".join([summary, *lines])

    def add(self, *issues: Issue) -> None:
        """Append issues to the report."""
        self.issues.extend(issues)


def _list(noun: str, rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return f"{noun}{'s' if len(rows) > 1 else ''} {shown}{more}"


def _list_values(values: Sequence[object]) -> str:
    shown = ", ".join(repr(v) for v in values[:_MAX_LISTED])
    more = f" and {len(values) - _MAX_LISTED} more" if len(values) > _MAX_LISTED else ""
    return shown + more


def rows_where(mask: pd.Series) -> tuple[int, ...]:
    """1-based data-row numbers where ``mask`` is True."""
    return tuple(int(i) + 1 for i in np.flatnonzero(mask.to_numpy()))


def python_values(values: Iterable[object]) -> tuple:
    """Plain Python values for messages (whole floats shown as integers)."""
    out = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        out.append(int(v) if isinstance(v, float) and v.is_integer() else v)
    return tuple(out)


def text_cells(raw: pd.Series) -> pd.Series:
    """Values as stripped text, as ``raw.astype(str).str.strip()`` but fast on pupil files.

    Arrow-backed text is stripped in place (vectorised); anything else is converted once per
    distinct value, since pupil files repeat the same few ids and codes over ~300,000 rows.
    """
    if isinstance(raw.dtype, pd.StringDtype):
        return raw.str.strip().fillna("nan").astype(str)
    codes, uniques = pd.factorize(raw)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().to_numpy(dtype=object)
    out = np.where(codes >= 0, text[np.maximum(codes, 0)] if len(text) else "nan", "nan")
    return pd.Series(out, index=raw.index, dtype=object).astype(str)


def _blank(raw: pd.Series) -> pd.Series:
    """True where a cell is missing or only whitespace."""
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw):
        return raw.isna()  # only text can be blank
    return raw.isna() | (text_cells(raw) == "")


def parse_numbers(raw: pd.Series) -> pd.Series:
    """``pd.to_numeric(raw, errors="coerce")`` as float64, parsing each distinct text once.

    Text columns of a pupil file hold a handful of distinct numbers over ~300,000 rows, and
    parsing text is the slow part of reading them.
    """
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype("float64")
    if not (pd.api.types.is_object_dtype(raw) or isinstance(raw.dtype, pd.StringDtype)):
        return pd.to_numeric(raw, errors="coerce").astype("float64")
    codes, uniques = pd.factorize(raw)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
    parsed = parsed.astype("float64").to_numpy()
    out = np.full(len(raw), np.nan)
    known = codes >= 0
    out[known] = parsed[codes[known]]
    return pd.Series(out, index=raw.index)


def numeric_column(frame: pd.DataFrame, column: str, report: ValidationReport) -> pd.Series:
    """Column as float, reporting text that is not a number; missing cells stay NaN."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw) or pd.api.types.is_timedelta64_dtype(raw):
        # a Parquet date or duration column would otherwise pass as nanoseconds
        bad = raw.notna()
        if bad.any():
            report.add(Issue("error", "wrong_type", column, rows_where(bad),
                             tuple(raw[bad].astype(str)), "a number",
                             detail=f"the column holds dates or times ({raw.dtype})"))
        return pd.Series(np.nan, index=raw.index)
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype("float64")
    values = parse_numbers(raw)
    bad = values.isna() & ~_blank(raw)
    if bad.any():
        report.add(Issue("error", "wrong_type", column, rows_where(bad), python_values(raw[bad]),
        "a number"))
    infinite = values.notna() & ~np.isfinite(values)
    if infinite.any():
        report.add(Issue("error", "non_finite", column, rows_where(infinite),
        python_values(raw[infinite]),
                         "a finite number"))
    return values.where(np.isfinite(values))


def check_missing_cells(frame: pd.DataFrame, columns: Iterable[str],
                         report: ValidationReport) -> None:
    """Report every empty cell of ``columns``, by column, with its rows."""
    for column in columns:
        empty = _blank(frame[column])
        if empty.any():
            report.add(Issue("error", "missing_value", column, rows_where(empty),
                             expected="a value in every row (this column is required)",
                             detail="the cell is empty" if empty.sum() == 1
                             else "the cells are empty"))


def arm_codes(raw: pd.Series) -> pd.Series:
    """Arm as 0/1 floats, NaN where the spelling is not one of :data:`ARM_CODES`."""
    codes, uniques = pd.factorize(raw)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower()
    mapped = text.str.replace(r"\.0$", "", regex=True).map(ARM_CODES).to_numpy(dtype=float)
    out = np.full(len(raw), np.nan)
    known = codes >= 0
    out[known] = mapped[codes[known]]
    return pd.Series(out, index=raw.index)


def normalise_arm(frame: pd.DataFrame, report: ValidationReport) -> pd.Series:
    """The arm column as 1 (SWIS, the intervention) / 0 (control), reporting values that are
    neither."""
    raw = frame[ARM_COLUMN]
    codes = arm_codes(raw)
    bad = codes.isna() & ~_blank(raw)
    if bad.any():
        report.add(Issue("error", "bad_arm", ARM_COLUMN, rows_where(bad), python_values(raw[bad]),
                         "0 or 1, or 'control' or 'swis' (also 'intervention'), in any case"))
    return codes


def check_arms(frame: pd.DataFrame, arm: pd.Series, report: ValidationReport) -> None:
    """Report a trial with one arm only, and LAs whose schools are all in one arm."""
    known = arm.notna()
    if not known.any():
        return
    arms = set(arm[known].astype(int))
    if len(arms) == 1:
        only = "SWIS (1)" if arms == {1} else "control (0)"
        report.add(Issue("error", "single_arm", ARM_COLUMN,
                         detail=f"every school is in the {only} arm, so there is nothing to "
                                "compare",
                         expected="schools in both arms"))
        return
    la = text_cells(frame["la_id"])
    per_la = arm[known].groupby(la[known]).nunique()
    for la_id in per_la.index[per_la < 2]:
        report.add(Issue("warning", "la_single_arm", "la_id", rows_where(known & (la == la_id)),
                         detail=f"LA '{la_id}' has schools in one arm only; it informs the LA "
                                "intercepts but not the within-LA comparison",
                         expected="schools in both arms within each LA"))


def check_counts(values: pd.Series, column: str, report: ValidationReport) -> None:
    """Report negative and non-integer counts of ``column``, with their rows."""
    present = values.notna()
    negative = present & (values < 0)
    if negative.any():
        report.add(Issue("error", "negative_count", column, rows_where(negative),
        python_values(values[negative]),
                         "a non-negative whole number"))
    fractional = present & ~negative & (values != np.floor(values))
    if fractional.any():
        report.add(Issue("error", "non_integer_count", column, rows_where(fractional),
                         python_values(values[fractional]), "a whole number (a count)"))


def check_not_above_denominator(outcome: OutcomeSchema, numeric: dict[str, pd.Series],
                                 report: ValidationReport) -> None:
    """Sessions missed cannot exceed sessions possible in the same row."""
    if outcome.denominator and {outcome.followup, outcome.denominator} <= set(numeric):
        over = numeric[outcome.followup] > numeric[outcome.denominator]
        if over.any():
            report.add(Issue("error", "missed_exceeds_possible", outcome.followup, rows_where(over),
                             python_values(numeric[outcome.followup][over]),
                             f"no more than '{outcome.denominator}' in the same row"))


def check_outcome_names(outcomes: Sequence[str] | None) -> None:
    """Raise :class:`DataError` naming any outcome the schema does not know (built in or
    declared), and saying how to declare one."""
    known = known_outcomes()
    unknown = [o for o in outcomes or () if o not in known]
    if unknown:
        raise DataError(unknown_outcome_message(unknown))


def checked_outcomes(frame: pd.DataFrame,
                     outcomes: Sequence[str] | None) -> list[OutcomeSchema]:
    """Outcomes whose columns validation checks: the named ones, else every one present.

    Without named outcomes, an outcome is present when any of its columns (follow-up, baseline
    or denominator) is in ``frame``; it is then checked as if it were analysed. The outcomes
    are the built-in ones and those declared in this process (by the specs read).
    """
    known = known_outcomes()
    if outcomes is not None:
        return [known[o] for o in dict.fromkeys(outcomes)]
    return [o for o in known.values() if any(c in frame.columns for c in o.columns)]


def check_outcome_columns(frame: pd.DataFrame, checked: Sequence[OutcomeSchema], *,
                          asked: bool, report: ValidationReport) -> None:
    """Report each absent column of the outcomes checked (:func:`checked_outcomes`).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read.
    checked : sequence of OutcomeSchema
        Outcomes whose columns are required.
    asked : bool
        True when the outcomes were named (an analysis of them); False when they were found in
        the file, so that the message names the column that is there and the one that is not.
    report : ValidationReport
        Receives one ``missing_column`` error per absent column.
    """
    found = ", ".join(map(str, frame.columns))
    for outcome in checked:
        present = [c for c in outcome.columns if c in frame.columns]
        for column in outcome.columns:
            if column in frame.columns:
                continue
            if asked or not present:
                report.add(Issue("error", "missing_column", column,
                                 detail=f"required column is absent (columns found: {found})",
                                 expected=f"a column named '{column}'"))
                continue
            have = " and ".join(f"{outcome.role(c)} column '{c}'" for c in present)
            report.add(Issue(
                "error", "missing_column", column,
                detail=f"outcome '{outcome.name}' has its {have} but no {outcome.role(column)} "
                       f"column '{column}' (every outcome in the file is checked as if it were "
                       f"analysed; columns found: {found})",
                expected=f"a column named '{column}', or none of the columns of "
                         f"'{outcome.name}' ({', '.join(outcome.columns)})"))

