"""Pupil-level trial files (one row per pupil): validation and exact reduction.

A pupil file is validated with the same :class:`~swisbayes.data.checks.Issue` machinery as a
school file, then reduced to two tables that carry all the information the models use:

* ``schools``: one row per school in the school-file schema (pupil counts and outcome totals),
  which is exact for the school-level hurdle (days in care) and beta-binomial (attendance)
  models, since those read school totals only;
* ``cells``: one row per school x cell, a cell being the pupils of a school who share every
  pupil-level covariate of the analysis and their own baseline count of each count outcome. For
  a Poisson pupil model with a gamma school frailty shared by the school's pupils (a negative
  multinomial over the school's cells), the cells' pupil numbers and follow-up sums are exactly
  sufficient: pupils with the same covariates have the same rate. School-level covariates
  (the school's baseline rate, covariate shares) are constant within a school, so they add no
  cell key: the model reads them from ``schools``, as for a school file.

Every check is vectorised (no Python loop over rows), so a 300,000-row file takes well under a
second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swisbayes._base.errors import DataError
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
    parse_numbers,
    python_values,
    rows_where,
    text_cells,
)
from swisbayes.data.schema import (
    ARM_COLUMN,
    EXPOSURE_COLUMN,
    ID_COLUMNS,
    MAX_BASELINE_DAYS,
    MAX_FOLLOWUP_DAYS,
    PERCENT_SUFFIX,
    PUPIL_BINARY_COVARIATES,
    PUPIL_ID_COLUMN,
    PUPIL_REQUIRED_COLUMNS,
    OutcomeSchema,
)

_SHOWN = 3  # examples named in a message that covers many rows


def is_pupil_frame(frame: pd.DataFrame) -> bool:
    """True when ``frame`` is a pupil-level table (it has a ``pupil_id`` column).

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    bool
    """
    return PUPIL_ID_COLUMN in frame.columns


@dataclass(frozen=True)
class CovariateRoles:
    """How the covariates an analysis asks for are found in a pupil file.

    Parameters
    ----------
    cell : tuple of str
        Pupil columns: each keys the cells, and its school mean goes into ``schools``.
    percent : tuple of str
        ``X_pct`` names whose ``X`` is a 0/1 pupil column: 100 x the school mean of ``X``.
    unknown : tuple of str
        Names that are neither (an error).
    """

    cell: tuple[str, ...] = ()
    percent: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Pupil columns the covariates are computed from, in request order."""
        return tuple(dict.fromkeys([*self.cell, *(_percent_source(p) for p in self.percent)]))


def covariate_roles(columns: Iterable[str], covariates: Sequence[str]) -> CovariateRoles:
    """Sort requested covariates into pupil (cell) covariates and school percentages.

    Parameters
    ----------
    columns : iterable of str
        Columns of the pupil file.
    covariates : sequence of str
        Covariates the analysis adjusts for.

    Returns
    -------
    CovariateRoles
        A name present in the file is a cell covariate; ``X_pct`` whose ``X`` is present is a
        school percentage; anything else is unknown.
    """
    present = set(map(str, columns))
    cell, percent, unknown = [], [], []
    for name in dict.fromkeys(covariates):
        if name in present:
            cell.append(name)
        elif name.endswith(PERCENT_SUFFIX) and _percent_source(name) in present:
            percent.append(name)
        else:
            unknown.append(name)
    return CovariateRoles(tuple(cell), tuple(percent), tuple(unknown))


def _percent_source(name: str) -> str:
    return name.removesuffix(PERCENT_SUFFIX)


def _unknown_covariate_message(name: str) -> str:
    return (f"covariate '{name}' is neither a column of the pupil file nor a school percentage "
            f"'X{PERCENT_SUFFIX}' of a 0/1 pupil column 'X' (no column "
            f"'{_percent_source(name)}')")


def _binary_columns(frame: pd.DataFrame, roles: CovariateRoles) -> list[str]:
    """0/1 pupil columns: the known ones present, and the sources of requested percentages."""
    known = [c for c in PUPIL_BINARY_COVARIATES if c in frame.columns]
    return list(dict.fromkeys([*known, *(_percent_source(p) for p in roles.percent)]))


