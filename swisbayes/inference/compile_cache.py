"""Compile a PyMC model for nutpie so that a later process loads it from disk.

nutpie 0.16 wraps PyTensor's numba functions in two C callbacks (log density with gradient, and
the "expand" function that produces the trace). Those wrappers close over the shared-data
arrays, so numba refuses to cache them on disk, and every process re-types and re-optimises the
whole model graph: about 10 s of each fresh-process fit, even with a warm PyTensor cache.

Here the wrappers are generated as source through PyTensor's own cached-source mechanism (the
one that caches PyTensor's numba functions). They read the shared-data pointers from nutpie's
``user_data`` record at call time instead of closing over arrays, so they contain no dynamic
globals and numba stores them in PyTensor's cache directory. The cache key covers the wrapper
source and the cache keys of the PyTensor functions it calls, so a different model never loads
a wrong wrapper. The result is a regular nutpie ``CompiledPyMCModel``: ``with_data`` and
``nutpie.sample`` work on it unchanged.

This relies on nutpie internals (``_make_functions``, ``make_user_data``, the ``user_data``
layout), which is why ``pyproject.toml`` pins nutpie below 0.17. :func:`compile_model` falls back
to :func:`nutpie.compile_pymc_model` when they are missing, with a warning, and says which path
it took in the information it returns.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import warnings
from contextlib import AbstractContextManager
from functools import wraps
from typing import TYPE_CHECKING

import numba
import numpy as np
from llvmlite import ir
from numba import types

if TYPE_CHECKING:
    import pymc as pm
    from nutpie.compile_pymc import CompiledPyMCModel

_WRAPPER_FORMAT = "2"  # bump when the generated source or its environment changes



@numba.extending.intrinsic
def _void_pointer(typingctx, address):
    """Reinterpret an integer address as ``void*`` (module level, so it can be cached)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.PointerType(ir.IntType(8)))

    return types.voidptr(address), codegen


_LOGP_TEMPLATE = """
def logp_wrapper(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    ud = carray(user_data_, ({ud_len},), np.uint64)
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_dim},))
    logp = carray(logp_, ())
{arrays}
    logp_val, grad = inner(x{args})
    logp[()] = logp_val
    out[...] = grad
    if not np.all(np.isfinite(out)):
        return 3
    if not np.isfinite(logp_val):
        return 4
    return 0
"""

_EXPAND_TEMPLATE = """
def expand_wrapper(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    ud = carray(user_data_, ({ud_len},), np.uint64)
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_expanded},))
{arrays}
    (values,) = inner(x{args})
    out[...] = values
    return 0
"""


def _array_lines(shared_vars, key_order: list, shared_data: dict,
                 keys: dict) -> tuple[str, str, int]:
    """Source lines that rebuild each shared array from the user_data record, and the call args.

    nutpie's record is, in key order: K data pointers, K sizes, then each array's shape.
    """
    n = len(key_order)
    shape_offset = {}
    offset = 2 * n
    for key in key_order:
        shape_offset[key] = offset
        offset += shared_data[key].ndim
    lines, args = [], []
    for i, var in enumerate(shared_vars):
        key = keys[var]
        value = shared_data[key]
        data_index = key_order.index(key)
        shape = ", ".join(f"np.intp(ud[{shape_offset[key] + d}])" for d in range(value.ndim))
        shape = f"({shape},)" if value.ndim == 1 else f"({shape})"
        lines.append(f"    s{i} = carray(void_pointer(ud[{data_index}]), {shape}, "
                     f"np.{np.dtype(value.dtype).name})")
        args.append(f", s{i}")
    return "\n".join(lines), "".join(args), offset


def _cached_cfunc(template: str, name: str, signature, inner, shared_vars, key_order,
                  shared_data, keys, **fmt):
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if inner_key is None:
        raise LookupError("the PyTensor function has no cache key")
    arrays, args, ud_len = _array_lines(shared_vars, key_order, shared_data, keys)
    src = template.format(arrays=arrays, args=args, ud_len=ud_len, **fmt)
    # The module's name is part of the key: a cached function rebuilds its environment from
    # that module, so code moved to another module must never load an entry made before.
    key = hashlib.sha256("\n".join([_WRAPPER_FORMAT, src, inner_key, numba.__version__,
                                    __name__]).encode()).hexdigest()
    # __name__ lets numba rebuild the function's environment when it loads it from the cache.
    env = {"__name__": __name__, "np": np, "carray": numba.carray, "void_pointer": _void_pointer,
           "inner": inner}
    py_func = compile_numba_function_src(src, name, global_env=env, cache_key=f"swisbayes-{key}")
    return numba.cfunc(signature, cache=True)(py_func)


