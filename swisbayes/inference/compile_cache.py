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

A later process need not even build the PyTensor functions. Rewriting the graph and generating
their code took about 1 s of every fresh-process fit although the wrappers then came from disk.
So the first compile also writes a small record (the wrappers' source and cache keys, and the
sizes and names nutpie needs), keyed on the model's graph *before* PyTensor rewrites it
(:func:`graph_key`): every operation with its full state, how they connect, the constants, the
names, types and shapes of the data and variables, the model's bounds checking, the library
versions, PyTensor's compile flags and this module's own source. Whatever could change the
compiled code changes that key, so a record is never stale; a record whose wrappers are not in
numba's cache (cleared, or another CPU) is ignored and the model is compiled again.

This relies on nutpie internals (``_make_functions``, ``make_user_data``, the ``user_data``
layout), which is why ``pyproject.toml`` pins nutpie below 0.17. :func:`compile_model` falls back
to :func:`nutpie.compile_pymc_model` when they are missing, with a warning, and says which path
it took in the information it returns.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
import sys
import threading
import types as pytypes
import warnings
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.ccallback import CFunc

if TYPE_CHECKING:
    import pymc as pm
    from nutpie.compile_pymc import CompiledPyMCModel
    from pytensor.compile.sharedvalue import SharedVariable

_WRAPPER_FORMAT = "2"  # bump when the generated source or its environment changes

_RECORD_FORMAT = "1"  # bump when the record's fields change

_KEY_FLAGS = ("floatX", "cast_policy", "optimizer", "optimizer_including", "optimizer_excluding",
              "optimizer_requiring", "numba__fastmath", "numba__cache", "on_opt_error")
"""PyTensor flags that change the rewritten graph or its numba code, part of :func:`graph_key`."""

_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
"""This module's source: a changed wrapper template or key never loads an older record."""


class _ArvizForNutpie(pytypes.ModuleType):
    """What ``nutpie`` sees as ``arviz``: ``arviz_base``'s two converters, or the real ArviZ.

    ``nutpie.sample`` imports the whole of ArviZ at import time (its plots with matplotlib, its
    statistics with scipy.stats: over 1 s of each fresh-process fit) to call ``from_dict`` and
    ``dict_to_dataset``, which ArviZ re-exports from ``arviz_base``. This stand-in serves those
    two from ``arviz_base`` (the same functions) and anything else from the real ArviZ,
    imported on first use.
    """

    _FROM_BASE = frozenset({"from_dict", "dict_to_dataset"})

    def __getattr__(self, name: str):
        if name in self._FROM_BASE:
            import arviz_base

            return getattr(arviz_base, name)
        if sys.modules.get("arviz") is self:  # asked while nutpie is being imported
            del sys.modules["arviz"]
        import arviz

        return getattr(arviz, name)


def import_nutpie() -> pytypes.ModuleType:
    """Import ``nutpie`` without importing all of ArviZ (see :class:`_ArvizForNutpie`).

    The stand-in is in ``sys.modules`` only while nutpie is imported, so any other ``import
    arviz`` gets the real one. When ArviZ is already imported, nutpie simply uses it.

    Returns
    -------
    module
        ``nutpie``.
    """
    if "nutpie" in sys.modules or "arviz" in sys.modules:
        import nutpie

        return nutpie
    stand_in = _ArvizForNutpie("arviz")
    sys.modules["arviz"] = stand_in
    try:
        import nutpie
    finally:
        if sys.modules.get("arviz") is stand_in:
            del sys.modules["arviz"]
    return nutpie


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


def _wrapper_env(inner) -> dict:
    # __name__ lets numba rebuild the function's environment when it loads it from the cache.
    return {"__name__": __name__, "np": np, "carray": numba.carray,
            "void_pointer": _void_pointer, "inner": inner}


