"""Tipping points: the prior, within a family, at which the decision rule's verdict would flip.

The families (:class:`NormalCentreFamily`, :class:`NormalSDFamily`, :class:`RobustWeightFamily`)
and the search (:func:`tipping_point`, :func:`tipping_points`) work on a normal likelihood of
the log IRR: :func:`likelihood_from_draws` of a fit, or :func:`published_likelihood` of a
published estimate. :func:`tipping_curve` is what a tipping-point plot draws.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np
from scipy import optimize

from swisbayes._base.errors import SpecError
from swisbayes._base.text import capitalise, format_probability, format_share, format_threshold
from swisbayes.data.published import published_estimate
from swisbayes.decision.rule import (
    SCAN_POINTS,
    VERDICT_RANK,
    VERDICTS,
    DecisionRule,
    Verdict,
    check_likelihood,
    check_mcid,
    prob_meaningful,
)
from swisbayes.decision.summaries import normalised_weights
from swisbayes.priors.conjugate import normal_likelihood, normal_likelihood_from_ci
from swisbayes.priors.library import (
    MAX_COMPONENTS,
    PLANNED_IRR,
    VAGUE_SD,
    MixturePrior,
    sceptical,
    vague,
)


class PriorFamily(ABC):
    """A line of priors on the log IRR along one named parameter.

    Subclasses set :attr:`kind`, :attr:`axis_label`, :attr:`log_scale` and :attr:`limits` (the
    default range of the parameter) and define :meth:`prior_at`, :meth:`prior_phrase`,
    :meth:`condition` and :meth:`member_value`.
    """

    kind: ClassVar[str]
    axis_label: ClassVar[str]
    log_scale: ClassVar[bool]
    limits: tuple[float, float]

    @property
    @abstractmethod
    def parameter(self) -> str:
        """Plain-English description of the parameter."""

    @property
    @abstractmethod
    def reference(self) -> float:
        """The parameter value closest to the data alone, or to no effect.

        When P(meaningful reduction) crosses a threshold more than once, the crossing nearest
        this value is the tipping point: the smallest departure that flips the verdict.
        """

    @abstractmethod
    def prior_at(self, value: float) -> MixturePrior:
        """The member of the family with parameter ``value``."""

    @abstractmethod
    def prior_phrase(self, value: float) -> str:
        """The member with parameter ``value``, in words ("a prior centred on IRR 0.65 ...")."""

    @abstractmethod
    def condition(self, value: float, *, above: bool, outcome_label: str) -> str:
        """What one would have to believe: the parameter at or above (or below) ``value``."""

    @abstractmethod
    def member_value(self, prior: MixturePrior) -> float | None:
        """The parameter of ``prior`` if it belongs to the family, else None."""

    @abstractmethod
    def format_value(self, value: float) -> str:
        """A parameter value for tables, e.g. ``"IRR 0.652"``."""

    def check_bounds(self, bounds: tuple[float, float] | None) -> tuple[float, float]:
        """The range to search: ``bounds`` checked against :meth:`prior_at`, or :attr:`limits`.

        Parameters
        ----------
        bounds : tuple of float or None
            ``(low, high)`` with ``low < high``, both valid parameter values.

        Returns
        -------
        tuple of float

        Raises
        ------
        SpecError
            If ``bounds`` is not an increasing pair of valid parameter values.
        """
        if bounds is None:
            return self.limits
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise SpecError(f"bounds must be a pair (low, high); got {bounds!r}") from None
        if not lo < hi:
            raise SpecError(f"bounds of the {self.kind} family must be increasing; got "
                            f"({lo:g}, {hi:g})")
        for value in (lo, hi):
            self.prior_at(value)  # raises SpecError for a value outside the family
        return lo, hi

    def grid(self, bounds: tuple[float, float] | None = None,
             n: int = SCAN_POINTS) -> np.ndarray:
        """``n`` parameter values spanning ``bounds`` (geometric for scale parameters).

        Parameters
        ----------
        bounds : tuple of float, optional
            Defaults to :attr:`limits`.
        n : int, default SCAN_POINTS

        Returns
        -------
        numpy.ndarray
        """
        lo, hi = self.check_bounds(bounds)
        return np.geomspace(lo, hi, n) if self.log_scale else np.linspace(lo, hi, n)

    def landmarks(self, priors: Iterable[MixturePrior]) -> dict[str, float]:
        """Where named priors sit in the family, for plots: name to parameter value.

        Parameters
        ----------
        priors : iterable of MixturePrior
            Candidates, e.g. the library's named priors; those outside the family are skipped.

        Returns
        -------
        dict of str to float
        """
        found = {}
        for p in priors:
            value = self.member_value(p)
            if value is not None:
                found[p.name] = value
        return found


def _normal_sd(prior: MixturePrior) -> tuple[float, float] | None:
    """(mean, SD) of a one-component prior, else None."""
    return (prior.means[0], prior.sds[0]) if len(prior.weights) == 1 else None


def _sceptical_sd() -> float:
    return sceptical().sds[0]


@dataclass(frozen=True)
class NormalCentreFamily(PriorFamily):
    """Normal(log c, sd) priors on the log IRR, indexed by the centre ``c`` as an IRR.

    Parameters
    ----------
    sd : float, optional
        SD on the log IRR; the sceptical prior's (0.0988) when None, so the family holds the
        sceptical (``c = 1``), enthusiastic (``c = 0.85``) and pessimistic (``c = 1/0.85``)
        priors.
    sd_label : str, optional
        Whose certainty ``sd`` is, e.g. ``"the sceptical prior"`` (the default when ``sd`` is
        None); when None the SD is given as a number only.
    limits : tuple of float, default (0.2, 5.0)
        Range of centres (IRRs) searched.

    Examples
    --------
    >>> fam = NormalCentreFamily()
    >>> print(fam.prior_at(0.85))
    centre IRR 0.85: NormalMixture(w=[1], mu=[-0.1625], sigma=[0.0988]) on log IRR
    """

    sd: float | None = None
    sd_label: str | None = None
    limits: tuple[float, float] = (0.2, 5.0)

    kind: ClassVar[str] = "normal_centre"
    axis_label: ClassVar[str] = "centre of the prior (rate ratio)"
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.sd is None:
            object.__setattr__(self, "sd", _sceptical_sd())
            if self.sd_label is None:
                object.__setattr__(self, "sd_label", "the sceptical prior")
        if not (isinstance(self.sd, Real) and math.isfinite(self.sd) and self.sd > 0):
            raise SpecError(f"NormalCentreFamily: sd must be a positive number; got {self.sd!r}")
        object.__setattr__(self, "limits", self.check_bounds(self.limits))

    @property
    def parameter(self) -> str:
        """Plain-English description of the parameter."""
        whose = f", {self.sd_label}'s" if self.sd_label else ""
        return (f"the centre, as a rate ratio, of a normal prior on the log IRR with SD "
                f"{self.sd:.3f}{whose}")

    @property
    def reference(self) -> float:
        """No effect (IRR 1)."""
        return 1.0

    def prior_at(self, value: float) -> MixturePrior:
        """Normal(log ``value``, sd) on the log IRR.

        Parameters
        ----------
        value : float
            Centre as an IRR (positive).

        Returns
        -------
        MixturePrior

        Raises
        ------
        SpecError
            If ``value`` is not a positive finite number.
        """
        if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
            raise SpecError(f"the centre of a prior must be a positive IRR; got {value!r}")
        return MixturePrior.normal(
            f"centre IRR {value:.4g}", math.log(value), self.sd,
            description=f"Normal prior centred on IRR {value:.3f} with SD {self.sd:.3f} on the "
                        "log IRR.",
            provenance=f"tipping-point family: {self.parameter}")

    def prior_phrase(self, value: float) -> str:
        """The prior centred on ``value``, in words."""
        return f"a prior centred on IRR {value:.2f} (SD {self.sd:.2f} on the log IRR)"

    def condition(self, value: float, *, above: bool, outcome_label: str) -> str:
        """What one would have to believe beforehand, for centres at or beyond ``value``."""
        if value < 1:
            size = f"{'no more than' if above else 'at least'} {format_share(1 - value)}"
            effect = f"cuts {outcome_label} by {size}{', if at all' if above else ''}"
        elif value > 1:
            size = f"{'at least' if above else 'no more than'} {format_share(value - 1)}"
            effect = f"increases {outcome_label} by {size}{'' if above else ', if at all'}"
        else:
            effect = (f"{'increases' if above else 'cuts'} {outcome_label}, if by anything at "
                      "all")
        how = (f"with the certainty of {self.sd_label} (SD {self.sd:.2f} on the log IRR)"
               if self.sd_label else f"with a prior SD of {self.sd:.2f} on the log IRR")
        return (f"one believed beforehand — {how} — that SWIS {effect} (a prior centred on "
                f"IRR {value:.2f} or {'higher' if above else 'lower'})")

    def member_value(self, prior: MixturePrior) -> float | None:
        """The centre of a one-component prior with this family's SD, else None."""
        normal = _normal_sd(prior)
        if normal is None or not math.isclose(normal[1], self.sd, rel_tol=1e-9):
            return None
        return math.exp(normal[0])

    def format_value(self, value: float) -> str:
        """The centre as ``"IRR 0.652"``."""
        return f"IRR {value:.3f}"


