"""The hierarchical model of a school-clustered trial outcome, built from a spec and data.

Building never samples. Every number that a sensitivity analysis may change (the prior on the
effect, the hyperprior scales, the data themselves) enters as ``pm.Data``, so one compiled model
serves every prior and every dataset of the same shape.

Count outcomes are built here; days in care (:mod:`swisbayes.families.hurdle`) and attendance
(:mod:`swisbayes.families.attendance`) share :func:`la_linear_predictor`, the LA hierarchy and the effect
prior, and :func:`build_model` picks the builder from the outcome's kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.families import likelihoods
from swisbayes.priors.library import MAX_COMPONENTS
from swisbayes.spec.analysis import AnalysisSpec, Hierarchy

# Prior parameters are validated (sd > 0 etc.) before they reach the model, so the bounds checks
# PyMC adds to every log density only cost time in each gradient evaluation.
CHECK_BOUNDS = False

DEFAULT_STARTS = {"intercept": -4.0, "log_irr": 0.0, "coef": 0.0, "sigma_la": 0.3, "z_la": 0.0,
                  "sigma_la_effect": 0.1, "w_la": 0.0, "w_new_la": 0.0,
                  "inv_sqrt_dispersion": 0.5}
"""Starting values of the free variables, by name without a part prefix (``zero_``...)."""


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
        Labels of the model's dims (``la``, ``school``, ``covariate``...).
    starts : dict, optional
        Starting values overriding :data:`DEFAULT_STARTS`, by variable name.
    """

    model: pm.Model
    data_values: dict[str, np.ndarray]
    structure_key: tuple
    coords: dict[str, list[str]]
    starts: dict[str, float] = field(default_factory=dict)

    def initial_values(self) -> dict[str, np.ndarray]:
        """Fixed starting values (before jitter) for every free variable.

        They depend on nothing but the model structure: a compiled model re-used with another
        prior or dataset must start where a fresh compile would, or the same seed would not give
        the same draws.
        """
        dims = self.model.named_vars_to_dims
        return {rv.name: np.full([len(self.coords[d]) for d in dims.get(rv.name, ())],
                                 self._start(rv.name)) for rv in self.model.free_RVs}

    def _start(self, name: str) -> float:
        if name in self.starts:
            return self.starts[name]
        if name in DEFAULT_STARTS:
            return DEFAULT_STARTS[name]
        return DEFAULT_STARTS[name.split("_", 1)[1]]  # a part's copy, e.g. zero_sigma_la


@dataclass(frozen=True)
class LinearPredictor:
    """The pieces of a hierarchical linear predictor, one entry per observation unit.

    Parameters
    ----------
    eta0 : TensorVariable
        Linear predictor without the arm effect (offset, intercept, covariates, LA intercept).
    effect : TensorVariable
        Log effect of SWIS for each unit (its LA's effect when the effect varies by LA).
    log_irr : TensorVariable
        Average log effect across LAs.
    log_irr_new : TensorVariable
        Log effect in a new LA (a predictive draw; equals ``log_irr`` without LA variation).
    """

    eta0: TensorVariable
    effect: TensorVariable
    log_irr: TensorVariable
    log_irr_new: TensorVariable