def _cached_cfunc(template: str, name: str, signature, inner, shared_vars, key_order,
                  shared_data, keys, **fmt) -> tuple[CFunc, dict[str, str]]:
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
    cache_key = f"swisbayes-{key}"
    py_func = compile_numba_function_src(src, name, global_env=_wrapper_env(inner),
                                         cache_key=cache_key)
    return numba.cfunc(signature, cache=True)(py_func), {"src": src, "cache_key": cache_key}


class _NotCachedError(LookupError):
    """A wrapper recorded on disk is not in numba's cache."""


class _CacheOnlyCFunc(CFunc):
    """A C callback that is only ever loaded from numba's cache, never compiled.

    A recorded wrapper is rebuilt without the PyTensor function it calls, so compiling it
    could never give the right code: a cache miss raises instead.
    """

    def _compile_uncached(self):
        raise _NotCachedError(f"{self.__name__} is not in numba's cache")


def _load_cfunc(entry: dict[str, str], name: str, signature) -> CFunc:
    from numba.core import sigutils
    from pytensor.link.numba.cache import compile_numba_function_src

    py_func = compile_numba_function_src(entry["src"], name, global_env=_wrapper_env(None),
                                         cache_key=entry["cache_key"])
    cfunc = _CacheOnlyCFunc(py_func, sigutils.normalize_signature(signature), locals={},
                            options={})
    cfunc.enable_caching()
    cfunc.compile()
    return cfunc


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


class _UnkeyableError(ValueError):
    """A graph that :func:`graph_key` cannot describe exactly (its model is compiled anyway)."""


@dataclass(frozen=True)
class GraphKey:
    """What identifies a model's compiled form, and the model's data by name.

    Parameters
    ----------
    digest : str
        SHA-256 (hex) of everything that determines the compiled code (see :func:`graph_key`).
    shared : dict of str to SharedVariable
        The model's shared variables (its ``pm.Data``) by name, whose values a compiled model
        reads at call time.
    """

    digest: str
    shared: dict[str, SharedVariable]


_LIBRARIES = ("pytensor.", "pymc.", "numpy.", "scipy.", "numba.", "builtins.")
"""Modules whose functions are named, not hashed, in a key: their versions are in it."""

_TRANSIENT_STATE = frozenset({"_lop_op_cache", "_rop_op_cache", "_frozen_lop", "_frozen_rop",
                              "_connection_pattern", "_inner_shape_template",
                              "_inner_shape_frozen", "ufunc", "nfunc"})
"""Attributes of an op that cache what its other state determines (filled on first use)."""


def _constant_digest(data) -> str:
    array = np.ascontiguousarray(data)
    if array.dtype.hasobject:
        raise _UnkeyableError(f"constant of object dtype: {data!r}")
    return hashlib.sha256(f"{array.dtype.str}{array.shape}".encode()
                          + array.tobytes()).hexdigest()


