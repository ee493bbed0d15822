"""The value of more evidence: EVPI and EVSI of the investment decision on a normal mixture.

The current evidence about the effect of SWIS on one outcome is a normal mixture on the log
incidence rate ratio :math:`\\theta` (a :class:`~swisbayes.priors.library.MixturePrior`, typically
the exact posterior of :func:`swisbayes.evidence.reanalysis.reanalyse`). Net monetary benefit per
intervention school-year is linear in the rate ratio (:class:`LinearNetBenefit`):

.. math::

    \\mathrm{NMB}(\\theta) = v E (1 - e^{\\theta}) - c + o,

for a value :math:`v` per averted event, :math:`E` events per school-year without SWIS, a cost
:math:`c` per school-year and the expected net benefit :math:`o` of the other outcomes, held
fixed. The choice is between investing (NMB) and not investing (0).

- :func:`evpi_mixture`: the expected value of perfect information, exactly;
- :func:`evsi`: the expected value of the sample information of a new trial with ``n`` schools
  per arm, whose log-IRR estimate is :math:`y \\sim N(\\theta, \\sigma^2 2 / n)` with the
  per-school SD :math:`\\sigma` implied by the published trial
  (:data:`swisbayes.priors.robust.UNIT_SD`);
- :func:`further_trial_value`: EVSI over the trial sizes of the economic inputs, scaled to the
  roll-out and set against each trial's cost;
- :func:`evsi_table`: those values under several priors, side by side.

Both values are computed without Monte Carlo (see :func:`evsi`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from swisbayes._base.errors import SpecError
from swisbayes.economics.net_benefit import EconomicInputs, format_money, population_scale
from swisbayes.priors.conjugate import posterior as update
from swisbayes.priors.library import MixturePrior
from swisbayes.priors.robust import UNIT_SD


@dataclass(frozen=True)
class LinearNetBenefit:
    """Net monetary benefit per school-year as a function of one outcome's log IRR.

    Parameters
    ----------
    value : float
        Value of one averted event (non-negative).
    events_per_school_year : float
        Events per school-year without SWIS (non-negative): what a rate ratio acts on.
    cost : float
        Programme cost per school-year (non-negative).
    offset : float, default 0.0
        Expected net benefit per school-year of the other outcomes, held fixed.

    Raises
    ------
    SpecError
        If a number is not finite, or ``value``, ``events_per_school_year`` or ``cost`` is
        negative.

    Notes
    -----
    .. math::

        \\mathrm{NMB}(\\theta) = v E (1 - e^{\\theta}) - c + o = b - a e^{\\theta},
        \\quad a = v E, \\quad b = a - c + o,

    so investing pays when :math:`\\theta < \\log(b / a)` (:attr:`break_even_log_irr`), and never
    when :math:`b \\le 0`.

    Examples
    --------
    >>> nb = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20000.0)
    >>> float(nb.at(np.log(0.5)))  # 15 x 50% x £2,000 - £20,000
    -5000.0
    >>> round(float(np.exp(nb.break_even_log_irr)), 4)  # a third of events must be averted
    0.3333
    """

    value: float
    events_per_school_year: float
    cost: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        numbers = {"value": self.value, "events_per_school_year": self.events_per_school_year,
                   "cost": self.cost, "offset": self.offset}
        for name, number in numbers.items():
            if not math.isfinite(number):
                raise SpecError(f"net benefit: {name} must be a finite number; got {number!r}")
            if name != "offset" and number < 0:
                raise SpecError(f"net benefit: {name} must not be negative; got {number!r}")

    @classmethod
    def from_inputs(cls, inputs: EconomicInputs, *, outcome: str = "s47",
                    events_per_school_year: float, offset: float = 0.0) -> LinearNetBenefit:
        """The net benefit of one outcome with the value and cost of the economic inputs.

        Parameters
        ----------
        inputs : EconomicInputs
        outcome : str, default "s47"
            An outcome with a value per averted event in ``inputs``.
        events_per_school_year : float
            Events per school-year without SWIS.
        offset : float, default 0.0
            Expected net benefit per school-year of the other outcomes.

        Returns
        -------
        LinearNetBenefit

        Raises
        ------
        SpecError
            If ``outcome`` has no value in ``inputs``.
        """
        if outcome not in inputs.values:
            raise SpecError(f"outcome {outcome!r} has no value per averted event in the economic "
                            f"inputs; outcomes with a value: {', '.join(inputs.values)}")
        return cls(value=inputs.values[outcome], events_per_school_year=events_per_school_year,
                   cost=inputs.cost_per_school_year.value, offset=offset)

    @property
    def slope(self) -> float:
        """:math:`a = v E`: the value of averting every event."""
        return self.value * self.events_per_school_year

    @property
    def intercept(self) -> float:
        """:math:`b = a - c + o`: the net benefit if SWIS averted every event."""
        return self.slope - self.cost + self.offset

    @property
    def break_even_log_irr(self) -> float:
        """The log IRR below which investing pays: :math:`\\log(b / a)`.

        ``-inf`` when investing never pays (:math:`b \\le 0`), ``+inf`` when it always pays
        (:math:`a = 0 < b`).
        """
        a, b = self.slope, self.intercept
        if b <= 0:
            return -math.inf
        return math.inf if a == 0 else math.log(b / a)

    @property
    def break_even_value(self) -> float:
        """The value per averted event above which averting every event would pay:
        :math:`(c - o) / E` (``inf`` when there are no events to avert).

        Below it no effect, however large, makes investing pay, so no information can change
        the decision.
        """
        if self.events_per_school_year == 0:
            return math.inf
        return (self.cost - self.offset) / self.events_per_school_year

    def at(self, log_irr: float | np.ndarray) -> np.ndarray:
        """NMB per school-year at given log IRRs.

        Parameters
        ----------
        log_irr : float or numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        return self.intercept - self.slope * np.exp(np.asarray(log_irr, dtype=float))

    def prob_positive(self, mixture: MixturePrior) -> float:
        """P(NMB > 0) under a normal mixture on the log IRR: its CDF at the break-even log IRR
        (:attr:`break_even_log_irr`; 0 when investing never pays, 1 when it always does).

        Parameters
        ----------
        mixture : MixturePrior

        Returns
        -------
        float
        """
        cut = self.break_even_log_irr
        return 0.0 if cut == -math.inf else 1.0 if cut == math.inf else float(mixture.cdf(cut))

    @property
    def can_pay(self) -> bool:
        """Whether some effect makes investing pay (averting every event would)."""
        return self.break_even_log_irr > -math.inf

    def expected(self, mixture: MixturePrior) -> float:
        """Expected NMB per school-year under a normal mixture on the log IRR.

        Parameters
        ----------
        mixture : MixturePrior

        Returns
        -------
        float
            :math:`b - a \\sum_k w_k e^{m_k + s_k^2 / 2}` (the lognormal mean of each component).
        """
        return self.intercept - self.slope * math.exp(_log_mean_exp(mixture))