_LOGP_SIG = types.int64(types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                        types.CPointer(types.double), types.voidptr)
_EXPAND_SIG = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                          types.CPointer(types.double), types.voidptr)


def deterministic_numba() -> AbstractContextManager:
    """Context in which PyTensor compiles numba code without fast-math flags.

    With fast-math, LLVM may optimise the same function differently when it compiles it fresh
    than when it was compiled into the on-disk cache, so the first process on a cold cache drew
    other numbers from the same seed than every later process (seen: IRR median 0.99464 vs
    0.99513). Without it, fresh and cached code are bit-identical. PyTensor keys its cache on
    this flag, so code compiled with fast-math elsewhere is never mixed in.
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


def _with_lock(func):
    lock = threading.Lock()

    @wraps(func)
    def locked(*args, **kwargs):
        with lock:
            return func(*args, **kwargs)

    return locked


def _compile_cached(model, initial_points: dict):
    from nutpie.compile_pymc import (
        CompiledPyMCModel,
        _make_functions,
        _prepare_dims_and_coords,
        make_user_data,
    )
    from pymc.initial_point import make_initial_point_fn

    pymc_initial = _with_lock(make_initial_point_fn(
        model=model, overrides=initial_points, default_strategy="support_point",
        jitter_rvs=set(model.free_RVs), return_transformed=True))
    (n_dim, n_expanded, logp_pt, expand_pt, initial_point_fn, shape_info,
     reparameterized) = _make_functions(model, mode="NUMBA", compute_grad=True,
                                        join_expanded=True, pymc_initial_point_fn=pymc_initial)
    keys: dict = {}
    shared_data: dict = {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var not in keys:
            keys[var] = f"k{len(keys)}"
            value = np.array(var.get_value(), order="C", copy=True)
            value.flags.writeable = False
            shared_data[keys[var]] = value
    key_order = list(shared_data)
    user_data = make_user_data(keys, shared_data)
    logp_cfunc = _cached_cfunc(_LOGP_TEMPLATE, "logp_wrapper", _LOGP_SIG, logp_pt.vm.jit_fn,
                               logp_pt.get_shared(), key_order, shared_data, keys, n_dim=n_dim)
    expand_cfunc = _cached_cfunc(_EXPAND_TEMPLATE, "expand_wrapper", _EXPAND_SIG,
                                 expand_pt.vm.jit_fn, expand_pt.get_shared(), key_order,
                                 shared_data, keys, n_dim=n_dim, n_expanded=n_expanded)
    hits = logp_cfunc.cache_hits + expand_cfunc.cache_hits
    dims, coords = _prepare_dims_and_coords(model, shape_info, reparameterized)
    compiled = CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_cfunc, compiled_expand_func=expand_cfunc,
        initial_point_func=initial_point_fn, shared_data=shared_data, shared_var_keys=keys,
        user_data=user_data, n_expanded=n_expanded, shape_info=shape_info, logp_func=logp_pt,
        expand_func=expand_pt, reparameterized_names=reparameterized)
    return compiled, hits


def compile_model(model: pm.Model, *,
                  initial_points: dict) -> tuple[CompiledPyMCModel, dict[str, object]]:
    """Compile ``model`` for ``nutpie.sample``, loading the C wrappers from disk when cached.

    Parameters
    ----------
    model : pymc.Model
    initial_points : dict
        Starting values (before jitter) by free-variable name.

    Returns
    -------
    compiled : nutpie.compile_pymc.CompiledPyMCModel
    info : dict
        ``{"path": "cached-wrappers", "wrapper_cache_hits": 0 | 2}``, or ``{"path": "nutpie",
        "reason": ...}`` when nutpie's own compile was used.
    """
    try:
        with deterministic_numba():
            compiled, hits = _compile_cached(model, initial_points)
    except (ImportError, AttributeError, LookupError, TypeError, ValueError, OSError, EOFError,
            pickle.UnpicklingError, numba.core.errors.NumbaError) as exc:
        # nutpie internals changed, or a cache entry is unreadable: compile the standard way.
        import nutpie

        reason = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"swisbayes could not cache the compiled model ({reason}); using "
                      "nutpie's own compile, which is not reused across processes",
                      RuntimeWarning, stacklevel=2)
        with deterministic_numba():
            compiled = nutpie.compile_pymc_model(model, initial_points=initial_points)
        return compiled, {"path": "nutpie", "reason": reason}
    return compiled, {"path": "cached-wrappers", "wrapper_cache_hits": hits}


__all__ = ["compile_model", "deterministic_numba"]
