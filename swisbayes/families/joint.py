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

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pydantic import Field
from pymc.distributions.transforms import CholeskyCorrTransform

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import ConvergenceError, SpecError
from swisbayes._base.files import default_file
from swisbayes._base.provenance import library_versions
from swisbayes.data.io import SchoolData, load_example, read_school_data
from swisbayes.decision.summaries import (
    RatioSummary,
    equal_tailed_interval,
    prob_below,
    ratio_keys,
    summarise_ratio,
)
from swisbayes.families import likelihoods
from swisbayes.families.count import DEFAULT_STARTS, ModelBuild, design_columns, prior_values
from swisbayes.inference.diagnostics import Diagnostics
from swisbayes.inference.fitting import (
    Attempt,
    FitResult,
    load_gate_attrs,
    sample_with_gate,
    save_with_gate,
)
from swisbayes.priors.library import MAX_COMPONENTS
from swisbayes.spec.analysis import (
    AnalysisSpec,
    Hierarchy,
    Sampler,
    _Strict,
    _validated,
    load_spec,
    read_toml,
)

JOINT_METHOD = "joint model"
"""``method`` of a probability read off the joint posterior."""

INDEPENDENCE_METHOD = "independence"
"""``method`` of a probability computed as a product of marginal probabilities."""

INDEPENDENCE_LABEL = "assuming independence"
"""How a product of marginal probabilities is labelled in text and tables."""

DEFAULT_JOINT_SPEC = Path("models") / "joint.toml"
"""Joint spec used when none is named: relative to the working directory, else the project's."""

DEFAULT_OUTCOME_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml")
"""The count-outcome specs combined by default (file names in the models directory)."""

JOINT_SAMPLER = Sampler(draws=2000)
"""Default sampler of a joint fit: 2000 draws per chain. With 1000 the worst of some 1400
parameters (a school correlation, an effect) had R-hat 1.011-1.013 on the bundled and simulated
data; with 2000 all seven datasets tried passed the gate at the first attempt."""

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


class JointReport(_Strict):
    """What a joint analysis reports besides every pair of outcomes.

    Parameters
    ----------
    sets : tuple of tuple of str
        Further sets of outcomes (e.g. all four) whose joint probability is reported.
    thresholds : dict of str to float
        IRR threshold by outcome; an outcome not listed uses ``1 - mcid`` of its spec.
    """

    sets: tuple[Annotated[tuple[str, ...], Field(min_length=2)], ...] = ()
    thresholds: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)


class JointSpec(_Strict):
    """A joint analysis of several count outcomes (``models/joint.toml``).

    Parameters
    ----------
    name : str
    title : str
    specs : tuple of str
        Outcome spec files combined: relative to the joint spec's file, or to
        :func:`models_dir` for a spec made in code. Their hierarchy and adjustment must agree;
        each brings its outcome's priors.
    lkj_eta : float
        Shape of the LKJ prior of both correlation matrices (1 = uniform over correlation
        matrices; 2 shrinks gently towards no correlation).
    report : JointReport
    sampler : Sampler
        Settings of the joint fit (the outcome specs' own settings are not used).
    """

    name: str = "joint"
    title: str = ""
    specs: Annotated[tuple[str, ...], Field(min_length=2)] = DEFAULT_OUTCOME_SPECS
    lkj_eta: Annotated[float, Field(gt=0)] = 2.0
    report: JointReport = JointReport()
    sampler: Sampler = JOINT_SAMPLER

    def analyses(self) -> tuple[AnalysisSpec, ...]:
        """Load the outcome specs this joint spec combines.

        Returns
        -------
        tuple of AnalysisSpec
        """
        base = models_dir()
        return tuple(load_spec(p if Path(p).is_absolute() else base / p) for p in self.specs)

    def to_json(self) -> str:
        """The spec as canonical JSON (recorded in every joint result)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def models_dir() -> Path:
    """The models directory: ``./models`` when it holds the joint spec, else the project's."""
    return default_file(DEFAULT_JOINT_SPEC.name).parent


