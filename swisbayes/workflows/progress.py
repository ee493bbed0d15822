"""Progress displays: a bar for a batch of cells (done/total, failures, elapsed, time left: a
prior grid, a study, SBC) and a status line for a sequence of named steps (which model, which
prior, elapsed).

Drawn with ``rich`` on standard error, and only when that is a terminal, so logs and pipes stay
clean.
"""

from __future__ import annotations

from types import TracebackType


def _terminal_console():
    """A rich console on standard error, or None when that is not a terminal."""
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None


class BatchProgress:
    """Progress of a batch of ``total`` cells, ``done`` of which were already finished.

    Parameters
    ----------
    total : int
        Cells in the batch.
    done : int
        Cells finished before this run (resumed).
    enabled : bool
        Draw the bar (it is drawn only on a terminal even then).
    """

    def __init__(self, total: int, done: int = 0, *, enabled: bool = True) -> None:
        self.failed = 0
        self._bar = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = _terminal_console()
        if console is None:
            return
        self._bar = Progress(
            TextColumn("cells"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"), TextColumn("elapsed"),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=console, transient=False)
        self._task = self._bar.add_task("cells", total=total, completed=done, failed=0)

    def advance(self, *, failed: bool = False) -> None:
        """One more cell finished (``failed``: it failed its diagnostics or raised)."""
        self.failed += int(failed)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed)

    def __enter__(self) -> BatchProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


class StepProgress:
    """A status line naming the step in progress, with a spinner and the time elapsed.

    Parameters
    ----------
    enabled : bool
        Draw it (it is drawn only on a terminal even then).

    Examples
    --------
    >>> with StepProgress(enabled=False) as progress:
    ...     progress("s47_primary: sampling (vague prior)")
    >>> progress.steps
    ['s47_primary: sampling (vague prior)']
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.steps: list[str] = []
        self._bar = None
        console = _terminal_console() if enabled else None
        if console is None:
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                             TimeElapsedColumn(), console=console, transient=True)
        self._task = self._bar.add_task("starting", total=None)

    def __call__(self, step: str) -> None:
        """Show ``step`` as the work now in progress."""
        self.steps.append(step)
        if self._bar is not None:
            self._bar.update(self._task, description=step)

    def __enter__(self) -> StepProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


__all__ = ["BatchProgress", "StepProgress"]
