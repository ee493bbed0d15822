"""The report's analyses: every outcome under the standard priors, sampling as little as possible.

Each outcome is sampled once, under the vague prior. Every other prior is first answered from
those draws by Pareto-smoothed importance reweighting (the thresholds of the sensitivity engine:
k-hat < 0.7 and an importance ESS of at least 400); only a prior whose weights fail them is
sampled, with the same compiled model (priors are data). Each result keeps its draws, its
weights and the diagnostics that make it trustworthy or not.

The outcomes are independent, so :func:`run_analyses` runs them as cells of the batch engine
(:func:`~swisbayes.workflows.engine.run_batch`): one per outcome, on this process or on a pool
of worker processes, each outcome's result the same whichever runs it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from swisbayes._base.errors import DataError, SpecError, SwisbayesError
from swisbayes.data.io import SchoolData, read_school_data, read_table, require_data
from swisbayes.data.schema import outcome_phrase, outcome_schema
from swisbayes.evidence.resolver import named_prior
from swisbayes.inference.criticism import LooResult, PpcResult
from swisbayes.inference.fitting import FitResult, PriorAnalysis, fit
from swisbayes.priors.library import PILOT_PRIOR, MixturePrior
from swisbayes.spec.analysis import FAMILIES, AnalysisSpec, analysis_spec_files, load_spec
from swisbayes.spec.grid import Reweighting
from swisbayes.workflows.engine import Batch, Task, cell_hash, run_batch
from swisbayes.workflows.store import ROW_FORMAT

STANDARD_PRIORS = ("vague", "sceptical", "enthusiastic", PILOT_PRIOR)
"""The priors every report shows, in order: the data alone, doubt, optimism, the pilots."""

REPORT_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml",
                "days_in_care.toml", "attendance.toml")
"""The analyses of a report (file names in the spec directory), the primary outcome first."""

@dataclass(frozen=True)
class ModelCheck:
    """The posterior predictive checks and PSIS-LOO of one fit, or why they could not be made.

    Parameters
    ----------
    ppc : PpcResult or None
    loo : LooResult or None
    error : str or None
        Why the checks could not be made (they are then both None).
    """

    ppc: PpcResult | None
    loo: LooResult | None
    error: str | None = None


def check_model(fit: FitResult) -> ModelCheck:
    """Check a fit against its data: posterior predictive checks and PSIS-LOO with LOO-PIT,
    from one set of replicated data and pointwise log-likelihood.

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    ModelCheck
        With the reason instead of the checks when they could not be made (a report still
        shows its numbers, and says that the model was not checked).
    """
    try:
        return ModelCheck(fit.ppc(), fit.loo())  # one set of predictive draws, cached by the fit
    except (SwisbayesError, ValueError) as exc:  # reported on the page, not fatal
        return ModelCheck(None, None, f"{type(exc).__name__}: {exc}")


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
    check : ModelCheck, optional
        Whether the model of the sampled fit fits the data (:func:`check_model`).
    """

    spec: AnalysisSpec
    results: dict[str, PriorAnalysis]
    unavailable: dict[str, str] = field(default_factory=dict)
    check: ModelCheck | None = None

    @property
    def outcome(self) -> str:
        """The outcome's name (``s47``, ``referrals``, ...)."""
        return self.spec.outcome


Step = Callable[[str], None]


