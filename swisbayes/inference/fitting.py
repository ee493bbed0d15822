"""Fitting: compile once, sample, and pass every fit through the diagnostics gate.

Compiled models are cached in the process by model structure (likelihood, hierarchy,
covariates, numbers of schools and LAs). A second fit with another prior or another dataset of
the same shape swaps data into the compiled model instead of recompiling.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from swisbayes._base.atomic import write_atomic
from swisbayes._base.defaults import RETRY_TARGET_ACCEPT, validate_ci_prob
from swisbayes._base.errors import ConvergenceError
from swisbayes._base.provenance import library_versions
from swisbayes.data.io import SchoolData, load_example, read_school_data
from swisbayes.decision.summaries import DecisionSummary
from swisbayes.families.common import ModelBuild
from swisbayes.families.registry import build_model, decide_spec
from swisbayes.inference.diagnostics import Diagnostics, compute_diagnostics
from swisbayes.spec.analysis import AnalysisSpec, Sampler

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


@dataclass(frozen=True)
class Attempt:
    """One sampling run of a fit (a fit that fails the gate is retried once)."""

    target_accept: float
    seed: int
    seconds: float
    diagnostics: Diagnostics


@dataclass(frozen=True)
class FitResult:
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
    """

    idata: xr.DataTree
    spec: AnalysisSpec
    decision: DecisionSummary
    diagnostics: Diagnostics
    attempts: tuple[Attempt, ...]
    provenance: dict

    @property
    def ok(self) -> bool:
        """True when the reported fit passed the diagnostics gate."""
        return self.diagnostics.ok

    def summary(self, ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior summary of the main parameters (mean, sd, interval, ESS, R-hat).

        Parameters
        ----------
        ci_prob : float, optional
            Interval probability; defaults to 0.95 (equal-tailed).

        Returns
        -------
        pandas.DataFrame
            One row per parameter element.
        """
        import arviz as az

        posterior = self.idata["posterior"].to_dataset()
        names = [v for v in SUMMARY_VARS if v in posterior]
        return az.summary(posterior[names], ci_prob=validate_ci_prob(ci_prob), ci_kind="eti")

    def to_dict(self) -> dict:
        """JSON-ready result: the decision keys, the diagnostics, and the provenance essentials."""
        return {
            **self.decision.to_dict(),
            "diagnostics": {
                "rhat_max": self.diagnostics.rhat_max,
                "ess_bulk_min": self.diagnostics.ess_bulk_min,
                "divergences": self.diagnostics.divergences,
                "ok": self.diagnostics.ok,
                "reasons": list(self.diagnostics.reasons),
                "attempts": len(self.attempts),
            },
            "analysis": self.spec.name,
            "data_sha256": self.provenance["data_sha256"],
            "seed": self.spec.sampler.seed,
            "sampler": self.spec.sampler.backend,
            "swisbayes_version": self.provenance["versions"]["swisbayes"],
        }

    @property
    def text(self) -> str:
        """Plain-English summary, with a loud warning when the fit failed the gate."""
        if self.ok:
            return self.decision.text
        return ("WARNING: this fit FAILED its convergence checks and its numbers are unreliable ("
                + "; ".join(self.diagnostics.reasons) + "). " + self.decision.text)

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the posterior with provenance attributes to netCDF, atomically.

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        pathlib.Path
        """
        return save_with_gate(self.idata, path, {"swisbayes_spec": self.spec.to_json()},
                              provenance=self.provenance, attempts=self.attempts)

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


def save_with_gate(idata: xr.DataTree, path: str | Path, attrs: dict[str, str], *,
                   provenance: dict, attempts: Sequence[Attempt]) -> Path:
    """Write a posterior to netCDF atomically, with its gate record and provenance as attributes.

    Parameters
    ----------
    idata : xarray.DataTree
    path : str or pathlib.Path
    attrs : dict of str to str
        Further attributes (the spec as JSON).
    provenance : dict
    attempts : sequence of Attempt
        Every sampling run; the last one's diagnostics are those reported.

    Returns
    -------
    pathlib.Path
    """
    tree = idata.copy()
    tree.attrs.update({
        **attrs,
        "swisbayes_provenance": json.dumps(provenance, sort_keys=True),
        "swisbayes_diagnostics": json.dumps(attempts[-1].diagnostics.to_dict()),
        "swisbayes_attempts": json.dumps([
            {"target_accept": a.target_accept, "seed": a.seed, "seconds": a.seconds,
             "diagnostics": a.diagnostics.to_dict()} for a in attempts]),
    })
    return write_atomic(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def load_gate_attrs(tree: xr.DataTree) -> tuple[Diagnostics, tuple[Attempt, ...], dict]:
    """Diagnostics, attempts and provenance stored by :func:`save_with_gate`."""
    attempts = tuple(Attempt(a["target_accept"], a["seed"], a["seconds"],
                             Diagnostics.from_dict(a["diagnostics"]))
                     for a in json.loads(tree.attrs["swisbayes_attempts"]))
    diagnostics = Diagnostics.from_dict(json.loads(tree.attrs["swisbayes_diagnostics"]))
    return diagnostics, attempts, json.loads(tree.attrs["swisbayes_provenance"])


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


def _sample(build: ModelBuild, sampler: Sampler, target_accept: float,
            progress: bool) -> tuple[xr.DataTree, float, dict]:
    import pymc as pm

    start = time.perf_counter()
    if sampler.backend == "nutpie":
        import nutpie
        from pymc.backends.arviz import patch_nutpie_idata

        compiled, compile_info = _compiled_nutpie(build)
        idata = nutpie.sample(compiled, draws=sampler.draws, tune=sampler.tune,
                              chains=sampler.chains, cores=sampler.cores, seed=sampler.seed,
                              target_accept=target_accept, save_warmup=False,
                              progress_bar=progress)
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


def fit(spec: AnalysisSpec, data: str | Path | pd.DataFrame | SchoolData | None = None, *,
        progress: bool = False, raise_on_failure: bool = False) -> FitResult:
    """Fit an analysis spec to school-level data, with the diagnostics gate.

    Parameters
    ----------
    spec : AnalysisSpec
        What to fit (outcome, model, prior, sampler settings and seed).
    data : path, DataFrame or SchoolData, optional
        School-level data; the bundled synthetic SWIS dataset when None.
    progress : bool, default False
        Show the sampler's progress bar.
    raise_on_failure : bool, default False
        Raise :class:`ConvergenceError` instead of returning a flagged result.

    Returns
    -------
    FitResult
        ``result.ok`` is False, and ``result.diagnostics.reasons`` says why, when the fit failed
        the gate (R-hat > 1.01, bulk ESS < 400 or any divergence) even after one retry with
        target acceptance 0.95.

    Raises
    ------
    DataError
        If the data fail validation (every problem is listed).
    ConvergenceError
        If ``raise_on_failure`` and the fit failed the gate.

    Examples
    --------
    A fit samples for a second or two once the model is compiled::

        spec = swisbayes.load_spec("models/s47_primary.toml")
        result = swisbayes.fit(spec)              # the bundled synthetic SWIS data
        result.diagnostics.ok                     # check this before reading anything else
        result.decision.effect.prob_meaningful_reduction
    """
    # Resolve the prior once (the pilot-informed prior runs a meta-analysis) and keep it in the
    # result's spec, so that a saved fit records exactly the prior used and reloads without it.
    spec = spec.with_prior(spec.effect_prior)
    school_data = read_school_data(load_example() if data is None else data,
                                   outcomes=[spec.outcome], covariates=spec.covariates)
    build = build_model(spec, school_data)
    idata, attempts, compile_info = sample_with_gate(build, spec.sampler, progress=progress)
    diagnostics = attempts[-1].diagnostics
    provenance = {
        "versions": library_versions(),
        "spec_name": spec.name,
        "prior": spec.effect_prior.to_dict(),  # cheap: the spec now holds the mixture itself
        "data_source": school_data.source,
        "data_sha256": school_data.sha256,
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
                       attempts=attempts, provenance=provenance)
    if raise_on_failure and not result.ok:
        raise ConvergenceError(f"{spec.name}: fit failed its diagnostics after "
                               f"{len(attempts)} attempt(s): " + "; ".join(diagnostics.reasons))
    return result


__all__ = ["Attempt", "FitResult", "decide_spec", "fit", "sample_with_gate"]