@dataclass(frozen=True)
class NormalSDFamily(PriorFamily):
    """Normal(log c, sd) priors on the log IRR with a fixed centre ``c``, indexed by ``sd``.

    Parameters
    ----------
    centre_irr : float, default PLANNED_IRR (0.85)
        The centre as an IRR; the planned effect, so the family holds the enthusiastic prior
        and the optimistic grid priors.
    limits : tuple of float, default (0.005, 2.0)
        Range of SDs searched.

    Examples
    --------
    >>> round(NormalSDFamily().prior_at(0.1).means[0], 4)
    -0.1625
    """

    centre_irr: float = PLANNED_IRR
    limits: tuple[float, float] = (0.005, 2.0)

    kind: ClassVar[str] = "normal_sd"
    axis_label: ClassVar[str] = "SD of the prior on the log rate ratio"
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        c = self.centre_irr
        if not (isinstance(c, Real) and math.isfinite(c) and c > 0):
            raise SpecError(f"NormalSDFamily: centre_irr must be a positive IRR; got {c!r}")
        object.__setattr__(self, "limits", self.check_bounds(self.limits))

    @property
    def parameter(self) -> str:
        """Plain-English description of the parameter."""
        return (f"the SD on the log IRR (the uncertainty) of a normal prior centred on IRR "
                f"{self.centre_irr:.2f}")

    @property
    def reference(self) -> float:
        """The widest prior searched: the closest to the data alone."""
        return self.limits[1]

    def prior_at(self, value: float) -> MixturePrior:
        """Normal(log centre_irr, ``value``) on the log IRR.

        Parameters
        ----------
        value : float
            SD on the log IRR (positive).

        Returns
        -------
        MixturePrior

        Raises
        ------
        SpecError
            If ``value`` is not a positive finite number.
        """
        if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
            raise SpecError(f"the SD of a prior must be a positive number; got {value!r}")
        return MixturePrior.normal(
            f"SD {value:.4g} at IRR {self.centre_irr:.4g}", math.log(self.centre_irr), value,
            description=f"Normal prior centred on IRR {self.centre_irr:.3f} with SD {value:.3f} "
                        "on the log IRR.",
            provenance=f"tipping-point family: {self.parameter}")

    def _interval(self, value: float) -> str:
        lo, hi = (self.centre_irr * math.exp(z * 1.959963984540054 * value) for z in (-1, 1))
        return f"95% prior interval IRR {lo:.2f} to {hi:.2f}"

    def prior_phrase(self, value: float) -> str:
        """The prior with SD ``value``, in words."""
        return (f"a prior centred on IRR {self.centre_irr:.2f} with SD {value:.3f} on the log "
                f"IRR ({self._interval(value)})")

    def condition(self, value: float, *, above: bool, outcome_label: str) -> str:
        """What one would have to believe beforehand, for SDs at or beyond ``value``."""
        return (f"one held beforehand a prior centred on IRR {self.centre_irr:.2f} with an SD "
                f"of {'at least' if above else 'at most'} {value:.3f} on the log IRR ("
                f"{self._interval(value)})")

    def member_value(self, prior: MixturePrior) -> float | None:
        """The SD of a one-component prior centred on this family's centre, else None."""
        normal = _normal_sd(prior)
        if normal is None or not math.isclose(normal[0], math.log(self.centre_irr),
                                              rel_tol=1e-9, abs_tol=1e-12):
            return None
        return normal[1]

    def format_value(self, value: float) -> str:
        """The SD as ``"SD 0.041"``."""
        return f"SD {value:.3f}"


