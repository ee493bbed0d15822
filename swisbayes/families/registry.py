"""The registry of outcome families: one object per kind of outcome, looked up by the spec.

An outcome's kind (``count``, ``days``, ``sessions``) is declared as data in
:mod:`swisbayes.data.schema`; its :class:`OutcomeFamily` here owns what differs between kinds:
building the PyMC model, naming the effect variables, the decision summary of its
posterior, drawing outcomes from the model (prior and posterior predictive), and reading a
school's outcome as a rate (the scale of the predictive checks). Everything
else asks the registry (:func:`family_of`, :func:`build_model`, :func:`decide_spec`,
:func:`prior_predictive`, :func:`posterior_predictive`) and never switches on the kind itself,
so a new kind of outcome is one new family object plus its schema entry and specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData
from swisbayes.data.schema import EXPOSURE_COLUMN, outcome_schema
from swisbayes.decision.summaries import DecisionSummary, decide, decide_attendance, decide_hurdle
from swisbayes.families.attendance import build_attendance_model
from swisbayes.families.common import ModelBuild
from swisbayes.families.count import add_cell_draws, build_count_model
from swisbayes.families.hurdle import build_hurdle_model
from swisbayes.families.predictive import (
    draw_posterior_predictive,
    draw_prior_predictive,
    posterior_dataset,
    split_seed,
)
from swisbayes.spec.analysis import AnalysisSpec


def no_extra(spec: AnalysisSpec) -> dict:
    """No decision settings beyond the common ones (counts, days in care)."""
    return {}


def schools_only(spec: AnalysisSpec, data: SchoolData, tree: xr.DataTree,
                 parameters: xr.Dataset, rng: np.random.Generator) -> xr.DataTree:
    """Predictive draws as they come: one outcome per school (days in care, attendance)."""
    return tree


def pupils(spec: AnalysisSpec, data: SchoolData) -> np.ndarray:
    """Each school's pupils: the exposure of counts and days in care."""
    return data.frame[EXPOSURE_COLUMN].to_numpy(float)


def sessions_possible(spec: AnalysisSpec, data: SchoolData) -> np.ndarray:
    """Each school's sessions possible: the denominator of sessions missed."""
    return data.frame[outcome_schema(spec.outcome).denominator].to_numpy(float)


@dataclass(frozen=True)
class SchoolRate:
    """How a school's outcome becomes a rate that schools of any size share a scale on.

    Predictive checks compare schools through it (their means, variances, maximum and LA
    spread), so a large school's count does not pass for a high rate.

    Parameters
    ----------
    denominator : callable
        ``denominator(spec, data) -> numpy.ndarray``: one value per school of ``data.frame``.
    per : float
        The rate is outcome / denominator times this (1000 for events per 1000 pupils).
    unit : str
        What the rate is, for text and axes.
    """

    denominator: Callable[[AnalysisSpec, SchoolData], np.ndarray]
    per: float
    unit: str


