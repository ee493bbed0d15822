"""Where a batch's cells run: standard :class:`concurrent.futures.Executor` objects.

===================  ==================================================================
options              executor
===================  ==================================================================
``workers=1``        :class:`InProcessExecutor`: each call runs here, when submitted
``workers=N``        :class:`concurrent.futures.ProcessPoolExecutor` of N spawned processes
``scheduler=ADDR``   ``distributed.Client(ADDR).get_executor(pure=False)`` (Dask)
===================  ==================================================================

Results do not depend on the executor: a cell's result depends only on its arguments (spec,
seed, data), and the engine takes every decision in the calling process, handling finished
calls in the order they were submitted.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import gc
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from swisbayes._base.errors import SwisbayesError


class MissingDependencyError(SwisbayesError, ImportError):
    """An optional dependency (an extra) is needed for what was asked."""


class InProcessExecutor(cf.Executor):
    """A :class:`concurrent.futures.Executor` that runs each call in this process as it is
    submitted, and returns its already finished future (an exception is kept in the future,
    as a pool would).
    """

    def __init__(self) -> None:
        self._closed = False

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` now; returns its finished future."""
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: cf.Future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # reported per cell, like a pool's future would
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more calls (none is ever left running)."""
        self._closed = True


@dataclass(frozen=True)
class Workers:
    """An open executor and how many calls the engine keeps in flight on it.

    Parameters
    ----------
    executor : concurrent.futures.Executor
    slots : int or None
        Calls submitted and not yet handled, at most; None submits every call that is ready
        (the pool or the scheduler queues them). The in-process executor has 1: it runs each
        call as it is submitted, so the engine handles (writes) one before it submits the next.
    """

    executor: cf.Executor
    slots: int | None


@contextlib.contextmanager
def open_executor(workers: int = 1, scheduler: object | None = None) -> Iterator[Workers]:
    """The executor for these options, open for the duration of the block.

    Dask when a scheduler is given, else a pool of ``workers`` local processes (spawned:
    forking after nutpie's threads ran can deadlock; each process compiles a model structure
    the first time it samples it), else this process.

    Parameters
    ----------
    workers : int, default 1
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler (``tcp://host:8786``), or a client (left open).

    Yields
    ------
    Workers

    Raises
    ------
    MissingDependencyError
        If a scheduler is given and ``dask[distributed]`` (the ``dask`` extra) is not installed.
    """
    if scheduler is not None:
        with _dask_client(scheduler) as client:
            # pure=False: a cell submitted again after a failure must run again
            yield Workers(client.get_executor(pure=False), None)
    elif workers > 1:
        pool = cf.ProcessPoolExecutor(max_workers=workers,
                                      mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_skip_final_collection)
        try:
            yield Workers(pool, None)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        executor = InProcessExecutor()
        yield Workers(executor, 1)
        executor.shutdown()


def _skip_final_collection() -> None:
    """Run in each pool process: when it exits, skip the final garbage collection.

    A worker's last act is to exit, and the pool's shutdown waits for it; walking every object
    of its imported modules (0.25 s) only frees memory the OS takes back. Its results have
    been returned by then.
    """
    atexit.register(gc.freeze)


@contextlib.contextmanager
def _dask_client(scheduler: object) -> Iterator[object]:
    """A client of ``scheduler``; closed afterwards when opened here (a client passed in
    stays open)."""
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "--scheduler needs Dask: install the 'dask' extra (pip install "
            "'swisbayes[dask]', or pip install 'dask[distributed]')") from None
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    client = distributed.Client(scheduler)
    try:
        yield client
    finally:
        client.close()


__all__ = ["InProcessExecutor", "MissingDependencyError", "Workers", "open_executor"]