@dataclass(frozen=True)
class RobustWeightFamily(PriorFamily):
    """``w * informative + (1 - w) * vague``, indexed by the weight ``w`` in [0, 1].

    Built with :func:`swisbayes.priors.robust.robustify`, so ``w`` is the robust weight of
    a
    pilot-informed prior: 0 is the vague prior (the data alone), 1 the informative prior.

    Parameters
    ----------
    informative : MixturePrior
        The informative prior before robustification, e.g. the pilots' MAP prior.
    vague : MixturePrior, optional
        The weakly informative part; :func:`swisbayes.priors.library.vague` when None.
    source : str, default "the pilots' evidence"
        What the informative prior stands for, as it reads in a sentence.
    limits : tuple of float, default (0.0, 1.0)
        Range of weights searched.

    Raises
    ------
    SpecError
        If the mixture would have more than :data:`~swisbayes.priors.library.MAX_COMPONENTS`
        components.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> fam = RobustWeightFamily(MixturePrior.normal("map", -0.2, 0.15))
    >>> fam.prior_at(0.8).weights
    (0.8, 0.19999999999999996)
    """

    informative: MixturePrior
    vague: MixturePrior | None = None
    source: str = "the pilots' evidence"
    limits: tuple[float, float] = (0.0, 1.0)

    kind: ClassVar[str] = "pilot_weight"
    axis_label: ClassVar[str] = "weight on the pilots' evidence"
    log_scale: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.vague is None:
            object.__setattr__(self, "vague", vague())
        k = len(self.informative.weights) + len(self.vague.weights)
        if k > MAX_COMPONENTS:
            raise SpecError(f"RobustWeightFamily: '{self.informative.name}' and "
                            f"'{self.vague.name}' have {k} components together, more than "
                            f"MAX_COMPONENTS = {MAX_COMPONENTS}; pass the informative prior "
                            "before robustification")
        object.__setattr__(self, "limits", self.check_bounds(self.limits))

    @classmethod
    def from_robust(cls, prior: MixturePrior, *,
                    source: str = "the pilots' evidence") -> RobustWeightFamily:
        """The family through a robustified prior (such as ``pilot-informed``).

        The informative part and the vague part are read back from the components and the
        ``robust_weight`` and ``vague`` entries that
        :func:`~swisbayes.priors.robust.robustify`
        records in ``details``.

        Parameters
        ----------
        prior : MixturePrior
            A prior returned by ``robustify(informative, w)`` with ``0 < w < 1``.
        source : str, default "the pilots' evidence"

        Returns
        -------
        RobustWeightFamily
            Its :meth:`member_value` of ``prior`` is ``w``.

        Raises
        ------
        SpecError
            If ``prior`` does not carry the details of a robustified prior.

        Examples
        --------
        >>> from swisbayes.priors.robust import robustify
        >>> from swisbayes.priors.library import MixturePrior
        >>> robust = robustify(MixturePrior.normal("map", -0.2, 0.15), 0.8)
        >>> fam = RobustWeightFamily.from_robust(robust)
        >>> fam.informative.means, fam.member_value(robust)
        ((-0.2,), 0.8)
        """
        details = prior.details
        if "robust_weight" not in details or "vague" not in details:
            raise SpecError(f"prior '{prior.name}' is not a robustified prior (its details "
                            "have no 'robust_weight' and 'vague'); pass the informative prior "
                            "to RobustWeightFamily instead")
        w = float(details["robust_weight"])
        vague_part = MixturePrior.from_dict(details["vague"])
        k = len(prior.weights) - len(vague_part.weights)
        if not 0 < w < 1 or k < 1:
            raise SpecError(f"prior '{prior.name}': robust weight {w} and {k} informative "
                            "component(s); expected 0 < w < 1 and at least one")
        informative_details = {key: v for key, v in details.items()
                               if key not in ("robust_weight", "vague")}
        name = (prior.name.removesuffix("-robust") if prior.name.endswith("-robust")
                else f"{prior.name} before robustification")
        informative = MixturePrior(
            name, f"Informative part of the '{prior.name}' prior.",
            f"read back from '{prior.name}': {prior.provenance}",
            tuple(v / w for v in prior.weights[:k]), prior.means[:k], prior.sds[:k],
            informative_details)
        return cls(informative, vague_part, source)

    @property
    def parameter(self) -> str:
        """Plain-English description of the parameter."""
        return (f"the weight on {self.source} ('{self.informative.name}'), the rest on the "
                f"'{self.vague.name}' prior")

    @property
    def reference(self) -> float:
        """No weight on the informative prior: the data alone."""
        return 0.0

    def prior_at(self, value: float) -> MixturePrior:
        """``robustify(informative, value, vague=vague)``.

        Parameters
        ----------
        value : float
            Weight on the informative prior, in [0, 1].

        Returns
        -------
        MixturePrior

        Raises
        ------
        SpecError
            If ``value`` is outside [0, 1].
        """
        from swisbayes.priors.robust import robustify

        if isinstance(value, bool) or not isinstance(value, Real):
            raise SpecError(f"a robust weight must be a number in [0, 1]; got {value!r}")
        return robustify(self.informative, float(value), vague=self.vague)

    def prior_phrase(self, value: float) -> str:
        """The mixture with weight ``value``, in words."""
        return f"{format_share(value)} weight on {self.source} and the rest on the vague prior"

    def condition(self, value: float, *, above: bool, outcome_label: str) -> str:
        """What weight one would have to put on the informative prior."""
        return (f"one put {'at least' if above else 'at most'} {format_share(value)} weight on "
                f"{self.source} (the rest on the vague prior)")

    def member_value(self, prior: MixturePrior) -> float | None:
        """``w`` if ``prior`` has the components of ``prior_at(w)``, else None."""
        if _same_mixture(prior, self.informative):
            return 1.0
        if _same_mixture(prior, self.vague):
            return 0.0
        w = prior.details.get("robust_weight")
        if w is None or not 0 < w < 1 or not _same_mixture(prior, self.prior_at(float(w))):
            return None
        return float(w)

    def format_value(self, value: float) -> str:
        """The weight as a percentage."""
        return format_share(value)


