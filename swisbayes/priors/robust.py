"""Weakening a prior: robustifying with a unit-information component, and power-prior
discounting."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from swisbayes._base.errors import SpecError
from swisbayes.data.published import published_estimate
from swisbayes.priors.conjugate import normal_likelihood_from_ci
from swisbayes.priors.library import MAX_COMPONENTS, MixturePrior
from swisbayes.priors.library import vague as vague_prior

if TYPE_CHECKING:

    pass


DEFAULT_ROBUST_WEIGHT = 0.8
"""Weight on the informative (MAP) part of a robustified prior (an assumption).

The remaining 0.2 goes on the vague component, as in RBesT's examples (``robustify(map,
weight = 0.2)``, where RBesT's weight is the one on the vague part). It lets the trial data
override the pilots when the two conflict.
"""


# The published SWIS primary result (S47, IRR 1.055, 95% CI 0.955 to 1.166; 136 SWIS and 132
# control schools; swisbayes/data/files/published.toml) defines the information that one school
# per arm carries.
_TRIAL = published_estimate("s47")


TRIAL_SCHOOLS = (_TRIAL.n_swis, _TRIAL.n_control)


TRIAL_LOG_IRR_SE = normal_likelihood_from_ci(_TRIAL.estimate, *_TRIAL.ci, level=_TRIAL.ci_level)[1]
"""SE of the trial's log IRR, from the width of its 95% CI (0.0509)."""


TRIAL_SCHOOLS_HARMONIC = 2 / (1 / TRIAL_SCHOOLS[0] + 1 / TRIAL_SCHOOLS[1])
"""Harmonic mean of the schools per arm (133.97): a 136/132 trial is worth 133.97 per arm."""


UNIT_SD = math.sqrt(TRIAL_LOG_IRR_SE**2 * TRIAL_SCHOOLS_HARMONIC / 2)
"""SD ``sigma`` of one school's contribution to the log IRR (0.417).

A SWIS-like trial with ``n`` schools per arm estimates the log IRR with variance
``sigma**2 * 2 / n``; the published trial gives ``sigma**2 = SE**2 * n_harmonic / 2``.
"""


def robustify(prior: MixturePrior, weight: float = DEFAULT_ROBUST_WEIGHT, *,
              vague: MixturePrior | None = None) -> MixturePrior:
    """Mix a prior with a vague component: ``weight * prior + (1 - weight) * vague``.

    Parameters
    ----------
    prior : MixturePrior
        The informative prior, e.g. the MAP prior.
    weight : float, default 0.8
        Weight on ``prior`` (see :data:`DEFAULT_ROBUST_WEIGHT`); 1 returns ``prior`` unchanged
        and 0 returns ``vague``.
    vague : MixturePrior, optional
        The weakly informative part; :func:`swisbayes.priors.library.vague` (Normal(0, 10)) when
        None.

    Returns
    -------
    MixturePrior
        Named ``"<prior>-robust"``; ``details["robust_weight"]`` records ``weight``.

    Raises
    ------
    SpecError
        If ``weight`` is outside [0, 1], or the result would have more than
        :data:`~swisbayes.priors.library.MAX_COMPONENTS` components.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> r = robustify(MixturePrior.normal("map", -0.2, 0.15), 0.8)
    >>> print(r)
    map-robust: NormalMixture(w=[0.8, 0.2], mu=[-0.2, 0], sigma=[0.15, 10]) on log IRR
    """
    vague = vague_prior() if vague is None else vague
    if not (isinstance(weight, int | float) and 0.0 <= weight <= 1.0):
        raise SpecError(f"robustify: weight on the informative part must be in [0, 1]; got "
                        f"{weight!r}")
    k = len(prior.weights) + len(vague.weights)
    if 0.0 < weight < 1.0 and k > MAX_COMPONENTS:
        raise SpecError(f"robustify: '{prior.name}' has {len(prior.weights)} components and "
                        f"'{vague.name}' {len(vague.weights)}; the result would have {k}, more "
                        f"than MAX_COMPONENTS = {MAX_COMPONENTS}")
    if weight == 1.0:
        return prior
    if weight == 0.0:
        return vague
    return MixturePrior(
        f"{prior.name}-robust",
        f"{prior.description} Robustified: weight {weight:g} on it and {1 - weight:g} on "
        f"{vague.name} ({vague.description})",
        f"{prior.provenance}; robustified with {vague.name} (weight {1 - weight:g}, an "
        "assumption)",
        tuple(float(weight * w) for w in prior.weights)
        + tuple(float((1 - weight) * w) for w in vague.weights),
        prior.means + vague.means, prior.sds + vague.sds,
        {**prior.details, "robust_weight": float(weight), "vague": vague.to_dict()})


def discount(prior: MixturePrior, a0: float) -> MixturePrior:
    r"""Down-weight a prior like a power prior: every component SD divided by ``sqrt(a0)``.

    Parameters
    ----------
    prior : MixturePrior
        The prior to weaken.
    a0 : float
        In (0, 1]: the fraction of the prior's information kept. 1 returns ``prior``
        unchanged; as ``a0`` goes to 0 the prior flattens.

    Returns
    -------
    MixturePrior
        Named ``"<prior>-discounted"``; ``details["a0"]`` records ``a0``.

    Raises
    ------
    SpecError
        If ``a0`` is not in (0, 1].

    Notes
    -----
    For one normal component this is exactly the power prior: :math:`N(m, s)^{a_0}` is
    proportional to :math:`N(m, s / \sqrt{a_0})`. For a mixture, each component is inflated
    and the weights are kept, which is the usual approximation (the power of a mixture is not a
    mixture); the ESS of a single normal scales by ``a0`` exactly.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> discount(MixturePrior.normal("map", -0.2, 0.1), 0.25).sds
    (0.2,)
    """
    if not (isinstance(a0, int | float) and 0.0 < a0 <= 1.0):
        raise SpecError(f"discount: a0 must be in (0, 1]; got {a0!r}")
    if a0 == 1.0:
        return prior
    return MixturePrior(
        f"{prior.name}-discounted",
        f"{prior.description} Discounted (power prior a0 = {a0:g}: SDs x {1 / math.sqrt(a0):.3g}).",
        f"{prior.provenance}; discounted with a0 = {a0:g}",
        prior.weights, prior.means, tuple(s / math.sqrt(a0) for s in prior.sds),
        {**prior.details, "a0": float(a0)})


__all__ = ["DEFAULT_ROBUST_WEIGHT", "UNIT_SD", "discount", "robustify"]
