"""Economic inputs and value for money: net monetary benefit, acceptability curve and EVPI.

The inputs of the investment decision (programme cost, the value of each averted event, the size
of a roll-out, willingness-to-pay thresholds, the cost of a further trial and the decision rule)
live in a TOML file, by default the bundled ``models/economics.toml``. Every number in it carries
its ``source``: a citation, or ``"assumption"`` with a one-sentence ``rationale``, and
:meth:`EconomicInputs.assumptions` lists the assumptions so that a report can print them.

The kernels work on posterior draws, optionally importance-weighted (one non-negative weight per
draw), and use the weighted kernels of :mod:`swisbayes.decision.summaries`:

- :func:`net_benefit`: net monetary benefit (NMB) per intervention school-year,
  :math:`\\sum_k v_k a_k - c`, for values :math:`v_k` per averted event, events averted per
  school-year :math:`a_k` and cost per school-year :math:`c`;
- :func:`summarise_net_benefit`: its mean, median, interval and P(NMB > 0);
- :func:`ceac`: the cost-effectiveness acceptability curve, P(NMB > 0) across willingness-to-pay;
- :func:`evpi`, :func:`evpi_by_wtp`: the expected value of perfect information of the choice
  between investing and not investing.

NMB per school-year scales to a roll-out by :func:`population_scale` (schools times the
discounted number of years). The value of a further trial is in
:mod:`swisbayes.economics.voi`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from swisbayes._base.config import Strict, describe_error, read_toml
from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError
from swisbayes._base.files import default_file
from swisbayes.data.schema import known_outcomes, unknown_outcome_message
from swisbayes.decision.draws import (
    equal_tailed_interval,
    normalised_weights,
    prob_above,
    weighted_quantile,
)
from swisbayes.decision.mcse import share_mcse

if TYPE_CHECKING:
    from swisbayes.decision.rule import DecisionRule

DEFAULT_ECONOMICS = Path("models") / "economics.toml"
"""Economic inputs used when none are named: relative to the working directory, else the
project's."""

ASSUMPTION = "assumption"
"""The ``source`` of an input that is not on record."""

# ----------------------------------------------------------------------------- the inputs


class Sourced(Strict):
    """One economic input and where it comes from.

    Parameters
    ----------
    value : float
        The number.
    source : str
        A citation (URL or reference), or ``"assumption"``.
    rationale : str
        Why the number is reasonable; required (one sentence) when ``source`` is
        ``"assumption"``.
    note : str
        How the number was read or derived from the source, and any corroboration.
    """

    value: Annotated[float, Field(allow_inf_nan=False)]
    source: str
    rationale: str = Field("", validate_default=True)
    note: str = ""

    @field_validator("source")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(f"give a citation (a URL or reference) or {ASSUMPTION!r}")
        return value

    @field_validator("rationale")
    @classmethod
    def _assumption_explained(cls, value: str, info: ValidationInfo) -> str:
        source = info.data.get("source")
        if isinstance(source, str) and _is_assumption(source) and not value.strip():
            raise ValueError(f"an input whose source is {ASSUMPTION!r} needs a one-sentence "
                             "'rationale'")
        return value

    @property
    def is_assumption(self) -> bool:
        """True when the value is an assumption rather than a figure on record."""
        return _is_assumption(self.source)


def _is_assumption(source: str) -> bool:
    return source.strip().lower() == ASSUMPTION


class Money(Sourced):
    """A cost or value in money (non-negative)."""

    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Count(Sourced):
    """A whole number of schools or years (positive)."""

    value: Annotated[int, Field(gt=0)]


class Rate(Sourced):
    """A yearly rate such as the discount rate, in [0, 1)."""

    value: Annotated[float, Field(ge=0, lt=1)]


class Year(Sourced):
    """A calendar year."""

    value: Annotated[int, Field(ge=1900, le=2100)]


def _known_outcome(name: str) -> str:
    """An outcome the schema knows: built in, or declared by a spec read before."""
    if name not in known_outcomes():
        raise ValueError(unknown_outcome_message(name, "expected one of"))
    return name