def standardise(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Centre and scale ``x`` (with ``weights``, by its weighted mean and SD); SD 0 gives 0s."""
    mean = np.average(x, weights=weights)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=weights))
    return (x - mean) / (sd if sd > 0 else 1.0)


def design_columns(spec: AnalysisSpec, data: SchoolData) -> dict[str, np.ndarray]:
    """Standardised covariates the spec adjusts for, by name, one entry per observation unit.

    The units are schools, or the school x covariate cells of a pupil-level file. The baseline
    enters as the log of the baseline rate per pupil, ``log((baseline + 0.5) / pupils)``, with the
    school's total for a school file and the pupil's own value for a cell (0.5 keeps a zero
    finite); school size as ``log(pupils of the school)``. Cells are standardised with their
    pupils as weights, so the columns are those of the unreduced pupil rows, cell by cell.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    dict of str to numpy.ndarray
        Columns in a fixed order: baseline, school size, then the listed covariates.
    """
    units = data.frame if data.cells is None else data.cells
    school_pupils = data.frame.set_index("school_id")["pupils"]
    weights = None if data.cells is None else units["pupils"].to_numpy(float)
    raw: dict[str, np.ndarray] = {}
    schema = outcome_schema(spec.outcome)
    if spec.adjustment.baseline:
        base = units[schema.baseline].to_numpy(float) + 0.5
        raw["baseline_log_rate"] = np.log(base / units["pupils"].to_numpy(float)
                                          if data.cells is None else base)
    if spec.adjustment.school_size:
        raw["log_pupils"] = np.log(school_pupils.loc[units["school_id"]].to_numpy(float))
    for name in spec.adjustment.covariates:
        raw[name] = units[name].to_numpy(float)
    return {name: standardise(x, weights) for name, x in raw.items()}


def prior_values(spec: AnalysisSpec) -> dict[str, np.ndarray]:
    """The prior parameters of a spec as the ``pm.Data`` values they are stored in.

    Parameters
    ----------
    spec : AnalysisSpec

    Returns
    -------
    dict of str to numpy.ndarray
        The effect prior as padded mixture weights, means and SDs
        (:data:`~swisbayes.priors.library.MAX_COMPONENTS` each), and the hyperprior parameters.
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


def school_level_values(spec: AnalysisSpec, frame: pd.DataFrame,
                        columns: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray],
                                                                 dict[str, list]]:
    """``pm.Data`` values and coords shared by the school-level models (one unit per school).

    Parameters
    ----------
    spec : AnalysisSpec
    frame : pandas.DataFrame
        The school table.
    columns : dict of str to numpy.ndarray
        Standardised covariates (``X``), in order.

    Returns
    -------
    values : dict of str to numpy.ndarray
        ``exposure`` (pupils), ``arm``, ``la_idx``, the prior parameters of
        :func:`prior_values`, and ``X`` when there are covariates.
    coords : dict of str to list
        ``la``, ``school``, ``covariate`` and ``prior_component``.
    """
    la_labels, la_idx = np.unique(frame["la_id"].to_numpy(str), return_inverse=True)
    values = {"exposure": frame["pupils"].to_numpy(float), "arm": frame["arm"].to_numpy(float),
              "la_idx": la_idx.astype(np.int64), **prior_values(spec)}
    if columns:
        values["X"] = np.column_stack(list(columns.values()))
    coords = {"la": list(la_labels), "school": list(frame["school_id"]),
              "covariate": list(columns), "prior_component": list(range(MAX_COMPONENTS))}
    return values, coords