def load_joint_spec(path: str | Path | None = None) -> JointSpec:
    """Read and validate a joint spec; its outcome spec paths are made absolute.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A TOML file; ``joint.toml`` in :func:`models_dir` when None.

    Returns
    -------
    JointSpec

    Raises
    ------
    SpecError
        If the file is missing or not TOML, a key is unknown, a value is out of range, an
        outcome spec fails to load, or the report names an outcome that no spec analyses.

    Examples
    --------
    >>> spec = load_joint_spec("models/joint.toml")
    >>> [s.outcome for s in spec.analyses()]
    ['s47', 'referrals', 's17', 'care_entry']
    """
    path = Path(path) if path is not None else models_dir() / DEFAULT_JOINT_SPEC.name
    raw = read_toml(path, "joint spec")
    if isinstance(raw.get("specs"), list):
        raw["specs"] = [str((path.parent / p).resolve()) if isinstance(p, str) else p
                        for p in raw["specs"]]
    spec = _validated(JointSpec, raw, str(path))
    check_report(spec, [s.outcome for s in spec.analyses()], source=str(path))
    return spec


def check_report(spec: JointSpec, outcomes: Sequence[str], *, source: str = "<joint>") -> None:
    """Raise :class:`SpecError` if the report of ``spec`` names an outcome not in ``outcomes``."""
    named = {o for s in spec.report.sets for o in s} | set(spec.report.thresholds)
    unknown = sorted(named - set(outcomes))
    if unknown:
        raise SpecError(f"{source}: report names outcome(s) {unknown} that no combined spec "
                        f"analyses; analysed: {', '.join(outcomes)}")


# --------------------------------------------------------------------------------------------
# Model


def pair_labels(outcomes: Sequence[str]) -> list[str]:
    """Labels ``"a:b"`` of the outcome pairs, in the order of the ``corr_*`` variables."""
    rows, cols = np.triu_indices(len(outcomes), 1)
    return [f"{outcomes[i]}:{outcomes[j]}" for i, j in zip(rows, cols, strict=True)]


def _check_combinable(specs: Sequence[AnalysisSpec]) -> None:
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


def _lkj_cholesky(name: str, eta: pt.TensorLike, k: int) -> pt.TensorVariable:
    """Cholesky factor of a correlation matrix with an LKJ(eta) prior, from a free vector.

    ``pm.LKJCorr`` would store the factor itself, whose constant entries (upper triangle,
    first diagonal element) have an undefined R-hat and would fail the gate. Here the free
    variable is the factor's unconstrained image under PyMC's own transform, and its prior is
    the LKJ density plus that transform's log Jacobian: the same distribution.
    """
    transform = CholeskyCorrTransform(k)
    raw = pm.Flat(name, dims="outcome_pair")
    chol = transform.backward(raw)
    pm.Potential(f"{name}_prior", pm.logp(pm.LKJCorr.dist(eta=eta, n=k), chol)
                 + transform.log_jac_det(raw))
    return chol


def _scale_factor(level: str, d: dict, k: int) -> pt.TensorVariable:
    """Cholesky factor ``diag(sigma) L`` of a level's covariance across outcomes.

    The SDs (``sigma_{level}``) and the correlation (``corr_raw_{level}``) are separate
    variables: in ``pm.LKJCholeskyCov``'s packed factor the off-diagonal entries scale with the
    SDs, and a small, poorly identified SD made a funnel (R-hat 1.05, bulk ESS 90 on the
    bundled data). The pairwise correlations are recorded as ``corr_{level}``; the full
    matrix's constant diagonal would have an undefined R-hat.
    """
    sigma = pm.HalfNormal(f"sigma_{level}", d[f"sigma_{level}_prior_scale"], dims="outcome")
    chol = _lkj_cholesky(f"corr_raw_{level}", d["lkj_eta"], k)
    rows, cols = np.triu_indices(k, 1)
    pm.Deterministic(f"corr_{level}", (chol @ chol.T)[rows, cols], dims="outcome_pair")
    return sigma[:, None] * chol