class _Describer:
    """Text that identifies a graph, or a value in an op's state, the same in every process.

    Ops are described by their class and their whole state (less caches), recursively; the
    variables of a graph by where they are computed, never by their automatic names (which
    count the variables made before them in the process) or their memory addresses.
    """

    def __init__(self) -> None:
        self.shared: dict[str, SharedVariable] = {}
        self._memo: dict[int, tuple[object, str]] = {}

    def value(self, value, depth: int = 0) -> str:
        if id(value) in self._memo:
            return self._memo[id(value)][1]
        if depth > 30:
            raise _UnkeyableError("state nested too deeply")
        text = self._value(value, depth + 1)
        self._memo[id(value)] = (value, text)  # keeps it alive, so its id is not reused
        return text

    def _value(self, value, depth: int) -> str:
        from pytensor.graph.basic import Apply, Variable
        from pytensor.graph.fg import AbstractFunctionGraph

        if value is None or isinstance(value, bool | int | float | complex | str | bytes):
            return repr(value)
        if isinstance(value, np.dtype):
            return f"dtype:{value.str}"
        if isinstance(value, np.ndarray | np.generic):
            return f"array:{_constant_digest(value)}"
        if value is Ellipsis:
            return "..."
        if isinstance(value, slice):
            return f"slice[{self.value((value.start, value.stop, value.step), depth)}]"
        if isinstance(value, tuple | list):
            items = ",".join(self.value(v, depth) for v in value)
            return f"{type(value).__name__}[{items}]"
        if isinstance(value, set | frozenset):
            return "set[" + ",".join(sorted(self.value(v, depth) for v in value)) + "]"
        if isinstance(value, Mapping):
            return "map[" + ",".join(sorted(f"{self.value(k, depth)}:{self.value(v, depth)}"
                                            for k, v in value.items())) + "]"
        if isinstance(value, type | pytypes.BuiltinFunctionType | np.ufunc):
            return f"name:{_qualified_name(value)}"
        if isinstance(value, pytypes.FunctionType):
            return self._function(value)
        if isinstance(value, AbstractFunctionGraph):
            return "graph:" + self.graph(value.outputs, value.inputs)
        if isinstance(value, Variable | Apply):
            raise _UnkeyableError(f"a graph variable in an op's state: {value!r}")
        if hasattr(value, "__dict__"):
            state = ",".join(f"{k}={self.value(v, depth)}" for k, v in sorted(vars(value).items())
                             if k not in _TRANSIENT_STATE)
            return f"{_qualified_name(type(value))}({state})"
        raise _UnkeyableError(f"cannot describe {type(value).__name__} {value!r}")

    def _function(self, func) -> str:
        name = _qualified_name(func)
        if name.startswith(_LIBRARIES) and "<" not in name:
            return f"name:{name}"
        # Code outside the versioned libraries (or a closure) is identified by its bytecode,
        # constants and defaults as well as its name.
        if func.__closure__:
            raise _UnkeyableError(f"a closure in an op's state: {name}")
        code = func.__code__
        return (f"function:{name}:{hashlib.sha256(code.co_code).hexdigest()}:"
                + self.value((code.co_consts, code.co_names, func.__defaults__)))

    def _root(self, var) -> str:
        """A graph input: a constant's value, a shared variable's name, type and shape (and
        value, for an integer scalar: a dim length), or an input's name and type."""
        from pytensor.compile.sharedvalue import SharedVariable
        from pytensor.graph.basic import Constant

        kind = self.value(var.type)
        if isinstance(var, Constant):
            return f"constant:{kind}:{_constant_digest(var.data)}"
        if isinstance(var, SharedVariable):
            if var.name is None or self.shared.setdefault(var.name, var) is not var:
                raise _UnkeyableError(f"shared variable {var.name!r} is unnamed or not unique")
            value = np.asarray(var.get_value(borrow=True))
            size = int(value) if value.ndim == 0 and value.dtype.kind in "iub" else None
            return f"shared:{var.name}:{kind}:{value.shape}:{size}"
        return f"input:{var.name}:{kind}"

    def graph(self, outputs, inputs=None) -> str:
        """Digest of the graph computing ``outputs``; ``inputs`` are described by their
        position (an op's inner graph) instead of their names."""
        from pytensor.graph.traversal import toposort

        digest = hashlib.sha256()
        where: dict = {var: f"arg{i}:{self.value(var.type)}"
                       for i, var in enumerate(inputs or ())}
        for index, node in enumerate(toposort(outputs)):
            for var in node.inputs:
                if var not in where:  # a root: everything else is some node's output
                    where[var] = self._root(var)
            digest.update(repr((self.value(node.op), [where[v] for v in node.inputs],
                                [self.value(out.type) for out in node.outputs])).encode())
            for j, out in enumerate(node.outputs):
                where[out] = f"node{index}.{j}"
        for var in outputs:  # an output that is a root itself (an untransformed value)
            if var not in where:
                where[var] = self._root(var)
        digest.update(repr([(where[var], var.name) for var in outputs]).encode())
        return digest.hexdigest()


