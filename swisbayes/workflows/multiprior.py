"""The report's analyses: every outcome under the standard priors, sampling as little as possible.

Each outcome is sampled once, under the vague prior. Every other prior is first answered from
those draws by Pareto-smoothed importance reweighting (the thresholds of the sensitivity engine:
k-hat < 0.7 and an importance ESS of at least 400); only a prior whose weights fail them is
sampled, with the same compiled model (priors are data). Each result keeps its draws, its
weights and the diagnostics that make it trustworthy or not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, load_example, read_school_data
from swisbayes.decision.summaries import DecisionSummary
from swisbayes.evidence.resolver import effect_prior
from swisbayes.families.registry import decide_spec
from swisbayes.inference.fitting import FitResult, fit
from swisbayes.inference.reweight import PriorState, find_targets, reweight
from swisbayes.priors.library import PILOT_PRIOR, MixturePrior
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.spec.grid import Reweighting

STANDARD_PRIORS = ("vague", "sceptical", "enthusiastic", PILOT_PRIOR)
"""The priors every report shows, in order: the data alone, doubt, optimism, the pilots."""

REPORT_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml",
                "days_in_care.toml", "attendance.toml")
"""The analyses of a report (file names in the spec directory), the primary outcome first."""

DrawPath = Literal["sampled", "reweighted"]


@dataclass(frozen=True)
class PriorAnalysis:
    """One outcome under one prior: the draws that answer it and what they say.

    Parameters
    ----------
    spec : AnalysisSpec
        The analysis with this prior, resolved to its mixture.
    prior : MixturePrior
    fit : FitResult
        The fit whose draws are used: this prior's own, or the vague prior's when reweighted.
    path : {"sampled", "reweighted"}
    weights : numpy.ndarray or None
        Normalised importance weights of the fit's draws (chains then draws); None when sampled.
    pareto_khat, importance_ess : float or None
        Pareto k-hat and importance-sampling ESS of the weights (None when sampled).
    decision : DecisionSummary
        The decision quantities of the outcome's kind, from the (weighted) draws.
    """

    spec: AnalysisSpec
    prior: MixturePrior
    fit: FitResult
    path: DrawPath
    weights: np.ndarray | None
    pareto_khat: float | None
    importance_ess: float | None
    decision: DecisionSummary

    @property
    def reliable(self) -> bool:
        """Whether the numbers can be trusted: the fit passed its diagnostics gate (weights
        are only used when they pass their own thresholds)."""
        return self.fit.ok

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior draws (to be read with :attr:`weights`)."""
        return self.fit.idata["posterior"].to_dataset()

    def draws(self, name: str) -> np.ndarray:
        """Draws of a posterior variable: (draws, ...) with chains then draws, as the weights."""
        da = self.fit.idata["posterior"][name].transpose("chain", "draw", ...)
        return da.to_numpy().reshape(da.sizes["chain"] * da.sizes["draw"], *da.shape[2:])


@dataclass(frozen=True)
class OutcomeAnalysis:
    """One outcome under every prior of the report.

    Parameters
    ----------
    spec : AnalysisSpec
        The analysis as read from its file.
    results : dict of str to PriorAnalysis
        By prior name, in the report's order.
    unavailable : dict of str to str
        Priors that could not be formed for this outcome, with the reason (e.g. no pilot
        estimate of this outcome).
    """

    spec: AnalysisSpec
    results: dict[str, PriorAnalysis]
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """The outcome's name (``s47``, ``referrals``, ...)."""
        return self.spec.outcome


Step = Callable[[str], None]


def _resolve(spec: AnalysisSpec, name: str) -> MixturePrior:
    return effect_prior(spec.with_prior(name))


