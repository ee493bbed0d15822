"""Time the primary fit from fresh processes, against Bambi, in one run.

Measured, each from a fresh Python process to printed JSON, on the bundled data with the spec's
sampler settings, the package defaults (4 chains x 1000 tuning + 1500 draws), for both:

1. ``swisbayes fit --json`` on an empty pytensor/numba compile cache;
2. the same again on the now-warm cache (the median of ``--repeats`` runs, interleaved with
   Bambi's);
3. a second fit with only the prior changed, inside one process (the second fit alone);
4. the same model in Bambi (``bambi`` is a benchmark-only dependency, the ``bench`` extra),
   with the same draws, chains, cores and seed, on its own cache directory: once empty, then
   ``--repeats`` times warm. Both posterior medians of the IRR are printed (with swisbayes'
   Monte Carlo SE): the same model should give the same answer.

Timings are wall-clock and machines are noisy, so the ratios matter more than the seconds.

Usage: ``python benchmarks/bench_fit.py [--repeats 3] [--json FILE]``
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
SPEC = ROOT / "models" / "s47_primary.toml"

REFIT = """
import json, time
import swisbayes
spec = swisbayes.load_spec({spec!r})
data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=["s47"],
                                  covariates=spec.covariates)
swisbayes.fit(spec, data)
start = time.perf_counter()
result = swisbayes.fit(spec.with_effect_prior(0.0, 0.064, name="sceptical"), data)
print(json.dumps({{"seconds": time.perf_counter() - start, "ok": result.ok,
                  "irr_median": result.decision.effect.median}}))
"""

BAMBI = """
import json
import numpy as np
import bambi as bmb
import swisbayes
sampler = swisbayes.load_spec({spec!r}).sampler
df = swisbayes.load_example()
df["baseline_log_rate"] = np.log((df["s47_baseline"] + 0.5) / df["pupils"])
df["log_pupils"] = np.log(df["pupils"])
for c in ("baseline_log_rate", "log_pupils", "fsm_pct"):
    df[c] = (df[c] - df[c].mean()) / df[c].std(ddof=0)
model = bmb.Model("s47 ~ arm + baseline_log_rate + log_pupils + fsm_pct + (1 + arm | la_id)"
                  " + offset(np.log(pupils))", df, family="negativebinomial")
idata = model.fit(draws=sampler.draws, tune=sampler.tune, chains=sampler.chains,
                  cores=sampler.cores, random_seed=sampler.seed, progressbar=False)
beta = idata.posterior["arm"].to_numpy().ravel()
print(json.dumps({{"irr_median": float(np.exp(np.median(beta)))}}))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """Wall-clock seconds of a fresh process, and the JSON on its last stdout line."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1] if "{" not in proc.stdout
                               else proc.stdout[proc.stdout.index("{"):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    parser.add_argument("--no-bambi", action="store_true")
    args = parser.parse_args()

    def fresh_cache() -> dict[str, str]:
        cache = Path(tempfile.mkdtemp(prefix="swisbayes-bench-cache-"))
        return {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}",
                "NUMBA_CACHE_DIR": str(cache / "numba")}

    env = fresh_cache()
    fit_cmd = [sys.executable, "-m", "swisbayes", "fit", str(SPEC), "--json"]
    bambi = None if args.no_bambi else [sys.executable, "-c", BAMBI.format(spec=str(SPEC))]
    bambi_env = fresh_cache()  # its own, so that its cold run is cold too
    results: dict[str, object] = {}

    cold, payload = timed(fit_cmd, env)
    results["cold_cache_s"] = cold
    results["cold_ok"] = payload["diagnostics"]["ok"]
    results["irr_median"] = payload["irr_median"]
    results["irr_median_mcse"] = payload["irr_median_mcse"]
    if bambi:
        bambi_cold, bambi_payload = timed(bambi, bambi_env)
        results["bambi_irr_median"] = bambi_payload["irr_median"]
    # interleaved, so that load on the machine hits both alike
    warm, bambi_warm = [], []
    for _ in range(args.repeats):
        warm.append(timed(fit_cmd, env)[0])
        if bambi:
            bambi_warm.append(timed(bambi, bambi_env)[0])
    results["warm_cache_s"] = statistics.median(warm)
    results["warm_runs_s"] = warm
    refits = [timed([sys.executable, "-c", REFIT.format(spec=str(SPEC))], env)[1]
              for _ in range(args.repeats)]
    results["prior_refit_in_process_s"] = statistics.median(r["seconds"] for r in refits)
    results["refit_runs_s"] = [r["seconds"] for r in refits]
    if bambi:
        results["bambi_cold_cache_s"] = bambi_cold
        results["bambi_warm_cache_s"] = statistics.median(bambi_warm)
        results["bambi_runs_s"] = bambi_warm
        results["speedup_vs_bambi_warm"] = results["bambi_warm_cache_s"] / results["warm_cache_s"]
        results["speedup_vs_bambi_cold"] = bambi_cold / cold
    results["cold_over_warm"] = cold / results["warm_cache_s"]

    for key, value in results.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key:28} {shown}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