def _batched_cholesky(a: pt.TensorVariable, n: int) -> dict[tuple[int, int], pt.TensorVariable]:
    """Lower Cholesky factors of a batch of n x n matrices, entry by entry (batch first).

    Each entry is one elementwise expression over the batch, which was faster than PyTensor's
    batched ``cholesky`` (one LAPACK call per matrix) for 21 matrices of size 8.
    """
    chol: dict[tuple[int, int], pt.TensorVariable] = {}
    for i in range(n):
        for j in range(i + 1):
            rest = a[:, i, j] - sum((chol[i, m] * chol[j, m] for m in range(j)), start=0.0)
            chol[i, j] = pt.sqrt(rest) if i == j else rest / chol[j, j]
    return chol


def _whiten(chol: Mapping[tuple[int, int], pt.TensorVariable], x: pt.TensorVariable,
            n: int) -> list[pt.TensorVariable]:
    """Columns of ``L^-1 x`` for each row of ``x`` (batch x n), by forward substitution."""
    white: list[pt.TensorVariable] = []
    for i in range(n):
        partial = sum((chol[i, j] * white[j] for j in range(i)), start=0.0)
        white.append((x[:, i] - partial) / chol[i, i])
    return white


def _mvn_logp(chol: Mapping[tuple[int, int], pt.TensorVariable], x: pt.TensorVariable,
              n: int) -> pt.TensorVariable:
    """Sum over the batch of the N(0, L L') log density of ``x`` (batch x n), up to a constant."""
    white = _whiten(chol, x, n)
    return -0.5 * sum(w**2 for w in white).sum() - sum(pt.log(chol[i, i]) for i in range(n)).sum()


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
    n, n_centred = len(order), sum(centred)
    chol = _batched_cholesky(covariance[:, order][:, :, order], n)
    mean = mean[:, order]
    columns: list[pt.TensorVariable] = []
    white: list[pt.TensorVariable] = []
    if n_centred:
        free = pm.Flat("cell_effect", dims=("la", "cell_centred"))
        white = _whiten(chol, free - mean[:, :n_centred], n_centred)
        pm.Potential("cell_effect_prior", _mvn_logp(chol, free - mean[:, :n_centred], n_centred))
        columns = [free[:, i] for i in range(n_centred)]
    if n_centred < n:
        z = pm.Normal("z_cell", 0.0, 1.0, dims=("la", "cell_noncentred"))
        white = white + [z[:, i] for i in range(n - n_centred)]
        columns += [mean[:, i] + sum(chol[i, j] * white[j] for j in range(i + 1))
                    for i in range(n_centred, n)]
    return pt.stack([columns[order.index(i)] for i in range(n)], axis=-1)


def _random_effects(d: dict, k: int, hierarchy: Hierarchy, cell_mean: pt.TensorVariable,
                    centred: tuple[bool, ...],
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
    school = _scale_factor("school", d, k)
    la = _scale_factor("la", d, k) if hierarchy.la_intercepts else None
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
                      lkj_eta: float = 2.0) -> ModelBuild:
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
    _check_combinable(specs)
    if data.cells is not None:
        raise SpecError("the joint model takes school-level data, not pupil-level cells")
    frame, hierarchy, k = data.frame, specs[0].hierarchy, len(specs)
    outcomes = [s.outcome for s in specs]
    values, covariates = _joint_values(specs, data, lkj_eta)
    centred = _centred_outcomes(values["y"], values["cell_size"])
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
                                                centred)
        likelihoods.poisson("y_obs", eta + effects, d["log_y_factorial"], observed=d["y"],
                            dims=("school", "outcome"))
        log_irr_new = log_irr
        if la_effect_sd is not None:
            log_irr_new = log_irr + la_effect_sd * pm.Normal("w_new_la", 0.0, 1.0,
                                                             dims="outcome")
        pm.Deterministic("irr", pt.exp(log_irr), dims="outcome")
        pm.Deterministic("irr_new_la", pt.exp(log_irr_new), dims="outcome")
    key = ("joint", k, tuple(covariates), hierarchy.la_intercepts, hierarchy.la_varying_effect,
           centred,
           len(frame), len(la_labels))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords,
                      starts=_STARTS)


# --------------------------------------------------------------------------------------------
# Joint probabilities


