"""Draws of a model's observed outcome from its prior or posterior, as a DataTree.

The forward model for prior and posterior predictive checks and for simulation-based
calibration. Every likelihood of the families can be drawn from (its ``pm.CustomDist`` has a
generator beside its hand-written density, which stays the density that is sampled). Prior
draws are PyMC's own ``sample_prior_predictive`` on a family's built model. Posterior draws
are the same generators evaluated at every posterior draw at once: the model's graph is
vectorised over the draws and run once, and the pointwise log-likelihood of the observed data
(for LOO) can come from the same run. The registry (:mod:`swisbayes.families.registry`) adds
what differs between families, such as the pupil cells of a pupil-level count fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.distributions.distribution import SymbolicRandomVariable
from pytensor.compile.builders import OpFromGraph
from pytensor.compile.mode import get_mode
from pytensor.compile.rewriting import inline_ofg_node
from pytensor.graph.basic import Apply
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import clone_replace, vectorize_graph
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.scalar.math import Log1mexp, Softplus
from pytensor.tensor import TensorVariable
from pytensor.tensor.elemwise import Elemwise

from swisbayes.families.common import ModelBuild


@node_rewriter([Elemwise])
def _as_numpy_ufuncs(fgraph: FunctionGraph, node: Apply) -> list[TensorVariable] | None:
    """``softplus`` and ``log1mexp`` as NumPy ufunc expressions, branch for branch.

    Uncompiled, PyTensor runs these two scalar ops once per element in Python (1.6 million
    calls, about 1 s, for the predictive checks of the days-in-care and attendance fits).
    Each branch below is PyTensor's own formula, on arguments clipped to that branch, so the
    values are the same and no branch overflows.
    """
    op = node.op.scalar_op
    if not isinstance(op, Softplus | Log1mexp) or node.inputs[0].dtype != "float64":
        return None
    (x,) = node.inputs
    if isinstance(op, Softplus):
        low, high = pt.exp(pt.minimum(x, 18.0)), x + pt.exp(-pt.maximum(x, 18.0))
        out = pt.switch(x < -37.0, low,
                        pt.switch(x < 18.0, pt.log1p(low), pt.switch(x < 33.3, high, x)))
    else:
        half = np.log(0.5)
        out = pt.switch(x < half, pt.log1p(-pt.exp(pt.minimum(x, half))),
                        pt.log(-pt.expm1(pt.maximum(x, half))))
    return [out]


PREDICTIVE_COMPILE = {"mode": get_mode("FAST_COMPILE").register(
    (dfs_rewriter(_as_numpy_ufuncs), 49.5))}
"""How the forward graphs are compiled: not at all. They are cheap (prior draws run once per
draw, posterior draws once for all draws, on NumPy arrays), so compiling them to Numba cost
more than it saved (2.2 s against 0.9 s for 500 prior draws of the primary model), and the
NumPy generators of some likelihoods would run in Numba's object mode anyway, with a
warning. Only the scalar ops that would run element by element in Python are rewritten."""

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
                              seed: int | None = None,
                              log_likelihood: bool = False) -> xr.DataTree:
    """Draws of the observed outcome given each posterior draw of a fit of ``build``.

    The model's graph is vectorised over the posterior draws (every free variable replaced by
    its draws) and run once, so 6000 draws cost about what one batch of NumPy draws costs
    instead of 6000 calls of a compiled function.

    Parameters
    ----------
    build : ModelBuild
        The model that was fitted, on the data it was fitted to.
    posterior : xarray.DataTree or xarray.Dataset
        A fit's DataTree (its ``posterior`` group is read) or the posterior Dataset.
    seed : int, optional
    log_likelihood : bool, default False
        Also return the pointwise log-likelihood of the observed data at each posterior draw
        (the ``log_likelihood`` group that PSIS-LOO reads), from the same run.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior_predictive`` (one outcome draw per posterior draw, dims ``chain``,
        ``draw`` and the variable's own), ``observed_data``, ``constant_data`` and, when asked
        for, ``log_likelihood`` (float64, the dims of ``posterior_predictive``). Outcomes are
        int64 counts.

    Raises
    ------
    KeyError
        If the posterior lacks a free variable of the model.
    ValueError
        If a draw's expected count is too large to draw (:data:`TOO_LARGE`).
    """
    from pymc.backends.arviz import find_constants, find_observations

    model = build.model
    names = observed_names(build)
    run = _at_every_draw(build, posterior, draw=True, log_likelihood=log_likelihood, seed=seed)
    groups = {"posterior_predictive": run.pop("draws"),
              "observed_data": xr.Dataset({
                  name: _labelled(model, name, np.asarray(value), {})
                  for name, value in find_observations(model).items()}),
              "constant_data": xr.Dataset({
                  name: _labelled(model, name, np.asarray(value), {})
                  for name, value in find_constants(model).items()}),
              **run}
    return _whole_numbers(xr.DataTree.from_dict(groups), names)


def pointwise_log_likelihood(build: ModelBuild,
                             posterior: xr.DataTree | xr.Dataset) -> xr.Dataset:
    """The log-likelihood of each observed unit at each posterior draw of a fit of ``build``.

    The log density of the observed variable, term by term (one per school in every family:
    a pupil-level count fit's terms are its schools' cells together), vectorised over the
    draws as :func:`draw_posterior_predictive` does.

    Parameters
    ----------
    build : ModelBuild
        The model that was fitted, on the data it was fitted to.
    posterior : xarray.DataTree or xarray.Dataset
        A fit's DataTree or posterior Dataset.

    Returns
    -------
    xarray.Dataset
        One float64 variable per observed variable (``y_obs``), dims ``chain``, ``draw`` and
        the variable's own: the ``log_likelihood`` group that PSIS-LOO and power-scaling read.

    Raises
    ------
    KeyError
        If the posterior lacks a free variable of the model.
    """
    return _at_every_draw(build, posterior, draw=False, log_likelihood=True)["log_likelihood"]


def _at_every_draw(build: ModelBuild, posterior: xr.DataTree | xr.Dataset, *, draw: bool,
                   log_likelihood: bool, seed: int | None = None) -> dict[str, xr.Dataset]:
    """Draws (``"draws"``) and log-likelihood (``"log_likelihood"``) of the observed variables
    at every posterior draw, from one run of the model's graph vectorised over the draws."""
    from pymc.pytensorf import compile as compile_graph

    model = build.model
    draws = posterior_dataset(posterior)
    missing = [rv.name for rv in model.free_RVs if rv.name not in draws]
    if missing:  # they would otherwise be drawn from their prior, silently
        raise KeyError(f"the posterior lacks parameters of the model: {missing}")
    # Every parameter is the posterior's: each free variable becomes its draws, leading dims
    # (chain, draw), and every graph below it gains those dims.
    values = {rv: pt.constant(draws[rv.name].transpose(*SAMPLE_DIMS, ...).to_numpy()
                              .astype(rv.dtype), name=rv.name) for rv in model.free_RVs}
    observed = model.observed_RVs
    parts = {"draws": [_draws_at_every_draw(rv, values) for rv in observed] if draw else [],
             "log_likelihood": _vectorised([pm.logp(rv, model.rvs_to_values[rv])
                                            for rv in observed], values)
             if log_likelihood else []}
    run = compile_graph([], [g for graphs in parts.values() for g in graphs], random_seed=seed,
                        mode=PREDICTIVE_COMPILE["mode"])
    with _explain_overflow():
        results = iter(run())
    coords = {d: draws[d].to_numpy() for d in SAMPLE_DIMS}
    return {part: xr.Dataset({rv.name: _labelled(model, rv.name, next(results), coords)
                              for rv in observed})
            for part, graphs in parts.items() if graphs}


def _draws_at_every_draw(rv: TensorVariable,
                         values: dict[TensorVariable, TensorVariable]) -> TensorVariable:
    """The observed variable ``rv`` drawn at every posterior draw at once (``values``)."""
    node = rv.owner
    op = node.op
    if not isinstance(op, SymbolicRandomVariable):  # a RandomVariable: pytensor vectorises it
        return _vectorised([rv], values)[0]
    # A CustomDist with a symbolic generator is an OpFromGraph, which pytensor cannot vectorise
    # (it takes an RNG). Inline its inner graph, with a placeholder for each parameter and the
    # size and RNG as they are; vectorised over the placeholders, its RandomVariables then put
    # the batch dims in front of their size.
    inner = op.fgraph.unfreeze()
    params = set(op.dist_params(node))
    holders = [outer.type() if outer in params else outer for outer in node.inputs]
    draw = clone_replace(inner.outputs[node.outputs.index(rv)],
                         replace=dict(zip(inner.inputs, holders, strict=True)))
    return vectorize_graph(draw, replace={
        holder: _with_sample_dims(_vectorised([outer], values)[0], outer)
        for holder, outer in zip(holders, node.inputs, strict=True) if outer in params})


def _vectorised(graphs: list[TensorVariable],
                values: dict[TensorVariable, TensorVariable]) -> list[TensorVariable]:
    """``graphs`` at every posterior draw at once: each free variable replaced by its draws."""
    # Work on a copy, with a placeholder for each free variable, so that rewriting it leaves the
    # model alone. Functions such as pt.logaddexp are OpFromGraphs, which would vectorise to a
    # Python loop over the draws; inlined, their graphs vectorise elementwise.
    holders = {rv: rv.type() for rv in values}
    copies = FunctionGraph(outputs=clone_replace(graphs, replace=holders), clone=False)
    dfs_rewriter(_inline_function).rewrite(copies)
    return vectorize_graph(copies.outputs,
                           replace={holders[rv]: draws for rv, draws in values.items()})


@node_rewriter([OpFromGraph])
def _inline_function(fgraph: FunctionGraph, node: Apply) -> list[TensorVariable] | bool:
    # a random variable's inner graph is left to _draws_at_every_draw
    return False if isinstance(node.op, SymbolicRandomVariable) else inline_ofg_node(node)


def _with_sample_dims(batched: TensorVariable, original: TensorVariable) -> TensorVariable:
    # pytensor sizes a vectorised RandomVariable by the batch dims of its first parameter, so
    # a parameter the posterior does not reach (the Poisson family's fixed dispersion) gets
    # them too, as broadcastable dims.
    missing = len(SAMPLE_DIMS) - (batched.ndim - original.ndim)
    return pt.shape_padleft(batched, missing) if missing else batched


def _labelled(model: pm.Model, name: str, array: np.ndarray,
              sample_coords: dict[str, np.ndarray]) -> xr.DataArray:
    """``array`` as a DataArray with the model's dims and labels of ``name``, after any
    sample dims."""
    dims = [*sample_coords, *model.named_vars_to_dims.get(name, ())]
    dims += [f"{name}_dim_{i}" for i in range(len(dims), array.ndim)]  # dims without a name
    labels = {d: model.coords.get(d) for d in dims}
    coords = {**sample_coords, **{d: list(v) for d, v in labels.items() if v is not None}}
    return xr.DataArray(array, dims=dims, coords=coords)


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
    "pointwise_log_likelihood",
    "posterior_dataset",
    "predictive_group",
    "split_seed",
]
