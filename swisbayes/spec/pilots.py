"""The pilots file: each pilot LA's effect estimate, its source, and whether it is an assumption."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from swisbayes._base.config import Strict, describe_error, read_toml, validated
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import OUTCOMES
from swisbayes.priors.conjugate import normal_likelihood_from_ci

if TYPE_CHECKING:

    pass


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class PilotEstimate(Strict):
    """One pilot's estimate of the effect of SWIS on one outcome in one LA.

    Give the estimate either as a ``ratio`` with its 95% CI (``ci_low``, ``ci_high``) or as a
    ``log_estimate`` with its standard error ``se`` (log scale), not both.

    Parameters
    ----------
    la : str
        Local authority.
    outcome : str
        One of the outcomes in :data:`swisbayes.data.schema.OUTCOMES` (``"s47"``, ``"s17"``, ...).
    design : str
        How the estimate was made, e.g. ``"difference-in-differences"``.
    schools : int
        Intervention (secondary) schools behind the estimate.
    ratio, ci_low, ci_high : float, optional
        Rate ratio (SWIS vs comparison; below 1 is a reduction) and its 95% CI.
    log_estimate, se : float, optional
        The log ratio and its standard error.
    source : str
        A citation, or ``"assumption"`` when the number is not published.
    rationale : str
        One sentence on where the number comes from or why it is reasonable.
    note : str, optional
        Anything else (e.g. which clusters were analysed).
    """

    la: Annotated[str, Field(min_length=1)]
    outcome: str
    design: Annotated[str, Field(min_length=1)]
    schools: Annotated[int, Field(gt=0)]
    ratio: PositiveFloat | None = None
    ci_low: PositiveFloat | None = None
    ci_high: PositiveFloat | None = None
    log_estimate: Annotated[float, Field(allow_inf_nan=False)] | None = None
    se: PositiveFloat | None = None
    source: Annotated[str, Field(min_length=1)]
    rationale: Annotated[str, Field(min_length=1)]
    note: str = ""

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str) -> str:
        if value not in OUTCOMES:
            raise ValueError(f"unknown outcome {value!r}; expected one of {', '.join(OUTCOMES)}")
        return value

    @model_validator(mode="after")
    def _one_estimate(self) -> PilotEstimate:
        ratio_keys = {"ratio": self.ratio, "ci_low": self.ci_low, "ci_high": self.ci_high}
        log_keys = {"log_estimate": self.log_estimate, "se": self.se}
        given_ratio = [k for k, v in ratio_keys.items() if v is not None]
        given_log = [k for k, v in log_keys.items() if v is not None]
        how = "give either ratio with ci_low and ci_high, or log_estimate with se"
        if given_ratio and given_log:
            problem = (f"both forms of the estimate given ({', '.join(given_ratio + given_log)})"
                       f"; {how}, not both")
        elif not given_ratio and not given_log:
            problem = f"no estimate given; {how}"
        elif given_ratio and len(given_ratio) < 3:
            missing = [k for k in ratio_keys if k not in given_ratio]
            problem = f"missing {' and '.join(missing)}: {how}"
        elif given_log and len(given_log) < 2:
            missing = [k for k in log_keys if k not in given_log]
            problem = f"missing {' and '.join(missing)}: {how}"
        elif given_ratio and not self.ci_low < self.ratio < self.ci_high:
            problem = (f"ci_low, ci_high: the 95% CI [{self.ci_low:g}, {self.ci_high:g}] does "
                       f"not contain the ratio {self.ratio:g} (need ci_low < ratio < ci_high)")
        else:
            return self
        raise PydanticCustomError("pilot_estimate", problem)

    @property
    def log_ratio(self) -> float:
        """The estimate on the log scale: ``log_estimate``, or ``log(ratio)``."""
        return self.log_estimate if self.log_estimate is not None else math.log(self.ratio)

    @property
    def log_se(self) -> float:
        """Standard error of :attr:`log_ratio`: ``se``, or the log CI width / (2 x 1.96)."""
        if self.se is not None:
            return self.se
        return normal_likelihood_from_ci(self.ratio, self.ci_low, self.ci_high)[1]

    @property
    def is_assumption(self) -> bool:
        """True when the number is an assumption rather than a published estimate."""
        return self.source.strip().lower() == "assumption"


class _PilotsSource(Strict):
    report: Annotated[str, Field(min_length=1)]
    url: str = ""
    peer_reviewed: str = ""
    note: str = ""


class _PilotsFile(Strict):
    source: _PilotsSource
    pilot: Annotated[list[dict[str, Any]], Field(min_length=1)]


def load_pilots(path: str | Path) -> list[PilotEstimate]:
    """Read and validate pilot estimates from a TOML file.

    The file has a ``[source]`` table (``report``, and optionally ``url``, ``peer_reviewed``,
    ``note``) and one ``[[pilot]]`` table per estimate, with the keys of
    :class:`PilotEstimate`. Unknown keys are errors.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file (only read).

    Returns
    -------
    list of PilotEstimate
        In file order.

    Raises
    ------
    SpecError
        If the file is missing or not TOML, or any entry is invalid. Every problem is listed,
        each naming the entry (``pilot[index]`` and its ``la``) and the field: a missing or
        unknown key, a non-positive ratio, CI bound or SE, a CI that does not contain the
        ratio, both or neither of (ratio, ci_low, ci_high) and (log_estimate, se), or a second
        entry for the same LA and outcome.

    Examples
    --------
    >>> pilots = load_pilots("models/pilots.toml")
    >>> [(p.la, p.outcome) for p in pilots]
    [('Lambeth', 's47'), ('Southampton', 's47'), ('Stockport', 's17')]
    >>> round(pilots[0].log_se, 3)
    0.181
    """
    path = Path(path)
    top = validated(_PilotsFile, read_toml(path, "pilots"), str(path), kind="pilots file")
    pilots: list[PilotEstimate] = []
    problems: list[str] = []
    first: dict[tuple[str, str], int] = {}  # (la, outcome) -> index of its first entry
    for i, entry in enumerate(top.pilot):
        la = entry.get("la")
        label = f"pilot[{i}] (la {la!r})" if isinstance(la, str) else f"pilot[{i}] (no la)"
        try:
            pilot = PilotEstimate.model_validate(entry)
        except ValidationError as exc:
            problems.extend(f"{label}: {_describe_entry_error(err)}" for err in exc.errors())
            continue
        key = (pilot.la.strip().lower(), pilot.outcome)
        if key in first:
            problems.append(f"{label}: a second {pilot.outcome} estimate for {pilot.la} "
                            f"(pilot[{first[key]}] is the first); expected one estimate per LA "
                            "and outcome, since the meta-analysis counts each as a separate LA")
        first.setdefault(key, i)
        pilots.append(pilot)
    if problems:
        raise SpecError(f"{path}: {len(problems)} problem(s) in the pilot estimates\n"
                        + "\n".join(f"  - {p}" for p in problems))
    return pilots


def _describe_entry_error(err: dict) -> str:
    """One line for a pydantic error in a pilot entry (the entry is named by the caller)."""
    if err["type"] == "pilot_estimate":
        return err["msg"]
    if err["type"] == "extra_forbidden":
        return (f"unknown key '{err['loc'][-1]}'; allowed keys: "
                f"{', '.join(PilotEstimate.model_fields)}")
    return describe_error(PilotEstimate, err)


__all__ = ["PilotEstimate", "load_pilots"]
