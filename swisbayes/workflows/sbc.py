"""Simulation-based calibration (Talts et al. 2018) of a count model on the SWIS design.

Each replicate draws every parameter and an outcome from the spec's prior with the built PyMC
model (the design: schools, LAs, arms, pupils and covariates of the data is kept), fits that
outcome with the same compiled model (the outcome is swapped in as data), and ranks each true
scalar parameter among thinned posterior draws. If the fit is calibrated, each parameter's ranks
are uniform across replicates.

The effect prior of the simulation must be proper and plausible: the vague N(0, 10) prior on the
log IRR gives IRRs of 1e-8 or 1e8, i.e. datasets nothing like a trial. The default is
:data:`SBC_PRIOR`, N(0, 0.5) on the log IRR (95% of IRRs within 0.38-2.7); ``prior`` overrides it.
Replicates are cells, written atomically and resumable, on the engine's executors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, load_example, read_school_data
from swisbayes.data.schema import outcome_schema
from swisbayes.families.likelihoods import log_factorial
from swisbayes.priors.library import MixturePrior
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.stats.ranks import DEFAULT_RANKS, flag_threshold, rank_of, uniformity_test
from swisbayes.workflows.engine import BatchResult, IndependentCells, Task, cell_hash, run_batch

SBC_PRIOR = MixturePrior.normal(
    "sbc_normal_0_0.5", 0.0, 0.5,
    description="Weakly informative N(0, 0.5) on the log IRR, used to simulate SBC datasets",
    provenance="swisbayes SBC default")
"""Default effect prior of SBC: proper, weakly informative (the vague prior gives absurd data)."""

RANKED = ("log_irr", "intercept", "sigma_la", "sigma_la_effect", "inv_sqrt_dispersion", "coef")
"""Parameters whose ranks are recorded (``coef`` once per covariate)."""

_PRIOR_SAMPLERS: dict[tuple, tuple] = {}
"""Per process: (build, compiled prior draw function, its RNGs, free-variable names)."""


def sbc_spec(spec: AnalysisSpec, prior: MixturePrior | str | None = None) -> AnalysisSpec:
    """The spec whose prior SBC simulates from and fits with.

    Parameters
    ----------
    spec : AnalysisSpec
        A school-level count outcome (negative binomial or Poisson).
    prior : MixturePrior or str, optional
        Effect prior (object or library name); :data:`SBC_PRIOR` when None.

    Returns
    -------
    AnalysisSpec
        With the prior resolved.

    Raises
    ------
    SpecError
        If the outcome is not a count.
    """
    if outcome_schema(spec.outcome).kind != "count":
        raise SpecError(f"{spec.name}: SBC supports count outcomes only, not {spec.outcome!r}")
    spec = spec.with_prior(SBC_PRIOR if prior is None else prior)
    return spec.with_prior(spec.effect_prior)


def replicate_seeds(base_seed: int, index: int) -> tuple[int, int]:
    """Seeds of replicate ``index``: (prior draw, sampler).

    From ``numpy.random.SeedSequence(base_seed, spawn_key=(index,))``: independent streams per
    replicate that depend on nothing else (not on N, workers or order).
    """
    state = np.random.SeedSequence(base_seed, spawn_key=(index,)).generate_state(2)
    return int(state[0]), int(state[1] % 2**31)


def _prior_sampler(spec: AnalysisSpec, data: SchoolData) -> tuple:
    """This process's build and compiled forward sampler for the spec (compiled once)."""
    import pymc as pm
    from pytensor.tensor.random.type import RandomGeneratorType

    from swisbayes.families.registry import build_model

    key = (spec.to_json(), data.content_sha256)
    if key not in _PRIOR_SAMPLERS:
        build = build_model(spec, data)
        names = [rv.name for rv in build.model.free_RVs]
        fn = pm.compile([], [build.model[n] for n in names] + [build.model["y_obs"]])
        rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
        _PRIOR_SAMPLERS[key] = (build, fn, rngs, names)
    return _PRIOR_SAMPLERS[key]


