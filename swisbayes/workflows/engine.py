"""The one batch engine: cells, store, resume, executors and progress for every batch workflow.

A batch is a set of **cells**, each named by a hash and giving one JSON-ready row. A
:class:`Plan` says which cells there are and what to compute; :func:`run_batch` runs it:

1. open the executor (:func:`~swisbayes.workflows.executors.open_executor`) and the output
   directory, and lock it (:class:`~swisbayes.workflows.store.CellStore`);
2. keep every trusted row already on disk (resume) and ask the plan for the first tasks;
3. the one loop: submit tasks (up to the executor's slots), wait for any to finish, and hand
   each finished one to the plan, in submission order, which emits rows and returns more tasks;
4. the plan finishes (a grid writes its table), and the run is logged.

Every row is written atomically by this process as soon as it is known (:meth:`Batch.emit`),
so a killed run loses only the calls in flight, and the next run skips every finished cell.

The operating-characteristics study and SBC run :class:`IndependentCells` (each task's result
is its cell's row); the prior grid's plan adds its routing (sample, reweight, recompute) on
top. Results extend :class:`BatchResult`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

import pandas as pd

from swisbayes._base.provenance import package_version
from swisbayes.workflows.executors import Workers, open_executor
from swisbayes.workflows.progress import BatchProgress
from swisbayes.workflows.store import ROW_FORMAT, CellStore


@dataclass(frozen=True)
class Task:
    """A call that computes a cell (or, for a grid, the fit that several cells share).

    Parameters
    ----------
    name : str
        The cell's hash.
    fn : callable
        Picklable module-level function (it may run in another process).
    args : tuple
        Its arguments.
    axes : dict, optional
        Where the cell sits in its batch (a grid's axes); named with its error.
    """

    name: str
    fn: Callable[..., dict]
    args: tuple
    axes: dict | None = None


@dataclass
class Batch:
    """A batch being run: its store, the finished rows by cell, the errors and the progress.

    Plans write rows with :meth:`emit`; the engine records errors with :meth:`fail`.
    """

    store: CellStore
    rows: dict[str, dict]
    progress: BatchProgress
    errors: dict[str, str] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)

    def emit(self, row: dict, *, ok: bool) -> None:
        """A cell is finished: write its row (atomically), log it and count it.

        Parameters
        ----------
        row : dict
            JSON-ready, with ``cell`` (its hash) and ``path`` (how it was obtained).
        ok : bool
            Whether it passed its diagnostics (a failed one is counted as failed).
        """
        self.store.write_row(row)
        self.store.log("cell", {"cell": row["cell"], "path": row["path"],
                                **({"base": row["base"]} if "base" in row else {}), "ok": ok})
        self.rows[row["cell"]] = row
        self.computed.append(row["cell"])
        self.errors.pop(row["cell"], None)
        self.progress.advance(failed=not ok)

    def fail(self, task: Task, exc: Exception) -> None:
        """A task raised: record the error (its cell has no row; the next run retries it)."""
        message = f"{type(exc).__name__}: {exc}"
        self.errors[task.name] = message if task.axes is None else f"{task.axes}: {message}"
        self.store.log("error", {"cell": task.name,
                                 **({"axes": task.axes} if task.axes is not None else {}),
                                 "message": message})
        self.progress.advance(failed=True)


class Plan(Protocol):
    """What a batch computes; :func:`run_batch` runs it.

    Every method runs in the calling process, in a fixed order, so results do not depend on
    the executor.
    """

    kind: str
    """Logged with the run (``"sensitivity"``, ``"study"``, ``"sbc"``)."""

    def cells(self) -> list[str]:
        """Every cell of the batch, in batch order (the order of the result's rows)."""

    def start(self, batch: Batch) -> Iterable[Task]:
        """The first tasks, once the finished rows are in ``batch.rows``."""

    def done(self, batch: Batch, task: Task, payload: dict) -> Iterable[Task]:
        """A task returned ``payload``: emit its rows; returns the tasks it makes ready."""

    def failed(self, batch: Batch, task: Task) -> Iterable[Task]:
        """A task raised (already recorded): returns the tasks it makes ready."""

    def finish(self, batch: Batch) -> dict:
        """After the last task: what else to write; returns fields for the end of the log."""


@dataclass
class BatchResult:
    """The rows of a batch run, and how the run went.

    Parameters
    ----------
    rows : list of dict
        One per finished cell, in batch order.
    out : pathlib.Path or None
        The output directory (None when the run used a temporary one).
    errors : dict of str to str
        Cells whose task raised, by cell hash: they have no row, and the next run retries them.
    computed : list of str
        Cells computed by this run (the others were finished before it).
    seconds : float
        Wall time of the run.
    """

    rows: list[dict]
    out: Path | None = field(default=None, kw_only=True)
    errors: dict[str, str] = field(default_factory=dict, kw_only=True)
    computed: list[str] = field(default_factory=list, kw_only=True)
    seconds: float = field(default=0.0, kw_only=True)

    @classmethod
    def extend(cls, batch: BatchResult, **fields: object) -> Self:
        """This result type from a batch's result and this type's own ``fields``."""
        base = {f.name: getattr(batch, f.name) for f in dataclasses.fields(BatchResult)}
        return cls(**(base | fields))

    @property
    def table(self) -> pd.DataFrame:
        """One record per finished cell."""
        return pd.DataFrame(self.rows)


@dataclass
class IndependentCells:
    """A batch whose cells do not depend on each other: each task's result is its cell's row.

    Parameters
    ----------
    kind : str
        Also each row's ``path``.
    tasks : list of Task
        One per cell, in batch order; each returns a JSON-ready dict with ``ok``.
    """

    kind: str
    tasks: list[Task]

    def cells(self) -> list[str]:
        """The tasks' cells."""
        return [t.name for t in self.tasks]

    def start(self, batch: Batch) -> list[Task]:
        """Every task whose cell is not finished."""
        return [t for t in self.tasks if t.name not in batch.rows]

    def done(self, batch: Batch, task: Task, payload: dict) -> list[Task]:
        """Write the task's row."""
        batch.emit({**payload, "cell": task.name, "format": ROW_FORMAT, "path": self.kind},
                   ok=payload["ok"])
        return []

    def failed(self, batch: Batch, task: Task) -> list[Task]:
        """Nothing waits on another cell."""
        return []

    def finish(self, batch: Batch) -> dict:
        """Nothing more to write."""
        return {}


def run_batch(plan: Plan, out: str | Path | None, *, workers: int = 1,
              scheduler: object | None = None, resume: bool = True, progress: bool = False,
              started: float | None = None) -> BatchResult:
    """Run a plan: resume, submit, write every finished cell, show progress.

    Parameters
    ----------
    plan : Plan
    out : path or None
        Output directory (``cells/``, ``run.log``); a temporary one, deleted afterwards, when
        None.
    workers : int, default 1
        Local processes (1: this process).
    scheduler : str or distributed.Client, optional
        A Dask scheduler instead (needs the ``dask`` extra).
    resume : bool, default True
        Keep the trusted rows already in ``out``; False computes every cell again.
    progress : bool, default False
        Show a progress bar (on a terminal only).
    started : float, optional
        :func:`time.perf_counter` when the caller started (the run's ``seconds`` count from
        it); now when None.

    Returns
    -------
    BatchResult

    Raises
    ------
    MissingDependencyError
        If a scheduler is given without Dask installed (before anything is written).
    SwisbayesError
        If another run holds ``out``.
    """
    started = time.perf_counter() if started is None else started
    with open_executor(workers, scheduler) as pool, \
            output_dir(out, f"swisbayes-{plan.kind}-") as root:
        store = CellStore(root)
        with store.lock():
            store.remove_temporaries()
            cells = plan.cells()
            rows = store.valid_rows(cells) if resume else {}
            store.log("start", {"kind": plan.kind, "cells": len(cells), "finished": len(rows),
                                "resume": resume})
            batch = Batch(store, rows, BatchProgress(len(cells), len(rows), enabled=progress))
            with batch.progress:
                _loop(plan, batch, pool)
            end = plan.finish(batch)
            seconds = time.perf_counter() - started
            store.log("end", {"kind": plan.kind, "computed": len(batch.computed),
                              "errors": len(batch.errors), **end, "seconds": seconds})
    return BatchResult([batch.rows[c] for c in cells if c in batch.rows],
                       out=None if out is None else Path(out), errors=batch.errors,
                       computed=batch.computed, seconds=seconds)


def _loop(plan: Plan, batch: Batch, pool: Workers) -> None:
    """The one loop: submit ready tasks, wait for any, hand them to the plan in submission
    order, until no task is ready or running."""
    ready: deque[Task] = deque(plan.start(batch))
    running: dict[cf.Future, Task] = {}
    try:
        while ready or running:
            while ready and (pool.slots is None or len(running) < pool.slots):
                task = ready.popleft()
                running[pool.executor.submit(task.fn, *task.args)] = task
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in [f for f in running if f in done]:
                task = running.pop(future)
                try:
                    payload = future.result()
                except Exception as exc:  # one cell's failure must not lose the others
                    batch.fail(task, exc)
                    ready.extend(plan.failed(batch, task))
                else:
                    ready.extend(plan.done(batch, task, payload))
    finally:
        for future in running:  # interrupted: what has not started never will
            future.cancel()


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


@contextlib.contextmanager
def output_dir(out: str | Path | None, prefix: str) -> Iterator[Path]:
    """``out`` as a path, or a temporary directory deleted afterwards when None."""
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


__all__ = [
    "Batch", "BatchResult", "IndependentCells", "Plan", "Task", "cell_hash", "output_dir",
    "run_batch"
]