OutcomeName = Annotated[str, AfterValidator(_known_outcome)]
"""A key of ``value_per_event``: a built-in outcome, or one a spec read in this process declares
(so another trial's economic inputs can value its own outcomes)."""


class Rollout(Strict):
    """The population a roll-out decision concerns: schools for a discounted number of years."""

    schools: Count
    horizon_years: Count
    discount_rate: Rate


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1)]


class PublishedAcceptability(Strict):
    """Published probabilities that the programme is cost-effective at given thresholds."""

    wtp: Annotated[tuple[NonNegative, ...], Field(min_length=1)]
    prob_cost_effective: Annotated[tuple[Probability, ...], Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]
    quote: str = ""

    @model_validator(mode="after")
    def _paired(self) -> PublishedAcceptability:
        if len(self.wtp) != len(self.prob_cost_effective):
            raise ValueError(f"wtp and prob_cost_effective must have the same length; got "
                             f"{len(self.wtp)} and {len(self.prob_cost_effective)}")
        return self


class WillingnessToPay(Strict):
    """Willingness to pay per S47 enquiry avoided: the grid of the acceptability curve."""

    grid: Annotated[tuple[NonNegative, ...], Field(min_length=1)]
    published: PublishedAcceptability | None = None

    @field_validator("grid")
    @classmethod
    def _increasing(cls, grid: tuple[float, ...]) -> tuple[float, ...]:
        _check_increasing(grid)
        return grid

    @field_validator("published")
    @classmethod
    def _on_the_grid(cls, published: PublishedAcceptability | None,
                     info: ValidationInfo) -> PublishedAcceptability | None:
        grid = info.data.get("grid")
        if published is None or grid is None:  # an invalid grid is reported on its own
            return published
        missing = [v for v in published.wtp if v not in grid]
        if missing:
            raise ValueError(f"published thresholds {missing} are not on the grid "
                             f"{list(grid)}; add them so the curve can be compared")
        return published


class FurtherTrial(Strict):
    """Cost of a further SWIS-like trial, ``fixed_cost + cost_per_school * 2 * n_per_arm``."""

    fixed_cost: Money
    cost_per_school: Money
    n_per_arm: Annotated[tuple[Annotated[int, Field(gt=0)], ...], Field(min_length=1)]

    @field_validator("n_per_arm")
    @classmethod
    def _increasing(cls, grid: tuple[int, ...]) -> tuple[int, ...]:
        _check_increasing(grid)
        return grid

    def cost(self, n_per_arm: int | np.ndarray) -> float | np.ndarray:
        """Cost of a trial with ``n_per_arm`` schools in each of its two arms.

        Parameters
        ----------
        n_per_arm : int or numpy.ndarray

        Returns
        -------
        float or numpy.ndarray
        """
        return self.fixed_cost.value + self.cost_per_school.value * 2 * np.asarray(n_per_arm)


def _check_increasing(grid: Sequence[float]) -> None:
    if any(b <= a for a, b in itertools.pairwise(grid)):
        raise ValueError(f"must be strictly increasing; got {list(grid)}")


class RuleThresholds(Strict):
    """Thresholds of the investment decision rule (:class:`swisbayes.decision.rule.DecisionRule`).

    Parameters
    ----------
    invest_prob_meaningful : float
        Invest only if P(meaningful reduction) is at least this ...
    invest_prob_nmb_positive : float
        ... and P(NMB > 0) is at least this.
    stop_prob_meaningful : float
        Stop when P(meaningful reduction) is below this; in between, seek more evidence.
    """

    invest_prob_meaningful: Probability
    invest_prob_nmb_positive: Probability
    stop_prob_meaningful: Probability

    @model_validator(mode="after")
    def _consistent(self) -> RuleThresholds:
        if not self.stop_prob_meaningful < self.invest_prob_meaningful:
            raise ValueError(f"stop_prob_meaningful ({self.stop_prob_meaningful}) must be below "
                             f"invest_prob_meaningful ({self.invest_prob_meaningful})")
        return self  # with the [0, 1] bounds, every check DecisionRule makes

    def decision_rule(self) -> DecisionRule:
        """The rule as a :class:`swisbayes.decision.rule.DecisionRule`.

        Returns
        -------
        DecisionRule
        """
        from swisbayes.decision.rule import DecisionRule

        return DecisionRule(invest=self.invest_prob_meaningful, stop=self.stop_prob_meaningful,
                            invest_nmb=self.invest_prob_nmb_positive)