# --- validation ------------------------------------------------------------------------------


def validate_pupil_frame(frame: pd.DataFrame, *, source: str = "<table>",
                         outcomes: Sequence[str] | None = None,
                         covariates: Sequence[str] = ()) -> ValidationReport:
    """Check a pupil-level table and report every problem at once.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per pupil, as read from the file (not modified).
    source : str, default "<table>"
        Name used in messages, normally the file path.
    outcomes : sequence of str, optional
        Outcomes that will be analysed: their per-pupil columns become required. When None,
        every outcome with a column in the table is checked as if it were analysed (all its
        columns required and complete).
    covariates : sequence of str, default ()
        Covariates the analysis adjusts for: pupil columns (``fsm``), or ``X_pct`` for a 0/1
        pupil column ``X`` (derived per school).

    Returns
    -------
    ValidationReport
        Errors and warnings; ``report.ok`` is True when there is no error.

    Examples
    --------
    >>> from swisbayes.data.simulate import TrialDesign, simulate_pupils
    >>> pupils = simulate_pupils(1, design=TrialDesign(total_pupils=20_000)).frame
    >>> validate_pupil_frame(pupils, outcomes=["s47"], covariates=["fsm_pct"]).ok
    True
    """
    report = ValidationReport(source)
    if len(frame) == 0:
        report.add(Issue("error", "empty", None, detail="the file has no data rows",
                         expected="one row per pupil"))
        return report
    check_outcome_names(outcomes)
    frame = frame.reset_index(drop=True)  # row masks below align by position, whatever the index
    checked = checked_outcomes(frame, outcomes)
    roles = covariate_roles(frame.columns, covariates)
    _check_columns(frame, outcomes, checked, roles, report)
    complete = [c for c in (*PUPIL_REQUIRED_COLUMNS, *_outcome_columns(frame, checked),
                            *_binary_columns(frame, roles), *roles.cell) if c in frame.columns]
    check_missing_cells(frame, dict.fromkeys(complete), report)
    _check_identifiers(frame, report)
    numeric: dict[str, pd.Series] = {}
    for column in _outcome_columns(frame, checked):
        numeric[column] = numeric_column(frame, column, report)
        check_counts(numeric[column], column, report)
    for outcome in checked:
        _check_days(outcome, numeric, report)
        check_not_above_denominator(outcome, numeric, report)
    for column in _binary_columns(frame, roles):
        if column not in numeric:
            numeric[column] = numeric_column(frame, column, report)
        _check_binary(numeric[column], column, report)
    for column in roles.cell:
        if column not in numeric:
            numeric_column(frame, column, report)
    return report


def _outcome_columns(frame: pd.DataFrame, checked: list[OutcomeSchema]) -> list[str]:
    return [c for o in checked for c in o.columns if c in frame.columns]


def _check_columns(frame: pd.DataFrame, outcomes: Sequence[str] | None,
                   checked: list[OutcomeSchema], roles: CovariateRoles,
                   report: ValidationReport) -> None:
    found = ", ".join(map(str, frame.columns))
    for column in PUPIL_REQUIRED_COLUMNS:
        if column not in frame.columns:
            report.add(Issue("error", "missing_column", column,
                             detail=f"required column is absent (columns found: {found})",
                             expected=f"a column named '{column}'"))
    check_outcome_columns(frame, checked, asked=outcomes is not None, report=report)
    for name in roles.unknown:
        report.add(Issue("error", "missing_column", name,
                         detail=f"{_unknown_covariate_message(name)} (columns found: {found})",
                         expected=f"a pupil column '{name}', or '{_percent_source(name)}' "
                                  "coded 0/1"))