def la_linear_predictor(d: dict[str, TensorVariable], hierarchy: Hierarchy, *,
                        prefix: str = "", offset: TensorVariable | float = 0.0,
                        covariates: str | None = "X",
                        intercept_prior: tuple[str, str] = ("intercept_prior_mean",
                                                            "intercept_prior_sd"),
                        ) -> LinearPredictor:
    """Create the intercept, covariate, LA and effect variables of one linear predictor.

    Must be called inside the model's context. Variables are named ``{prefix}intercept``,
    ``{prefix}log_irr``, ``{prefix}coef``, ``{prefix}sigma_la``, ``{prefix}z_la``,
    ``{prefix}sigma_la_effect``, ``{prefix}w_la``, ``{prefix}w_new_la`` and the deterministic
    ``{prefix}la_log_irr``; a model with two parts (a hurdle) calls this once per part.

    Parameters
    ----------
    d : dict of str to TensorVariable
        The model's ``pm.Data`` by name: ``la_idx`` (LA of each unit), the prior parameters of
        :func:`prior_values`, and the covariate matrix named by ``covariates``.
    hierarchy : Hierarchy
        Whether LA intercepts and an LA-varying effect are included.
    prefix : str, default ""
        Prefix of the variable names.
    offset : TensorVariable or float, default 0.0
        Added to the predictor (a log exposure).
    covariates : str or None, default "X"
        Name of the covariate matrix in ``d`` (dims unit x ``covariate``), or None for none.
    intercept_prior : tuple of str
        Names in ``d`` of the intercept prior's mean and SD.

    Returns
    -------
    LinearPredictor
    """
    mean, sd = intercept_prior
    intercept = pm.Normal(f"{prefix}intercept", d[mean], d[sd])
    log_irr = pm.NormalMixture(f"{prefix}log_irr", w=d["effect_prior_weights"],
                               mu=d["effect_prior_means"], sigma=d["effect_prior_sds"])
    eta0 = offset + intercept
    if covariates is not None:
        coef = pm.Normal(f"{prefix}coef", 0.0, d["coefficient_prior_sd"], dims="covariate")
        eta0 = eta0 + pt.dot(d[covariates], coef)
    if hierarchy.la_intercepts:
        sigma_la = pm.HalfNormal(f"{prefix}sigma_la", d["sigma_la_prior_scale"])
        z_la = pm.Normal(f"{prefix}z_la", 0.0, 1.0, dims="la")
        eta0 = eta0 + (sigma_la * z_la)[d["la_idx"]]
    effect, log_irr_new = log_irr, log_irr
    if hierarchy.la_varying_effect:
        sigma_eff = pm.HalfNormal(f"{prefix}sigma_la_effect", d["sigma_la_effect_prior_scale"])
        w_la = pm.Normal(f"{prefix}w_la", 0.0, 1.0, dims="la")
        w_new = pm.Normal(f"{prefix}w_new_la", 0.0, 1.0)
        la_log_irr = pm.Deterministic(f"{prefix}la_log_irr", log_irr + sigma_eff * w_la,
                                      dims="la")
        effect = la_log_irr[d["la_idx"]]
        log_irr_new = log_irr + sigma_eff * w_new
    return LinearPredictor(eta0=eta0, effect=effect, log_irr=log_irr, log_irr_new=log_irr_new)


