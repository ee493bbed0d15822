"""Invariants of the public surface: typed keyword arguments, no **kwargs, one CI default."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import swisbayes
from swisbayes._base import atomic, defaults
from swisbayes.data import io, simulate
from swisbayes.data.io import validate
from swisbayes.decision import rule as verdict
from swisbayes.decision import summaries as decision
from swisbayes.economics import net_benefit as economics
from swisbayes.economics import voi as value_of_information
from swisbayes.evidence import meta_analysis as map_prior
from swisbayes.evidence import reanalysis
from swisbayes.families import count as model
from swisbayes.families import likelihoods
from swisbayes.inference import compile_cache, diagnostics, fitting
from swisbayes.plots import basic as plots
from swisbayes.plots import decision as figures
from swisbayes.priors import library as priors
from swisbayes.report import content, disclosure, render, run
from swisbayes.spec import analysis as spec
from swisbayes.workflows import multiprior as analyses

PUBLIC = [getattr(m, name) for m in (swisbayes, atomic, compile_cache, decision, diagnostics,
                                     economics, fitting, likelihoods, map_prior, model, plots,
                                     priors, reanalysis, simulate, spec, value_of_information,
                                     verdict, io, validate, analyses, content, disclosure,
                                     figures, render, run)
          for name in getattr(m, "__all__", dir(m)) if not name.startswith("_")]
CALLABLES = sorted({f for f in PUBLIC if inspect.isfunction(f) and f.__module__.startswith(
    "swisbayes")} | {meth for cls in PUBLIC if inspect.isclass(cls) and cls.__module__.startswith(
        "swisbayes") for _, meth in inspect.getmembers(cls, inspect.isfunction)
                      if not meth.__name__.startswith("_") and meth.__module__.startswith(
                          "swisbayes")}, key=lambda f: f.__qualname__)


@pytest.mark.parametrize("func", CALLABLES, ids=lambda f: f.__qualname__)
def test_no_var_keyword_typed_and_documented(func):
    sig = inspect.signature(func)
    params = [p for name, p in sig.parameters.items() if name not in {"self", "cls"}]
    assert not any(p.kind is p.VAR_KEYWORD for p in params), func.__qualname__
    untyped = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    assert not untyped, f"{func.__qualname__}: no type hint for {untyped}"
    if func.__name__ != "__init__":
        assert sig.return_annotation is not inspect.Signature.empty, func.__qualname__
    assert inspect.getdoc(func), f"{func.__qualname__} has no docstring"


@pytest.mark.parametrize("func", [f for f in CALLABLES
                                  if "ci_prob" in inspect.signature(f).parameters],
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