def _components(mixture: MixturePrior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(v, dtype=float) for v in (mixture.weights, mixture.means,
                                                       mixture.sds))


def _log_mean_exp(mixture: MixturePrior) -> float:
    """:math:`\\log E[e^\\theta]` under the mixture."""
    w, m, s = _components(mixture)
    return float(special.logsumexp(np.log(w) + m + s**2 / 2))


def _decision_switch(mixture: MixturePrior, nb: LinearNetBenefit, se: float) -> float | None:
    """The estimate ``y*`` below which the updated expected NMB is positive.

    ``E[exp(theta) | y]`` increases with ``y`` (a normal likelihood orders the posteriors
    stochastically), so the updated expected NMB crosses 0 once, where
    ``log E[exp(theta) | y] = log(b / a)``. None when it does not cross within a range that
    holds every ``y`` with non-negligible predictive probability.
    """
    target = nb.break_even_log_irr
    if se == 0.0:
        return target

    def gap(y: float) -> float:
        return _log_mean_exp(update(mixture, y, se)) - target

    centre = target
    spread = math.sqrt(mixture.sd**2 + se**2)
    reach = 1e3 * (spread + abs(mixture.mean - target))  # 1000 predictive SDs and more
    step = max(spread, 1.0)
    while step <= reach:
        lo, hi = centre - step, centre + step
        g_lo, g_hi = gap(lo), gap(hi)
        if g_lo < 0 < g_hi:
            return float(optimize.brentq(gap, lo, hi, xtol=1e-12 * max(1.0, abs(centre)),
                                         rtol=1e-12))
        step *= 4.0
    return None


def _value_of_information(mixture: MixturePrior, nb: LinearNetBenefit, se: float) -> float:
    """EVSI of an estimate with standard error ``se`` (EVPI when ``se`` is 0)."""
    a, b = nb.slope, nb.intercept
    if a == 0 or b <= 0:  # NMB is constant, or negative whatever the effect
        return 0.0
    y_star = _decision_switch(mixture, nb, se)
    if y_star is None:
        return 0.0
    w, m, s = _components(mixture)
    sd_y = np.sqrt(s**2 + se**2)
    z_count, z_exp = (y_star - m) / sd_y, (y_star - m - s**2) / sd_y
    exp_mean = np.exp(m + s**2 / 2)
    if nb.expected(mixture) <= 0:
        # not investing now: the information pays where it would switch to investing (y < y*)
        gain = np.sum(w * (b * stats.norm.cdf(z_count) - a * exp_mean * stats.norm.cdf(z_exp)))
    else:
        # investing now: it pays where it would switch to not investing (y > y*)
        gain = -np.sum(w * (b * stats.norm.sf(z_count) - a * exp_mean * stats.norm.sf(z_exp)))
    return max(float(gain), 0.0)  # non-negative in exact arithmetic; this guards rounding


