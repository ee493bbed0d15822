"""What every outcome family's model shares: the design columns, the LA hierarchy, prior values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
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
    coef : TensorVariable or None
        Covariate coefficients (dims ``covariate``), None without covariates.
    """

    eta0: TensorVariable
    effect: TensorVariable
    log_irr: TensorVariable
    log_irr_new: TensorVariable
    coef: TensorVariable | None = None


PUPIL_PREFIX = "pupil_"
"""Prefix of the pupil-level columns of a pupil-level model (``pupil_baseline_log_rate``)."""


def standardise(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Centre and scale ``x`` (with ``weights``, by its weighted mean and SD); SD 0 gives 0s."""
    mean = np.average(x, weights=weights)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=weights))
    return (x - mean) / (sd if sd > 0 else 1.0)


def school_design_columns(spec: AnalysisSpec, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Standardised school-level covariates of the spec, one entry per school of ``frame``.

    The baseline enters as the log of the school's baseline rate per pupil,
    ``baseline_log_rate = log((baseline + 0.5) / pupils)`` (0.5 keeps a zero finite); school
    size as ``log_pupils = log(pupils)``; each listed covariate as its school value (for a
    pupil-level file, the school mean or ``X_pct`` share that the reduction derived). Every
    column is standardised over the schools, unweighted.

    Parameters
    ----------
    spec : AnalysisSpec
    frame : pandas.DataFrame
        The school table (of a school file, or the totals of a pupil file).

    Returns
    -------
    dict of str to numpy.ndarray
        Columns in a fixed order: baseline, school size, then the listed covariates.
    """
    raw: dict[str, np.ndarray] = {}
    pupils = frame["pupils"].to_numpy(float)
    if spec.adjustment.baseline:
        baseline = frame[outcome_schema(spec.outcome).baseline].to_numpy(float)
        raw["baseline_log_rate"] = np.log((baseline + 0.5) / pupils)
    if spec.adjustment.school_size:
        raw["log_pupils"] = np.log(pupils)
    for name in spec.adjustment.covariates:
        raw[name] = frame[name].to_numpy(float)
    return {name: standardise(x) for name, x in raw.items()}


def pupil_design_columns(spec: AnalysisSpec, data: SchoolData) -> dict[str, np.ndarray]:
    """Standardised pupil-level covariates of the spec, one entry per cell of ``data.cells``.

    The pupil's own baseline enters as ``pupil_baseline_log_rate = log(b + 0.5)`` (``b`` the
    pupil's baseline count); each listed covariate that is a pupil column and varies within at
    least one school as ``pupil_<name>`` (a covariate constant within every school, such as
    ``fsm_pct``, is school-level only). Columns are standardised with the cells' pupils as
    weights, so they are those of the unreduced pupil rows, cell by cell.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
        Reduced pupil-level data (``data.cells`` is not None).

    Returns
    -------
    dict of str to numpy.ndarray
        Columns in a fixed order: own baseline, then the listed pupil covariates.
    """
    cells = data.cells
    school = cell_school_positions(data)
    raw: dict[str, np.ndarray] = {}
    if spec.adjustment.baseline:
        raw["baseline_log_rate"] = np.log(
            cells[outcome_schema(spec.outcome).baseline].to_numpy(float) + 0.5)
    for name in spec.adjustment.covariates:
        x = cells[name].to_numpy(float)
        if _varies_within_a_school(x, school, len(data.frame)):
            raw[name] = x
    weights = cells["pupils"].to_numpy(float)
    return {PUPIL_PREFIX + name: standardise(x, weights) for name, x in raw.items()}


def design_columns(spec: AnalysisSpec, data: SchoolData) -> dict[str, np.ndarray]:
    """Standardised covariates the spec adjusts for, by name, one entry per observation unit.

    The units are schools, or the school x covariate cells of a pupil-level file. A school file
    gets the school-level columns of :func:`school_design_columns`. A pupil-level file gets the
    very same school-level columns (computed from its school totals, standardised over schools
    as for the school file, each cell carrying its school's value) *and* the pupil-level columns
    of :func:`pupil_design_columns`: the pupil's own baseline beside the school's baseline rate
    (its contextual effect), each pupil covariate beside its school mean. So the pupil-level
    model contains the school-level model (all ``pupil_*`` coefficients zero) and its posterior
    is never less precise than that of the school totals.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    dict of str to numpy.ndarray
        Columns in a fixed order: the school-level columns (baseline, school size, the listed
        covariates), then for pupil-level data the ``pupil_*`` columns.
    """
    schools = school_design_columns(spec, data.frame)
    if data.cells is None:
        return schools
    school = cell_school_positions(data)
    return {**{name: x[school] for name, x in schools.items()},
            **pupil_design_columns(spec, data)}


def cell_school_positions(data: SchoolData) -> np.ndarray:
    """Row of ``data.frame`` (the school table) of each cell of ``data.cells``."""
    position = pd.Index(data.frame["school_id"])
    school = position.get_indexer(data.cells["school_id"])
    if (school < 0).any():
        raise ValueError("a cell's school is not in the school table")
    return school


def _varies_within_a_school(x: np.ndarray, school: np.ndarray, n_schools: int) -> bool:
    lo = np.full(n_schools, np.inf)
    hi = np.full(n_schools, -np.inf)
    np.minimum.at(lo, school, x)
    np.maximum.at(hi, school, x)
    return bool((hi > lo).any())


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
                        n_matrix_covariates: int | None = None) -> LinearPredictor:
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
    n_matrix_covariates : int, optional
        How many leading coefficients multiply the covariate matrix; the others (pupil-level
        coefficients of a pupil-level model) are left to the caller. None for all.

    Returns
    -------
    LinearPredictor
    """
    mean, sd = intercept_prior
    intercept = pm.Normal(f"{prefix}intercept", d[mean], d[sd])
    log_irr = pm.NormalMixture(f"{prefix}log_irr", w=d["effect_prior_weights"],
                               mu=d["effect_prior_means"], sigma=d["effect_prior_sds"])
    eta0 = offset + intercept
    coef = None
    if covariates is not None:
        coef = pm.Normal(f"{prefix}coef", 0.0, d["coefficient_prior_sd"], dims="covariate")
        eta0 = eta0 + pt.dot(d[covariates], coef if n_matrix_covariates is None
                             else coef[:n_matrix_covariates])
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
    return LinearPredictor(eta0=eta0, effect=effect, log_irr=log_irr, log_irr_new=log_irr_new,
                           coef=coef)


def graph_data_values(model: pm.Model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The entries of ``values`` whose ``pm.Data`` the model's log density or outputs read.

    nutpie's ``with_data`` refuses a name that is not in the compiled graph, so the data of a
    hierarchy level the spec switches off (``la_idx``, a hyperprior scale) must be left out
    of what is swapped into a compiled model. The log density reads the data its variables are
    drawn from (a density takes its distribution's parameters) and the observed values, so
    those are found in the model's own graph, without deriving the density (which took 0.1 s
    of every build).

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

    used = {v.name for v in graph_inputs([*model.basic_RVs, *model.deterministics,
                                          *model.potentials,
                                          *(model.rvs_to_values[rv] for rv in model.observed_RVs)])}
    return {k: v for k, v in values.items() if k in used}


PUPIL_DATA_DIMS = {"pupil_X": ("pattern", "pupil_covariate"),
               "school_pupil_X_y": ("school", "pupil_covariate"),
               "pattern_pupils": ("school", "pattern"), "cell_pattern": "cell",
               "cell_school_idx": "cell", "cell_pupils": "cell"}
"""Dims of the pupil-level data of a negative multinomial (see ``likelihoods``)."""


_UNIT_DATA = {"y", "log_y_factorial", "log_exposure", "exposure", "arm", "la_idx", "school_y",
              "school_log_y_factorial", "school_y_log_pupils"}


def data_dims(name: str, unit_dim: str = "school") -> str | tuple[str, ...] | None:
    """The dims of a model's ``pm.Data`` entry ``name``: per unit, per component, pupil-level.

    Parameters
    ----------
    name : str
    unit_dim : str, default "school"
        Dim of per-unit data.

    Returns
    -------
    str, tuple of str or None
    """
    if name in _UNIT_DATA:
        return unit_dim
    if name in PUPIL_DATA_DIMS:
        return PUPIL_DATA_DIMS[name]
    if name.startswith("effect_prior_"):
        return "prior_component"
    if name == "X":
        return (unit_dim, "covariate")
    return None


__all__ = [
    "CHECK_BOUNDS",
    "DEFAULT_STARTS",
    "PUPIL_PREFIX",
    "LinearPredictor",
    "ModelBuild",
    "data_dims",
    "design_columns",
    "graph_data_values",
    "la_linear_predictor",
    "prior_values",
    "pupil_design_columns",
    "school_design_columns",
    "school_level_values",
    "standardise"
]