@dataclass(frozen=True)
class OutcomeFamily:
    """What one kind of outcome needs that the others do not.

    Parameters
    ----------
    kind : str
        The outcome kind of :mod:`swisbayes.data.schema` this family models.
    builder : callable
        ``builder(spec, data) -> ModelBuild``: the PyMC model (never samples).
    decider : callable
        ``decider(posterior, **common) -> DecisionSummary``, where ``common`` holds the
        outcome, prior name, MCID, follow-up, interval probability and weights.
    effect_vars : mapping of str to str
        Log-scale effect variables of the posterior and the ratio each one is reported as.
    extra_decision : callable, optional
        Keyword arguments the decider needs beyond the common ones, from the spec.
    rate : SchoolRate
        A school's outcome as a rate (events per 1000 pupils, % of sessions missed), the scale
        of the predictive checks.
    unit_draws : callable, optional
        ``unit_draws(spec, data, tree, parameters, rng) -> tree``: adds draws of observation
        units below the school (pupil cells) to predictive draws of the school outcomes, from
        the parameter draws behind them; :func:`schools_only` by default.
    """

    kind: str
    builder: Callable[[AnalysisSpec, SchoolData], ModelBuild]
    decider: Callable[..., DecisionSummary]
    effect_vars: Mapping[str, str]
    rate: SchoolRate
    extra_decision: Callable[[AnalysisSpec], dict] = no_extra
    unit_draws: Callable[[AnalysisSpec, SchoolData, xr.DataTree, xr.Dataset,
                          np.random.Generator], xr.DataTree] = schools_only

    def build(self, spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
        """The model of ``spec`` on ``data`` (a ``ModelBuild``)."""
        return self.builder(spec, data)

    def decide(self, posterior: xr.Dataset, spec: AnalysisSpec, *, ci_prob: float | None = None,
               weights: np.ndarray | None = None) -> DecisionSummary:
        """The decision summary of a posterior of this family's model."""
        return self.decider(posterior, outcome=spec.outcome, prior=spec.priors.effect.name,
                            mcid=spec.decision.mcid, followup_years=spec.followup_years,
                            ci_prob=ci_prob, weights=weights, **self.extra_decision(spec))

    def prior_predictive(self, spec: AnalysisSpec, data: SchoolData, *, draws: int = 500,
                         seed: int | None = None) -> xr.DataTree:
        """Parameters and outcomes drawn from the model of ``spec`` on the design of ``data``.

        Parameters
        ----------
        spec : AnalysisSpec
            Its prior is the one drawn from (resolve a pilot-informed prior first).
        data : SchoolData
            Fixes the design: schools, LAs, arms, exposures, covariates (its outcome is only
            recorded as ``observed_data``).
        draws : int, default 500
        seed : int, optional

        Returns
        -------
        xarray.DataTree
            ``prior`` (parameters), ``prior_predictive`` (``y_obs``: int64, dims ``chain``,
            ``draw``, ``school``, plus ``y_cell`` over ``cell`` for pupil-level counts, whose
            cells sum to ``y_obs`` draw by draw) and ``observed_data``.

        Raises
        ------
        ValueError
            If a draw's expected count is too large to draw: the shipped specs' vague effect
            prior, N(0, 10) on the log scale, has such draws now and then; give the spec a
            plausible prior for prior predictive checks (``spec.with_effect_prior(0.0, 0.5)``).
        """
        pymc_seed, rng = split_seed(seed)
        tree = draw_prior_predictive(self.build(spec, data), draws=draws, seed=pymc_seed)
        return self.unit_draws(spec, data, tree, tree["prior"].to_dataset(), rng)

    def posterior_predictive(self, spec: AnalysisSpec, data: SchoolData,
                             posterior: xr.DataTree | xr.Dataset, *, seed: int | None = None,
                             log_likelihood: bool = False) -> xr.DataTree:
        """Outcomes drawn given each posterior draw of a fit of ``spec`` to ``data``.

        Parameters
        ----------
        spec : AnalysisSpec
            The spec that was fitted (with the prior it was fitted with).
        data : SchoolData
            The data it was fitted to.
        posterior : xarray.DataTree or xarray.Dataset
            The fit's DataTree (its ``posterior`` group is read) or posterior Dataset.
        seed : int, optional
        log_likelihood : bool, default False
            Also return the pointwise log-likelihood of the data, one term per school, at
            each posterior draw (from the same run as the draws; see
            :func:`~swisbayes.families.predictive.draw_posterior_predictive`).

        Returns
        -------
        xarray.DataTree
            ``posterior_predictive`` (as for :meth:`prior_predictive`, one draw per posterior
            draw), ``observed_data`` and, when asked for, ``log_likelihood``.

        Raises
        ------
        KeyError
            If the posterior lacks a parameter of the model.
        """
        pymc_seed, rng = split_seed(seed)
        tree = draw_posterior_predictive(self.build(spec, data), posterior, seed=pymc_seed,
                                         log_likelihood=log_likelihood)
        return self.unit_draws(spec, data, tree, posterior_dataset(posterior), rng)


def attendance_decision(spec: AnalysisSpec) -> dict:
    """Attendance's meaningful fall in absence, in percentage points."""
    return {"mcid_pp": spec.decision.mcid_pp}


FAMILIES: dict[str, OutcomeFamily] = {
    family.kind: family for family in (
        OutcomeFamily("count", build_count_model, decide, {"log_irr": "irr"},
                      SchoolRate(pupils, 1000.0, "events per 1000 pupils"),
                      unit_draws=add_cell_draws),
        OutcomeFamily("days", build_hurdle_model, decide_hurdle,
                      {"zero_log_irr": "zero_irr", "positive_log_irr": "positive_irr"},
                      SchoolRate(pupils, 1.0, "days in care per pupil")),
        OutcomeFamily("sessions", build_attendance_model, decide_attendance,
                      {"log_irr": "odds_ratio"},
                      SchoolRate(sessions_possible, 100.0, "% of sessions missed"),
                      extra_decision=attendance_decision),
    )
}
"""Every outcome family, by outcome kind."""


def family_of(spec: AnalysisSpec) -> OutcomeFamily:
    """The family that models ``spec``'s outcome.

    Parameters
    ----------
    spec : AnalysisSpec

    Returns
    -------
    OutcomeFamily

    Raises
    ------
    SpecError
        If no family models the outcome's kind.
    """
    kind = outcome_schema(spec.outcome).kind
    try:
        return FAMILIES[kind]
    except KeyError:
        raise SpecError(f"{spec.name}: no model family for outcome kind {kind!r} (outcome "
                        f"{spec.outcome!r}); known kinds: {', '.join(FAMILIES)}") from None


def build_model(spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
    """Build the model of the spec's outcome: counts, days in care or attendance.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
        Validated data containing the outcome's columns.

    Returns
    -------
    ModelBuild
    """
    return family_of(spec).build(spec, data)


def decide_spec(posterior: xr.Dataset, spec: AnalysisSpec, *, ci_prob: float | None = None,
                weights: np.ndarray | None = None) -> DecisionSummary:
    """The decision quantities of a spec's outcome kind: counts, days in care or attendance.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior of the model the spec builds (:func:`swisbayes.families.registry.build_model`).
    spec : AnalysisSpec
        Gives the outcome (hence its family's decision summary), the effect prior's name,
        ``decision.mcid`` (and
        ``decision.mcid_pp`` for attendance) and ``followup_years``.
    ci_prob : float, optional
        Interval probability; defaults to 0.95.
    weights : numpy.ndarray, optional
        One weight per draw, chains then draws; equal weights when None.

    Returns
    -------
    DecisionSummary
        A :class:`HurdleDecision` for days in care, an :class:`AttendanceDecision` for
        attendance, else a :class:`DecisionSummary`.

    Raises
    ------
    KeyError
        If the posterior lacks a variable the outcome's decision reads.
    SpecError
        If the weights are not one per draw (see :func:`normalised_weights`), or ``mcid`` is
        not strictly between 0 and 1.
    """
    return family_of(spec).decide(posterior, spec, ci_prob=ci_prob, weights=weights)


def prior_predictive(spec: AnalysisSpec, data: SchoolData, *, draws: int = 500,
                     seed: int | None = None) -> xr.DataTree:
    """Parameters and outcomes drawn from the prior model of the spec's outcome.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
        Validated data; their design (schools, arms, exposures, covariates) is kept.
    draws : int, default 500
    seed : int, optional

    Returns
    -------
    xarray.DataTree
        See :meth:`OutcomeFamily.prior_predictive`.
    """
    return family_of(spec).prior_predictive(spec, data, draws=draws, seed=seed)


def posterior_predictive(spec: AnalysisSpec, data: SchoolData,
                         posterior: xr.DataTree | xr.Dataset, *, seed: int | None = None,
                         log_likelihood: bool = False) -> xr.DataTree:
    """Outcomes drawn given each posterior draw of a fit of the spec's outcome.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
        The data that were fitted.
    posterior : xarray.DataTree or xarray.Dataset
        The fit's DataTree or its posterior Dataset.
    seed : int, optional
    log_likelihood : bool, default False
        Also return the pointwise log-likelihood, one term per school.

    Returns
    -------
    xarray.DataTree
        See :meth:`OutcomeFamily.posterior_predictive`.
    """
    return family_of(spec).posterior_predictive(spec, data, posterior, seed=seed,
                                                log_likelihood=log_likelihood)


__all__ = ["FAMILIES", "OutcomeFamily", "SchoolRate", "build_model", "decide_spec", "family_of",
           "posterior_predictive", "prior_predictive", "pupils", "schools_only",
           "sessions_possible"]