def _same_mixture(a: MixturePrior, b: MixturePrior) -> bool:
    return (len(a.weights) == len(b.weights)
            and all(np.allclose(getattr(a, k), getattr(b, k), rtol=1e-9, atol=1e-12)
                    for k in ("weights", "means", "sds")))


def probability_curve(likelihood: tuple[float, float], family: PriorFamily,
                      values: Sequence[float] | np.ndarray, *, mcid: float) -> np.ndarray:
    """P(meaningful reduction) under each prior of a family, for a tipping-point plot.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    values : array-like
        Parameter values.
    mcid : float
        Meaningful reduction (fraction).

    Returns
    -------
    numpy.ndarray
        One probability per value, each from the exact posterior (:func:`prob_meaningful`).

    Raises
    ------
    SpecError
        If a value is outside the family, or the likelihood or ``mcid`` is invalid.
    """
    lik = check_likelihood(likelihood)
    mcid = check_mcid(mcid)
    return np.array([prob_meaningful(family.prior_at(float(v)), lik, mcid=mcid)
                     for v in np.asarray(values, dtype=float).ravel()])


@dataclass(frozen=True)
class TippingPoint:
    """Where along a family of priors P(meaningful reduction) reaches a decision threshold.

    Parameters
    ----------
    family : PriorFamily
    target : float
        The threshold (one of the rule's).
    mcid : float
    bounds : tuple of float
        The parameter range searched.
    found : bool
        False when P(meaningful reduction) does not reach ``target`` within ``bounds``.
    value : float or None
        The parameter at which P(meaningful reduction) equals ``target``.
    prior : MixturePrior or None
        The family's prior at ``value``.
    prob_meaningful : float or None
        P(meaningful reduction) under ``prior`` (equal to ``target`` up to root-finding error).
    prob_range : tuple of float
        Smallest and largest P(meaningful reduction) over the scanned range.
    increasing : bool or None
        Whether P(meaningful reduction) rises with the parameter at ``value``.
    change : tuple of str or None
        ``(from, to)`` verdicts that the threshold separates, when known.
    outcome_label : str
        The outcome as it reads in a sentence.
    """

    family: PriorFamily
    target: float
    mcid: float
    bounds: tuple[float, float]
    found: bool
    value: float | None
    prior: MixturePrior | None
    prob_meaningful: float | None
    prob_range: tuple[float, float]
    increasing: bool | None
    change: tuple[str, str] | None = None
    outcome_label: str = "events"

    @property
    def text(self) -> str:
        """One plain-English sentence: what one would have to believe for the verdict to flip."""
        what = (f"the probability that SWIS cuts {self.outcome_label} by at least "
                f"{format_threshold(self.mcid)}")
        lo, hi = self.prob_range
        if not self.found:
            span = (f"from {self.family.format_value(self.bounds[0])} to "
                    f"{self.family.format_value(self.bounds[1])}")
            head = ("changes the verdict" if self.change is not None
                    else f"brings it to {format_threshold(self.target)}")
            return (f"No prior of this family ({self.family.parameter}; {span}) {head}: "
                    f"{what} stays between {format_probability(lo)} and {format_probability(hi)}.")
        if self.change is None:
            return (f"{capitalise(what)} reaches {format_threshold(self.target)} with "
                    f"{self.family.prior_phrase(self.value)}.")
        rising = VERDICT_RANK[self.change[1]] > VERDICT_RANK[self.change[0]]
        condition = self.family.condition(self.value, above=rising == self.increasing,
                                          outcome_label=self.outcome_label)
        return (f"The verdict would change from '{self.change[0]}' to '{self.change[1]}' only "
                f"if {condition}.")

    def to_dict(self) -> dict:
        """JSON-ready: family, threshold, root, probabilities and text."""
        return {"family": self.family.kind, "parameter": self.family.parameter,
                "target": self.target, "mcid": self.mcid, "bounds": list(self.bounds),
                "found": self.found, "value": self.value,
                "prior": None if self.prior is None else self.prior.to_dict(),
                "prob_meaningful": self.prob_meaningful, "prob_range": list(self.prob_range),
                "change": None if self.change is None else list(self.change),
                "text": self.text}