def _check_identifiers(frame: pd.DataFrame, report: ValidationReport) -> None:
    """Pupil ids, one LA and one arm per school, arm codes and the arms' spread over LAs."""
    have = set(frame.columns)
    school = text_cells(frame["school_id"]) if "school_id" in have else None
    if school is not None and PUPIL_ID_COLUMN in have:
        _check_pupil_ids(frame, school, report)
    if school is not None and "la_id" in have:
        present = frame["school_id"].notna() & frame["la_id"].notna()
        la = text_cells(frame["la_id"])
        _check_one_per_school(school, la, la, present, report, check="school_in_two_las",
                              column="la_id", noun="LA", plural="LAs")
    arm = normalise_arm(frame, report) if ARM_COLUMN in have else None
    if arm is not None and school is not None:
        present = frame["school_id"].notna() & arm.notna()
        _check_one_per_school(school, arm, frame[ARM_COLUMN], present, report,
                              check="school_in_two_arms", column=ARM_COLUMN, noun="arm",
                              plural="arms")
    if arm is not None and "la_id" in have:
        check_arms(frame, arm, report)


def _check_pupil_ids(frame: pd.DataFrame, school: pd.Series, report: ValidationReport) -> None:
    present = frame[PUPIL_ID_COLUMN].notna() & frame["school_id"].notna()
    pupil = text_cells(frame[PUPIL_ID_COLUMN])
    repeated = present & pupil[present].duplicated(keep=False).reindex(pupil.index,
                                                                       fill_value=False)
    if not repeated.any():
        return
    schools_per_pupil = school[repeated].groupby(pupil[repeated]).transform("nunique")
    spread = pd.Series(False, index=pupil.index)
    spread[repeated] = schools_per_pupil > 1
    if spread.any():
        ids = pd.unique(pupil[spread])
        examples = "; ".join(
            f"pupil '{pid}' in schools " + ", ".join(
                f"'{s}'" for s in pd.unique(school[spread & (pupil == pid)]))
            for pid in ids[:_SHOWN])
        report.add(Issue("error", "pupil_in_two_schools", PUPIL_ID_COLUMN, rows_where(spread),
                         python_values(pupil[spread]), "each pupil in exactly one school",
                         detail=f"{len(ids)} pupil id(s) appear in more than one school, e.g. "
                                f"{examples}"))
    same = repeated & ~spread
    if same.any():
        ids = pd.unique(pupil[same])
        report.add(Issue("error", "duplicate_pupil", PUPIL_ID_COLUMN, rows_where(same),
                         python_values(pupil[same]),
                         "each pupil_id exactly once (one row per pupil)",
                         detail=f"{len(ids)} pupil id(s) appear in more than one row of the "
                                "same school"))


def _check_one_per_school(school: pd.Series, value: pd.Series, shown: pd.Series,
                          present: pd.Series, report: ValidationReport, *, check: str,
                          column: str, noun: str, plural: str) -> None:
    """One issue per school whose pupils disagree on ``value``; it lists the odd rows out."""
    known = present & value.notna()
    per_school = value[known].groupby(school[known], sort=False).nunique()
    for sid in per_school.index[per_school > 1]:
        mask = known & (school == sid)
        counts = value[mask].value_counts(sort=False)  # order of first appearance
        usual = counts.idxmax()
        odd = mask & (value != usual)
        tally = ", ".join(f"{python_values([v])[0]!r} in {n} row(s)" for v, n in counts.items())
        report.add(Issue(
            "error", check, column, rows_where(odd), python_values(shown[odd]),
            f"every pupil of a school in the same {noun}",
            detail=f"school '{sid}' has pupils under {len(counts)} different {plural} "
                   f"({tally}); the rows listed differ from the school's usual {noun}, "
                   f"{python_values([usual])[0]!r}"))


def _check_days(outcome: OutcomeSchema, numeric: dict[str, pd.Series],
                report: ValidationReport) -> None:
    """Days in care per pupil cannot exceed the days in its window."""
    if not outcome.traits.day_windows:
        return
    for column, bound, window in ((outcome.followup, MAX_FOLLOWUP_DAYS, "follow-up window"),
                                  (outcome.baseline, MAX_BASELINE_DAYS, "baseline year")):
        if column not in numeric:
            continue
        over = numeric[column] > bound
        if over.any():
            report.add(Issue("error", "days_beyond_window", column, rows_where(over),
                             python_values(numeric[column][over]),
                             f"at most {bound} days per pupil in the {window}",
                             detail="more days in care than the window has; check the units "
                                    "(days, per pupil)"))