def evpi_mixture(posterior: MixturePrior, nb: LinearNetBenefit) -> float:
    """Expected value of perfect information per school-year, exactly on a normal mixture.

    Parameters
    ----------
    posterior : MixturePrior
        Current distribution of the log IRR.
    nb : LinearNetBenefit
        Net benefit of investing as a function of the log IRR.

    Returns
    -------
    float
        :math:`E[\\max(\\mathrm{NMB}, 0)] - \\max(E[\\mathrm{NMB}], 0)`; exactly 0 when
        investing never pays (or always pays) whatever the effect.

    See Also
    --------
    swisbayes.economics.net_benefit.evpi : the same quantity from draws.

    Notes
    -----
    With :math:`t = \\log(b / a)`, investing pays when :math:`\\theta < t`, and for a component
    :math:`N(m, s^2)`

    .. math::

        E[\\mathrm{NMB}^+] = b\\,\\Phi\\!\\left(\\frac{t - m}{s}\\right)
        - a e^{m + s^2/2}\\,\\Phi\\!\\left(\\frac{t - m - s^2}{s}\\right).

    Examples
    --------
    >>> post = MixturePrior.normal("p", -1.0, 0.3)
    >>> nb = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20000.0)
    >>> round(evpi_mixture(post, nb), 2)
    655.28
    """
    return _value_of_information(posterior, nb, 0.0)


def trial_se(n_per_arm: float | np.ndarray, unit_sd: float = UNIT_SD) -> float | np.ndarray:
    """Standard error of the log IRR of a trial with ``n_per_arm`` schools in each arm.

    Parameters
    ----------
    n_per_arm : float or numpy.ndarray
        Schools per arm (positive).
    unit_sd : float, default UNIT_SD
        Per-school SD of the log IRR (from the published trial).

    Returns
    -------
    float or numpy.ndarray
        :math:`\\sigma \\sqrt{2 / n}`.

    Examples
    --------
    >>> round(float(trial_se(134)), 4)  # about the published trial's SE of 0.0509
    0.0509
    """
    n = np.asarray(n_per_arm, dtype=float)
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise SpecError(f"n_per_arm must be positive numbers of schools; got {n_per_arm!r}")
    if not (math.isfinite(unit_sd) and unit_sd > 0):
        raise SpecError(f"unit_sd must be a positive number; got {unit_sd!r}")
    se = unit_sd * np.sqrt(2.0 / n)
    return float(se) if se.ndim == 0 else se


