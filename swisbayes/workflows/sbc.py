"""Simulation-based calibration (Talts et al. 2018) of every outcome family on the SWIS design.

One prior predictive call of the spec's family draws every parameter and an outcome for all
``N`` replicates at once (:meth:`~swisbayes.families.registry.OutcomeFamily.prior_predictive`;
the design of the data, its schools, LAs, arms, pupils, sessions and covariates, is kept).
Replicate ``i`` is a cell of the batch engine: it gets draw ``i``, fits that outcome with the
same model (rebuilt by its family on the data with the outcome swapped, so that every data
term of the likelihood follows, and sampled by the compiled model of its structure), and
ranks each true scalar parameter among thinned posterior draws. If the fit is calibrated,
each parameter's ranks are uniform across replicates; the PIT-ECDF test with its simultaneous
band (:func:`~swisbayes.stats.ranks.pit_ecdf_test`) says whether they are.

SBC simulates from and fits with the same prior, and that prior must make realistic trials:
the shipped specs' vague N(0, 10) effect prior gives IRRs of 1e-8 or 1e8, and their wide
intercept priors (N(-4, 2) on the log rate of a count) give schools with almost no events or
more events than pupils, whose fits are hard for reasons no real trial shares. So SBC replaces
the spec's priors by the **SBC priors** (:func:`sbc_spec`): :data:`SBC_PRIOR`, N(0, 0.3), on
each log effect, and the hyperpriors of :data:`SBC_HYPER_COMMON` and
:data:`SBC_HYPERPRIORS` (intercepts centred on the bundled data's rates with SD 0.5, realistic
LA and dispersion scales). ``prior`` and ``hyper`` override them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.config import validated
from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, load_example, read_school_data
from swisbayes.data.schema import outcome_schema
from swisbayes.families.common import ModelBuild
from swisbayes.families.registry import family_of
from swisbayes.priors.library import MixturePrior
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.stats.ranks import (
    BAND_PROB,
    DEFAULT_RANKS,
    flag_threshold,
    pit_ecdf_test,
    rank_of,
)
from swisbayes.workflows.engine import BatchResult, IndependentCells, Task, cell_hash, run_batch

SBC_PRIOR = MixturePrior.normal(
    "sbc_normal_0_0.3", 0.0, 0.3,
    description="N(0, 0.3) on each log effect (95% of ratios within 0.56-1.8), used to "
                "simulate SBC datasets and to fit them",
    provenance="swisbayes SBC default")
"""Effect prior of SBC: a ratio beyond 0.5 or 2 would be an implausible effect of a school
social-work programme (the vague prior gives absurd data)."""

SBC_HYPER_COMMON: dict = {
    "intercept_sd": 0.5,
    "coefficient_sd": 0.25,
    "sigma_la": {"scale": 0.2},
    "sigma_la_effect": {"scale": 0.1},
    "inv_sqrt_dispersion": {"scale": 0.5},
}
"""Hyperpriors of SBC for every outcome (``priors.hyper`` fields; see :func:`sbc_spec`).

- ``intercept_sd`` 0.5: rates within a factor 2.7 of the centre (95%), which is the
  outcome's rate in the bundled data (:data:`SBC_HYPERPRIORS`).
