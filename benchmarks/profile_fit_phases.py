"""Where a fresh-process fit spends its time, on an empty compile cache and on a warm one.

Each run is a fresh Python process on the bundled data with the primary spec, timing in turn:

- ``imports``: ``swisbayes`` with PyMC, nutpie and the model code;
- ``build``: reading the data and building the PyMC model;
- ``rewrite``: nutpie's ``_make_functions``: PyTensor's rewriting of the log density, its
  gradient and the stored variables, and the generation of their numba code;
- ``logp_jit``: the first call of the log density and gradient, where numba compiles it (or
  loads it from its cache);
- ``expand_jit``: the same for the function that computes the stored variables;
- ``fit``: then ``swisbayes.fit`` itself in the same process (the compile cache's record or
  wrappers, and the sampling with the spec's settings: the sampling floor on a warm cache).

The first run has an empty PyTensor/numba cache, the second the cache the first one filled.
On the warm run, ``rewrite``, ``logp_jit`` and ``expand_jit`` are what a fit skips altogether
when the compile cache has the model's record. The ``fit`` line of the warm run is the floor of
a fresh-process fit, less imports.

Usage: ``python benchmarks/profile_fit_phases.py [--spec models/s47_primary.toml]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHASES = """
import json, time
t = [time.perf_counter()]
import numpy as np
import swisbayes as sb
from swisbayes.families.registry import build_model
from swisbayes.inference.compile_cache import import_nutpie
import_nutpie()
from nutpie.compile_pymc import _make_functions
t.append(time.perf_counter())
spec = sb.load_spec({spec!r})
data = sb.read_school_data(sb.load_example(), outcomes=[spec.outcome],
                           covariates=spec.covariates)
build = build_model(spec, data)
t.append(time.perf_counter())
n_dim, _, logp, expand, *_ = _make_functions(build.model, mode="NUMBA", compute_grad=True,
                                             join_expanded=True,
                                             pymc_initial_point_fn=lambda seed: {{}})
t.append(time.perf_counter())
logp(np.zeros(n_dim))
t.append(time.perf_counter())
expand(np.zeros(n_dim))
t.append(time.perf_counter())
result = sb.fit(spec, data)
t.append(time.perf_counter())
names = ["imports", "build", "rewrite", "logp_jit", "expand_jit", "fit"]
print(json.dumps({{**{{n: b - a for n, a, b in zip(names, t, t[1:])}}, "ok": result.ok}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "models" / "s47_primary.toml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}",
               "NUMBA_CACHE_DIR": str(Path(cache) / "numba")}
        for run in ("empty cache", "warm cache"):
            proc = subprocess.run([sys.executable, "-c", PHASES.format(spec=args.spec)],
                                  env=env, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            phases = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"{run:12s} " + "  ".join(f"{k} {v:.2f} s" if isinstance(v, float)
                                           else f"{k} {v}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
