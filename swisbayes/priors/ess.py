"""Prior effective sample size of a normal mixture: the ELIR (exact, by panel quadrature) and
moments."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np

from swisbayes._base.errors import SpecError
from swisbayes.priors.library import MixturePrior

if TYPE_CHECKING:

    pass
from swisbayes.priors.robust import UNIT_SD

ESS_CONVENTIONS = {"two-arm": 2.0, "single-arm": 1.0}
"""Schools (or units) per unit-information ``1 / sigma**2``, by ESS counting convention.

``"two-arm"``: schools per arm of a two-arm trial, whose log IRR has variance
``2 * sigma**2 / n``. ``"single-arm"``: units of a single-arm series with variance
``sigma**2 / n``, RBesT's convention (``ess(mix, sigma = sigma)``); half the two-arm count.
"""


def effective_sample_size(prior: MixturePrior, *, method: str = "elir",
                          unit_sd: float | None = None,
                          convention: Literal["two-arm", "single-arm"] = "two-arm") -> float:
    r"""A prior's worth in schools per arm of a two-arm SWIS-like trial (by default).

    Parameters
    ----------
    prior : MixturePrior
        Prior on the log IRR.
    method : {"elir", "moment"}, default "elir"
        ``elir``: expected local information ratio (Neuenschwander, Weber, Schmidli & O'Hagan
        2020; RBesT's default), the prior's curvature averaged over the prior itself, relative
        to one school's information. ``moment``: the information of a normal with the
        mixture's variance (RBesT ``method = "moment"``); conservative for mixtures.
    unit_sd : float, optional
        Reference scale ``sigma``: the SD of one school's contribution to the log IRR;
        :data:`UNIT_SD` (0.417, from the published trial) when None.
    convention : {"two-arm", "single-arm"}, default "two-arm"
        What one unit of ESS is. ``"two-arm"``: one school per arm of a two-arm trial, which
        has variance ``2 * sigma**2 / n`` with ``n`` schools per arm. ``"single-arm"``: one
        observation with variance ``sigma**2``, the convention of RBesT's
        ``ess(prior, sigma = unit_sd)``; exactly half the two-arm number.

    Returns
    -------
    float
        Schools per arm of a two-arm trial carrying the same information as the prior, which
        is twice RBesT's single-arm count for the same prior and reference scale; or that
        single-arm count with ``convention="single-arm"``.

    Raises
    ------
    SpecError
        If ``unit_sd`` is not a positive number, or ``method`` or ``convention`` is unknown.

    Notes
    -----
    A trial with ``n`` schools per arm estimates the log IRR with variance
    ``sigma**2 * 2 / n``. The published SWIS result (IRR 95% CI 0.955 to 1.166, 136 and 132
    schools) gives ``SE = (log 1.166 - log 0.955) / (2 * 1.96) = 0.0509`` and
    ``sigma**2 = SE**2 * n_h / 2`` with ``n_h = 133.97``, the harmonic mean of 136 and 132.
    One school per arm thus carries information ``1 / (2 sigma**2)`` on the log IRR, and a
    normal prior with SD ``s`` is worth ``2 * sigma**2 / s**2`` schools per arm under both
    methods (``sigma**2 / s**2`` single-arm, as in RBesT).

    ELIR is ``sigma**2`` (times 2 for two-arm) times :math:`E_p[i(\theta)]`, the local
    information :math:`i = -(\log p)''` averaged over the prior :math:`p` itself. Integrating
    by parts, :math:`E_p[-(\log p)''] = E_p[((\log p)')^2]`, which has a positive integrand
    (no cancellation), with :math:`(\log p)' = \sum_k \pi_k(\theta) (m_k - \theta) / s_k^2`
    for component probabilities :math:`\pi_k`. It is integrated by 16-point Gauss-Legendre
    panels whose break points sit at every component's mean plus and minus multiples of its
    SD (half an SD apart out to 6 SDs) and around every point where two weighted components
    cross, so the switch from a narrow to a wide component, where a fixed Gauss-Hermite rule
    per component went wrong by up to 8%, is resolved. Against adaptive quadrature the
    relative error is at rounding level, including weight and SD ratios of 1e4 (tested to
    1e-6). Unlike the moment method, ELIR is not swamped by the variance of a robust vague
    component that carries little weight.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> from swisbayes.priors.robust import TRIAL_LOG_IRR_SE
    >>> trial = MixturePrior.normal("trial", 0.0, TRIAL_LOG_IRR_SE)
    >>> round(effective_sample_size(trial), 2)
    133.97
    >>> round(effective_sample_size(trial, convention="single-arm"), 2)
    66.99
    """
    sigma = UNIT_SD if unit_sd is None else unit_sd
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise SpecError(f"unit_sd must be a positive number; got {unit_sd!r}")
    if convention not in ESS_CONVENTIONS:
        raise SpecError(f"unknown ESS convention {convention!r}; expected 'two-arm' or "
                        "'single-arm'")
    if method == "moment":
        information = 1.0 / prior.sd**2
    elif method == "elir":
        information = _expected_local_information(prior)
    else:
        raise SpecError(f"unknown ESS method {method!r}; expected 'elir' or 'moment'")
    return ESS_CONVENTIONS[convention] * sigma**2 * information


_SD_STEPS = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0,
                      10.0, 12.0, 15.0, 20.0, 27.0, 39.0])
"""Break points of the ELIR quadrature, in SDs either side of each component's mean.

Half-SD panels out to 6 SDs, where a component's mass and any switch to another component
matter; beyond 39 SDs a normal density underflows to zero.
"""


_CROSSING_STEPS = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
"""Break points either side of a crossing of two components, in widths of the switch."""


_LEGENDRE = np.polynomial.legendre.leggauss(16)


def _crossings(w: np.ndarray, m: np.ndarray, s: np.ndarray) -> list[float]:
    """Points where two weighted component densities are equal, and the switch's scale.

    Returns the crossing points plus and minus multiples of the width of the switch,
    ``1 / |d/dtheta log(w_j phi_j / w_k phi_k)|``, over which the component probabilities
    go from one component to the other (and the local information dips).
    """
    points: list[float] = []
    for j in range(len(w)):
        for k in range(j + 1, len(w)):
            # log w_j phi_j - log w_k phi_k = a theta^2 + b theta + c
            a = 0.5 * (1 / s[k] ** 2 - 1 / s[j] ** 2)
            b = m[j] / s[j] ** 2 - m[k] / s[k] ** 2
            c = (0.5 * (m[k] ** 2 / s[k] ** 2 - m[j] ** 2 / s[j] ** 2)
                 + math.log(w[j] * s[k] / (w[k] * s[j])))
            if abs(a) <= 1e-12 * (1 / s[j] ** 2 + 1 / s[k] ** 2):
                roots = [-c / b] if b != 0 else []
            else:
                disc = b * b - 4 * a * c
                if disc < 0:
                    continue
                q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
                roots = [q / a] + ([c / q] if q != 0 else [])
            for r in roots:
                slope = abs(2 * a * r + b)
                if math.isfinite(r) and slope > 0:
                    points.extend(r + _CROSSING_STEPS / slope)
                    points.extend(r - _CROSSING_STEPS / slope)
    return points


def _expected_local_information(prior: MixturePrior) -> float:
    r""":math:`E_p[-(\log p)''] = E_p[((\log p)')^2]` over the mixture prior ``p`` itself."""
    w, m, s = (np.asarray(v, dtype=float) for v in (prior.weights, prior.means, prior.sds))
    w = w / w.sum()
    if len(w) == 1:
        return float(1 / s[0] ** 2)
    lo, hi = float(np.min(m - _SD_STEPS[-1] * s)), float(np.max(m + _SD_STEPS[-1] * s))
    breaks = np.concatenate([(m[:, None] + s[:, None] * _SD_STEPS).ravel(),
                             (m[:, None] - s[:, None] * _SD_STEPS).ravel(),
                             _crossings(w, m, s)])
    breaks = np.unique(np.clip(breaks, lo, hi))
    mid, half = (breaks[1:] + breaks[:-1]) / 2, (breaks[1:] - breaks[:-1]) / 2
    x, gw = _LEGENDRE
    theta = (mid[:, None] + half[:, None] * x).ravel()
    dtheta = (half[:, None] * gw).ravel()
    z = (theta[:, None] - m) / s
    log_dens = np.log(w / (s * math.sqrt(2 * math.pi))) - 0.5 * z**2
    top = log_dens.max(axis=1, keepdims=True)
    dens = np.exp(log_dens - top)
    total = dens.sum(axis=1)
    score = np.sum(dens * (-z / s), axis=1) / total     # (log p)' = sum_k pi_k (log phi_k)'
    density = np.exp(top[:, 0]) * total                 # p(theta)
    return float(np.dot(dtheta, density * score**2))


__all__ = ["ESS_CONVENTIONS", "effective_sample_size"]
