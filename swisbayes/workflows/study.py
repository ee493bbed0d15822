"""Operating characteristics: how often each verdict is reached when the true IRR is known.

For each true-IRR scenario, ``n_trials`` SWIS-shaped trials are simulated
(:func:`swisbayes.data.simulate.simulate_trial`), each is fitted with the spec (one compiled model
per process: every trial has the same structure), and a decision rule turns P(IRR < 1 - MCID) into a
verdict. The report gives, per scenario, the probability of each verdict with its Monte Carlo
standard error (under IRR = 1, P(invest) is the false-invest rate; under a real effect it is the
power), the coverage of the interval for the true IRR, and the share of fits that failed the
diagnostics gate. Failed fits keep their verdicts (they are not hidden or dropped) and are counted.
Each trial is a cell, written atomically and resumable, on the engine's executors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from swisbayes._base.errors import SpecError
from swisbayes.decision.rule import VERDICTS, DecisionRule
from swisbayes.spec.analysis import AnalysisSpec, load_spec
from swisbayes.workflows.engine import BatchResult, IndependentCells, Task, cell_hash, run_batch

if TYPE_CHECKING:
    from swisbayes.data.simulate import SimulatedTrial


def trial_seeds(base_seed: int, irr: float, index: int) -> tuple[int, int]:
    """Seeds of trial ``index`` of scenario ``irr``: (simulation, sampler).

    From ``numpy.random.SeedSequence(base_seed, spawn_key=(round(irr * 1e6), index))``: a
    trial's data and draws depend only on (base seed, scenario, index), not on the other
    scenarios, the number of trials, the workers or the order.
    """
    key = (round(irr * 1_000_000), index)
    state = np.random.SeedSequence(base_seed, spawn_key=key).generate_state(2)
    return int(state[0]), int(state[1] % 2**31)


def trial_spec(spec: AnalysisSpec, base_seed: int, irr: float, index: int) -> AnalysisSpec:
    """The spec a trial is fitted with: ``spec`` with the trial's sampler seed."""
    return spec.with_sampler(seed=trial_seeds(base_seed, irr, index)[1])


def simulate_study_trial(spec: AnalysisSpec, base_seed: int, irr: float, index: int,
                         la_effect_sd: float = 0.0) -> SimulatedTrial:
    """The simulated trial of one cell."""
    from swisbayes.data.simulate import simulate_trial

    seed = trial_seeds(base_seed, irr, index)[0]
    return simulate_trial(seed, irr={spec.outcome: irr}, la_effect_sd=la_effect_sd)


def study_cell(spec_json: str, base_seed: int, irr: float, index: int,
               la_effect_sd: float) -> dict:
    """Simulate and fit one trial (runs in any executor's process).

    Returns
    -------
    dict
        ``irr`` (true), ``index``, ``seeds``, ``prob_meaningful_reduction``, ``median``,
        ``ci`` (95% interval of the IRR), ``covered``, ``ok``, ``reasons``, ``attempts`` and
        ``seconds``.
    """
    from swisbayes.workflows.analysis import fit

    start = time.perf_counter()
    base = AnalysisSpec.model_validate_json(spec_json)
    trial = simulate_study_trial(base, base_seed, irr, index, la_effect_sd)
    result = fit(trial_spec(base, base_seed, irr, index), trial.frame)
    # the truth simulated is the typical LA's IRR: its interval is the one that must cover it;
    # the probability is the decision's (the trial-population effect)
    effect = result.decision.typical_la or result.decision.effect
    lo, hi = effect.ci
    truth = trial.truth["irr"][base.outcome]
    return {"irr": irr, "index": index, "seeds": list(trial_seeds(base_seed, irr, index)),
            "prob_meaningful_reduction": result.decision.effect.prob_meaningful_reduction,
            "median": effect.median, "ci": [lo, hi], "covered": bool(lo <= truth <= hi),
            "ok": result.ok, "reasons": list(result.diagnostics.reasons),
            "attempts": len(result.attempts), "seconds": time.perf_counter() - start}


