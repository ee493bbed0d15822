r"""The investment verdict, and the prior at which it would flip (the tipping point).

A :class:`DecisionRule` turns two posterior probabilities into one of three verdicts
(:data:`VERDICTS`): the probability of a meaningful reduction, P(IRR < 1 - MCID), and, when the
economics are known, the probability that the net monetary benefit (NMB) is positive.
:func:`decide_verdict` returns the verdict as a :class:`Verdict` whose ``text`` gives the
numbers that produced it, in plain English; :func:`overall_verdict` is the verdict the priors
agree on, or "depends on the prior".

The tipping point asks how different a prior would have to be for the verdict to change. It is
computed on the exact summary-level posterior: a normal likelihood on the log IRR (a published
estimate via :func:`swisbayes.priors.conjugate.normal_likelihood_from_ci`, or the normal
approximation of a fitted posterior via :func:`likelihood_from_draws`) updated by a normal-mixture
prior with :func:`swisbayes.priors.conjugate.posterior`. A :class:`PriorFamily` is a line of priors
along one named parameter:

:class:`NormalCentreFamily`
    Normal priors of fixed SD (by default the sceptical prior's), indexed by their centre as an
    IRR: how large an effect one would have to believe in beforehand.
:class:`NormalSDFamily`
    Normal priors of fixed centre, indexed by their SD: how firmly one would have to believe it.
:class:`RobustWeightFamily`
    ``w * informative + (1 - w) * vague`` (e.g. the pilots' MAP prior), indexed by ``w``: how
    much weight one would have to put on the informative evidence.

:func:`tipping_point` finds the parameter value at which P(meaningful reduction) equals one of
the rule's thresholds (Brent's method on a bracket found by scanning the family's range), and
:func:`tipping_points` the flips relevant to a current verdict. Ratios below 1 mean fewer events
with SWIS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

from swisbayes._base.defaults import DEFAULT_INTERVENTION
from swisbayes._base.errors import SpecError
from swisbayes._base.text import capitalise, format_probability, format_threshold
from swisbayes.priors.conjugate import normal_likelihood, posterior
from swisbayes.priors.library import MixturePrior

VERDICTS = ("invest", "more evidence", "stop")
"""The possible verdicts, from the most to the least favourable to SWIS."""

VERDICT_RANK = {"stop": 0, "more evidence": 1, "invest": 2}
"""Verdicts in the order P(meaningful reduction) reaches them as it rises."""

DEPENDS_ON_PRIOR = "depends on the prior"
"""What :func:`overall_verdict` returns when the priors give different verdicts."""

SCAN_POINTS = 101
"""Points of the grid scanned for a change of sign before Brent's method refines the root."""


# ------------------------------------------------------------------------------- formatting


# ---------------------------------------------------------------------------- validation


def check_probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) <= 1:
        raise SpecError(f"{name} must be a probability between 0 and 1; got {value!r}")
    return float(value)


def check_mcid(mcid: float) -> float:
    if isinstance(mcid, bool) or not isinstance(mcid, Real) or not 0 < float(mcid) < 1:
        raise SpecError(f"mcid must be a fraction strictly between 0 and 1 (0.10 = a 10% "
                        f"reduction); got {mcid!r}")
    return float(mcid)


def check_likelihood(likelihood: tuple[float, float]) -> tuple[float, float]:
    try:
        log_estimate, se = likelihood
    except (TypeError, ValueError):
        raise SpecError(f"likelihood must be a pair (log estimate, SE) on the log IRR; got "
                        f"{likelihood!r}") from None
    return normal_likelihood(log_estimate, se)


# ------------------------------------------------------------------------------ the rule