class EconomicInputs(Strict):
    """The economic inputs of the investment decision (see ``models/economics.toml``).

    Parameters
    ----------
    currency : str
        ISO code of the currency, e.g. ``"GBP"``.
    price_year : Year
        Year whose prices all amounts are in.
    cost_per_school_year : Money
        Programme cost per intervention school per year.
    value_per_event : dict of str to Money
        Value of one averted event, by outcome (one of :data:`swisbayes.data.schema.OUTCOMES`).
        Outcomes left out have no value of their own (care entry is counted through days in
        care).
    rollout : Rollout
        Schools, horizon and discount rate of a roll-out.
    willingness_to_pay : WillingnessToPay
        Grid of thresholds per S47 enquiry avoided, and the published acceptability.
    further_trial : FurtherTrial
        Costs and sizes of a further trial.
    rule : RuleThresholds
        Thresholds of the decision rule.
    """

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "GBP"
    price_year: Year
    cost_per_school_year: Money
    value_per_event: Annotated[dict[OutcomeName, Money], Field(min_length=1)]
    rollout: Rollout
    willingness_to_pay: WillingnessToPay
    further_trial: FurtherTrial
    rule: RuleThresholds

    @property
    def values(self) -> dict[str, float]:
        """Value per averted event, by outcome (outcomes without a value are absent)."""
        return {outcome: entry.value for outcome, entry in self.value_per_event.items()}

    @property
    def decision_rule(self) -> DecisionRule:
        """The decision rule built from ``[rule]``."""
        return self.rule.decision_rule()

    def sourced(self) -> list[tuple[str, Sourced]]:
        """Every sourced input with its field path, in file order.

        Returns
        -------
        list of (str, Sourced)
            E.g. ``("value_per_event.s47", Money(value=2000.0, ...))``.
        """
        return list(_walk(self, ""))

    def assumptions(self) -> list[tuple[str, float, str]]:
        """Every input whose source is ``"assumption"``: field path, value and rationale.

        Returns
        -------
        list of (str, float, str)
        """
        return [(path, entry.value, entry.rationale) for path, entry in self.sourced()
                if entry.is_assumption]

    def to_dict(self) -> dict:
        """JSON-ready copy of the inputs (every value with its source), for provenance."""
        return self.model_dump(mode="json")

    def with_value(self, outcome: str, value: float, *,
                   rationale: str = "Varied in a sensitivity analysis of the assumed unit "
                                    "cost.") -> EconomicInputs:
        """The same inputs with another value per averted event of one outcome, validated.

        The new value is an assumption with ``rationale``, validated like the file (so a
        negative or mistyped value fails as it would there).

        Parameters
        ----------
        outcome : str
            An outcome of :data:`swisbayes.data.schema.OUTCOMES`.
        value : float
            Value of one averted event.
        rationale : str, optional
            Why this value (recorded with it).

        Returns
        -------
        EconomicInputs

        Raises
        ------
        SpecError
            If the value or outcome is invalid.

        Examples
        --------
        >>> load_economics().with_value("s47", 50_000).values["s47"]
        50000.0
        """
        raw = self.to_dict()
        raw["value_per_event"][outcome] = {"value": value, "source": ASSUMPTION,
                                           "rationale": rationale}
        return validated_economics(raw, source=f"economic inputs with value_per_event."
                                               f"{outcome} = {value!r}")


def _walk(node: Any, path: str) -> Iterator[tuple[str, Sourced]]:
    if isinstance(node, Sourced):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")


