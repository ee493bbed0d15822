"""Invariants of the public surface: typed keyword arguments, no **kwargs, one CI default."""

from __future__ import annotations

import inspect

import pytest

import swisbayes
from swisbayes import (
    atomic,
    compile_cache,
    decision,
    defaults,
    diagnostics,
    economics,
    fitting,
    likelihoods,
    map_prior,
    model,
    plots,
    priors,
    reanalysis,
    simulate,
    spec,
    value_of_information,
    verdict,
)
from swisbayes.data import io, validate
from swisbayes.report import analyses, content, disclosure, figures, render, run

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
        assert getattr(swisbayes, name).__module__.startswith("swisbayes."), name
    assert swisbayes.fit.__module__ == "swisbayes.fitting"
    assert inspect.isfunction(swisbayes.fit)  # not shadowed by a submodule of that name