def _midpoint(family: PriorFamily, a: float, b: float) -> float:
    return math.sqrt(a * b) if family.log_scale else (a + b) / 2


def _distance(family: PriorFamily, a: float, b: float) -> float:
    """Distance on the family's natural scale (log for centres and SDs)."""
    return abs(math.log(a / b)) if family.log_scale else abs(a - b)


def _crossings(diff: np.ndarray) -> list[int]:
    """Indices ``k`` with a root of ``diff`` in ``[x_k, x_k+1]``."""
    last = len(diff) - 2
    return [k for k in range(len(diff) - 1)
            if diff[k] == 0 or diff[k] * diff[k + 1] < 0 or (k == last and diff[k + 1] == 0)]


def tipping_point(likelihood: tuple[float, float], family: PriorFamily, *, target: float,
                  mcid: float, bounds: tuple[float, float] | None = None,
                  change: tuple[str, str] | None = None,
                  outcome_label: str = "events") -> TippingPoint:
    """The prior of a family at which P(meaningful reduction) equals a threshold.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    target : float
        Threshold in (0, 1), e.g. the rule's ``stop`` or ``invest``.
    mcid : float
        Meaningful reduction (fraction).
    bounds : tuple of float, optional
        Parameter range to search; the family's :attr:`~PriorFamily.limits` when None.
    change : tuple of str, optional
        ``(from, to)`` verdicts, for the text.
    outcome_label : str, default "events"
        The outcome as it reads in a sentence, e.g. ``"S47 enquiries"``.

    Returns
    -------
    TippingPoint
        ``found=False``, with the range of P(meaningful reduction) reached, when it does not
        cross ``target`` within the range.

    Raises
    ------
    SpecError
        If the likelihood, ``target``, ``mcid``, ``bounds`` or ``change`` is invalid.

    Notes
    -----
    P(meaningful reduction) is computed at :data:`SCAN_POINTS` values spanning the range
    (geometrically for centres and SDs), and the root is refined by Brent's method
    (``scipy.optimize.brentq``, ``xtol=1e-12``) in an interval where it changes sign. When it
    crosses ``target`` more than once, the crossing nearest the family's
    :attr:`~PriorFamily.reference` is returned: the smallest departure from the data alone (or
    from no effect) that flips the verdict. A pair of crossings closer together than the grid
    spacing can be missed; for the centre and weight families P(meaningful reduction) is
    monotone, so there is one crossing at most.

    Examples
    --------
    >>> from swisbayes.priors.conjugate import normal_likelihood_from_ci
    >>> lik = normal_likelihood_from_ci(1.055, 0.955, 1.166)
    >>> tp = tipping_point(lik, NormalCentreFamily(), target=0.10, mcid=0.10)
    >>> round(tp.value, 3), round(tp.prob_meaningful, 6)
    (0.652, 0.1)
    """
    lik = check_likelihood(likelihood)
    mcid = check_mcid(mcid)
    if isinstance(target, bool) or not isinstance(target, Real) or not 0 < target < 1:
        raise SpecError(f"target must be a probability strictly between 0 and 1; got "
                        f"{target!r}")
    if change is not None and (len(change) != 2 or any(v not in VERDICTS for v in change)):
        raise SpecError(f"change must be a pair of verdicts from {VERDICTS}; got {change!r}")
    lo, hi = family.check_bounds(bounds)
    xs = family.grid((lo, hi))
    probs = probability_curve(lik, family, xs, mcid=mcid)
    common = {"family": family, "target": float(target), "mcid": mcid, "bounds": (lo, hi),
              "prob_range": (float(probs.min()), float(probs.max())),
              "change": None if change is None else tuple(change),
              "outcome_label": outcome_label}
    ks = _crossings(probs - target)
    if not ks:
        return TippingPoint(found=False, value=None, prior=None, prob_meaningful=None,
                            increasing=None, **common)
    k = min(ks, key=lambda i: _distance(family, _midpoint(family, xs[i], xs[i + 1]),
                                        family.reference))
    root = float(optimize.brentq(
        lambda v: prob_meaningful(family.prior_at(v), lik, mcid=mcid) - target,
        xs[k], xs[k + 1], xtol=1e-12))
    prior = family.prior_at(root)
    return TippingPoint(found=True, value=root, prior=prior,
                        prob_meaningful=prob_meaningful(prior, lik, mcid=mcid),
                        increasing=bool(probs[k + 1] >= probs[k]), **common)


