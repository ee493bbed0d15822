"""Joint analysis of several count outcomes, and joint probabilities of their effects.

A decision about SWIS weighs its outcomes together, e.g. P(S47 enquiries fall by 10% or more
AND care entries fall by 10% or more). The outcomes' posteriors are not independent: where
schools (or LAs) with more of one event also have more of another, the same chance imbalance
between the arms moves every estimate the same way. :func:`fit_joint` fits the outcomes in one
model whose school and LA effects are correlated across outcomes, and :class:`JointResult`
reads joint probabilities off its draws. :func:`independent_joint_probability` multiplies the
marginal probabilities of separately fitted posteriors instead, labelled "assuming
independence". Every probability says which method produced it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.distributions.transforms import CholeskyCorrTransform

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData
from swisbayes.families import batched_linalg, likelihoods
from swisbayes.families.common import DEFAULT_STARTS, ModelBuild, design_columns, prior_values
from swisbayes.families.predictive import draw_posterior_predictive, draw_prior_predictive
from swisbayes.priors.library import MAX_COMPONENTS
from swisbayes.spec.analysis import AnalysisSpec, Hierarchy
from swisbayes.spec.joint import pair_labels

LEVELS = ("school", "la")
"""Levels whose effects are correlated across outcomes."""

MODEL_DESCRIPTION = (
    "Poisson counts with log-normal school effects and LA intercepts, each correlated across "
    "outcomes (LKJ priors); LA deviations of the effect independent across outcomes")
"""One-line description recorded with every joint result."""

SUMMARY_VARS = ("irr", "irr_new_la", "log_irr", "sigma_school", "corr_school", "sigma_la",
                "corr_la", "sigma_la_effect", "intercept", "coef")


# --------------------------------------------------------------------------------------------
# Spec


# --------------------------------------------------------------------------------------------
# Model


def check_combinable(specs: Sequence[AnalysisSpec]) -> None:
    outcomes = [s.outcome for s in specs]
    if len(specs) < 2 or len(set(outcomes)) != len(outcomes):
        raise SpecError(f"a joint analysis needs two or more distinct outcomes; got {outcomes}")
    for spec in specs[1:]:
        for part in ("hierarchy", "adjustment"):
            if getattr(spec, part) != getattr(specs[0], part):
                raise SpecError(f"joint analysis: '{part}' of {spec.name} differs from that of "
                                f"{specs[0].name}; the outcomes must share one model structure")


def _joint_values(specs: Sequence[AnalysisSpec], data: SchoolData,
                  lkj_eta: float) -> tuple[dict[str, np.ndarray], list[str]]:
    """Data and prior parameters of the joint model, the outcome axis after the school axis."""
    frame = data.frame
    priors = [prior_values(s) for s in specs]
    values = {name: np.stack([p[name] for p in priors]) for name in priors[0]}
    # The log-normal school effect replaces each spec's negative-binomial frailty. Its SD is
    # about the frailty's coefficient of variation, which is what the prior on the inverse
    # square root of the dispersion is a prior on.
    values["sigma_school_prior_scale"] = values.pop("inv_sqrt_dispersion_prior_scale")
    y = np.column_stack([frame[s.outcome].to_numpy(np.int64) for s in specs])
    la_labels, la_idx = np.unique(frame["la_id"].to_numpy(str), return_inverse=True)
    values |= {"log_exposure": np.log(frame["pupils"].to_numpy(float)),
               "y": y,
               "log_y_factorial": likelihoods.log_factorial(y),
               "lkj_eta": np.asarray(lkj_eta, dtype=float),
               **_cell_values(la_idx, frame["arm"].to_numpy(np.int64), len(la_labels))}
    columns = [design_columns(s, data) for s in specs]
    if columns[0]:
        values |= _split_covariates(np.stack([np.column_stack(list(c.values()))
                                              for c in columns], axis=1), values)
    return values, list(columns[0])


def _split_covariates(x: np.ndarray, values: dict) -> dict[str, np.ndarray]:
    """Covariates as their LA x arm cell means (``X_cell``) and the deviations from them (``X``)."""
    size = values["cell_size"]
    sums = np.zeros((size.size, *x.shape[1:]))
    np.add.at(sums, values["cell_idx"], x)
    means = sums / size.reshape(-1)[:, None, None]
    return {"X": x - means[values["cell_idx"]], "X_cell": means.reshape(*size.shape, *x.shape[1:])}


def _cell_values(la_idx: np.ndarray, arm: np.ndarray, n_la: int) -> dict[str, np.ndarray]:
    """Each school's LA, arm and LA x arm cell, and the cells' numbers of schools."""
    cell_idx = 2 * la_idx + arm
    size = np.bincount(cell_idx, minlength=2 * n_la).astype(float)
    # An LA with one arm has an empty cell; any positive size keeps its covariance valid.
    return {"la_idx": la_idx.astype(np.int64), "arm_idx": arm.astype(np.int64),
            "cell_idx": cell_idx.astype(np.int64),
            "cell_size": np.maximum(size, 1.0).reshape(n_la, 2)}


_DIMS = {"log_exposure": "school", "la_idx": "school", "arm_idx": "school",
         "cell_idx": "school", "cell_size": ("la", "trial_arm"),
         "y": ("school", "outcome"), "log_y_factorial": ("school", "outcome"),
         "X": ("school", "outcome", "covariate"), "lkj_eta": None,
         "X_cell": ("la", "trial_arm", "outcome", "covariate")}


CENTRED_CELL_MIN_EVENTS = 25.0
"""Mean events per LA x arm cell above which an outcome's cell means are sampled centred."""