def economics_path(path: str | Path | None = None) -> Path:
    """The economic inputs file to read.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A file; when None, :data:`DEFAULT_ECONOMICS` relative to the working directory if it
        exists there, else the project's bundled file.

    Returns
    -------
    pathlib.Path
    """
    if path is not None:
        return Path(path)
    return default_file(DEFAULT_ECONOMICS.name)


def load_economics(path: str | Path | None = None) -> EconomicInputs:
    """Read and validate the economic inputs.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A TOML file; the bundled ``models/economics.toml`` when None (see
        :func:`economics_path`).

    Returns
    -------
    EconomicInputs

    Raises
    ------
    SpecError
        If the file is missing or not TOML, or a value is invalid. The message names the file
        and each field path, e.g. ``models/economics.toml: value_per_event.s47.rationale: ...``:
        unknown keys and outcomes (listing the allowed ones), negative costs, an empty, unsorted
        or negative willingness-to-pay grid, an ``"assumption"`` without a rationale, an
        inconsistent decision rule.

    Examples
    --------
    >>> inputs = load_economics()
    >>> inputs.cost_per_school_year.value, inputs.values["s47"]
    (37500.0, 2000.0)
    """
    file = economics_path(path)
    return validated_economics(read_toml(file, "economic inputs"), str(file))


def validated_economics(raw: dict, source: str = "<economics>") -> EconomicInputs:
    """Validate economic inputs given as a dict (a parsed TOML file).

    Parameters
    ----------
    raw : dict
    source : str, default "<economics>"
        Where the dict came from, named in messages.

    Returns
    -------
    EconomicInputs

    Raises
    ------
    SpecError
        Every problem, with its field path (see :func:`load_economics`).
    """
    try:
        return EconomicInputs.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe_error(err) for err in exc.errors()]
    if len(lines) == 1:
        raise SpecError(f"{source}: {lines[0]}")
    raise SpecError(f"{source}: {len(lines)} problems in the economic inputs\n" + "\n".join(
        f"  - {line}" for line in lines))