@dataclass(frozen=True)
class DecisionRule:
    """Verdict from P(meaningful reduction), P(NMB > 0) and whether more evidence is worth its cost.

    In one sentence (:meth:`describe`): **invest** if P(IRR < 1 - MCID) >= ``invest`` and
    P(NMB > 0) >= ``invest_nmb``; otherwise **stop** if P(IRR < 1 - MCID) < ``stop`` or no
    further trial considered is expected to be worth its cost; otherwise gather **more
    evidence**. The three are exclusive and exhaustive by construction, and "more evidence" is
    never the verdict when more evidence could not change the decision. A condition whose input
    is not given (no economics, no value of information) is not applied.

    Parameters
    ----------
    invest : float, default 0.80
        Smallest P(meaningful reduction) for "invest".
    stop : float, default 0.10
        "stop" when P(meaningful reduction) is below this.
    invest_nmb : float, default 0.5
        Smallest P(NMB > 0) for "invest" (ignored when P(NMB > 0) is not given).

    Raises
    ------
    SpecError
        (a ``ValueError``) unless ``0 <= stop < invest <= 1`` and ``0 <= invest_nmb <= 1``.

    Examples
    --------
    >>> rule = DecisionRule()
    >>> rule.verdict(0.85), rule.verdict(0.85, 0.3), rule.verdict(0.05)
    ('invest', 'more evidence', 'stop')
    >>> rule.verdict(0.5, 0.0, worth_more_evidence=False)  # no trial could pay: stop
    'stop'
    """

    invest: float = 0.80
    stop: float = 0.10
    invest_nmb: float = 0.5

    def __post_init__(self) -> None:
        for name in ("invest", "stop", "invest_nmb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value):
                raise SpecError(f"decision rule: {name} must be a number; got {value!r}")
        if not 0 <= self.stop < self.invest <= 1:
            raise SpecError(f"decision rule: need 0 <= stop < invest <= 1; got "
                            f"stop={self.stop}, invest={self.invest}")
        if not 0 <= self.invest_nmb <= 1:
            raise SpecError(f"decision rule: need 0 <= invest_nmb <= 1; got "
                            f"invest_nmb={self.invest_nmb}")

    def verdict(self, prob_meaningful: float, prob_nmb_positive: float | None = None, *,
                worth_more_evidence: bool | None = None) -> str:
        """The verdict for one posterior probability of a meaningful reduction.

        Parameters
        ----------
        prob_meaningful : float
            P(IRR < 1 - MCID).
        prob_nmb_positive : float, optional
            P(NMB > 0); when None the value-for-money condition is not applied.
        worth_more_evidence : bool, optional
            Whether some further trial considered is expected to be worth more than it costs
            (:attr:`~swisbayes.economics.voi.FurtherTrialValue.worth_a_trial`); when None
            the condition is not applied.

        Returns
        -------
        str
            One of :data:`VERDICTS`.

        Raises
        ------
        SpecError
            If a probability is not a number between 0 and 1.
        """
        p = check_probability("prob_meaningful", prob_meaningful)
        nmb = (None if prob_nmb_positive is None
               else check_probability("prob_nmb_positive", prob_nmb_positive))
        if p >= self.invest and (nmb is None or nmb >= self.invest_nmb):
            return "invest"
        if p < self.stop or worth_more_evidence is False:
            return "stop"
        return "more evidence"

    def describe(self, mcid: float | None = None, *, economics: bool = True) -> str:
        """The rule in one plain-English sentence, with its numbers.

        Parameters
        ----------
        mcid : float, optional
            Meaningful reduction (fraction) to name; "a meaningful reduction" when None.
        economics : bool, default True
            Whether value for money and the value of further trials are assessed; without
            them the rule reads the probability of a meaningful reduction alone.

        Returns
        -------
        str

        Examples
        --------
        >>> print(DecisionRule().describe(0.10))
        Invest if the probability of a reduction of at least 10% is at least 80% and the \
probability that the net monetary benefit is positive is at least 50%; otherwise stop if the \
probability of a reduction of at least 10% is below 10% or no further trial considered is \
expected to be worth its cost; otherwise gather more evidence.
        """
        what = ("a meaningful reduction" if mcid is None
                else f"a reduction of at least {format_threshold(check_mcid(mcid))}")
        if not economics:
            return (f"Invest if the probability of {what} is at least "
                    f"{format_threshold(self.invest)}; otherwise stop if it is below "
                    f"{format_threshold(self.stop)}; otherwise gather more evidence (value for "
                    "money not assessed).")
        return (f"Invest if the probability of {what} is at least {format_threshold(self.invest)} "
                f"and the probability that the net monetary benefit is positive is at least "
                f"{format_threshold(self.invest_nmb)}; otherwise stop if the probability of "
                f"{what} is below {format_threshold(self.stop)} or no further trial considered "
                "is expected to be worth its cost; otherwise gather more evidence.")

    def to_dict(self) -> dict:
        """The thresholds, keyed as in the ``[rule]`` table of the economic inputs."""
        return {"invest_prob_meaningful": self.invest,
                "invest_prob_nmb_positive": self.invest_nmb,
                "stop_prob_meaningful": self.stop}


@dataclass(frozen=True)
class Verdict:
    """A verdict and the numbers that produced it.

    Parameters
    ----------
    verdict : str
        One of :data:`VERDICTS`; must be what ``rule`` gives for the probabilities.
    prob_meaningful : float
        P(IRR < 1 - MCID).
    prob_nmb_positive : float or None
        P(NMB > 0), or None when value for money was not assessed.
    rule : DecisionRule
    mcid : float
        Meaningful reduction (fraction).
    outcome_label : str
        The outcome as it reads in a sentence, e.g. ``"S47 enquiries"``
        (:func:`~swisbayes.data.schema.outcome_phrase`).
    worth_more_evidence : bool or None
        Whether a further trial considered is expected to be worth its cost; None when the
        value of information was not assessed.
    evidence_text : str or None
        What more evidence is worth, in words (the value-of-information sentence).
    prob_meaningful_mcse, prob_nmb_positive_mcse : float or None
        Monte Carlo standard errors of the two probabilities (None when not known).
    intervention : str, default "SWIS"
        What is being decided on, as it reads in a sentence.

    Raises
    ------
    SpecError
        If ``verdict`` is not the rule's verdict for the probabilities.
    """

    verdict: str
    prob_meaningful: float
    prob_nmb_positive: float | None
    rule: DecisionRule
    mcid: float
    outcome_label: str
    worth_more_evidence: bool | None = None
    evidence_text: str | None = None
    prob_meaningful_mcse: float | None = None
    prob_nmb_positive_mcse: float | None = None
    intervention: str = DEFAULT_INTERVENTION

    def __post_init__(self) -> None:
        expected = self.rule.verdict(self.prob_meaningful, self.prob_nmb_positive,
                                     worth_more_evidence=self.worth_more_evidence)
        if self.verdict != expected:
            raise SpecError(f"verdict {self.verdict!r} does not follow from the rule: "
                            f"P(meaningful) = {self.prob_meaningful!r}, P(NMB > 0) = "
                            f"{self.prob_nmb_positive!r} and worth more evidence = "
                            f"{self.worth_more_evidence!r} give {expected!r}")

    @property
    def unsettled(self) -> tuple[str, ...]:
        """One sentence per probability within two Monte Carlo standard errors of a threshold
        the rule compares it with: the draws do not settle which side it is on."""
        rule = self.rule
        checks = [(self.prob_meaningful, self.prob_meaningful_mcse, (rule.stop, rule.invest),
                   "the probability of a meaningful reduction"),
                  (self.prob_nmb_positive, self.prob_nmb_positive_mcse, (rule.invest_nmb,),
                   "the probability of a positive net benefit")]
        return tuple(
            f"Not settled by the draws: {what} ({format_probability(p)}, Monte Carlo SE "
            f"{100 * se:.1f} points) is within two standard errors of the rule's "
            f"{format_threshold(t)}, so the verdict there could go either way with other draws; "
            "more draws would settle it."
            for p, se, thresholds, what in checks if p is not None and se is not None
            for t in thresholds if abs(p - t) < 2 * se)

    @property
    def stopped_by_value(self) -> bool:
        """True when the verdict is "stop" because no further trial is worth its cost (the
        probability of a meaningful reduction alone would not stop)."""
        return self.verdict == "stop" and self.prob_meaningful >= self.rule.stop

    @property
    def effective_not_value_for_money(self) -> bool:
        """True when P(meaningful) reaches the invest threshold but P(NMB > 0) does not."""
        return (self.prob_meaningful >= self.rule.invest and self.prob_nmb_positive is not None
                and self.prob_nmb_positive < self.rule.invest_nmb)

    @property
    def reasons(self) -> tuple[str, ...]:
        """One or two plain-English sentences giving the numbers behind the verdict."""
        rule, p, nmb = self.rule, self.prob_meaningful, self.prob_nmb_positive
        cut = (f"the probability that {self.intervention} cuts {self.outcome_label} by at least "
               f"{format_threshold(self.mcid)}")
        nmb_is = "the probability that its net monetary benefit is positive is"
        nmb_note = (() if nmb is None
                    else (f"{capitalise(nmb_is)} {format_probability(nmb, rule.invest_nmb)}.",))
        evidence = () if self.evidence_text is None else (self.evidence_text,)
        if self.stopped_by_value:
            why = (f"{capitalise(self.intervention)} is likely effective but not likely value "
                   "for money, and "
                   if self.effective_not_value_for_money else "")
            return (f"Stop: {cut} is {format_probability(p, rule.stop, rule.invest)}, but "
                    f"{why}no further trial considered is expected to be worth its cost, so "
                    "more evidence could not change the decision.", *nmb_note, *evidence)
        if self.verdict == "stop":
            return (f"Stop: {cut} is {format_probability(p, rule.stop)}, below the "
                    f"{format_threshold(rule.stop)} needed to keep considering it.", *nmb_note)
        if self.verdict == "invest":
            first = (f"Invest: {cut} is {format_probability(p, rule.invest)}, at least the "
                     f"{format_threshold(rule.invest)} required")
            if nmb is None:
                return (first + ".", "Value for money was not assessed, so the rule's net "
                                     "monetary benefit condition was not applied.")
            return (f"{first}, and {nmb_is} {format_probability(nmb, rule.invest_nmb)}, at least "
                    f"the {format_threshold(rule.invest_nmb)} required.",)
        if self.effective_not_value_for_money:
            return (f"More evidence: {cut} is {format_probability(p, rule.invest)}, at least the "
                    f"{format_threshold(rule.invest)} needed to invest, but {nmb_is} only "
                    f"{format_probability(nmb, rule.invest_nmb)}, below the "
                    f"{format_threshold(rule.invest_nmb)} required.",
                    f"{capitalise(self.intervention)} is likely effective but not likely value "
                    "for money at this cost.",
                    *evidence)
        return (f"More evidence: {cut} is "
                f"{format_probability(p, rule.stop, rule.invest)}, not "
                f"below the {format_threshold(rule.stop)} at which the rule stops, "
                f"but short of the "
                f"{format_threshold(rule.invest)} needed to invest.", *nmb_note, *evidence)

    @property
    def text(self) -> str:
        """:attr:`reasons` as one paragraph, then any probability the draws do not settle."""
        return " ".join((*self.reasons, *self.unsettled))

    def to_dict(self) -> dict:
        """JSON-ready: the verdict, its probabilities, MCID, rule and text."""
        return {"verdict": self.verdict, "prob_meaningful": self.prob_meaningful,
                "prob_nmb_positive": self.prob_nmb_positive,
                "prob_meaningful_mcse": self.prob_meaningful_mcse,
                "prob_nmb_positive_mcse": self.prob_nmb_positive_mcse,
                "worth_more_evidence": self.worth_more_evidence,
                "settled": not self.unsettled, "mcid": self.mcid,
                "rule": self.rule.to_dict(), "text": self.text}


def decide_verdict(rule: DecisionRule | None, prob_meaningful: float,
                   prob_nmb_positive: float | None = None, *, mcid: float,
                   outcome_label: str, worth_more_evidence: bool | None = None,
                   evidence_text: str | None = None, prob_meaningful_mcse: float | None = None,
                   prob_nmb_positive_mcse: float | None = None,
                   intervention: str = DEFAULT_INTERVENTION) -> Verdict:
    """Apply a decision rule and explain the result.

    Parameters
    ----------
    rule : DecisionRule or None
        The rule; the default :class:`DecisionRule` when None.
    prob_meaningful : float
        P(IRR < 1 - MCID).
    prob_nmb_positive : float, optional
        P(NMB > 0); when None the value-for-money condition is not applied.
    mcid : float
        Meaningful reduction (fraction, strictly between 0 and 1).
    outcome_label : str
        The outcome as it reads in a sentence, e.g. ``"S47 enquiries"``.
    worth_more_evidence : bool, optional
        Whether a further trial considered is expected to be worth its cost; when None the
        condition is not applied.
    evidence_text : str, optional
        The value-of-information sentence, quoted in the reasons.
    prob_meaningful_mcse, prob_nmb_positive_mcse : float, optional
        Monte Carlo standard errors of the probabilities: one within two of a threshold is
        said not to be settled by the draws (:attr:`Verdict.unsettled`).
    intervention : str, default "SWIS"
        What is being decided on, as it reads in a sentence.

    Returns
    -------
    Verdict

    Raises
    ------
    SpecError
        If a probability is outside [0, 1] or ``mcid`` outside (0, 1).

    Examples
    --------
    >>> v = decide_verdict(None, 0.0009, mcid=0.10, outcome_label="S47 enquiries")
    >>> print(v.text)
    Stop: the probability that SWIS cuts S47 enquiries by at least 10% is 0.1%, below the 10% \
needed to keep considering it.
    """
    rule = DecisionRule() if rule is None else rule
    p = check_probability("prob_meaningful", prob_meaningful)
    nmb = (None if prob_nmb_positive is None
           else check_probability("prob_nmb_positive", prob_nmb_positive))
    return Verdict(rule.verdict(p, nmb, worth_more_evidence=worth_more_evidence), p, nmb, rule,
                   check_mcid(mcid), outcome_label, worth_more_evidence, evidence_text,
                   prob_meaningful_mcse, prob_nmb_positive_mcse, intervention)


def overall_verdict(verdicts: Mapping[str, Verdict]) -> str:
    """The verdict the priors agree on, or :data:`DEPENDS_ON_PRIOR`.

    Parameters
    ----------
    verdicts : mapping of str to Verdict
        The verdict under each prior (at least one).

    Returns
    -------
    str
        One of :data:`VERDICTS` when every prior gives it, else ``"depends on the prior"``.

    Raises
    ------
    SpecError
        If ``verdicts`` is empty.

    Examples
    --------
    >>> v = {p: decide_verdict(None, x, mcid=0.1, outcome_label="S47 enquiries")
    ...      for p, x in (("vague", 0.05), ("sceptical", 0.01))}
    >>> overall_verdict(v)
    'stop'
    """
    kinds = {v.verdict for v in verdicts.values()}
    if not kinds:
        raise SpecError("overall_verdict: no verdict given")
    return kinds.pop() if len(kinds) == 1 else DEPENDS_ON_PRIOR


# ------------------------------------------------------------------------- prior families


def prob_meaningful(prior: MixturePrior, likelihood: tuple[float, float], *,
                    mcid: float) -> float:
    """P(IRR < 1 - MCID) under the exact posterior of a prior and a normal likelihood.

    Parameters
    ----------
    prior : MixturePrior
        Prior on the log IRR.
    likelihood : tuple of float
        ``(log estimate, SE)`` of a normal likelihood on the log IRR.
    mcid : float
        Meaningful reduction (fraction).

    Returns
    -------
    float
        The posterior mixture's CDF at ``log(1 - mcid)``.

    Raises
    ------
    SpecError
        If the likelihood or ``mcid`` is invalid.

    Examples
    --------
    >>> from swisbayes.priors.library import vague
    >>> round(prob_meaningful(vague(), (0.0, 0.1), mcid=0.10), 3)  # Phi(log(0.9) / 0.1)
    0.146
    """
    post = posterior(prior, *check_likelihood(likelihood))
    return float(post.cdf(math.log1p(-check_mcid(mcid))))


# --------------------------------------------------------------------------- tipping point


# ------------------------------------------------------------- likelihood from a fitted model


__all__ = [
    "DEPENDS_ON_PRIOR", "SCAN_POINTS", "VERDICTS", "DecisionRule", "Verdict",
    "decide_verdict", "overall_verdict", "prob_meaningful"
]
