"""Published results of the trial (effect estimates, intervals, counts), with their citations."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Annotated, Literal

from pydantic import Field, model_validator

from swisbayes._base.config import PositiveFloat, Strict, validated
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import OUTCOMES

PUBLISHED_FILE = "published.toml"
"""Name of the bundled file of published results (in ``swisbayes/data/files``)."""


PUBLISHED = "published"


NO_ESTIMATE = "not significant, no estimate published"


class Citation(Strict):
    """A source and the exact words quoted from it."""

    source: str
    quote: str


class PublishedOutcome(Strict):
    """What was published for one outcome: an estimate with its CI, or only a status.

    Parameters
    ----------
    status : {"published", "not significant, no estimate published"}
        Whether a numeric estimate was published.
    source : str
        URL of the source.
    quote : str
        The exact words of the source.
    measure : {"IRR"}, optional
        Scale of the estimate (published entries only).
    estimate : float, optional
        Point estimate (published entries only).
    ci : tuple of float, optional
        Lower and upper confidence limits (published entries only).
    ci_level : float, optional
        Level of the confidence interval (published entries only).
    n_swis, n_control : int, optional
        Schools analysed in each arm.
    adjusted_for : tuple of str, default ()
        Covariates the published analysis adjusted for.
    note : str, default ""
        How the numbers were read from the source (e.g. derived from percentages).
    supporting : tuple of Citation, default ()
        Further sources for the sample sizes and the adjustment.
    """

    status: Literal["published", "not significant, no estimate published"]
    source: str
    quote: str
    measure: Literal["IRR"] | None = None
    estimate: PositiveFloat | None = None
    ci: tuple[PositiveFloat, PositiveFloat] | None = None
    ci_level: Annotated[float, Field(gt=0, lt=1)] | None = None
    n_swis: Annotated[int, Field(gt=0)] | None = None
    n_control: Annotated[int, Field(gt=0)] | None = None
    adjusted_for: tuple[str, ...] = ()
    note: str = ""
    supporting: tuple[Citation, ...] = ()

    @model_validator(mode="after")
    def _numbers_match_status(self) -> PublishedOutcome:
        numbers = {"measure": self.measure, "estimate": self.estimate, "ci": self.ci,
                   "ci_level": self.ci_level}
        if self.status == PUBLISHED:
            missing = [k for k, v in numbers.items() if v is None]
            if missing:
                raise ValueError(f"status 'published' needs {', '.join(missing)}")
        else:
            present = [k for k, v in numbers.items() if v is not None]
            if present:
                raise ValueError(f"status {self.status!r} must not carry {', '.join(present)}: "
                                 "no estimate was published")
        return self

    @property
    def has_estimate(self) -> bool:
        """True when a numeric estimate with a CI was published."""
        return self.status == PUBLISHED


class _PublishedFile(Strict):
    outcomes: dict[str, PublishedOutcome]

    @model_validator(mode="after")
    def _known_outcomes(self) -> _PublishedFile:
        unknown = [o for o in self.outcomes if o not in OUTCOMES]
        if unknown:
            raise ValueError(f"unknown outcome(s) {unknown}; known: {', '.join(OUTCOMES)}")
        return self


def load_published() -> dict[str, PublishedOutcome]:
    """Load the bundled published results of the SWIS trial.

    Returns
    -------
    dict of str to PublishedOutcome
        One entry per outcome, keyed by outcome name (as in :data:`swisbayes.data.schema.OUTCOMES`).

    Raises
    ------
    SpecError
        If the bundled file is malformed (a packaging error).

    Examples
    --------
    >>> pub = load_published()
    >>> pub["s47"].estimate, pub["s47"].ci
    (1.055, (0.955, 1.166))
    >>> pub["care_entry"].estimate is None
    True
    """
    return dict(_load_published_file().outcomes)  # a copy: callers may not alter the cache


@functools.cache
def _load_published_file() -> _PublishedFile:
    # Read and validated once per process: the file ships with the package.
    text = (resources.files("swisbayes.data") / "files" / PUBLISHED_FILE).read_text("utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{PUBLISHED_FILE}: not valid TOML ({exc})") from None
    return validated(_PublishedFile, raw, PUBLISHED_FILE)


def has_published_estimate(outcome: str) -> bool:
    """Whether a numeric estimate was published for ``outcome`` (:func:`published_estimate`).

    Examples
    --------
    >>> has_published_estimate("s47"), has_published_estimate("exclusions")
    (True, False)
    """
    entry = load_published().get(outcome)
    return entry is not None and entry.has_estimate


def published_estimate(outcome: str) -> PublishedOutcome:
    """The published entry of ``outcome``, which must have a numeric estimate.

    Parameters
    ----------
    outcome : str
        Outcome name, e.g. ``"s47"``.

    Returns
    -------
    PublishedOutcome
        An entry with ``estimate``, ``ci`` and ``ci_level`` set.

    Raises
    ------
    SpecError
        If the outcome is unknown, or no estimate was published for it; the message names the
        outcomes that have one.
    """
    published = load_published()
    with_estimate = [o for o, p in published.items() if p.has_estimate]
    entry = published.get(outcome)
    if entry is None or not entry.has_estimate:
        status = f" ({entry.status}; {entry.source})" if entry is not None else ""
        raise SpecError(f"no estimate was published for outcome {outcome!r}{status}; outcomes "
                        f"with a published estimate: {', '.join(with_estimate)}. To re-analyse "
                        "your own figures, give an estimate and its CI (estimate= and ci=, or "
                        "--estimate and --ci).")
    return entry


__all__ = ["Citation", "PublishedOutcome", "has_published_estimate", "load_published",
           "published_estimate"]
