"""Attendance: a hierarchical beta-binomial model of sessions missed, at school level.

A school's sessions missed out of its sessions possible are binomial given its absence rate, and
schools differ in that rate beyond what the covariates and the LA explain; a beta-binomial with
concentration :math:`\\kappa` carries that extra variation. The effect of SWIS is a log odds
ratio of a session being missed. The decision quantities are on the scale that matters to
schools: the absence rate under each arm and its difference in percentage points. The model's
sessions missed can be drawn from (a beta absence rate per school, then binomial sessions).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorLike, TensorVariable
from scipy.special import gammaln

from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.families.common import (
    CHECK_BOUNDS,
    LinearPredictor,
    ModelBuild,
    data_dims,
    design_columns,
    graph_data_values,
    la_linear_predictor,
    school_level_values,
    standardise,
)
from swisbayes.spec.analysis import AnalysisSpec

STARTS = {"intercept": -2.6, "inv_sqrt_concentration": 0.1}
"""Starting values near the SWIS scale (7% absence, concentration about 100)."""

BINOMIAL_LIMIT = 1e10
"""Concentration beyond which the binomial limit is used (the gammaln terms stop resolving)."""

_SESSION_DATA = {"sessions", "log_binom_coef"}


def log_binomial_coefficient(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``log C(n, k)`` for whole numbers ``0 <= k <= n``, as float64."""
    n, k = np.asarray(n, dtype=float), np.asarray(k, dtype=float)
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)


def beta_binomial_logit_logp(value: TensorLike, logit_p: TensorLike, concentration: TensorLike,
                             n: TensorLike, log_binom_coef: TensorLike) -> TensorVariable:
    """Beta-binomial log pmf with mean probability ``sigmoid(logit_p)``.

    With :math:`a = \\kappa p` and :math:`b = \\kappa (1 - p)`,

    .. math::

        \\log p(k) = \\log\\binom{n}{k} + \\log\\Gamma(k + a) - \\log\\Gamma(a)
            + \\log\\Gamma(n - k + b) - \\log\\Gamma(b) - \\log\\Gamma(n + \\kappa)
            + \\log\\Gamma(\\kappa),

    so that :math:`E[k] = np` and :math:`\\mathrm{Var}(k) = np(1-p)(n + \\kappa)/(1 + \\kappa)`.
    ``log_binom_coef`` is the data-only :math:`\\log\\binom{n}{k}`. Beyond
    :data:`BINOMIAL_LIMIT` the binomial limit is used.
    """
    k = pt.cast(value, "float64")
    n = pt.cast(n, "float64")
    a = concentration * pt.sigmoid(logit_p)
    b = concentration * pt.sigmoid(-logit_p)
    bb = (log_binom_coef + pt.gammaln(k + a) - pt.gammaln(a) + pt.gammaln(n - k + b)
          - pt.gammaln(b) - pt.gammaln(n + concentration) + pt.gammaln(concentration))
    # log sigmoid(x) = -softplus(-x)
    binomial = log_binom_coef - k * pt.softplus(-logit_p) - (n - k) * pt.softplus(logit_p)
    return pt.switch(pt.gt(concentration, BINOMIAL_LIMIT), binomial, bb)


def _beta_binomial_logit_dist(logit_p, concentration, n, log_binom_coef, size):
    # The generator of beta_binomial_logit_logp, from PyMC's own distributions (they compile
    # like the rest of the graph; PyMC's BetaBinomial draws through Python). The absence rate
    # is Beta(kappa p, kappa (1 - p)) with 1 - p taken as sigmoid(-logit p), so a rate near 1
    # keeps its digits; beyond BINOMIAL_LIMIT it is p itself, as in the density. The draws are
    # cast to float64, the dtype the observed variable has always had, so that the fitted
    # graph is unchanged.
    p = pt.sigmoid(logit_p)
    rate = pm.Beta.dist(alpha=concentration * p, beta=concentration * pt.sigmoid(-logit_p),
                        size=size)
    rate = pt.switch(pt.gt(concentration, BINOMIAL_LIMIT), p, rate)
    return pt.cast(pm.Binomial.dist(n=n, p=rate), "float64")


def attendance_columns(spec: AnalysisSpec, data: SchoolData) -> dict[str, np.ndarray]:
    """Standardised covariates of the attendance model, by name, one entry per school.

    The baseline enters as the logit of the baseline share of sessions missed,
    ``logit((sessions_missed_baseline + 0.5) / (sessions_possible + 1))`` (the baseline year's
    sessions possible are not recorded; a school's are nearly the same each year), then school
    size and the listed covariates as in :func:`swisbayes.families.common.design_columns`.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    dict of str to numpy.ndarray
    """
    frame = data.frame
    schema = outcome_schema(spec.outcome)
    columns: dict[str, np.ndarray] = {}
    if spec.adjustment.baseline:
        share = ((frame[schema.baseline].to_numpy(float) + 0.5)
                 / (frame[schema.denominator].to_numpy(float) + 1.0))
        columns["baseline_logit"] = standardise(np.log(share) - np.log1p(-share))
    no_baseline = spec.model_copy(update={"adjustment": spec.adjustment.model_copy(
        update={"baseline": False})})
    return columns | design_columns(no_baseline, replace(data, cells=None))


