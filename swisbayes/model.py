"""The hierarchical count model of a school-clustered trial, built from a spec and data.

Building never samples. Every number that a sensitivity analysis may change (the prior on the
effect, the hyperprior scales, the data themselves) enters as ``pm.Data``, so one compiled model
serves every prior and every dataset of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from . import likelihoods
from .data import SchoolData, outcome_schema
from .priors import MAX_COMPONENTS
from .spec import AnalysisSpec

# Prior parameters are validated (sd > 0 etc.) before they reach the model, so the bounds checks
# PyMC adds to every log density only cost time in each gradient evaluation.
CHECK_BOUNDS = False


@dataclass(frozen=True)
class ModelBuild:
    """A PyMC model plus what is needed to re-use its compiled form.

    Parameters
    ----------
    model : pymc.Model
        The model, holding this dataset's values and this spec's prior.
    data_values : dict
        Value of every ``pm.Data`` container, by name (what ``with_data`` swaps).
    structure_key : tuple
        Everything that changes the compiled graph: two builds with the same key share a
        compiled model.
    coords : dict
        Labels of the ``la``, ``school`` and ``covariate`` dims.
    """

    model: pm.Model
    data_values: dict[str, np.ndarray]
    structure_key: tuple
    coords: dict[str, list[str]]

    def initial_values(self) -> dict[str, np.ndarray]:
        """Fixed starting values (before jitter) for every free variable.

        They depend on nothing but the model structure: a compiled model re-used with another
        prior or dataset must start where a fresh compile would, or the same seed would not give
        the same draws.
        """
        starts = {"intercept": -4.0, "log_irr": 0.0, "coef": 0.0, "sigma_la": 0.3, "z_la": 0.0,
                  "sigma_la_effect": 0.1, "w_la": 0.0, "w_new_la": 0.0,
                  "inv_sqrt_dispersion": 0.5}
        dims = self.model.named_vars_to_dims
        return {rv.name: np.full([len(self.coords[d]) for d in dims.get(rv.name, ())],
                                 starts[rv.name]) for rv in self.model.free_RVs}


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def design_columns(spec: AnalysisSpec, data: SchoolData) -> dict[str, np.ndarray]:
    """Standardised school-level covariates the spec adjusts for, by name.

    The baseline enters as the log of the baseline-year rate, ``log((baseline + 0.5) / pupils)``
    (0.5 keeps schools with no baseline events finite); school size as ``log(pupils)``.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    dict of str to numpy.ndarray
        Columns in a fixed order: baseline, school size, then the listed covariates.
    """
    frame = data.frame
    pupils = frame["pupils"].to_numpy(float)
    columns: dict[str, np.ndarray] = {}
    schema = outcome_schema(spec.outcome)
    if spec.adjustment.baseline:
        base = frame[schema.baseline].to_numpy(float)
        columns["baseline_log_rate"] = _standardise(np.log((base + 0.5) / pupils))
    if spec.adjustment.school_size:
        columns["log_pupils"] = _standardise(np.log(pupils))
    for name in spec.adjustment.covariates:
        columns[name] = _standardise(frame[name].to_numpy(float))
    return columns


def prior_values(spec: AnalysisSpec) -> dict[str, np.ndarray]:
    """The prior parameters of a spec as the ``pm.Data`` values they are stored in.

    Parameters
    ----------
    spec : AnalysisSpec

    Returns
    -------
    dict of str to numpy.ndarray
        The effect prior as padded mixture weights, means and SDs
        (:data:`~swisbayes.priors.MAX_COMPONENTS` each), and the hyperprior parameters.
    """
    hyper = spec.priors.hyper
    weights, means, sds = spec.effect_prior.padded(MAX_COMPONENTS)
    values = {
        "effect_prior_weights": weights,
        "effect_prior_means": means,
        "effect_prior_sds": sds,
        "intercept_prior_mean": hyper.intercept_mean,
        "intercept_prior_sd": hyper.intercept_sd,
        "coefficient_prior_sd": hyper.coefficient_sd,
        "sigma_la_prior_scale": hyper.sigma_la.scale,
        "sigma_la_effect_prior_scale": hyper.sigma_la_effect.scale,
        "inv_sqrt_dispersion_prior_scale": hyper.inv_sqrt_dispersion.scale,
    }
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}


def build_model(spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
    """Build the hierarchical negative-binomial (or Poisson) model of one count outcome.

    Parameters
    ----------
    spec : AnalysisSpec
        Outcome, hierarchy, adjustment and priors.
    data : SchoolData
        Validated school-level data containing the outcome's columns.

    Returns
    -------
    ModelBuild

    Notes
    -----
    For school :math:`j` in LA :math:`l` with :math:`E_j` pupils and arm :math:`T_j`:

    .. math::

        y_j &\\sim \\mathrm{NegBin}(\\mu_j, \\phi) \\\\
        \\log \\mu_j &= \\log E_j + \\alpha + \\sigma_u z_l + (\\beta + \\sigma_\\delta w_l) T_j
                       + x_j^\\top \\gamma \\\\
        z_l, w_l &\\sim N(0, 1) \\quad \\text{(non-centred LA effects)}

    The IRR is :math:`e^\\beta`; the IRR in a new LA is :math:`e^{\\beta + \\sigma_\\delta
    w_{new}}` with :math:`w_{new} \\sim N(0, 1)`, a quantity sampled alongside the others.
    :math:`\\phi = 1 / \\kappa^2` with a half-normal prior on :math:`\\kappa`. The deterministic
    ``rate_control_per_1000`` and ``rate_swis_per_1000`` are expected events per 1000 pupils over
    the follow-up if every trial school were in that arm.
    """
    frame = data.frame
    schema = outcome_schema(spec.outcome)
    la_labels, la_idx = np.unique(frame["la_id"].to_numpy(str), return_inverse=True)
    columns = design_columns(spec, data)
    coords = {"la": list(la_labels), "school": list(frame["school_id"]),
              "covariate": list(columns), "prior_component": list(range(MAX_COMPONENTS))}
    pupils = frame["pupils"].to_numpy(float)
    values = {
        "y": frame[schema.followup].to_numpy(np.int64),
        "log_y_factorial": likelihoods.log_factorial(frame[schema.followup].to_numpy()),
        "log_exposure": np.log(pupils),
        "exposure": pupils,
        "arm": frame["arm"].to_numpy(float),
        "la_idx": la_idx.astype(np.int64),
        **prior_values(spec),
    }
    if columns:
        values["X"] = np.column_stack(list(columns.values()))
    hierarchy = spec.hierarchy
    with pm.Model(coords=coords, check_bounds=CHECK_BOUNDS) as model:
        d = {name: pm.Data(name, value, dims=_dims(name)) for name, value in values.items()}
        intercept = pm.Normal("intercept", d["intercept_prior_mean"], d["intercept_prior_sd"])
        log_irr = pm.NormalMixture("log_irr", w=d["effect_prior_weights"],
                                   mu=d["effect_prior_means"], sigma=d["effect_prior_sds"])
        eta0 = d["log_exposure"] + intercept
        if columns:
            coef = pm.Normal("coef", 0.0, d["coefficient_prior_sd"], dims="covariate")
            eta0 = eta0 + pt.dot(d["X"], coef)
        if hierarchy.la_intercepts:
            sigma_la = pm.HalfNormal("sigma_la", d["sigma_la_prior_scale"])
            z_la = pm.Normal("z_la", 0.0, 1.0, dims="la")
            eta0 = eta0 + (sigma_la * z_la)[d["la_idx"]]
        effect_school = log_irr
        log_irr_new = log_irr
        if hierarchy.la_varying_effect:
            sigma_eff = pm.HalfNormal("sigma_la_effect", d["sigma_la_effect_prior_scale"])
            w_la = pm.Normal("w_la", 0.0, 1.0, dims="la")
            w_new = pm.Normal("w_new_la", 0.0, 1.0)
            la_log_irr = pm.Deterministic("la_log_irr", log_irr + sigma_eff * w_la, dims="la")
            effect_school = la_log_irr[d["la_idx"]]
            log_irr_new = log_irr + sigma_eff * w_new
        pm.Deterministic("irr", pt.exp(log_irr))
        pm.Deterministic("irr_new_la", pt.exp(log_irr_new))
        eta = eta0 + effect_school * d["arm"]
        if spec.family == "negative_binomial":
            kappa = pm.HalfNormal("inv_sqrt_dispersion", d["inv_sqrt_dispersion_prior_scale"])
            likelihoods.negative_binomial("y_obs", eta, 1.0 / kappa**2, d["log_y_factorial"],
                                          observed=d["y"], dims="school")
        else:
            likelihoods.poisson("y_obs", eta, d["log_y_factorial"], observed=d["y"],
                                dims="school")
        per_1000 = 1000.0 / pt.sum(d["exposure"])
        pm.Deterministic("rate_control_per_1000", pt.sum(pt.exp(eta0)) * per_1000)
        pm.Deterministic("rate_swis_per_1000", pt.sum(pt.exp(eta0 + effect_school)) * per_1000)
    key = (spec.family, hierarchy.la_intercepts, hierarchy.la_varying_effect,
           tuple(columns), len(frame), len(la_labels))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords)


def _dims(name: str) -> str | tuple[str, str] | None:
    if name in {"y", "log_y_factorial", "log_exposure", "exposure", "arm", "la_idx"}:
        return "school"
    if name.startswith("effect_prior_"):
        return "prior_component"
    if name == "X":
        return ("school", "covariate")
    return None