def prob_all_below(draws: Mapping[str, np.ndarray], thresholds: Mapping[str, float]) -> float:
    """Share of draws in which every named quantity is below its threshold.

    Parameters
    ----------
    draws : mapping of str to numpy.ndarray
        Draws by name, paired by position (the same posterior draw in every array).
    thresholds : mapping of str to float
        Threshold by name; only these names are used.

    Returns
    -------
    float

    Examples
    --------
    >>> prob_all_below({"a": np.array([0.8, 0.8, 1.2, 1.2]),
    ...                 "b": np.array([0.8, 1.2, 0.8, 1.2])}, {"a": 0.9, "b": 0.9})
    0.25
    """
    arrays = [np.asarray(draws[name], dtype=float).ravel() for name in thresholds]
    if len({a.size for a in arrays}) > 1:
        raise ValueError("joint probabilities need the same number of paired draws per outcome")
    below = np.logical_and.reduce([a < t for a, t in zip(arrays, thresholds.values(),
                                                         strict=True)])
    return float(np.mean(below))


@dataclass(frozen=True)
class JointProbability:
    """P(every listed outcome's IRR is below its threshold), and how it was computed.

    Parameters
    ----------
    thresholds : dict of str to float
        IRR threshold by outcome.
    probability : float
    marginals : dict of str to float
        P(IRR < threshold) of each outcome alone.
    method : {"joint model", "independence"}
        Read off the joint posterior's paired draws, or the product of the marginals.
    quantity : {"irr", "irr_new_la"}
        Average effect across the trial's LAs, or the effect in a new LA.
    source : str
        Which posterior(s) the draws came from.
    """

    thresholds: dict[str, float]
    probability: float
    marginals: dict[str, float]
    method: str
    quantity: str
    source: str

    def __float__(self) -> float:
        return self.probability

    @property
    def label(self) -> str:
        """``"joint model"`` or ``"assuming independence"``."""
        return INDEPENDENCE_LABEL if self.method == INDEPENDENCE_METHOD else JOINT_METHOD

    @property
    def text(self) -> str:
        """One sentence, naming the method."""
        where = "in a new LA" if self.quantity == "irr_new_la" else "across the trial's LAs"
        events = " and ".join(f"{o} IRR < {t:.2f}" for o, t in self.thresholds.items())
        return f"P({events}) {where} = {self.probability:.3f} ({self.label})"

    def to_dict(self) -> dict:
        """JSON-ready keys: outcomes, thresholds, probability, marginals, method, label..."""
        return {"outcomes": list(self.thresholds), "thresholds": dict(self.thresholds),
                "probability": self.probability, "marginals": dict(self.marginals),
                "method": self.method, "label": self.label, "quantity": self.quantity,
                "source": self.source}


def _quantity(new_la: bool) -> str:
    return "irr_new_la" if new_la else "irr"


def _product(marginals: Mapping[str, float]) -> float:
    return float(np.prod(list(marginals.values())))


def _resolve_conditions(conditions: Mapping[str, float] | Sequence[str] | None,
                        defaults: Mapping[str, float]) -> dict[str, float]:
    """Thresholds by outcome: given, or the defaults of the named (or all) outcomes."""
    names = list(defaults) if conditions is None else list(conditions)
    unknown = sorted(set(names) - set(defaults))
    if unknown:
        raise KeyError(f"unknown outcome(s) {unknown}; available: {', '.join(defaults)}")
    if not names:
        raise ValueError("conditions name no outcome")
    thresholds = ({o: float(conditions[o]) for o in names} if isinstance(conditions, Mapping)
                  else {o: float(defaults[o]) for o in names})
    if not all(t > 0 for t in thresholds.values()):
        raise ValueError(f"IRR thresholds must be positive; got {thresholds}")
    return thresholds


def _flat(posterior: xr.Dataset, name: str, outcome: str | None = None) -> np.ndarray:
    da = posterior[name] if outcome is None else posterior[name].sel(outcome=outcome)
    return da.to_numpy().reshape(-1)


