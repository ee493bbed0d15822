"""Time a fit of ~300,000 pupil rows against a fit of the same trial's school table, in one run.

For each scenario a SWIS-shaped pupil-level trial (278,858 pupils by default; ``--pupils``) is
simulated and written to CSV, with its exact school totals beside it. Each measurement is a
fresh Python process going from the file to the fitted S47 model with the spec's sampler
settings (4 chains x 1000 tuning + 1000 draws, 2 cores). Both paths fit the same spec
(baseline, school size, ``fsm`` and ``sen``):

- pupil path: read the CSV, validate every pupil row, reduce to school x covariate cells, fit
  the pupil-level model (school columns: baseline rate, size, FSM and SEN shares; pupil
  columns: the pupil's own baseline, FSM, SEN);
- school path: read the school CSV, validate, fit the school-level model.

Scenarios:

- ``swis``: the simulator's defaults (S47 about 12 per 1000 pupils a year, so nearly every
  pupil has 0 baseline events and there are few cells);
- ``varied``: 400 per 1000 a year, so pupils have 0, 1, 2, ... up to ~15 baseline events and
  there are ~5,000 cells (school x FSM x SEN x baseline count).

First runs: each path's first process compiles into its own fresh, empty PyTensor cache (no
help from an earlier compile of anything). Then ``--repeats`` interleaved runs of both paths on
those now-warm caches. Reported per scenario: the first-run and median warm wall times, their
ratios pupil/school (target <= 1.5), the same for the fit alone (build, compile or load,
sample), the stages, and peak resident memory (target < 2 GB).

Usage: ``python benchmarks/bench_pupils.py [--repeats 3] [--pupils 278858]
[--scenarios swis varied] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COVARIATES = ("fsm", "sen")

SCENARIOS = {
    "swis": {},
    "varied": {"s47_per_1000_per_year": 400.0},
}
"""Assumption overrides of :func:`swisbayes.data.simulate.simulate_pupils`, by scenario."""

RUN = """
import json, resource, time
start = time.perf_counter()
import swisbayes
from swisbayes.data.io import read_school_data, read_table
imported = time.perf_counter()
spec = swisbayes.load_spec({spec!r})
spec = spec.model_copy(update={{"adjustment": spec.adjustment.model_copy(
    update={{"covariates": {covariates!r}}})}})
frame = read_table({path!r})
read = time.perf_counter()
data = read_school_data(frame, outcomes=["s47"], covariates=spec.covariates)
reduced = time.perf_counter()
result = swisbayes.fit(spec, data)
done = time.perf_counter()
print(json.dumps({{"seconds": done - start, "import": imported - start, "read": read - imported,
                  "validate_reduce": reduced - read, "fit": done - reduced,
                  "sampling": result.attempts[-1].seconds,
                  "rows": data.n_rows, "units": len(data.frame if data.cells is None
                                                     else data.cells),
                  "ok": result.ok, "irr_median": result.decision.effect.median,
                  "irr_ci": list(result.decision.effect.ci),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

STAGES = ("import", "read", "validate_reduce", "fit", "sampling")


def run(path: Path, cache: Path) -> dict:
    """One fresh process from file to fitted model, compiling into ``cache``; its JSON report."""
    code = RUN.format(spec=str(ROOT / "models" / "s47_primary.toml"), path=str(path),
                      covariates=COVARIATES)
    flags = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS"), f"base_compiledir={cache}")
                     if f)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTENSOR_FLAGS": flags})
    if proc.returncode != 0:
        sys.exit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def scenario(name: str, pupils: int, repeats: int, tmp: Path) -> dict:
    """Simulate one scenario's files, then time the first and the warm runs of both paths."""
    from swisbayes.data.io import read_school_data
    from swisbayes.data.simulate import Assumption, TrialDesign, simulate_pupils

    assumptions = {k: Assumption(v, "benchmark", f"scenario {name}")
                   for k, v in SCENARIOS[name].items()}
    trial = simulate_pupils(2024, irr={"s47": 0.9}, assumptions=assumptions,
                            design=TrialDesign(total_pupils=pupils))
    pupil_file = trial.to_file(tmp / f"{name}_pupils.csv")
    reduced = read_school_data(trial.frame, outcomes=["s47"], covariates=COVARIATES)
    school_file = tmp / f"{name}_schools.csv"
    reduced.frame.to_csv(school_file, index=False)
    paths = {"pupil": pupil_file, "school": school_file}
    caches = {p: tmp / f"{name}_{p}_cache" for p in paths}
    print(f"{name}: {len(trial.frame):,} pupil rows, {len(reduced.cells):,} cells, "
          f"{len(reduced.frame)} schools; first runs on empty caches", file=sys.stderr)
    first = {p: run(paths[p], caches[p]) for p in paths}
    print(f"  first: pupil {first['pupil']['seconds']:.2f} s, "
          f"school {first['school']['seconds']:.2f} s", file=sys.stderr)
    warm: dict[str, list[dict]] = {p: [] for p in paths}
    for i in range(repeats):  # interleaved, so machine noise hits both alike
        for p in paths:
            warm[p].append(run(paths[p], caches[p]))
        print(f"  repeat {i + 1}: pupil {warm['pupil'][-1]['seconds']:.2f} s, "
              f"school {warm['school'][-1]['seconds']:.2f} s", file=sys.stderr)

    def median(p: str, key: str) -> float:
        return statistics.median(r[key] for r in warm[p])

    out = {
        "pupil_rows": first["pupil"]["rows"],
        "cells": first["pupil"]["units"],
        "schools": first["school"]["units"],
        "max_pupil_baseline": int(trial.frame["s47_baseline"].max()),
        "first_run_seconds": {p: first[p]["seconds"] for p in paths},
        "first_run_fit_seconds": {p: first[p]["fit"] for p in paths},
        "warm_seconds": {p: median(p, "seconds") for p in paths},
        "warm_fit_seconds": {p: median(p, "fit") for p in paths},
        "warm_stages": {p: {k: median(p, k) for k in STAGES} for p in paths},
        "irr": {p: {"median": first[p]["irr_median"], "ci": first[p]["irr_ci"]} for p in paths},
        "peak_rss_mb": {p: max(r["peak_rss_mb"] for r in [first[p], *warm[p]]) for p in paths},
        "all_fits_ok": all(r["ok"] for p in paths for r in [first[p], *warm[p]]),
    }
    for key in ("first_run_seconds", "first_run_fit_seconds", "warm_seconds", "warm_fit_seconds"):
        out[f"ratio_{key.removesuffix('_seconds')}"] = out[key]["pupil"] / out[key]["school"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pupils", type=int, default=278_858)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS),
                        default=list(SCENARIOS))
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        results = {name: scenario(name, args.pupils, args.repeats, Path(tmp))
                   for name in args.scenarios}
    results["repeats"] = args.repeats
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
