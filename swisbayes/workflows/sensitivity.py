"""Run a sensitivity grid: the grid's cells on the batch engine, with its routing on top.

The grid's plan (:class:`GridPlan`) groups the cells and routes them
(:mod:`swisbayes.workflows.routing`): executors only fit
(:func:`swisbayes.workflows.worker.sample_cell`), and every other cell is reweighted or
recomputed from a fit's draws in the calling process. The engine
(:func:`~swisbayes.workflows.engine.run_batch`) writes each finished cell as soon as it is
known, so an interrupted run loses only the fits in flight, and the next run with the same
grid and data skips every finished cell.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.evidence.resolver import PriorResolver
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.spec.grid import Grid, load_grid
from swisbayes.workflows import tables
from swisbayes.workflows.engine import Batch, BatchResult, Task, run_batch
from swisbayes.workflows.keys import cell_keys
from swisbayes.workflows.routing import GroupRouter, make_draw_set
from swisbayes.workflows.rows import Entry, sampled_row
from swisbayes.workflows.worker import sample_cell

PATHS = ("sampled", "reweighted", "recomputed")
"""How a cell can be obtained (see :mod:`swisbayes.workflows.rows`)."""


@dataclass
class SensitivityResult(BatchResult):
    """The rows of a sensitivity run, as a table or a Dataset over the grid's axes.

    Parameters
    ----------
    rows : list of dict
        One row per finished cell, in grid order (see :mod:`swisbayes.workflows.rows`).
    axes : dict of str to list
        Every grid axis and its values.
    out, errors, computed, seconds
        As for :class:`~swisbayes.workflows.engine.BatchResult` (``errors``: cells whose fit,
        or the fit whose draws they needed, raised).
    """

    axes: dict[str, list]

    @property
    def table(self) -> pd.DataFrame:
        """The tidy table (``DIR/table.csv``): one record per finished cell."""
        return tables.to_frame(self.rows, list(self.axes))

    def to_xarray(self) -> xr.Dataset:
        """The table with one dimension per grid axis; NaN where a cell is absent."""
        return tables.to_dataset(self.table, self.axes)

    @property
    def failed(self) -> list[dict]:
        """Rows whose fit (or base fit) failed its diagnostics."""
        return [r for r in self.rows if not r["diagnostics"]["ok"]]

    @property
    def ok(self) -> bool:
        """True when every cell finished and passed its diagnostics."""
        return not self.errors and not self.failed

    def counts(self) -> dict[str, int]:
        """Number of rows by path (sampled, reweighted, recomputed)."""
        return {p: sum(r["path"] == p for r in self.rows) for p in PATHS}


def run_grid(specs: Sequence[AnalysisSpec | str | Path] | None,
             grid: Grid | str | Path,
             data: str | Path | pd.DataFrame | SchoolData | None = None, *,
             out: str | Path | None = None, workers: int = 1, scheduler: object | None = None,
             resume: bool = True, progress: bool = False) -> SensitivityResult:
    """Run every cell of a sensitivity grid, sampling only where importance weights cannot do.

    Parameters
    ----------
    specs : sequence of AnalysisSpec or path, or None
        The analyses (outcomes); None or empty uses the grid's ``specs``.
    grid : Grid or path
        The grid (see :mod:`swisbayes.spec.grid`).
    data : path, DataFrame or SchoolData
        School-level data (e.g. :func:`swisbayes.load_example`); required.
    out : path, optional
        Output directory for the cells, ``run.log`` and ``table.csv``/``table.parquet``; a
        temporary directory (deleted afterwards) when None.
    workers : int, default 1
        Local processes that fit cells (1: this process).
    scheduler : str or distributed.Client, optional
        A Dask scheduler to send the fits to instead (needs the ``dask`` extra).
    resume : bool, default True
        Skip cells already finished in ``out`` (same cell, data and package version). False
        computes every cell again.
    progress : bool, default False
        Show a progress bar (on a terminal only).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    SpecError
        If the grid or a spec is invalid, or two cells are the same.
    DataError
        If the data fail validation.

    Examples
    --------
    A 48-cell grid samples a few cells and reweights the others::

        result = run_grid(None, "models/prior_grid.toml", sb.load_example(),
                          out="out/prior_grid")
        result.counts()          # {'sampled': 1, 'reweighted': 45, 'recomputed': 2}
        result.table             # one row per cell
        result.to_xarray()       # dims: spec, effect_prior, sigma_la_effect_scale, mcid, seed
    """
    start = time.perf_counter()
    grid = grid if isinstance(grid, Grid) else load_grid(grid)
    specs = _specs(specs, grid)
    plan = GridPlan(_entries(grid, specs, data), grid, grid.axes(specs))
    batch = run_batch(plan, out, workers=workers, scheduler=scheduler, resume=resume,
                      progress=progress, started=start)
    return SensitivityResult.extend(batch, axes=plan.axes)


def _specs(specs, grid: Grid) -> list[AnalysisSpec]:
    chosen = list(specs or []) or grid.spec_paths()
    if not chosen:
        raise SpecError(f"{grid.source}: no specs to run; give SPEC files or list them in "
                        "the grid's 'specs'")
    return [s if isinstance(s, AnalysisSpec) else load_spec(s) for s in chosen]


def _entries(grid: Grid, specs: list[AnalysisSpec], data) -> list[Entry]:
    source = require_data(data, "run_grid")
    datasets = {s.name: read_school_data(source, outcomes=[s.outcome], covariates=s.covariates)
                for s in specs}
    entries = []
    for cell in grid.cells(specs):
        school_data = datasets[cell.spec.name]
        entries.append(Entry(cell, cell_keys(cell, school_data.content_sha256), school_data))
    seen: dict[str, dict] = {}
    for entry in entries:
        if entry.name in seen:
            raise SpecError(f"{grid.source}: cells {seen[entry.name]} and {entry.cell.axes} are "
                            "the same analysis")
        seen[entry.name] = entry.cell.axes
    return entries


class GridPlan:
    """A grid on the batch engine (:class:`~swisbayes.workflows.engine.Plan`): tasks are the
    fits the routers ask for; every other row is derived here from a fit's draws.

    Parameters
    ----------
    entries : list of Entry
        The grid's cells, in grid order.
    grid : Grid
        For its reweighting settings.
    axes : dict of str to list
        The grid's axes (the columns of its table).
    """

    kind = "sensitivity"

    def __init__(self, entries: list[Entry], grid: Grid, axes: dict[str, list]) -> None:
        self.entries = entries
        self.settings = grid.reweighting
        self.axes = axes
        self._fits: dict[str, tuple[GroupRouter, Entry, str]] = {}
        self._batch: Batch | None = None

    def cells(self) -> list[str]:
        """The grid's cells."""
        return [e.name for e in self.entries]

    def start(self, batch: Batch) -> list[Task]:
        """Group the unfinished cells and ask each group's router for its first fits."""
        self._batch = batch
        resolver = PriorResolver(batch.store.root / "priors.json")
        groups: dict[str, dict[str, list[Entry]]] = {}
        for entry in self.entries:
            groups.setdefault(entry.keys.group, {}).setdefault(entry.keys.draws, []).append(entry)
        routers = []
        for draws in groups.values():
            if all(e.name in batch.rows for d in draws.values() for e in d):
                continue  # finished: its priors need not even be resolved
            routers.append(GroupRouter([make_draw_set(d, resolver) for d in draws.values()],
                                       set(batch.rows), self.settings, self._emit))
        return self._tasks([(router, entry) for router in routers for entry in router.start()])

    def done(self, batch: Batch, task: Task, payload: dict) -> list[Task]:
        """A fit returned: write its posterior and row, derive what its draws can answer."""
        router, entry, spec_json = self._fits.pop(task.name)
        sha256 = batch.store.write_netcdf(entry.name, payload["netcdf"])
        row = sampled_row(entry, payload, f"cells/{entry.name}.nc", sha256, spec_json)
        self._emit(row)
        # float64 draws read back from the file are these same numbers, so a resumed run that
        # loads them routes and reweights exactly as this one does
        return self._tasks([(router, e) for e in router.sampled(entry, row,
                                                                payload["posterior"])])

    def failed(self, batch: Batch, task: Task) -> list[Task]:
        """A fit raised: its group goes on without it."""
        router, entry, _ = self._fits.pop(task.name)
        return self._tasks([(router, e) for e in router.failed(entry)])

    def finish(self, batch: Batch) -> dict:
        """Name the cells left without a row, write the table; returns the counts by path and
        the data's hashes (for the run log's ``end`` event)."""
        for entry in self.entries:
            if entry.name not in batch.rows and entry.name not in batch.errors:
                # a cell whose draws were to come from a fit that raised
                batch.errors[entry.name] = (f"{entry.cell.axes}: the fit whose draws it "
                                            "needed raised")
        result = SensitivityResult([batch.rows[c] for c in self.cells() if c in batch.rows],
                                   axes=self.axes)
        frame = result.table
        batch.store.write_tables(lambda tmp, kind: tables.write_frame(frame, tmp, kind))
        data = self.entries[0].data if self.entries else None  # one table for every spec
        hashes = {} if data is None else {"file_sha256": data.file_sha256,
                                          "content_sha256": data.content_sha256}
        return {**result.counts(), "failed": len(result.failed), **hashes}

    def _tasks(self, wanted: list[tuple[GroupRouter, Entry]]) -> list[Task]:
        """The fits for the cells the routers want sampled; a cell sampled by an earlier run is
        loaded from disk instead (its checksum checked), and routed at once."""
        store = self._batch.store
        wanted = deque(wanted)
        tasks = []
        while wanted:
            router, entry = wanted.popleft()
            row = self._batch.rows.get(entry.name)
            if row is not None and row["path"] == "sampled":
                try:
                    posterior = store.load_posterior(entry.name, row["netcdf_sha256"])
                except (OSError, ValueError) as exc:  # changed since it was checked: fit again
                    store.log("invalid", {"cell": entry.name, "reason": str(exc)})
                else:
                    wanted.extend((router, e) for e in router.sampled(entry, row, posterior))
                    continue
            spec_json = router.spec_json(entry)
            self._fits[entry.name] = (router, entry, spec_json)
            tasks.append(Task(entry.name, sample_cell, (spec_json, entry.data),
                              axes=entry.cell.axes))
        return tasks

    def _emit(self, row: dict) -> None:
        self._batch.emit(row, ok=row["diagnostics"]["ok"])


