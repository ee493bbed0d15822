"""Exceptions raised by swisbayes.

Every error names what was wrong (file, row, column or field), what was found and what was
expected, so that a user can fix the input without reading the source.
"""

from __future__ import annotations


class SwisbayesError(Exception):
    """Base class for all errors raised on purpose by swisbayes."""


class DataError(SwisbayesError, ValueError):
    """Trial data failed validation or could not be read.

    Parameters
    ----------
    message : str
        The readable message (for a validation failure, every problem found).
    report : object, optional
        The :class:`swisbayes.data.checks.ValidationReport` behind the message, when there is one.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class SpecError(SwisbayesError, ValueError):
    """An analysis specification (TOML) is malformed, has unknown keys or bad values."""


class ConvergenceError(SwisbayesError, RuntimeError):
    """A fit failed its diagnostics gate and the caller asked for failures to raise."""
