"""The output directory of a batch (a prior grid, a study, SBC): one file per finished cell,
written atomically.

Layout of ``DIR``::

    cells/HASH.json    one row per finished cell (a grid's: decision quantities, diagnostics,
                       provenance, how it was obtained; a study's or SBC's: its trial)
    cells/HASH.nc      the posterior of a grid's sampled cell (reweighted cells name their base)
    run.log            one JSON line per event of every run (start, cell, invalid, error, end)
    table.csv          a grid's finished cells after its last run (also table.parquet)

Every file is written to a temporary sibling and renamed into place, and a row is written only
after its netCDF, with the netCDF's SHA-256. A killed run therefore leaves finished cells
intact and at most some ``.*.tmp`` files, which the next run deletes. A row that does not parse,
belongs to another cell, or whose netCDF is missing or has another checksum is not trusted: the
cell is computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import xarray as xr

from swisbayes._base.atomic import write_atomic, write_text_atomic
from swisbayes._base.errors import SwisbayesError
from swisbayes._base.provenance import sha256_file

ROW_FORMAT = 3
"""Version of the row layout; rows of another version are recomputed (2: ``prob_rope``; 3: tail
ESS, E-BFMI and tree-depth share in the diagnostics, whose gate now checks them)."""


class CellStore:
    """Reads and writes the files of one output directory.

    Parameters
    ----------
    root : pathlib.Path
        The output directory (created when missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.cells = self.root / "cells"
        self.cells.mkdir(parents=True, exist_ok=True)
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for one run at a time (released when the process dies).

        Raises
        ------
        SwisbayesError
            If another run holds it.
        """
        with open(self.root / ".lock", "a+") as handle:
            try:
                import fcntl
            except ImportError:  # not POSIX: run without the guard
                yield
                return
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise SwisbayesError(f"{self.root}: another run is using this directory"
                                     ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def row_path(self, cell: str) -> Path:
        """Where the row of ``cell`` lives."""
        return self.cells / f"{cell}.json"

    def netcdf_path(self, cell: str) -> Path:
        """Where the posterior of a sampled ``cell`` lives."""
        return self.cells / f"{cell}.nc"

    def remove_temporaries(self) -> int:
        """Delete temporary files left by a killed run; returns how many."""
        stale = list(self.cells.glob(".*.tmp")) + list(self.root.glob(".*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def valid_rows(self, cells: list[str]) -> dict[str, dict]:
        """The trusted rows among ``cells``, by cell hash.

        A row is trusted when it parses, names this cell, has the current row format and, for a
        sampled cell, its netCDF exists with the recorded SHA-256. Every untrusted file is
        logged with the reason.
        """
        rows = {}
        for cell in cells:
            row, reason = self._check(cell)
            if row is not None:
                rows[cell] = row
            elif reason is not None:
                self.log("invalid", {"cell": cell, "reason": reason})
        return rows

    def _check(self, cell: str) -> tuple[dict | None, str | None]:
        path = self.row_path(cell)
        if not path.exists():
            return None, None
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return None, f"row does not parse ({type(exc).__name__})"
        if not isinstance(row, dict) or row.get("cell") != cell:
            return None, "row belongs to another cell"
        if row.get("format") != ROW_FORMAT:
            return None, f"row format {row.get('format')!r}, expected {ROW_FORMAT}"
        if row.get("path") == "sampled":
            nc = self.netcdf_path(cell)
            if not nc.exists():
                return None, "netCDF missing"
            if sha256_file(nc) != row.get("netcdf_sha256"):
                return None, "netCDF checksum mismatch"
        return row, None

    def write_netcdf(self, cell: str, content: bytes) -> str:
        """Write a sampled cell's posterior; returns its SHA-256."""
        write_atomic(self.netcdf_path(cell), lambda tmp: tmp.write_bytes(content))
        return hashlib.sha256(content).hexdigest()

    def load_posterior(self, cell: str, sha256: str) -> xr.Dataset:
        """The posterior group of a sampled cell, after checking its checksum.

        Raises
        ------
        ValueError
            If the file changed since its row was written.
        """
        path = self.netcdf_path(cell)
        if sha256_file(path) != sha256:
            raise ValueError(f"{path}: checksum mismatch")
        tree = xr.load_datatree(path, engine="h5netcdf")
        return tree["posterior"].to_dataset()

    def write_row(self, row: dict) -> Path:
        """Write a finished cell's row (atomically)."""
        return write_text_atomic(self.row_path(row["cell"]),
                                 json.dumps(row, indent=1, allow_nan=True) + "\n")

    def log(self, event: str, fields: dict | None = None) -> None:
        """Append one event, with ``fields``, to ``run.log`` (a killed run may leave a partial
        last line; :func:`read_log` skips it)."""
        line = json.dumps({"time": time.time(), "run": self.run_id, "event": event,
                           **(fields or {})})
        with open(self.root / "run.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def write_tables(self, write_frame: Callable[[Path, str], None]) -> list[Path]:
        """Write ``table.csv`` and ``table.parquet`` atomically with ``write_frame(tmp, kind)``."""
        paths = []
        for kind in ("csv", "parquet"):
            path = self.root / f"table.{kind}"
            write_atomic(path, lambda tmp, kind=kind: write_frame(tmp, kind))
            paths.append(path)
        return paths


def read_log(root: str | Path) -> list[dict]:
    """Every readable event of ``run.log`` in ``root`` (a partial last line is skipped)."""
    path = Path(root) / "run.log"
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


__all__ = ["ROW_FORMAT", "CellStore", "read_log"]
