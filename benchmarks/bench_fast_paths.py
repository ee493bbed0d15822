"""Time the package's fast (non-MCMC) paths, each against a baseline measured in the same run.

These timings used to be assertions in the test suite (``seconds < 10``, ``elapsed < 0.5``),
which fail on a slow or busy machine and say nothing on a fast one. Here each is reported with
a ratio to a baseline from the same process and the same moment, so runs on different machines
can be compared:

- ``pupil_simulation``: ``simulate_pupils`` of ``--pupils`` pupils (300,000 by default), against
  reading the same rows back from a CSV file with pandas (the I/O any pupil file costs);
- ``pupil_validation_reduction``: ``read_school_data`` of those rows (validate every pupil row,
  reduce to school x covariate cells, four count outcomes), against the same CSV read;
- ``probability_curve``: P(meaningful reduction) under 200 priors of the normal-centre family
  (the tipping-point plot), against one exact posterior (``prob_meaningful``): the ratio is the
  cost of the curve in single-prior evaluations (200 when it has no overhead);
- ``evsi_eight_sizes``: EVSI of eight trial sizes in one call, against the EVSI of one size: the
  ratio says how much the extra sizes cost (8 if nothing is shared between them).

Each measurement is the median of ``--repeats`` runs (after one untimed warm-up call), with
measurement and baseline interleaved so that load on the machine hits both alike.

Usage: ``python benchmarks/bench_fast_paths.py [--repeats 5] [--pupils 300000] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def timed(func: Callable[[], object]) -> float:
    """Wall time of one call."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def compare(measure: Callable[[], object], baseline: Callable[[], object], repeats: int,
            baseline_calls: int = 1) -> dict:
    """Median wall times of a measurement and its baseline, interleaved, and their ratio.

    ``baseline_calls`` repeats a very short baseline inside one timing (its time is then divided
    by that number), so that timer resolution does not dominate it.
    """
    measure()
    baseline()

    def run_baseline() -> float:
        return timed(lambda: [baseline() for _ in range(baseline_calls)]) / baseline_calls

    runs, bases = [], []
    for _ in range(repeats):
        runs.append(timed(measure))
        bases.append(run_baseline())
    seconds, base = statistics.median(runs), statistics.median(bases)
    return {"seconds": seconds, "baseline_seconds": base, "ratio": seconds / base,
            "runs": runs, "baseline_runs": bases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pupils", type=int, default=300_000)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    import pandas as pd

    from swisbayes.data.io import read_school_data
    from swisbayes.data.published import published_estimate
    from swisbayes.data.simulate import TrialDesign, simulate_pupils
    from swisbayes.decision.prior_families import NormalCentreFamily
    from swisbayes.decision.rule import prob_meaningful
    from swisbayes.decision.tipping import probability_curve
    from swisbayes.economics.voi import LinearNetBenefit, evsi
    from swisbayes.priors.conjugate import normal_likelihood_from_ci
    from swisbayes.priors.library import MixturePrior

    design = TrialDesign(total_pupils=args.pupils)
    counts = ["s47", "referrals", "s17", "care_entry"]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        frame = simulate_pupils(7, design=design).frame
        csv = Path(tmp) / "pupils.csv"
        frame.to_csv(csv, index=False)

        def read_csv() -> pd.DataFrame:
            return pd.read_csv(csv, dtype={"school_id": str, "la_id": str, "pupil_id": str})

        print(f"{len(frame):,} pupil rows", file=sys.stderr)
        results["pupil_simulation"] = compare(lambda: simulate_pupils(8, design=design),
                                              read_csv, args.repeats)
        results["pupil_validation_reduction"] = compare(
            lambda: read_school_data(frame, outcomes=counts,
                                     covariates=["fsm", "sen", "fsm_pct"]),
            read_csv, args.repeats)

    entry = published_estimate("s47")
    s47 = normal_likelihood_from_ci(entry.estimate, *entry.ci, level=entry.ci_level)
    family = NormalCentreFamily()
    values = np.geomspace(0.3, 3.0, 200)
    results["probability_curve"] = compare(
        lambda: probability_curve(s47, family, values, mcid=0.10),
        lambda: prob_meaningful(family.prior_at(1.0), s47, mcid=0.10), args.repeats,
        baseline_calls=50)

    nb = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20_000.0)
    posterior = MixturePrior("not now", "", "", (0.7, 0.3), (-1.0, -0.5), (0.25, 0.4))
    results["evsi_eight_sizes"] = compare(
        lambda: evsi(posterior, nb, [10, 25, 50, 75, 100, 150, 200, 400]),
        lambda: evsi(posterior, nb, 10), args.repeats, baseline_calls=10)

    summary = {"pupils": args.pupils, "repeats": args.repeats,
               "load_average": os.getloadavg(), **results}
    for name, r in results.items():
        print(f"{name:28s} {r['seconds']:9.4f} s   baseline {r['baseline_seconds']:9.4f} s   "
              f"ratio {r['ratio']:8.2f}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
