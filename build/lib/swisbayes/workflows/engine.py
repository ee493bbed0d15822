"""Run independent cells (one fit each) on the engine's executors, store and progress bar.

Used by the operating-characteristics study and simulation-based calibration, whose cells do not
share draws: each cell is a function call whose result is a JSON-ready row. Rows are written
atomically by the calling process as soon as they are known, and a re-run with ``resume`` skips
every cell whose row is on disk and trusted (see :class:`~swisbayes.workflows.store.CellStore`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from swisbayes._base.provenance import package_version
from swisbayes.workflows.executors import make_executor
from swisbayes.workflows.progress import GridProgress
from swisbayes.workflows.store import ROW_FORMAT, CellStore


@dataclass(frozen=True)
class Task:
    """One cell: its hash and the call that computes its row.

    Parameters
    ----------
    name : str
        Cell hash (:func:`cell_hash`).
    fn : callable
        Picklable module-level function returning a JSON-ready dict.
    args : tuple
        Its arguments.
    """

    name: str
    fn: Callable[..., dict]
    args: tuple


@dataclass
class CellRun:
    """The rows of a run by cell hash, the cells that raised, and those computed now."""

    rows: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)


def cell_hash(kind: str, fields: dict) -> str:
    """A cell's hash: its kind, identifying fields and the package version.

    Parameters
    ----------
    kind : str
        ``"study"`` or ``"sbc"``; rows of one kind never match the other.
    fields : dict
        JSON-ready identifying fields (spec JSON, data hash, seeds, settings).

    Returns
    -------
    str
        24 hex digits.
    """
    payload = json.dumps({"kind": kind, "swisbayes_version": package_version(), **fields},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def run_cells(tasks: list[Task], kind: str, out: Path, *, workers: int = 1,
              scheduler: object | None = None, resume: bool = True,
              progress: bool = False) -> CellRun:
    """Compute every task whose row is not already in ``out``; write each row as it finishes.

    Parameters
    ----------
    tasks : list of Task
    kind : str
        Stored as each row's ``path`` (so rows carry no netCDF to check).
    out : pathlib.Path
        Output directory (``cells/HASH.json`` and ``run.log``).
    workers, scheduler
        See :func:`~swisbayes.workflows.executors.make_executor`.
    resume : bool, default True
        Keep trusted rows already in ``out``.
    progress : bool, default False

    Returns
    -------
    CellRun
    """
    executor = make_executor(workers, scheduler)
    store = CellStore(out)
    with store.lock():
        store.remove_temporaries()
        names = [t.name for t in tasks]
        run = CellRun(rows=store.valid_rows(names) if resume else {})
        store.log("start", {"kind": kind, "cells": len(tasks), "finished": len(run.rows),
                            "resume": resume})
        todo = [t for t in tasks if t.name not in run.rows]
        bar = GridProgress(len(tasks), len(run.rows), enabled=progress)
        try:
            with bar:
                _execute(todo, kind, store, executor, run, bar)
        finally:
            executor.close()
        store.log("end", {"kind": kind, "computed": len(run.computed),
                          "errors": len(run.errors)})
    return run


def _execute(todo: list[Task], kind: str, store: CellStore, executor, run: CellRun,
             bar: GridProgress) -> None:
    pending = {executor.submit(t.fn, *t.args): t for t in todo}
    while pending:
        for future in executor.wait_any(pending):
            task = pending.pop(future)
            try:
                payload = future.result()
            except Exception as exc:  # one cell's failure must not lose the others
                message = f"{type(exc).__name__}: {exc}"
                run.errors[task.name] = message
                store.log("error", {"cell": task.name, "message": message})
                bar.advance(failed=True)
                continue
            row = {**payload, "cell": task.name, "format": ROW_FORMAT, "path": kind}
            store.write_row(row)
            store.log("cell", {"cell": task.name, "ok": row["ok"]})
            run.rows[task.name] = row
            run.computed.append(task.name)
            bar.advance(failed=not row["ok"])


@contextlib.contextmanager
def output_dir(out: str | Path | None, prefix: str) -> Iterator[Path]:
    """``out`` as a path, or a temporary directory deleted afterwards when None."""
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


__all__ = ["CellRun", "Task", "cell_hash", "output_dir", "run_cells"]