def _share(hits: int, n: int) -> tuple[float, float]:
    """A proportion and its Monte Carlo standard error, sqrt(p (1 - p) / n)."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    return p, math.sqrt(p * (1 - p) / n)


@dataclass
class StudyResult(BatchResult):
    """Per-trial rows of a study and their summary per scenario.

    Parameters
    ----------
    rows : list of dict
        One per finished trial (see :func:`study_cell`), in scenario then index order.
    scenarios : list of float
    n_trials : int
    rule : DecisionRule
    spec : AnalysisSpec
    out, errors, computed, seconds
        As for :class:`~swisbayes.workflows.engine.BatchResult` (``errors``: trials whose fit
        raised, retried by the next run).
    """

    scenarios: list[float]
    n_trials: int
    rule: DecisionRule
    spec: AnalysisSpec

    @property
    def table(self) -> pd.DataFrame:
        """The trials (:attr:`trials`)."""
        return self.trials

    @property
    def trials(self) -> pd.DataFrame:
        """One record per finished trial, with its verdict under :attr:`rule`."""
        frame = pd.DataFrame([{k: r[k] for k in ("irr", "index", "prob_meaningful_reduction",
                                                   "median", "covered", "ok", "attempts")}
                              for r in self.rows])
        if not frame.empty:
            frame["verdict"] = [self.rule.verdict(p) for p in frame["prob_meaningful_reduction"]]
        return frame

    def summary(self) -> pd.DataFrame:
        """Per scenario: verdict probabilities, coverage and failed share, each with its MCSE."""
        trials = self.trials
        records = []
        for irr in self.scenarios:
            t = trials[trials["irr"] == irr] if not trials.empty else trials
            n = len(t)
            rec: dict = {"irr": irr, "n": n}
            for v in VERDICTS:
                rec[f"p_{v}"], rec[f"mcse_{v}"] = _share(int((t["verdict"] == v).sum())
                                                         if n else 0, n)
            rec["coverage"], rec["mcse_coverage"] = _share(int(t["covered"].sum()) if n else 0, n)
            rec["n_failed_gate"] = int((~t["ok"]).sum()) if n else 0
            rec["share_failed_gate"] = rec["n_failed_gate"] / n if n else float("nan")
            records.append(rec)
        return pd.DataFrame(records)

    def to_dict(self) -> dict:
        """JSON-ready summary: settings, counts and the per-scenario table."""
        return {"spec": self.spec.name, "prior": self.spec.priors.effect.name,
                "mcid": self.spec.decision.mcid,
                "rule": {"invest_if_p_at_least": self.rule.invest,
                         "stop_if_p_below": self.rule.stop},
                "n_trials": self.n_trials, "n_finished": len(self.rows),
                "n_errors": len(self.errors), "sampler": self.spec.sampler.model_dump(),
                "scenarios": self.summary().to_dict(orient="records"), "seconds": self.seconds}

    @property
    def text(self) -> str:
        """A plain table, one line per scenario."""
        lines = [f"Operating characteristics of {self.spec.name} (prior "
                 f"{self.spec.priors.effect.name}, MCID {self.spec.decision.mcid:.0%}): invest "
                 f"if P(IRR < {1 - self.spec.decision.mcid:.2f}) >= {self.rule.invest}, stop if "
                 f"< {self.rule.stop}; {len(self.errors)} fits raised",
                 f"{'true IRR':>8}{'n':>5}  {'P(invest)':>15}  {'P(more ev.)':>15}  "
                 f"{'P(stop)':>15}  {'95% coverage':>15}  failed gate"]
        for r in self.summary().to_dict(orient="records"):
            cells = [f"{r[f'p_{v}']:.3f} ± {r[f'mcse_{v}']:.3f}" for v in VERDICTS]
            cov = f"{r['coverage']:.3f} ± {r['mcse_coverage']:.3f}"
            lines.append(f"{r['irr']:8.3f}{r['n']:5d}  {cells[0]:>15}  {cells[1]:>15}  "
                         f"{cells[2]:>15}  {cov:>15}  {r['n_failed_gate']} "
                         f"({r['share_failed_gate']:.0%})")
        lines.append("± is the Monte Carlo standard error; fits that failed the gate keep "
                     "their verdicts")
        return "\n".join(lines)


def run_study(spec: AnalysisSpec | str | Path, scenarios: Sequence[float], n_trials: int, *,
              rule: DecisionRule | None = None, la_effect_sd: float = 0.0,
              base_seed: int | None = None, out: str | Path | None = None, workers: int = 1,
              scheduler: object | None = None, resume: bool = True,
              progress: bool = False) -> StudyResult:
    """Simulate and fit ``n_trials`` trials per true-IRR scenario; summarise the verdicts.

    Parameters
    ----------
    spec : AnalysisSpec or path
        A school-level count outcome; its prior, MCID and sampler settings are used.
    scenarios : sequence of float
        True IRRs of the outcome (e.g. 1.0, 0.9, 0.85).
    n_trials : int
        Trials per scenario.
    rule : DecisionRule, optional
        Defaults to invest at P >= 0.80, stop at P < 0.10.
    la_effect_sd : float, default 0.0
        SD of LA deviations of the true log effect.
    base_seed : int, optional
        Seeds of each trial come from (base_seed, scenario, index) (:func:`trial_seeds`); the
        spec's sampler seed when None.
    out : path, optional
        Output directory of the cells; temporary when None.
    workers, scheduler, resume, progress
        As for :func:`~swisbayes.workflows.sensitivity.run_grid`.

    Returns
    -------
    StudyResult
    """
    from swisbayes.data.schema import outcome_schema
    from swisbayes.data.simulate import COUNT_OUTCOMES

    start = time.perf_counter()
    spec = spec if isinstance(spec, AnalysisSpec) else load_spec(spec)
    if outcome_schema(spec.outcome).kind != "count":
        raise SpecError(f"{spec.name}: the study supports count outcomes only")
    if spec.outcome not in COUNT_OUTCOMES:  # before any cell: one message, not one per trial
        raise SpecError(f"{spec.name}: the study simulates SWIS-shaped trials of "
                        f"{', '.join(COUNT_OUTCOMES)}; the outcome {spec.outcome!r} is declared "
                        "by its spec and has no simulator (study another trial's design with "
                        "your own simulated files and swisbayes fit)")
    if not scenarios or any(s <= 0 for s in scenarios):
        raise SpecError("scenarios must be positive IRRs")
    spec = spec.with_prior(spec.effect_prior)  # resolve once, in the key and every cell
    rule = rule or DecisionRule()
    base_seed = spec.sampler.seed if base_seed is None else base_seed
    spec_json = spec.to_json()
    tasks = [Task(cell_hash("study", {"spec": spec_json, "base_seed": base_seed, "irr": irr,
                                      "index": i, "la_effect_sd": la_effect_sd}),
                  study_cell, (spec_json, base_seed, float(irr), i, la_effect_sd))
             for irr in scenarios for i in range(n_trials)]
    batch = run_batch(IndependentCells("study", tasks), out, workers=workers,
                      scheduler=scheduler, resume=resume, progress=progress, started=start)
    return StudyResult.extend(batch, scenarios=[float(s) for s in scenarios], n_trials=n_trials,
                              rule=rule, spec=spec)


__all__ = [
    "StudyResult", "run_study", "simulate_study_trial", "study_cell", "trial_seeds", "trial_spec"
]
