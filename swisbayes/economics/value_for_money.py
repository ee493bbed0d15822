"""Value for money from draws of averted events: net benefit, CEAC and EVPI under one prior.

The kernels of :mod:`swisbayes.economics.net_benefit` work on one array of net benefit; this
module puts them together the way a decision-maker reads them, from plain arrays:

- :func:`mean_pupils` and :func:`per_school` turn rates per 1000 pupils into events per
  intervention school-year;
- :func:`value_for_money` takes draws of events averted per school-year of every valued outcome,
  paired by index, and returns a :class:`ValueForMoney`: the net monetary benefit (NMB) with
  every outcome counted, P(NMB > 0), the EVPI per school-year and for the roll-out, and the
  acceptability curve per event of one outcome (S47 enquiries) whose cost is the programme's
  cost less the value of the other outcomes' averted events;
- :func:`value_of_others` and :func:`expected_value_of_others` are that offset, as draws and as
  its expectation (the offset of :class:`~swisbayes.economics.voi.LinearNetBenefit`).

Pairing draws of separately fitted outcomes (and the fits themselves) is the business of
:mod:`swisbayes.workflows.value_for_money`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData
from swisbayes.economics.net_benefit import (
    EconomicInputs,
    NetBenefitSummary,
    ceac,
    evpi,
    net_benefit,
    population_scale,
    summarise_net_benefit,
)

PRIMARY_OUTCOME = "s47"
"""The outcome the acceptability curve is per event of (S47 enquiries, as published)."""


def mean_pupils(data: SchoolData) -> float:
    """Mean pupils per school: converts rates per 1000 pupils into events per school.

    Parameters
    ----------
    data : SchoolData

    Returns
    -------
    float
    """
    return float(data.frame["pupils"].mean())


def per_school(per_1000: float | np.ndarray, pupils_per_school: float) -> float | np.ndarray:
    """An amount per 1000 pupils as an amount per school of ``pupils_per_school`` pupils.

    Parameters
    ----------
    per_1000 : float or numpy.ndarray
        E.g. events averted per 1000 pupils per year (or draws of it).
    pupils_per_school : float

    Returns
    -------
    float or numpy.ndarray
        ``per_1000 * pupils_per_school / 1000``.

    Examples
    --------
    >>> per_school(2.5, 1040.5)
    2.60125
    """
    return per_1000 * pupils_per_school / 1000.0


def value_of_others(averted: Mapping[str, np.ndarray], values: Mapping[str, float], *,
                    outcome: str = PRIMARY_OUTCOME) -> np.ndarray:
    """Draws of the value of the averted events of every outcome but ``outcome``.

    Parameters
    ----------
    averted : mapping of str to numpy.ndarray
        Events averted per school-year by outcome, paired by index; every key has a value.
    values : mapping of str to float
        Value of one averted event, by outcome.
    outcome : str, default "s47"
        The outcome left out.

    Returns
    -------
    numpy.ndarray
        :math:`\\sum_{k \\ne outcome} v_k a_k`, one value per draw (zeros when there is no other
        outcome).

    Examples
    --------
    >>> value_of_others({"s47": np.array([1.0, 2.0]), "s17": np.array([3.0, 5.0])},
    ...                 {"s47": 10.0, "s17": 2.0})
    array([ 6., 10.])
    """
    first = np.asarray(averted[outcome], dtype=float)
    return sum((values[k] * a for k, a in averted.items() if k != outcome), np.zeros_like(first))


def expected_value_of_others(averted: Mapping[str, np.ndarray], values: Mapping[str, float], *,
                             outcome: str = PRIMARY_OUTCOME) -> float:
    """Expected value per school-year of the averted events of every outcome but ``outcome``.

    Parameters
    ----------
    averted : mapping of str to numpy.ndarray
        Events averted per school-year by outcome (equally weighted draws).
    values : mapping of str to float
        Value of one averted event, by outcome.
    outcome : str, default "s47"
        The outcome left out.

    Returns
    -------
    float
        :math:`\\sum_{k \\ne outcome} v_k \\bar a_k`: the offset of a
        :class:`~swisbayes.economics.voi.LinearNetBenefit` of ``outcome`` that holds the
        other outcomes at their expected value.

    Examples
    --------
    >>> expected_value_of_others({"s47": np.array([1.0]), "s17": np.array([3.0, 5.0])},
    ...                          {"s47": 10.0, "s17": 2.0})
    8.0
    """
    return float(sum(values[k] * float(np.mean(a)) for k, a in averted.items() if k != outcome))


@dataclass(frozen=True, eq=False)  # it holds an array: compare its fields
class ValueForMoney:
    """Value for money of investing, per intervention school-year, under one distribution.

    Parameters
    ----------
    nmb : NetBenefitSummary
        Net monetary benefit per school-year, every valued outcome counted.
    evpi_per_school_year : float
        Expected value of perfect information per school-year.
    population_evpi : float
        EVPI for the roll-out (:func:`~swisbayes.economics.net_benefit.population_scale`).
    wtp : tuple of float
        Willingness to pay per event of ``outcome`` avoided (the inputs' grid).
    ceac : numpy.ndarray
        P(cost-effective) at each ``wtp``.
    outcome : str
        The outcome the acceptability curve is per event of.
    """

    nmb: NetBenefitSummary
    evpi_per_school_year: float
    population_evpi: float
    wtp: tuple[float, ...]
    ceac: np.ndarray
    outcome: str = PRIMARY_OUTCOME

    def ceac_at(self, wtp: float) -> float:
        """P(cost-effective) at one willingness to pay of the grid.

        Parameters
        ----------
        wtp : float
            A value of :attr:`wtp`.

        Returns
        -------
        float

        Raises
        ------
        SpecError
            If ``wtp`` is not on the grid.
        """
        if wtp not in self.wtp:
            raise SpecError(f"willingness to pay {wtp:g} is not on the grid "
                            f"{[float(w) for w in self.wtp]}")
        return float(self.ceac[self.wtp.index(wtp)])

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        return {**self.nmb.to_dict(), "evpi_per_school_year": self.evpi_per_school_year,
                "population_evpi": self.population_evpi, "outcome": self.outcome,
                "ceac": {f"{w:g}": float(p) for w, p in zip(self.wtp, self.ceac, strict=True)}}


def value_for_money(averted: Mapping[str, np.ndarray], inputs: EconomicInputs, *,
                    outcome: str = PRIMARY_OUTCOME) -> ValueForMoney:
    """Net benefit, P(NMB > 0), EVPI and the acceptability curve from paired draws.

    Parameters
    ----------
    averted : mapping of str to numpy.ndarray
        Equally weighted draws of events averted per intervention school-year, by valued
        outcome, paired by index (draw ``i`` of each outcome belongs together).
    inputs : EconomicInputs
        Cost, values per averted event, willingness-to-pay grid and roll-out.
    outcome : str, default "s47"
        The outcome the acceptability curve is per event of; it must be in ``averted``.

    Returns
    -------
    ValueForMoney

    Raises
    ------
    SpecError
        If ``outcome`` has no value or no draws.

    Notes
    -----
    The curve is per event of ``outcome`` avoided, like the published one, but its incremental
    cost is the programme's cost less the value of the other outcomes' averted events
    (:func:`value_of_others`), so it carries their uncertainty.

    Examples
    --------
    >>> from swisbayes.economics.net_benefit import load_economics
    >>> inputs = load_economics()
    >>> v = value_for_money({"s47": np.array([10.0, 30.0])}, inputs)
    >>> v.nmb.mean == 20 * 2000.0 - inputs.cost_per_school_year.value
    True
    """
    values = inputs.values
    if outcome not in values or outcome not in averted:
        raise SpecError(f"value for money needs draws of {outcome!r} and a value per averted "
                        f"event of it (value_per_event.{outcome}); got draws of "
                        f"{list(averted)} and values of {list(values)}")
    cost = inputs.cost_per_school_year.value
    nmb = net_benefit(averted, values, cost)
    others = value_of_others(averted, values, outcome=outcome)
    grid = tuple(inputs.willingness_to_pay.grid)
    value = evpi(nmb)
    return ValueForMoney(summarise_net_benefit(nmb), value, value * population_scale(inputs),
                         grid, ceac(averted[outcome], cost - others, grid), outcome)


__all__ = ["PRIMARY_OUTCOME", "ValueForMoney", "expected_value_of_others", "mean_pupils",
           "per_school", "value_for_money", "value_of_others"]
