"""The hierarchical model of a school-clustered trial outcome, built from a spec and data.

Building never samples. Every number that a sensitivity analysis may change (the prior on the
effect, the hyperprior scales, the data themselves) enters as ``pm.Data``, so one compiled model
serves every prior and every dataset of the same shape.

Count outcomes are built here; days in care (:mod:`swisbayes.families.hurdle`) and attendance
(:mod:`swisbayes.families.attendance`) share :func:`la_linear_predictor`, the LA hierarchy and the
effect
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
    school = _cell_school_positions(data)
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
    school = _cell_school_positions(data)
    return {**{name: x[school] for name, x in schools.items()},
            **pupil_design_columns(spec, data)}


def _cell_school_positions(data: SchoolData) -> np.ndarray:
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
        Validated data containing the outcome's columns: a school file, or a reduced pupil file
        (school x covariate cells).

    Returns
    -------
    ModelBuild

    Notes
    -----
    For school :math:`j` in LA :math:`l` with :math:`E_j` pupils and arm :math:`T_j`:

    .. math::

        y_j &\\sim \\mathrm{NegBin}(\\mu_j, \\phi) \\\\
        \\log \\mu_j &= \\log E_j + \\eta_j, \\quad
        \\eta_j = \\alpha + \\sigma_u z_l + (\\beta + \\sigma_\\delta w_l) T_j
                  + x_j^\\top \\gamma \\\\
        z_l, w_l &\\sim N(0, 1) \\quad \\text{(non-centred LA effects)}

    with the school-level covariates :math:`x_j` of :func:`school_design_columns` (the log
    baseline rate, log school size, the listed covariates). The IRR is :math:`e^\\beta`; the
    IRR in a new LA is :math:`e^{\\beta + \\sigma_\\delta w_{new}}` with :math:`w_{new} \\sim
    N(0, 1)`, a quantity sampled alongside the others. :math:`\\phi = 1 / \\kappa^2` with a
    half-normal prior on :math:`\\kappa`. The deterministic ``rate_control_per_1000`` and
    ``rate_swis_per_1000`` are expected events per 1000 pupils over the follow-up if every
    trial school were in that arm.

    For pupil-level data the negative binomial is read as a Poisson rate per pupil times a
    gamma frailty :math:`u_j \\sim \\Gamma(\\phi, \\phi)` shared by the school's pupils. Pupil
    :math:`i` of school :math:`j` has mean

    .. math::

        \\mu_i = u_j\\, e^{\\eta_j + v_i^\\top \\theta},

    where :math:`\\eta_j` is the school-level predictor above, *with the same school-level
    covariates* (the school's log baseline rate, computed from the pupils' baselines, is the
    contextual effect), and :math:`v_i` the pupil-level columns of
    :func:`pupil_design_columns` (the pupil's own ``log(b_i + 0.5)``, pupil covariates), each
    with its coefficient ``coef[pupil_*]`` and the same N(0, ``coefficient_sd``) prior. The
    counts of a school's cells then follow a negative multinomial: the school total is
    negative binomial with mean :math:`M_j = e^{\\eta_j} \\sum_{i \\in j} e^{v_i^\\top
    \\theta}` and the multinomial split of it over the cells depends on :math:`\\theta` only.
    At :math:`\\theta = 0` the total's density is the school-level model's, so the pupil-level
    posterior contains the school-level one; the cell sums are exactly sufficient. It is
    evaluated school by school
    (:func:`swisbayes.families.likelihoods.negative_multinomial_pattern_data`),
    so it costs about what the school-level model costs.
    """
    frame = data.frame
    schema = outcome_schema(spec.outcome)
    la_labels, la_idx = np.unique(frame["la_id"].to_numpy(str), return_inverse=True)
    school_columns = school_design_columns(spec, frame)
    pupil_columns = {} if data.cells is None else pupil_design_columns(spec, data)
    if pupil_columns and not school_columns:  # a pupil column implies its school column
        raise ValueError("pupil-level covariates need their school-level counterparts")
    coords = {"la": list(la_labels), "school": list(frame["school_id"]),
              "covariate": [*school_columns, *pupil_columns],
              "prior_component": list(range(MAX_COMPONENTS))}
    exposure = frame["pupils"].to_numpy(float)
    values = {"log_exposure": np.log(exposure), "exposure": exposure,
              "arm": frame["arm"].to_numpy(float), "la_idx": la_idx.astype(np.int64),
              **prior_values(spec)}
    x_dims = data_dims("X")
    if school_columns:
        values["X"] = np.column_stack(list(school_columns.values()))
    if pupil_columns:  # X holds the school-level columns only; coef covers both
        coords["school_covariate"] = list(school_columns)
        x_dims = ("school", "school_covariate")
    if data.cells is None:
        y = frame[schema.followup].to_numpy(np.int64)
        values |= {"y": y, "log_y_factorial": likelihoods.log_factorial(y)}
    else:
        cells = data.cells
        values |= likelihoods.negative_multinomial_pattern_data(
            cells[schema.followup].to_numpy(np.int64), cells["pupils"].to_numpy(float),
            _cell_school_positions(data),
            np.column_stack([*pupil_columns.values(), np.empty((len(cells), 0))]), len(frame))
        if pupil_columns:
            coords["pupil_covariate"] = list(pupil_columns)
            coords["pattern"] = list(range(len(values["pupil_X"])))
            if "cell_pattern" in values:
                coords["cell"] = list(range(len(cells)))
    with pm.Model(coords=coords, check_bounds=CHECK_BOUNDS) as model:
        d = {name: pm.Data(name, value, dims=x_dims if name == "X" else data_dims(name))
             for name, value in values.items()}
        lp = la_linear_predictor(d, spec.hierarchy, offset=d["log_exposure"],
                                 covariates="X" if school_columns else None,
                                 n_matrix_covariates=(len(school_columns) if pupil_columns
                                                      else None))
        eta0, weighted = lp.eta0, None
        if data.cells is not None:
            # pupils' mean multiplier: log(sum_i exp(v_i' theta)) in place of log E_j
            log_size = (likelihoods.pattern_log_size(d, lp.coef[len(school_columns):])
                        if pupil_columns else d["log_exposure"])
            eta0 = eta0 - d["log_exposure"] + log_size
            weighted = d["school_y_log_pupils"] - d["school_y"] * log_size
            if pupil_columns:
                weighted = weighted + pt.dot(d["school_pupil_X_y"],
                                             lp.coef[len(school_columns):])
        pm.Deterministic("irr", pt.exp(lp.log_irr))
        pm.Deterministic("irr_new_la", pt.exp(lp.log_irr_new))
        eta = eta0 + lp.effect * d["arm"]  # log of the school's expected total
        _count_likelihood(spec, d, eta, weighted)
        per_1000 = 1000.0 / pt.sum(d["exposure"])
        pm.Deterministic("rate_control_per_1000", pt.sum(pt.exp(eta0)) * per_1000)
        pm.Deterministic("rate_swis_per_1000", pt.sum(pt.exp(eta0 + lp.effect)) * per_1000)
    values = graph_data_values(model, values)  # a switched-off level's data is not in the graph
    key = ("count", spec.family, spec.hierarchy.la_intercepts, spec.hierarchy.la_varying_effect,
           tuple(coords["covariate"]), len(frame), len(la_labels), data.cells is not None,
           tuple((name, np.shape(v)) for name, v in values.items() if name in _PUPIL_DATA))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords)


def _count_likelihood(spec: AnalysisSpec, d: dict, eta: TensorVariable,
                      weighted: TensorVariable | None) -> None:
    if weighted is not None:  # reduced pupil-level data: negative multinomial of the cells
        # sum_c y_c log mu_c = Y_j (eta_j - log S_j) + ..., with eta_j = log M_j
        likelihoods.negative_multinomial("y_obs", eta, d["school_y"] * eta + weighted,
                                         _dispersion(spec, d), d, dims="school")
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


_PUPIL_DATA = {"pupil_X": ("pattern", "pupil_covariate"),
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
    if name in _PUPIL_DATA:
        return _PUPIL_DATA[name]
    if name.startswith("effect_prior_"):
        return "prior_component"
    if name == "X":
        return (unit_dim, "covariate")
    return None