def _qualified_name(obj) -> str:
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', repr(obj))}"


def graph_key(model: pm.Model) -> GraphKey:
    """The key of a model's compiled form, from its graph before PyTensor rewrites it.

    It hashes the graphs nutpie compiles from (the joint log density and the variables stored
    in the trace) node by node: each operation's class and whole state (an inner graph
    structurally), which inputs it reads, the types of its outputs; every constant's value;
    every data container's name, type and shape (but not its values, which a compiled model
    reads at call time); the free variables in order; the model's bounds checking; PyTensor's
    compile flags; the versions of Python, PyTensor, PyMC, numba, llvmlite, NumPy and nutpie;
    and this module's source.

    Parameters
    ----------
    model : pymc.Model

    Returns
    -------
    GraphKey

    Raises
    ------
    ValueError
        When the graph holds something that cannot be described exactly (say, an object
        without state to describe, or an unnamed or duplicated data container).
    """
    import llvmlite
    import nutpie
    import pymc
    import pytensor

    describer = _Describer()
    graph = describer.graph([model.logp(), *model.unobserved_value_vars])
    versions = (sys.version, platform.machine(), pytensor.__version__, pymc.__version__,
                numba.__version__, llvmlite.__version__, np.__version__, nutpie.__version__)
    flags = tuple((flag, str(getattr(pytensor.config, flag, None))) for flag in _KEY_FLAGS)
    key = (_RECORD_FORMAT, _SOURCE_DIGEST, versions, flags, bool(model.check_bounds),
           [model.rvs_to_values[rv].name for rv in model.free_RVs], graph)
    return GraphKey(hashlib.sha256(repr(key).encode()).hexdigest(), describer.shared)


def record_dir() -> Path:
    """Where records of compiled models are kept: beside numba's cache in PyTensor's
    ``base_compiledir``, so that clearing that directory clears both."""
    import pytensor

    return Path(pytensor.config.base_compiledir) / "swisbayes-models"


def _initial_point_fn(model, initial_points: dict, names: list[str], shapes: list[tuple]):
    """nutpie's flat initial-point function: the starting values, jittered in U(-1, 1) on the
    unconstrained scale as nutpie's own compile does."""
    from nutpie.compile_pymc import _rv_dict_to_flat_array_wrapper
    from pymc.initial_point import make_initial_point_fn

    pymc_initial = _with_lock(make_initial_point_fn(
        model=model, overrides=initial_points, default_strategy="support_point",
        jitter_rvs=set(model.free_RVs), return_transformed=True))
    n_free = len(model.free_RVs)
    return _rv_dict_to_flat_array_wrapper(pymc_initial, names=names[:n_free],
                                          shapes=shapes[:n_free])


def _assemble(model, initial_points: dict, *, n_dim: int, n_expanded: int, shape_info,
              reparameterized: list[str], keys: dict, shared_data: dict, logp_cfunc, expand_cfunc,
              logp_pt=None, expand_pt=None):
    from nutpie.compile_pymc import (
        CompiledPyMCModel,
        _prepare_dims_and_coords,
        make_user_data,
    )

    names, _, shapes = shape_info
    dims, coords = _prepare_dims_and_coords(model, shape_info, reparameterized)
    return CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, shape in zip(names, shapes, strict=True)},
        compiled_logp_func=logp_cfunc, compiled_expand_func=expand_cfunc,
        initial_point_func=_initial_point_fn(model, initial_points, names, shapes),
        shared_data=shared_data, shared_var_keys=keys,
        user_data=make_user_data(keys, shared_data), n_expanded=n_expanded,
        shape_info=shape_info, logp_func=logp_pt, expand_func=expand_pt,
        reparameterized_names=reparameterized)