def independent_joint_probability(results: Mapping[str, FitResult],
                                  conditions: Mapping[str, float] | Sequence[str] | None = None,
                                  *, new_la: bool = False) -> JointProbability:
    """Joint probability from separately fitted outcomes, assuming independence.

    Parameters
    ----------
    results : mapping of str to FitResult
        One fit per outcome, keyed by outcome (``fit(load_spec("models/care_entry.toml"))``...).
    conditions : mapping of str to float, or sequence of str, optional
        IRR threshold by outcome; outcome names alone, or None (every outcome of ``results``),
        use ``1 - mcid`` of each fit's spec.
    new_la : bool, default False
        Use the effect in a new LA instead of the average effect.

    Returns
    -------
    JointProbability
        ``method == "independence"``: the product of the marginal probabilities, which
        ignores any dependence between the outcomes.

    Raises
    ------
    ValueError
        If a fit's outcome differs from its key.
    """
    for outcome, result in results.items():
        if result.spec.outcome != outcome:
            raise ValueError(f"results[{outcome!r}] is a fit of {result.spec.outcome!r}")
    defaults = {o: 1.0 - r.spec.decision.mcid for o, r in results.items()}
    thresholds = _resolve_conditions(conditions, defaults)
    quantity = _quantity(new_la)
    marginals = {o: prob_below(_flat(results[o].idata["posterior"].to_dataset(), quantity), t)
                 for o, t in thresholds.items()}
    names = ", ".join(results[o].spec.name for o in thresholds)
    return JointProbability(thresholds=thresholds, probability=_product(marginals),
                            marginals=marginals, method=INDEPENDENCE_METHOD, quantity=quantity,
                            source=f"separate fits: {names}")


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class JointResult:
    """A fitted joint model: posterior, diagnostics, joint probabilities and provenance.

    Parameters
    ----------
    idata : xarray.DataTree
        Posterior and sample stats; ``irr``, ``irr_new_la``, ``sigma_*`` and ``corr_*`` have an
        ``outcome`` or ``outcome_pair`` dim.
    specs : tuple of AnalysisSpec
        The outcome specs combined (priors resolved).
    joint_spec : JointSpec
        The joint spec, with the sampler settings used.
    diagnostics : Diagnostics
        Diagnostics of the reported (last) attempt.
    attempts : tuple of Attempt
    provenance : dict
    """

    idata: xr.DataTree
    specs: tuple[AnalysisSpec, ...]
    joint_spec: JointSpec
    diagnostics: Diagnostics
    attempts: tuple[Attempt, ...]
    provenance: dict

    method: str = JOINT_METHOD
    """Joint probabilities of this result come from the joint model's paired draws."""

    @property
    def ok(self) -> bool:
        """True when the fit passed the diagnostics gate."""
        return self.diagnostics.ok

    @property
    def outcomes(self) -> list[str]:
        """The outcomes, in model order."""
        return [s.outcome for s in self.specs]

    @property
    def _posterior(self) -> xr.Dataset:
        return self.idata["posterior"].to_dataset()

    def draws(self, outcome: str, *, new_la: bool = False) -> np.ndarray:
        """Posterior draws of one outcome's IRR (flattened over chains, paired across outcomes).

        Parameters
        ----------
        outcome : str
        new_la : bool, default False
            The IRR in a new LA instead of the average IRR.

        Returns
        -------
        numpy.ndarray
        """
        return _flat(self._posterior, _quantity(new_la), outcome)

    def thresholds(self) -> dict[str, float]:
        """Default IRR threshold by outcome: the report's, else ``1 - mcid`` of its spec."""
        fixed = self.joint_spec.report.thresholds
        return {s.outcome: fixed.get(s.outcome, 1.0 - s.decision.mcid) for s in self.specs}

    def effect(self, outcome: str, *, new_la: bool = False,
               ci_prob: float | None = None) -> RatioSummary:
        """Marginal summary of one outcome's IRR (median, interval, probabilities).

        Parameters
        ----------
        outcome : str
        new_la : bool, default False
        ci_prob : float, optional
            Interval probability; defaults to 0.95.

        Returns
        -------
        RatioSummary
        """
        mcid = next(s.decision.mcid for s in self.specs if s.outcome == outcome)
        return summarise_ratio(self.draws(outcome, new_la=new_la), mcid=mcid, ci_prob=ci_prob)

    def _marginals(self, thresholds: Mapping[str, float], new_la: bool) -> dict[str, float]:
        return {o: prob_below(self.draws(o, new_la=new_la), t) for o, t in thresholds.items()}

    def joint_probability(self, conditions: Mapping[str, float] | Sequence[str] | None = None,
                          *, new_la: bool = False) -> JointProbability:
        """P(every listed outcome's IRR is below its threshold), from the joint posterior.

        Parameters
        ----------
        conditions : mapping of str to float, or sequence of str, optional
            IRR threshold by outcome, e.g. ``{"s47": 0.9, "care_entry": 0.9}``; outcome names
            alone, or None (every outcome), use :meth:`thresholds`.
        new_la : bool, default False
            Use the effects in a new LA.

        Returns
        -------
        JointProbability
            ``method == "joint model"``.
        """
        thresholds = _resolve_conditions(conditions, self.thresholds())
        quantity = _quantity(new_la)
        draws = {o: self.draws(o, new_la=new_la) for o in thresholds}
        return JointProbability(thresholds=thresholds,
                                probability=prob_all_below(draws, thresholds),
                                marginals=self._marginals(thresholds, new_la),
                                method=JOINT_METHOD, quantity=quantity,
                                source=f"joint posterior ({self.joint_spec.name})")

    def independence_probability(self,
                                 conditions: Mapping[str, float] | Sequence[str] | None = None,
                                 *, new_la: bool = False) -> JointProbability:
        """The product of this posterior's marginal probabilities (assuming independence).

        The same marginals as :meth:`joint_probability`, so the two differ only by the
        dependence between the outcomes. See :func:`independent_joint_probability` for
        separately fitted outcomes.

        Parameters
        ----------
        conditions : mapping of str to float, or sequence of str, optional
        new_la : bool, default False

        Returns
        -------
        JointProbability
            ``method == "independence"``.
        """
        thresholds = _resolve_conditions(conditions, self.thresholds())
        marginals = self._marginals(thresholds, new_la)
        return JointProbability(thresholds=thresholds, probability=_product(marginals),
                                marginals=marginals, method=INDEPENDENCE_METHOD,
                                quantity=_quantity(new_la),
                                source=f"marginals of the joint posterior ({self.joint_spec.name})")

    def report_sets(self) -> list[tuple[str, ...]]:
        """Every pair of outcomes, then the joint spec's further sets."""
        pairs = list(itertools.combinations(self.outcomes, 2))
        return pairs + [s for s in self.joint_spec.report.sets if s not in pairs]

    def table(self, sets: Sequence[Sequence[str]] | None = None, *,
              new_la: bool = False) -> pd.DataFrame:
        """Joint probabilities of sets of outcomes, joint model next to independence.

        Parameters
        ----------
        sets : sequence of sequence of str, optional
            Outcome sets; :meth:`report_sets` when None. Each uses :meth:`thresholds`.
        new_la : bool, default False

        Returns
        -------
        pandas.DataFrame
            One row per set: ``outcomes``, ``thresholds``, ``joint_model`` (the joint
            posterior), ``assuming_independence`` (product of the same marginals) and their
            ``difference`` (joint minus independence).
        """
        rows = []
        for names in sets if sets is not None else self.report_sets():
            joint = self.joint_probability(list(names), new_la=new_la)
            product = _product(joint.marginals)
            rows.append({"outcomes": " & ".join(names),
                         "thresholds": ", ".join(f"{t:.2f}" for t in joint.thresholds.values()),
                         "joint_model": joint.probability, "assuming_independence": product,
                         "difference": joint.probability - product})
        return pd.DataFrame(rows).set_index("outcomes")

    def correlations(self, level: str = "school", ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior median and equal-tailed interval of each pair's correlation.

        Parameters
        ----------
        level : {"school", "la"}
            Correlation of the school effects, or of the LA intercepts.
        ci_prob : float, optional
            Interval probability; defaults to 0.95.

        Returns
        -------
        pandas.DataFrame
            Indexed by pair ``"a:b"``: ``median``, ``ci_low``, ``ci_high``, ``ci_prob``.
        """
        name = f"corr_{level}"
        if level not in LEVELS or name not in self._posterior:
            raise KeyError(f"no {level!r} correlation in this model; levels: "
                           f"{[lv for lv in LEVELS if f'corr_{lv}' in self._posterior]}")
        prob = validate_ci_prob(ci_prob)
        da = self._posterior[name]
        rows = {}
        for pair in da["outcome_pair"].to_numpy():
            draws = da.sel(outcome_pair=pair).to_numpy().ravel()
            lo, hi = equal_tailed_interval(draws, prob)
            rows[str(pair)] = {"median": float(np.median(draws)), "ci_low": lo, "ci_high": hi,
                               "ci_prob": prob}
        return pd.DataFrame.from_dict(rows, orient="index")

    def correlation_matrix(self, level: str = "school") -> pd.DataFrame:
        """Posterior medians of a level's correlations as an outcome x outcome matrix."""
        matrix = pd.DataFrame(np.eye(len(self.outcomes)), index=self.outcomes,
                              columns=self.outcomes)
        for pair, row in self.correlations(level).iterrows():
            a, b = str(pair).split(":")
            matrix.loc[a, b] = matrix.loc[b, a] = row["median"]
        return matrix

    def summary(self, ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior summary of the main parameters (mean, sd, interval, ESS, R-hat)."""
        import arviz as az

        names = [v for v in SUMMARY_VARS if v in self._posterior]
        return az.summary(self._posterior[names], ci_prob=validate_ci_prob(ci_prob),
                          ci_kind="eti")

    def _probabilities(self, new_la: bool) -> list[dict]:
        rows = []
        for names in self.report_sets():
            joint = self.joint_probability(list(names), new_la=new_la)
            rows.append({**joint.to_dict(), "probability_assuming_independence":
                         _product(joint.marginals)})
        return rows

    def _correlation_dict(self) -> dict:
        out = {}
        for level in LEVELS:
            if f"corr_{level}" in self._posterior:
                table = self.correlations(level)
                out[level] = {pair: {"median": r["median"], "ci95": [r["ci_low"], r["ci_high"]]}
                              for pair, r in table.iterrows()}
        return out

    def to_dict(self) -> dict:
        """JSON-ready result: method, effects, joint probabilities, correlations, diagnostics."""
        d = self.diagnostics
        return {
            "analysis": self.joint_spec.name,
            "method": self.method,
            "model": MODEL_DESCRIPTION,
            "outcomes": self.outcomes,
            "effects": {o: {**ratio_keys(self.effect(o)), "new_la": ratio_keys(
                self.effect(o, new_la=True))} for o in self.outcomes},
            "joint_probabilities": self._probabilities(new_la=False),
            "joint_probabilities_new_la": self._probabilities(new_la=True),
            "correlations": self._correlation_dict(),
            "diagnostics": {"rhat_max": d.rhat_max, "ess_bulk_min": d.ess_bulk_min,
                            "divergences": d.divergences, "ok": d.ok,
                            "reasons": list(d.reasons), "attempts": len(self.attempts)},
            "data_sha256": self.provenance["data_sha256"],
            "seed": self.joint_spec.sampler.seed,
            "sampler": self.joint_spec.sampler.backend,
            "swisbayes_version": self.provenance["versions"]["swisbayes"],
        }

    @property
    def text(self) -> str:
        """The reported joint probabilities in plain English, flagged if the fit failed."""
        lines = [self.joint_probability(list(s)).text for s in self.report_sets()]
        if not self.ok:
            lines.insert(0, "WARNING: this fit FAILED its convergence checks and its numbers "
                            "are unreliable (" + "; ".join(self.diagnostics.reasons) + ").")
        return "\n".join(lines)

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the posterior with specs, diagnostics and provenance to netCDF, atomically."""
        return save_with_gate(self.idata, path, {
            "swisbayes_joint_spec": self.joint_spec.to_json(),
            "swisbayes_specs": json.dumps([json.loads(s.to_json()) for s in self.specs]),
        }, provenance=self.provenance, attempts=self.attempts)

    @classmethod
    def from_netcdf(cls, path: str | Path) -> JointResult:
        """Load a result written by :meth:`to_netcdf`."""
        tree = xr.load_datatree(path, engine="h5netcdf")
        diagnostics, attempts, provenance = load_gate_attrs(tree)
        return cls(
            idata=tree,
            specs=tuple(AnalysisSpec.model_validate(s)
                        for s in json.loads(tree.attrs["swisbayes_specs"])),
            joint_spec=JointSpec.model_validate_json(tree.attrs["swisbayes_joint_spec"]),
            diagnostics=diagnostics, attempts=attempts, provenance=provenance)


# --------------------------------------------------------------------------------------------
# Fitting


def _resolve_joint(joint: JointSpec | str | Path | None,
                   specs: Sequence[AnalysisSpec] | None) -> JointSpec:
    if isinstance(joint, JointSpec):
        return joint
    if joint is not None:
        return load_joint_spec(joint)
    return JointSpec() if specs is not None else load_joint_spec()


def fit_joint(specs: Sequence[AnalysisSpec] | None = None,
              data: str | Path | pd.DataFrame | SchoolData | None = None, *,
              joint: JointSpec | str | Path | None = None, sampler: Sampler | None = None,
              progress: bool = False, raise_on_failure: bool = False) -> JointResult:
    """Fit the joint model of several count outcomes, with the diagnostics gate.

    Parameters
    ----------
    specs : sequence of AnalysisSpec, optional
        One spec per outcome; the joint spec's outcome specs when None.
    data : path, DataFrame or SchoolData, optional
        School-level data; the bundled synthetic SWIS dataset when None.
    joint : JointSpec, path or None
        Joint spec (LKJ shape, reported sets, sampler). None: ``models/joint.toml`` when
        ``specs`` is None, else the defaults of :class:`JointSpec`.
    sampler : Sampler, optional
        Overrides the joint spec's sampler settings.
    progress : bool, default False
    raise_on_failure : bool, default False
        Raise :class:`ConvergenceError` instead of returning a flagged result.

    Returns
    -------
    JointResult
        ``result.ok`` is False, with the reasons, if the fit failed the gate after its retry.

    Examples
    --------
    ::

        result = fit_joint()                                    # four outcomes, bundled data
        result.joint_probability({"s47": 0.9, "care_entry": 0.9}).text
        result.table()                                          # every pair, vs independence
        result.correlations("school")
    """
    joint = _resolve_joint(joint, specs)
    if sampler is not None:
        joint = joint.model_copy(update={"sampler": sampler})
    # Resolve each prior once, as fit() does, so the result records exactly the prior used.
    specs = tuple(s.with_prior(s.effect_prior) for s in (specs or joint.analyses()))
    _check_combinable(specs)
    check_report(joint, [s.outcome for s in specs])
    school_data = read_school_data(load_example() if data is None else data,
                                   outcomes=[s.outcome for s in specs],
                                   covariates=specs[0].covariates)
    build = build_joint_model(specs, school_data, lkj_eta=joint.lkj_eta)
    idata, attempts, compile_info = sample_with_gate(build, joint.sampler, progress=progress)
    provenance = {
        "versions": library_versions(), "joint_spec": joint.name,
        "specs": [s.name for s in specs], "model": MODEL_DESCRIPTION,
        "data_source": school_data.source, "data_sha256": school_data.sha256,
        "n_schools": len(school_data.frame), "n_las": len(build.coords["la"]),
        "seed": joint.sampler.seed, "sampler": joint.sampler.model_dump(),
        "target_accept_used": attempts[-1].target_accept, "compile": compile_info,
        "data_warnings": [i.describe(school_data.source) for i in school_data.report.warnings],
    }
    result = JointResult(idata=idata, specs=specs, joint_spec=joint,
                         diagnostics=attempts[-1].diagnostics, attempts=attempts,
                         provenance=provenance)
    if raise_on_failure and not result.ok:
        raise ConvergenceError(f"{joint.name}: joint fit failed its diagnostics after "
                               f"{len(attempts)} attempt(s): "
                               + "; ".join(result.diagnostics.reasons))
    return result


__all__ = [
    "INDEPENDENCE_LABEL", "INDEPENDENCE_METHOD", "JOINT_METHOD", "JointProbability", "JointReport",
    "JointResult", "JointSpec", "build_joint_model", "fit_joint", "independent_joint_probability",
    "load_joint_spec", "prob_all_below"
]