def draw_replicate(spec: AnalysisSpec, data: SchoolData, seed: int,
                   ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One draw of every free parameter and of the outcome from the prior.

    Returns
    -------
    truth : dict of str to numpy.ndarray
        Value of each free variable.
    y : numpy.ndarray
        Simulated outcome, one count per school.
    """
    from pymc.pytensorf import reseed_rngs

    _, fn, rngs, names = _prior_sampler(spec, data)
    reseed_rngs(rngs, seed)
    *values, y = fn()
    return dict(zip(names, values, strict=True)), np.asarray(y, dtype=np.int64)


def scalar_truths(truth: dict[str, np.ndarray], covariates: list[str]) -> dict[str, float]:
    """The ranked scalars of a draw: ``coef`` becomes ``coef[<covariate>]``."""
    out = {}
    for name in RANKED:
        if name not in truth:
            continue  # a hierarchy level the spec switches off
        if name == "coef":
            out |= {f"coef[{c}]": float(v) for c, v in zip(covariates, truth[name], strict=True)}
        else:
            out[name] = float(truth[name])
    return out


def _posterior_draws(posterior, label: str) -> np.ndarray:
    if label.startswith("coef["):
        return posterior["coef"].sel(covariate=label[5:-1]).to_numpy()
    return posterior[label].to_numpy()


def sbc_cell(spec_json: str, data: SchoolData, index: int, base_seed: int,
             n_ranks: int) -> dict:
    """Draw, fit and rank one SBC replicate (runs in any executor's process).

    Returns
    -------
    dict
        ``index``, ``seeds``, ``truth`` and ``ranks`` by parameter, ``ok`` and ``reasons`` of
        the diagnostics gate, ``attempts``, ``seconds`` and ``n_ranks``.
    """
    from swisbayes.inference.fitting import sample_with_gate

    start = time.perf_counter()
    spec = AnalysisSpec.model_validate_json(spec_json)
    prior_seed, sampler_seed = replicate_seeds(base_seed, index)
    truth, y = draw_replicate(spec, data, prior_seed)
    build = _prior_sampler(spec, data)[0]
    build = replace(build, data_values={**build.data_values, "y": y,
                                        "log_y_factorial": log_factorial(y)})
    sampler = spec.sampler.model_copy(update={"seed": sampler_seed})
    idata, attempts, _ = sample_with_gate(build, sampler)
    posterior = idata["posterior"].to_dataset()
    truths = scalar_truths(truth, build.coords["covariate"])
    diagnostics = attempts[-1].diagnostics
    return {"index": index, "seeds": {"prior": prior_seed, "sampler": sampler_seed},
            "truth": truths, "n_ranks": n_ranks,
            "ranks": {k: rank_of(v, _posterior_draws(posterior, k), n_ranks)
                      for k, v in truths.items()},
            "ok": diagnostics.ok, "reasons": list(diagnostics.reasons),
            "attempts": len(attempts), "y_total": int(y.sum()),
            "seconds": time.perf_counter() - start}


@dataclass
class SBCResult(BatchResult):
    """Ranks of an SBC run and their uniformity tests.

    Parameters
    ----------
    rows : list of dict
        One per finished replicate, in replicate order (see :func:`sbc_cell`).
    n : int
        Replicates asked for.
    n_ranks : int
        Ranks run 0..n_ranks.
    spec : AnalysisSpec
        The spec simulated from and fitted (SBC prior applied).
    out, errors, computed, seconds
        As for :class:`~swisbayes.workflows.engine.BatchResult` (``errors``: replicates whose
        fit raised, retried by the next run).
    """

    n: int
    n_ranks: int
    spec: AnalysisSpec

    @property
    def table(self) -> pd.DataFrame:
        """The ranks (:attr:`ranks`)."""
        return self.ranks

    @property
    def ranks(self) -> pd.DataFrame:
        """One row per replicate (index), one column per parameter, plus ``ok``."""
        frame = pd.DataFrame([{**r["ranks"], "ok": r["ok"]} for r in self.rows],
                             index=pd.Index([r["index"] for r in self.rows], name="replicate"))
        return frame

    @property
    def n_failed(self) -> int:
        """Finished replicates whose fit failed the diagnostics gate (kept in the tests)."""
        return sum(not r["ok"] for r in self.rows)

    def tests(self) -> pd.DataFrame:
        """Chi-square uniformity test per parameter, over all replicates and over passing ones.

        A parameter is flagged when its p-value (all replicates) is below ``0.01 / k`` for ``k``
        parameters (Bonferroni).
        """
        ranks = self.ranks
        params = [c for c in ranks.columns if c != "ok"]
        threshold = flag_threshold(len(params))
        records = []
        for p in params:
            chi2, pval, bins = uniformity_test(ranks[p].to_numpy(), self.n_ranks)
            _, p_ok, _ = uniformity_test(ranks.loc[ranks["ok"], p].to_numpy(), self.n_ranks, bins)
            records.append({"parameter": p, "chi2": chi2, "bins": bins, "p_value": pval,
                            "p_value_gate_passed": p_ok, "flagged": bool(pval < threshold)})
        return pd.DataFrame(records)

    def to_dict(self) -> dict:
        """JSON-ready summary: settings, counts, tests and the rank histograms."""
        from swisbayes.stats.ranks import rank_histogram

        tests = self.tests()
        ranks = self.ranks
        return {
            "spec": self.spec.name, "prior": self.spec.priors.effect.name,
            "n_requested": self.n, "n_finished": len(self.rows), "n_errors": len(self.errors),
            "n_failed_gate": self.n_failed, "n_ranks": self.n_ranks,
            "sampler": self.spec.sampler.model_dump(),
            "flag_threshold": flag_threshold(len(tests)),
            "tests": tests.to_dict(orient="records"),
            "histograms": {p: rank_histogram(ranks[p].to_numpy(), self.n_ranks,
                                             int(b)).tolist()
                           for p, b in zip(tests["parameter"], tests["bins"], strict=True)},
            "seconds": self.seconds,
        }

    @property
    def text(self) -> str:
        """A plain table of the tests and a line on failures."""
        tests = self.tests()
        lines = [f"SBC of {self.spec.name} (prior {self.spec.priors.effect.name}): "
                 f"{len(self.rows)}/{self.n} replicates, ranks 0..{self.n_ranks}, "
                 f"{self.n_failed} failed the diagnostics gate, {len(self.errors)} raised",
                 f"{'parameter':32}{'chi2':>9}{'bins':>6}{'p':>9}{'p (gate ok)':>13}  flag"]
        for r in tests.itertuples():
            lines.append(f"{r.parameter:32}{r.chi2:9.2f}{r.bins:6d}{r.p_value:9.4f}"
                         f"{r.p_value_gate_passed:13.4f}  {'NOT UNIFORM' if r.flagged else ''}")
        lines.append(f"flagged when p < {flag_threshold(len(tests)):.2g} "
                     f"(0.01 / {len(tests)} parameters, Bonferroni)")
        return "\n".join(lines)


def run_sbc(spec: AnalysisSpec | str | Path, n: int,
            data: str | Path | pd.DataFrame | SchoolData | None = None, *,
            prior: MixturePrior | str | None = None, n_ranks: int = DEFAULT_RANKS,
            base_seed: int | None = None, out: str | Path | None = None, workers: int = 1,
            scheduler: object | None = None, resume: bool = True,
            progress: bool = False) -> SBCResult:
    """Run simulation-based calibration: ``n`` replicates of draw, fit and rank.

    Parameters
    ----------
    spec : AnalysisSpec or path
        A school-level count outcome; its sampler settings are used for every fit.
    n : int
        Replicates.
    data : path, DataFrame or SchoolData, optional
        Design (schools, LAs, arms, pupils, covariates); the bundled data when None. Its
        outcome column is replaced by simulated counts.
    prior : MixturePrior or str, optional
        Effect prior to simulate from and fit with; :data:`SBC_PRIOR` (N(0, 0.5)) when None.
    n_ranks : int, default 99
        Thinned posterior draws each truth is ranked among.
    base_seed : int, optional
        Seeds of replicate i come from (base_seed, i) (:func:`replicate_seeds`); the spec's
        sampler seed when None.
    out : path, optional
        Output directory of the cells; temporary when None.
    workers, scheduler, resume, progress
        As for :func:`~swisbayes.workflows.sensitivity.run_grid`.

    Returns
    -------
    SBCResult
    """
    start = time.perf_counter()
    spec = sbc_spec(spec if isinstance(spec, AnalysisSpec) else load_spec(spec), prior)
    if spec.sampler.chains * spec.sampler.draws < n_ranks:
        raise SpecError(f"{spec.sampler.chains * spec.sampler.draws} draws per fit cannot be "
                        f"thinned to {n_ranks}")
    school_data = read_school_data(load_example() if data is None else data,
                                   outcomes=[spec.outcome], covariates=spec.covariates)
    if school_data.cells is not None:
        raise SpecError("SBC needs school-level data (one row per school)")
    base_seed = spec.sampler.seed if base_seed is None else base_seed
    spec_json = spec.to_json()
    tasks = [Task(cell_hash("sbc", {"spec": spec_json, "data": school_data.content_sha256,
                                    "index": i, "base_seed": base_seed, "n_ranks": n_ranks}),
                  sbc_cell, (spec_json, school_data, i, base_seed, n_ranks))
             for i in range(n)]
    batch = run_batch(IndependentCells("sbc", tasks), out, workers=workers, scheduler=scheduler,
                      resume=resume, progress=progress, started=start)
    return SBCResult.extend(batch, n=n, n_ranks=n_ranks, spec=spec)


__all__ = [
    "RANKED",
    "SBC_PRIOR",
    "SBCResult",
    "draw_replicate",
    "replicate_seeds",
    "run_sbc",
    "sbc_cell",
    "sbc_spec",
    "scalar_truths"
]
