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

from swisbayes._base.defaults import PLAUSIBLE_EVENTS_PER_PUPIL
from swisbayes._base.errors import DataError
from swisbayes.data.schema import (
    ARM_CODES,
    ARM_COLUMN,
    EXPOSURE_COLUMN,
    ID_COLUMNS,
    OUTCOMES,
    PERCENT_COVARIATES,
    PUPIL_ID_COLUMN,
    REQUIRED_COLUMNS,
    OutcomeSchema,
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


def _rows(mask: pd.Series) -> tuple[int, ...]:
    """1-based data-row numbers where ``mask`` is True."""
    return tuple(int(i) + 1 for i in np.flatnonzero(mask.to_numpy()))


def _py(values: Iterable[object]) -> tuple:
    """Plain Python values for messages (whole floats shown as integers)."""
    out = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        out.append(int(v) if isinstance(v, float) and v.is_integer() else v)
    return tuple(out)


def _text(raw: pd.Series) -> pd.Series:
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
    return raw.isna() | (_text(raw) == "")


def _parse_numbers(raw: pd.Series) -> pd.Series:
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


def _numeric(frame: pd.DataFrame, column: str, report: ValidationReport) -> pd.Series:
    """Column as float, reporting text that is not a number; missing cells stay NaN."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw) or pd.api.types.is_timedelta64_dtype(raw):
        # a Parquet date or duration column would otherwise pass as nanoseconds
        bad = raw.notna()
        if bad.any():
            report.add(Issue("error", "wrong_type", column, _rows(bad),
                             tuple(raw[bad].astype(str)), "a number",
                             detail=f"the column holds dates or times ({raw.dtype})"))
        return pd.Series(np.nan, index=raw.index)
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype("float64")
    values = _parse_numbers(raw)
    bad = values.isna() & ~_blank(raw)
    if bad.any():
        report.add(Issue("error", "wrong_type", column, _rows(bad), _py(raw[bad]), "a number"))
    infinite = values.notna() & ~np.isfinite(values)
    if infinite.any():
        report.add(Issue("error", "non_finite", column, _rows(infinite), _py(raw[infinite]),
                         "a finite number"))
    return values.where(np.isfinite(values))


def _check_missing_cells(frame: pd.DataFrame, columns: Iterable[str],
                         report: ValidationReport) -> None:
    for column in columns:
        empty = _blank(frame[column])
        if empty.any():
            report.add(Issue("error", "missing_value", column, _rows(empty),
                             expected="a value in every row (this column is required)",
                             detail="the cell is empty" if empty.sum() == 1
                             else "the cells are empty"))


def _check_ids(frame: pd.DataFrame, report: ValidationReport) -> None:
    school = _text(frame["school_id"])
    la = _text(frame["la_id"])
    present = frame["school_id"].notna() & frame["la_id"].notna()
    pairs = pd.DataFrame({"school": school[present], "la": la[present]}).drop_duplicates()
    multi = pairs[pairs["school"].duplicated(keep=False)]
    multi_la = {sid: tuple(g["la"]) for sid, g in multi.groupby("school", sort=False)}
    for sid, las in multi_la.items():
        mask = present & (school == sid)
        report.add(Issue("error", "school_in_two_las", "la_id", _rows(mask), _py(las),
                         "each school under exactly one LA",
                         detail=f"school '{sid}' is listed under {len(las)} different LAs"))
    dup = present & school.duplicated(keep=False) & ~school.isin(list(multi_la))
    for sid in pd.unique(school[dup]):
        mask = dup & (school == sid)
        report.add(Issue("error", "duplicate_school", "school_id", _rows(mask), (sid,),
                         "each school_id exactly once (one row per school)"))


def _arm_codes(raw: pd.Series) -> pd.Series:
    """Arm as 0/1 floats, NaN where the spelling is not one of :data:`ARM_CODES`."""
    codes, uniques = pd.factorize(raw)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower()
    mapped = text.str.replace(r"\.0$", "", regex=True).map(ARM_CODES).to_numpy(dtype=float)
    out = np.full(len(raw), np.nan)
    known = codes >= 0
    out[known] = mapped[codes[known]]
    return pd.Series(out, index=raw.index)


def _normalise_arm(frame: pd.DataFrame, report: ValidationReport) -> pd.Series:
    raw = frame[ARM_COLUMN]
    codes = _arm_codes(raw)
    bad = codes.isna() & ~_blank(raw)
    if bad.any():
        report.add(Issue("error", "bad_arm", ARM_COLUMN, _rows(bad), _py(raw[bad]),
                         "0 or 1, or 'control' or 'swis' (any case)"))
    return codes


def _check_arms(frame: pd.DataFrame, arm: pd.Series, report: ValidationReport) -> None:
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
    la = _text(frame["la_id"])
    per_la = arm[known].groupby(la[known]).nunique()
    for la_id in per_la.index[per_la < 2]:
        report.add(Issue("warning", "la_single_arm", "la_id", _rows(known & (la == la_id)),
                         detail=f"LA '{la_id}' has schools in one arm only; it informs the LA "
                                "intercepts but not the within-LA comparison",
                         expected="schools in both arms within each LA"))


def _check_counts(values: pd.Series, column: str, report: ValidationReport) -> None:
    present = values.notna()
    negative = present & (values < 0)
    if negative.any():
        report.add(Issue("error", "negative_count", column, _rows(negative), _py(values[negative]),
                         "a non-negative whole number"))
    fractional = present & ~negative & (values != np.floor(values))
    if fractional.any():
        report.add(Issue("error", "non_integer_count", column, _rows(fractional),
                         _py(values[fractional]), "a whole number (a count)"))


def _check_outcome(frame, outcome: OutcomeSchema, exposure, report, numeric) -> None:
    for column in outcome.integer_columns:
        if column in frame:
            _check_counts(numeric[column], column, report)
    if outcome.kind == "count" and outcome.followup in numeric:
        rate = numeric[outcome.followup] / exposure
        high = rate > PLAUSIBLE_EVENTS_PER_PUPIL
        if high.any():
            report.add(Issue(
                "warning", "implausible_count", outcome.followup, _rows(high),
                _py(numeric[outcome.followup][high]),
                f"at most {PLAUSIBLE_EVENTS_PER_PUPIL} events per pupil in '{EXPOSURE_COLUMN}'",
                detail="more events than is plausible for the school's size; check the units"))
    _check_not_above_denominator(outcome, numeric, report)


def _check_not_above_denominator(outcome: OutcomeSchema, numeric: dict[str, pd.Series],
                                 report: ValidationReport) -> None:
    """Sessions missed cannot exceed sessions possible in the same row."""
    if outcome.denominator and {outcome.followup, outcome.denominator} <= set(numeric):
        over = numeric[outcome.followup] > numeric[outcome.denominator]
        if over.any():
            report.add(Issue("error", "missed_exceeds_possible", outcome.followup, _rows(over),
                             _py(numeric[outcome.followup][over]),
                             f"no more than '{outcome.denominator}' in the same row"))


def validate_frame(frame: pd.DataFrame, *, source: str = "<table>",
                   outcomes: Sequence[str] | None = None,
                   covariates: Sequence[str] = ()) -> ValidationReport:
    """Check a school-level table against the schema and report every problem.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per school, as read from the file (not modified).
    source : str, default "<table>"
        Name used in messages, normally the file path.
    outcomes : sequence of str, optional
        Outcomes that will be analysed: their follow-up and baseline columns become required.
        When None, every outcome with a column in the table (follow-up, baseline or
        denominator) is checked as if it were analysed: all its columns are required and
        complete, so an outcome with its baseline but not its follow-up is an error that names
        the missing column. Outcomes with no column in the table are not checked.
    covariates : sequence of str, default ()
        School covariates the analysis adjusts for: required, numeric and complete.

    Returns
    -------
    ValidationReport
        Errors and warnings; ``report.ok`` is True when there is no error.
    """
    report = ValidationReport(source)
    if len(frame) == 0:
        report.add(Issue("error", "empty", None, detail="the file has no data rows",
                         expected="one row per school"))
        return report
    check_outcome_names(outcomes)
    if PUPIL_ID_COLUMN in frame.columns:
        if EXPOSURE_COLUMN in frame.columns:
            # Both markers: the level is ambiguous, so every other check would be against the
            # wrong schema and only add noise.
            report.add(Issue("error", "pupil_level", PUPIL_ID_COLUMN,
                             detail=f"the file has both '{PUPIL_ID_COLUMN}' (one row per pupil) "
                                    f"and '{EXPOSURE_COLUMN}' (pupils per school row)",
                             expected=f"a pupil-level file without '{EXPOSURE_COLUMN}', or a "
                                      f"school-level file without '{PUPIL_ID_COLUMN}'"))
            return report
        from swisbayes.data.pupils import validate_pupil_frame

        return validate_pupil_frame(frame, source=source, outcomes=outcomes,
                                    covariates=covariates)
    checked = checked_outcomes(frame, outcomes)
    outcome_columns = [c for o in checked for c in o.columns]
    _check_design_columns(frame, REQUIRED_COLUMNS, report)
    check_outcome_columns(frame, checked, asked=outcomes is not None, report=report)
    _check_design_columns(frame, [c for c in covariates if c not in (*REQUIRED_COLUMNS,
                                                                      *outcome_columns)], report)
    required = dict.fromkeys([*REQUIRED_COLUMNS, *outcome_columns, *covariates])
    present_required = [c for c in required if c in frame.columns]
    _check_missing_cells(frame, present_required, report)
    if all(c in frame.columns for c in ID_COLUMNS):
        _check_ids(frame, report)
    arm = _normalise_arm(frame, report) if ARM_COLUMN in frame else None
    if arm is not None and "la_id" in frame:
        _check_arms(frame, arm, report)
    numeric_columns = {c for o in checked for c in o.columns if c in frame.columns}
    numeric_columns |= {c for c in (*PERCENT_COVARIATES, *covariates) if c in frame.columns}
    numeric = {c: _numeric(frame, c, report) for c in sorted(numeric_columns)}
    exposure = None
    if EXPOSURE_COLUMN in frame:
        exposure = _numeric(frame, EXPOSURE_COLUMN, report)
        nonpositive = exposure.notna() & (exposure <= 0)
        if nonpositive.any():
            report.add(Issue("error", "nonpositive_exposure", EXPOSURE_COLUMN,
                             _rows(nonpositive), _py(exposure[nonpositive]),
                             "a positive number of pupils"))
        exposure = exposure.where(exposure > 0)
    for outcome in checked:
        _check_outcome(frame, outcome, exposure if exposure is not None else np.nan, report,
                       numeric)
    for column in PERCENT_COVARIATES:
        if column in numeric:
            out = numeric[column].notna() & ~numeric[column].between(0, 100)
            if out.any():
                report.add(Issue("error", "percent_out_of_range", column, _rows(out),
                                 _py(numeric[column][out]), "a percentage between 0 and 100"))
    return report


def _check_design_columns(frame: pd.DataFrame, columns: Iterable[str],
                          report: ValidationReport) -> None:
    for column in columns:
        if column not in frame.columns:
            report.add(Issue("error", "missing_column", column,
                             detail=f"required column is absent (columns found: "
                                    f"{', '.join(map(str, frame.columns))})",
                             expected=f"a column named '{column}'"))


def check_outcome_names(outcomes: Sequence[str] | None) -> None:
    """Raise :class:`DataError` naming any outcome the schema does not know."""
    unknown = [o for o in outcomes or () if o not in OUTCOMES]
    if unknown:
        raise DataError(f"unknown outcome(s) {unknown}; known outcomes: {', '.join(OUTCOMES)}")


def checked_outcomes(frame: pd.DataFrame,
                     outcomes: Sequence[str] | None) -> list[OutcomeSchema]:
    """Outcomes whose columns validation checks: the named ones, else every one present.

    Without named outcomes, an outcome is present when any of its columns (follow-up, baseline
    or denominator) is in ``frame``; it is then checked as if it were analysed.
    """
    if outcomes is not None:
        return [OUTCOMES[o] for o in dict.fromkeys(outcomes)]
    return [o for o in OUTCOMES.values() if any(c in frame.columns for c in o.columns)]


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


def normalise_frame(frame: pd.DataFrame, outcomes: Sequence[str] | None = None,
                    covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Return a typed copy of a valid table: text ids, arm as 0/1, numbers as numbers.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table for which :func:`validate_frame` found no error.
    outcomes : sequence of str, optional
        The outcomes validated (as passed to :func:`validate_frame`); only their columns are
        converted, other columns are kept as read.
    covariates : sequence of str, default ()
        Covariate columns to convert to float (percent covariates always are).

    Returns
    -------
    pandas.DataFrame
        A new frame; the input is left untouched.
    """
    out = frame.copy()
    for column in ID_COLUMNS:
        out[column] = _text(out[column])
    out[ARM_COLUMN] = _arm_codes(out[ARM_COLUMN]).astype("int64")
    out[EXPOSURE_COLUMN] = pd.to_numeric(out[EXPOSURE_COLUMN]).astype("float64")
    for schema in checked_outcomes(frame, outcomes):
        for column in schema.columns:
            if column in out:
                values = pd.to_numeric(out[column])
                out[column] = values.astype("Int64") if values.isna().any() else values.astype(
                    "int64")
    for column in (*PERCENT_COVARIATES, *covariates):
        if column in out:
            out[column] = pd.to_numeric(out[column]).astype("float64")
    return out.reset_index(drop=True)


def typed_columns(frame: pd.DataFrame, outcomes: Sequence[str] | None = None,
                  covariates: Sequence[str] = ()) -> list[str]:
    """The columns :func:`normalise_frame` types (what an analysis of ``outcomes`` reads)."""
    columns = [*REQUIRED_COLUMNS, *(c for o in checked_outcomes(frame, outcomes)
                                    for c in o.columns), *PERCENT_COVARIATES, *covariates]
    return [c for c in dict.fromkeys(columns) if c in frame.columns]