def graph_data_values(model: pm.Model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The entries of ``values`` whose ``pm.Data`` the model's log density or outputs read.

    nutpie's ``with_data`` refuses a name that is not in the compiled graph, so the data of a
    hierarchy level the spec switches off (``la_idx``, a hyperprior scale) must be left out
    of what is swapped into a compiled model.

    Parameters
    ----------
    model : pymc.Model
    values : dict of str to numpy.ndarray
        Value of every ``pm.Data`` of the model, by name.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    from pytensor.graph.traversal import graph_inputs

    used = {v.name for v in graph_inputs([model.logp(), *model.deterministics])}
    return {k: v for k, v in values.items() if k in used}


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
    kind = outcome_schema(spec.outcome).kind
    if kind == "days":
        from swisbayes.families.hurdle import build_hurdle_model

        return build_hurdle_model(spec, data)
    if kind == "sessions":
        from swisbayes.families.attendance import build_attendance_model

        return build_attendance_model(spec, data)
    return build_count_model(spec, data)


def build_count_model(spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
    """Build the hierarchical negative-binomial (or Poisson) model of one count outcome.

    Parameters
    ----------
    spec : AnalysisSpec
        Outcome, hierarchy, adjustment and priors.
    data : SchoolData
        Validated data containing the outcome's columns: a school file (one unit per school) or
        a reduced pupil file (one unit per school x covariate cell).

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

    For pupil-level data the same negative binomial is read as a Poisson rate per pupil times a
    gamma frailty :math:`u_j \\sim \\Gamma(\\phi, \\phi)` shared by the school's pupils, with
    pupil covariates in :math:`x`. The counts of a school's cells then follow a negative
    multinomial (:func:`swisbayes.families.likelihoods.negative_multinomial`), for which the cell sums
    are exactly sufficient; a school with a single cell is the school-level model.
    """
    units = data.frame if data.cells is None else data.cells
    unit_dim = "school" if data.cells is None else "cell"
    schema = outcome_schema(spec.outcome)
    la_labels, la_idx = np.unique(units["la_id"].to_numpy(str), return_inverse=True)
    columns = design_columns(spec, data)
    coords = {"la": list(la_labels), "school": list(data.frame["school_id"]),
              "covariate": list(columns), "prior_component": list(range(MAX_COMPONENTS))}
    if data.cells is not None:
        coords["cell"] = list(range(len(units)))
    exposure = units["pupils"].to_numpy(float)
    y = units[schema.followup].to_numpy(np.int64)
    values = {"log_exposure": np.log(exposure), "exposure": exposure,
              "arm": units["arm"].to_numpy(float), "la_idx": la_idx.astype(np.int64),
              **prior_values(spec)}
    if data.cells is None:
        values |= {"y": y, "log_y_factorial": likelihoods.log_factorial(y)}
    else:
        values |= likelihoods.negative_multinomial_data(
            y, units["school_id"].to_numpy(str), list(data.frame["school_id"]))
    if columns:
        values["X"] = np.column_stack(list(columns.values()))
    with pm.Model(coords=coords, check_bounds=CHECK_BOUNDS) as model:
        d = {name: pm.Data(name, value, dims=data_dims(name, unit_dim))
             for name, value in values.items()}
        lp = la_linear_predictor(d, spec.hierarchy, offset=d["log_exposure"],
                                 covariates="X" if columns else None)
        pm.Deterministic("irr", pt.exp(lp.log_irr))
        pm.Deterministic("irr_new_la", pt.exp(lp.log_irr_new))
        eta = lp.eta0 + lp.effect * d["arm"]
        _count_likelihood(spec, d, eta)
        per_1000 = 1000.0 / pt.sum(d["exposure"])
        pm.Deterministic("rate_control_per_1000", pt.sum(pt.exp(lp.eta0)) * per_1000)
        pm.Deterministic("rate_swis_per_1000", pt.sum(pt.exp(lp.eta0 + lp.effect)) * per_1000)
    values = graph_data_values(model, values)  # a switched-off level's data is not in the graph
    key = ("count", spec.family, spec.hierarchy.la_intercepts, spec.hierarchy.la_varying_effect,
           tuple(columns), len(data.frame), len(units) if data.cells is not None else None,
           len(la_labels))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords)


def _count_likelihood(spec: AnalysisSpec, d: dict, eta: TensorVariable) -> None:
    if "cell_y" in d:  # reduced pupil-level data: negative multinomial over each school's cells
        dispersion = _dispersion(spec, d)
        likelihoods.negative_multinomial("y_obs", eta, dispersion, d, dims="school")
    elif spec.family == "negative_binomial":
        likelihoods.negative_binomial("y_obs", eta, _dispersion(spec, d), d["log_y_factorial"],
                                      observed=d["y"], dims="school")
    else:
        likelihoods.poisson("y_obs", eta, d["log_y_factorial"], observed=d["y"], dims="school")


def _dispersion(spec: AnalysisSpec, d: dict) -> TensorVariable | float:
    if spec.family == "poisson":
        return 1e12  # beyond the Poisson switch of the likelihoods
    kappa = pm.HalfNormal("inv_sqrt_dispersion", d["inv_sqrt_dispersion_prior_scale"])
    return 1.0 / kappa**2


_UNIT_DATA = {"y", "log_y_factorial", "log_exposure", "exposure", "arm", "la_idx", "cell_y",
              "cell_school_idx"}
_SCHOOL_DATA = {"school_y", "school_log_y_factorial"}


def data_dims(name: str, unit_dim: str = "school") -> str | tuple[str, str] | None:
    """The dims of a model's ``pm.Data`` entry ``name``: per unit, per school, per component.

    Parameters
    ----------
    name : str
    unit_dim : str, default "school"
        Dim of per-unit data (``"cell"`` for reduced pupil-level data).

    Returns
    -------
    str, tuple of str or None
    """
    if name in _UNIT_DATA:
        return unit_dim
    if name in _SCHOOL_DATA:
        return "school"
    if name.startswith("effect_prior_"):
        return "prior_component"
    if name == "X":
        return (unit_dim, "covariate")
    return None
