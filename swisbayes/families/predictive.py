"""Draws of a model's observed outcome from its prior or posterior, as a DataTree.

The forward model for prior and posterior predictive checks and for simulation-based
calibration. Every likelihood of the families can be drawn from (its ``pm.CustomDist`` has a
generator beside its hand-written density, which stays the density that is sampled), so these
are PyMC's own ``sample_prior_predictive`` and ``sample_posterior_predictive`` on a family's
built model. The registry (:mod:`swisbayes.families.registry`) adds what differs between
families, such as the pupil cells of a pupil-level count fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pymc as pm
import xarray as xr

from swisbayes.families.common import ModelBuild

PREDICTIVE_COMPILE = {"mode": "FAST_COMPILE"}
"""How the forward graphs are compiled: not at all. They run once per draw and are cheap, so
compiling them to Numba cost more than it saved (2.2 s against 0.9 s for 500 prior draws of
the primary model), and the NumPy generators of some likelihoods would run in Numba's object
mode anyway, with a warning."""

SAMPLE_DIMS = ("chain", "draw")
"""Dims of the draws in every predictive group."""

TOO_LARGE = ("Some draws have expected counts beyond about 9e18, which cannot be drawn as "
             "int64 counts. A vague effect prior (N(0, 10) on the log scale) puts prior draws "
             "there; draw prior predictive checks under a proper, plausible prior, e.g. "
             "spec.with_effect_prior(0.0, 0.5).")
"""What an overflowing draw means: the error raised, or a note on the one NumPy raises."""


def split_seed(seed: int | None) -> tuple[int, np.random.Generator]:
    """Two independent streams from one seed: PyMC's draws and NumPy's (cell splits).

    Parameters
    ----------
    seed : int or None
        None draws fresh entropy.

    Returns
    -------
    pymc_seed : int
    rng : numpy.random.Generator
    """
    pymc_stream, numpy_stream = np.random.SeedSequence(seed).spawn(2)
    return int(pymc_stream.generate_state(1)[0]), np.random.default_rng(numpy_stream)


def predictive_group(tree: xr.DataTree) -> str:
    """The name of the predictive group of ``tree`` (prior or posterior)."""
    for name in ("posterior_predictive", "prior_predictive"):
        if name in tree.children:
            return name
    raise KeyError(f"no predictive group among {sorted(tree.children)}")


def posterior_dataset(posterior: xr.DataTree | xr.Dataset) -> xr.Dataset:
    """The posterior draws of a fit's DataTree (its ``posterior`` group), or the Dataset itself."""
    if isinstance(posterior, xr.Dataset):
        return posterior
    if "posterior" in posterior.children:
        return posterior["posterior"].to_dataset()
    return posterior.to_dataset()


def observed_names(build: ModelBuild) -> list[str]:
    """Names of the model's observed variables (``y_obs`` in every family)."""
    return [rv.name for rv in build.model.observed_RVs]


def draw_prior_predictive(build: ModelBuild, *, draws: int = 500,
                          seed: int | None = None) -> xr.DataTree:
    """Draws of every parameter and of the observed outcome from the model's prior.

    Parameters
    ----------
    build : ModelBuild
        A family's model; its data fix the design (schools, arms, exposures, covariates).
    draws : int, default 500
    seed : int, optional

    Returns
    -------
    xarray.DataTree
        Groups ``prior`` (parameters and deterministics), ``prior_predictive`` (the observed
        variables, dims ``chain`` (one), ``draw`` and the variable's own) and ``observed_data``.
        Outcomes are int64 counts.

    Raises
    ------
    ValueError
        If a draw's expected count is too large to draw (:data:`TOO_LARGE`), which a vague
        effect prior makes likely over hundreds of draws.
    """
    with _explain_overflow():
        tree = pm.sample_prior_predictive(draws=draws, model=build.model, random_seed=seed,
                                          compile_kwargs=PREDICTIVE_COMPILE)
    return _whole_numbers(tree, observed_names(build))


def draw_posterior_predictive(build: ModelBuild, posterior: xr.DataTree | xr.Dataset, *,
                              seed: int | None = None) -> xr.DataTree:
    """Draws of the observed outcome given each posterior draw of a fit of ``build``.

    Parameters
    ----------
    build : ModelBuild
        The model that was fitted, on the data it was fitted to.
    posterior : xarray.DataTree or xarray.Dataset
        A fit's DataTree (its ``posterior`` group is read) or the posterior Dataset.
    seed : int, optional

    Returns
    -------
    xarray.DataTree
        Groups ``posterior_predictive`` (one outcome draw per posterior draw, dims ``chain``,
        ``draw`` and the variable's own) and ``observed_data``. Outcomes are int64 counts.

    Raises
    ------
    KeyError
        If the posterior lacks a free variable of the model.
    ValueError
        If a draw's expected count is too large to draw (:data:`TOO_LARGE`).
    """
    names = observed_names(build)
    draws = posterior_dataset(posterior)
    free = [rv.name for rv in build.model.free_RVs]
    missing = [name for name in free if name not in draws]
    if missing:  # PyMC would draw them from their prior, silently
        raise KeyError(f"the posterior lacks parameters of the model: {missing}")
    # Every parameter is the posterior's, whatever PyMC makes of the data recorded with it
    # (a bare posterior Dataset records none, so without this it warns of changed data).
    with _explain_overflow():
        tree = pm.sample_posterior_predictive(draws, model=build.model, var_names=names,
                                              freeze_vars=free, random_seed=seed,
                                              progressbar=False,
                                              compile_kwargs=PREDICTIVE_COMPILE)
    return _whole_numbers(tree, names)


@contextmanager
def _explain_overflow() -> Iterator[None]:
    # NumPy refuses Poisson means beyond about 9e18 ("lam value too large") and negative
    # binomials with a vanishing p ("n too large or p too small").
    try:
        yield
    except ValueError as err:
        if "too large" in str(err) or "too small" in str(err):
            err.add_note(TOO_LARGE)
        raise


def _whole_numbers(tree: xr.DataTree, names: list[str]) -> xr.DataTree:
    # Hurdle and beta-binomial outcomes are float64 in the model (their densities take any
    # value); the draws and data are whole numbers either way.
    for group in (predictive_group(tree), "observed_data"):
        ds = tree[group].to_dataset()
        # SciPy's hurdle draws give huge floats (or NaN from an infinite mean) instead
        if not all(bool((np.abs(ds[n]) < 2.0**63).all()) for n in names):
            raise ValueError(TOO_LARGE)
        tree[group] = xr.DataTree(ds.assign({n: np.rint(ds[n]).astype(np.int64) for n in names}))
    return tree


__all__ = [
    "PREDICTIVE_COMPILE",
    "SAMPLE_DIMS",
    "TOO_LARGE",
    "draw_posterior_predictive",
    "draw_prior_predictive",
    "observed_names",
    "posterior_dataset",
    "predictive_group",
    "split_seed",
]