def _describe_error(err: dict) -> str:
    loc = [str(p) for p in err["loc"]]
    section = ".".join(loc[:-1]) or "the top level"
    if loc and loc[-1] == "[key]":  # a dict key that is not an outcome
        return f"{'.'.join(loc[:-2])}: {unknown_outcome_message(err['input'])}"
    if err["type"] == "extra_forbidden":
        owner = _owner(loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else "?"
        return f"unknown key '{loc[-1]}' in {section}; allowed keys: {allowed}"
    if isinstance(err.get("input"), dict) and err["type"] != "missing":
        # the whole table was found: name the table, not its contents
        return f"{'.'.join(loc) or '(top level)'}: {err['msg']}"
    return describe_error(EconomicInputs, err)


def _owner(loc: list[str]) -> type[BaseModel] | None:
    """The model at a field path, through optional fields and the outcome dict."""
    current: type[BaseModel] | None = EconomicInputs
    keys = iter(loc)
    for key in keys:
        field = current.model_fields.get(key) if current is not None else None
        if field is None:
            return None
        annotation = field.annotation
        if get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
            next(keys, None)  # the outcome name
        current = next((a for a in (annotation, *get_args(annotation))
                        if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return current


# ----------------------------------------------------------------------------- scaling


def annuity_factor(horizon_years: int, discount_rate: float) -> float:
    """Discounted number of years: :math:`\\sum_{t=0}^{H-1} (1 + r)^{-t}`.

    The first year is not discounted (costs and benefits start when the programme does).

    Parameters
    ----------
    horizon_years : int
        Number of years :math:`H` (at least 1).
    discount_rate : float
        Yearly discount rate :math:`r` (0 <= r < 1).

    Returns
    -------
    float

    Raises
    ------
    SpecError
        If ``horizon_years`` is not a positive whole number or ``discount_rate`` is out of range.

    Examples
    --------
    >>> annuity_factor(3, 0.0), round(annuity_factor(2, 0.25), 6)
    (3.0, 1.8)
    """
    if isinstance(horizon_years, bool) or int(horizon_years) != horizon_years or horizon_years < 1:
        raise SpecError(f"horizon_years must be a positive whole number; got {horizon_years!r}")
    if not 0.0 <= discount_rate < 1.0:
        raise SpecError(f"discount_rate must be in [0, 1); got {discount_rate!r}")
    years = np.arange(int(horizon_years))
    return float(np.sum((1.0 + discount_rate) ** -years))


def population_scale(inputs: EconomicInputs) -> float:
    """Factor from a per school-year amount to the whole roll-out.

    Parameters
    ----------
    inputs : EconomicInputs

    Returns
    -------
    float
        Roll-out schools times :func:`annuity_factor` of the roll-out's horizon and discount
        rate.

    Examples
    --------
    >>> round(population_scale(load_economics()), 1)  # 160 schools x 4.673 discounted years
    747.7
    """
    rollout = inputs.rollout
    return rollout.schools.value * annuity_factor(rollout.horizon_years.value,
                                                  rollout.discount_rate.value)


# ----------------------------------------------------------------------------- kernels


def net_benefit(averted_per_school_year: Mapping[str, np.ndarray], values: Mapping[str, float],
                cost: float | np.ndarray) -> np.ndarray:
    """Net monetary benefit draws per intervention school-year.

    Parameters
    ----------
    averted_per_school_year : mapping of str to numpy.ndarray
        Draws of events averted per school-year, by outcome, aligned by index (draw ``i`` of
        every outcome comes from the same posterior draw; the caller pairs them).
    values : mapping of str to float
        Value of one averted event, by outcome. An outcome of ``averted_per_school_year``
        without a value adds nothing (care entry is valued through days in care).
    cost : float or numpy.ndarray
        Cost per school-year (or draws of it, aligned with the others).

    Returns
    -------
    numpy.ndarray
        :math:`\\sum_k v_k a_k - c`, one value per draw.

    Raises
    ------
    SpecError
        For an unknown outcome, no valued outcome, or draws of different shapes.

    Examples
    --------
    >>> net_benefit({"s47": np.array([10.0, 20.0]), "care_entry": np.array([1.0, 2.0])},
    ...             {"s47": 2000.0}, 30000.0)
    array([-10000.,  10000.])
    """
    known = known_outcomes()
    unknown = [k for k in (*averted_per_school_year, *values) if k not in known]
    if unknown:
        raise SpecError(unknown_outcome_message(unknown))
    valued = [k for k in averted_per_school_year if k in values]
    if not valued:
        raise SpecError(f"none of the outcomes {list(averted_per_school_year)} has a value per "
                        f"averted event (values are given for {list(values)})")
    draws = {k: np.asarray(averted_per_school_year[k], dtype=float) for k in valued}
    shapes = {k: d.shape for k, d in draws.items()}
    cost_arr = np.asarray(cost, dtype=float)
    first = draws[valued[0]].shape
    if len(set(shapes.values())) > 1 or (cost_arr.ndim and cost_arr.shape != first):
        raise SpecError(f"draws must be aligned (the same shape); got {shapes} and cost "
                        f"{cost_arr.shape or 'scalar'}")
    total = sum(float(values[k]) * draws[k] for k in valued)
    return np.asarray(total - cost_arr, dtype=float)


def _mean(x: np.ndarray, weights: np.ndarray | None) -> float:
    """Mean of draws, weighted when weights are given."""
    w = normalised_weights(weights, x.size)
    return float(np.mean(x)) if w is None else float(np.dot(w, x))


@dataclass(frozen=True)
class NetBenefitSummary:
    """Posterior summary of net monetary benefit per school-year.

    Parameters
    ----------
    mean, median : float
    ci : tuple of float
        Equal-tailed interval with probability ``ci_prob``.
    ci_prob : float
    prob_positive : float
        P(NMB > 0): the probability that investing is worth its cost.
    prob_positive_mcse : float, optional
        Its Monte Carlo standard error (:mod:`swisbayes.decision.mcse`, the draws taken in
        order as one sequence).
    """

    mean: float
    median: float
    ci: tuple[float, float]
    ci_prob: float
    prob_positive: float
    prob_positive_mcse: float | None = field(default=None, kw_only=True)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {"nmb_mean": self.mean, "nmb_median": self.median, "nmb_ci": list(self.ci),
                "ci_prob": self.ci_prob, "prob_nmb_positive": self.prob_positive,
                "prob_nmb_positive_mcse": self.prob_positive_mcse}


def summarise_net_benefit(nmb: np.ndarray, weights: np.ndarray | None = None,
                          ci_prob: float | None = None) -> NetBenefitSummary:
    """Mean, median, interval and P(NMB > 0) of (weighted) net-benefit draws.

    Parameters
    ----------
    nmb : numpy.ndarray
        Draws of net monetary benefit.
    weights : numpy.ndarray, optional
        One non-negative weight per draw (importance weights); equal weights when None.
    ci_prob : float, optional
        Interval probability; defaults to :data:`swisbayes._base.defaults.CI_PROB`.

    Returns
    -------
    NetBenefitSummary

    Examples
    --------
    >>> s = summarise_net_benefit(np.array([-3.0, -1.0, 2.0, 6.0]))
    >>> s.mean, s.median, s.prob_positive
    (1.0, 0.5, 0.5)
    """
    x = np.asarray(nmb, dtype=float).ravel()
    prob = validate_ci_prob(ci_prob)
    positive = prob_above(x, 0.0, weights=weights)
    return NetBenefitSummary(
        mean=_mean(x, weights),
        median=float(weighted_quantile(x, 0.5, weights=weights)),
        ci=equal_tailed_interval(x, prob, weights=weights),
        ci_prob=prob,
        prob_positive=positive,
        prob_positive_mcse=share_mcse(positive, x > 0.0, 1,
                                      normalised_weights(weights, x.size)),
    )


def _net_benefit_by_wtp(averted: np.ndarray, cost: float | np.ndarray,
                        wtp: Sequence[float]) -> Iterator[np.ndarray]:
    """Net-benefit draws ``t * averted - cost`` at each willingness to pay ``t``."""
    a = np.asarray(averted, dtype=float).ravel()
    c = np.broadcast_to(np.asarray(cost, dtype=float), np.shape(averted)).ravel()
    for t in wtp:
        yield float(t) * a - c


def ceac(averted: np.ndarray, cost: float | np.ndarray, wtp: Sequence[float],
         weights: np.ndarray | None = None) -> np.ndarray:
    """Cost-effectiveness acceptability curve: P(wtp * averted - cost > 0) at each threshold.

    This is the published definition (threshold per S47 enquiry avoided): the probability that
    the events averted, valued at the threshold, pay for the programme.

    Parameters
    ----------
    averted : numpy.ndarray
        Draws of events averted per school-year.
    cost : float or numpy.ndarray
        Cost per school-year (or draws of it, aligned with ``averted``).
    wtp : sequence of float
        Willingness to pay per event averted.
    weights : numpy.ndarray, optional
        One non-negative weight per draw; equal weights when None.

    Returns
    -------
    numpy.ndarray
        One probability per threshold.

    Examples
    --------
    >>> ceac(np.array([-1.0, 1.0, 2.0, 4.0]), 2.0, [0.0, 1.0, 2.0, 10.0])
    array([0.  , 0.25, 0.5 , 0.75])
    """
    return np.array([prob_above(nmb, 0.0, weights=weights)
                     for nmb in _net_benefit_by_wtp(averted, cost, wtp)])


def evpi(nmb: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Expected value of perfect information of investing (NMB) versus not investing (0).

    Parameters
    ----------
    nmb : numpy.ndarray
        Draws of the net monetary benefit of investing.
    weights : numpy.ndarray, optional
        One non-negative weight per draw; equal weights when None.

    Returns
    -------
    float
        :math:`E[\\max(NMB, 0)] - \\max(E[NMB], 0)`: what knowing the truth would be worth, in
        the units of ``nmb``. Never negative, and exactly 0 when one option is best in every
        draw.

    Examples
    --------
    >>> evpi(np.array([-3.0, -1.0, 2.0, 6.0]))  # mean(0, 0, 2, 6) - max(1, 0)
    1.0
    """
    x = np.asarray(nmb, dtype=float).ravel()
    value = _mean(np.maximum(x, 0.0), weights) - max(_mean(x, weights), 0.0)
    return max(value, 0.0)  # Jensen: it is non-negative; this guards rounding only


def evpi_by_wtp(averted: np.ndarray, cost: float | np.ndarray, wtp: Sequence[float],
                weights: np.ndarray | None = None) -> np.ndarray:
    """:func:`evpi` of ``wtp * averted - cost`` at each willingness-to-pay threshold.

    Parameters
    ----------
    averted : numpy.ndarray
        Draws of events averted per school-year.
    cost : float or numpy.ndarray
        Cost per school-year (or draws of it).
    wtp : sequence of float
        Willingness to pay per event averted.
    weights : numpy.ndarray, optional
        One non-negative weight per draw; equal weights when None.

    Returns
    -------
    numpy.ndarray
        EVPI per school-year at each threshold.

    Examples
    --------
    >>> evpi_by_wtp(np.array([-1.0, 1.0, 2.0, 4.0]), 2.0, [1.0, 2.0])  # see evpi's example
    array([0.5, 1. ])
    """
    return np.array([evpi(nmb, weights) for nmb in _net_benefit_by_wtp(averted, cost, wtp)])


# ----------------------------------------------------------------------------- formatting


def currency_symbol(currency: str) -> str:
    """What amounts in ``currency`` are written with: ``£`` for GBP, else the code and a space.

    Examples
    --------
    >>> currency_symbol("GBP"), currency_symbol("EUR")
    ('£', 'EUR ')
    """
    return "£" if currency == "GBP" else f"{currency} "


def format_money(amount: float, currency: str = "GBP") -> str:
    """An amount for a sentence: ``£430``, ``£38k``, ``£1.2m``, ``£12m``, ``£3.4bn``.

    Parameters
    ----------
    amount : float
    currency : str, default "GBP"
        ISO code; GBP is written with ``£``, others with their code.

    Returns
    -------
    str
        One decimal below 10 of a unit (``£1.2m``), whole units from 10 (``£430k``).

    Examples
    --------
    >>> format_money(1_234_567), format_money(430_200), format_money(-999_600), format_money(0)
    ('£1.2m', '£430k', '-£1m', '£0')
    """
    symbol = currency_symbol(currency)
    x = abs(float(amount))
    sign = "-" if amount < 0 and round(x) >= 1 else ""  # -0.4 is "£0", not "-£0"
    if not math.isfinite(x) or round(x) < 1000:
        return f"{sign}{symbol}{x:.0f}"
    for scale, unit in ((1e3, "k"), (1e6, "m"), (1e9, "bn")):
        scaled = x / scale
        # one decimal below 10 of a unit, dropped when it is 0: "£1k", "£1.2m", "£38k"
        text = f"{scaled:.1f}".removesuffix(".0") if scaled < 9.95 else f"{scaled:.0f}"
        if float(text) < 1000 or unit == "bn":  # 999,600 is "£1m", not "£1000k"
            return f"{sign}{symbol}{text}{unit}"
    raise AssertionError("unreachable: the last unit returns")


__all__ = [
    "ASSUMPTION",
    "DEFAULT_ECONOMICS",
    "Count",
    "EconomicInputs",
    "FurtherTrial",
    "Money",
    "NetBenefitSummary",
    "PublishedAcceptability",
    "Rate",
    "Rollout",
    "RuleThresholds",
    "Sourced",
    "WillingnessToPay",
    "Year",
    "annuity_factor",
    "ceac",
    "currency_symbol",
    "economics_path",
    "evpi",
    "evpi_by_wtp",
    "format_money",
    "load_economics",
    "net_benefit",
    "population_scale",
    "summarise_net_benefit",
    "validated_economics"
]
