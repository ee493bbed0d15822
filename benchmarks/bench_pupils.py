"""Time a fit of 300,000 pupil rows against a fit of the same trial's school table, in one run.

A SWIS-sized pupil-level trial (278,858 pupils by default; ``--pupils``) is simulated and written
to CSV, with its school totals beside it. Each measurement is a fresh Python process going from
the file to the fitted S47 model with the spec's sampler settings (4 chains x 1000 tuning + 1000
draws, 2 cores), on a warm compile cache (one untimed run of each path first):

- pupil path: read the CSV, validate every pupil row, reduce to school x covariate cells, fit
  the cell model (pupil covariates ``fsm``, ``sen`` and the pupil's own baseline);
- school path: read the school CSV, validate, fit the school model (``fsm_pct``).

Reported: the median wall time of each over ``--repeats`` runs, their ratio (target <= 1.5), the
pupil path's stages, and its peak resident memory (target < 2 GB).

Usage: ``python benchmarks/bench_pupils.py [--repeats 3] [--pupils 300000] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, resource, time
start = time.perf_counter()
import swisbayes
from swisbayes.data.io import read_school_data, read_table
imported = time.perf_counter()
spec = swisbayes.load_spec({spec!r})
if {pupil}:
    spec = spec.model_copy(update={{"adjustment": spec.adjustment.model_copy(
        update={{"covariates": ("fsm", "sen")}})}})
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
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(path: Path, *, pupil: bool) -> dict:
    """One fresh process from file to fitted model; returns its JSON report."""
    code = RUN.format(spec=str(ROOT / "models" / "s47_primary.toml"), path=str(path),
                      pupil=pupil)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pupils", type=int, default=300_000)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    from swisbayes.data.io import read_school_data
    from swisbayes.data.simulate import TrialDesign, simulate_pupils

    with tempfile.TemporaryDirectory() as tmp:
        trial = simulate_pupils(2024, irr={"s47": 0.9},
                                design=TrialDesign(total_pupils=args.pupils))
        pupil_file = trial.to_file(Path(tmp) / "pupils.csv")
        schools = read_school_data(trial.frame, outcomes=["s47"], covariates=["fsm_pct"]).frame
        school_file = Path(tmp) / "schools.csv"
        schools.to_csv(school_file, index=False)
        print(f"{len(trial.frame):,} pupil rows, {len(schools)} schools; warming the caches",
              file=sys.stderr)
        run(pupil_file, pupil=True)
        run(school_file, pupil=False)
        pupil_runs, school_runs = [], []
        for i in range(args.repeats):  # interleaved, so machine noise hits both alike
            pupil_runs.append(run(pupil_file, pupil=True))
            school_runs.append(run(school_file, pupil=False))
            print(f"repeat {i + 1}: pupil {pupil_runs[-1]['seconds']:.2f} s, "
                  f"school {school_runs[-1]['seconds']:.2f} s", file=sys.stderr)

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    results = {
        "pupil_rows": pupil_runs[0]["rows"],
        "cells": pupil_runs[0]["units"],
        "schools": school_runs[0]["units"],
        "pupil_seconds": median(pupil_runs, "seconds"),
        "school_seconds": median(school_runs, "seconds"),
        "pupil_stages": {k: median(pupil_runs, k) for k in
                         ("import", "read", "validate_reduce", "fit", "sampling")},
        "school_stages": {k: median(school_runs, k) for k in
                          ("import", "read", "validate_reduce", "fit", "sampling")},
        "peak_rss_mb_pupil": max(r["peak_rss_mb"] for r in pupil_runs),
        "peak_rss_mb_school": max(r["peak_rss_mb"] for r in school_runs),
        "all_fits_ok": all(r["ok"] for r in pupil_runs + school_runs),
        "repeats": args.repeats,
    }
    results["ratio_pupil_to_school"] = results["pupil_seconds"] / results["school_seconds"]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
