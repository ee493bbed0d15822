"""The report's analyses: every outcome under the standard priors, sampling as little as possible.

Each outcome is sampled once, under the vague prior. Every other prior is first answered from
those draws by Pareto-smoothed importance reweighting (the thresholds of the sensitivity engine:
k-hat < 0.7 and an importance ESS of at least 400); only a prior whose weights fail them is
sampled, with the same compiled model (priors are data). Each result keeps its draws, its
weights and the diagnostics that make it trustworthy or not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.evidence.resolver import named_prior
from swisbayes.inference.fitting import PriorAnalysis, fit
from swisbayes.priors.library import PILOT_PRIOR, MixturePrior
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.spec.grid import Reweighting

STANDARD_PRIORS = ("vague", "sceptical", "enthusiastic", PILOT_PRIOR)
"""The priors every report shows, in order: the data alone, doubt, optimism, the pilots."""

REPORT_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml",
                "days_in_care.toml", "attendance.toml")
"""The analyses of a report (file names in the spec directory), the primary outcome first."""

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
            resolved[name] = named_prior(spec, name)
        except SpecError as exc:
            unavailable[name] = str(exc)
    if not resolved:
        raise SpecError(f"{spec.name}: none of the priors {list(priors)} could be formed: "
                        + "; ".join(unavailable.values()))
    names = list(resolved)
    first = names[0]
    step(f"{spec.name}: sampling ({first} prior)")
    base = fit(spec.with_prior(resolved[first]), data,
               resolve=functools.partial(named_prior, spec))
    results = {first: PriorAnalysis(base.spec, resolved[first], base, "sampled", None, None,
                                    None, base.decision)}
    for name in names[1:]:
        step(f"{spec.name}: {name} prior")
        results[name] = base.under(resolved[name], max_khat=settings.max_khat,
                                   min_ess=settings.min_ess)
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
    return read_school_data(require_data(data, "the report"),
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

    "analyse_outcome",
    "load_report_data",
    "report_specs",
    "run_analyses"
]