def _flips(rule: DecisionRule, current: str | Verdict) -> list[tuple[str, str, float]]:
    """(from, to, threshold) for each verdict change reachable from ``current``."""
    verdict = current.verdict if isinstance(current, Verdict) else current
    if verdict not in VERDICTS:
        raise SpecError(f"unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}")
    if verdict == "stop":
        return [("stop", "more evidence", rule.stop)]
    if verdict == "invest":
        return [("invest", "more evidence", rule.invest)]
    if isinstance(current, Verdict) and current.effective_not_value_for_money:
        # Effective but not value for money: no prior on the effect alone reaches "invest"
        # through P(meaningful), which already passes its threshold.
        return [("more evidence", "stop", rule.stop)]
    return [("more evidence", "invest", rule.invest), ("more evidence", "stop", rule.stop)]


def tipping_points(likelihood: tuple[float, float], rule: DecisionRule | None,
                   current_verdict: str | Verdict, families: Sequence[PriorFamily], *,
                   mcid: float, outcome_label: str | None = None) -> list[TippingPoint]:
    """The tipping points relevant to a current verdict, for each family.

    "stop" can become "more evidence" (P(meaningful) rising to ``rule.stop``); "invest" can
    become "more evidence" (falling below ``rule.invest``); "more evidence" can become
    "invest" (rising to ``rule.invest``) or "stop" (falling below ``rule.stop``). When the
    current verdict is "more evidence" because SWIS is effective but not value for money, only
    the flip to "stop" is a matter of P(meaningful).

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    rule : DecisionRule or None
        The rule; the default :class:`DecisionRule` when None.
    current_verdict : str or Verdict
        The verdict to depart from.
    families : sequence of PriorFamily
    mcid : float
        Meaningful reduction (fraction).
    outcome_label : str, optional
        The outcome as it reads in a sentence; the verdict's, or ``"events"``.

    Returns
    -------
    list of TippingPoint
        Family by family, each family's flips in the order above.

    Raises
    ------
    SpecError
        For an unknown verdict, or a :class:`Verdict` reached with another rule or MCID.

    Notes
    -----
    A tipping point is a necessary condition for the change: the flip to "invest" also needs
    P(NMB > 0) to reach ``rule.invest_nmb``, which depends on the economics.
    """
    rule = DecisionRule() if rule is None else rule
    mcid = check_mcid(mcid)
    if isinstance(current_verdict, Verdict):
        if current_verdict.rule != rule or current_verdict.mcid != mcid:
            raise SpecError(f"the verdict was reached with {current_verdict.rule} and MCID "
                            f"{current_verdict.mcid}; got {rule} and MCID {mcid}")
        outcome_label = outcome_label or current_verdict.outcome_label
    label = outcome_label or "events"
    flips = _flips(rule, current_verdict)
    return [tipping_point(likelihood, family, target=t, mcid=mcid, change=(a, b),
                          outcome_label=label)
            for family in families for a, b, t in flips]


