"""The hierarchical model of a school-clustered trial outcome, built from a spec and data.

Building never samples. Every number that a sensitivity analysis may change (the prior on the
effect, the hyperprior scales, the data themselves) enters as ``pm.Data``, so one compiled model
serves every prior and every dataset of the same shape.

Count outcomes are built here; days in care (:mod:`swisbayes.families.hurdle`) and attendance
(:mod:`swisbayes.families.attendance`) share :func:`la_linear_predictor`, the LA hierarchy and the
effect prior, and :func:`build_model` picks the builder from the outcome's kind. Predictive draws
of a pupil-level fit are split over its pupil cells by :func:`add_cell_draws`.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.tensor import TensorVariable

from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.families import likelihoods
from swisbayes.families.common import (
    CHECK_BOUNDS,
    PUPIL_DATA_DIMS,
    ModelBuild,
    cell_school_positions,
    data_dims,
    graph_data_values,
    la_linear_predictor,
    prior_values,
    pupil_design_columns,
    school_design_columns,
)
from swisbayes.families.predictive import SAMPLE_DIMS, predictive_group
from swisbayes.priors.library import MAX_COMPONENTS
from swisbayes.spec.analysis import AnalysisSpec


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
            cell_school_positions(data),
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
           tuple((name, np.shape(v)) for name, v in values.items() if name in PUPIL_DATA_DIMS))
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


def add_cell_draws(spec: AnalysisSpec, data: SchoolData, tree: xr.DataTree,
                   parameters: xr.Dataset, rng: np.random.Generator) -> xr.DataTree:
    """Add draws of a pupil-level fit's cells to its predictive draws of the school totals.

    The totals ``y_obs`` of a pupil-level count model are negative binomial; each one is split
    over its school's cells multinomially in proportion to the cells' means,
    :math:`\\mu_c \\propto E_c e^{v_c^\\top \\theta}` within a school
    (:func:`~swisbayes.families.likelihoods.negative_multinomial_split`), with the pupil-level
    coefficients :math:`\\theta` of the same draw. Together they are a draw from the negative
    multinomial the model is fitted with. School-level data are returned unchanged.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
    tree : xarray.DataTree
        Predictive draws (``prior_predictive`` or ``posterior_predictive`` group) and
        ``observed_data``, from the model of ``spec`` on ``data``.
    parameters : xarray.Dataset
        The parameter draws behind them (the ``prior`` group, or the posterior), with ``coef``
        when the model has pupil-level covariates.
    rng : numpy.random.Generator

    Returns
    -------
    xarray.DataTree
        With ``y_cell`` (dims ``chain``, ``draw``, ``cell``; coordinate ``cell_school``) in the
        predictive group and the observed cell counts in ``observed_data``.
    """
    if data.cells is None:
        return tree
    cells = data.cells
    group = predictive_group(tree)
    totals = tree[group]["y_obs"].transpose(*SAMPLE_DIMS, "school")
    log_weight = np.log(cells["pupils"].to_numpy(float))
    pupil_columns = pupil_design_columns(spec, data)
    if pupil_columns:
        theta = parameters["coef"].sel(covariate=list(pupil_columns))
        theta, _ = xr.align(theta, totals, join="exact")  # the totals' own parameter draws
        v = np.column_stack(list(pupil_columns.values()))
        log_weight = log_weight + theta.transpose(*SAMPLE_DIMS, "covariate").to_numpy() @ v.T
    y_cell = likelihoods.negative_multinomial_split(totals.to_numpy(), log_weight,
                                                    cell_school_positions(data), rng)
    coords = {"cell": np.arange(len(cells)), "cell_school": ("cell", cells["school_id"].to_numpy())}
    observed = cells[outcome_schema(spec.outcome).followup].to_numpy(np.int64)
    predictive = tree[group].to_dataset().assign(
        y_cell=xr.DataArray(y_cell, dims=(*SAMPLE_DIMS, "cell"),
                            coords={**{d: totals[d] for d in SAMPLE_DIMS}, **coords}))
    tree[group] = xr.DataTree(predictive)
    tree["observed_data"] = xr.DataTree(tree["observed_data"].to_dataset().assign(
        y_cell=xr.DataArray(observed, dims="cell", coords=coords)))
    return tree
