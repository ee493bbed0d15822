"""Where sampled cells run: this process, a pool of local processes, or a Dask cluster.

Each executor has ``submit(fn, *args)`` returning a future, ``wait_any(futures)`` returning the
finished ones, and ``close()``. Results do not depend on the executor: a cell's draws depend only
on its spec, seed and data, and every routing decision is taken in the calling process in a
fixed order.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Iterable
from typing import Protocol

from swisbayes._base.errors import SwisbayesError


class MissingDependencyError(SwisbayesError, ImportError):
    """An optional dependency (an extra) is needed for what was asked."""


class Executor(Protocol):
    """What the runner needs from an executor."""

    def submit(self, fn: Callable, /, *args: object) -> object:
        """Start ``fn(*args)``; returns a future (``result()`` gives its value or raises)."""

    def wait_any(self, futures: Iterable) -> set:
        """Wait until at least one of ``futures`` is done; returns the done ones."""

    def close(self) -> None:
        """Release the workers (futures not started are cancelled)."""


class _LazyFuture:
    """A future that runs its call when it is first waited for (serial execution)."""

    def __init__(self, fn: Callable, args: tuple) -> None:
        self._call = (fn, args)
        self._done = False
        self._result: object = None
        self._error: BaseException | None = None

    def run(self) -> None:
        fn, args = self._call
        try:
            self._result = fn(*args)
        except Exception as exc:  # reported per cell, like a pool's future would
            self._error = exc
        self._done = True

    def done(self) -> bool:
        return self._done

    def result(self) -> object:
        if not self._done:
            self.run()
        if self._error is not None:
            raise self._error
        return self._result


class SerialExecutor:
    """Runs each call in this process, one at a time, in submission order."""

    def submit(self, fn: Callable, /, *args: object) -> _LazyFuture:
        """A future that runs ``fn(*args)`` here when it is waited for."""
        return _LazyFuture(fn, args)

    def wait_any(self, futures: Iterable) -> set:
        """Run the first future not yet done (submission order); returns it."""
        futures = list(futures)
        for future in futures:
            if future.done():
                return {future}
        futures[0].run()
        return {futures[0]}

    def close(self) -> None:
        """Nothing to release."""


class ProcessExecutor:
    """A pool of ``workers`` local processes (spawned: forking after nutpie's threads ran can
    deadlock). Each process compiles a model structure the first time it samples it.
    """

    def __init__(self, workers: int) -> None:
        self._pool = cf.ProcessPoolExecutor(max_workers=workers,
                                            mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable, /, *args: object) -> cf.Future:
        """Queue ``fn(*args)`` for the pool."""
        return self._pool.submit(fn, *args)

    def wait_any(self, futures: Iterable) -> set:
        """Wait until at least one of ``futures`` is done; returns the done ones."""
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return set(done)

    def close(self) -> None:
        """Cancel what has not started and wait for the workers to stop."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Sends calls to a Dask distributed scheduler.

    Parameters
    ----------
    scheduler : str or distributed.Client
        Address of a running scheduler (``tcp://host:8786``), or a client.

    Raises
    ------
    MissingDependencyError
        If ``dask[distributed]`` is not installed (the ``dask`` extra).
    """

    def __init__(self, scheduler: object) -> None:
        try:
            import distributed
        except ImportError:
            raise MissingDependencyError(
                "--scheduler needs Dask: install the 'dask' extra (pip install "
                "'swisbayes[dask]', or pip install 'dask[distributed]')") from None
        self._distributed = distributed
        self._own = not isinstance(scheduler, distributed.Client)
        self._client = distributed.Client(scheduler) if self._own else scheduler

    def submit(self, fn: Callable, /, *args: object) -> object:
        """Send ``fn(*args)`` to the cluster."""
        # pure=False: a cell submitted again after a failure must run again
        return self._client.submit(fn, *args, pure=False)

    def wait_any(self, futures: Iterable) -> set:
        """Wait until at least one of ``futures`` is done; returns the done ones."""
        done, _ = self._distributed.wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self) -> None:
        """Close the client this executor opened (a client passed in stays open)."""
        if self._own:
            self._client.close()


def make_executor(workers: int = 1, scheduler: object | None = None) -> Executor:
    """The executor for these options: Dask when a scheduler is given, else a pool of
    ``workers`` processes, else this process.

    Parameters
    ----------
    workers : int, default 1
    scheduler : str or distributed.Client, optional

    Returns
    -------
    Executor
    """
    if scheduler is not None:
        return DaskExecutor(scheduler)
    if workers > 1:
        return ProcessExecutor(workers)
    return SerialExecutor()


__all__ = [
    "DaskExecutor", "Executor", "MissingDependencyError", "ProcessExecutor", "SerialExecutor",
    "make_executor"
]
