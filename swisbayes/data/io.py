"""Reading trial tables (CSV or Parquet) into validated, typed school data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd

from swisbayes._base.errors import DataError
from swisbayes.data.checks import (
    ValidationReport,
    check_outcome_names,
    normalise_frame,
    typed_columns,
    validate_frame,
)
from swisbayes.data.pupils import (
    analysed_columns,
    covariate_roles,
    is_pupil_frame,
    normalise_pupil_frame,
    sufficient_statistics,
)
from swisbayes.data.schema import OUTCOMES

_EXAMPLE = "swis_example"


@dataclass(frozen=True)
class SchoolData:
    """A validated school-level table and where it came from.

    Parameters
    ----------
    frame : pandas.DataFrame
        Typed copy of the input: ``school_id``/``la_id`` text, ``arm`` 0/1, counts as integers.
        For a pupil-level file, the school totals it reduces to (same schema).
    source : str
        File path, or a label for an in-memory table.
    sha256 : str
        Hash of the typed columns the analysis reads (independent of file format), recorded in
        every result. For a pupil-level file, of the typed pupil rows.
    report : ValidationReport
        Warnings found while validating (no errors, or this object would not exist).
    checked : frozenset of str
        Outcomes and covariates whose columns were required and checked.
    cells : pandas.DataFrame or None
        Pupil-level files only: the school x covariate cells of the count outcomes
        (:class:`~swisbayes.data.pupils.SufficientStatistics`); None for school files.
    level : {"school", "pupil"}
        One row per school or one row per pupil in the input.
    n_rows : int
        Rows in the input; defaults to the rows of ``frame``.
    pupil_rows : pandas.DataFrame or None
        Pupil-level files only: the typed pupil rows, so that the data can be reduced again for
        other outcomes or covariates without re-reading the file.
    """

    frame: pd.DataFrame
    source: str
    sha256: str
    report: ValidationReport
    checked: frozenset[str] = frozenset()
    cells: pd.DataFrame | None = None
    level: Literal["school", "pupil"] = "school"
    n_rows: int = 0
    pupil_rows: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.n_rows == 0:
            object.__setattr__(self, "n_rows", len(self.frame))
    cells: pd.DataFrame | None = None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file as it is, without type inference on CSV cells.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` or ``.parquet``/``.pq`` file. It is opened read-only.

    Returns
    -------
    pandas.DataFrame
        CSV cells as text (validation does the typing, so that it can say which cell is wrong).

    Raises
    ------
    DataError
        If the file is missing, empty, or of another format.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; expected a header line and one row "
                            "per school") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if suffix in {".parquet", ".pq"}:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    raise DataError(f"{path}: unsupported file type '{suffix or '(none)'}'; expected .csv, "
                    ".parquet or .pq")


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hash of a table's columns and typed values (row order matters)."""
    digest = hashlib.sha256(json.dumps(list(map(str, frame.columns))).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def validate(data: str | Path | pd.DataFrame, *, outcomes: Sequence[str] | None = None,
             covariates: Sequence[str] = ()) -> ValidationReport:
    """Validate a school- or pupil-level file or table and return every problem found.

    Parameters
    ----------
    data : str, pathlib.Path or pandas.DataFrame
        A CSV/Parquet path, or a table already in memory (not modified). A ``pupil_id`` column
        marks a pupil-level table (one row per pupil).
    outcomes : sequence of str, optional
        Outcomes whose columns are required; see :func:`validate_frame`.
    covariates : sequence of str, default ()
        Covariates that are required.

    Returns
    -------
    ValidationReport

    Raises
    ------
    DataError
        Only when a file cannot be read at all (missing, empty, wrong format).
    """
    frame, source = _as_frame(data)
    return validate_frame(frame, source=source, outcomes=outcomes, covariates=covariates)


def read_school_data(data: str | Path | pd.DataFrame | SchoolData, *,
                     outcomes: Sequence[str] | None = None,
                     covariates: Sequence[str] = ()) -> SchoolData:
    """Read and validate trial data, raising one error that lists every problem.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or SchoolData
        A CSV/Parquet path or a table. A ``SchoolData`` is re-checked for ``outcomes``.
        A table with a ``pupil_id`` column is pupil-level: it is validated per pupil and
        reduced to school totals (``frame``) and school x covariate cells (``cells``).
    outcomes : sequence of str, optional
        Outcomes that will be analysed (their columns become required).
    covariates : sequence of str, default ()
        Covariates the analysis adjusts for (required, numeric). For a pupil-level file, a
        pupil column (``fsm``) keys the cells, and ``X_pct`` is 100 x the school mean of the
        0/1 pupil column ``X``.

    Returns
    -------
    SchoolData

    Raises
    ------
    DataError
        If any check fails; ``err.report`` holds the full :class:`ValidationReport`.
    """
    wanted = frozenset(outcomes or ()) | frozenset(covariates)
    if isinstance(data, SchoolData):
        if wanted <= data.checked:
            return data
        if data.level == "pupil":
            return _reduce_again(data, outcomes, covariates)
        frame, source = data.frame, data.source
    else:
        frame, source = _as_frame(data)
    report = validate_frame(frame, source=source, outcomes=outcomes, covariates=covariates)
    if not report.ok:
        raise DataError(str(report), report=report)
    if is_pupil_frame(frame):
        pupils = normalise_pupil_frame(frame, outcomes=outcomes, covariates=covariates)
        return _pupil_data(pupils, source, report, outcomes, covariates, wanted, len(frame))
    typed = normalise_frame(frame, outcomes=outcomes, covariates=covariates)
    previous = data.checked if isinstance(data, SchoolData) else frozenset()
    digest = frame_sha256(typed[typed_columns(typed, outcomes, covariates)])
    return SchoolData(frame=typed, source=source, sha256=digest, report=report,
                      checked=previous | wanted)


def _pupil_data(pupils: pd.DataFrame, source: str, report: ValidationReport,
                outcomes: Sequence[str] | None, covariates: Sequence[str],
                checked: frozenset[str], n_rows: int) -> SchoolData:
    stats = sufficient_statistics(pupils, outcomes=outcomes, covariates=covariates)
    digest = frame_sha256(pupils[analysed_columns(pupils, outcomes, covariates)])
    return SchoolData(frame=stats.schools, source=source, sha256=digest, report=report,
                      checked=checked, cells=stats.cells, level="pupil", n_rows=n_rows,
                      pupil_rows=pupils)


def _reduce_again(data: SchoolData, outcomes: Sequence[str] | None,
                  covariates: Sequence[str]) -> SchoolData:
    """Reduce validated pupil rows for other outcomes or covariates, when they were checked."""
    pupils = data.pupil_rows
    if pupils is None:
        raise DataError(f"{data.source}: the pupil rows behind this data were not kept; read "
                        "the file again")
    check_outcome_names(outcomes)
    roles = covariate_roles(pupils.columns, covariates)
    missing = [o for o in outcomes or ()
               if not set(OUTCOMES[o].columns) <= set(pupils.columns)]
    if missing or roles.unknown:
        asked = [*missing, *roles.unknown]
        raise DataError(f"{data.source}: {asked} were not checked when this pupil-level data "
                        f"was read; read it again with read_school_data(path, "
                        f"outcomes={list(outcomes or [])}, covariates={list(covariates)})")
    wanted = frozenset(outcomes or ()) | frozenset(covariates)
    return _pupil_data(pupils, data.source, data.report, outcomes, covariates,
                       data.checked | wanted, data.n_rows)


def load_example() -> pd.DataFrame:
    """Load the bundled synthetic SWIS-shaped school dataset.

    The table is simulated with the trial's published design (21 LAs, 136 SWIS and 132 control
    schools, 278,858 pupils) and a true S47 incidence rate ratio equal to the published
    estimate, 1.055. It is synthetic: no real school appears in it. Its true parameters and the
    named assumptions behind its rates are in ``frame.attrs["swisbayes"]``.

    Returns
    -------
    pandas.DataFrame
        One row per school.

    Examples
    --------
    >>> import swisbayes
    >>> df = swisbayes.load_example()
    >>> df.shape[0], df["la_id"].nunique(), int(df["pupils"].sum())
    (268, 21, 278858)
    >>> df.attrs["swisbayes"]["truth"]["irr"]["s47"]
    1.055
    """
    files = resources.files("swisbayes.data") / "files"
    frame = pd.read_csv(files / f"{_EXAMPLE}.csv", dtype={"school_id": str, "la_id": str})
    frame.attrs["swisbayes"] = json.loads((files / f"{_EXAMPLE}.json").read_text())
    frame.attrs["source"] = "swisbayes.load_example() (synthetic)"
    return frame


def _as_frame(data: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, str(data.attrs.get("source", "<DataFrame>"))
    return read_table(data), str(data)
