"""Time model criticism against the fit it checks, in one run: target (fit + check) / fit <= 1.3.

``check`` reads the fit's own posterior draws: one vectorised run of the model over them gives
the replicated data and the pointwise log-likelihood, then the predictive checks, PSIS-LOO and
LOO-PIT. Measured on the bundled data with the spec's sampler settings (4 chains x 1000 tuning +
1500 draws, 2 cores), two ways:

1. in one process (``--spec``, s47_primary by default): ``fit`` then ``result.ppc()`` and
   ``result.loo()``, each a fresh fit, after one untimed warm-up round (so the fit reuses the
   compiled model and neither side pays first-call imports); the median over ``--repeats``
   rounds of the fit's seconds, the check's seconds and ``(fit + check) / fit``;
2. as commands, each a fresh process on the warm compile cache: ``swisbayes fit SPEC --json``
   against ``swisbayes check SPEC --json`` (which fits, then checks), interleaved, medians over
   ``--repeats``: the ratio a user sees.

Timings are wall-clock and the machine may be busy (the load average is printed), so the ratio
of times measured side by side matters more than the seconds.

Usage: ``python benchmarks/bench_check.py [--repeats 5] [--spec s47_primary] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def in_process(spec_name: str, repeats: int) -> dict:
    """Fit and check seconds of ``repeats`` rounds in this process, after a warm-up round."""
    import swisbayes
    from swisbayes.inference.fitting import fit

    spec = swisbayes.load_spec(spec_name)
    data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=[spec.outcome],
                                      covariates=spec.covariates)
    fits, checks = [], []
    for round_ in range(repeats + 1):
        start = time.perf_counter()
        result = fit(spec, data)
        fitted = time.perf_counter()
        ppc, loo = result.ppc(), result.loo()
        checked = time.perf_counter()
        if round_:  # round 0 warms up
            fits.append(fitted - start)
            checks.append(checked - fitted)
    fit_s, check_s = statistics.median(fits), statistics.median(checks)
    return {"fit_s": fit_s, "check_s": check_s, "ratio": (fit_s + check_s) / fit_s,
            "ratio_runs": [(f + c) / f for f, c in zip(fits, checks, strict=True)],
            "fit_runs": fits, "check_runs": checks, "fit_ok": result.ok,
            "flagged": list(ppc.flagged), "elpd_loo": loo.elpd_loo}


def timed(args: list[str]) -> float:
    """Wall-clock seconds of a fresh ``swisbayes`` process (exit 0 or 3)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "swisbayes", *args], capture_output=True,
                          text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        sys.exit(f"swisbayes {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def as_commands(spec_name: str, repeats: int) -> dict:
    """Median seconds of ``swisbayes fit`` and ``swisbayes check`` processes, interleaved."""
    timed(["check", spec_name, "--json"])  # warm the compile cache for both
    fits, checks = [], []
    for _ in range(repeats):
        fits.append(timed(["fit", spec_name, "--json"]))
        checks.append(timed(["check", spec_name, "--json"]))
    fit_s, check_s = statistics.median(fits), statistics.median(checks)
    return {"fit_command_s": fit_s, "check_command_s": check_s, "ratio": check_s / fit_s,
            "fit_runs": fits, "check_runs": checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--spec", default="s47_primary")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    results = {"spec": args.spec, "repeats": args.repeats,
               "in_process": in_process(args.spec, args.repeats),
               "commands": as_commands(args.spec, args.repeats),
               "load_average": os.getloadavg()}
    one, cli = results["in_process"], results["commands"]
    print(f"in one process:  fit {one['fit_s']:6.2f} s   check {one['check_s']:6.2f} s   "
          f"(fit + check) / fit {one['ratio']:5.2f}   "
          f"(runs {', '.join(f'{r:.2f}' for r in one['ratio_runs'])})")
    print(f"as commands:     fit {cli['fit_command_s']:6.2f} s   check "
          f"{cli['check_command_s']:6.2f} s   check / fit {cli['ratio']:5.2f}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
