"""Priors on the log incidence rate ratio: named normal mixtures, and the standard library.

Every prior is a mixture of at most :data:`MAX_COMPONENTS` normals on the log IRR, so one
compiled model serves every prior: the mixture's weights, means and SDs enter the model as data
(padded to a fixed number of components by splitting the last component into identical
copies, which leaves the distribution unchanged).

Ratios below 1 mean fewer events with SWIS; "reduction" means IRR < 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from swisbayes._base.errors import SpecError
from swisbayes._base.files import default_file

MAX_COMPONENTS = 4
"""Largest number of normal components in any prior (fixes the compiled model's shape)."""

_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(z: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF, elementwise, accurate in both tails (``erfc``; no SciPy import)."""
    return _ERFC(-np.asarray(z, dtype=float) / math.sqrt(2)).astype(float) / 2


def normal_logpdf(x: np.ndarray | float, mean: np.ndarray | float,
                  sd: np.ndarray | float) -> np.ndarray:
    """Log density of N(mean, sd) at ``x``, broadcast (NumPy only, so priors import fast)."""
    z = (np.asarray(x, dtype=float) - mean) / sd
    return -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


Z95 = NormalDist().inv_cdf(0.95)

PLANNED_IRR = 0.85
"""Planned effect used to calibrate the sceptical and enthusiastic priors (an assumption).

The protocol's target effect was not available; a 15% reduction is a typical planned effect for
a social-care intervention and is larger than the 10% MCID used for decisions.
"""

VAGUE_SD = 10.0
"""SD of the vague prior on the log IRR: flat over every plausible effect."""


@dataclass(frozen=True)
class MixturePrior:
    """A named prior on the log IRR: a mixture of normal components.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"sceptical"``.
    description : str
        One plain-English sentence for reports.
    provenance : str
        Where it comes from: a citation, or ``"assumption: ..."`` with the reason.
    weights, means, sds : tuple of float
        Component weights (positive, summing to 1), means and SDs (positive) on the log IRR.
    """

    name: str
    description: str
    provenance: str
    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]
    details: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        k = len(self.weights)
        where = f"prior '{self.name}'"
        if not 1 <= k <= MAX_COMPONENTS:
            raise SpecError(f"{where}: {k} components; expected 1 to {MAX_COMPONENTS}")
        if not len(self.means) == len(self.sds) == k:
            raise SpecError(f"{where}: weights, means and sds must have the same length; got "
                            f"{k}, {len(self.means)} and {len(self.sds)}")
        if any(not np.isfinite(v) for v in (*self.weights, *self.means, *self.sds)):
            raise SpecError(f"{where}: weights, means and sds must be finite numbers")
        if any(w <= 0 for w in self.weights):
            raise SpecError(f"{where}: weights must be positive; got {list(self.weights)}")
        if abs(sum(self.weights) - 1.0) > 1e-6:
            raise SpecError(f"{where}: weights must sum to 1; they sum to {sum(self.weights):g}")
        if any(s <= 0 for s in self.sds):
            raise SpecError(f"{where}: sds must be positive; got {list(self.sds)}")

    @classmethod
    def normal(cls, name: str, mean: float, sd: float, *, description: str = "",
               provenance: str = "user") -> MixturePrior:
        """A single normal component N(mean, sd) on the log IRR."""
        return cls(name, description or f"Normal({mean:.4g}, {sd:.4g}) on log IRR", provenance,
                   (1.0,), (float(mean),), (float(sd),))

    @property
    def mean(self) -> float:
        """Mean of the log IRR under the prior."""
        return float(np.dot(self.weights, self.means))

    @property
    def sd(self) -> float:
        """SD of the log IRR under the prior (mixture moments)."""
        w, m, s = map(np.asarray, (self.weights, self.means, self.sds))
        # within- plus between-component variance: no cancellation when |mean| >> sd
        return float(np.sqrt(np.dot(w, s**2 + (m - self.mean) ** 2)))

    def cdf(self, log_irr: float | np.ndarray) -> float | np.ndarray:
        """P(log IRR <= x) under the prior.

        Parameters
        ----------
        log_irr : float or numpy.ndarray

        Returns
        -------
        float or numpy.ndarray
        """

        x = np.asarray(log_irr, dtype=float)[..., None]
        z = (x - np.asarray(self.means)) / np.asarray(self.sds)
        return np.sum(np.asarray(self.weights) * normal_cdf(z), -1)

    def logpdf(self, log_irr: float | np.ndarray) -> float | np.ndarray:
        """Log density of the log IRR.

        Parameters
        ----------
        log_irr : float or numpy.ndarray

        Returns
        -------
        float or numpy.ndarray
        """

        x = np.asarray(log_irr, dtype=float)[..., None]
        comps = np.log(self.weights) + normal_logpdf(x, self.means, self.sds)
        return np.logaddexp.reduce(comps, axis=-1)

    def quantile(self, q: float) -> float:
        """The q-quantile of the log IRR (Brent's root-finding on the mixture CDF).

        Parameters
        ----------
        q : float
            Probability in (0, 1).

        Returns
        -------
        float
            ``x`` with ``cdf(x) = q`` to within 1e-12.

        Raises
        ------
        ValueError
            If ``q`` is not in (0, 1).
        """
        from scipy import optimize

        if not 0.0 < q < 1.0:
            raise ValueError(f"q must be in (0, 1); got {q}")
        lo = min(m - 12 * s for m, s in zip(self.means, self.sds, strict=True))
        hi = max(m + 12 * s for m, s in zip(self.means, self.sds, strict=True))
        return float(optimize.brentq(lambda x: float(self.cdf(x)) - q, lo, hi, xtol=1e-12))

    def prob_irr_below(self, irr: float) -> float:
        """P(IRR < irr) under the prior."""
        return float(self.cdf(np.log(irr)))

    def padded(self, k: int = MAX_COMPONENTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, means and SDs of length ``k``, the same distribution.

        The last component is split into identical copies sharing its weight.

        Parameters
        ----------
        k : int, default MAX_COMPONENTS

        Returns
        -------
        tuple of numpy.ndarray
            Weights, means and SDs, each of length ``k``.

        Raises
        ------
        SpecError
            If the prior has more than ``k`` components.
        """
        n = len(self.weights)
        if n > k:
            raise SpecError(f"prior '{self.name}' has {n} components; the model holds {k}")
        extra = k - n
        w = list(self.weights[:-1]) + [self.weights[-1] / (extra + 1)] * (extra + 1)
        m = list(self.means) + [self.means[-1]] * extra
        s = list(self.sds) + [self.sds[-1]] * extra
        return np.array(w), np.array(m), np.array(s)

    def summary(self, mcid: float = 0.10) -> dict:
        """What the prior says before any data.

        Parameters
        ----------
        mcid : float, default 0.10
            Meaningful reduction (fraction).

        Returns
        -------
        dict
            Mean and SD of the log IRR, median and 95% interval of the IRR, P(IRR < 1 - mcid),
            P(IRR > 1), description and provenance.
        """
        return {"name": self.name, "mean_log_irr": self.mean, "sd_log_irr": self.sd,
                "irr_median": float(np.exp(self.quantile(0.5))),
                "irr_ci95": [float(np.exp(self.quantile(0.025))),
                             float(np.exp(self.quantile(0.975)))],
                "prob_meaningful_reduction": self.prob_irr_below(1.0 - mcid),
                "prob_harm": 1.0 - self.prob_irr_below(1.0),
                "description": self.description, "provenance": self.provenance}

    def to_dict(self) -> dict:
        """JSON-ready representation (round-trips through :meth:`from_dict`)."""
        d = asdict(self)
        for key in ("weights", "means", "sds"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MixturePrior:
        """Inverse of :meth:`to_dict`."""
        return cls(d["name"], d["description"], d["provenance"], tuple(d["weights"]),
                   tuple(d["means"]), tuple(d["sds"]), d.get("details", {}))

    def __str__(self) -> str:
        def fmt(values):
            return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"

        return (f"{self.name}: NormalMixture(w={fmt(self.weights)}, mu={fmt(self.means)}, "
                f"sigma={fmt(self.sds)}) on log IRR")


def vague() -> MixturePrior:
    """Normal(0, 10) on the log IRR: flat over every plausible effect (a reference analysis)."""
    return MixturePrior.normal(
        "vague", 0.0, VAGUE_SD,
        description=f"Normal(0, {VAGUE_SD:g}) on log IRR: flat over every plausible effect, so "
                    "the data alone speak.",
        provenance="convention: reference prior")


def _tail_sd(planned_irr: float) -> float:
    if not 0.0 < planned_irr < 1.0:
        raise SpecError(f"planned IRR must be between 0 and 1 (a reduction); got {planned_irr}")
    return -np.log(planned_irr) / Z95


def sceptical(planned_irr: float = PLANNED_IRR) -> MixturePrior:
    """Centred on no effect; P(IRR < planned) = 5% (Spiegelhalter, Freedman & Parmar 1994)."""
    return MixturePrior.normal(
        "sceptical", 0.0, _tail_sd(planned_irr),
        description=f"Centred on no effect, with a 5% chance of a reduction at least as large "
                    f"as the planned {1 - planned_irr:.0%}.",
        provenance=f"Spiegelhalter, Freedman & Parmar (1994); planned IRR {planned_irr} is an "
                   "assumption (the protocol's target was not available)")


def enthusiastic(planned_irr: float = PLANNED_IRR) -> MixturePrior:
    """Centred on the planned effect; P(harm, IRR > 1) = 5%."""
    return MixturePrior.normal(
        "enthusiastic", float(np.log(planned_irr)), _tail_sd(planned_irr),
        description=f"Centred on the planned {1 - planned_irr:.0%} reduction, with a 5% chance "
                    "of harm.",
        provenance=f"Spiegelhalter, Freedman & Parmar (1994); planned IRR {planned_irr} is an "
                   "assumption")


def pessimistic(planned_irr: float = PLANNED_IRR) -> MixturePrior:
    """Mirror image of the enthusiastic prior: centred on harm; P(any reduction) = 5%."""
    return MixturePrior.normal(
        "pessimistic", float(-np.log(planned_irr)), _tail_sd(planned_irr),
        description=f"Centred on a {1 / planned_irr - 1:.0%} increase (harm), with a 5% chance "
                    "of any reduction.",
        provenance=f"mirror image of the enthusiastic prior; planned IRR {planned_irr} is an "
                   "assumption")


GRID_CENTRES = {"neutral": 0.0, "optimistic": -1.0, "pessimistic": 1.0}
GRID_STRENGTHS = {"strong": 1.0, "moderate": 2.0, "weak": 4.0}


def grid_prior(name: str, planned_irr: float = PLANNED_IRR) -> MixturePrior:
    """A prior from the centre x strength grid (Zampieri et al. 2021), e.g. ``"optimistic-weak"``.

    Centres are no effect (neutral), the planned reduction (optimistic) or its mirror image
    (pessimistic). A strong prior has the sceptical prior's SD; moderate and weak priors have
    two and four times that SD.
    """
    try:
        centre, strength = name.split("-")
        c, f = GRID_CENTRES[centre], GRID_STRENGTHS[strength]
    except (ValueError, KeyError):
        raise SpecError(f"unknown grid prior {name!r}; expected CENTRE-STRENGTH with CENTRE in "
                        f"{sorted(GRID_CENTRES)} and STRENGTH in {sorted(GRID_STRENGTHS)}"
                        ) from None
    sd = f * _tail_sd(planned_irr)
    return MixturePrior.normal(
        name, c * -np.log(planned_irr), sd,
        description=f"{centre.capitalize()} centre, {strength} strength: Normal("
                    f"{c * -np.log(planned_irr):.3f}, {sd:.3f}) on log IRR.",
        provenance=f"Zampieri et al. (2021) grid; planned IRR {planned_irr} is an assumption")


LIBRARY = {"vague": vague, "sceptical": sceptical, "enthusiastic": enthusiastic,
           "pessimistic": pessimistic}
"""Named priors available without parameters (the grid adds CENTRE-STRENGTH names)."""

PILOT_PRIOR = "pilot-informed"
"""Name of the robustified meta-analytic-predictive prior built from the pilots."""

DEFAULT_PILOTS = Path("models") / "pilots.toml"
"""Pilots file used when none is named: relative to the working directory, else the project's."""


@dataclass(frozen=True)
class PilotSettings:
    """How the pilot-informed prior is built (see :mod:`swisbayes.evidence.meta_analysis`).

    Parameters
    ----------
    pilots : pathlib.Path or None
        Pilots TOML file; :data:`DEFAULT_PILOTS` when None.
    outcome : str
        Outcome whose pilot estimates are pooled.
    tau_scale : float
        Scale of the half-normal prior on the between-LA SD.
    robust_weight : float
        Weight on the MAP part; the rest goes on the vague prior.
    discount_a0 : float
        Power-prior discount in (0, 1] (1 = none).
    """

    pilots: Path | None = None
    outcome: str = "s47"
    tau_scale: float = 0.5
    robust_weight: float = 0.8
    discount_a0: float = 1.0

    def pilots_path(self) -> Path:
        """The pilots file to read."""
        if self.pilots is not None:
            return Path(self.pilots)
        return default_file(DEFAULT_PILOTS.name)


def library_names(*, include_pilots: bool = True) -> list[str]:
    """Every prior name the resolver accepts (the pilot prior needs a pilots file)."""
    grid = [f"{c}-{s}" for c in GRID_CENTRES for s in GRID_STRENGTHS]
    return [*LIBRARY, *([PILOT_PRIOR] if include_pilots else []), *grid]


def library_prior(name: str, *, planned_irr: float = PLANNED_IRR) -> MixturePrior:
    """Look up a named prior of the library (closed form; no pilot meta-analysis).

    Parameters
    ----------
    name : str
        ``vague``, ``sceptical``, ``enthusiastic``, ``pessimistic`` or a grid name such as
        ``optimistic-moderate``, or ``pilot-informed``.
    planned_irr : float, default 0.85
        Planned effect calibrating the named priors.

    Returns
    -------
    MixturePrior

    Raises
    ------
    SpecError
        For an unknown name (the message lists the valid ones), and for ``pilot-informed``,
        which is the pilots' meta-analysis: :func:`swisbayes.evidence.resolver.get_prior`
        resolves every name, that one included.

    Examples
    --------
    >>> p = library_prior("sceptical")
    >>> round(p.prob_irr_below(0.85), 4)
    0.05
    """
    if name in LIBRARY:
        return LIBRARY[name]() if name == "vague" else LIBRARY[name](planned_irr)
    if name == PILOT_PRIOR:
        raise SpecError(f"the '{PILOT_PRIOR}' prior comes from the pilots' meta-analysis; "
                        "resolve it with swisbayes.evidence.resolver.get_prior")
    if "-" in name:
        return grid_prior(name, planned_irr)
    raise SpecError(f"unknown prior {name!r}; valid names: {', '.join(library_names())}")


__all__ = [
    "LIBRARY",
    "MAX_COMPONENTS",
    "PILOT_PRIOR",
    "PLANNED_IRR",
    "MixturePrior",
    "PilotSettings",
    "enthusiastic",
    "grid_prior",
    "library_names",
    "library_prior",
    "pessimistic",
    "sceptical",
    "vague"
]