def _centred_outcomes(y: np.ndarray, cell_size: np.ndarray) -> tuple[bool, ...]:
    """Which outcomes' cell means the data pin down (at least 25 events in a mean cell).

    Then the sampling variance of a cell's log rate (1/25) is below a typical prior variance
    of a cell mean (0.2^2). The choice only changes how the model is sampled, not the model.
    """
    events = y.mean(axis=0) * cell_size.mean()
    return tuple(bool(e >= CENTRED_CELL_MIN_EVENTS) for e in events)


def _cell_coords(outcomes: Sequence[str], centred: tuple[bool, ...]) -> dict[str, list[str]]:
    labels = [f"{arm}:{o}" for arm in ("control", "swis") for o in outcomes]
    return {"cell_centred": [lab for lab, c in zip(labels, centred * 2, strict=True) if c],
            "cell_noncentred": [lab for lab, c in zip(labels, centred * 2, strict=True)
                                if not c]}


def _data_dims(name: str) -> str | tuple[str, ...] | None:
    if name in _DIMS:
        return _DIMS[name]
    if name.startswith("effect_prior_"):
        return ("outcome", "prior_component")
    return "outcome"  # every other prior parameter has one value per outcome


def _lkj_cholesky(name: str, eta: pt.TensorLike, k: int,
                  generative: bool = False) -> pt.TensorVariable:
    """Cholesky factor of a correlation matrix with an LKJ(eta) prior, from a free vector.

    ``pm.LKJCorr`` would store the factor itself, whose constant entries (upper triangle,
    first diagonal element) have an undefined R-hat and would fail the gate. Here the free
    variable is the factor's unconstrained image under PyMC's own transform, and its prior is
    the LKJ density plus that transform's log Jacobian: the same distribution. A flat variable
    cannot be drawn from its prior, so a ``generative`` model stores ``pm.LKJCorr`` itself, as
    ``{name}_chol``.
    """
    if generative:
        return pm.LKJCorr(f"{name}_chol", eta=eta, n=k)
    transform = CholeskyCorrTransform(k)
    raw = pm.Flat(name, dims="outcome_pair")
    chol = transform.backward(raw)
    pm.Potential(f"{name}_prior", pm.logp(pm.LKJCorr.dist(eta=eta, n=k), chol)
                 + transform.log_jac_det(raw))
    return chol


