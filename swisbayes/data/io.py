"""Reading trial tables (CSV or Parquet) into validated, typed school data."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd

from swisbayes._base.errors import DataError
from swisbayes._base.provenance import sha256_file
from swisbayes.data.checks import (
    ValidationReport,
    arm_codes,
    check_outcome_names,
    checked_outcomes,
    parse_numbers,
    text_cells,
)
from swisbayes.data.pupils import (
    covariate_roles,
    is_pupil_frame,
    normalise_pupil_frame,
    sufficient_statistics,
)
from swisbayes.data.schema import ARM_COLUMN, ID_COLUMNS, PUPIL_ID_COLUMN, outcome_schema
from swisbayes.data.schools import normalise_frame, validate_frame

EXAMPLES: dict[str, str] = {"swis": "swis_example", "other_trial": "other_trial_example"}
"""The bundled synthetic datasets, by name: their files in ``swisbayes/data/files``."""
_MAX_ROWS_SHOWN = 5  # rows named in a message about the fields of a CSV file


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
    content_sha256 : str
        :func:`content_sha256` of the table as read: every column, typed, whatever the file
        format and whichever outcomes are analysed. Recorded in every result.
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
    file_sha256 : str or None
        SHA-256 of the bytes of the file read (``sha256sum FILE``); None when the data were
        given as a table in memory (a DataFrame, or :func:`load_example`).
    """

    frame: pd.DataFrame
    source: str
    content_sha256: str
    report: ValidationReport
    checked: frozenset[str] = frozenset()
    cells: pd.DataFrame | None = None
    level: Literal["school", "pupil"] = "school"
    n_rows: int = 0
    pupil_rows: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    file_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.n_rows == 0:
            object.__setattr__(self, "n_rows", len(self.frame))


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
        If the file is missing, empty, or of another format; if a CSV file is not UTF-8, repeats
        a column name, or has a row with more or fewer fields than its header (a file cut off
        mid-row); if a Parquet file repeats a column name or has a column of lists or records.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a .csv, .parquet or .pq file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in {".parquet", ".pq"}:
        return _read_parquet(path)
    raise DataError(f"{path}: unsupported file type '{suffix or '(none)'}'; expected .csv, "
                    ".parquet or .pq")


def _read_csv(path: Path) -> pd.DataFrame:
    header = _csv_header(path)
    _check_unique_names(path, header)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True,
                            encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a header line and one row "
                        "per school") from None
    except UnicodeDecodeError:
        raise DataError(_not_utf8(path)) from None
    except pd.errors.ParserError as exc:
        raise DataError(_parser_message(path, exc)) from None
    frame.columns = [str(c).strip() for c in frame.columns]  # 'school_id ' is 'school_id'
    # A row shorter than the header is padded with missing cells, and rows one field longer
    # than the header turn the first column into the index; only the text shows which it was.
    # A short row always leaves the last column empty, so clean files are not read twice.
    if not isinstance(frame.index, pd.RangeIndex) or (
            len(frame) and frame.iloc[:, -1].isna().any()):
        problem = _field_count_problem(path, len(header))
        if problem:
            raise DataError(problem)
    return frame


def _csv_header(path: Path) -> list[str]:
    """The header record of a CSV file (the first non-blank one); [] for an empty file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for record in csv.reader(fh, skipinitialspace=True):
                if record:
                    return [name.strip() for name in record]
    except UnicodeDecodeError:
        raise DataError(_not_utf8(path)) from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    return []


def _check_unique_names(path: Path, names: Sequence[str]) -> None:
    """Raise naming every column name that the header (or schema) gives more than once."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        positions.setdefault(str(name), []).append(i)
    repeated = {name: at for name, at in positions.items() if len(at) > 1}
    if repeated:
        what = "; ".join(f"column '{name}' appears {len(at)} times (columns "
                         f"{', '.join(map(str, at))})" for name, at in repeated.items())
        raise DataError(f"{path}: {what}; expected each column name once")


def _field_count_problem(path: Path, n_fields: int) -> str | None:
    """A message naming the rows whose number of fields differs from the header's, if any."""
    bad: list[tuple[int, int, int]] = []  # (data row, line, fields)
    rows = 0
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        records = (r for r in reader if r)
        next(records, None)  # the header
        for rows, record in enumerate(records, start=1):
            if len(record) != n_fields:
                bad.append((rows, reader.line_num, len(record)))
    if not bad:
        return None
    shown = bad[:_MAX_ROWS_SHOWN]
    counts = {fields for _, _, fields in bad}
    if len(bad) > 1 and len(counts) == 1:
        more = f" and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
        where = (f"rows {', '.join(str(r) for r, _, _ in shown)}{more} (lines "
                 f"{', '.join(str(line) for _, line, _ in shown)}{more and ', ...'}) have "
                 f"{counts.pop()} fields")
    else:
        more = f" and {len(bad) - len(shown)} more rows" if len(bad) > len(shown) else ""
        where = ", ".join(f"row {row} (line {line}) has {fields} field{'' if fields == 1 else 's'}"
                          for row, line, fields in shown) + more
    if len(bad) == 1 and bad[0][0] == rows and bad[0][2] < n_fields:
        hint = " (is the file cut off?)"
    elif len(bad) == rows and {fields for _, _, fields in bad} == {n_fields + 1}:
        hint = " (a comma at the end of each row?)"
    else:
        hint = " (a comma too many or too few, or a cell with a comma that is not quoted?)"
    return (f"{path}: {where}; expected {n_fields} fields in every row, one per column of the "
            f"header{hint}")


