"""Time the default 48-cell sensitivity grid against a naive loop that recompiles per cell.

Measured in one run, on the bundled data, with PyTensor's on-disk compile cache warm (as it is
for a user after a first fit; a cold one makes every naive cell slower still):

1. ``swisbayes sensitivity --grid models/prior_grid.toml`` from a fresh process to its table,
   with an empty cache of the pilots' meta-analysis (its MCMC then runs, once, for the three
   pilot-informed variants), and again with that cache warm;
2. ``run_grid`` on the same grid inside this process (imports excluded, compile included);
3. optionally the same with ``--workers`` local processes;
4. the naive loop: for each cell, clear the compiled-model cache and call ``swisbayes.fit``,
   which rebuilds, recompiles and samples. A naive loop over 48 cells takes minutes, so
   ``--naive-cells`` cells spread over the grid are timed and the mean is extrapolated to every
   cell. Against the cold grid it is charged one meta-analysis too (a naive loop through
   ``get_prior`` would run one per pilot variant, so this favours it); against the warm grid,
   none.

Wall-clock times on a shared machine are noisy; the load average is reported with them.

Usage: ``python benchmarks/bench_sensitivity.py [--naive-cells 8] [--workers 2] [--json FILE]``
(``--naive-cells 0`` times the grid only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT / "models" / "prior_grid.toml"


def time_cli(grid: Path, out: Path) -> float:
    """Wall time of the sensitivity command from a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "swisbayes", "sensitivity", "--grid", str(grid),
                           "--out", str(out), "--quiet"], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        sys.exit(f"sensitivity failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def time_naive(cells, data, n: int) -> list[float]:
    """Seconds of ``n`` cells spread over the grid, each rebuilt, recompiled and sampled."""
    from swisbayes.evidence.resolver import resolved_spec
    from swisbayes.inference.fitting import _COMPILED, fit

    step = max(1, len(cells) // n)
    chosen = cells[::step][:n]
    seconds = []
    for cell in chosen:
        spec = resolved_spec(cell.spec)  # the prior is resolved outside the timing (see above)
        _COMPILED.clear()  # what a loop over pm.sample / a fresh fit per cell pays
        start = time.perf_counter()
        fit(spec, data)
        seconds.append(time.perf_counter() - start)
    return seconds


def time_meta_analysis(cells) -> float:
    """Seconds of one meta-analysis of the pilots (the pilot-informed prior), uncached."""
    from swisbayes.evidence import resolver as resolve

    pilot = next((c.spec for c in cells if resolve.needs_meta_analysis(c.spec)), None)
    if pilot is None:
        return 0.0
    settings = pilot.priors.effect.pilot_settings(pilot.outcome)
    path = settings.pilots_path()
    resolve._meta_analysis.cache_clear()
    start = time.perf_counter()
    resolve._meta_analysis(str(path), path.read_bytes(), settings.outcome, settings.tau_scale)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=GRID)
    parser.add_argument("--naive-cells", type=int, default=8,
                        help="Naive cells to time (0: time the grid only).")
    parser.add_argument("--workers", type=int, default=0,
                        help="Also time the grid with this many local processes (0: skip).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    results: dict[str, object] = {"load_average_start": os.getloadavg()[0]}
    tmp = Path(tempfile.mkdtemp(prefix="swisbayes-bench-sensitivity-"))
    os.environ["SWISBAYES_CACHE_DIR"] = str(tmp / "cache")  # starts empty: the cold run

    results["grid_cli_cold_map_s"] = time_cli(args.grid, tmp / "cli_cold")
    results["grid_cli_warm_map_s"] = time_cli(args.grid, tmp / "cli_warm")

    import swisbayes
    from swisbayes.spec.grid import load_grid
    from swisbayes.workflows.sensitivity import run_grid

    grid = load_grid(args.grid)
    specs = [swisbayes.load_spec(p) for p in grid.spec_paths()]
    example = swisbayes.load_example()
    start = time.perf_counter()
    result = run_grid(specs, grid, example, out=tmp / "in_process")
    results["grid_in_process_s"] = time.perf_counter() - start
    results["cells"] = len(result.rows)
    results["paths"] = result.counts()
    results["all_ok"] = result.ok
    if args.workers > 1:
        start = time.perf_counter()
        run_grid(specs, grid, example, out=tmp / "workers", workers=args.workers)
        results[f"grid_{args.workers}_workers_s"] = time.perf_counter() - start

    if args.naive_cells < 1:  # only the grid is timed
        _report(results, args.json)
        return
    cells = grid.cells(specs)
    data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=[specs[0].outcome],
                                      covariates=specs[0].covariates)
    naive = time_naive(cells, data, args.naive_cells)
    meta = time_meta_analysis(cells)
    results["naive_cells_timed"] = len(naive)
    results["naive_cell_mean_s"] = statistics.mean(naive)
    results["naive_cell_runs_s"] = naive
    results["meta_analysis_s"] = meta
    loop = statistics.mean(naive) * len(cells)
    results["naive_loop_extrapolated_s"] = loop + meta
    results["speedup_cold_cli_vs_naive"] = (loop + meta) / results["grid_cli_cold_map_s"]
    results["speedup_warm_cli_vs_naive"] = loop / results["grid_cli_warm_map_s"]
    results["speedup_in_process_vs_naive"] = loop / results["grid_in_process_s"]
    _report(results, args.json)


def _report(results: dict[str, object], path: Path | None) -> None:
    results["load_average_end"] = os.getloadavg()[0]
    for key, value in results.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key:34} {shown}")
    if path:
        path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