def likelihood_from_draws(log_irr_draws: np.ndarray | Sequence[float],
                          weights: np.ndarray | None = None, *,
                          prior_sd: float | None = VAGUE_SD) -> tuple[float, float]:
    r"""A normal likelihood on the log IRR from posterior draws fitted under a vague prior.

    Parameters
    ----------
    log_irr_draws : array-like
        Posterior draws of the log IRR (any shape, flattened), fitted under a
        Normal(0, ``prior_sd``) prior on the log IRR.
    weights : numpy.ndarray, optional
        Importance weights, one per draw (non-negative, any positive sum); equal when None.
    prior_sd : float or None, default VAGUE_SD (10)
        SD of the normal prior, centred on no effect, the draws were fitted under; its
        information is removed. None takes the posterior's moments as they are.

    Returns
    -------
    tuple of float
        ``(log estimate, SE)``: with :math:`m, v` the (weighted) mean and variance of the draws
        and :math:`s_0` = ``prior_sd``, :math:`SE^2 = (1/v - 1/s_0^2)^{-1}` and
        estimate :math:`= m \, v^{-1} SE^2`.

    Raises
    ------
    SpecError
        If there are fewer than two draws, a draw is not finite, the weights are invalid, the
        draws do not vary, or they are at least as wide as the prior.

    Notes
    -----
    The fitted posterior of the log IRR is approximated by a normal with its mean and variance
    (the weighted moments; the variance divides by the total weight, so equal weights give the
    unweighted result exactly). A normal posterior under a normal prior is the product of that
    prior and a normal likelihood, so dividing out the prior's precision :math:`1/s_0^2` gives
    the likelihood exactly. Under the vague prior (:math:`s_0 = 10`) this changes the SE by a
    relative :math:`SE^2 / (2 s_0^2)`, under 1e-4 for any SE below 0.14: the posterior is the
    likelihood, for practical purposes. The approximation is only as good as the normality of
    the posterior of the log IRR, which a trial of 268 schools makes close; and it treats the
    other parameters (LA effects, dispersion) as if a different effect prior would not change
    what they say about the effect.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y, se = likelihood_from_draws(rng.normal(-0.1, 0.05, 100_000))
    >>> round(y, 2), round(se, 3)
    (-0.1, 0.05)
    """
    x = np.asarray(log_irr_draws, dtype=float).ravel()
    if x.size < 2:
        raise SpecError(f"likelihood_from_draws: {x.size} draw(s); at least 2 are needed")
    if not np.isfinite(x).all():
        raise SpecError(f"likelihood_from_draws: {int((~np.isfinite(x)).sum())} draw(s) are "
                        "not finite numbers")
    w = normalised_weights(weights, x.size)
    w = np.full(x.size, 1.0 / x.size) if w is None else w
    mean = float(np.dot(w, x))
    var = float(np.dot(w, (x - mean) ** 2))
    if var <= 0:
        raise SpecError("likelihood_from_draws: the draws do not vary; a likelihood needs a "
                        "positive variance")
    if prior_sd is None:
        return normal_likelihood(mean, math.sqrt(var))
    if not (isinstance(prior_sd, Real) and math.isfinite(prior_sd) and prior_sd > 0):
        raise SpecError(f"prior_sd must be a positive number or None; got {prior_sd!r}")
    precision = 1.0 / var - 1.0 / prior_sd**2
    if precision <= 0:
        raise SpecError(f"likelihood_from_draws: the draws (SD {math.sqrt(var):.4g}) are at "
                        f"least as wide as the prior (SD {prior_sd:g}); the data carry no "
                        "information to turn into a likelihood")
    return normal_likelihood(mean / var / precision, math.sqrt(1.0 / precision))


