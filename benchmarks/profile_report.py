"""Where a warm ``swisbayes report`` spends its time, and the floor its sampling sets.

Three measurements on the bundled data, each in a fresh process with warm caches (a first
report fills them):

- ``report``: the command line as a user runs it (one worker per core);
- ``phases``: the same report in one process (``workers=1``), timed step by step: imports,
  the six outcomes' analyses (sampling, checks, reweighting), the page's content, the What if?
  panel's data and writing the file;
- ``sampling``: each outcome's chains as the report samples them (the spec's draws, tuning and
  seed), one chain at a time on one core (after a short chain that loads the compiled code),
  with the number of gradient evaluations. A chain's time times the number of chains is the
  CPU time that outcome's sampling needs; the sum over outcomes divided by the cores is the
  least wall time any schedule of the report can take, before it imports, checks or writes
  anything.

Usage: ``python benchmarks/profile_report.py [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_report import CLI, timed  # this directory is on the path of a script run from it

ROOT = Path(__file__).resolve().parents[1]

PHASES = """
import json, time
start = time.perf_counter()
import swisbayes as sb
import swisbayes.report.run as run
timings = {{"imports": time.perf_counter() - start}}

def timed(name):
    inner = getattr(run, name)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - began
    setattr(run, name, wrapper)

for name in ("run_analyses", "build_report", "whatif_payload", "write_report"):
    timed(name)
run.make_report(data=sb.load_example(), spec_dir={spec_dir!r}, out={out!r}, workers=1)
timings["total"] = time.perf_counter() - start
print(json.dumps(timings))
"""

SAMPLING = """
import json, time
import swisbayes as sb
from swisbayes.data.io import read_school_data
from swisbayes.families.registry import build_model
from swisbayes.inference.compile_cache import compile_model, import_nutpie
from swisbayes.workflows.multiprior import report_specs

nutpie = import_nutpie()
data = read_school_data(sb.load_example())
rows = []
for spec in report_specs({spec_dir!r}):
    build = build_model(spec, data)
    compiled, _ = compile_model(build.model, initial_points=build.initial_values())
    compiled = compiled.with_data(**build.data_values)
    s = spec.sampler
    # the first chain of a compiled model also loads its code: not sampling
    nutpie.sample(compiled, draws=20, tune=20, chains=1, cores=1, progress_bar=False)
    began = time.perf_counter()
    tree = nutpie.sample(compiled, draws=s.draws, tune=s.tune, chains=1, cores=1, seed=s.seed,
                         save_warmup=True, progress_bar=False)
    chain_s = time.perf_counter() - began
    steps = sum(int(tree[g]["n_steps"].sum()) for g in ("warmup_sample_stats", "sample_stats"))
    rows.append({{"analysis": spec.name, "chains": s.chains, "chain_s": chain_s,
                  "gradients": steps, "us_per_gradient": 1e6 * chain_s / steps,
                  "cpu_s": chain_s * s.chains}})
print(json.dumps(rows))
"""


def _python(code: str, env: dict[str, str], cwd: Path) -> object:
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report_seconds(env: dict[str, str], cwd: Path, out: Path) -> float:
    return timed([CLI, "report", "--spec-dir", str(ROOT / "models"), "--quiet", "--out",
                  str(out)], env, cwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp / 'pytensor'}",
               "SWISBAYES_CACHE_DIR": str(tmp / "cache")}
        _report_seconds(env, tmp, tmp / "first.html")  # fills the caches
        report = _report_seconds(env, tmp, tmp / "report.html")
        phases = _python(PHASES.format(spec_dir=str(ROOT / "models"),
                                       out=str(tmp / "phases.html")), env, tmp)
        sampling = _python(SAMPLING.format(spec_dir=str(ROOT / "models")), env, tmp)
    cpu = sum(row["cpu_s"] for row in sampling)
    result = {"cores": cores, "report_s": report, "phases_one_worker_s": phases,
              "sampling": sampling, "sampling_cpu_s": cpu, "sampling_floor_s": cpu / cores}
    print(f"swisbayes report, warm, {cores} cores: {report:6.1f} s")
    print("one worker, by phase:      " + "  ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    print(f"{'analysis':14} {'gradients/chain':>15} {'us/gradient':>11} {'CPU s':>6}")
    for row in sampling:
        print(f"{row['analysis']:14} {row['gradients']:15d} {row['us_per_gradient']:11.1f} "
              f"{row['cpu_s']:6.2f}")
    print(f"sampling: {cpu:.1f} CPU s, so at least {cpu / cores:.1f} s of wall time on "
          f"{cores} cores ({cpu / cores / report:.0%} of the report)")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
