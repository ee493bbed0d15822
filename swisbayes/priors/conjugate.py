"""Exact conjugate updates of a normal-mixture prior by a normal likelihood on the log IRR."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError
from swisbayes.priors.library import MixturePrior, normal_logpdf


def normal_likelihood(log_estimate: float, se: float) -> tuple[float, float]:
    """Check a normal likelihood on the log IRR given as (log estimate, standard error).

    Parameters
    ----------
    log_estimate : float
        Estimated log rate ratio.
    se : float
        Its standard error (positive).

    Returns
    -------
    tuple of float
        ``(log_estimate, se)`` as floats.

    Raises
    ------
    SpecError
        If either is not a finite number, or ``se`` is not positive.
    """
    y, s = float(log_estimate), float(se)
    if not np.isfinite(y):
        raise SpecError(f"the log estimate must be a finite number; got {log_estimate!r}")
    if not np.isfinite(s) or s <= 0:
        raise SpecError(f"the standard error must be a positive finite number; got {se!r}")
    return y, s


def normal_likelihood_from_ci(irr: float, ci_low: float, ci_high: float, *,
                              level: float = 0.95) -> tuple[float, float]:
    """Turn a published rate ratio and its confidence interval into a normal likelihood.

    Parameters
    ----------
    irr : float
        Published rate ratio (positive).
    ci_low, ci_high : float
        Its confidence limits (positive, ``ci_low < irr < ci_high``).
    level : float, default 0.95
        Level of the published interval (a fact about the publication, not a reporting
        choice, so it does not follow :data:`swisbayes._base.defaults.CI_PROB`).

    Returns
    -------
    tuple of float
        ``(log(irr), se)`` with ``se = (log(ci_high) - log(ci_low)) / (2 z)`` and ``z`` the
        standard normal quantile at ``(1 + level) / 2``.

    Raises
    ------
    SpecError
        If a number is not positive and finite, ``ci_low >= ci_high``, the interval does not
        contain the estimate, or ``level`` is not in (0, 1).

    Examples
    --------
    >>> y, se = normal_likelihood_from_ci(1.055, 0.955, 1.166)
    >>> round(float(np.exp(y)), 3), round(se, 4)
    (1.055, 0.0509)
    """
    values = {"irr": irr, "ci_low": ci_low, "ci_high": ci_high}
    bad = {k: v for k, v in values.items() if not (np.isfinite(float(v)) and float(v) > 0)}
    if bad:
        found = ", ".join(f"{k}={v!r}" for k, v in bad.items())
        raise SpecError(f"a rate ratio and its confidence limits must be positive finite "
                        f"numbers; got {found}")
    try:
        prob = validate_ci_prob(level)
    except ValueError as exc:
        raise SpecError(str(exc).replace("ci_prob", "level")) from None
    if ci_low >= ci_high:
        raise SpecError(f"the confidence interval's lower limit ({ci_low}) must be below its "
                        f"upper limit ({ci_high})")
    if not ci_low < irr < ci_high:
        raise SpecError(f"the estimate {irr} lies outside its confidence interval {ci_low} to "
                        f"{ci_high}; expected lower < estimate < upper")
    z = NormalDist().inv_cdf((1 + prob) / 2)
    se = (np.log(ci_high) - np.log(ci_low)) / (2 * z)
    return normal_likelihood(np.log(irr), se)


def posterior(prior: MixturePrior, log_estimate: float, se: float) -> MixturePrior:
    """Exact posterior of a normal-mixture prior on the log IRR under a normal likelihood.

    Parameters
    ----------
    prior : MixturePrior
        Prior on the log IRR (weights :math:`w_k`, means :math:`m_k`, SDs :math:`s_k`).
    log_estimate : float
        Observed log rate ratio :math:`y`.
    se : float
        Its standard error :math:`\\sigma` (positive).

    Returns
    -------
    MixturePrior
        The posterior, named ``"<prior> posterior"``, with the likelihood in ``details``.
        Components whose posterior weight underflows to zero are dropped.

    Raises
    ------
    SpecError
        If the likelihood is invalid (see :func:`normal_likelihood`).

    Notes
    -----
    Each component is updated by the normal-normal rule and re-weighted by its marginal
    likelihood:

    .. math::

        v_k = \\left(s_k^{-2} + \\sigma^{-2}\\right)^{-1}, \\quad
        \\mu_k = v_k \\left(m_k s_k^{-2} + y \\sigma^{-2}\\right), \\quad
        w_k' \\propto w_k \\, \\mathcal{N}\\!\\left(y;\\, m_k,\\, \\sqrt{s_k^2 + \\sigma^2}\\right).

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior, normal_logpdf
    >>> post = posterior(MixturePrior.normal("p", 0.0, 1.0), 1.0, 1.0)
    >>> post.name, post.means, post.sds
    ('p posterior', (0.5,), (0.7071067811865476,))
    """
    y, s = normal_likelihood(log_estimate, se)
    w, m, sd = (np.asarray(v, dtype=float) for v in (prior.weights, prior.means, prior.sds))
    var = 1.0 / (1.0 / sd**2 + 1.0 / s**2)
    mean = var * (m / sd**2 + y / s**2)
    log_w = np.log(w) + normal_logpdf(y, m, np.sqrt(sd**2 + s**2))
    weights = np.exp(log_w - np.logaddexp.reduce(log_w))
    keep = weights > 0
    weights = weights[keep] / weights[keep].sum()
    return MixturePrior(
        f"{prior.name} posterior",
        f"Posterior from the '{prior.name}' prior and a normal likelihood on log IRR "
        f"(estimate {y:.4g}, SE {s:.4g}).",
        f"exact conjugate update of: {prior.provenance}",
        tuple(float(v) for v in weights), tuple(float(v) for v in mean[keep]),
        tuple(float(v) for v in np.sqrt(var[keep])),
        {"prior": prior.name, "log_estimate": y, "se": s})


__all__ = ["normal_likelihood", "normal_likelihood_from_ci", "posterior"]