def _parser_message(path: Path, exc: Exception) -> str:
    text = str(exc).strip()
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        expected, line, saw = fields.groups()
        return (f"{path}: line {line} has {saw} fields; expected {expected} in every row, one "
                "per column of the header (a comma too many, or a cell with a comma that is "
                "not quoted?)")
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if quote:
        return (f"{path}: the quoted cell opened on line {int(quote.group(1)) + 1} is never "
                "closed; expected a closing double quote (is the file cut off?)")
    return f"{path}: not a readable CSV file ({text})"


def _not_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (f"{path}: line {line} is not UTF-8 text (found the byte 0x{data[exc.start]:02x}); "
                "expected a CSV file saved as UTF-8 (in Excel: 'CSV UTF-8')")
    return f"{path}: not UTF-8 text; expected a CSV file saved as UTF-8"


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    _check_unique_names(path, schema.names)
    nested = [f for f in schema if pa.types.is_nested(f.type)]
    if nested:
        what = ", ".join(f"'{f.name}' ({f.type})" for f in nested)
        raise DataError(f"{path}: column(s) {what} hold lists or records; expected one number "
                        "or text value per cell")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()  # a frame saved with its ids as the index: they are columns
    return frame


def content_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a trial table's values, whatever the file format (``content_sha256``).

    Every column is hashed with its name, in the table's order, each in one typed form:
    identifiers (``pupil_id``, ``school_id``, ``la_id``) as trimmed text, ``arm`` as 0/1, a
    column whose every filled cell is a number as float64 (empty cells missing), and any other
    column as trimmed text. The same table read from CSV or Parquet, or given as a DataFrame,
    therefore has one hash, and so does a table read for one outcome or for all of them; a
    changed cell, column name or row order changes it.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read (school- or pupil-level), before typing; not modified.

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> a = pd.DataFrame({"school_id": ["S1", "S2"], "arm": ["swis", "control"],
    ...                   "s47": ["3", "0"]})
    >>> b = pd.DataFrame({"school_id": ["S1", "S2"], "arm": [1, 0], "s47": [3, 0]})
    >>> content_sha256(a) == content_sha256(b)
    True
    >>> content_sha256(a) == content_sha256(b.assign(s47=[3, 1]))
    False
    """
    typed = pd.DataFrame({i: _hashed_column(str(name), frame.iloc[:, i])
                          for i, name in enumerate(frame.columns)})
    digest = hashlib.sha256(json.dumps(list(map(str, frame.columns))).encode())
    digest.update(pd.util.hash_pandas_object(typed, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _hashed_column(name: str, raw: pd.Series) -> pd.Series:
    """A column in the one typed form :func:`content_sha256` hashes."""
    raw = raw.reset_index(drop=True)
    if name in (PUPIL_ID_COLUMN, *ID_COLUMNS):
        return text_cells(raw)
    if name == ARM_COLUMN:
        return arm_codes(raw)
    if isinstance(raw.dtype, pd.CategoricalDtype):
        raw = raw.astype(object)
    numbers = parse_numbers(raw)
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        return numbers
    text = text_cells(raw)
    return numbers if (numbers.notna() | raw.isna() | (text == "")).all() else text


def validate(data: str | Path | pd.DataFrame, *, outcomes: Sequence[str] | None = None,
             covariates: Sequence[str] = ()) -> ValidationReport:
    """Validate a school- or pupil-level file or table and return every problem found.

    Parameters
    ----------
    data : str, pathlib.Path or pandas.DataFrame
        A CSV/Parquet path, or a table already in memory (not modified). A ``pupil_id`` column
        marks a pupil-level table (one row per pupil).
    outcomes : sequence of str, optional
        Outcomes whose columns are required; see :func:`validate_frame`. When None, every
        outcome with a column in the table (follow-up or baseline) is checked as if it were
        analysed, and an outcome with only some of its columns is an error naming the others.
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
        Outcomes that will be analysed (their columns become required). When None, every
        outcome with a column in the table is checked (see :func:`validate`).
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
        hashes = {"content_sha256": data.content_sha256, "file_sha256": data.file_sha256}
    else:
        file_hash = None if isinstance(data, pd.DataFrame) else _file_sha256(data)
        frame, source = _as_frame(data)
        hashes = None
    report = validate_frame(frame, source=source, outcomes=outcomes, covariates=covariates)
    if not report.ok:
        raise DataError(str(report), report=report)
    if hashes is None:  # the table as read, before typing (valid, so its arm codes are known)
        hashes = {"content_sha256": content_sha256(frame), "file_sha256": file_hash}
    if outcomes is None:  # every outcome in the table was checked as if analysed
        wanted |= {o.name for o in checked_outcomes(frame, None)}
    if is_pupil_frame(frame):
        pupils = normalise_pupil_frame(frame, outcomes=outcomes, covariates=covariates)
        return _pupil_data(pupils, source, report, outcomes, covariates, wanted, len(frame),
                           hashes)
    typed = normalise_frame(frame, outcomes=outcomes, covariates=covariates)
    previous = data.checked if isinstance(data, SchoolData) else frozenset()
    return SchoolData(frame=typed, source=source, report=report, checked=previous | wanted,
                      **hashes)


