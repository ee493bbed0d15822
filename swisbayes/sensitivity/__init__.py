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
:func:`run_grid` and ``swisbayes sensitivity --help``. :func:`screen_grid` screens its sampled
fits by power-scaling (:mod:`~swisbayes.sensitivity.screen`), and :func:`write_plots` draws it
(:mod:`~swisbayes.sensitivity.plots`).
"""

from __future__ import annotations

from .grid import Cell, Grid, load_grid
from .keys import cell_keys
from .plots import plot_heatmap, plot_probability_by_prior, write_plots
from .runner import PATHS, SensitivityResult, run_grid
from .screen import ScreenResult, compare_with_grid, power_scaling_screen, screen_grid
from .store import read_log

__all__ = ["PATHS", "Cell", "Grid", "ScreenResult", "SensitivityResult", "cell_keys",
           "compare_with_grid", "load_grid", "plot_heatmap", "plot_probability_by_prior",
           "power_scaling_screen", "read_log", "run_grid", "screen_grid", "write_plots"]
