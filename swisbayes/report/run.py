"""``swisbayes report`` from Python: fit, decide, write."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from swisbayes._base.defaults import SMALL_COUNT_SUPPRESS
from swisbayes._base.files import specs_dir
from swisbayes.data.io import SchoolData
from swisbayes.economics.net_benefit import economics_path, load_economics
from swisbayes.economics.value_for_money import mean_pupils
from swisbayes.report.content import PUBLISHED_TRIAL, Report, build_report, check_settings
from swisbayes.report.render import Format, write_report
from swisbayes.report.view import Subject
from swisbayes.report.whatif import whatif_payload
from swisbayes.workflows.multiprior import (
    STANDARD_PRIORS,
    OutcomeAnalysis,
    data_columns,
    data_metadata,
    load_report_data,
    plan_report,
    report_specs,
    run_analyses,
)
from swisbayes.workflows.progress import StepProgress


@dataclass(frozen=True)
class ReportRun:
    """A written report.

    Parameters
    ----------
    report : Report
        Everything it shows.
    analyses : list of OutcomeAnalysis
        The fits and reweighted draws behind it.
    files : list of pathlib.Path
        The files written, the report first.
    seconds : float
        Wall time.
    """

    report: Report
    analyses: list[OutcomeAnalysis]
    files: list[Path]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every fit behind the report passed its diagnostics."""
        return all(pa.reliable for o in self.analyses for pa in o.results.values())


def make_report(*, data: str | Path | pd.DataFrame | SchoolData,
                spec_dir: str | Path | None = None, economics: str | Path | None = None,
                out: str | Path = "out/report.html", fmt: Format = "html",
                priors: Sequence[str] = STANDARD_PRIORS, show_la_codes: bool = False,
                suppress_threshold: int = SMALL_COUNT_SUPPRESS, workers: int = 1,
                covariates: Sequence[str] | None = None, family: str | None = None,
                trial: str | None = None, primary: str | None = None,
                intervention: str | None = None, progress: bool = False) -> ReportRun:
    """Fit every outcome of ``spec_dir`` that the data have, under the standard priors, and
    write the report.

    An outcome the data lack is left out and named at the top of the page; the primary
    outcome is required.

    Parameters
    ----------
    data : path, DataFrame or SchoolData
        School- or pupil-level data; ``swisbayes.load_example()`` for the bundled synthetic
        SWIS data.
    spec_dir : path, optional
        Directory with the analysis specs (the SWIS outcomes' ``s47_primary.toml``,
        ``referrals.toml``, ..., or any other trial's specs); ``./models`` when it exists, else
        the shipped specs.
    economics : path, optional
        Economic inputs; ``SPEC_DIR/economics.toml`` when None, else the bundled file.
    out : path, default "out/report.html"
        The report file.
    fmt : {"html", "md"}, default "html"
        One self-contained HTML page, or Markdown with PNG files beside it.
    priors : sequence of str, default :data:`~swisbayes.workflows.multiprior.STANDARD_PRIORS`
    show_la_codes : bool, default False
        Name LAs by code in LA-level results (anonymised otherwise).
    suppress_threshold : int, default 5
        Largest count suppressed in the report (at least 5).
    workers : int, default 1
        Local processes fitting the outcomes (at most one per outcome is used); the report is
        the same whichever number.
    covariates : sequence of str, optional
        Covariates for every analysis instead of each spec's (empty for none). Without it, a
        covariate the data lack is dropped from that analysis, and the page says so.
    family : str, optional
        A likelihood family for every analysis it can model (e.g. ``"poisson"``).
    trial : str, optional
        The trial the data come from; the data's own declaration (``trial`` in a DataFrame's
        ``attrs["swisbayes"]`` or the file's JSON sidecar) when None. The published
        re-analysis is shown only for the trial that published it (``"SWIS"``).
    primary : str, optional
        The analysis the verdict is about (a spec's name, file name or outcome); see
        :func:`~swisbayes.workflows.multiprior.report_specs` for the default.
    intervention : str, optional
        What is being decided on, as the page names it; the data's declaration
        (``intervention``) when None, else "SWIS" for the SWIS trial's data and "the
        intervention" for any other.
    progress : bool, default False
        Show which model and prior is being fitted, or with several workers how many outcomes
        are done (on a terminal only).

    Returns
    -------
    ReportRun

    Examples
    --------
    ::

        run = make_report(out="out/report.html")
        run.report.verdict           # 'stop', 'more evidence', 'invest' or 'depends on the prior'
        run.ok                       # every fit passed its diagnostics
    """
    start = time.perf_counter()
    check_settings(priors, suppress_threshold)  # before any fit
    spec_dir = specs_dir() if spec_dir is None else Path(spec_dir)
    plan = plan_report(report_specs(spec_dir, primary), data_columns(data),
                       covariates=covariates, family=family)
    specs = plan.specs
    meta = data_metadata(data)
    subject = report_subject(specs[0].outcome, meta, trial=trial, intervention=intervention)
    candidate = spec_dir / "economics.toml"
    economics_file = economics_path(economics if economics is not None
                                    else candidate if candidate.is_file() else None)
    inputs = load_economics(economics_file)
    school_data = load_report_data(data, specs)
    workers = min(workers, len(specs))
    # one live display at a time: named steps in this process, else a bar of outcomes
    with StepProgress(enabled=progress and workers == 1) as step:
        analyses = run_analyses(specs, school_data, priors, step=step, workers=workers,
                                progress=progress and workers > 1)
        step("writing the report")
        report = build_report(analyses, school_data, inputs, economics_file=economics_file,
                              synthetic=bool(meta.get("synthetic")), subject=subject,
                              notes=plan.notes, show_la_codes=show_la_codes,
                              suppress_threshold=suppress_threshold)
        # the panel recomputes in the browser (Markdown has no script), from the value for
        # money of the primary outcome: without a value for it, the page has no panel
        if fmt == "html" and subject.primary in inputs.values:
            report = replace(report, whatif=whatif_payload(
                analyses, inputs, mean_pupils(school_data), primary=subject.primary))
        files = write_report(report, out, fmt)
    return ReportRun(report, analyses, files, time.perf_counter() - start)


def report_subject(primary: str, meta: dict, *, trial: str | None = None,
                   intervention: str | None = None) -> Subject:
    """What the report is about: the primary outcome, and the trial and intervention as given,
    else as the data declare them (``trial``, ``intervention`` in their metadata), else SWIS's
    name for the SWIS trial's data and "the intervention" for any other.

    Parameters
    ----------
    primary : str
        The primary outcome.
    meta : dict
        The data's own declarations (:func:`~swisbayes.workflows.multiprior.data_metadata`).
    trial, intervention : str, optional

    Returns
    -------
    Subject

    Examples
    --------
    >>> report_subject("s47", {"trial": "SWIS"}).intervention
    'SWIS'
    >>> report_subject("exclusions", {"trial": "Example trial"}).intervention
    'the intervention'
    >>> report_subject("exclusions", {"intervention": "the programme"}).intervention
    'the programme'
    """
    trial = trial if trial is not None else meta.get("trial")
    name = intervention if intervention is not None else meta.get("intervention")
    if name is None:
        name = "SWIS" if trial == PUBLISHED_TRIAL else "the intervention"
    return Subject(primary=primary, intervention=str(name), trial=trial)


__all__ = ["ReportRun", "make_report", "report_subject"]
