"""Time ``swisbayes reanalyse --prior all`` from a fresh process, warm and cold prior cache.

The pilot-informed prior is a meta-analysis (MCMC). The prior resolver keeps its result on disk
(``SWISBAYES_CACHE_DIR``), so every run after the first only reads a small JSON file. Three
commands are timed, interleaved so that load on the machine hits each alike:

- ``warm``: ``swisbayes reanalyse --prior all`` with the cache filled (the target is < 1 s);
- ``python``: ``python -c "import numpy, pydantic"``, the floor any command of the package pays;
- ``cold`` (once, first): the same command on an empty cache directory, the meta-analysis
  included.

It prints the median of ``--repeats`` runs of each and the ratios warm/python and cold/warm.

Usage: ``python benchmarks/bench_reanalyse.py [--repeats 5] [--json FILE]``
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


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one fresh process running ``command``."""
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    reanalyse = [sys.executable, "-m", "swisbayes", "reanalyse", "--prior", "all"]
    floor = [sys.executable, "-c", "import numpy, pydantic"]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SWISBAYES_CACHE_DIR": cache}
        cold = timed(reanalyse, env)
        warm, python = [], []
        for _ in range(args.repeats):
            warm.append(timed(reanalyse, env))
            python.append(timed(floor, env))
    result = {"cold_s": cold, "warm_s": statistics.median(warm),
              "python_s": statistics.median(python)}
    result["warm_over_python"] = result["warm_s"] / result["python_s"]
    result["cold_over_warm"] = cold / result["warm_s"]
    for key, value in result.items():
        print(f"{key:18} {value:8.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
