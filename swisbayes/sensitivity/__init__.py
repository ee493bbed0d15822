"""Batch sensitivity-to-prior runs: a grid of priors, hyperpriors, MCIDs, outcomes and seeds.

One model is compiled per structure and process; each cell swaps its priors in as data. Most
cells are not sampled at all: their posterior is the draws of a sampled cell of the same model,
data and seed, reweighted by Pareto-smoothed importance sampling when k-hat says that is
reliable, and an MCID change is recomputed from the same draws. Every finished cell is written
atomically, so a run resumes where it stopped. Fits run in this process, in local worker
processes or on a Dask cluster, with the same results.

>>> from swisbayes.sensitivity import load_grid
>>> load_grid("models/prior_grid.toml").name
'prior_grid'

``run_grid(specs, grid, data, out=..., workers=..., scheduler=..., resume=...)`` runs it; see
:func:`run_grid` and ``swisbayes sensitivity --help``.
"""

from __future__ import annotations

from .grid import Cell, Grid, load_grid
from .keys import cell_keys
from .runner import PATHS, SensitivityResult, run_grid
from .store import read_log

__all__ = ["PATHS", "Cell", "Grid", "SensitivityResult", "cell_keys", "load_grid", "read_log",
           "run_grid"]
