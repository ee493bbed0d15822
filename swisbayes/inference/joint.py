"""Fitting the joint model of several count outcomes, and its results."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import ConvergenceError
from swisbayes._base.provenance import library_versions
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.decision.draws import equal_tailed_interval, prob_below
from swisbayes.decision.joint import (
    INDEPENDENCE_METHOD,
    JOINT_METHOD,
    JointProbability,
    prob_all_below,
    product_of_marginals,
    quantity_label,
    resolve_conditions,
)
from swisbayes.decision.summaries import RatioSummary, ratio_keys, summarise_ratio
from swisbayes.families.joint import (
    LEVELS,
    MODEL_DESCRIPTION,
    SUMMARY_VARS,
    build_joint_model,
    check_combinable,
)
from swisbayes.inference.fitting import FitResult, sample_with_gate
from swisbayes.inference.results import SampledResult, load_gate_attrs, posterior_summary
from swisbayes.spec.analysis import AnalysisSpec, Sampler
from swisbayes.spec.joint import JointSpec, check_report, load_joint_spec


def _flat(posterior: xr.Dataset, name: str, outcome: str | None = None) -> np.ndarray:
    da = posterior[name] if outcome is None else posterior[name].sel(outcome=outcome)
    return da.to_numpy().reshape(-1)


def independent_joint_probability(results: Mapping[str, FitResult],
                                  conditions: Mapping[str, float] | Sequence[str] | None = None,
                                  *, new_la: bool = False) -> JointProbability:
    """Joint probability from separately fitted outcomes, assuming independence.

    Parameters
    ----------
    results : mapping of str to FitResult
        One fit per outcome, keyed by outcome (``fit(load_spec("models/care_entry.toml"))``...).
    conditions : mapping of str to float, or sequence of str, optional
        IRR threshold by outcome; outcome names alone, or None (every outcome of ``results``),
        use ``1 - mcid`` of each fit's spec.
    new_la : bool, default False
        Use the effect in a new LA instead of the average effect.

    Returns
    -------
    JointProbability
        ``method == "independence"``: the product of the marginal probabilities, which
        ignores any dependence between the outcomes.

    Raises
    ------
    ValueError
        If a fit's outcome differs from its key.
    """
    for outcome, result in results.items():
        if result.spec.outcome != outcome:
            raise ValueError(f"results[{outcome!r}] is a fit of {result.spec.outcome!r}")
    defaults = {o: 1.0 - r.spec.decision.mcid for o, r in results.items()}
    thresholds = resolve_conditions(conditions, defaults)
    quantity = quantity_label(new_la)
    marginals = {o: prob_below(_flat(results[o].idata["posterior"].to_dataset(), quantity), t)
                 for o, t in thresholds.items()}
    names = ", ".join(results[o].spec.name for o in thresholds)
    return JointProbability(thresholds=thresholds, probability=product_of_marginals(marginals),
                            marginals=marginals, method=INDEPENDENCE_METHOD, quantity=quantity,
                            source=f"separate fits: {names}")


@dataclass(frozen=True, kw_only=True)
class JointResult(SampledResult):
    """A fitted joint model: posterior, diagnostics, joint probabilities and provenance.

    Parameters
    ----------
    idata : xarray.DataTree
        Posterior and sample stats; ``irr``, ``irr_new_la``, ``sigma_*`` and ``corr_*`` have an
        ``outcome`` or ``outcome_pair`` dim.
    specs : tuple of AnalysisSpec
        The outcome specs combined (priors resolved).
    joint_spec : JointSpec
        The joint spec, with the sampler settings used.
    diagnostics : Diagnostics
        Diagnostics of the reported (last) attempt.
    attempts : tuple of Attempt
    provenance : dict
    """

    specs: tuple[AnalysisSpec, ...]
    joint_spec: JointSpec

    method: str = JOINT_METHOD
    """Joint probabilities of this result come from the joint model's paired draws."""

    @property
    def outcomes(self) -> list[str]:
        """The outcomes, in model order."""
        return [s.outcome for s in self.specs]

    def draws(self, outcome: str, *, new_la: bool = False) -> np.ndarray:
        """Posterior draws of one outcome's IRR (flattened over chains, paired across outcomes).

        Parameters
        ----------
        outcome : str
        new_la : bool, default False
            The IRR in a new LA instead of the average IRR.

        Returns
        -------
        numpy.ndarray
        """
        return _flat(self.posterior, quantity_label(new_la), outcome)

    def thresholds(self) -> dict[str, float]:
        """Default IRR threshold by outcome: the report's, else ``1 - mcid`` of its spec."""
        fixed = self.joint_spec.report.thresholds
        return {s.outcome: fixed.get(s.outcome, 1.0 - s.decision.mcid) for s in self.specs}

    def effect(self, outcome: str, *, new_la: bool = False,
               ci_prob: float | None = None) -> RatioSummary:
        """Marginal summary of one outcome's IRR (median, interval, probabilities).

        Parameters
        ----------
        outcome : str
        new_la : bool, default False
        ci_prob : float, optional
            Interval probability; defaults to 0.95.

        Returns
        -------
        RatioSummary
        """
        mcid = next(s.decision.mcid for s in self.specs if s.outcome == outcome)
        return summarise_ratio(self.draws(outcome, new_la=new_la), mcid=mcid, ci_prob=ci_prob)

    def _marginals(self, thresholds: Mapping[str, float], new_la: bool) -> dict[str, float]:
        return {o: prob_below(self.draws(o, new_la=new_la), t) for o, t in thresholds.items()}

    def joint_probability(self, conditions: Mapping[str, float] | Sequence[str] | None = None,
                          *, new_la: bool = False) -> JointProbability:
        """P(every listed outcome's IRR is below its threshold), from the joint posterior.

        Parameters
        ----------
        conditions : mapping of str to float, or sequence of str, optional
            IRR threshold by outcome, e.g. ``{"s47": 0.9, "care_entry": 0.9}``; outcome names
            alone, or None (every outcome), use :meth:`thresholds`.
        new_la : bool, default False
            Use the effects in a new LA.

        Returns
        -------
        JointProbability
            ``method == "joint model"``.
        """
        thresholds = resolve_conditions(conditions, self.thresholds())
        quantity = quantity_label(new_la)
        draws = {o: self.draws(o, new_la=new_la) for o in thresholds}
        return JointProbability(thresholds=thresholds,
                                probability=prob_all_below(draws, thresholds),
                                marginals=self._marginals(thresholds, new_la),
                                method=JOINT_METHOD, quantity=quantity,
                                source=f"joint posterior ({self.joint_spec.name})")

    def independence_probability(self,
                                 conditions: Mapping[str, float] | Sequence[str] | None = None,
                                 *, new_la: bool = False) -> JointProbability:
        """The product of this posterior's marginal probabilities (assuming independence).

        The same marginals as :meth:`joint_probability`, so the two differ only by the
        dependence between the outcomes. See :func:`independent_joint_probability` for
        separately fitted outcomes.

        Parameters
        ----------
        conditions : mapping of str to float, or sequence of str, optional
        new_la : bool, default False

        Returns
        -------
        JointProbability
            ``method == "independence"``.
        """
        thresholds = resolve_conditions(conditions, self.thresholds())
        marginals = self._marginals(thresholds, new_la)
        return JointProbability(thresholds=thresholds, probability=product_of_marginals(marginals),
                                marginals=marginals, method=INDEPENDENCE_METHOD,
                                quantity=quantity_label(new_la),
                                source=f"marginals of the joint posterior ({self.joint_spec.name})")

    def report_sets(self) -> list[tuple[str, ...]]:
        """Every pair of outcomes, then the joint spec's further sets."""
        pairs = list(itertools.combinations(self.outcomes, 2))
        return pairs + [s for s in self.joint_spec.report.sets if s not in pairs]

    def table(self, sets: Sequence[Sequence[str]] | None = None, *,
              new_la: bool = False) -> pd.DataFrame:
        """Joint probabilities of sets of outcomes, joint model next to independence.

        Parameters
        ----------
        sets : sequence of sequence of str, optional
            Outcome sets; :meth:`report_sets` when None. Each uses :meth:`thresholds`.
        new_la : bool, default False

        Returns
        -------
        pandas.DataFrame
            One row per set: ``outcomes``, ``thresholds``, ``joint_model`` (the joint
            posterior), ``assuming_independence`` (product of the same marginals) and their
            ``difference`` (joint minus independence).
        """
        rows = []
        for names in sets if sets is not None else self.report_sets():
            joint = self.joint_probability(list(names), new_la=new_la)
            product = product_of_marginals(joint.marginals)
            rows.append({"outcomes": " & ".join(names),
                         "thresholds": ", ".join(f"{t:.2f}" for t in joint.thresholds.values()),
                         "joint_model": joint.probability, "assuming_independence": product,
                         "difference": joint.probability - product})
        return pd.DataFrame(rows).set_index("outcomes")

    def correlations(self, level: str = "school", ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior median and equal-tailed interval of each pair's correlation.

        Parameters
        ----------
        level : {"school", "la"}
            Correlation of the school effects, or of the LA intercepts.
        ci_prob : float, optional
            Interval probability; defaults to 0.95.

        Returns
        -------
        pandas.DataFrame
            Indexed by pair ``"a:b"``: ``median``, ``ci_low``, ``ci_high``, ``ci_prob``.
        """
        name = f"corr_{level}"
        if level not in LEVELS or name not in self.posterior:
            raise KeyError(f"no {level!r} correlation in this model; levels: "
                           f"{[lv for lv in LEVELS if f'corr_{lv}' in self.posterior]}")
        prob = validate_ci_prob(ci_prob)
        da = self.posterior[name]
        rows = {}
        for pair in da["outcome_pair"].to_numpy():
            draws = da.sel(outcome_pair=pair).to_numpy().ravel()
            lo, hi = equal_tailed_interval(draws, prob)
            rows[str(pair)] = {"median": float(np.median(draws)), "ci_low": lo, "ci_high": hi,
                               "ci_prob": prob}
        return pd.DataFrame.from_dict(rows, orient="index")

    def correlation_matrix(self, level: str = "school") -> pd.DataFrame:
        """Posterior medians of a level's correlations as an outcome x outcome matrix."""
        matrix = pd.DataFrame(np.eye(len(self.outcomes)), index=self.outcomes,
                              columns=self.outcomes)
        for pair, row in self.correlations(level).iterrows():
            a, b = str(pair).split(":")
            matrix.loc[a, b] = matrix.loc[b, a] = row["median"]
        return matrix

    def summary(self, ci_prob: float | None = None) -> pd.DataFrame:
        """Posterior summary of the main parameters (mean, sd, interval, ESS, R-hat), printed
        as :meth:`FitResult.summary <swisbayes.inference.fitting.FitResult.summary>` is."""
        names = [v for v in SUMMARY_VARS if v in self.posterior]
        return posterior_summary(self.posterior, names, ci_prob=ci_prob)

    def _probabilities(self, new_la: bool) -> list[dict]:
        rows = []
        for names in self.report_sets():
            joint = self.joint_probability(list(names), new_la=new_la)
            rows.append({**joint.to_dict(), "probability_assuming_independence":
                         product_of_marginals(joint.marginals)})
        return rows

    def _correlation_dict(self) -> dict:
        out = {}
        for level in LEVELS:
            if f"corr_{level}" in self.posterior:
                table = self.correlations(level)
                out[level] = {pair: {"median": r["median"], "ci95": [r["ci_low"], r["ci_high"]]}
                              for pair, r in table.iterrows()}
        return out

    def to_dict(self) -> dict:
        """JSON-ready result: method, effects, joint probabilities, correlations, diagnostics."""
        d = self.diagnostics
        return {
            "analysis": self.joint_spec.name,
            "method": self.method,
            "model": MODEL_DESCRIPTION,
            "outcomes": self.outcomes,
            "effects": {o: {**ratio_keys(self.effect(o)), "new_la": ratio_keys(
                self.effect(o, new_la=True))} for o in self.outcomes},
            "joint_probabilities": self._probabilities(new_la=False),
            "joint_probabilities_new_la": self._probabilities(new_la=True),
            "correlations": self._correlation_dict(),
            "diagnostics": {"rhat_max": d.rhat_max, "ess_bulk_min": d.ess_bulk_min,
                            "ess_tail_min": d.ess_tail_min, "divergences": d.divergences,
                            "bfmi_min": d.bfmi_min, "treedepth_share": d.treedepth_share,
                            "ok": d.ok,
                            "reasons": list(d.reasons), "attempts": len(self.attempts)},
            "file_sha256": self.provenance["file_sha256"],
            "content_sha256": self.provenance["content_sha256"],
            "seed": self.joint_spec.sampler.seed,
            "sampler": self.joint_spec.sampler.backend,
            "swisbayes_version": self.provenance["versions"]["swisbayes"],
        }

    @property
    def text(self) -> str:
        """The reported joint probabilities in plain English, flagged if the fit failed."""
        lines = [self.joint_probability(list(s)).text for s in self.report_sets()]
        if not self.ok:
            lines.insert(0, self.warning)
        return "\n".join(lines)

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the posterior with specs, diagnostics and provenance to netCDF, atomically."""
        return self._save(path, {
            "swisbayes_joint_spec": self.joint_spec.to_json(),
            "swisbayes_specs": json.dumps([json.loads(s.to_json()) for s in self.specs]),
        })

    @classmethod
    def from_netcdf(cls, path: str | Path) -> JointResult:
        """Load a result written by :meth:`to_netcdf`."""
        tree = xr.load_datatree(path, engine="h5netcdf")
        diagnostics, attempts, provenance = load_gate_attrs(tree)
        return cls(
            idata=tree,
            specs=tuple(AnalysisSpec.model_validate(s)
                        for s in json.loads(tree.attrs["swisbayes_specs"])),
            joint_spec=JointSpec.model_validate_json(tree.attrs["swisbayes_joint_spec"]),
            diagnostics=diagnostics, attempts=attempts, provenance=provenance)


def _resolve_joint(joint: JointSpec | str | Path | None,
                   specs: Sequence[AnalysisSpec] | None) -> JointSpec:
    if isinstance(joint, JointSpec):
        return joint
    if joint is not None:
        return load_joint_spec(joint)
    return JointSpec() if specs is not None else load_joint_spec()


def fit_joint(specs: Sequence[AnalysisSpec] | None = None,
              data: str | Path | pd.DataFrame | SchoolData | None = None, *,
              joint: JointSpec | str | Path | None = None, sampler: Sampler | None = None,
              progress: bool = False, raise_on_failure: bool = False) -> JointResult:
    """Fit the joint model of several count outcomes, with the diagnostics gate.

    Parameters
    ----------
    specs : sequence of AnalysisSpec, optional
        One spec per outcome; the joint spec's outcome specs when None.
    data : path, DataFrame or SchoolData, optional
        School-level data; the bundled synthetic SWIS dataset when None.
    joint : JointSpec, path or None
        Joint spec (LKJ shape, reported sets, sampler). None: ``models/joint.toml`` when
        ``specs`` is None, else the defaults of :class:`JointSpec`.
    sampler : Sampler, optional
        Overrides the joint spec's sampler settings.
    progress : bool, default False
    raise_on_failure : bool, default False
        Raise :class:`ConvergenceError` instead of returning a flagged result.

    Returns
    -------
    JointResult
        ``result.ok`` is False, with the reasons, if the fit failed the gate after its retry.

    Examples
    --------
    ::

        result = fit_joint()                                    # four outcomes, bundled data
        result.joint_probability({"s47": 0.9, "care_entry": 0.9}).text
        result.table()                                          # every pair, vs independence
        result.correlations("school")
    """
    joint = _resolve_joint(joint, specs)
    if sampler is not None:
        joint = joint.model_copy(update={"sampler": sampler})
    # Resolve each prior once, as fit() does, so the result records exactly the prior used.
    specs = tuple(s.with_prior(s.effect_prior) for s in (specs or joint.analyses()))
    check_combinable(specs)
    check_report(joint, [s.outcome for s in specs])
    school_data = read_school_data(require_data(data, "fit_joint"),
                                   outcomes=[s.outcome for s in specs],
                                   covariates=specs[0].covariates)
    build = build_joint_model(specs, school_data, lkj_eta=joint.lkj_eta)
    idata, attempts, compile_info = sample_with_gate(build, joint.sampler, progress=progress)
    provenance = {
        "versions": library_versions(), "joint_spec": joint.name,
        "specs": [s.name for s in specs], "model": MODEL_DESCRIPTION,
        "data_source": school_data.source, "file_sha256": school_data.file_sha256,
        "content_sha256": school_data.content_sha256,
        "n_schools": len(school_data.frame), "n_las": len(build.coords["la"]),
        "seed": joint.sampler.seed, "sampler": joint.sampler.model_dump(),
        "target_accept_used": attempts[-1].target_accept, "compile": compile_info,
        "data_warnings": [i.describe(school_data.source) for i in school_data.report.warnings],
    }
    result = JointResult(idata=idata, specs=specs, joint_spec=joint,
                         diagnostics=attempts[-1].diagnostics, attempts=attempts,
                         provenance=provenance)
    if raise_on_failure and not result.ok:
        raise ConvergenceError(f"{joint.name}: joint fit failed its diagnostics after "
                               f"{len(attempts)} attempt(s): "
                               + "; ".join(result.diagnostics.reasons))
    return result


__all__ = ["JointResult", "fit_joint", "independent_joint_probability"]
