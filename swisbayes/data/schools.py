"""Validation and typing of school-level tables (one row per school); pupil files go to pupils."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from swisbayes._base.defaults import PLAUSIBLE_EVENTS_PER_PUPIL
from swisbayes.data.checks import (
    Issue,
    ValidationReport,
    arm_codes,
    check_arms,
    check_counts,
    check_missing_cells,
    check_not_above_denominator,
    check_outcome_columns,
    check_outcome_names,
    checked_outcomes,
    normalise_arm,
    numeric_column,
    python_values,
    rows_where,
    text_cells,
)
from swisbayes.data.schema import (
    ARM_COLUMN,
    EXPOSURE_COLUMN,
    ID_COLUMNS,
    PERCENT_COVARIATES,
    PUPIL_ID_COLUMN,
    REQUIRED_COLUMNS,
    OutcomeSchema,
)


def _check_ids(frame: pd.DataFrame, report: ValidationReport) -> None:
    school = text_cells(frame["school_id"])
    la = text_cells(frame["la_id"])
    present = frame["school_id"].notna() & frame["la_id"].notna()
    pairs = pd.DataFrame({"school": school[present], "la": la[present]}).drop_duplicates()
    multi = pairs[pairs["school"].duplicated(keep=False)]
    multi_la = {sid: tuple(g["la"]) for sid, g in multi.groupby("school", sort=False)}
    for sid, las in multi_la.items():
        mask = present & (school == sid)
        report.add(Issue("error", "school_in_two_las", "la_id", rows_where(mask),
        python_values(las),
                         "each school under exactly one LA",
                         detail=f"school '{sid}' is listed under {len(las)} different LAs"))
    dup = present & school.duplicated(keep=False) & ~school.isin(list(multi_la))
    for sid in pd.unique(school[dup]):
        mask = dup & (school == sid)
        report.add(Issue("error", "duplicate_school", "school_id", rows_where(mask), (sid,),
                         "each school_id exactly once (one row per school)"))


def _check_outcome(frame, outcome: OutcomeSchema, exposure, report, numeric) -> None:
    for column in outcome.integer_columns:
        if column in frame:
            check_counts(numeric[column], column, report)
    if outcome.traits.events and outcome.followup in numeric:
        rate = numeric[outcome.followup] / exposure
        high = rate > PLAUSIBLE_EVENTS_PER_PUPIL
        if high.any():
            report.add(Issue(
                "warning", "implausible_count", outcome.followup, rows_where(high),
                python_values(numeric[outcome.followup][high]),
                f"at most {PLAUSIBLE_EVENTS_PER_PUPIL} events per pupil in '{EXPOSURE_COLUMN}'",
                detail="more events than is plausible for the school's size; check the units"))
    check_not_above_denominator(outcome, numeric, report)


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
    check_missing_cells(frame, present_required, report)
    if all(c in frame.columns for c in ID_COLUMNS):
        _check_ids(frame, report)
    arm = normalise_arm(frame, report) if ARM_COLUMN in frame else None
    if arm is not None and "la_id" in frame:
        check_arms(frame, arm, report)
    numeric_columns = {c for o in checked for c in o.columns if c in frame.columns}
    numeric_columns |= {c for c in (*PERCENT_COVARIATES, *covariates) if c in frame.columns}
    numeric = {c: numeric_column(frame, c, report) for c in sorted(numeric_columns)}
    exposure = None
    if EXPOSURE_COLUMN in frame:
        exposure = numeric_column(frame, EXPOSURE_COLUMN, report)
        nonpositive = exposure.notna() & (exposure <= 0)
        if nonpositive.any():
            report.add(Issue("error", "nonpositive_exposure", EXPOSURE_COLUMN,
                             rows_where(nonpositive), python_values(exposure[nonpositive]),
                             "a positive number of pupils"))
        exposure = exposure.where(exposure > 0)
    for outcome in checked:
        _check_outcome(frame, outcome, exposure if exposure is not None else np.nan, report,
                       numeric)
    for column in PERCENT_COVARIATES:
        if column in numeric:
            out = numeric[column].notna() & ~numeric[column].between(0, 100)
            if out.any():
                report.add(Issue("error", "percent_out_of_range", column, rows_where(out),
                                 python_values(numeric[column][out]),
                                 "a percentage between 0 and 100"))
    return report


def _check_design_columns(frame: pd.DataFrame, columns: Iterable[str],
                          report: ValidationReport) -> None:
    for column in columns:
        if column not in frame.columns:
            report.add(Issue("error", "missing_column", column,
                             detail=f"required column is absent (columns found: "
                                    f"{', '.join(map(str, frame.columns))})",
                             expected=f"a column named '{column}'"))


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
        out[column] = text_cells(out[column])
    out[ARM_COLUMN] = arm_codes(out[ARM_COLUMN]).astype("int64")
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


__all__ = ["normalise_frame", "validate_frame"]
