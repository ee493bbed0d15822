"""Compiled nutpie wrappers are cached on disk, reused by a later process, and exact."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.families.registry import build_model
from swisbayes.inference.compile_cache import compile_model

from .conftest import PRIMARY_SPEC

pytestmark = pytest.mark.slow

_CHILD = """
import ctypes, hashlib, json, sys
import numpy as np
import swisbayes
from swisbayes.inference.compile_cache import compile_model
from swisbayes.data.io import read_school_data
from swisbayes.families.registry import build_model
spec = swisbayes.load_spec(sys.argv[1])
data = read_school_data(swisbayes.load_example(), outcomes=["s47"], covariates=["fsm_pct"])
out = {}
for family in ("negative_binomial", "poisson"):
    build = build_model(spec.model_copy(update={"family": family}), data)
    compiled, info = compile_model(build.model, initial_points=build.initial_values())
    out[family] = dict(info)
    # Fingerprint of the compiled density: bit-level, at 50 random points.
    digest, rng, dbl = hashlib.sha256(), np.random.default_rng(0), ctypes.POINTER(ctypes.c_double)
    for _ in range(50):
        x = rng.normal(0, 0.7, compiled.n_dim)
        grad, logp = np.zeros_like(x), np.zeros(())
        compiled.compiled_logp_func.ctypes(x.size, x.ctypes.data_as(dbl), grad.ctypes.data_as(dbl),
                                           logp.ctypes.data_as(dbl),
                                           ctypes.c_void_p(compiled.user_data.ctypes.data))
        digest.update(logp.tobytes() + grad.tobytes())
    out[family]["fingerprint"] = digest.hexdigest()
print(json.dumps(out))
"""


def _logp(compiled, x):
    """Call the compiled C log-density wrapper the way nutpie does."""
    fn = compiled.compiled_logp_func.ctypes
    grad, logp = np.zeros_like(x), np.zeros(())
    dbl = ctypes.POINTER(ctypes.c_double)
    status = fn(x.size, x.ctypes.data_as(dbl), grad.ctypes.data_as(dbl),
                logp.ctypes.data_as(dbl), ctypes.c_void_p(compiled.user_data.ctypes.data))
    assert status == 0
    return float(logp), grad


def test_a_second_process_loads_the_wrappers_from_disk(tmp_path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    cmd = [sys.executable, "-c", _CHILD, str(PRIMARY_SPEC)]
    first, second = (json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True,
                                               check=True).stdout) for _ in range(2))
    for family in ("negative_binomial", "poisson"):
        assert first[family]["path"] == "cached-wrappers"
        assert first[family]["wrapper_cache_hits"] == 0
        assert second[family]["path"] == "cached-wrappers"
        assert second[family]["wrapper_cache_hits"] == 2
        # Regression: with numba fast-math, freshly compiled code differed in the last bits from
        # the cached code, so the same seed gave other draws in the first process.
        assert first[family]["fingerprint"] == second[family]["fingerprint"]
    assert first["poisson"]["fingerprint"] != first["negative_binomial"]["fingerprint"]


def test_wrappers_match_pytensor_logp_and_gradient_after_a_data_swap(primary_spec):
    data = read_school_data(swisbayes.load_example(), outcomes=["s47"], covariates=["fsm_pct"])
    build = build_model(primary_spec, data)
    compiled, info = compile_model(build.model, initial_points=build.initial_values())
    assert info["path"] == "cached-wrappers"
    swapped = build_model(primary_spec.with_effect_prior(-0.3, 0.2), data)
    compiled = compiled.with_data(**swapped.data_values)
    rng = np.random.default_rng(0)
    logp_dlogp = compiled.logp_func  # the PyTensor function the wrapper calls
    for _ in range(3):
        x = rng.normal(0, 0.5, compiled.n_dim)
        shared = [compiled.shared_data[compiled.shared_var_keys[v]]
                  for v in logp_dlogp.get_shared()]
        want_logp, want_grad = logp_dlogp.vm.jit_fn(x, *shared)
        logp, grad = _logp(compiled, x)
        assert logp == pytest.approx(float(want_logp), rel=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12)
    # The swap really reached the wrapper: the prior on log_irr went from the spec's vague
    # N(0, 10) to N(-0.3, 0.2); at log_irr = 0 the density changes by exactly this much.
    x = np.zeros(compiled.n_dim)
    base, _ = _logp(compiled.with_data(**build.data_values), x)
    moved, _ = _logp(compiled, x)
    expected = stats.norm.logpdf(0, -0.3, 0.2) - stats.norm.logpdf(0, 0, 10)
    assert moved - base == pytest.approx(expected, rel=1e-10)


def test_posterior_agrees_with_nutpies_own_compile(primary_spec):
    # Same density to 1e-12 (above) need not mean bit-identical draws (LLVM may order floating
    # point operations differently when it inlines), so compare posteriors within MC error.
    import arviz as az
    import nutpie

    data = read_school_data(swisbayes.load_example(), outcomes=["s47"], covariates=["fsm_pct"])
    build = build_model(primary_spec, data)
    ours, _ = compile_model(build.model, initial_points=build.initial_values())
    theirs = nutpie.compile_pymc_model(build.model, initial_points=build.initial_values())
    kw = dict(draws=1000, tune=1000, chains=4, cores=2, seed=5, progress_bar=False,
              save_warmup=False)
    a, b = (nutpie.sample(c, **kw)["posterior"]["log_irr"] for c in (ours, theirs))
    mcse = np.hypot(float(az.mcse(a)), float(az.mcse(b)))
    assert abs(float(a.mean()) - float(b.mean())) < 4 * mcse
    assert float(a.std()) == pytest.approx(float(b.std()), rel=0.1)