def analyse_outcome(spec: AnalysisSpec, data: SchoolData,
                    priors: Sequence[str] = STANDARD_PRIORS, *,
                    reweighting: Reweighting | None = None,
                    step: Step | None = None) -> OutcomeAnalysis:
    """Fit one outcome under the vague prior and answer the other priors from its draws.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
    priors : sequence of str, default :data:`STANDARD_PRIORS`
        Library prior names; the first is sampled, the rest reweighted where possible.
    reweighting : Reweighting, optional
        Thresholds for trusting importance weights; the sensitivity engine's defaults.
    step : callable, optional
        Called with a short description before each piece of work (for a progress display).

    Returns
    -------
    OutcomeAnalysis
    """
    settings = reweighting or Reweighting()
    step = step or (lambda _: None)
    resolved: dict[str, MixturePrior] = {}
    unavailable: dict[str, str] = {}
    for name in priors:
        try:
            if name == PILOT_PRIOR:
                step(f"{spec.name}: pilot meta-analysis")
            resolved[name] = _resolve(spec, name)
        except SpecError as exc:
            unavailable[name] = str(exc)
    if not resolved:
        raise SpecError(f"{spec.name}: none of the priors {list(priors)} could be formed: "
                        + "; ".join(unavailable.values()))
    names = list(resolved)
    first = names[0]
    step(f"{spec.name}: sampling ({first} prior)")
    base_spec = spec.with_prior(resolved[first])
    base = fit(base_spec, data)
    old = PriorState.of(base_spec, resolved[first])
    posterior = base.idata["posterior"].to_dataset()
    targets = find_targets(base_spec, data, []) if len(names) > 1 else None
    results = {first: PriorAnalysis(base_spec, resolved[first], base, "sampled", None, None,
                                    None, base.decision)}
    for name in names[1:]:
        prior_spec = spec.with_prior(resolved[name])
        rw = reweight(posterior, targets, PriorState.of(prior_spec, resolved[name]), old)
        if base.ok and rw is not None and rw.acceptable(settings.max_khat, settings.min_ess):
            decision = decide_spec(posterior, prior_spec, weights=rw.weights)
            results[name] = PriorAnalysis(prior_spec, resolved[name], base, "reweighted",
                                          rw.weights, rw.pareto_khat, rw.ess, decision)
            continue
        step(f"{spec.name}: sampling ({name} prior)")
        own = fit(prior_spec, data)
        results[name] = PriorAnalysis(prior_spec, resolved[name], own, "sampled", None,
                                      None if rw is None else rw.pareto_khat,
                                      None if rw is None else rw.ess, own.decision)
    return OutcomeAnalysis(spec, {n: results[n] for n in names}, unavailable)


def report_specs(spec_dir: str | Path) -> list[AnalysisSpec]:
    """The report's analyses from a spec directory (:data:`REPORT_SPECS` that exist in it).

    Parameters
    ----------
    spec_dir : path

    Returns
    -------
    list of AnalysisSpec

    Raises
    ------
    SpecError
        If the directory has no primary analysis (``s47_primary.toml``).
    """
    directory = Path(spec_dir)
    if not (directory / REPORT_SPECS[0]).is_file():
        raise SpecError(f"{directory}: no {REPORT_SPECS[0]}; the report needs the primary "
                        f"analysis (expected the files {', '.join(REPORT_SPECS)})")
    return [load_spec(directory / f) for f in REPORT_SPECS if (directory / f).is_file()]


def load_report_data(data: str | Path | pd.DataFrame | SchoolData | None,
                     specs: Sequence[AnalysisSpec]) -> SchoolData:
    """Read and validate the data once for every analysis (the bundled data when None)."""
    covariates = sorted({c for s in specs for c in s.covariates})
    return read_school_data(load_example() if data is None else data,
                            outcomes=[s.outcome for s in specs], covariates=covariates)


def run_analyses(specs: Sequence[AnalysisSpec], data: SchoolData,
                 priors: Sequence[str] = STANDARD_PRIORS, *,
                 reweighting: Reweighting | None = None,
                 step: Step | None = None) -> list[OutcomeAnalysis]:
    """:func:`analyse_outcome` for each analysis, in order.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
    data : SchoolData
    priors : sequence of str, default :data:`STANDARD_PRIORS`
    reweighting : Reweighting, optional
    step : callable, optional

    Returns
    -------
    list of OutcomeAnalysis
    """
    return [analyse_outcome(s, data, priors, reweighting=reweighting, step=step)
            for s in specs]


__all__ = [
    "REPORT_SPECS",
    "STANDARD_PRIORS",
    "OutcomeAnalysis",
    "PriorAnalysis",
    "analyse_outcome",
    "load_report_data",
    "report_specs",
    "run_analyses"
]