def published_likelihood(outcome: str) -> tuple[float, float]:
    """The normal likelihood on the log IRR of an outcome's published estimate.

    Parameters
    ----------
    outcome : str
        An outcome with a published estimate (:func:`swisbayes.data.published.published_estimate`).

    Returns
    -------
    tuple of float
        ``(log estimate, SE)`` from the published ratio and its confidence interval.

    Examples
    --------
    >>> y, se = published_likelihood("s47")
    >>> round(float(np.exp(y)), 3), round(se, 4)
    (1.055, 0.0509)
    """
    entry = published_estimate(outcome)
    return normal_likelihood_from_ci(entry.estimate, *entry.ci, level=entry.ci_level)


@dataclass(frozen=True)
class TippingCurve:
    """P(meaningful reduction) along a family of priors, with what a tipping-point plot marks.

    Parameters
    ----------
    family : PriorFamily
    values : numpy.ndarray
        Parameter values spanning the range (:meth:`PriorFamily.grid`).
    prob_meaningful : numpy.ndarray
        P(meaningful reduction) under the family's prior at each value.
    points : tuple of TippingPoint
        The tipping points of this family found within the range.
    landmarks : dict of str to (float, float)
        Named priors that belong to the family and sit within the range: their parameter value
        and P(meaningful reduction).
    """

    family: PriorFamily
    values: np.ndarray
    prob_meaningful: np.ndarray
    points: tuple[TippingPoint, ...]
    landmarks: dict[str, tuple[float, float]]


def tipping_curve(likelihood: tuple[float, float], family: PriorFamily, *, mcid: float,
                  bounds: tuple[float, float] | None = None,
                  tipping: Iterable[TippingPoint] = (),
                  priors: Iterable[MixturePrior] = ()) -> TippingCurve:
    """The curve of a tipping-point plot: P(meaningful reduction) along a family of priors.

    Parameters
    ----------
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    family : PriorFamily
    mcid : float
        Meaningful reduction (fraction).
    bounds : tuple of float, optional
        Parameter range; the family's :attr:`~PriorFamily.limits` when None.
    tipping : iterable of TippingPoint, default ()
        Tipping points (e.g. from :func:`tipping_points`); those of this family found within
        the range are kept.
    priors : iterable of MixturePrior, default ()
        Named priors to place on the curve (:meth:`PriorFamily.landmarks`).

    Returns
    -------
    TippingCurve

    Raises
    ------
    SpecError
        If the likelihood, ``mcid`` or ``bounds`` is invalid.

    Examples
    --------
    >>> from swisbayes.priors.library import sceptical
    >>> lik = published_likelihood("s47")
    >>> curve = tipping_curve(lik, NormalCentreFamily(), mcid=0.1, bounds=(0.3, 1.5),
    ...                       priors=[sceptical()])
    >>> len(curve.values), list(curve.landmarks)
    (101, ['sceptical'])
    """
    lo, hi = family.check_bounds(bounds)
    values = family.grid((lo, hi))
    curve = probability_curve(likelihood, family, values, mcid=mcid)
    points = tuple(tp for tp in tipping
                   if tp.found and tp.family == family and lo <= tp.value <= hi)
    landmarks = {name: (v, prob_meaningful(family.prior_at(v), likelihood, mcid=mcid))
                 for name, v in family.landmarks(priors).items() if lo <= v <= hi}
    return TippingCurve(family, values, curve, points, landmarks)


__all__ = [
    "NormalCentreFamily", "NormalSDFamily", "PriorFamily", "RobustWeightFamily", "TippingCurve",
    "TippingPoint", "likelihood_from_draws", "probability_curve", "published_likelihood",
    "tipping_curve", "tipping_point", "tipping_points"
]