def _scale_factor(level: str, d: dict, k: int, generative: bool = False) -> pt.TensorVariable:
    """Cholesky factor ``diag(sigma) L`` of a level's covariance across outcomes.

    The SDs (``sigma_{level}``) and the correlation (``corr_raw_{level}``) are separate
    variables: in ``pm.LKJCholeskyCov``'s packed factor the off-diagonal entries scale with the
    SDs, and a small, poorly identified SD made a funnel (R-hat 1.05, bulk ESS 90 on the
    bundled data). The pairwise correlations are recorded as ``corr_{level}``; the full
    matrix's constant diagonal would have an undefined R-hat.
    """
    sigma = pm.HalfNormal(f"sigma_{level}", d[f"sigma_{level}_prior_scale"], dims="outcome")
    chol = _lkj_cholesky(f"corr_raw_{level}", d["lkj_eta"], k, generative)
    rows, cols = np.triu_indices(k, 1)
    pm.Deterministic(f"corr_{level}", (chol @ chol.T)[rows, cols], dims="outcome_pair")
    return sigma[:, None] * chol


def _mvn_logp(chol: pt.TensorVariable, x: pt.TensorVariable) -> pt.TensorVariable:
    """Sum over the batch of the N(0, L L') log density of ``x`` (batch x n), up to a constant.

    ``chol`` is the batch of factors (batch x n x n).
    """
    diagonal = pt.diagonal(chol, axis1=-2, axis2=-1)
    return -0.5 * pt.sum(batched_linalg.solve_lower(chol, x) ** 2) - pt.sum(pt.log(diagonal))


def _cell_covariance(d: dict, school: pt.TensorVariable, la: pt.TensorVariable | None,
                     la_effect_sd: pt.TensorVariable | None, k: int) -> pt.TensorVariable:
    """Prior covariance of each LA's cell means, (LA, 2K, 2K): control outcomes, then SWIS.

    For LA :math:`l` with :math:`n_{l0}` control and :math:`n_{l1}` SWIS schools the mean of
    ``u_l + delta_l * arm + e_j`` over the control cell has covariance
    :math:`\\Sigma_{LA} + \\Sigma_{school} / n_{l0}`, over the SWIS cell
    :math:`\\Sigma_{LA} + D + \\Sigma_{school} / n_{l1}` (:math:`D` the diagonal matrix of
    the LA effect variances), and the two share :math:`\\Sigma_{LA}`.
    """
    n = d["cell_size"]
    shared = la @ la.T if la is not None else pt.zeros((k, k))
    swis_extra = pt.diag(la_effect_sd**2) if la_effect_sd is not None else pt.zeros((k, k))
    within = school @ school.T
    control = shared[None] + within[None] / n[:, 0, None, None]
    swis = (shared + swis_extra)[None] + within[None] / n[:, 1, None, None]
    across = pt.broadcast_to(shared, control.shape)
    return pt.concatenate([pt.concatenate([control, across], axis=2),
                           pt.concatenate([across, swis], axis=2)], axis=1)


def _cell_effects(covariance: pt.TensorVariable, mean: pt.TensorVariable,
                  centred: tuple[bool, ...]) -> pt.TensorVariable:
    """Cell linear predictors ~ N(mean, covariance) per LA (rows), centred where flagged.

    A cell with many events (S47, referrals, S17: hundreds) pins its value down and is
    sampled as itself (centred), with the fixed effects in its prior mean (hierarchical
    centring); otherwise the intercept, effect and covariate coefficients traded off against
    the mean of 42 cells (R-hat 1.02-1.03 on simulated data), and non-centred cells tied the
    LA SDs to them (bulk ESS 290, divergences). A cell with few events (care entry: about
    15) says little; centred, its LA effect SD made a funnel (divergences), so it is drawn
    as mean plus Cholesky factor times standard normals. With the centred coordinates
    first, the factor splits the density exactly into theirs and the rest's given them.
    """
    order = [i for i, c in enumerate(centred) if c] + [i for i, c in enumerate(centred) if not c]
    n_centred = sum(centred)
    chol = batched_linalg.cholesky(covariance[:, order][:, :, order])
    mean = mean[:, order]
    cells: list[pt.TensorVariable] = []
    if n_centred:
        free = pm.Flat("cell_effect", dims=("la", "cell_centred"))
        top = chol[:, :n_centred, :n_centred]  # the centred cells' own factor
        pm.Potential("cell_effect_prior", _mvn_logp(top, free - mean[:, :n_centred]))
        cells.append(free)
    if n_centred < len(order):
        z = pm.Normal("z_cell", 0.0, 1.0, dims=("la", "cell_noncentred"))
        white = z if not n_centred else pt.concatenate(
            [batched_linalg.solve_lower(top, free - mean[:, :n_centred]), z], axis=1)
        below = chol[:, n_centred:]  # rows of the non-centred cells
        cells.append(mean[:, n_centred:] + pt.sum(below * white[:, None, :], axis=-1))
    return pt.concatenate(cells, axis=1)[:, np.argsort(order)]