def attendance_data_values(spec: AnalysisSpec, data: SchoolData,
                           ) -> tuple[dict[str, np.ndarray], dict[str, list]]:
    """The ``pm.Data`` values and coords of the attendance model.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    values : dict of str to numpy.ndarray
        Every candidate ``pm.Data`` value; the model keeps those its graph reads
        (:func:`~swisbayes.families.common.graph_data_values`).
    coords : dict of str to list
    """
    frame = data.frame
    schema = outcome_schema(spec.outcome)
    columns = attendance_columns(spec, data)
    missed = frame[schema.followup].to_numpy(np.int64)
    sessions = frame[schema.denominator].to_numpy(np.int64)
    values, coords = school_level_values(spec, frame, columns)
    values |= {"y": missed, "sessions": sessions,
               "log_binom_coef": log_binomial_coefficient(sessions, missed),
               "inv_sqrt_concentration_prior_scale":
                   spec.priors.hyper.inv_sqrt_concentration.scale}
    return {k: np.asarray(v) for k, v in values.items()}, coords


def build_attendance_model(spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
    """Build the hierarchical beta-binomial model of sessions missed.

    Parameters
    ----------
    spec : AnalysisSpec
        Outcome ``attendance``, family ``beta_binomial``.
    data : SchoolData
        Validated school data with ``sessions_possible``, ``sessions_missed`` and (when adjusted
        for) ``sessions_missed_baseline``.

    Returns
    -------
    ModelBuild

    Notes
    -----
    For school :math:`j` in LA :math:`l` with :math:`n_j` sessions possible, arm :math:`T_j` and
    standardised covariates :math:`x_j` (baseline logit of absence, log pupils, %FSM):

    .. math::

        k_j &\\sim \\mathrm{BetaBinomial}(n_j, \\kappa p_j, \\kappa (1 - p_j)) \\\\
        \\mathrm{logit}\\, p_j &= \\alpha + x_j^\\top \\gamma + \\sigma_u z_l
                                 + (\\beta + \\sigma_\\delta w_l) T_j

    :math:`\\beta` (the variable ``log_irr``, so that the spec's effect prior and the tools that
    read it apply) is the log odds ratio of a session being missed; ``odds_ratio`` is
    :math:`e^\\beta`. :math:`1/\\sqrt{\\kappa}` has a half-normal prior
    (``priors.hyper.inv_sqrt_concentration``). Deterministics: ``absence_rate_control`` and
    ``absence_rate_swis`` (sessions-weighted mean of :math:`p_j` over the trial schools with
    every school in that arm, each at its LA's effect), ``diff_pp`` (their difference in
    percentage points) and ``diff_pp_new_la`` (at a new LA's effect), ``irr`` and
    ``irr_new_la`` (ratios of absence rates), and ``rate_control_per_1000`` /
    ``rate_swis_per_1000`` (sessions missed per 1000 pupils over the follow-up).
    """
    values, coords = attendance_data_values(spec, data)
    with pm.Model(coords=coords, check_bounds=CHECK_BOUNDS) as model:
        d = {name: pm.Data(name, value,
                           dims="school" if name in _SESSION_DATA else data_dims(name))
             for name, value in values.items()}
        lp = la_linear_predictor(d, spec.hierarchy, covariates="X" if "X" in d else None)
        root_inv = pm.HalfNormal("inv_sqrt_concentration",
                                 d["inv_sqrt_concentration_prior_scale"])
        concentration = 1.0 / root_inv**2
        pm.CustomDist("y_obs", lp.eta0 + lp.effect * d["arm"], concentration, d["sessions"],
                      d["log_binom_coef"], logp=beta_binomial_logit_logp,
                      dist=_beta_binomial_logit_dist, observed=d["y"], dims="school")
        _headline(lp, d["sessions"], d["exposure"])
    values = graph_data_values(model, values)
    key = ("attendance", spec.family, spec.hierarchy.la_intercepts,
           spec.hierarchy.la_varying_effect, tuple(coords["covariate"]), len(coords["school"]),
           len(coords["la"]))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords,
                      starts=STARTS)


def _headline(lp: LinearPredictor, sessions: TensorVariable, pupils: TensorVariable) -> None:
    """Deterministics for decisions: absence under each arm, in rates, points and sessions."""
    n = pt.cast(sessions, "float64")

    def missed(effect):
        return pt.sum(n * pt.sigmoid(lp.eta0 + effect))

    control, swis, new_la = missed(0.0), missed(lp.effect), missed(lp.log_irr_new)
    total = pt.sum(n)
    pm.Deterministic("absence_rate_control", control / total)
    pm.Deterministic("absence_rate_swis", swis / total)
    pm.Deterministic("diff_pp", 100.0 * (swis - control) / total)
    pm.Deterministic("diff_pp_new_la", 100.0 * (new_la - control) / total)
    pm.Deterministic("irr", swis / control)
    pm.Deterministic("irr_new_la", new_la / control)
    pm.Deterministic("odds_ratio", pt.exp(lp.log_irr))
    per_1000 = 1000.0 / pt.sum(pupils)
    pm.Deterministic("rate_control_per_1000", control * per_1000)
    pm.Deterministic("rate_swis_per_1000", swis * per_1000)


__all__ = [
    "attendance_columns", "attendance_data_values", "beta_binomial_logit_logp",
    "build_attendance_model", "log_binomial_coefficient"
]
