"""Run a sensitivity grid: plan the cells, run the fits, derive the rest, write every cell.

The calling process owns the output directory and takes every routing decision; executors only
fit (:func:`swisbayes.workflows.worker.sample_cell`). Each finished cell is written as soon as
it is known, so an interrupted run loses only the fits in flight, and the next run with the same
grid and data skips every finished cell.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.evidence.resolver import PriorResolver
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.spec.grid import Grid, load_grid
from swisbayes.workflows import tables
from swisbayes.workflows.executors import make_executor
from swisbayes.workflows.keys import cell_keys
from swisbayes.workflows.progress import GridProgress
from swisbayes.workflows.routing import GroupRouter, make_draw_set
from swisbayes.workflows.rows import Entry, sampled_row
from swisbayes.workflows.store import CellStore
from swisbayes.workflows.worker import sample_cell

if TYPE_CHECKING:
    from swisbayes.workflows.sensitivity import SensitivityResult

PATHS = ("sampled", "reweighted", "recomputed")
"""How a cell can be obtained (see :mod:`swisbayes.workflows.rows`)."""


@dataclass
class SensitivityResult:
    """The rows of a sensitivity run, as a table or a Dataset over the grid's axes.

    Parameters
    ----------
    rows : list of dict
        One row per finished cell, in grid order (see :mod:`swisbayes.workflows.rows`).
    axes : dict of str to list
        Every grid axis and its values.
    out : pathlib.Path or None
        The output directory (None when the run used a temporary one).
    errors : dict of str to str
        Cells whose fit raised, by cell hash: they have no row, and the next run retries them.
    computed : list of str
        Cells computed by this run (the others were finished before it).
    seconds : float
        Wall time of the run.
    """

    rows: list[dict]
    axes: dict[str, list]
    out: Path | None = None
    errors: dict[str, str] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)
    seconds: float = 0.0

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
    data : path, DataFrame or SchoolData, optional
        School-level data; the bundled synthetic SWIS data when None.
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

        result = run_grid(None, "models/prior_grid.toml", out="out/prior_grid")
        result.counts()          # {'sampled': 1, 'reweighted': 45, 'recomputed': 2}
        result.table             # one row per cell
        result.to_xarray()       # dims: spec, effect_prior, sigma_la_effect_scale, mcid, seed
    """
    start = time.perf_counter()
    grid = grid if isinstance(grid, Grid) else load_grid(grid)
    specs = _specs(specs, grid)
    entries = _entries(grid, specs, data)
    axes = grid.axes(specs)
    executor = make_executor(workers, scheduler)  # a missing extra fails before any work
    with _output_dir(out) as root:
        store = CellStore(root)
        with store.lock():
            run = _Run(store, entries, grid, resume)
            run.execute(executor, progress)
            rows = [run.rows[e.name] for e in entries if e.name in run.rows]
            result = SensitivityResult(rows, axes, None if out is None else Path(out),
                                       run.errors, run.computed, time.perf_counter() - start)
            frame = result.table
            store.write_tables(lambda tmp, kind: tables.write_frame(frame, tmp, kind))
            store.log("end", {**result.counts(), "errors": len(run.errors),
                              "failed": len(result.failed), "seconds": result.seconds})
    return result


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
        entries.append(Entry(cell, cell_keys(cell, school_data.sha256), school_data))
    seen: dict[str, dict] = {}
    for entry in entries:
        if entry.name in seen:
            raise SpecError(f"{grid.source}: cells {seen[entry.name]} and {entry.cell.axes} are "
                            "the same analysis")
        seen[entry.name] = entry.cell.axes
    return entries


@contextlib.contextmanager
def _output_dir(out: str | Path | None) -> Iterator[Path]:
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="swisbayes-sensitivity-") as tmp:
        yield Path(tmp)


