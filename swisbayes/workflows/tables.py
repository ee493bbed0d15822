"""The tidy table of a sensitivity run, and the same as an xarray Dataset over the grid's axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

_SKIPPED = {"format", "axes", "spec", "seconds", "draws", "group", "netcdf_sha256"}
"""Row keys left out of the table: nested provenance, and what differs between two runs of the
same cells (timings, and the netCDF checksum, since the file records its sampling time)."""

_UNPREFIXED = {"diagnostics"}
"""Nested row keys whose fields become columns under their own names."""


def flatten(row: dict, axes: list[str]) -> dict:
    """One table record from a row: axis columns first, then every scalar, nested keys joined.

    Intervals ``[low, high]`` become ``NAME_lower``/``NAME_upper``, nested tables ``new_la``
    become ``new_la_irr_median`` etc., and lists of text (the diagnostics' reasons) are joined
    with "; ".

    Parameters
    ----------
    row : dict
        A cell's row (see :mod:`swisbayes.workflows.rows`).
    axes : list of str
        The grid's axis names.

    Returns
    -------
    dict
    """
    record = {axis: row["axes"].get(axis) for axis in axes}
    record.update({"cell": row["cell"], "path": row["path"], "base": row["base"]})
    for key, value in row.items():
        if key in _SKIPPED or key in record:
            continue
        _put(record, "" if key in _UNPREFIXED else key, value)
    return record


def _put(record: dict, name: str, value: object) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _put(record, f"{name}_{key}" if name else key, sub)
    elif isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int | float) for v in value):
        record[f"{name}_lower"], record[f"{name}_upper"] = value
    elif isinstance(value, list):
        record[name] = "; ".join(map(str, value))
    elif name not in record:
        record[name] = value


def to_frame(rows: list[dict], axes: list[str]) -> pd.DataFrame:
    """The tidy table: one record per finished cell, in grid order.

    Parameters
    ----------
    rows : list of dict
    axes : list of str

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame([flatten(r, axes) for r in rows])


def to_dataset(table: pd.DataFrame, axes: dict[str, list]) -> xr.Dataset:
    """The table as a Dataset with one dimension per grid axis (NaN where a cell is absent).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`to_frame`.
    axes : dict of str to list
        Axis values, in grid order.

    Returns
    -------
    xarray.Dataset
    """
    names = list(axes)
    if table.empty:
        coords = {k: list(v) for k, v in axes.items()}
        return xr.Dataset(coords=coords)
    frame = table.set_index(names)
    data = frame.to_xarray()
    data = data.reindex({k: list(v) for k, v in axes.items()})
    for name in ("ok",):
        if name in data:  # a bool column with absent cells comes back as object
            data[name] = data[name].astype(float)
    return data


def write_frame(table: pd.DataFrame, path: Path, kind: str) -> None:
    """Write the table as CSV or Parquet (the caller makes it atomic)."""
    if kind == "csv":
        table.to_csv(path, index=False)
    else:
        frame = table.copy()
        for column in frame.columns:
            if frame[column].dtype == object:
                # Parquet needs one type per column; None-or-number columns become floats
                values = frame[column].dropna()
                if len(values) and all(isinstance(v, int | float) for v in values):
                    frame[column] = frame[column].astype(float)
                elif not all(isinstance(v, str) for v in values):
                    frame[column] = frame[column].map(lambda v: v if v is None else str(v))
        frame.to_parquet(path, index=False)


def numeric(table: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns of the table (float), e.g. to compare two runs."""
    return table.select_dtypes(include=[np.number, "bool"]).astype(float)


__all__ = ["flatten", "numeric", "to_dataset", "to_frame", "write_frame"]
