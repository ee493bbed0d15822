"""Summary-level Bayesian re-analysis of a published rate ratio (no trial data needed).

A published incidence rate ratio (IRR) with its confidence interval becomes a normal likelihood on
the log IRR. Every prior in :mod:`swisbayes.priors.library` is a mixture of normals on the log IRR,
so the posterior is again a normal mixture, computed exactly (no sampling), and the decision
quantities come from its CDF and quantiles. Ratios below 1 mean fewer events with SWIS.

The published figures live in ``swisbayes/data/files/published.toml``; only the primary outcome
(S47 enquiries) has a published estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError
from swisbayes.data.published import published_estimate
from swisbayes.data.schema import OUTCOMES, outcome_schema
from swisbayes.decision.draws import rope_bounds
from swisbayes.decision.summaries import RatioSummary, ratio_keys
from swisbayes.evidence.resolver import get_prior
from swisbayes.priors.conjugate import normal_likelihood_from_ci, posterior
from swisbayes.priors.library import MixturePrior, PilotSettings

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def summarise_mixture(mixture: MixturePrior, *, mcid: float,
                      ci_prob: float | None = None) -> RatioSummary:
    """Summarise a normal mixture on the log IRR exactly, on the IRR scale.

    Parameters
    ----------
    mixture : MixturePrior
        Distribution of the log IRR (typically a posterior from :func:`posterior`).
    mcid : float
        Minimal important reduction as a fraction (0.10 = 10% fewer events).
    ci_prob : float, optional
        Probability of the equal-tailed interval; defaults to 0.95.

    Returns
    -------
    RatioSummary
        Median and interval from the mixture's quantiles; probabilities from its CDF
        (``prob_rope`` as the CDF at ``1 / (1 - mcid)`` minus the CDF at ``1 - mcid``).

    Raises
    ------
    SpecError
        If ``mcid`` is not strictly between 0 and 1.
    """
    prob = validate_ci_prob(ci_prob)
    lower, upper = rope_bounds(mcid)
    below_one = mixture.prob_irr_below(1.0)
    return RatioSummary(
        median=float(np.exp(mixture.quantile(0.5))),
        ci=(float(np.exp(mixture.quantile((1 - prob) / 2))),
            float(np.exp(mixture.quantile((1 + prob) / 2)))),
        ci_prob=prob,
        prob_any_reduction=below_one,
        prob_meaningful_reduction=mixture.prob_irr_below(1.0 - mcid),
        prob_harm=1.0 - below_one,
        prob_rope=mixture.prob_irr_below(upper) - mixture.prob_irr_below(lower),
    )


USER_SOURCE = "user-supplied"
"""``ReanalysisResult.source`` when the estimate and CI were passed in by the user."""


@dataclass(frozen=True)
class ReanalysisResult:
    """A summary-level re-analysis of one outcome under one prior.

    Parameters
    ----------
    outcome : str
    prior : MixturePrior
        Prior on the log IRR.
    posterior : MixturePrior
        Exact posterior on the log IRR.
    likelihood : tuple of float
        ``(log estimate, SE)`` of the normal likelihood.
    estimate : float
        Rate ratio the likelihood came from.
    ci : tuple of float
        Its confidence interval.
    ci_level : float
        Level of that confidence interval (0.95 for a 95% CI).
    source : str
        URL of the published figures, or ``"user-supplied"``.
    mcid : float
        Minimal important reduction (fraction).
    effect : RatioSummary
        Posterior summary of the IRR.
    """

    outcome: str
    prior: MixturePrior
    posterior: MixturePrior
    likelihood: tuple[float, float]
    estimate: float
    ci: tuple[float, float]
    ci_level: float
    source: str
    mcid: float
    effect: RatioSummary

    def to_dict(self) -> dict:
        """JSON-ready summary with the keys of ``swisbayes fit --json`` plus the inputs."""
        return {
            "outcome": self.outcome,
            "prior": self.prior.name,
            "mcid": self.mcid,
            **ratio_keys(self.effect),
            "source": self.source,
            "estimate": self.estimate,
            "ci": list(self.ci),
            "posterior": self.posterior.to_dict(),
        }

    @property
    def text(self) -> str:
        """One plain-English sentence for a decision-maker."""
        e = self.effect
        change = "fewer" if e.median < 1 else "more"
        where = "published" if self.source != USER_SOURCE else "supplied"
        return (
            f"Combining the {where} estimate (IRR {self.estimate:.3f}, {self.ci_level:.0%} CI "
            f"{self.ci[0]:.3f} to {self.ci[1]:.3f}) with the '{self.prior.name}' prior, SWIS "
            f"schools are estimated to have {abs(1 - e.median):.1%} {change} "
            f"{outcome_schema(self.outcome).label.lower()} (IRR {e.median:.3f}, "
            f"{e.ci_prob:.0%} credible interval {e.ci[0]:.3f} to {e.ci[1]:.3f}), with a "
            f"{e.prob_meaningful_reduction:.0%} probability of a reduction of at least "
            f"{self.mcid:.0%}, {e.prob_any_reduction:.0%} of any reduction and "
            f"{e.prob_harm:.0%} of harm (more events).")


def reanalyse(*, estimate: float | None = None, ci: tuple[float, float] | None = None,
              prior: MixturePrior | str = "vague", outcome: str = "s47", mcid: float = 0.10,
              ci_prob: float | None = None) -> ReanalysisResult:
    """Re-analyse a published (or supplied) rate ratio under a prior, exactly.

    Parameters
    ----------
    estimate : float, optional
        Rate ratio to re-analyse; the published estimate of ``outcome`` when None.
    ci : tuple of float, optional
        Its 95% confidence interval ``(low, high)``; required with ``estimate`` and vice versa.
    prior : MixturePrior or str, default "vague"
        Prior on the log IRR, or a name accepted by :func:`swisbayes.evidence.resolver.get_prior`.
    outcome : str, default "s47"
        Outcome the figures refer to (one of :data:`swisbayes.data.schema.OUTCOMES`).
    mcid : float, default 0.10
        Minimal important reduction as a fraction, strictly between 0 and 1.
    ci_prob : float, optional
        Probability of the reported credible interval; defaults to 0.95.

    Returns
    -------
    ReanalysisResult

    Raises
    ------
    SpecError
        For an unknown outcome or prior (the message lists the valid names), an outcome with no
        published estimate when none is supplied, ``estimate`` without ``ci`` (or the reverse),
        an invalid estimate or interval, or ``mcid`` or ``ci_prob`` out of range.

    See Also
    --------
    posterior : the exact update behind the result.

    Examples
    --------
    >>> r = reanalyse(prior="vague")
    >>> round(r.effect.median, 3), [round(v, 3) for v in r.effect.ci]
    (1.055, [0.955, 1.166])
    """
    try:
        prob = validate_ci_prob(ci_prob)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if not 0.0 < mcid < 1.0:
        raise SpecError(f"mcid must be a fraction strictly between 0 and 1 (0.10 = a 10% "
                        f"reduction); got {mcid!r}")
    if outcome not in OUTCOMES:
        raise SpecError(f"unknown outcome {outcome!r}; known outcomes: {', '.join(OUTCOMES)}")
    if (estimate is None) != (ci is None):
        given, missing = ("estimate", "ci") if ci is None else ("ci", "estimate")
        raise SpecError(f"{given} was given without {missing}; pass both to re-analyse your own "
                        "figures, or neither to use the published ones")
    if estimate is None:
        entry = published_estimate(outcome)
        irr, (low, high), level, source = entry.estimate, entry.ci, entry.ci_level, entry.source
    else:
        if len(ci) != 2:
            raise SpecError(f"ci must be a pair (low, high); got {ci!r}")
        irr, (low, high), level, source = estimate, ci, 0.95, USER_SOURCE
    likelihood = normal_likelihood_from_ci(irr, low, high, level=level)
    prior_obj = (get_prior(prior, pilots=PilotSettings(outcome=outcome))
                 if isinstance(prior, str) else prior)
    post = posterior(prior_obj, *likelihood)
    return ReanalysisResult(
        outcome=outcome, prior=prior_obj, posterior=post, likelihood=likelihood,
        estimate=float(irr), ci=(float(low), float(high)), ci_level=level, source=source,
        mcid=float(mcid),
        effect=summarise_mixture(post, mcid=mcid, ci_prob=prob))


def format_table(results: Sequence[ReanalysisResult]) -> str:
    """Readable table of re-analyses of one estimate, one row per prior.

    Parameters
    ----------
    results : sequence of ReanalysisResult
        Re-analyses of the same outcome and estimate under different priors.

    Returns
    -------
    str
        A header naming the estimate and its source, then median, interval and probabilities.
    """
    if not results:
        return "no re-analyses"
    first = results[0]
    e = first.effect
    width = max(len("prior"), *(len(r.prior.name) for r in results)) + 2
    pct = f"P(cut>={first.mcid:.0%})"
    interval = f"{e.ci_prob:.0%} interval"
    header = (f"{'prior':{width}}{'median':>8}  {interval:>15}  {'P(any cut)':>10}  "
              f"{pct:>13}  {'P(harm)':>8}")
    rows = [f"{r.prior.name:{width}}{r.effect.median:8.3f}  "
            f"{r.effect.ci[0]:7.3f}-{r.effect.ci[1]:<7.3f}  {r.effect.prob_any_reduction:10.1%}  "
            f"{r.effect.prob_meaningful_reduction:13.1%}  {r.effect.prob_harm:8.1%}"
            for r in results]
    y, se = first.likelihood
    return "\n".join([
        f"{first.outcome}: {outcome_schema(first.outcome).label}",
        f"estimate: IRR {first.estimate:.3f} ({first.ci_level:.0%} CI {first.ci[0]:.3f} to "
        f"{first.ci[1]:.3f}); "
        f"source: {first.source}",
        f"likelihood: normal on log IRR, estimate {y:.4f}, SE {se:.4f}; posterior exact "
        "(conjugate normal-mixture update)",
        "",
        header,
        *rows,
    ])


__all__ = ["ReanalysisResult", "format_table", "reanalyse", "summarise_mixture"]