def _frozen_copy(var) -> np.ndarray:
    value = np.array(var.get_value(), order="C", copy=True)
    value.flags.writeable = False
    return value


def _compile_cached(model, initial_points: dict):
    """Build the PyTensor functions and their wrappers (loaded from numba's cache when there).

    Returns the compiled model, the number of wrappers loaded from the cache, and the record
    that lets a later process skip this.
    """
    from nutpie.compile_pymc import _make_functions

    (n_dim, n_expanded, logp_pt, expand_pt, _, shape_info,
     reparameterized) = _make_functions(model, mode="NUMBA", compute_grad=True,
                                        join_expanded=True,
                                        pymc_initial_point_fn=lambda seed: {})
    keys: dict = {}
    shared_data: dict = {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var not in keys:
            keys[var] = f"k{len(keys)}"
            shared_data[keys[var]] = _frozen_copy(var)
    key_order = list(shared_data)
    logp_cfunc, logp_entry = _cached_cfunc(
        _LOGP_TEMPLATE, "logp_wrapper", _LOGP_SIG, logp_pt.vm.jit_fn, logp_pt.get_shared(),
        key_order, shared_data, keys, n_dim=n_dim)
    expand_cfunc, expand_entry = _cached_cfunc(
        _EXPAND_TEMPLATE, "expand_wrapper", _EXPAND_SIG, expand_pt.vm.jit_fn,
        expand_pt.get_shared(), key_order, shared_data, keys, n_dim=n_dim,
        n_expanded=n_expanded)
    hits = logp_cfunc.cache_hits + expand_cfunc.cache_hits
    names, slices, shapes = shape_info
    shapes = [tuple(int(n) for n in shape) for shape in shapes]
    shape_info = (names, slices, shapes)
    compiled = _assemble(model, initial_points, n_dim=n_dim, n_expanded=n_expanded,
                         shape_info=shape_info, reparameterized=reparameterized, keys=keys,
                         shared_data=shared_data, logp_cfunc=logp_cfunc,
                         expand_cfunc=expand_cfunc, logp_pt=logp_pt, expand_pt=expand_pt)
    record = {"format": _RECORD_FORMAT, "n_dim": int(n_dim), "n_expanded": int(n_expanded),
              "names": list(names), "slices": [[int(s.start), int(s.stop)] for s in slices],
              "shapes": [list(shape) for shape in shapes],
              "reparameterized": list(reparameterized),
              "shared": [var.name for var in keys], "logp": logp_entry, "expand": expand_entry}
    return compiled, hits, record


def _load_recorded(model, initial_points: dict, key: GraphKey, record: dict):
    """The compiled model from its record and numba's cache, without touching PyTensor's
    rewriting or code generation."""
    names = record["names"]
    shape_info = (names, [slice(a, b) for a, b in record["slices"]],
                  [tuple(shape) for shape in record["shapes"]])
    keys = {key.shared[name]: f"k{i}" for i, name in enumerate(record["shared"])}
    shared_data = {k: _frozen_copy(var) for var, k in keys.items()}
    logp_cfunc = _load_cfunc(record["logp"], "logp_wrapper", _LOGP_SIG)
    expand_cfunc = _load_cfunc(record["expand"], "expand_wrapper", _EXPAND_SIG)
    return _assemble(model, initial_points, n_dim=record["n_dim"],
                     n_expanded=record["n_expanded"], shape_info=shape_info,
                     reparameterized=record["reparameterized"], keys=keys,
                     shared_data=shared_data, logp_cfunc=logp_cfunc, expand_cfunc=expand_cfunc)


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable (e.g. a disk error): compile, and write it again
    return record if record.get("format") == _RECORD_FORMAT else None


COMPILE_WAIT_S = 900.0
"""Longest wait for another process compiling the same model before compiling it here too."""


def _load(model, initial_points: dict, key: GraphKey, path: Path):
    """The compiled model from its record on disk, or None and why not."""
    record = _read_record(path)
    if record is None:
        return None, "none on disk"
    try:
        return _load_recorded(model, initial_points, key, record), None
    except (_NotCachedError, KeyError, ValueError, TypeError, OSError, EOFError,
            pickle.UnpicklingError, numba.core.errors.NumbaError) as exc:
        return None, f"{type(exc).__name__}: {exc}"  # then compile, and record again


@contextmanager
def _compiling(path: Path) -> Iterator[None]:
    """Hold the lock of a model's record while compiling it.

    Processes on one machine (a report's or a grid's workers, parallel tests) that need the
    same model then compile it once: the others wait, and load the record it leaves. The OS
    releases the lock of a process that dies; after :data:`COMPILE_WAIT_S` a waiting process
    compiles the model itself.
    """
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path.with_suffix(".lock"), timeout=COMPILE_WAIT_S)
    try:
        lock.acquire()
    except Timeout:
        acquired = False
    else:
        acquired = True
    try:
        yield
    finally:
        if acquired:
            lock.release()