def evsi(posterior: MixturePrior, nb: LinearNetBenefit, n_per_arm: int | Sequence[int], *,
         unit_sd: float = UNIT_SD) -> float | np.ndarray:
    """Expected value of sample information of a new trial, per school-year.

    Parameters
    ----------
    posterior : MixturePrior
        Current distribution of the log IRR.
    nb : LinearNetBenefit
        Net benefit of investing as a function of the log IRR.
    n_per_arm : int or sequence of int
        Schools per arm of the new trial.
    unit_sd : float, default UNIT_SD
        Per-school SD of the log IRR: a trial with ``n`` schools per arm estimates the log IRR
        with SE ``unit_sd * sqrt(2 / n)``.

    Returns
    -------
    float or numpy.ndarray
        A float for one trial size, an array for a sequence. Between 0 and
        :func:`evpi_mixture`, increasing in ``n_per_arm``; exactly 0 when no result could change
        the decision.

    Raises
    ------
    SpecError
        If a trial size or ``unit_sd`` is not positive.

    Notes
    -----
    Preposterior analysis. The trial's estimate is :math:`y \\sim N(\\theta, \\sigma_n^2)`; given
    :math:`y` the posterior is the exact mixture update
    (:func:`swisbayes.priors.conjugate.posterior`), :math:`E[e^\\theta \\mid y]` is the mixture of
    the components' lognormal means, and one invests iff :math:`E[\\mathrm{NMB} \\mid y] > 0`. Then

    .. math::

        \\mathrm{EVSI} = E_y\\left[\\max(E[\\mathrm{NMB} \\mid y], 0)\\right]
        - \\max(E[\\mathrm{NMB}], 0).

    The posterior is stochastically increasing in :math:`y`, so investing is chosen exactly when
    :math:`y < y^*`, with :math:`y^*` found by Brent's method. The outer expectation is then
    computed exactly rather than by quadrature: by the tower rule
    :math:`E_y[E[\\mathrm{NMB} \\mid y]\\,1\\{y < y^*\\}] = E[\\mathrm{NMB}(\\theta)\\,
    P(y < y^* \\mid \\theta)]`, and for a component :math:`N(m, s^2)`, with
    :math:`d = \\sqrt{s^2 + \\sigma_n^2}`,

    .. math::

        E[\\mathrm{NMB}(\\theta)\\,1\\{y < y^*\\}] = b\\,\\Phi\\!\\left(\\frac{y^* - m}{d}\\right)
        - a e^{m + s^2/2}\\,\\Phi\\!\\left(\\frac{y^* - m - s^2}{d}\\right),

    which is :func:`evpi_mixture`'s formula as :math:`\\sigma_n \\to 0`.

    Examples
    --------
    >>> post = MixturePrior.normal("p", -1.0, 0.3)
    >>> nb = LinearNetBenefit(value=2000.0, events_per_school_year=15.0, cost=20000.0)
    >>> [round(float(v), 2) for v in evsi(post, nb, [10, 100, 1000])]
    [487.67, 634.05, 653.1]
    """
    se = trial_se(n_per_arm, unit_sd)
    if np.ndim(se) == 0:
        return _value_of_information(posterior, nb, float(se))
    return np.array([_value_of_information(posterior, nb, float(s)) for s in se])


@dataclass(frozen=True)
class FurtherTrialValue:
    """What further trials of several sizes are worth to the roll-out decision.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per trial size: ``n_per_arm``, ``evsi_per_school_year``, ``population_evsi``
        (EVSI for the roll-out), ``trial_cost`` and ``expected_net_gain`` (population EVSI
        minus the trial's cost).
    evpi_per_school_year : float
        EVPI per school-year: the ceiling of every EVSI.
    population_evpi : float
        EVPI for the roll-out.
    population_scale : float
        Roll-out school-years (discounted) per school-year.
    currency : str
        ISO code of the amounts.
    """

    table: pd.DataFrame
    evpi_per_school_year: float
    population_evpi: float
    population_scale: float
    currency: str = "GBP"

    @property
    def worth_a_trial(self) -> bool:
        """Whether some trial size considered is expected to be worth more than it costs: what
        makes "more evidence" a verdict (:class:`~swisbayes.decision.rule.DecisionRule`)."""
        return bool((self.table["expected_net_gain"] > 0).any())

    def sentence(self, n_per_arm: int) -> str:
        """One sentence for a report on a trial of one size.

        Parameters
        ----------
        n_per_arm : int
            A trial size in :attr:`table`.

        Returns
        -------
        str
            E.g. "A new trial of 100 schools per arm would be worth at most £1.2m to this
            decision (it would cost about £9.5m)."

        Raises
        ------
        SpecError
            If ``n_per_arm`` is not in the table.
        """
        rows = self.table[self.table["n_per_arm"] == n_per_arm]
        if rows.empty:
            raise SpecError(f"no trial of {n_per_arm} schools per arm was evaluated; sizes: "
                            f"{', '.join(str(n) for n in self.table['n_per_arm'])}")
        row = rows.iloc[0]
        return (f"A new trial of {n_per_arm} schools per arm would be worth at most "
                f"{format_money(row['population_evsi'], self.currency)} to this decision (it "
                f"would cost about {format_money(row['trial_cost'], self.currency)}).")

    @property
    def text(self) -> str:
        """Plain-English summary: the ceiling set by perfect information, and the best trial."""
        if self.population_evpi < 0.5:  # rounds to nothing: the decision cannot change
            return ("No further trial could change this decision: even knowing the effect "
                    "exactly would not, so more evidence is worth nothing to it.")
        ceiling = (f"Perfect information about the effect would be worth at most "
                   f"{format_money(self.population_evpi, self.currency)} to this decision.")
        best = self.table.loc[self.table["expected_net_gain"].idxmax()]
        if best["expected_net_gain"] <= 0:
            return (f"{ceiling} None of the trials considered "
                    f"({', '.join(str(n) for n in self.table['n_per_arm'])} schools per arm) "
                    "is expected to be worth its cost.")
        return (f"{ceiling} {self.sentence(int(best['n_per_arm']))} This is the best of the "
                f"sizes considered, with an expected net gain of "
                f"{format_money(best['expected_net_gain'], self.currency)}.")

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        return {"table": self.table.to_dict(orient="records"),
                "evpi_per_school_year": self.evpi_per_school_year,
                "population_evpi": self.population_evpi,
                "population_scale": self.population_scale, "currency": self.currency}