def format_text(result: SensitivityResult) -> str:
    """A readable table of a run, one line per cell (the axes that vary, how the cell was
    obtained, the decision quantities), and a summary line.

    Parameters
    ----------
    result : SensitivityResult

    Returns
    -------
    str
    """
    varying = [a for a, values in result.axes.items() if len(values) > 1]
    width = {a: max(len(a), *(len(str(r["axes"][a])) for r in result.rows)) + 2
             for a in varying} if result.rows else {}
    header = "".join(f"{a:{width[a]}}" for a in varying) + (
        f"{'path':11}{'k-hat':>6}  {'IRR':>6}  {'95% interval':>13}  {'P(cut>=MCID)':>12}  "
        f"{'new LA':>7}  {'P(harm)':>7}  fit")
    lines = [header]
    for r in result.rows:
        khat = r["diagnostics"]["pareto_khat"]
        lo, hi = r["irr_ci95"]
        lines.append(
            "".join(f"{r['axes'][a]!s:{width[a]}}" for a in varying)
            + f"{r['path']:11}{'' if khat is None else f'{khat:.2f}':>6}  "
            f"{r['irr_median']:6.3f}  {lo:6.3f}-{hi:<6.3f}  "
            f"{r['prob_meaningful_reduction']:12.1%}  "
            f"{r['new_la']['prob_meaningful_reduction']:7.1%}  {r['prob_harm']:7.1%}  "
            f"{'ok' if r['diagnostics']['ok'] else 'FAILED'}")
    counts = ", ".join(f"{n} {path}" for path, n in result.counts().items())
    done = len(result.rows) - len(set(result.computed))
    where = f"; wrote {result.out / 'table.csv'}" if result.out is not None else ""
    lines.append(f"\n{len(result.rows)} cells ({counts}); {done} were already finished; "
                 f"{len(result.errors)} not computed; {result.seconds:.1f} s{where}")
    return "\n".join(lines)


__all__ = ["PATHS", "GridPlan", "SensitivityResult", "format_text", "run_grid"]
