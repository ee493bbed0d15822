"""Days in care: a hierarchical hurdle model at school level.

Most of a school's days in care come from a few children with long stays, and many schools have
none at all, so the outcome is modelled in two parts that each get the trial's LA hierarchy and
their own SWIS effect:

* the zero part, whether a school has any days in care, through the chance that its rate of care
  episodes produces at least one (a complementary log-log link with a log-pupils offset, so its
  effect is a log rate ratio like the count outcomes' and takes the same effect prior);
* the positive part, the days a school has given it has any, as a zero-truncated negative
  binomial on the log-mean scale with a log-pupils offset.

The headline ratio combines them: expected days per pupil, P(any) x E[days | any], summed over
every trial school with and without SWIS. The hurdle can be drawn from (:func:`hurdle_random`):
whether a school has any days, then its days from the truncated negative binomial.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorLike, TensorVariable

from swisbayes.data.io import SchoolData
from swisbayes.data.schema import outcome_schema
from swisbayes.families import likelihoods
from swisbayes.families.common import (
    CHECK_BOUNDS,
    LinearPredictor,
    ModelBuild,
    data_dims,
    design_columns,
    graph_data_values,
    la_linear_predictor,
    school_level_values,
)
from swisbayes.spec.analysis import AnalysisSpec

STARTS = {"zero_intercept": -6.0, "positive_intercept": -1.0,
          "positive_inv_sqrt_dispersion": 1.0}
"""Starting values near the SWIS scale (1-2 care episodes and ~400 days per 1000 pupils)."""


def nb_log_prob_zero(log_mu: TensorLike, dispersion: TensorLike) -> TensorVariable:
    """Log of the negative binomial's probability of zero, ``phi * log(phi / (mu + phi))``.

    Written as ``-phi * log1p(mu / phi)`` so that it tends to the Poisson ``-mu`` without
    cancellation when ``phi`` is large.
    """
    return -dispersion * pt.softplus(log_mu - pt.log(dispersion))


def zero_truncated_nb_logp(value: TensorLike, log_mu: TensorLike, dispersion: TensorLike,
                           log_y_factorial: TensorLike) -> TensorVariable:
    """Log pmf of a negative binomial truncated at zero, for ``value >= 1``.

    .. math::

        \\log p(y \\mid y > 0) = \\log \\mathrm{NB}(y; \\mu, \\phi) - \\log(1 - p_0),
        \\qquad p_0 = (\\phi / (\\mu + \\phi))^\\phi

    with :math:`\\mu` the untruncated mean (``exp(log_mu)``); see
    :func:`swisbayes.families.likelihoods.nb_log_mean_logp`.
    """
    return (likelihoods.nb_log_mean_logp(value, log_mu, dispersion, log_y_factorial)
            - pt.log1mexp(nb_log_prob_zero(log_mu, dispersion)))


def log_prob_any(eta_zero: TensorLike) -> TensorVariable:
    """``log P(any)`` under the complementary log-log link, ``log(1 - exp(-exp(eta_zero)))``."""
    return pt.log1mexp(-pt.exp(eta_zero))


def hurdle_logp(value: TensorLike, eta_zero: TensorLike, log_mu: TensorLike,
                dispersion: TensorLike, log_y_factorial: TensorLike) -> TensorVariable:
    """Log pmf of the hurdle: zero with ``exp(-exp(eta_zero))``, else a truncated NB.

    .. math::

        \\log p(y) = \\begin{cases} -e^{\\eta_z} & y = 0 \\\\
            \\log(1 - e^{-e^{\\eta_z}}) + \\log p_{\\mathrm{ZTNB}}(y; \\mu, \\phi) & y > 0
        \\end{cases}

    Parameters
    ----------
    value : TensorLike
        Days in care (non-negative integers).
    eta_zero : TensorLike
        Log of the expected number of care episodes (zero part).
    log_mu : TensorLike
        Log of the untruncated NB mean of days (positive part).
    dispersion : TensorLike
        NB size :math:`\\phi`.
    log_y_factorial : TensorLike
        ``log(y!)``, precomputed.

    Returns
    -------
    TensorVariable
    """
    positive = log_prob_any(eta_zero) + zero_truncated_nb_logp(value, log_mu, dispersion,
                                                               log_y_factorial)
    # Both branches are finite at y = 0, so the unused one adds nothing to the gradient.
    return pt.switch(pt.gt(value, 0), positive, -pt.exp(eta_zero))


REJECTION_ROUNDS = 8
"""Rounds of redrawing zeros before :func:`zero_truncated_nb_random` inverts for the rest."""


def zero_truncated_nb_random(log_mu: np.ndarray, dispersion: np.ndarray | float,
                             rng: np.random.Generator,
                             size: tuple[int, ...] | None = None) -> np.ndarray:
    """Draws of the negative binomial truncated at zero (NumPy, and SciPy for rare leftovers).

    Zeros are rejected and redrawn for up to :data:`REJECTION_ROUNDS` rounds, which is exact and
    fast (NumPy's gamma-Poisson draws) unless a zero is likely. What is still zero after them is
    drawn by inversion of the survival function: with :math:`U` uniform on :math:`(0, 1]`, the
    smallest :math:`y` with :math:`P(Y > y) \\le U (1 - p_0)` is at least 1 and has the truncated
    distribution (conditionally on the rejections, so the mixture of the two is exact too). The
    survival side keeps its digits when :math:`p_0` is close to 1; it is SciPy's slow ``isf``,
    hence only for the leftovers.

    Parameters
    ----------
    log_mu : numpy.ndarray
        Log of the untruncated mean.
    dispersion : numpy.ndarray or float
        Size :math:`\\phi`; beyond :data:`~swisbayes.families.likelihoods.POISSON_LIMIT` the
        zero-truncated Poisson is drawn, as in the density.
    rng : numpy.random.Generator
    size : tuple of int, optional
        Shape of the draws; the broadcast shape of the parameters when None.

    Returns
    -------
    numpy.ndarray
        float64 whole numbers, at least 1.
    """
    shape = np.broadcast_shapes(np.shape(log_mu), np.shape(dispersion)) if size is None else size
    mu = np.exp(np.broadcast_to(np.asarray(log_mu, dtype=float), shape).ravel())
    phi = np.broadcast_to(np.asarray(dispersion, dtype=float), shape).ravel()
    poisson = phi > likelihoods.POISSON_LIMIT
    y = np.zeros(mu.size)
    pending = np.arange(mu.size)
    for _ in range(REJECTION_ROUNDS):
        m, f, pois = mu[pending], phi[pending], poisson[pending]
        draws = np.empty(pending.size)
        draws[pois] = rng.poisson(m[pois])
        draws[~pois] = rng.negative_binomial(f[~pois], f[~pois] / (f[~pois] + m[~pois]))
        y[pending] = draws
        pending = pending[draws == 0]
        if pending.size == 0:
            return y.reshape(shape)
    y[pending] = _zero_truncated_by_inversion(mu[pending], phi[pending], poisson[pending], rng)
    return y.reshape(shape)


def _zero_truncated_by_inversion(mu: np.ndarray, phi: np.ndarray, poisson: np.ndarray,
                                 rng: np.random.Generator) -> np.ndarray:
    from scipy import stats  # imported here: scipy.stats costs every fit 0.4 s to import

    nb = ~poisson
    log_p0 = -mu  # the Poisson limit's
    log_p0[nb] = -phi[nb] * np.log1p(mu[nb] / phi[nb])
    q = (1.0 - rng.random(mu.size)) * -np.expm1(log_p0)
    y = np.empty(mu.size)
    y[nb] = stats.nbinom.isf(q[nb], phi[nb], phi[nb] / (phi[nb] + mu[nb]))
    y[poisson] = stats.poisson.isf(q[poisson], mu[poisson])  # SciPy's is slow: only if needed
    # U = 1 sits on the boundary P(Y > 0) = 1 - p0 and would give 0 (probability 2^-53).
    return np.maximum(y, 1.0)


def hurdle_random(eta_zero: np.ndarray, log_mu: np.ndarray, dispersion: np.ndarray | float,
                  log_y_factorial: np.ndarray, *, rng: np.random.Generator,
                  size: tuple[int, ...] | None = None) -> np.ndarray:
    """Draws of days in care from the hurdle of :func:`hurdle_logp` (the model's ``random``).

    A school has any days with probability :math:`1 - e^{-e^{\\eta_z}}`; if it has, its days
    are drawn from :func:`zero_truncated_nb_random`.

    Parameters
    ----------
    eta_zero, log_mu, dispersion : numpy.ndarray
        As for :func:`hurdle_logp`, broadcast together (and to ``size``).
    log_y_factorial : numpy.ndarray
        Unused: a data term of the density, passed because the density takes it.
    rng : numpy.random.Generator
        The variable's generator (given by PyMC).
    size : tuple of int, optional
        Shape of the draws; the broadcast shape of the parameters when None.

    Returns
    -------
    numpy.ndarray
        float64 whole numbers (the dtype of the model's observed variable).
    """
    if size is None:
        size = np.broadcast_shapes(np.shape(eta_zero), np.shape(log_mu), np.shape(dispersion))
    size = tuple(int(n) for n in size)
    # P(no days) = exp(-exp(eta_zero)); compared on the log scale to keep tiny probabilities.
    zero = np.log(1.0 - rng.random(size)) < -np.exp(np.broadcast_to(eta_zero, size))
    positive = zero_truncated_nb_random(log_mu, dispersion, rng, size)
    return np.where(zero, 0.0, positive)


def expected_days(eta_zero: TensorLike, log_mu: TensorLike,
                  dispersion: TensorLike) -> TensorVariable:
    """Expected days, ``P(any) x E[days | any]`` with the truncated mean ``mu / (1 - p0)``."""
    return pt.exp(log_prob_any(eta_zero) + log_mu
                  - pt.log1mexp(nb_log_prob_zero(log_mu, dispersion)))


def hurdle_data_values(spec: AnalysisSpec, data: SchoolData) -> tuple[dict[str, np.ndarray],
                                                                       dict[str, list]]:
    """The ``pm.Data`` values and coords of the hurdle model.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData

    Returns
    -------
    values : dict of str to numpy.ndarray
        Every candidate ``pm.Data`` value; the model keeps those its graph reads
        (:func:`graph_data_values`).
    coords : dict of str to list
    """
    frame = data.frame
    columns = design_columns(spec, replace(data, cells=None))  # always school totals here
    y = frame[outcome_schema(spec.outcome).followup].to_numpy(np.int64)
    positive = spec.priors.hyper.positive
    values, coords = school_level_values(spec, frame, columns)
    values |= {"y": y, "log_y_factorial": likelihoods.log_factorial(y),
               "log_exposure": np.log(values["exposure"]),
               "positive_intercept_prior_mean": positive.intercept_mean,
               "positive_intercept_prior_sd": positive.intercept_sd,
               "positive_inv_sqrt_dispersion_prior_scale": positive.inv_sqrt_dispersion.scale}
    return {k: np.asarray(v) for k, v in values.items()}, coords


def build_hurdle_model(spec: AnalysisSpec, data: SchoolData) -> ModelBuild:
    """Build the hierarchical hurdle model of days in care.

    Parameters
    ----------
    spec : AnalysisSpec
        Outcome ``days_in_care``, family ``hurdle_negative_binomial``.
    data : SchoolData
        Validated school data with ``days_in_care`` (and its baseline when adjusted for).

    Returns
    -------
    ModelBuild

    Notes
    -----
    For school :math:`j` in LA :math:`l` with :math:`E_j` pupils, arm :math:`T_j` and
    standardised covariates :math:`x_j` (log baseline days per pupil, log pupils, %FSM):

    .. math::

        P(y_j > 0) &= 1 - \\exp(-e^{\\eta_{zj}}), \\quad
        \\eta_{zj} = \\log E_j + \\alpha_z + x_j^\\top\\gamma_z + \\sigma_{uz} z_{zl}
                     + (\\beta_z + \\sigma_{\\delta z} w_{zl}) T_j \\\\
        y_j \\mid y_j > 0 &\\sim \\mathrm{NegBin}_{>0}(\\mu_j, \\phi), \\quad
        \\log \\mu_j = \\log E_j + \\alpha_p + x_j^\\top\\gamma_p + \\sigma_{up} z_{pl}
                     + (\\beta_p + \\sigma_{\\delta p} w_{pl}) T_j

    Each part has its own intercept, coefficients, LA intercepts and LA-varying effect
    (variables prefixed ``zero_`` and ``positive_``); the spec's effect prior applies to
    :math:`\\beta_z` and :math:`\\beta_p`, the hyperprior scales to both parts, and
    ``priors.hyper.positive`` holds the positive part's intercept and dispersion priors.
    Deterministics: ``zero_irr`` :math:`= e^{\\beta_z}` (rate ratio of care episodes),
    ``positive_irr`` :math:`= e^{\\beta_p}` (ratio of days given any), ``rate_control_per_1000``
    and ``rate_swis_per_1000`` (expected days per 1000 pupils over the follow-up with every
    trial school in that arm, each at its LA's effects), their ratio ``irr``, and ``irr_new_la``
    (both parts at a new LA's effects).
    """
    values, coords = hurdle_data_values(spec, data)
    with pm.Model(coords=coords, check_bounds=CHECK_BOUNDS) as model:
        d = {name: pm.Data(name, value, dims=data_dims(name))
             for name, value in values.items()}
        covariates = "X" if "X" in d else None
        zero = la_linear_predictor(d, spec.hierarchy, prefix="zero_", offset=d["log_exposure"],
                                   covariates=covariates)
        positive = la_linear_predictor(
            d, spec.hierarchy, prefix="positive_", offset=d["log_exposure"],
            covariates=covariates,
            intercept_prior=("positive_intercept_prior_mean", "positive_intercept_prior_sd"))
        kappa = pm.HalfNormal("positive_inv_sqrt_dispersion",
                              d["positive_inv_sqrt_dispersion_prior_scale"])
        dispersion = 1.0 / kappa**2
        pm.CustomDist("y_obs", zero.eta0 + zero.effect * d["arm"],
                      positive.eta0 + positive.effect * d["arm"], dispersion,
                      d["log_y_factorial"], logp=hurdle_logp, random=hurdle_random,
                      observed=d["y"], dims="school")
        _headline(zero, positive, dispersion, d["exposure"])
    values = graph_data_values(model, values)
    key = ("hurdle", spec.family, spec.hierarchy.la_intercepts,
           spec.hierarchy.la_varying_effect, tuple(coords["covariate"]), len(coords["school"]),
           len(coords["la"]))
    return ModelBuild(model=model, data_values=values, structure_key=key, coords=coords,
                      starts=STARTS)


def _headline(zero: LinearPredictor, positive: LinearPredictor, dispersion: TensorVariable,
              exposure: TensorVariable) -> None:
    """Deterministics for decisions: expected days under each arm and the parts' effects."""
    per_1000 = 1000.0 / pt.sum(exposure)

    def total_days(zero_effect, positive_effect):
        return pt.sum(expected_days(zero.eta0 + zero_effect, positive.eta0 + positive_effect,
                                    dispersion))

    control = total_days(0.0, 0.0)
    swis = total_days(zero.effect, positive.effect)
    pm.Deterministic("rate_control_per_1000", control * per_1000)
    pm.Deterministic("rate_swis_per_1000", swis * per_1000)
    pm.Deterministic("irr", swis / control)
    pm.Deterministic("irr_new_la",
                     total_days(zero.log_irr_new, positive.log_irr_new) / control)
    pm.Deterministic("zero_irr", pt.exp(zero.log_irr))
    pm.Deterministic("positive_irr", pt.exp(positive.log_irr))


__all__ = [
    "build_hurdle_model", "expected_days", "hurdle_data_values", "hurdle_logp", "hurdle_random",
    "nb_log_prob_zero", "zero_truncated_nb_logp", "zero_truncated_nb_random"
]
