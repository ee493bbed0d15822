"""The registry of outcome families: one object per kind of outcome, looked up by the spec.

An outcome's kind (``count``, ``days``, ``sessions``) is declared as data in
:mod:`swisbayes.data.schema`; its :class:`OutcomeFamily` here owns what differs between kinds:
building the PyMC model, naming the effect variables, and the decision summary of its
posterior. Everything else asks the registry (:func:`family_of`, :func:`build_model`,
:func:`decide_spec`) and never switches on the kind itself, so a new kind of outcome is one new
family object plus its schema entry and specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.decision.summaries import DecisionSummary, decide, decide_attendance, decide_hurdle
from swisbayes.families.attendance import build_attendance_model
from swisbayes.families.common import ModelBuild
from swisbayes.families.count import build_count_model
from swisbayes.families.hurdle import build_hurdle_model
from swisbayes.spec.analysis import AnalysisSpec


def no_extra(spec: AnalysisSpec) -> dict:
    """No decision settings beyond the common ones (counts, days in care)."""
    return {}


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
    """

    kind: str
    builder: Callable[[AnalysisSpec, SchoolData], ModelBuild]
    decider: Callable[..., DecisionSummary]
    effect_vars: Mapping[str, str]
    extra_decision: Callable[[AnalysisSpec], dict] = no_extra

    def build(self, spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
        """The model of ``spec`` on ``data`` (a ``ModelBuild``)."""
        return self.builder(spec, data)

    def decide(self, posterior: xr.Dataset, spec: AnalysisSpec, *, ci_prob: float | None = None,
               weights: np.ndarray | None = None) -> DecisionSummary:
        """The decision summary of a posterior of this family's model."""
        return self.decider(posterior, outcome=spec.outcome, prior=spec.priors.effect.name,
                            mcid=spec.decision.mcid, followup_years=spec.followup_years,
                            ci_prob=ci_prob, weights=weights, **self.extra_decision(spec))


def attendance_decision(spec: AnalysisSpec) -> dict:
    """Attendance's meaningful fall in absence, in percentage points."""
    return {"mcid_pp": spec.decision.mcid_pp}


FAMILIES: dict[str, OutcomeFamily] = {
    family.kind: family for family in (
        OutcomeFamily("count", build_count_model, decide, {"log_irr": "irr"}),
        OutcomeFamily("days", build_hurdle_model, decide_hurdle,
                      {"zero_log_irr": "zero_irr", "positive_log_irr": "positive_irr"}),
        OutcomeFamily("sessions", build_attendance_model, decide_attendance,
                      {"log_irr": "odds_ratio"},
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


__all__ = ["FAMILIES", "OutcomeFamily", "build_model", "decide_spec", "family_of"]