def _random_effects(d: dict, k: int, hierarchy: Hierarchy, cell_mean: pt.TensorVariable,
                    centred: tuple[bool, ...], generative: bool = False,
                    ) -> tuple[pt.TensorVariable, pt.TensorVariable | None]:
    """``u_l + delta_l * arm_j + e_j`` for every school (rows) and outcome (columns).

    The sum is split exactly into its mean over the school's LA x arm cell
    (:func:`_cell_effects`, whose prior mean ``cell_mean`` is added to it) and the school's
    deviation from that mean, which are independent. Drawn as LA effects plus school effects,
    the data pin down only their sums, and the LA intercepts and effect deviations traded off
    against their schools' effects along ridges (LA SDs: bulk ESS about 200 from 4 x 1000
    draws). The deviations are non-centred school draws minus their cell mean, whose
    direction stays free and standard normal.

    Returns
    -------
    effects : TensorVariable
        Schools x outcomes.
    la_effect_sd : TensorVariable or None
        SDs of the LA deviations of the log IRR (None without an LA-varying effect).
    """
    school = _scale_factor("school", d, k, generative)
    la = _scale_factor("la", d, k, generative) if hierarchy.la_intercepts else None
    la_effect_sd = None
    if hierarchy.la_varying_effect:
        la_effect_sd = pm.HalfNormal("sigma_la_effect", d["sigma_la_effect_prior_scale"],
                                     dims="outcome")
    z = pm.Normal("z_school", 0.0, 1.0, dims=("school", "outcome"))
    cell_sums = pt.inc_subtensor(pt.zeros((d["cell_size"].size, k))[d["cell_idx"]], z)
    cell_means = cell_sums / d["cell_size"].reshape((-1,))[:, None]
    deviations = (z - cell_means[d["cell_idx"]]) @ school.T
    cells = _cell_effects(_cell_covariance(d, school, la, la_effect_sd, k), cell_mean,
                          centred + centred)
    cells = cells.reshape((cells.shape[0], 2, k))
    return cells[d["la_idx"], d["arm_idx"]] + deviations, la_effect_sd


_STARTS = {"sigma_school": 0.3, "z_school": 0.0, "corr_raw_la": 0.0, "corr_raw_school": 0.0,
           "cell_effect": DEFAULT_STARTS["intercept"], "z_cell": 0.0}
"""Starting values of the joint model's own variables (the rest: :data:`~swisbayes.families.count.
DEFAULT_STARTS`); a zero ``corr_raw`` is the identity correlation matrix."""


