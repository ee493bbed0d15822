"""Lines of priors along one named parameter, along which tipping points are searched.

:class:`NormalCentreFamily`
    Normal priors of fixed SD, indexed by their centre as an IRR: how large an effect one would
    have to believe in beforehand.
:class:`NormalSDFamily`
    Normal priors of fixed centre, indexed by their SD: how firmly one would have to believe it.
:class:`RobustWeightFamily`
    ``w * informative + (1 - w) * vague`` (e.g. the pilots' MAP prior), indexed by ``w``: how
    much weight one would have to put on the informative evidence.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.errors import SpecError
from swisbayes._base.text import format_share
from swisbayes.decision.rule import SCAN_POINTS
from swisbayes.priors.library import (
    MAX_COMPONENTS,
    PLANNED_IRR,
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
    def condition(self, value: float, *, above: bool, outcome_label: str,
                  intervention: str = DEFAULT_INTERVENTION) -> str:
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

    def condition(self, value: float, *, above: bool, outcome_label: str,
                  intervention: str = DEFAULT_INTERVENTION) -> str:
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
        return (f"one believed beforehand — {how} — that {intervention} {effect} (a prior "
                f"centred on "
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

    def condition(self, value: float, *, above: bool, outcome_label: str,
                  intervention: str = DEFAULT_INTERVENTION) -> str:
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

    def condition(self, value: float, *, above: bool, outcome_label: str,
                  intervention: str = DEFAULT_INTERVENTION) -> str:
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


__all__ = ["NormalCentreFamily", "NormalSDFamily", "PriorFamily", "RobustWeightFamily"]