def analyse_outcome(spec: AnalysisSpec, data: SchoolData,
                    priors: Sequence[str] = STANDARD_PRIORS, *,
                    reweighting: Reweighting | None = None,
                    step: Step | None = None) -> OutcomeAnalysis:
    """Fit one outcome under the vague prior, answer the other priors from its draws, and
    check the model against the data (:func:`check_model`).

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
    step(f"{spec.name}: checking the model")
    return OutcomeAnalysis(spec, {n: results[n] for n in names}, unavailable, check_model(base))


def report_specs(spec_dir: str | Path, primary: str | None = None) -> list[AnalysisSpec]:
    """The report's analyses from a spec directory, the primary one first.

    A directory with ``s47_primary.toml`` (the shipped specs, or a copy) gives the SWIS
    analyses of :data:`REPORT_SPECS` it has; any other gives every analysis spec in it (its TOML
    files with an ``outcome``), by file name.

    Parameters
    ----------
    spec_dir : path
    primary : str, optional
        The analysis the verdict is about: a spec's ``name``, file name (without ``.toml``) or
        ``outcome``. By default ``s47_primary`` in a SWIS directory, else the first spec whose
        file name ends in ``_primary``, else the first by file name.

    Returns
    -------
    list of AnalysisSpec

    Raises
    ------
    SpecError
        If the directory has no analysis spec, or none matches ``primary`` (the message lists
        them).
    """
    directory = Path(spec_dir)
    if (directory / REPORT_SPECS[0]).is_file():
        files = [directory / f for f in REPORT_SPECS if (directory / f).is_file()]
    else:
        files = analysis_spec_files(directory)
        files.sort(key=lambda p: not p.stem.endswith("_primary"))  # stable: else by name
    specs = [load_spec(f) for f in files]
    if primary is None:
        return specs
    chosen = [i for i, (f, s) in enumerate(zip(files, specs, strict=True))
              if primary in (s.name, f.stem, s.outcome)]
    if not chosen:
        raise SpecError(f"--primary {primary}: no analysis in {directory} is named so or is of "
                        f"that outcome; the analyses are "
                        f"{', '.join(f'{s.name} ({s.outcome})' for s in specs)}")
    first = specs.pop(chosen[0])
    return [first, *specs]


def load_report_data(data: str | Path | pd.DataFrame | SchoolData,
                     specs: Sequence[AnalysisSpec]) -> SchoolData:
    """Read and validate the data once for every analysis."""
    covariates = sorted({c for s in specs for c in s.covariates})
    return read_school_data(require_data(data, "the report"),
                            outcomes=[s.outcome for s in specs], covariates=covariates)


@dataclass(frozen=True)
class ReportPlan:
    """The report's analyses adapted to the data: what is fitted, what is left out and why.

    Parameters
    ----------
    specs : list of AnalysisSpec
        The analyses whose outcome the data have, with covariates the data lack dropped.
    notes : list of str
        One sentence per outcome left out and per covariate dropped, for the top of the page
        and the provenance.
    """

    specs: list[AnalysisSpec]
    notes: list[str]


def plan_report(specs: Sequence[AnalysisSpec], columns: Sequence[str], *,
                covariates: Sequence[str] | None = None,
                family: str | None = None) -> ReportPlan:
    """Adapt the report's analyses to the columns of the data.

    An analysis whose outcome's columns are not all in the data is left out, and named; a
    covariate the data lack is dropped from that analysis, and named, unless ``covariates``
    is given (an explicit choice is kept, and the data are then checked against it).
    ``family`` replaces the likelihood of every analysis it can model.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        The primary analysis first.
    columns : sequence of str
        The data's columns.
    covariates : sequence of str, optional
        Covariates for every analysis instead of each spec's (empty for none).
    family : str, optional
        A likelihood family (e.g. ``"poisson"``) for the analyses whose outcome it fits.

    Returns
    -------
    ReportPlan

    Raises
    ------
    DataError
        If the primary analysis's outcome is not in the data (the verdict is about it).
    SpecError
        If ``family`` fits none of the analyses.
    """
    present = set(columns)
    kept, notes = [], []
    for spec in specs:
        schema = outcome_schema(spec.outcome)
        missing = [c for c in schema.columns if c not in present]
        if missing:
            if spec is specs[0]:
                raise DataError(f"the report's verdict is about {outcome_phrase(spec.outcome)} "
                                f"({spec.name}), but the data have no column "
                                f"{', '.join(repr(c) for c in missing)}; expected the columns "
                                f"{', '.join(repr(c) for c in schema.columns)}, or choose "
                                "another primary analysis (--primary)")
            notes.append(f"{schema.label} ({spec.name}) is left out: the data have no column "
                         f"{', '.join(repr(c) for c in missing)}.")
            continue
        if covariates is not None:
            spec = spec.with_covariates(covariates)
        else:
            absent = [c for c in spec.covariates if c not in present]
            if absent:
                spec = spec.with_covariates([c for c in spec.covariates if c not in absent])
                notes.append(f"{schema.label} ({spec.name}) is not adjusted for "
                             f"{', '.join(absent)}: the data have no such column.")
        kept.append(spec)
    if family is not None:
        fits = [s for s in kept if family in FAMILIES[outcome_schema(s.outcome).kind]]
        if not fits:
            raise SpecError(f"--family {family} fits none of the report's outcomes")
        kept = [s.with_family(family) if s in fits else s for s in kept]
        notes += [f"{outcome_schema(s.outcome).label} ({s.name}) keeps its {s.family} model: "
                  f"{family} does not fit it." for s in kept if s not in fits]
    return ReportPlan(kept, notes)


def data_columns(data: str | Path | pd.DataFrame | SchoolData) -> list[str]:
    """The columns of the data as given (a file's header, read without typing it)."""
    if isinstance(data, SchoolData):
        return list(data.frame.columns)
    if isinstance(data, pd.DataFrame):
        return list(data.columns)
    return list(read_table(data).columns)


def data_metadata(data: str | Path | pd.DataFrame | SchoolData) -> dict:
    """What the data say of themselves: a DataFrame's ``attrs["swisbayes"]``, or the JSON
    sidecar beside a file: ``FILE.json`` (as ``swisbayes simulate`` writes it), else the file's
    name with ``.json`` for its suffix (as the bundled files have it); empty when none."""
    if isinstance(data, pd.DataFrame):
        return dict(data.attrs.get("swisbayes", {}))
    if isinstance(data, SchoolData):
        return {}
    path = Path(data)
    found = [p for p in (Path(f"{path}.json"), path.with_suffix(".json"))
             if p != path and p.is_file()]
    if not found:
        return {}
    sidecar = found[0]
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{sidecar}: not readable as the data's JSON sidecar ({exc})") from None
    return meta if isinstance(meta, dict) else {}


def run_analyses(specs: Sequence[AnalysisSpec], data: SchoolData,
                 priors: Sequence[str] = STANDARD_PRIORS, *,
                 reweighting: Reweighting | None = None, workers: int = 1,
                 scheduler: object | None = None, step: Step | None = None,
                 progress: bool = False) -> list[OutcomeAnalysis]:
    """:func:`analyse_outcome` for each analysis, as cells of the batch engine.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
    data : SchoolData
    priors : sequence of str, default :data:`STANDARD_PRIORS`
    reweighting : Reweighting, optional
    workers : int, default 1
        Local processes; the outcomes are independent, so up to one each.
    scheduler : str or distributed.Client, optional
        A Dask scheduler instead (needs the ``dask`` extra).
    step : callable, optional
        Called before each piece of work when the analyses run in this process
        (``workers=1``, no scheduler); a progress bar of outcomes otherwise.
    progress : bool, default False
        Show the progress bar of outcomes (when they run elsewhere).

    Returns
    -------
    list of OutcomeAnalysis
        In the order of ``specs``, whichever executor ran them.

    Raises
    ------
    SwisbayesError
        If an outcome could not be analysed (every outcome's error is named).
    """
    here = workers == 1 and scheduler is None
    cells = [_outcome_cell(s, data, priors) for s in specs]
    plan = OutcomePlan([Task(cells[i], analyse_outcome_cell,
                             (specs[i], data, tuple(priors), reweighting, step if here else None))
                        for i in _distinct_models_first(specs)])
    batch = run_batch(plan, None, workers=workers, scheduler=scheduler,
                      progress=progress and not here)
    if batch.errors:
        names = {t.name: t.args[0].name for t in plan.tasks}
        raise SwisbayesError("the report's analyses failed: " + "; ".join(
            f"{names[cell]}: {message}" for cell, message in batch.errors.items()))
    return [plan.analyses[cell] for cell in cells]


def _distinct_models_first(specs: Sequence[AnalysisSpec]) -> list[int]:
    """Positions of ``specs``, the first analysis of each model shape (family and number of
    covariates) before the others.

    Analyses of one shape mostly share one compiled model (the compile cache keys on the graph, not
    the outcome's values). On an empty cache, parallel workers then compile different models at
    once, and the later analyses of a shape load its compiled model, instead of two workers
    compiling the same one side by side.
    """
    seen: set[tuple[str, int]] = set()
    first, later = [], []
    for i, spec in enumerate(specs):
        shape = (spec.family, len(spec.covariates))
        (later if shape in seen else first).append(i)
        seen.add(shape)
    return first + later


def _outcome_cell(spec: AnalysisSpec, data: SchoolData, priors: Sequence[str]) -> str:
    """An outcome's cell: its spec, the data and the priors asked for."""
    return cell_hash("outcome", {"spec": spec.to_json(), "data": data.content_sha256,
                                 "priors": list(priors)})


def analyse_outcome_cell(spec: AnalysisSpec, data: SchoolData, priors: tuple[str, ...],
                         reweighting: Reweighting | None, step: Step | None) -> dict:
    """One outcome's cell: its analysis, and the JSON row the engine stores."""
    analysis = analyse_outcome(spec, data, priors, reweighting=reweighting, step=step)
    results = {name: {"path": pa.path, "pareto_khat": _number(pa.pareto_khat),
                      "importance_ess": _number(pa.importance_ess), "reliable": pa.reliable,
                      **pa.decision.to_dict()}
               for name, pa in analysis.results.items()}
    check = analysis.check
    checked = ({"error": check.error} if check.ppc is None else
               {"ppc": check.ppc.to_dict(), "loo": check.loo.to_dict()})
    return {"analysis": analysis, "ok": all(r["reliable"] for r in results.values()),
            "row": {"outcome": spec.outcome, "analysis": spec.name, "priors": results,
                    "unavailable": analysis.unavailable, "check": checked}}


def _number(x: float | None) -> float | None:
    """A JSON-ready number (None stays None)."""
    return None if x is None else float(x)


@dataclass
class OutcomePlan:
    """The report's analyses as a batch: one independent cell per outcome.

    The engine stores each cell's JSON row; the analyses themselves (draws and all) are kept
    here, in memory, for the report.

    Parameters
    ----------
    tasks : list of Task
        One per outcome, in the order they are started.
    """

    tasks: list[Task]
    analyses: dict[str, OutcomeAnalysis] = field(default_factory=dict)
    kind: str = "report"

    def cells(self) -> list[str]:
        """One cell per outcome."""
        return [t.name for t in self.tasks]

    def start(self, batch: Batch) -> list[Task]:
        """Every outcome (the draws are not stored, so nothing is resumed)."""
        return list(self.tasks)

    def done(self, batch: Batch, task: Task, payload: dict) -> list[Task]:
        """Keep the analysis; write its row."""
        self.analyses[task.name] = payload["analysis"]
        batch.emit({**payload["row"], "cell": task.name, "format": ROW_FORMAT,
                    "path": self.kind}, ok=payload["ok"])
        return []

    def failed(self, batch: Batch, task: Task) -> list[Task]:
        """Nothing waits on another outcome."""
        return []

    def finish(self, batch: Batch) -> dict:
        """Nothing more to write."""
        return {}


__all__ = [
    "REPORT_SPECS",
    "STANDARD_PRIORS",
    "ModelCheck",
    "OutcomeAnalysis",
    "OutcomePlan",
    "ReportPlan",
    "analyse_outcome",
    "analyse_outcome_cell",
    "check_model",
    "data_columns",
    "data_metadata",
    "load_report_data",
    "plan_report",
    "report_specs",
    "run_analyses"
]