def build_joint_model(specs: Sequence[AnalysisSpec], data: SchoolData, *,
                      lkj_eta: float = 2.0, generative: bool = False) -> ModelBuild:
    """Build the joint Poisson-log-normal model of several count outcomes.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        One spec per outcome, sharing hierarchy and adjustment; each brings its outcome's
        covariates (its own baseline) and priors.
    data : SchoolData
        Validated school-level data with every outcome's columns.
    lkj_eta : float, default 2.0
        LKJ shape of the school- and LA-level correlation matrices.
    generative : bool, default False
        Build the same model in a form that can be drawn from its prior (for predictive
        checks), not for sampling: the correlation factors as ``pm.LKJCorr`` variables
        (``corr_raw_{level}_chol``) and every cell non-centred (``z_cell``), in place of the flat
        variables with a potential that the sampler gets.

    Returns
    -------
    ModelBuild

    Raises
    ------
    SpecError
        If the specs do not share one structure, repeat an outcome, or the data are
        pupil-level cells.

    Notes
    -----
    For school :math:`j` in LA :math:`l`, outcome :math:`k`, :math:`E_j` pupils, arm
    :math:`T_j` and covariates :math:`x_{jk}` (outcome :math:`k`'s log baseline rate, log
    school size, %FSM; standardised):

    .. math::

        y_{jk} &\\sim \\mathrm{Poisson}(\\mu_{jk}) \\\\
        \\log \\mu_{jk} &= \\log E_j + \\alpha_k + x_{jk}^\\top \\gamma_k + u_{lk}
                          + (\\beta_k + \\delta_{lk}) T_j + e_{jk} \\\\
        u_l &\\sim N_K(0, \\Sigma_{LA}), \\quad e_j \\sim N_K(0, \\Sigma_{school}), \\quad
        \\delta_{lk} \\sim N(0, \\sigma_{\\delta k}^2)

    Each :math:`\\Sigma = \\mathrm{diag}(\\sigma) \\Omega \\mathrm{diag}(\\sigma)` with
    :math:`\\Omega \\sim \\mathrm{LKJ}(\\eta)` and half-normal :math:`\\sigma_k` (scales: each
    spec's ``sigma_la`` and ``inv_sqrt_dispersion``). :math:`\\beta_k` has outcome
    :math:`k`'s effect prior (a normal mixture); ``irr`` is :math:`e^{\\beta}` and
    ``irr_new_la`` is :math:`e^{\\beta + \\sigma_\\delta w}`, :math:`w \\sim N(0, 1)`.

    The log-normal school effect takes the place of each spec's negative-binomial frailty:
    both are school-level over-dispersion, which one count per school and outcome cannot tell
    apart, and only the log-normal one can be correlated across outcomes. The LA deviations
    of the effect are independent across outcomes: their SDs are small and barely identified
    from 21 LAs, so a correlation among them would be the prior's; the new-LA joint
    probabilities therefore assume independent LA deviations. The average effects'
    correlation, which comes from the schools (the randomised units), is modelled.

    The model is sampled in an exact reparameterisation: each LA x arm cell's linear
    predictor (fixed effects at the cell's mean covariates plus the mean of
    :math:`u_l + \\delta_l T + e_j` over the cell) and each school's deviation from it
    (:func:`_random_effects`, :func:`_cell_effects`). So the LA effects :math:`u_l`,
    :math:`\\delta_l` are not stored. An outcome's cells are sampled centred when a mean
    cell holds at least :data:`CENTRED_CELL_MIN_EVENTS` events; that choice is part of the
    compiled structure.
    """
    check_combinable(specs)
    if data.cells is not None:
        raise SpecError("the joint model takes school-level data, not pupil-level cells")
    frame, hierarchy, k = data.frame, specs[0].hierarchy, len(specs)
    outcomes = [s.outcome for s in specs]
    values, covariates = _joint_values(specs, data, lkj_eta)
    centred = ((False,) * k if generative
               else _centred_outcomes(values["y"], values["cell_size"]))
    la_labels = list(np.unique(frame["la_id"].to_numpy(str)))
    coords = {"outcome": outcomes, "la": la_labels, "school": list(frame["school_id"]),
              "covariate": covariates, "prior_component": list(range(MAX_COMPONENTS)),
              "outcome_pair": pair_labels(outcomes), "trial_arm": ["control", "swis"],
              **_cell_coords(outcomes, centred)}
    with pm.Model(coords=coords, check_bounds=False) as model:
        d = {name: pm.Data(name, value, dims=_data_dims(name)) for name, value in values.items()}
        intercept = pm.Normal("intercept", d["intercept_prior_mean"], d["intercept_prior_sd"],
                              dims="outcome")
        log_irr = pm.NormalMixture("log_irr", w=d["effect_prior_weights"],
                                   mu=d["effect_prior_means"], sigma=d["effect_prior_sds"],
                                   dims="outcome")
        eta = d["log_exposure"][:, None]
        # Every cell's prior mean holds the fixed effects (hierarchical centring, see
        # _cell_effects); the likelihood keeps only the covariates' deviations from it.
        cell_mean = pt.stack([intercept, intercept + log_irr])[None] + pt.zeros(
            (len(la_labels), 2, k))
        if covariates:
            coef = pm.Normal("coef", 0.0, d["coefficient_prior_sd"][:, None],
                             dims=("outcome", "covariate"))
            eta = eta + pt.sum(d["X"] * coef, axis=-1)
            cell_mean = cell_mean + pt.sum(d["X_cell"] * coef, axis=-1)
        effects, la_effect_sd = _random_effects(d, k, hierarchy,
                                                cell_mean.reshape((len(la_labels), 2 * k)),
                                                centred, generative)
        likelihoods.poisson("y_obs", eta + effects, d["log_y_factorial"], observed=d["y"],
                            dims=("school", "outcome"))
        log_irr_new = log_irr
        if la_effect_sd is not None:
            log_irr_new = log_irr + la_effect_sd * pm.Normal("w_new_la", 0.0, 1.0,
                                                             dims="outcome")
        pm.Deterministic("irr", pt.exp(log_irr), dims="outcome")
        pm.Deterministic("irr_new_la", pt.exp(log_irr_new), dims="outcome")
    key = ("joint-generative" if generative else "joint", k, tuple(covariates),
           hierarchy.la_intercepts, hierarchy.la_varying_effect, centred,
           len(frame), len(la_labels))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords,
                      starts=_STARTS)