def _compile(model, initial_points: dict) -> tuple[CompiledPyMCModel, dict[str, object]]:
    from swisbayes._base.atomic import write_text_atomic

    try:
        key = graph_key(model)
    except _UnkeyableError as exc:
        compiled, hits, _ = _compile_cached(model, initial_points)
        return compiled, {"path": "cached-wrappers", "wrapper_cache_hits": hits,
                          "record": f"none ({exc})"}
    path = record_dir() / f"{key.digest}.json"
    loaded = {"path": "cached-wrappers", "wrapper_cache_hits": 2, "record": "loaded",
              "key": key.digest}
    compiled, reason = _load(model, initial_points, key, path)
    if compiled is not None:
        return compiled, loaded
    with _compiling(path):
        if reason == "none on disk":  # another process may have compiled it meanwhile
            compiled, reason = _load(model, initial_points, key, path)
            if compiled is not None:
                return compiled, loaded
        compiled, hits, record = _compile_cached(model, initial_points)
        missing = set(record["shared"]) - set(key.shared)
        if missing:  # the rewritten graph reads data the key did not see: never record it
            return compiled, {"path": "cached-wrappers", "wrapper_cache_hits": hits,
                              "record": f"none (data outside the keyed graph: {sorted(missing)})"}
        write_text_atomic(path, json.dumps(record))
    return compiled, {"path": "cached-wrappers", "wrapper_cache_hits": hits,
                      "record": f"written ({reason})", "key": key.digest}


def compile_model(model: pm.Model, *,
                  initial_points: dict) -> tuple[CompiledPyMCModel, dict[str, object]]:
    """Compile ``model`` for ``nutpie.sample``, loading it from disk when it is cached.

    With a record of the model's graph on disk (:func:`graph_key`) and its wrappers in numba's
    cache, nothing is rewritten or compiled; otherwise the PyTensor functions are built, their
    wrappers loaded from numba's cache or compiled into it, and the record written.

    Parameters
    ----------
    model : pymc.Model
    initial_points : dict
        Starting values (before jitter) by free-variable name.

    Returns
    -------
    compiled : nutpie.compile_pymc.CompiledPyMCModel
        Its ``logp_func`` and ``expand_func`` (the PyTensor functions) are None when it was
        loaded from its record.
    info : dict
        ``{"path": "cached-wrappers", "wrapper_cache_hits": 0 | 1 | 2, "record": ...}`` with
        ``record`` ``"loaded"``, ``"written (why)"`` or ``"none (why)"`` and ``key`` the graph
        key; or ``{"path": "nutpie", "reason": ...}`` when nutpie's own compile was used.
    """
    import_nutpie()
    try:
        with deterministic_numba():
            return _compile(model, initial_points)
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


__all__ = ["GraphKey", "compile_model", "deterministic_numba", "graph_key", "import_nutpie",
           "record_dir"]
