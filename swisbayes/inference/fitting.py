"""Fitting: compile once, sample, and pass every fit through the diagnostics gate.

Compiled models are cached in the process by model structure (likelihood, hierarchy,
covariates, numbers of schools and LAs). A second fit with another prior or another dataset of
the same shape swaps data into the compiled model instead of recompiling.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.defaults import RETRY_TARGET_ACCEPT
from swisbayes._base.errors import ConvergenceError, SpecError
from swisbayes._base.provenance import library_versions
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.data.schema import outcome_schema
from swisbayes.decision.summaries import DecisionSummary, population_ratio
from swisbayes.families.common import ModelBuild
from swisbayes.families.registry import build_model, decide_spec
from swisbayes.inference import criticism
from swisbayes.inference.diagnostics import compute_diagnostics
from swisbayes.inference.results import (
    Attempt,
    SampledResult,
    load_gate_attrs,
    posterior_summary,
)
from swisbayes.inference.reweight import PriorState, PriorTargets, find_targets, reweight
from swisbayes.inference.screen import ScreenResult, power_scaling_screen
from swisbayes.priors.library import MixturePrior, library_prior
from swisbayes.spec.analysis import AnalysisSpec, Sampler
from swisbayes.spec.grid import Reweighting

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_KHAT = Reweighting().max_khat
"""Pareto k-hat below which reweighted draws are trusted (the sensitivity engine's)."""

MIN_IMPORTANCE_ESS = Reweighting().min_ess
"""Importance-sampling ESS from which reweighted draws are trusted (the engine's)."""

_COMPILED: dict[tuple, tuple[object, dict]] = {}
"""Compiled model and how it was compiled, by model structure (one per process)."""

SUMMARY_VARS = ("irr", "irr_new_la", "log_irr", "sigma_la", "sigma_la_effect",
                "inv_sqrt_dispersion", "intercept", "coef", "rate_control_per_1000",
                "rate_swis_per_1000",
                # days in care (hurdle): each part's effect and parameters
                "zero_irr", "positive_irr", "zero_log_irr", "positive_log_irr",
                "zero_sigma_la", "positive_sigma_la", "zero_sigma_la_effect",
                "positive_sigma_la_effect", "positive_inv_sqrt_dispersion", "zero_intercept",
                "positive_intercept", "zero_coef", "positive_coef",
                # attendance (beta-binomial): absence on the rate and points scales
                "odds_ratio", "inv_sqrt_concentration", "absence_rate_control",
                "absence_rate_swis", "diff_pp", "diff_pp_new_la")


DrawPath = Literal["sampled", "reweighted"]


def plot_headline(spec: AnalysisSpec, decision: DecisionSummary, posterior: xr.Dataset,
                  weights: np.ndarray | None, *, ok: bool, ax: Axes | None = None) -> Figure:
    """The headline effect of a (weighted) posterior against the decision lines.

    A ratio is drawn as its posterior density with the no-effect and MCID lines; attendance,
    decided in percentage points, as the difference in absence (trial LAs and a new LA)
    against ``mcid_pp``.

    Parameters
    ----------
    spec : AnalysisSpec
    decision : DecisionSummary
        The decision summary of the same draws and weights.
    posterior : xarray.Dataset
    weights : numpy.ndarray or None
        One normalised weight per draw (chains then draws); None for equal weights.
    ok : bool
        Whether the draws passed their gate (an unreliable one is marked).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from swisbayes.plots.decision import (
        DifferenceRow,
        plot_difference_forest,
        plot_ratio_posteriors,
    )

    label = outcome_schema(spec.outcome).label
    if decision.headline == "diff_pp":
        rows = [DifferenceRow(label, name, s.median, s.ci[0], s.ci[1], ok)
                for name, s in (("trial LAs", decision.difference),
                                ("a new LA", decision.new_la_difference))]
        return plot_difference_forest(rows, mcid=decision.mcid_pp, ax=ax)
    draws = population_ratio(posterior)  # the effect the decision reads
    quantity = "rate ratio" if decision.ratio_label == "IRR" else decision.ratio_label
    return plot_ratio_posteriors({spec.priors.effect.name: (draws, weights)},
                                 mcid=spec.decision.mcid, label=label[:1].lower() + label[1:],
                                 quantity=quantity, ax=ax)


@dataclass(frozen=True)
class PriorAnalysis:
    """A fit read under another prior: the draws that answer it and what they say.

    Parameters
    ----------
    spec : AnalysisSpec
        The analysis with this prior, resolved to its mixture.
    prior : MixturePrior
    fit : FitResult
        The fit whose draws are used: this prior's own, or the first fit's when reweighted.
    path : {"sampled", "reweighted"}
    weights : numpy.ndarray or None
        Normalised importance weights of the fit's draws (chains then draws); None when sampled.
    pareto_khat, importance_ess : float or None
        Pareto k-hat and importance-sampling ESS of the weights (None when sampled directly).
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

    def decide(self, mcid: float | None = None, *, mcid_pp: float | None = None,
               ci_prob: float | None = None) -> DecisionSummary:
        """The decision quantities under this prior for another meaningful effect (same draws
        and weights; see :meth:`FitResult.decide`)."""
        spec = self.spec.with_mcid(mcid, mcid_pp=mcid_pp)
        return decide_spec(self.posterior, spec, ci_prob=ci_prob, weights=self.weights)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """The headline effect under this prior (weighted draws when reweighted); see
        :meth:`FitResult.plot`."""
        return plot_headline(self.spec, self.decision, self.posterior, self.weights,
                             ok=self.reliable, ax=ax)

    @property
    def text(self) -> str:
        """Plain-English summary, saying how the prior was answered."""
        how = (f"reweighted draws (Pareto k-hat {self.pareto_khat:.2f}, importance ESS "
               f"{self.importance_ess:.0f})" if self.path == "reweighted" else "its own fit")
        return f"{self.fit.text if self.path == 'sampled' else self.decision.text} From {how}."


@dataclass(frozen=True, kw_only=True)
class FitResult(SampledResult):
    """A fitted analysis: posterior, diagnostics, decision quantities and provenance.

    Parameters
    ----------
    idata : xarray.DataTree
        Posterior, sample stats, constant and observed data.
    spec : AnalysisSpec
        The spec that was fitted (with any command-line overrides applied).
    decision : DecisionSummary
        Posterior probabilities and events averted.
    diagnostics : Diagnostics
        Diagnostics of the reported (last) attempt.
    attempts : tuple of Attempt
        Every sampling run, in order.
    provenance : dict
        Versions, spec, data source and hash, seed, sampler settings.
    data : SchoolData, optional
        The data it was fitted to (kept for :meth:`under`, which may refit).
    resolve : callable, optional
        Turns a prior's name into its mixture for :meth:`under`; the library's closed-form
        priors by default (:class:`~swisbayes.workflows.analysis.Analysis` passes the prior
        resolver, which also knows the pilot-informed prior).
    """

    spec: AnalysisSpec
    decision: DecisionSummary
    data: SchoolData | None = field(default=None, repr=False, compare=False)
    resolve: Callable[[str], MixturePrior] = field(default=library_prior, repr=False,
                                                   compare=False)

    def summary(self, ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior summary of the main parameters (mean, sd, interval, ESS, R-hat).

        Parameters
        ----------
        ci_prob : float, optional
            Interval probability; defaults to 0.95 (equal-tailed).

        Returns
        -------
        pandas.DataFrame
            One row per parameter element, unrounded; it prints every estimate to at least
            three decimals (:class:`~swisbayes.inference.results.SummaryTable`).
        """
        posterior = self.idata["posterior"].to_dataset()
        names = [v for v in SUMMARY_VARS if v in posterior]
        return posterior_summary(posterior, names, ci_prob=ci_prob)

    def decide(self, mcid: float | None = None, *, mcid_pp: float | None = None,
               ci_prob: float | None = None) -> DecisionSummary:
        """The decision quantities from the same draws, for another meaningful effect.

        Parameters
        ----------
        mcid : float, optional
            Meaningful relative reduction (0.15 = 15%); the spec's when None.
        mcid_pp : float, optional
            Attendance only: meaningful fall in absence, in percentage points.
        ci_prob : float, optional
            Interval probability; defaults to 0.95.

        Returns
        -------
        DecisionSummary
        """
        spec = self.spec.with_mcid(mcid, mcid_pp=mcid_pp)
        return decide_spec(self.posterior, spec, ci_prob=ci_prob)

    @functools.cached_property
    def _prior_targets(self) -> PriorTargets:
        # Where the effect prior enters this fit's model: found once, shared by every prior
        # :meth:`under` is asked about (it builds probe models).
        return find_targets(self.spec, self.data, [])

    def under(self, prior: MixturePrior | str, *, max_khat: float = MAX_KHAT,
              min_ess: float = MIN_IMPORTANCE_ESS) -> PriorAnalysis:
        """What this fit says under another prior on the effect.

        The draws are reweighted by Pareto-smoothed importance sampling when that is reliable
        (k-hat below ``max_khat`` and an importance ESS of at least ``min_ess``, and this fit
        passed its own gate); otherwise the analysis is refitted with the new prior, reusing
        the compiled model. The result says which (``path``).

        Parameters
        ----------
        prior : MixturePrior or str
            A prior, or a name the fit's resolver knows (``"sceptical"``, ...).
        max_khat, min_ess : float
            The reweighting gate (the sensitivity engine's defaults).

        Returns
        -------
        PriorAnalysis

        Raises
        ------
        SpecError
            For a prior name the resolver does not know.
        """
        new = self.resolve(prior) if isinstance(prior, str) else prior
        spec = self.spec.with_prior(new)
        if self.data is not None and self.ok:
            rw = reweight(self.posterior, self._prior_targets, PriorState.of(spec, new),
                          PriorState.of(self.spec, self.spec.effect_prior))
            if rw is not None and rw.acceptable(max_khat, min_ess):
                decision = decide_spec(self.posterior, spec, weights=rw.weights)
                return PriorAnalysis(spec, new, self, "reweighted", rw.weights,
                                     rw.pareto_khat, rw.ess, decision)
        else:
            rw = None
        if self.data is None:
            raise SpecError(f"{self.spec.name}: this result was loaded without its data, and "
                            "its draws cannot be reweighted; refit it with the new prior")
        own = fit(spec, self.data, resolve=self.resolve)
        return PriorAnalysis(spec, new, own, "sampled", None,
                             None if rw is None else rw.pareto_khat,
                             None if rw is None else rw.ess, own.decision)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """The headline effect in its own unit, against the decision lines.

        A ratio (counts, days in care) is drawn as its posterior density with the no-effect and
        MCID lines; attendance, decided in percentage points, as the difference in absence
        (trial LAs and a new LA) against ``mcid_pp``.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return plot_headline(self.spec, self.decision, self.posterior, None, ok=self.ok, ax=ax)

    def screen(self) -> ScreenResult:
        """The power-scaling screen of prior and likelihood sensitivity of this fit.

        Returns
        -------
        ScreenResult
        """
        return power_scaling_screen(self, self.data)

    @functools.cached_property
    def _check_draws(self) -> xr.DataTree:
        # Replicated data and pointwise log-likelihood from one run over the draws, made once
        # for both ppc() and loo() (their seed is the fit's).
        return criticism.predictive_draws(self)

    def ppc(self) -> criticism.PpcResult:
        """Posterior predictive checks of this fit, on its schools' rates.

        The mean and variance of the school rates in each arm, the share of schools with none,
        the highest school rate and the SD of LA rates, each with its posterior predictive
        p-value, flagged below 0.01 or above 0.99
        (:func:`~swisbayes.inference.criticism.posterior_predictive_check`).

        Returns
        -------
        PpcResult
            ``.text``, ``.to_dict()``, ``.flagged`` and ``.plot()``.

        Raises
        ------
        ValueError
            For a fit loaded without its data (from netCDF): pass them to
            :func:`~swisbayes.inference.criticism.posterior_predictive_check` instead.
        """
        return criticism.posterior_predictive_check(self, draws=self._check_draws)

    def loo(self) -> criticism.LooResult:
        """PSIS-LOO of this fit, one term per school, with Pareto k-hats and LOO-PIT values
        (:func:`~swisbayes.inference.criticism.loo`).

        Returns
        -------
        LooResult
            ``.elpd_loo``, ``.se``, ``.p_loo``, ``.pareto_k``, ``.loo_pit``, ``.text`` and
            ``.plot()`` (LOO-PIT).

        Raises
        ------
        ValueError
            For a fit loaded without its data (from netCDF): pass them to
            :func:`~swisbayes.inference.criticism.loo` instead.
        """
        return criticism.loo(self, draws=self._check_draws)

    def to_dict(self) -> dict:
        """JSON-ready result: the decision keys, the diagnostics, and the provenance essentials."""
        return {
            **self.decision.to_dict(),
            "diagnostics": {
                "rhat_max": self.diagnostics.rhat_max,
                "ess_bulk_min": self.diagnostics.ess_bulk_min,
                "ess_tail_min": self.diagnostics.ess_tail_min,
                "divergences": self.diagnostics.divergences,
                "bfmi_min": self.diagnostics.bfmi_min,
                "treedepth_share": self.diagnostics.treedepth_share,
                "ok": self.diagnostics.ok,
                "reasons": list(self.diagnostics.reasons),
                "attempts": len(self.attempts),
            },
            "analysis": self.spec.name,
            "overrides": dict(self.spec.overrides),
            "file_sha256": self.provenance["file_sha256"],
            "content_sha256": self.provenance["content_sha256"],
            "seed": self.spec.sampler.seed,
            "sampler": self.spec.sampler.backend,
            "swisbayes_version": self.provenance["versions"]["swisbayes"],
        }

    @property
    def text(self) -> str:
        """Plain-English summary, with a loud warning when the fit failed the gate."""
        return f"{self.warning} {self.decision.text}".lstrip()

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the posterior with provenance attributes to netCDF, atomically.

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        pathlib.Path
        """
        return self._save(path, {"swisbayes_spec": self.spec.to_json()})

    @classmethod
    def from_netcdf(cls, path: str | Path) -> FitResult:
        """Load a result written by :meth:`to_netcdf`.

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        FitResult
            Decision quantities are recomputed from the stored posterior; the spec (with the
            exact prior used), diagnostics, attempts and provenance come from its attributes.
        """
        tree = xr.load_datatree(path, engine="h5netcdf")
        spec = AnalysisSpec.model_validate_json(tree.attrs["swisbayes_spec"])
        diagnostics, attempts, provenance = load_gate_attrs(tree)
        decision = decide_spec(tree["posterior"].to_dataset(), spec)
        return cls(idata=tree, spec=spec, decision=decision, diagnostics=diagnostics,
                   attempts=attempts, provenance=provenance)


def _compiled_nutpie(build: ModelBuild):
    """This build's compiled model (compiled once per structure) and how it was obtained."""
    from swisbayes.inference.compile_cache import compile_model

    if build.structure_key in _COMPILED:
        compiled, info = _COMPILED[build.structure_key]
        return compiled.with_data(**build.data_values), {**info, "reused_in_process": True}
    start = time.perf_counter()
    compiled, info = compile_model(build.model, initial_points=build.initial_values())
    info = {**info, "seconds": time.perf_counter() - start}
    _COMPILED[build.structure_key] = (compiled, info)
    return compiled.with_data(**build.data_values), info


def _relabel(idata: xr.DataTree, coords: dict[str, list[str]]) -> xr.DataTree:
    """Put this dataset's labels on dims of a compiled model first built for another dataset."""
    for group in ("posterior", "sample_stats"):
        ds = idata[group].to_dataset()
        present = {d: v for d, v in coords.items() if d in ds.dims}
        if present:
            idata[group] = xr.DataTree(ds.assign_coords(present))
    return idata


def _import_readers() -> None:
    """Import what reading a sampler's draws needs, while its chains run.

    The chains run in nutpie's own threads and the calling thread only waits, so in a fresh
    process the modules that convert the draws (ArviZ's converter, and the duck-array modules
    xarray loads on first use, such as Dask when it is installed) load meanwhile instead of
    after the last draw: about 0.2 s of every fresh-process fit.
    """
    import arviz_base  # noqa: F401  (nutpie's converter to a DataTree)

    xr.DataArray(np.zeros(1))


def _sample(build: ModelBuild, sampler: Sampler, target_accept: float,
            progress: bool) -> tuple[xr.DataTree, float, dict]:
    import pymc as pm

    start = time.perf_counter()
    if sampler.backend == "nutpie":
        from pymc.backends.arviz import patch_nutpie_idata

        from swisbayes.inference.compile_cache import import_nutpie

        nutpie = import_nutpie()
        compiled, compile_info = _compiled_nutpie(build)
        running = nutpie.sample(compiled, draws=sampler.draws, tune=sampler.tune,
                                chains=sampler.chains, cores=sampler.cores, seed=sampler.seed,
                                target_accept=target_accept, save_warmup=False,
                                progress_bar=progress, blocking=False)
        try:
            _import_readers()
            idata = running.wait()
        except BaseException:
            running.cancel()
            raise
        seconds = time.perf_counter() - start
        patch_nutpie_idata(idata, build.model, sampling_time=seconds)
        idata = _relabel(idata, build.coords)
    else:
        from swisbayes.inference.compile_cache import deterministic_numba

        with build.model, deterministic_numba():
            idata = pm.sample(draws=sampler.draws, tune=sampler.tune, chains=sampler.chains,
                              cores=sampler.cores, random_seed=sampler.seed,
                              initvals=build.initial_values(),
                              nuts_sampler="pymc", target_accept=target_accept,
                              progressbar=progress, compute_convergence_checks=False,
                              quiet=not progress,
                              # fork() after nutpie's threads have run can deadlock
                              mp_ctx="forkserver")
        seconds = time.perf_counter() - start
        compile_info = {"path": "pymc"}
    return idata, seconds, compile_info


def sample_with_gate(build: ModelBuild, sampler: Sampler, *, progress: bool = False,
                     ) -> tuple[xr.DataTree, tuple[Attempt, ...], dict]:
    """Sample a built model and apply the diagnostics gate, retrying once if it fails.

    Parameters
    ----------
    build : ModelBuild
        The model (compiled once per structure and process with the nutpie backend).
    sampler : Sampler
        Settings; a fit that fails the gate is re-run at target acceptance 0.95.
    progress : bool, default False
        Show the sampler's progress bar.

    Returns
    -------
    idata : xarray.DataTree
        Draws of the last attempt.
    attempts : tuple of Attempt
        Every sampling run, in order; the last one's diagnostics are those reported.
    compile_info : dict
        How the compiled model was obtained (cache hit, seconds).
    """
    attempts: list[Attempt] = []
    target_accepts = [sampler.target_accept]
    if sampler.target_accept < RETRY_TARGET_ACCEPT:
        target_accepts.append(RETRY_TARGET_ACCEPT)
    for target_accept in target_accepts:
        idata, seconds, compile_info = _sample(build, sampler, target_accept, progress)
        diagnostics = compute_diagnostics(idata)
        attempts.append(Attempt(target_accept, sampler.seed, seconds, diagnostics))
        if diagnostics.ok:
            break
    return idata, tuple(attempts), compile_info


def fit(spec: AnalysisSpec, data: str | Path | pd.DataFrame | SchoolData, *,
        progress: bool = False, raise_on_failure: bool = False,
        resolve: Callable[[str], MixturePrior] = library_prior) -> FitResult:
    """Fit an analysis spec whose effect prior is resolved, with the diagnostics gate.

    This is the sampler's entry point; :func:`swisbayes.fit` and
    :class:`swisbayes.Analysis` resolve the prior first (the pilot-informed prior is a
    meta-analysis) and call it.

    Parameters
    ----------
    spec : AnalysisSpec
        What to fit (outcome, model, prior, sampler settings and seed). Its effect prior must
        be closed-form or already resolved to a mixture.
    data : path, DataFrame or SchoolData
        School- or pupil-level data (``swisbayes.load_example()`` for the bundled synthetic
        SWIS data).
    progress : bool, default False
        Show the sampler's progress bar.
    raise_on_failure : bool, default False
        Raise :class:`ConvergenceError` instead of returning a flagged result.
    resolve : callable, optional
        Prior names to mixtures, kept for :meth:`FitResult.under`.

    Returns
    -------
    FitResult
        ``result.ok`` is False, and ``result.diagnostics.reasons`` says why, when the fit failed
        the gate (R-hat > 1.01, bulk or tail ESS < 400, any divergence, a chain's E-BFMI < 0.3
        or more than 1% of transitions at the maximum tree depth) even after one retry with
        target acceptance 0.95.

    Raises
    ------
    DataError
        If there are no data, or they fail validation (every problem is listed).
    SpecError
        If the spec's prior is the unresolved pilot-informed prior.
    ConvergenceError
        If ``raise_on_failure`` and the fit failed the gate.
    """
    data = require_data(data, spec.name)
    # Keep the mixture itself in the result's spec, so that a saved fit records exactly the
    # prior used and reloads without resolving anything.
    spec = spec.with_prior(spec.effect_prior)
    school_data = read_school_data(data, outcomes=[spec.outcome], covariates=spec.covariates)
    build = build_model(spec, school_data)
    idata, attempts, compile_info = sample_with_gate(build, spec.sampler, progress=progress)
    diagnostics = attempts[-1].diagnostics
    provenance = {
        "versions": library_versions(),
        "spec_name": spec.name,
        "overrides": dict(spec.overrides),
        "prior": spec.effect_prior.to_dict(),
        "data_source": school_data.source,
        "file_sha256": school_data.file_sha256,
        "content_sha256": school_data.content_sha256,
        "n_schools": len(school_data.frame),
        "n_las": len(build.coords["la"]),
        "seed": spec.sampler.seed,
        "sampler": spec.sampler.model_dump(),
        "target_accept_used": attempts[-1].target_accept,
        "compile": compile_info,
        "data_warnings": [i.describe(school_data.source) for i in school_data.report.warnings],
    }
    decision = decide_spec(idata["posterior"].to_dataset(), spec)
    result = FitResult(idata=idata, spec=spec, decision=decision, diagnostics=diagnostics,
                       attempts=attempts, provenance=provenance, data=school_data,
                       resolve=resolve)
    if raise_on_failure and not result.ok:
        raise ConvergenceError(f"{spec.name}: fit failed its diagnostics after "
                               f"{len(attempts)} attempt(s): " + "; ".join(diagnostics.reasons))
    return result


__all__ = ["FitResult", "PriorAnalysis", "fit", "sample_with_gate"]
