"""Time ``swisbayes report`` on the bundled data, cold and warm, against ``swisbayes fit --all``.

Each measurement is a fresh process running the command line (what a user types), on 2 cores:

- report, cold: empty PyTensor compile directory and empty swisbayes cache (the pilots'
  meta-analysis not cached): the first run on a new machine (the target is under 2 minutes);
- report, warm: the same directories, now filled;
- baseline, warm: ``swisbayes fit --all`` (the same six analyses, each under the vague prior
  only, no decision layer or report), with the same warm directories.

The ratio of the warm report to the warm baseline says what the other three priors, the
economics, the figures and the page cost on top of the six fits they need anyway.

Usage: ``python benchmarks/bench_report.py [--repeats 2] [--json FILE]``
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
CLI = str(Path(sys.executable).with_name("swisbayes"))


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of one command in a fresh process; fails loudly if the command fails."""
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="warm runs of each command")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp / 'pytensor'}",
               "SWISBAYES_CACHE_DIR": str(tmp / "cache")}
        report = [CLI, "report", "--spec-dir", str(ROOT / "models"), "--quiet",
                  "--out", str(tmp / "report.html")]
        baseline = [CLI, "fit", "--all", "--spec-dir", str(ROOT / "models")]
        cold = timed(report, env, tmp)
        warm, base = [], []
        for _ in range(args.repeats):  # interleaved, so load on the machine hits both alike
            warm.append(timed(report, env, tmp))
            base.append(timed(baseline, env, tmp))
    result = {"report_cold_s": cold, "report_warm_s": statistics.median(warm),
              "fit_all_warm_s": statistics.median(base),
              "ratio_warm_report_to_fit_all": statistics.median(warm) / statistics.median(base),
              "cold_under_2_minutes": cold < 120, "runs": {"report": warm, "fit_all": base}}
    print(f"report, cold (empty caches):    {cold:6.1f} s   (target < 120 s)")
    print(f"report, warm (median of {args.repeats}):    {result['report_warm_s']:6.1f} s")
    print(f"fit --all, warm (median of {args.repeats}): {result['fit_all_warm_s']:6.1f} s")
    print(f"warm report / warm fit --all:   {result['ratio_warm_report_to_fit_all']:6.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