def further_trial_value(posterior: MixturePrior, nb: LinearNetBenefit, inputs: EconomicInputs,
                        *, unit_sd: float = UNIT_SD) -> FurtherTrialValue:
    """EVSI of the trial sizes in the economic inputs, for the roll-out, against their costs.

    Parameters
    ----------
    posterior : MixturePrior
        Current distribution of the log IRR.
    nb : LinearNetBenefit
        Net benefit of investing per school-year.
    inputs : EconomicInputs
        Trial sizes and costs (``[further_trial]``) and the roll-out (``[rollout]``).
    unit_sd : float, default UNIT_SD
        Per-school SD of the log IRR (see :func:`evsi`).

    Returns
    -------
    FurtherTrialValue

    Examples
    --------
    >>> from swisbayes.economics.net_benefit import load_economics
    >>> inputs = load_economics()
    >>> nb = LinearNetBenefit.from_inputs(inputs, events_per_school_year=15.0)
    >>> value = further_trial_value(MixturePrior.normal("p", -1.0, 0.3), nb, inputs)
    >>> value.population_evpi == 0.0  # 15 enquiries x £2,000 cannot pay for £37,500
    True
    """
    n = np.asarray(inputs.further_trial.n_per_arm, dtype=int)
    scale = population_scale(inputs)
    per_school_year = np.atleast_1d(evsi(posterior, nb, n.tolist(), unit_sd=unit_sd))
    cost = np.asarray(inputs.further_trial.cost(n), dtype=float)
    table = pd.DataFrame({
        "n_per_arm": n,
        "evsi_per_school_year": per_school_year,
        "population_evsi": per_school_year * scale,
        "trial_cost": cost,
        "expected_net_gain": per_school_year * scale - cost,
    })
    ceiling = evpi_mixture(posterior, nb)
    return FurtherTrialValue(table=table, evpi_per_school_year=ceiling,
                             population_evpi=ceiling * scale, population_scale=scale,
                             currency=inputs.currency)


PERFECT_INFORMATION = "perfect information"
"""Label of the last row of :func:`evsi_table`: the EVPI, the ceiling of every EVSI."""


def evsi_table(values: Mapping[str, FurtherTrialValue]) -> pd.DataFrame:
    """The value of further trials under several priors, side by side.

    Parameters
    ----------
    values : mapping of str to FurtherTrialValue
        By prior name (from the same economic inputs, so with the same trial sizes).

    Returns
    -------
    pandas.DataFrame
        Indexed by the trial size (``n_per_arm``), then a last row :data:`PERFECT_INFORMATION`;
        column ``trial_cost`` (NaN on the last row), then one column per prior: the EVSI for
        the roll-out (``population_evsi``), and on the last row its EVPI for the roll-out.

    Raises
    ------
    SpecError
        If ``values`` is empty or its tables have different trial sizes.

    Examples
    --------
    >>> from swisbayes.economics.net_benefit import load_economics
    >>> inputs = load_economics().with_value("s47", 50_000)
    >>> nb = LinearNetBenefit.from_inputs(inputs, events_per_school_year=15.0)
    >>> v = further_trial_value(MixturePrior.normal("p", -0.05, 0.05), nb, inputs)
    >>> table = evsi_table({"p": v})
    >>> table.index[-1], bool(table["p"].iloc[-1] == v.population_evpi)
    ('perfect information', True)
    """
    if not values:
        raise SpecError("evsi_table: no further-trial values given")
    first = next(iter(values.values())).table
    sizes = [int(n) for n in first["n_per_arm"]]
    for name, v in values.items():
        if [int(n) for n in v.table["n_per_arm"]] != sizes:
            raise SpecError(f"evsi_table: the '{name}' values have trial sizes "
                            f"{list(v.table['n_per_arm'])}, not {sizes}")
    columns = {"trial_cost": [*first["trial_cost"], math.nan]}
    columns |= {name: [*v.table["population_evsi"], v.population_evpi]
                for name, v in values.items()}
    index = pd.Index([*sizes, PERFECT_INFORMATION], name="n_per_arm", dtype=object)
    return pd.DataFrame(columns, index=index)


__all__ = [
    "PERFECT_INFORMATION", "FurtherTrialValue", "LinearNetBenefit", "evpi_mixture", "evsi",
    "evsi_table", "further_trial_value", "trial_se"
]
