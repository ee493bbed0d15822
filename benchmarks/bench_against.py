"""Time this checkout's commands against another checkout's, interleaved in one run.

"Nothing gets slower" is a ratio between two versions measured side by side, not a figure
remembered from another day. Each command runs from a fresh process in both checkouts (the
other one is put first on ``PYTHONPATH``, so this environment's libraries serve both), each
with its own compile and prior caches, warmed by one untimed run; then ``--repeats`` timed runs
alternate between the two. Commands, on the bundled data:

- ``fit``: ``swisbayes fit models/s47_primary.toml --json`` (fresh process, warm cache);
- ``refit``: a second fit with only the prior changed, inside one process (that fit alone);
- ``grid``: ``swisbayes sensitivity`` over the 48-cell ``models/prior_grid.toml`` (from scratch);
- ``reanalyse``: ``swisbayes reanalyse --prior all``;
- ``report``: ``swisbayes report`` (six outcomes, four priors, the page);
- ``pupils``: ``swisbayes fit`` of the S47 model from a CSV of ~279,000 simulated pupil rows
  (pupil covariates ``fsm`` and ``sen``);
- ``joint``: ``fit_joint()``, the joint model of the four count outcomes (fresh process, warm
  cache).

Each checkout runs its own ``models/`` specs. Printed: the median seconds of each and the ratio
this/other (above 1: this checkout is slower).

Usage: ``python benchmarks/bench_against.py OTHER_CHECKOUT [--repeats 3] [--only fit grid]
[--json FILE]``, e.g. after ``git worktree add /tmp/base main~3``.
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

REFIT = """
import json, time
import swisbayes
spec = swisbayes.load_spec("models/s47_primary.toml")
data = swisbayes.read_school_data(swisbayes.load_example(), outcomes=["s47"],
                                  covariates=spec.covariates)
swisbayes.fit(spec, data)
start = time.perf_counter()
swisbayes.fit(spec.with_effect_prior(0.0, 0.064, name="sceptical"), data)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

JOINT = "import swisbayes as sb; sb.fit_joint(data=sb.load_example())"

PUPILS = """
import sys
from swisbayes.data.simulate import simulate_pupils
simulate_pupils(2024, irr={"s47": 0.9}).to_file(sys.argv[1])
"""


def commands(tmp: Path) -> dict[str, list[str]]:
    """Each benchmarked command, run with the checkout as working directory."""
    cli = [sys.executable, "-m", "swisbayes"]
    return {
        "fit": [*cli, "fit", "models/s47_primary.toml", "--json"],
        "refit": [sys.executable, "-c", REFIT],
        "grid": [*cli, "sensitivity", "--grid", "models/prior_grid.toml", "--no-resume",
                 "--quiet", "--out", str(tmp / "grid-{tree}")],
        "reanalyse": [*cli, "reanalyse", "--prior", "all"],
        "report": [*cli, "report", "--out", str(tmp / "report-{tree}.html")],
        "pupils": [*cli, "fit", "models/s47_primary.toml", "--data", str(tmp / "pupils.csv"),
                   "--covariates", "fsm,sen", "--json"],
        "joint": [sys.executable, "-c", JOINT],
    }


def run(command: list[str], tree: str, cwd: Path, env: dict[str, str]) -> float:
    """Seconds of one fresh-process run (or the seconds it prints, for ``refit``)."""
    args = [a.replace("{tree}", tree) for a in command]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{tree}: {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    if REFIT in command:  # it times its second fit itself
        return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    return seconds


def environment(tree: Path, tmp: Path, name: str) -> dict[str, str]:
    """This tree first on the path, with its own compile and prior caches."""
    cache = tmp / f"cache-{name}"
    return {**os.environ, "PYTHONPATH": str(tree),
            "PYTENSOR_FLAGS": f"base_compiledir={cache / 'pytensor'}",
            "NUMBA_CACHE_DIR": str(cache / "numba"), "SWISBAYES_CACHE_DIR": str(cache / "priors")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (its top folder)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=None, help="commands to time (all)")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    trees = {"this": ROOT, "other": args.other.resolve()}
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        chosen = {k: v for k, v in commands(tmp).items() if not args.only or k in args.only}
        if "pupils" in chosen:
            subprocess.run([sys.executable, "-c", PUPILS, str(tmp / "pupils.csv")], check=True,
                           env=environment(ROOT, tmp, "this"))
        envs = {name: environment(tree, tmp, name) for name, tree in trees.items()}
        for key, command in chosen.items():
            for name, tree in trees.items():  # warm-up: compile caches, pilot prior
                run(command, name, tree, envs[name])
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    times[name].append(run(command, name, tree, envs[name]))
            this, other = (statistics.median(times[n]) for n in ("this", "other"))
            results[key] = {"this_s": this, "other_s": other, "ratio": this / other,
                            "runs": times}
            print(f"{key:10s} this {this:7.2f} s   other {other:7.2f} s   "
                  f"this/other {this / other:5.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