def _file_sha256(path: str | Path) -> str | None:
    """:func:`~swisbayes._base.provenance.sha256_file` of a data file (None if it cannot be
    read: :func:`read_table` then says why)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def _pupil_data(pupils: pd.DataFrame, source: str, report: ValidationReport,
                outcomes: Sequence[str] | None, covariates: Sequence[str],
                checked: frozenset[str], n_rows: int, hashes: dict[str, str | None]
                ) -> SchoolData:
    stats = sufficient_statistics(pupils, outcomes=outcomes, covariates=covariates)
    return SchoolData(frame=stats.schools, source=source, report=report, checked=checked,
                      cells=stats.cells, level="pupil", n_rows=n_rows, pupil_rows=pupils,
                      **hashes)


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
               if not set(outcome_schema(o).columns) <= set(pupils.columns)]
    if missing or roles.unknown:
        asked = [*missing, *roles.unknown]
        raise DataError(f"{data.source}: {asked} were not checked when this pupil-level data "
                        f"was read; read it again with read_school_data(path, "
                        f"outcomes={list(outcomes or [])}, covariates={list(covariates)})")
    wanted = frozenset(outcomes or ()) | frozenset(covariates)
    return _pupil_data(pupils, data.source, data.report, outcomes, covariates,
                       data.checked | wanted, data.n_rows,
                       {"content_sha256": data.content_sha256, "file_sha256": data.file_sha256})


def require_data[D](data: D | None, what: str) -> D:
    """``data`` itself, or a :class:`DataError` saying that ``what`` needs data.

    No entry point falls back to the bundled synthetic data: they are loaded by name
    (:func:`load_example`), so a missing argument never passes for a real analysis.
    """
    if data is None:
        raise DataError(f"{what}: no data given; pass a file, a DataFrame, or "
                        "swisbayes.load_example() for the bundled synthetic SWIS data")
    return data


def load_example(name: str = "swis") -> pd.DataFrame:
    """Load a bundled synthetic school dataset: SWIS-shaped, or another trial's.

    ``"swis"`` is simulated with the trial's published design (21 LAs, 136 SWIS and 132
    control schools, 278,858 pupils) and a true S47 incidence rate ratio equal to the published
    estimate, 1.055. ``"other_trial"`` is another school-clustered trial with outcomes SWIS did
    not have (120 schools in 12 districts; fixed-term ``exclusions`` with
    ``exclusions_baseline``, true IRR 0.80, and ``police_contacts`` without a baseline, true
    IRR 0.90), declared in the specs of ``models/examples/other_trial/``. Both are synthetic: no
    real school appears in them. Their true parameters and the named assumptions behind their
    rates are in ``frame.attrs["swisbayes"]``.

    Parameters
    ----------
    name : {"swis", "other_trial"}, default "swis"
        Which dataset (:data:`EXAMPLES`).

    Returns
    -------
    pandas.DataFrame
        One row per school.

    Raises
    ------
    DataError
        For an unknown name; the message lists the bundled ones.

    Examples
    --------
    >>> import swisbayes
    >>> df = swisbayes.load_example()
    >>> df.shape[0], df["la_id"].nunique(), int(df["pupils"].sum())
    (268, 21, 278858)
    >>> df.attrs["swisbayes"]["truth"]["irr"]["s47"]
    1.055
    >>> other = swisbayes.load_example("other_trial")
    >>> other.shape[0], other["la_id"].nunique(), other.attrs["swisbayes"]["truth"]["irr"]
    (120, 12, {'exclusions': 0.8, 'police_contacts': 0.9})
    """
    if name not in EXAMPLES:
        raise DataError(f"no bundled dataset named {name!r}; expected one of "
                        f"{', '.join(map(repr, EXAMPLES))}")
    files = resources.files("swisbayes.data") / "files"
    frame = pd.read_csv(files / f"{EXAMPLES[name]}.csv", dtype={"school_id": str, "la_id": str})
    frame.attrs["swisbayes"] = json.loads((files / f"{EXAMPLES[name]}.json").read_text())
    call = "" if name == "swis" else repr(name)
    frame.attrs["source"] = f"swisbayes.load_example({call}) (synthetic)"
    return frame


def _as_frame(data: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, str(data.attrs.get("source", "<DataFrame>"))
    if not isinstance(data, str | Path):
        raise DataError(f"data must be a file path, a pandas DataFrame or SchoolData; got "
                        f"{type(data).__name__}")
    return read_table(data), str(data)
