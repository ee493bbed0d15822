"""Invariants of the public surface: typed keyword arguments, no **kwargs, one CI default."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import swisbayes
from swisbayes._base import defaults

MODULES = [importlib.import_module(m.name) for m in pkgutil.walk_packages(
    swisbayes.__path__, "swisbayes.") if not m.name.endswith("__main__")]
"""Every module of the package: the invariants hold for all of their public names."""

PUBLIC = [getattr(m, name) for m in (swisbayes, *MODULES)
          for name in getattr(m, "__all__", [n for n in dir(m) if not n.startswith("_")])
          if not name.startswith("_")]
CALLABLES = sorted({f for f in PUBLIC if inspect.isfunction(f) and f.__module__.startswith(
    "swisbayes")} | {meth for cls in PUBLIC if inspect.isclass(cls) and cls.__module__.startswith(
        "swisbayes") for _, meth in inspect.getmembers(cls, inspect.isfunction)
                      if not meth.__name__.startswith("_") and meth.__module__.startswith(
                          "swisbayes")}, key=lambda f: f.__qualname__)


@pytest.mark.parametrize("func", CALLABLES, ids=lambda f: f.__qualname__)
def test_no_var_keyword_typed_and_documented(func):
    sig = inspect.signature(func)
    params = [p for name, p in sig.parameters.items() if name not in {"self", "cls"}]
    # Executor.submit(fn, /, *args, **kwargs) is the concurrent.futures interface itself
    if func.__name__ != "submit":
        assert not any(p.kind is p.VAR_KEYWORD for p in params), func.__qualname__
    untyped = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    assert not untyped, f"{func.__qualname__}: no type hint for {untyped}"
    if func.__name__ != "__init__":
        assert sig.return_annotation is not inspect.Signature.empty, func.__qualname__
    assert inspect.getdoc(func), f"{func.__qualname__} has no docstring"


@pytest.mark.parametrize("func", [f for f in CALLABLES
                                  if "ci_prob" in inspect.signature(f).parameters
                                  and f is not defaults.validate_ci_prob],
                         ids=lambda f: f.__qualname__)
def test_ci_prob_defaults_to_none_and_resolves_to_the_package_default(func):
    assert inspect.signature(func).parameters["ci_prob"].default is None
    assert defaults.validate_ci_prob(None) == defaults.CI_PROB == 0.95


def test_top_level_exports_are_the_package_s_own_objects():
    for name in swisbayes.__all__:
        value = getattr(swisbayes, name)
        if name != "__version__":
            assert value.__module__.startswith("swisbayes."), name
    assert swisbayes.fit.__module__ == "swisbayes.workflows.analysis"
    assert inspect.isfunction(swisbayes.fit)  # not shadowed by a submodule of that name


def test_the_facade_reaches_the_whole_pipeline():
    for name in ("read_data", "load_example", "load_spec", "Analysis", "FitResult", "get_prior",
                 "reanalyse", "run_grid", "net_benefit", "further_trial_value", "DecisionRule",
                 "tipping_points", "make_report", "plot_la_effects", "effective_sample_size"):
        assert name in swisbayes.__all__, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = swisbayes.nope


def test_import_swisbayes_loads_no_sampler():
    code = ("import sys, swisbayes; swisbayes.load_spec('s47_primary'); "
            "print(sorted(m for m in ('pymc', 'nutpie', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
