"""A progress bar for a sensitivity run: cells done/total, failures, elapsed, time left.

Drawn with ``rich`` on standard error, and only when that is a terminal, so logs and pipes stay
clean.
"""

from __future__ import annotations

from types import TracebackType


class GridProgress:
    """Progress of a run over ``total`` cells, ``done`` of which were already finished.

    Parameters
    ----------
    total : int
        Cells in the grid.
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
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if not console.is_terminal:
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

    def __enter__(self) -> GridProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


__all__ = ["GridProgress"]