def _check_binary(values: pd.Series, column: str, report: ValidationReport) -> None:
    bad = values.notna() & ~values.isin([0.0, 1.0])
    if bad.any():
        report.add(Issue("error", "not_binary", column, rows_where(bad), python_values(values[bad]),
                         "0 or 1 (a pupil covariate coded yes/no)"))


# --- typing and reduction --------------------------------------------------------------------


def normalise_pupil_frame(frame: pd.DataFrame, outcomes: Sequence[str] | None = None,
                          covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Return the typed columns of a valid pupil table that an analysis can read.

    Parameters
    ----------
    frame : pandas.DataFrame
        A pupil table for which :func:`validate_pupil_frame` found no error.
    outcomes : sequence of str, optional
        The outcomes validated; None for every outcome present.
    covariates : sequence of str, default ()
        The covariates validated.

    Returns
    -------
    pandas.DataFrame
        A new frame: ``pupil_id``, ``school_id``, ``la_id`` as text, ``arm`` 0/1, outcome
        columns and 0/1 covariates as int64, other covariates as float64. Other columns are
        dropped; the input is left untouched.
    """
    roles = covariate_roles(frame.columns, covariates)
    frame = frame.reset_index(drop=True)
    out = {c: text_cells(frame[c]) for c in (PUPIL_ID_COLUMN, *ID_COLUMNS)}
    out[ARM_COLUMN] = arm_codes(frame[ARM_COLUMN]).astype("int64")
    for column in _outcome_columns(frame, checked_outcomes(frame, outcomes)):
        out[column] = parse_numbers(frame[column]).astype("int64")
    for column in _binary_columns(frame, roles):
        out[column] = parse_numbers(frame[column]).astype("int64")
    for column in roles.cell:
        if column not in out:
            out[column] = parse_numbers(frame[column])
    return pd.DataFrame(out).reset_index(drop=True)


@dataclass(frozen=True)
class SufficientStatistics:
    """A pupil table reduced without loss for the models.

    Parameters
    ----------
    schools : pandas.DataFrame
        One row per school, sorted by ``school_id``, in the school-file schema: ``school_id``,
        ``la_id``, ``arm``, ``pupils``, each outcome's columns summed over pupils, ``X_pct``
        (100 x school mean) for each 0/1 pupil covariate, and the school mean of each other
        requested pupil covariate under its own name.
    cells : pandas.DataFrame
        One row per school x cell, sorted by school then keys: ``school_id``, ``la_id``,
        ``arm``, ``pupils`` (pupils in the cell), the key columns (requested pupil covariates,
        then the per-pupil baseline of each count outcome), the follow-up count columns summed
        over the cell, then the requested ``X_pct`` school covariates.
    """

    schools: pd.DataFrame
    cells: pd.DataFrame


def sufficient_statistics(pupils: pd.DataFrame, *, outcomes: Sequence[str] | None = None,
                          covariates: Sequence[str] = ()) -> SufficientStatistics:
    """Reduce a typed pupil table to its school totals and school x covariate cells.

    Parameters
    ----------
    pupils : pandas.DataFrame
        A typed pupil table from :func:`normalise_pupil_frame` (not modified).
    outcomes : sequence of str, optional
        Outcomes analysed; None for every outcome present.
    covariates : sequence of str, default ()
        Covariates analysed: pupil columns key the cells; ``X_pct`` is derived per school.

    Returns
    -------
    SufficientStatistics

    Raises
    ------
    DataError
        If a covariate is neither a pupil column nor ``X_pct`` of one.

    Examples
    --------
    >>> import pandas as pd
    >>> pupils = pd.DataFrame({"pupil_id": ["a", "b", "c"], "school_id": ["S1", "S1", "S2"],
    ...                        "la_id": "L1", "arm": [0, 0, 1], "fsm": [1, 0, 1],
    ...                        "s47_baseline": [0, 0, 1], "s47": [2, 1, 0]})
    >>> stats = sufficient_statistics(pupils, outcomes=["s47"], covariates=["fsm_pct"])
    >>> stats.schools[["school_id", "pupils", "s47", "fsm_pct"]].to_dict("list")
    {'school_id': ['S1', 'S2'], 'pupils': [2, 1], 's47': [3, 0], 'fsm_pct': [50.0, 100.0]}
    >>> stats.cells[["school_id", "pupils", "s47_baseline", "s47"]].to_dict("list")
    {'school_id': ['S1', 'S2'], 'pupils': [2, 1], 's47_baseline': [0, 1], 's47': [3, 0]}
    """
    roles = covariate_roles(pupils.columns, covariates)
    if roles.unknown:
        raise DataError("; ".join(_unknown_covariate_message(n) for n in roles.unknown))
    checked = checked_outcomes(pupils, outcomes)
    codes, school_ids = pd.factorize(pupils["school_id"], sort=True)
    schools = _school_table(pupils, codes, school_ids, checked, roles)
    cells = _cell_table(pupils, codes, schools, checked, roles)
    return SufficientStatistics(schools=schools, cells=cells)


def _school_columns(pupils: pd.DataFrame, checked: list[OutcomeSchema]) -> list[str]:
    """Outcome columns in the school-file order: exposure-like first, baseline, follow-up."""
    order = [c for o in checked for c in (o.denominator, o.baseline, o.followup)]
    return [c for c in order if c is not None and c in pupils.columns]


def _school_table(pupils: pd.DataFrame, codes: np.ndarray, school_ids: pd.Index,
                  checked: list[OutcomeSchema], roles: CovariateRoles) -> pd.DataFrame:
    by_school = pupils.groupby(codes, sort=True)
    first = by_school[["la_id", ARM_COLUMN]].first()
    out = pd.DataFrame({"school_id": np.asarray(school_ids, dtype=object),
                        "la_id": first["la_id"].to_numpy(dtype=object),
                        ARM_COLUMN: first[ARM_COLUMN].to_numpy(dtype="int64"),
                        EXPOSURE_COLUMN: by_school.size().to_numpy(dtype="int64")})
    for column in _school_columns(pupils, checked):
        out[column] = by_school[column].sum().to_numpy(dtype="int64")
    averaged = list(dict.fromkeys([*_binary_columns(pupils, roles), *roles.cell]))
    means = by_school[averaged].mean() if averaged else None
    for column in _binary_columns(pupils, roles):
        out[column + PERCENT_SUFFIX] = 100.0 * means[column].to_numpy(dtype="float64")
    for column in roles.cell:
        if column not in out:  # a school-level mean of a pupil covariate, for school models
            out[column] = means[column].to_numpy(dtype="float64")
    return out


def _cell_table(pupils: pd.DataFrame, codes: np.ndarray, schools: pd.DataFrame,
                checked: list[OutcomeSchema], roles: CovariateRoles) -> pd.DataFrame:
    counts = [o for o in checked if o.traits.events]
    keys = list(dict.fromkeys([*roles.cell, *(o.baseline for o in counts
                                              if o.baseline in pupils.columns)]))
    followups = [o.followup for o in counts if o.followup not in keys]
    work = pupils[keys + followups].assign(_school=codes)
    grouped = work.groupby(["_school", *keys], sort=True)
    sizes = grouped.size()
    sums = grouped[followups].sum() if followups else None
    index = sizes.index.to_frame(index=False)
    school = index["_school"].to_numpy()
    out = pd.DataFrame({"school_id": schools["school_id"].to_numpy()[school],
                        "la_id": schools["la_id"].to_numpy()[school],
                        ARM_COLUMN: schools[ARM_COLUMN].to_numpy()[school],
                        EXPOSURE_COLUMN: sizes.to_numpy(dtype="int64")})
    for key in keys:
        out[key] = index[key].to_numpy()
    for column in followups:
        out[column] = sums[column].to_numpy(dtype="int64")
    for name in roles.percent:
        out[name] = schools[name].to_numpy()[school]
    return out