# --------------------------------------------------------------------------------------------
# Joint probabilities


# --------------------------------------------------------------------------------------------
# Result


# --------------------------------------------------------------------------------------------
# Fitting


# --------------------------------------------------------------------------------------------
# Predictive draws


def joint_prior_predictive(specs: Sequence[AnalysisSpec], data: SchoolData, *,
                           lkj_eta: float = 2.0, draws: int = 500,
                           seed: int | None = None) -> xr.DataTree:
    """Parameters and every outcome drawn from the joint model's prior on the design of ``data``.

    Drawn from the ``generative`` form of :func:`build_joint_model`: the same model, with the
    correlation factors and cell effects as variables that can be drawn from their prior.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        As for :func:`build_joint_model`.
    data : SchoolData
        School-level data; their design (schools, LAs, arms, exposures, covariates) is kept.
    lkj_eta : float, default 2.0
    draws : int, default 500
    seed : int, optional

    Returns
    -------
    xarray.DataTree
        ``prior``, ``prior_predictive`` (``y_obs``: int64, dims ``chain``, ``draw``,
        ``school``, ``outcome``) and ``observed_data``.
    """
    build = build_joint_model(specs, data, lkj_eta=lkj_eta, generative=True)
    return draw_prior_predictive(build, draws=draws, seed=seed)


def joint_posterior_predictive(specs: Sequence[AnalysisSpec], data: SchoolData,
                               posterior: xr.DataTree | xr.Dataset, *, lkj_eta: float = 2.0,
                               seed: int | None = None) -> xr.DataTree:
    """Every outcome drawn given each posterior draw of a joint fit.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        The specs that were fitted together.
    data : SchoolData
        The data they were fitted to.
    posterior : xarray.DataTree or xarray.Dataset
        The joint fit's DataTree (its ``posterior`` group is read) or posterior Dataset.
    lkj_eta : float, default 2.0
        The LKJ shape of the fit.
    seed : int, optional

    Returns
    -------
    xarray.DataTree
        ``posterior_predictive`` (``y_obs``: int64, dims ``chain``, ``draw``, ``school``,
        ``outcome``) and ``observed_data``.
    """
    build = build_joint_model(specs, data, lkj_eta=lkj_eta)
    with warnings.catch_warnings():
        # The potentials are the priors of the correlations and cell effects, which are
        # posterior draws here: ignoring them is right, unlike in prior predictive draws.
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        return draw_posterior_predictive(build, posterior, seed=seed)


__all__ = ["build_joint_model", "joint_posterior_predictive", "joint_prior_predictive"]
