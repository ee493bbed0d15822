"""Compiled models are cached on disk, reused by a later process, exact, and never stale."""

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
from swisbayes.inference import compile_cache
from swisbayes.inference.compile_cache import compile_model, graph_key

from .conftest import PRIMARY_SPEC

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
    out[family] = {**info, "hash_seed": sys.flags.hash_randomization}
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


@pytest.mark.slow
def test_one_process_compiles_and_another_loads_the_compiled_model_from_disk(tmp_path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    cmd = [sys.executable, "-c", _CHILD, str(PRIMARY_SPEC)]
    # Two processes at once, on an empty cache: one compiles each model while the other waits
    # for its record. Other hash seeds: the key must not depend on the order of sets or dicts.
    procs = [subprocess.Popen(cmd, env={**env, "PYTHONHASHSEED": seed}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in ("1", "2")]
    outputs = [proc.communicate() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    runs = [json.loads(out) for out, _ in outputs]
    for family in ("negative_binomial", "poisson"):
        first, second = sorted((run[family] for run in runs),
                               key=lambda info: info["record"] == "loaded")
        assert first["path"] == second["path"] == "cached-wrappers"
        assert first["wrapper_cache_hits"] == 0
        assert first["record"] == "written (none on disk)"
        # The other process skips PyTensor altogether: record and wrappers come from disk.
        assert second["record"] == "loaded"
        assert second["wrapper_cache_hits"] == 2
        assert second["key"] == first["key"]
        # Regression: with numba fast-math, freshly compiled code differed in the last bits from
        # the cached code, so the same seed gave other draws in the first process.
        assert first["fingerprint"] == second["fingerprint"]
    assert runs[0]["poisson"]["fingerprint"] != runs[0]["negative_binomial"]["fingerprint"]
    assert runs[0]["poisson"]["key"] != runs[0]["negative_binomial"]["key"]


def _primary_build(spec, **update):
    data = read_school_data(swisbayes.load_example(), outcomes=["s47"],
                            covariates=list(spec.covariates))
    return build_model(spec.model_copy(update=update) if update else spec, data)


def test_the_key_follows_the_graph_not_the_data_values(primary_spec):
    key = graph_key(_primary_build(primary_spec).model).digest
    assert graph_key(_primary_build(primary_spec).model).digest == key  # rebuilt: same
    # Another prior or other data of the same shapes is the same compiled model ...
    assert graph_key(_primary_build(primary_spec.with_effect_prior(-0.3, 0.2)).model
                     ).digest == key
    # ... and anything that changes the compiled code is another one.
    changed = [_primary_build(primary_spec, family="poisson"),
               _primary_build(primary_spec.with_covariates(())),
               _primary_build(primary_spec, hierarchy=primary_spec.hierarchy.model_copy(
                   update={"la_varying_effect": False}))]
    data = read_school_data(swisbayes.load_example().iloc[:-3], outcomes=["s47"],
                            covariates=["fsm_pct"])
    changed.append(build_model(primary_spec, data))  # fewer schools: other shapes
    keys = [graph_key(b.model).digest for b in changed]
    assert key not in keys
    assert len(set(keys)) == len(keys)


def test_the_key_covers_bounds_checks_flags_and_versions(primary_spec, monkeypatch):
    import pymc
    import pytensor

    model = _primary_build(primary_spec).model
    key = graph_key(model).digest
    model.check_bounds = not model.check_bounds
    assert graph_key(model).digest != key
    model.check_bounds = not model.check_bounds
    with pytensor.config.change_flags(numba__fastmath=not pytensor.config.numba__fastmath):
        assert graph_key(model).digest != key
    monkeypatch.setattr(pymc, "__version__", "0.0.0")
    assert graph_key(model).digest != key


def test_a_changed_density_changes_the_key(primary_spec, monkeypatch):
    # The key hashes the log-density graph PyMC derives, so editing a likelihood's code (here:
    # one more term) changes it, although the model's variables and data are the same.
    from swisbayes.families import likelihoods

    key = graph_key(_primary_build(primary_spec).model).digest
    original = likelihoods.nb_log_mean_logp
    monkeypatch.setattr(likelihoods, "nb_log_mean_logp", lambda *args: original(*args) - 1e-3)
    assert graph_key(_primary_build(primary_spec).model).digest != key


@pytest.mark.slow
def test_a_record_whose_wrappers_are_not_cached_is_compiled_again(primary_spec, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(compile_cache, "record_dir", lambda: tmp_path)
    build = _primary_build(primary_spec)
    first, info = compile_model(build.model, initial_points=build.initial_values())
    assert info["record"].startswith("written")
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert compile_model(build.model, initial_points=build.initial_values())[1]["record"] == \
        "loaded"
    # A wrapper missing from numba's cache (cleared, or another CPU) is never compiled from the
    # record (it lacks the function it calls): the model is compiled from its graph again.
    record["logp"]["cache_key"] = "swisbayes-" + "0" * 64
    path.write_text(json.dumps(record))
    again, info = compile_model(build.model, initial_points=build.initial_values())
    assert info["record"].startswith("written (_NotCachedError")
    x = np.random.default_rng(1).normal(0, 0.5, first.n_dim)
    assert _logp(again, x)[0] == _logp(first, x)[0]
    assert json.loads(path.read_text())["logp"]["cache_key"] != record["logp"]["cache_key"]


@pytest.mark.slow
def test_wrappers_match_pytensor_logp_and_gradient_after_a_data_swap(primary_spec):
    from nutpie.compile_pymc import _make_functions

    data = read_school_data(swisbayes.load_example(), outcomes=["s47"], covariates=["fsm_pct"])
    build = build_model(primary_spec, data)
    compiled, info = compile_model(build.model, initial_points=build.initial_values())
    assert info["path"] == "cached-wrappers"
    swapped = build_model(primary_spec.with_effect_prior(-0.3, 0.2), data)
    compiled = compiled.with_data(**swapped.data_values)
    rng = np.random.default_rng(0)
    # The PyTensor function the wrapper calls, built by nutpie from the same model
    logp_dlogp = _make_functions(build.model, mode="NUMBA", compute_grad=True,
                                 join_expanded=True, pymc_initial_point_fn=lambda seed: {})[2]
    by_name = {var.name: key for var, key in compiled.shared_var_keys.items()}
    for _ in range(3):
        x = rng.normal(0, 0.5, compiled.n_dim)
        shared = [compiled.shared_data[by_name[v.name]] for v in logp_dlogp.get_shared()]
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


@pytest.mark.slow
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