class _Run:
    """The state of one run: finished rows, routers, futures in flight."""

    def __init__(self, store: CellStore, entries: list[Entry], grid: Grid,
                 resume: bool) -> None:
        self.store = store
        self.entries = entries
        store.remove_temporaries()
        self.rows = store.valid_rows([e.name for e in entries]) if resume else {}
        self.errors: dict[str, str] = {}
        self.computed: list[str] = []
        self.resolver = PriorResolver(store.root / "priors.json")
        self.routers = self._routers(grid)
        self.progress = GridProgress(len(entries), len(self.rows), enabled=False)
        store.log("start", {"cells": len(entries), "finished": len(self.rows), "resume": resume})

    def _routers(self, grid: Grid) -> list[GroupRouter]:
        groups: dict[str, dict[str, list[Entry]]] = {}
        for entry in self.entries:
            groups.setdefault(entry.keys.group, {}).setdefault(entry.keys.draws, []).append(entry)
        routers = []
        for draws in groups.values():
            cells = [e.name for d in draws.values() for e in d]
            if all(c in self.rows for c in cells):
                continue  # finished: its priors need not even be resolved
            routers.append(GroupRouter([make_draw_set(d, self.resolver) for d in draws.values()],
                                       set(self.rows), grid.reweighting, self._emit))
        return routers

    def execute(self, executor, progress: bool) -> None:
        """Sample, load and derive until every cell is finished or has failed."""
        queue: deque[tuple[GroupRouter, Entry]] = deque(
            (router, entry) for router in self.routers for entry in router.start())
        pending: dict[object, tuple[GroupRouter, Entry, str]] = {}
        self.progress = GridProgress(len(self.entries), len(self.rows), enabled=progress)
        try:
            with self.progress:
                while queue or pending:
                    while queue:
                        router, entry = queue.popleft()
                        queue.extend((router, e) for e in self._start(router, entry, pending,
                                                                       executor))
                    if pending:
                        for future in executor.wait_any(pending):
                            router, entry, spec_json = pending.pop(future)
                            queue.extend((router, e) for e in self._finish(
                                router, entry, spec_json, future))
        finally:
            executor.close()
        for entry in self.entries:
            if entry.name not in self.rows and entry.name not in self.errors:
                # a cell whose draws were to come from a fit that raised
                self.errors[entry.name] = (f"{entry.cell.axes}: the fit whose draws it "
                                           "needed raised")

    def _start(self, router: GroupRouter, entry: Entry, pending: dict, executor) -> list[Entry]:
        row = self.rows.get(entry.name)
        if row is not None and row["path"] == "sampled":
            # finished in an earlier run: its draws are on disk, checked by their checksum
            try:
                posterior = self.store.load_posterior(entry.name, row["netcdf_sha256"])
            except (OSError, ValueError) as exc:  # changed since it was checked: fit again
                self.store.log("invalid", {"cell": entry.name, "reason": str(exc)})
            else:
                return router.sampled(entry, row, posterior)
        spec_json = router.spec_json(entry)
        pending[executor.submit(sample_cell, spec_json, entry.data)] = (router, entry, spec_json)
        return []

    def _finish(self, router: GroupRouter, entry: Entry, spec_json: str,
                future) -> list[Entry]:
        try:
            payload = future.result()
        except Exception as exc:  # one cell's failure must not lose the others
            message = f"{type(exc).__name__}: {exc}"
            self.errors[entry.name] = f"{entry.cell.axes}: {message}"
            self.store.log("error", {"cell": entry.name, "axes": entry.cell.axes,
                                     "message": message})
            self.progress.advance(failed=True)
            return router.failed(entry)
        relative = f"cells/{entry.name}.nc"
        sha256 = self.store.write_netcdf(entry.name, payload["netcdf"])
        row = sampled_row(entry, payload, relative, sha256, spec_json)
        self._emit(row)
        # float64 draws read back from the file are these same numbers, so a resumed run that
        # loads them routes and reweights exactly as this one does
        return router.sampled(entry, row, payload["posterior"])

    def _emit(self, row: dict) -> None:
        self.store.write_row(row)
        self.store.log("cell", {"cell": row["cell"], "path": row["path"], "base": row["base"],
                                "ok": row["diagnostics"]["ok"]})
        self.rows[row["cell"]] = row
        self.computed.append(row["cell"])
        self.errors.pop(row["cell"], None)
        self.progress.advance(failed=not row["diagnostics"]["ok"])


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


__all__ = ["PATHS", "SensitivityResult", "format_text", "run_grid"]