- ``coefficient_sd`` 0.25: a standardised covariate moves the rate by at most 1.6-fold per
  SD (95%; the simulator's %FSM effect is 0.24 per SD). The standardised covariates reach
  -3.7 and +3.3 SD in the bundled schools, so with the shipped 1.0 the most extreme school of
  one s47 trial in ten had 95 times the trial's average rate (9 times with 0.25).
- ``sigma_la`` half-normal(0.2): between-LA SD of log rates *after* adjusting for the
  school's baseline rate (median 0.13, 95% below 0.45); the data simulator's 0.3 is the
  unadjusted SD.
- ``sigma_la_effect`` half-normal(0.1): LAs' effects differ by a few percent (median SD 0.07).
- ``inv_sqrt_dispersion`` half-normal(0.5) (counts): ``phi = 1 / kappa^2`` with median about
  9; the simulator's schools vary with ``phi`` about 10.
"""

SBC_HYPERPRIORS: dict[str, dict] = {
    "s47": {"intercept_mean": -3.7},
    "referrals": {"intercept_mean": -2.1},
    "s17": {"intercept_mean": -2.7},
    "care_entry": {"intercept_mean": -6.1},
    "days_in_care": {"intercept_mean": -6.4,
                     "positive": {"intercept_mean": -0.7, "intercept_sd": 0.5}},
    "attendance": {"intercept_mean": -2.55, "intercept_sd": 0.3},
}
"""Hyperpriors of SBC by outcome, over :data:`SBC_HYPER_COMMON`.

The intercepts are centred on the bundled data's rates. Counts: the log of follow-up events
per pupil (s47 -3.71, referrals -2.07, s17 -2.69, care entry -6.15). Days in care: 81% of
schools have any days, so the zero part's log rate of care episodes per pupil is
``log(-log(0.19) / 1040) = -6.4``; the positive part's mean days per pupil given any is
``exp(-0.72)``, with SD 0.5 too; its dispersion keeps the spec's half-normal(1.0) on
``1 / sqrt(phi)`` (median 0.67), which matches the bundled schools' coefficient of variation of
days per pupil, 0.9. Attendance: absence 7.4% is ``logit = -2.53``, and SD 0.3 keeps a
trial's absence within 4.3-12% (95%; English secondary schools' has been 5-9%). The
concentration ``kappa`` keeps the spec's half-normal(0.2) on ``1 / sqrt(kappa)``, a compromise
between two unrealistic tails that a half-normal cannot both avoid: 32% of its mass is below
``kappa = 25`` (schools' absence varying by over 5 points beyond covariates and LA) and 6% above
``kappa = 4400`` (under 0.4 points: near-binomial schools). Half-normal(0.1) moves mass from
the first tail to the second, and there the model's non-centred LA intercepts fail the gate
in about half the fits (7 of 13 with ``1 / sqrt(kappa) < 0.015`` in an SBC of 100 trials; 9 of
100 fits failed in all, against 5% allowed)."""


def _merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, nested tables merged key by key."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def sbc_spec(spec: AnalysisSpec, prior: MixturePrior | str | None = None,
             hyper: dict | None = None) -> AnalysisSpec:
    """The spec that SBC simulates from and fits with: ``spec`` with the SBC priors.

    Parameters
    ----------
    spec : AnalysisSpec
        Any outcome; its model, design settings and sampler are kept.
    prior : MixturePrior or str, optional
        Effect prior (object or library name); :data:`SBC_PRIOR` when None.
    hyper : dict, optional
        ``priors.hyper`` fields overriding the SBC hyperpriors (nested tables merged, e.g.
        ``{"sigma_la": {"scale": 0.3}}``).

    Returns
    -------
    AnalysisSpec
        With the prior resolved and the hyperpriors of :data:`SBC_HYPER_COMMON`, then
        :data:`SBC_HYPERPRIORS` for its outcome, then ``hyper``.

    Raises
    ------
    SpecError
        If the outcome has no SBC hyperpriors and ``hyper`` gives no ``intercept_mean``, or a
        merged value is invalid (the message names the field).
    """
    if spec.outcome not in SBC_HYPERPRIORS and "intercept_mean" not in (hyper or {}):
        raise SpecError(f"{spec.name}: no SBC hyperpriors for outcome {spec.outcome!r} (known: "
                        f"{', '.join(SBC_HYPERPRIORS)}); give hyper={{'intercept_mean': ...}}")
    merged = _merge(_merge(_merge(spec.priors.hyper.model_dump(), SBC_HYPER_COMMON),
                           SBC_HYPERPRIORS.get(spec.outcome, {})), hyper or {})
    raw = spec.model_dump()
    raw["priors"]["hyper"] = merged
    spec = validated(AnalysisSpec, raw, f"<{spec.name}> with the SBC hyperpriors")
    spec = spec.with_prior(SBC_PRIOR if prior is None else prior)
    return spec.with_prior(spec.effect_prior)


def prior_seed(base_seed: int) -> int:
    """Seed of the one prior predictive call that draws every replicate's truth and outcome.

    Replicate ``i`` is draw ``i`` of that call, which PyMC makes one after another, so it does
    not depend on how many replicates are drawn.
    """
    return int(np.random.SeedSequence(base_seed).generate_state(1)[0])


def replicate_seed(base_seed: int, index: int) -> int:
    """Sampler seed of replicate ``index``.

    From ``numpy.random.SeedSequence(base_seed, spawn_key=(index,))``: independent streams per
    replicate that depend on nothing else (not on N, workers or order).
    """
    return int(np.random.SeedSequence(base_seed, spawn_key=(index,)).generate_state(1)[0]
               % 2**31)


def ranked_parameters(build: ModelBuild) -> list[str]:
    """The scalars whose ranks SBC records: every free parameter, a vector one per element.

    Scalar free variables, and each covariate's coefficient as ``<name>[<covariate>]``; the
    standardised LA effects (``z_la``, ``w_la``) are left out, and so is ``w_new_la``, whose
    posterior is its prior (a new LA's draw).

    Parameters
    ----------
    build : ModelBuild

    Returns
    -------
    list of str
        In the model's order (for the hurdle, ``zero_*`` then ``positive_*``).
    """
    dims = build.model.named_vars_to_dims
    labels: list[str] = []
    for rv in build.model.free_RVs:
        var_dims = tuple(dims.get(rv.name, ()))
        if rv.name.endswith("w_new_la"):
            continue
        if var_dims == ():
            labels.append(rv.name)
        elif var_dims == ("covariate",):
            labels += [f"{rv.name}[{c}]" for c in build.coords["covariate"]]
    return labels


def parameter_draws(draws: xr.Dataset, label: str) -> xr.DataArray:
    """The draws of a ranked scalar (``name`` or ``name[covariate]``) in a Dataset."""
    if label.endswith("]"):
        name, covariate = label[:-1].split("[", 1)
        return draws[name].sel(covariate=covariate)
    return draws[label]


@dataclass(frozen=True)
class Replicates:
    """The truths and outcomes of every SBC replicate, from one prior predictive call.

    Parameters
    ----------
    parameters : list of str
        Ranked parameters (:func:`ranked_parameters`).
    truth : numpy.ndarray
        Shape (n, parameters): the true value of each.
    y : numpy.ndarray
        Shape (n, schools): the simulated outcome (int64).
    """

    parameters: list[str]
    truth: np.ndarray
    y: np.ndarray

    def truths(self, index: int) -> dict[str, float]:
        """Replicate ``index``'s truths by parameter."""
        return {p: float(v) for p, v in zip(self.parameters, self.truth[index], strict=True)}

    def digest(self, index: int) -> str:
        """A hash of replicate ``index``'s truths and outcome (part of its cell's name)."""
        payload = json.dumps(self.truths(index), sort_keys=True).encode() + self.y[index].tobytes()
        return hashlib.sha256(payload).hexdigest()[:24]


def draw_replicates(spec: AnalysisSpec, data: SchoolData, n: int, seed: int) -> Replicates:
    """Truths and outcomes of ``n`` replicates, in one prior predictive call of the family.

    Parameters
    ----------
    spec : AnalysisSpec
        The SBC spec (:func:`sbc_spec`).
    data : SchoolData
        School-level design.
    n : int
    seed : int

    Returns
    -------
    Replicates
    """
    family = family_of(spec)
    parameters = ranked_parameters(family.build(spec, data))
    tree = family.prior_predictive(spec, data, draws=n, seed=seed)
    prior = tree["prior"].to_dataset().isel(chain=0)
    truth = np.column_stack([parameter_draws(prior, p).to_numpy() for p in parameters])
    y = tree["prior_predictive"]["y_obs"].isel(chain=0).to_numpy().astype(np.int64)
    return Replicates(parameters, truth, y)


def replicate_build(spec: AnalysisSpec, data: SchoolData, y: np.ndarray) -> ModelBuild:
    """The model of ``spec`` on ``data`` with the outcome replaced by ``y``.

    Built by the spec's family, so every data term of its likelihood (``log(y!)``,
    ``log C(n, k)``) follows the new outcome; the compiled model of its structure is reused.
    """
    frame = data.frame.copy()
    frame[outcome_schema(spec.outcome).followup] = np.asarray(y, dtype=np.int64)
    return family_of(spec).build(spec, replace(data, frame=frame))


def sbc_cell(spec_json: str, data: SchoolData, index: int, truth: dict[str, float],
             y: np.ndarray, sampler_seed: int, n_ranks: int) -> dict:
    """Fit and rank one SBC replicate (runs in any executor's process).

    Parameters
    ----------
    spec_json : str
        The SBC spec.
    data : SchoolData
        The design.
    index : int
    truth : dict of str to float
        True value of each ranked parameter.
    y : numpy.ndarray
        The replicate's outcome, one per school.
    sampler_seed : int
    n_ranks : int

    Returns
    -------
    dict
        ``index``, ``seeds``, ``truth`` and ``ranks`` by parameter, ``ok`` and ``reasons`` of
        the diagnostics gate, ``attempts``, ``y_total``, ``seconds`` and ``n_ranks``.
    """
    from swisbayes.inference.fitting import sample_with_gate

    start = time.perf_counter()
    spec = AnalysisSpec.model_validate_json(spec_json)
    build = replicate_build(spec, data, y)
    sampler = spec.sampler.model_copy(update={"seed": sampler_seed})
    idata, attempts, _ = sample_with_gate(build, sampler)
    posterior = idata["posterior"].to_dataset()
    diagnostics = attempts[-1].diagnostics
    return {"index": index, "seeds": {"sampler": sampler_seed},
            "truth": truth, "n_ranks": n_ranks,
            "ranks": {k: rank_of(v, parameter_draws(posterior, k).to_numpy(), n_ranks)
                      for k, v in truth.items()},
            "ok": diagnostics.ok, "reasons": list(diagnostics.reasons),
            "attempts": len(attempts), "y_total": int(np.sum(y)),
            "seconds": time.perf_counter() - start}


@dataclass
class SBCResult(BatchResult):
    """Ranks of an SBC run and their PIT-ECDF uniformity tests.

    Parameters
    ----------
    rows : list of dict
        One per finished replicate, in replicate order (see :func:`sbc_cell`).
    n : int
        Replicates asked for.
    n_ranks : int
        Ranks run 0..n_ranks.
    spec : AnalysisSpec
        The spec simulated from and fitted (SBC priors applied).
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
        return pd.DataFrame([{**r["ranks"], "ok": r["ok"]} for r in self.rows],
                            index=pd.Index([r["index"] for r in self.rows], name="replicate"))

    @property
    def parameters(self) -> list[str]:
        """The ranked parameters, in the model's order."""
        return [c for c in self.ranks.columns if c != "ok"]

    @property
    def n_failed(self) -> int:
        """Finished replicates whose fit failed the diagnostics gate (kept in the tests)."""
        return sum(not r["ok"] for r in self.rows)

    @property
    def fail_rate(self) -> float:
        """Share of finished replicates that failed the gate (NaN with none finished)."""
        return self.n_failed / len(self.rows) if self.rows else float("nan")

    def tests(self, prob: float = BAND_PROB) -> pd.DataFrame:
        """PIT-ECDF test per parameter, over all replicates and over those passing the gate.

        Parameters
        ----------
        prob : float, default 0.95
            Simultaneous coverage of the band.

        Returns
        -------
        pandas.DataFrame
            ``parameter``, ``p_value`` (all replicates), ``outside_band`` (the ECDF leaves the
            ``prob`` band somewhere), the same two over the replicates that passed the gate,
            and ``flagged``: ``p_value`` below ``0.01 / k`` for ``k`` parameters (Bonferroni,
            family-wise 1%).
        """
        ranks = self.ranks
        params = self.parameters
        threshold = flag_threshold(len(params))
        records = []
        for p in params:
            every = pit_ecdf_test(ranks[p].to_numpy(), self.n_ranks, prob)
            passed = pit_ecdf_test(ranks.loc[ranks["ok"], p].to_numpy(), self.n_ranks, prob)
            records.append({"parameter": p, "p_value": every.p_value,
                            "outside_band": every.outside,
                            "p_value_gate_passed": passed.p_value,
                            "outside_band_gate_passed": passed.outside,
                            "flagged": bool(every.p_value < threshold)})
        return pd.DataFrame(records, columns=["parameter", "p_value", "outside_band",
                                              "p_value_gate_passed",
                                              "outside_band_gate_passed", "flagged"])

    def to_dict(self) -> dict:
        """JSON-ready summary: settings, priors, counts, each failed fit's reasons, the tests."""
        tests = self.tests()
        return {
            "spec": self.spec.name, "outcome": self.spec.outcome, "family": self.spec.family,
            "prior": self.spec.priors.effect.name,
            "hyperpriors": self.spec.priors.hyper.model_dump(mode="json"),
            "n_requested": self.n, "n_finished": len(self.rows), "n_errors": len(self.errors),
            "n_failed_gate": self.n_failed, "fail_rate": self.fail_rate,
            "gate_failures": [{"index": r["index"], "reasons": r["reasons"]}
                              for r in self.rows if not r["ok"]],
            "n_ranks": self.n_ranks,
            "sampler": self.spec.sampler.model_dump(),
            "band_prob": BAND_PROB, "flag_threshold": flag_threshold(len(tests)),
            "tests": tests.to_dict(orient="records"),
            "seconds": self.seconds,
        }

    @property
    def text(self) -> str:
        """A plain table of the tests and a line on failures."""
        tests = self.tests()
        lines = [f"SBC of {self.spec.name} (prior {self.spec.priors.effect.name}): "
                 f"{len(self.rows)}/{self.n} replicates, ranks 0..{self.n_ranks}, "
                 f"{self.n_failed} failed the diagnostics gate, {len(self.errors)} raised",
                 f"{'parameter':34}{'p':>8}{'band':>9}{'p (gate ok)':>13}{'band':>9}  flag"]
        for r in tests.itertuples():
            lines.append(f"{r.parameter:34}{r.p_value:8.3f}"
                         f"{'OUTSIDE' if r.outside_band else 'inside':>9}"
                         f"{r.p_value_gate_passed:13.3f}"
                         f"{'OUTSIDE' if r.outside_band_gate_passed else 'inside':>9}"
                         f"  {'NOT UNIFORM' if r.flagged else ''}")
        lines.append(f"PIT-ECDF test (Säilynoja et al. 2022): band = {BAND_PROB:.0%} "
                     f"simultaneous band; flagged when p < {flag_threshold(len(tests)):.2g} "
                     f"(0.01 / {len(tests)} parameters, Bonferroni)")
        return "\n".join(lines)


def run_sbc(spec: AnalysisSpec | str | Path, n: int,
            data: str | Path | pd.DataFrame | SchoolData | None = None, *,
            prior: MixturePrior | str | None = None, hyper: dict | None = None,
            n_ranks: int = DEFAULT_RANKS, base_seed: int | None = None,
            out: str | Path | None = None, workers: int = 1, scheduler: object | None = None,
            resume: bool = True, progress: bool = False) -> SBCResult:
    """Run simulation-based calibration: ``n`` replicates of draw, fit and rank.

    Parameters
    ----------
    spec : AnalysisSpec or path
        Any outcome family; its sampler settings are used for every fit, its priors are
        replaced by the SBC priors (:func:`sbc_spec`).
    n : int
        Replicates.
    data : path, DataFrame or SchoolData, optional
        School-level design (schools, LAs, arms, pupils, sessions, covariates); the bundled
        data when None. Its outcome column is replaced by simulated outcomes.
    prior : MixturePrior or str, optional
        Effect prior to simulate from and fit with; :data:`SBC_PRIOR` (N(0, 0.3)) when None.
    hyper : dict, optional
        Hyperprior fields overriding the SBC ones (see :func:`sbc_spec`).
    n_ranks : int, default 99
        Thinned posterior draws each truth is ranked among.
    base_seed : int, optional
        The prior draws come from :func:`prior_seed` and replicate i's sampler seed from
        (base_seed, i) (:func:`replicate_seed`); the spec's sampler seed when None.
    out : path, optional
        Output directory of the cells; temporary when None.
    workers, scheduler, resume, progress
        As for :func:`~swisbayes.workflows.sensitivity.run_grid`.

    Returns
    -------
    SBCResult

    Raises
    ------
    SpecError
        If the fits have fewer draws than ``n_ranks``, the data are pupil-level, or the
        outcome has no SBC hyperpriors (see :func:`sbc_spec`).
    """
    start = time.perf_counter()
    spec = sbc_spec(spec if isinstance(spec, AnalysisSpec) else load_spec(spec), prior, hyper)
    if spec.sampler.chains * spec.sampler.draws < n_ranks:
        raise SpecError(f"{spec.sampler.chains * spec.sampler.draws} draws per fit cannot be "
                        f"thinned to {n_ranks}")
    school_data = read_school_data(load_example() if data is None else data,
                                   outcomes=[spec.outcome], covariates=spec.covariates)
    if school_data.cells is not None:
        raise SpecError("SBC needs school-level data (one row per school)")
    base_seed = spec.sampler.seed if base_seed is None else base_seed
    replicates = draw_replicates(spec, school_data, n, prior_seed(base_seed))
    spec_json = spec.to_json()
    tasks = []
    for i in range(n):
        identity = {"spec": spec_json, "data": school_data.content_sha256, "index": i,
                    "base_seed": base_seed, "n_ranks": n_ranks, "draw": replicates.digest(i)}
        tasks.append(Task(cell_hash("sbc", identity), sbc_cell,
                          (spec_json, school_data, i, replicates.truths(i), replicates.y[i],
                           replicate_seed(base_seed, i), n_ranks)))
    batch = run_batch(IndependentCells("sbc", tasks), out, workers=workers, scheduler=scheduler,
                      resume=resume, progress=progress, started=start)
    return SBCResult.extend(batch, n=n, n_ranks=n_ranks, spec=spec)


__all__ = [
    "SBC_HYPERPRIORS",
    "SBC_HYPER_COMMON",
    "SBC_PRIOR",
    "Replicates",
    "SBCResult",
    "draw_replicates",
    "parameter_draws",
    "prior_seed",
    "ranked_parameters",
    "replicate_build",
    "replicate_seed",
    "run_sbc",
    "sbc_cell",
    "sbc_spec",
]
