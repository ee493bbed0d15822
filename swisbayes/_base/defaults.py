"""Package-wide defaults, kept in one place so a report never mixes conventions."""

from __future__ import annotations

CI_PROB = 0.95
"""Probability mass of every reported credible interval (equal-tailed)."""

RHAT_MAX = 1.01
"""Largest acceptable rank-normalised split R-hat over all parameters."""

ESS_BULK_MIN = 400
"""Smallest acceptable bulk effective sample size over all parameters."""

ESS_TAIL_MIN = 400
"""Smallest acceptable tail effective sample size (of the 5% and 95% quantiles) over all
parameters: the intervals and tail probabilities the decisions rest on need it."""

BFMI_MIN = 0.3
"""Smallest acceptable E-BFMI of any chain (energy Bayesian fraction of missing information;
below 0.3 momentum resampling explores the energy levels poorly: Betancourt 2016, and the
threshold of ``arviz_stats.diagnose``)."""

MAX_TREEDEPTH_SHARE = 0.01
"""Largest acceptable share of post-warm-up transitions that hit the sampler's maximum tree
depth. Saturation makes a chain slow rather than wrong (each transition is still valid), and
the ESS and R-hat checks catch the slowness on the reported quantities; a share above 1% says
the geometry is bad enough (scales or correlations the adaptation did not absorb) to distrust
those estimates. ``arviz_stats.diagnose`` flags any saturated transition; the gate does not,
because a raised target acceptance (its retry) shortens the step and deepens the trees."""

MAX_DIVERGENCES = 0
"""Divergent transitions tolerated after warm-up."""

RETRY_TARGET_ACCEPT = 0.95
"""Target acceptance used for the single retry of a fit that fails the gate."""

SMALL_COUNT_SUPPRESS = 5
"""School-level counts from 1 to this value are never printed (DfE children-in-need practice)."""

PLAUSIBLE_EVENTS_PER_PUPIL = 1.0
"""A follow-up count above this many events per pupil (more events than pupils) is flagged."""

DEFAULT_INTERVENTION = "SWIS"
"""The intervention as sentences name it when the caller does not say (the SWIS trial's)."""


def validate_ci_prob(ci_prob: float | None) -> float:
    """Return ``ci_prob``, or :data:`CI_PROB` when it is None, after a range check.

    Parameters
    ----------
    ci_prob : float or None
        Requested interval probability.

    Returns
    -------
    float
        A probability strictly between 0 and 1.

    Raises
    ------
    ValueError
        If ``ci_prob`` is not in (0, 1).
    """
    prob = CI_PROB if ci_prob is None else float(ci_prob)
    if not 0.0 < prob < 1.0:
        raise ValueError(f"ci_prob must be strictly between 0 and 1; got {ci_prob!r}")
    return prob
