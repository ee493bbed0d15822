"""Where a fresh-process fit spends its time, on an empty compile cache and on a warm one.

Each run is a fresh Python process fitting the primary spec to the bundled data, timing:

- ``imports``: ``swisbayes`` with PyMC, nutpie (through the package's import) and the model code;
- ``compile``: the compile cache's part of ``swisbayes.fit`` (its provenance's ``compile``
  seconds): on an empty cache PyTensor's rewriting, the generation of numba code and numba's
  compilation of the log density, its gradient and the stored variables into the sampler's C
  callbacks; on a warm one, loading the compiled model from its record;
- ``sampling``: nutpie's four chains with the spec's settings (the rest of the sampler's time);
- ``rest``: reading the data, building the model, the diagnostics gate and the decision.

The first run has an empty PyTensor/numba cache, the second the cache the first one filled.
The cold ``compile`` less the warm one is what numba and PyTensor cost a new machine; the warm
``imports`` plus ``sampling`` is the floor of a fresh-process fit. ``--joint`` profiles the
joint model of the four count outcomes (``models/joint.toml``, ``fit_joint``) instead.

Usage: ``python benchmarks/profile_fit_phases.py [--spec models/s47_primary.toml | --joint]``
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
start = time.perf_counter()
import swisbayes as sb
from swisbayes.inference.compile_cache import import_nutpie
from swisbayes.families import registry  # noqa: F401
import_nutpie()
imported = time.perf_counter()
result = {fit}
total = time.perf_counter() - imported
compile_s = result.provenance["compile"]["seconds"]
sampler_s = sum(a.seconds for a in result.attempts)
print(json.dumps({{"imports": imported - start, "compile": compile_s,
                  "sampling": sampler_s - compile_s, "rest": total - sampler_s,
                  "total": time.perf_counter() - start, "ok": result.ok}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "models" / "s47_primary.toml"))
    parser.add_argument("--joint", action="store_true", help="fit_joint() instead of a spec")
    args = parser.parse_args()
    fit = ("sb.fit_joint(data=sb.load_example())" if args.joint
           else f"sb.fit({args.spec!r}, sb.load_example())")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}",
               "NUMBA_CACHE_DIR": str(Path(cache) / "numba")}
        for run in ("empty cache", "warm cache"):
            proc = subprocess.run([sys.executable, "-c", PHASES.format(fit=fit)],
                                  env=env, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            phases = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"{run:12s} " + "  ".join(f"{k} {v:.2f} s" if isinstance(v, float)
                                           else f"{k} {v}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
