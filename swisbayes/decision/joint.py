"""Joint probabilities of several outcomes' effects: from joint draws, or assuming independence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

JOINT_METHOD = "joint model"
"""``method`` of a probability read off the joint posterior."""


INDEPENDENCE_METHOD = "independence"
"""``method`` of a probability computed as a product of marginal probabilities."""


INDEPENDENCE_LABEL = "assuming independence"
"""How a product of marginal probabilities is labelled in text and tables."""


def prob_all_below(draws: Mapping[str, np.ndarray], thresholds: Mapping[str, float]) -> float:
    """Share of draws in which every named quantity is below its threshold.

    Parameters
    ----------
    draws : mapping of str to numpy.ndarray
        Draws by name, paired by position (the same posterior draw in every array).
    thresholds : mapping of str to float
        Threshold by name; only these names are used.

    Returns
    -------
    float

    Examples
    --------
    >>> prob_all_below({"a": np.array([0.8, 0.8, 1.2, 1.2]),
    ...                 "b": np.array([0.8, 1.2, 0.8, 1.2])}, {"a": 0.9, "b": 0.9})
    0.25
    """
    arrays = [np.asarray(draws[name], dtype=float).ravel() for name in thresholds]
    if len({a.size for a in arrays}) > 1:
        raise ValueError("joint probabilities need the same number of paired draws per outcome")
    below = np.logical_and.reduce([a < t for a, t in zip(arrays, thresholds.values(),
                                                         strict=True)])
    return float(np.mean(below))


@dataclass(frozen=True)
class JointProbability:
    """P(every listed outcome's IRR is below its threshold), and how it was computed.

    Parameters
    ----------
    thresholds : dict of str to float
        IRR threshold by outcome.
    probability : float
    marginals : dict of str to float
        P(IRR < threshold) of each outcome alone.
    method : {"joint model", "independence"}
        Read off the joint posterior's paired draws, or the product of the marginals.
    quantity : {"irr", "irr_new_la"}
        The effect in a typical trial LA, or in a new LA (the ``estimand`` of the JSON;
        see :data:`~swisbayes.decision.summaries.ESTIMANDS`).
    source : str
        Which posterior(s) the draws came from.
    """

    thresholds: dict[str, float]
    probability: float
    marginals: dict[str, float]
    method: str
    quantity: str
    source: str

    def __float__(self) -> float:
        return self.probability

    @property
    def label(self) -> str:
        """``"joint model"`` or ``"assuming independence"``."""
        return INDEPENDENCE_LABEL if self.method == INDEPENDENCE_METHOD else JOINT_METHOD

    @property
    def text(self) -> str:
        """One sentence, naming the method."""
        where = "in a new LA" if self.quantity == "irr_new_la" else "in a typical trial LA"
        events = " and ".join(f"{o} IRR < {t:.2f}" for o, t in self.thresholds.items())
        return f"P({events}) {where} = {self.probability:.3f} ({self.label})"

    def to_dict(self) -> dict:
        """JSON-ready keys: outcomes, thresholds, probability, marginals, method, label..."""
        return {"outcomes": list(self.thresholds), "thresholds": dict(self.thresholds),
                "probability": self.probability, "marginals": dict(self.marginals),
                "method": self.method, "label": self.label, "quantity": self.quantity,
                "estimand": "new_la" if self.quantity == "irr_new_la" else "typical_la",
                "source": self.source}


def quantity_label(new_la: bool) -> str:
    return "irr_new_la" if new_la else "irr"


def product_of_marginals(marginals: Mapping[str, float]) -> float:
    return float(np.prod(list(marginals.values())))


def resolve_conditions(conditions: Mapping[str, float] | Sequence[str] | None,
                        defaults: Mapping[str, float]) -> dict[str, float]:
    """Thresholds by outcome: given, or the defaults of the named (or all) outcomes."""
    names = list(defaults) if conditions is None else list(conditions)
    unknown = sorted(set(names) - set(defaults))
    if unknown:
        raise KeyError(f"unknown outcome(s) {unknown}; available: {', '.join(defaults)}")
    if not names:
        raise ValueError("conditions name no outcome")
    thresholds = ({o: float(conditions[o]) for o in names} if isinstance(conditions, Mapping)
                  else {o: float(defaults[o]) for o in names})
    if not all(t > 0 for t in thresholds.values()):
        raise ValueError(f"IRR thresholds must be positive; got {thresholds}")
    return thresholds


__all__ = [
    "INDEPENDENCE_LABEL", "INDEPENDENCE_METHOD", "JOINT_METHOD", "JointProbability",
    "prob_all_below"
]
