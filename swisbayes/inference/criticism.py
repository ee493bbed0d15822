"""Model criticism of a fit: posterior predictive checks, PSIS-LOO and LOO-PIT, comparison.

Everything here reads the fit's own posterior draws; nothing is sampled again. One vectorised
run of the fitted model over those draws (:func:`predictive_draws`; at most
:data:`CHECK_DRAWS` of them, every k-th of each chain) gives both a replicated dataset per draw
and the pointwise log-likelihood, so :meth:`FitResult.ppc` and :meth:`FitResult.loo` together
cost a fraction of the fit (``benchmarks/bench_check.py``).

**Posterior predictive checks** (:func:`posterior_predictive_check`). The statistics of
:mod:`swisbayes.stats.checks` (mean and variance of the school rates in each arm, the share
of schools with none, the highest school rate, the SD of LA rates) are computed on the data
and on each replicated dataset. A statistic's posterior predictive p-value is
:math:`P(T_{rep} > T_{obs}) + \\tfrac12 P(T_{rep} = T_{obs})`; it is **flagged** below
:data:`FLAG_LEVEL` or above ``1 - FLAG_LEVEL`` (2% of checks two-sided if the p-values were
uniform; posterior predictive p-values are conservative, so fewer). Rates are on each
family's scale (:class:`~swisbayes.families.registry.SchoolRate`): events per 1000 pupils,
days in care per pupil, % of sessions missed. Replicated data keep the fitted LA effects
(the usual replication), so the LA check asks whether the LAs' rates are as spread as a model
with these LA effects would make them. A pupil-level fit is checked on its school totals:
the school is the unit of randomisation.

**LOO** (:func:`loo`). The pointwise log-likelihood has one term per school (a pupil-level
fit's term is its school's cells together, so a school is left out whole), PSIS-LOO is
arviz-stats' ``loo`` with its Pareto :math:`\\hat k` per school (above 0.7 the school's
estimate is unreliable), and the LOO-PIT values (arviz-stats' ``loo_pit``, from the same
importance weights) come with their ``pot_c`` uniformity test.

**Comparison** (:func:`compare`) ranks fits of the same data by ``elpd_loo`` (arviz-stats'
``compare``): ``elpd_diff`` is each fit's elpd minus the best one's, ``dse`` its standard
error; a difference beyond about 2 ``dse`` is one the data see.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from swisbayes._base.errors import DataError, SpecError
from swisbayes.data.io import SchoolData
from swisbayes.decision.mcse import share_mcse
from swisbayes.families.predictive import SAMPLE_DIMS, pointwise_log_likelihood
from swisbayes.families.registry import family_of
from swisbayes.inference.screen import fitted_data
from swisbayes.stats.checks import STATISTICS, exceedance, school_rates, school_statistics

if TYPE_CHECKING:
    from arviz_stats.utils import ELPDData
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FitResult = Any
"""A fitted result (:class:`swisbayes.inference.fitting.FitResult`, which imports this module)."""

Data = str | Path | pd.DataFrame | SchoolData | None
"""The data of a fit, when it was loaded without them (see
:func:`~swisbayes.inference.screen.fitted_data`)."""

FLAG_LEVEL = 0.01
"""A posterior predictive p-value below this or above ``1 - FLAG_LEVEL`` is flagged."""

PARETO_K_MAX = 0.7
"""Pareto k-hat above which a school's PSIS-LOO estimate is unreliable."""

OBSERVED = "y_obs"
"""The observed variable of every family's model: one outcome per school."""

CHECK_DRAWS = 2000
"""Posterior draws the checks use at most: every k-th draw of each chain. A p-value from 2000
draws has an MCSE under 0.012 (under 0.003 near the flag at 0.01), and PSIS-LOO's elpd moved
by 0.14 (its SE: 14) on the primary fit's 6000 draws thinned to 2000, while the check cost
half as much."""


# --------------------------------------------------------------------------------------------
# Draws


def predictive_draws(fit: FitResult, data: Data = None, *, seed: int | None = None,
                     max_draws: int | None = CHECK_DRAWS) -> xr.DataTree:
    """Replicated data and pointwise log-likelihood at each posterior draw of a fit.

    Parameters
    ----------
    fit : FitResult
    data : path, DataFrame or SchoolData, optional
        The data of the fit; its own when None (needed for a fit loaded from netCDF).
    seed : int, optional
        Seed of the replicated data; the fit's sampler seed when None.
    max_draws : int or None, default 2000
        Use every k-th draw of each chain, k the smallest that keeps at most this many
        (:data:`CHECK_DRAWS`); None uses every draw.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (the draws used), ``posterior_predictive`` and ``log_likelihood``
        (``y_obs``, dims ``chain``, ``draw``, ``school``; a pupil-level fit's replicated cells
        too) and ``observed_data``: what arviz-stats' ``loo``, ``loo_pit`` and arviz-plots'
        ``plot_ppc_dist`` read.

    Raises
    ------
    ValueError
        If the fit has no data and none are given, or they are not its data.
    """
    spec = fit.spec
    seed = spec.sampler.seed if seed is None else seed
    posterior = thinned(fit.idata["posterior"].to_dataset(), max_draws)
    tree = family_of(spec).posterior_predictive(spec, fitted_data(fit, data), posterior,
                                                seed=seed, log_likelihood=True)
    tree["posterior"] = xr.DataTree(posterior)
    return tree


def thinned(posterior: xr.Dataset, max_draws: int | None) -> xr.Dataset:
    """Every k-th draw of each chain, k the smallest that keeps at most ``max_draws`` in all.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with dims ``chain`` and ``draw``.
    max_draws : int or None
        None keeps every draw.

    Returns
    -------
    xarray.Dataset
    """
    if max_draws is None:
        return posterior
    step = math.ceil(posterior.sizes["chain"] * posterior.sizes["draw"] / max_draws)
    return posterior.isel(draw=slice(None, None, step)) if step > 1 else posterior


def _log_likelihood_tree(fit: FitResult, data: Data, max_draws: int | None) -> xr.DataTree:
    """The posterior draws used and their pointwise log-likelihood (what LOO alone needs)."""
    build = family_of(fit.spec).build(fit.spec, fitted_data(fit, data))
    posterior = thinned(fit.idata["posterior"].to_dataset(), max_draws)
    return xr.DataTree.from_dict({"posterior": posterior,
                                  "log_likelihood": pointwise_log_likelihood(build, posterior)})


# --------------------------------------------------------------------------------------------
# Posterior predictive checks


@dataclass(frozen=True)
class PredictiveCheck:
    """One test statistic: its observed value and its posterior predictive p-value.

    Parameters
    ----------
    statistic : str
        Its name in :data:`~swisbayes.stats.checks.STATISTICS`.
    observed : float
        The statistic of the data (rates in the unit of the check).
    p_value : float
        :math:`P(T_{rep} > T_{obs}) + \\tfrac12 P(T_{rep} = T_{obs})` over the draws.
    mcse : float
        Monte Carlo standard error of ``p_value`` (the draws' autocorrelation counted).
    replicated : numpy.ndarray
        The statistic of each replicated dataset, chains then draws.
    """

    statistic: str
    observed: float
    p_value: float
    mcse: float
    replicated: np.ndarray = field(repr=False, compare=False)

    @property
    def flag(self) -> bool:
        """Whether the p-value is below :data:`FLAG_LEVEL` or above ``1 - FLAG_LEVEL``."""
        return self.p_value < FLAG_LEVEL or self.p_value > 1 - FLAG_LEVEL

    @property
    def description(self) -> str:
        """What the statistic is, in words."""
        return STATISTICS[self.statistic]

    def to_dict(self) -> dict:
        """JSON-ready ``observed``, ``p_value`` and ``flag``."""
        return {"observed": float(self.observed), "p_value": float(self.p_value),
                "flag": self.flag}


@dataclass(frozen=True)
class PpcResult:
    """The posterior predictive checks of one fit.

    Parameters
    ----------
    analysis : str
        The spec's name.
    unit : str
        The unit of the school rates (``"events per 1000 pupils"``).
    checks : tuple of PredictiveCheck
        One per statistic, in the order of :data:`~swisbayes.stats.checks.STATISTICS`.
    observed_rates : numpy.ndarray
        The schools' observed rates.
    replicated_rates : numpy.ndarray
        Replicated rates, shape (draw, school), chains then draws.
    arm : numpy.ndarray
        Each school's arm code (0 control, 1 SWIS).
    fit_ok : bool, default True
        Whether the fit passed its diagnostics gate (its checks mean little otherwise).
    """

    analysis: str
    unit: str
    checks: tuple[PredictiveCheck, ...]
    observed_rates: np.ndarray = field(repr=False, compare=False)
    replicated_rates: np.ndarray = field(repr=False, compare=False)
    arm: np.ndarray = field(repr=False, compare=False)
    fit_ok: bool = True

    def __getitem__(self, statistic: str) -> PredictiveCheck:
        """The check of one statistic, by name."""
        for check in self.checks:
            if check.statistic == statistic:
                return check
        raise KeyError(f"no check {statistic!r}; the checks are {', '.join(STATISTICS)}")

    @property
    def flagged(self) -> tuple[str, ...]:
        """Names of the flagged statistics."""
        return tuple(c.statistic for c in self.checks if c.flag)

    def to_dict(self) -> dict:
        """JSON-ready checks: ``{statistic: {observed, p_value, flag}}``."""
        return {c.statistic: c.to_dict() for c in self.checks}

    @property
    def text(self) -> str:
        """A table of the checks and what they say."""
        n = self.replicated_rates.shape[0]
        lines = [f"{self.analysis}: posterior predictive checks (school rates, {self.unit}; "
                 f"{n} replicated datasets)",
                 f"  {'statistic':38}{'observed':>12}{'p-value':>10}{'(MCSE)':>9}"]
        lines += [f"  {c.description:38}{c.observed:12.4g}{c.p_value:10.3f}"
                  f"{f'({c.mcse:.3f})':>9}{'  FLAGGED' if c.flag else ''}" for c in self.checks]
        if self.flagged:
            lines.append(f"  -> FLAGGED ({', '.join(self.flagged)}): the data are unlike those "
                         f"the model replicates (p-value below {FLAG_LEVEL:g} or above "
                         f"{1 - FLAG_LEVEL:g})")
        else:
            lines.append("  -> no check flagged")
        if not self.fit_ok:
            lines.append("  (the fit FAILED its convergence checks: so may these)")
        return "\n".join(lines)

    def plot(self, *, n_lines: int = 50, ax: Axes | None = None) -> Figure:
        """Densities of the observed school rates by arm against replicated ones.

        Parameters
        ----------
        n_lines : int, default 50
            Replicated datasets drawn per arm.
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from swisbayes.plots.checks import plot_predictive_rates

        return plot_predictive_rates(self.observed_rates, self.replicated_rates, self.arm,
                                     unit=self.unit, n_lines=n_lines, ax=ax)


def posterior_predictive_check(fit: FitResult, data: Data = None, *, seed: int | None = None,
                               max_draws: int | None = CHECK_DRAWS,
                               draws: xr.DataTree | None = None) -> PpcResult:
    """The posterior predictive checks of a fit, on its schools' rates.

    Parameters
    ----------
    fit : FitResult
    data : path, DataFrame or SchoolData, optional
        The data of the fit; its own when None.
    seed : int, optional
        Seed of the replicated data; the fit's sampler seed when None.
    max_draws : int or None, default 2000
        Posterior draws used at most (see :func:`predictive_draws`).
    draws : xarray.DataTree, optional
        :func:`predictive_draws` of this fit, if already made.

    Returns
    -------
    PpcResult

    Raises
    ------
    ValueError
        If the fit has no data and none are given, or they are not its data.

    Examples
    --------
    ::

        ppc = swisbayes.fit(spec).ppc()
        print(ppc.text); ppc.plot()
    """
    spec = fit.spec
    school_data = fitted_data(fit, data)
    if draws is None:
        draws = predictive_draws(fit, school_data, seed=seed, max_draws=max_draws)
    rate = family_of(spec).rate
    frame = school_data.frame
    schools = list(frame["school_id"])
    observed = draws["observed_data"][OBSERVED].sel(school=schools).to_numpy()
    replicated = (draws["posterior_predictive"][OBSERVED].sel(school=schools)
                  .transpose(*SAMPLE_DIMS, "school").to_numpy())
    denominator = rate.denominator(spec, school_data)
    design = {"denominator": denominator, "arm": frame["arm"].to_numpy(int),
              "la": frame["la_id"].to_numpy(str), "per": rate.per}
    obs, rep = school_statistics(observed, **design), school_statistics(replicated, **design)
    checks = tuple(_check(name, float(obs[name]), rep[name]) for name in STATISTICS)
    return PpcResult(spec.name, rate.unit, checks,
                     observed_rates=school_rates(observed, denominator, rate.per),
                     replicated_rates=school_rates(replicated, denominator, rate.per)
                     .reshape(-1, len(schools)),
                     arm=design["arm"], fit_ok=bool(fit.ok))


def _check(statistic: str, observed: float, replicated: np.ndarray) -> PredictiveCheck:
    """One statistic's check from its replicated values, shape (chain, draw)."""
    scores = exceedance(replicated, observed)
    p_value = float(scores.mean())
    mcse = share_mcse(p_value, scores.reshape(-1), replicated.shape[0], None)
    return PredictiveCheck(statistic, observed, p_value, mcse, replicated.reshape(-1))


# --------------------------------------------------------------------------------------------
# LOO


@dataclass(frozen=True)
class LooResult:
    """PSIS-LOO of one fit, school by school, and its LOO-PIT values.

    Parameters
    ----------
    analysis : str
        The spec's name.
    outcome : str
        The outcome it analyses.
    elpd_loo, se, p_loo : float
        Expected log pointwise predictive density, its standard error, and the effective
        number of parameters.
    pareto_k : pandas.Series
        Pareto k-hat of each school (index ``school_id``).
    content_sha256 : str
        Hash of the data fitted (only fits of the same data can be compared).
    elpd : ELPDData
        arviz-stats' result, with the pointwise values (what :func:`compare` reads).
    loo_pit : pandas.Series or None
        LOO-PIT value of each school (None when not computed).
    pit_p_value : float or None
        p-value of arviz-stats' ``pot_c`` uniformity test of the LOO-PIT values.
    fit_ok : bool, default True
        Whether the fit passed its diagnostics gate.
    """

    analysis: str
    outcome: str
    elpd_loo: float
    se: float
    p_loo: float
    pareto_k: pd.Series = field(repr=False, compare=False)
    content_sha256: str
    elpd: ELPDData = field(repr=False, compare=False)
    loo_pit: pd.Series | None = field(default=None, repr=False, compare=False)
    pit_p_value: float | None = None
    fit_ok: bool = True

    @property
    def pareto_k_over_0_7(self) -> int:
        """Schools whose Pareto k-hat exceeds :data:`PARETO_K_MAX`."""
        return int((self.pareto_k > PARETO_K_MAX).sum())

    def to_dict(self) -> dict:
        """JSON-ready ``elpd_loo``, ``se``, ``p_loo`` and ``pareto_k_over_0_7``."""
        return {"elpd_loo": self.elpd_loo, "se": self.se, "p_loo": self.p_loo,
                "pareto_k_over_0_7": self.pareto_k_over_0_7}

    @property
    def text(self) -> str:
        """The estimate, its reliability and the LOO-PIT test, in a few lines."""
        n = len(self.pareto_k)
        bad = self.pareto_k_over_0_7
        lines = [f"{self.analysis}: PSIS-LOO over {n} schools: elpd_loo {self.elpd_loo:.1f} "
                 f"(SE {self.se:.1f}), p_loo {self.p_loo:.1f}",
                 f"  Pareto k > {PARETO_K_MAX:g}: {bad} school(s)"
                 + (f" ({', '.join(self.pareto_k.index[self.pareto_k > PARETO_K_MAX])}): "
                    "their LOO estimates are unreliable" if bad else "; every estimate reliable")]
        if self.pit_p_value is not None:
            verdict = ("not uniform: the model mispredicts left-out schools"
                       if self.pit_p_value < FLAG_LEVEL else "consistent with uniform")
            lines.append(f"  LOO-PIT: uniformity test p = {self.pit_p_value:.3f} ({verdict})")
        if not self.fit_ok:
            lines.append("  (the fit FAILED its convergence checks: so may these)")
        return "\n".join(lines)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """The LOO-PIT values' ECDF minus the uniform CDF.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ValueError
            If the LOO-PIT values were not computed (``loo(..., pit=False)``).
        """
        from swisbayes.plots.checks import plot_loo_pit

        if self.loo_pit is None:
            raise ValueError(f"{self.analysis}: no LOO-PIT values; compute them with "
                             "loo(fit) (pit=True)")
        return plot_loo_pit(self.loo_pit.to_numpy(), p_value=self.pit_p_value, ax=ax)


def loo(fit: FitResult, data: Data = None, *, seed: int | None = None, pit: bool = True,
        max_draws: int | None = CHECK_DRAWS, draws: xr.DataTree | None = None) -> LooResult:
    """PSIS-LOO of a fit with one term per school, its Pareto k-hats and LOO-PIT values.

    Parameters
    ----------
    fit : FitResult
    data : path, DataFrame or SchoolData, optional
        The data of the fit; its own when None.
    seed : int, optional
        Seed of the replicated data (LOO-PIT) and of the LOO-PIT's tie-breaking for counts;
        the fit's sampler seed when None.
    pit : bool, default True
        Compute the LOO-PIT values (they need replicated data; LOO alone does not).
    max_draws : int or None, default 2000
        Posterior draws used at most (see :func:`predictive_draws`).
    draws : xarray.DataTree, optional
        :func:`predictive_draws` of this fit, if already made.

    Returns
    -------
    LooResult

    Raises
    ------
    ValueError
        If the fit has no data and none are given, or they are not its data.
    """
    from arviz_stats import loo as psis_loo
    from arviz_stats import loo_pit
    from arviz_stats.base import array_stats

    seed = fit.spec.sampler.seed if seed is None else seed
    if draws is None:
        draws = (predictive_draws(fit, data, seed=seed, max_draws=max_draws) if pit
                 else _log_likelihood_tree(fit, data, max_draws))
    with warnings.catch_warnings():
        # arviz-stats warns of any high Pareto k; the result counts and names those schools
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto",
                                category=UserWarning)
        elpd = psis_loo(draws, pointwise=True, var_name=OBSERVED)
    schools = pd.Index(elpd.pareto_k["school"].to_numpy(), name="school_id")
    pit_values = pit_p = None
    if pit:
        values = loo_pit(draws, var_names=OBSERVED,
                         log_weights=xr.Dataset({OBSERVED: elpd.log_weights}),
                         pareto_k=xr.Dataset({OBSERVED: elpd.pareto_k}),
                         random_state=seed)[OBSERVED]
        pit_values = pd.Series(values.to_numpy(), index=schools, name="loo_pit")
        pit_p = float(array_stats.uniformity_test(pit_values.to_numpy(), method="pot_c")[0])
    return LooResult(fit.spec.name, fit.spec.outcome, float(elpd.elpd), float(elpd.se),
                     float(elpd.p),
                     pd.Series(elpd.pareto_k.to_numpy(), index=schools, name="pareto_k"),
                     fit.provenance["content_sha256"], elpd, pit_values, pit_p,
                     fit_ok=bool(fit.ok))


# --------------------------------------------------------------------------------------------
# Comparison


COMPARE_COLUMNS = ("rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "pareto_k_over_0_7")
"""Columns of :attr:`Comparison.table`."""


@dataclass(frozen=True)
class Comparison:
    """Fits of the same data ranked by their expected log predictive density (PSIS-LOO).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit (index: the analysis), best first, columns :data:`COMPARE_COLUMNS`:
        ``elpd_diff`` is the fit's ``elpd_loo`` minus the best one's (0 for the best, below 0
        for the others) and ``dse`` its standard error.
    loos : tuple of LooResult
        Each fit's LOO, in the order given.
    """

    table: pd.DataFrame
    loos: tuple[LooResult, ...] = field(repr=False)

    @property
    def best(self) -> str:
        """The analysis with the highest ``elpd_loo``."""
        return str(self.table.index[0])

    def to_dict(self) -> list[dict]:
        """JSON-ready rows, best first: ``analysis`` and the columns of the table."""
        return [{"analysis": str(r.Index), **{c: _json_number(getattr(r, c))
                                               for c in COMPARE_COLUMNS}}
                for r in self.table.itertuples()]

    @property
    def text(self) -> str:
        """The elpd table and how far each fit is from the best, in standard errors."""
        head = (f"{'analysis':22}{'rank':>5}{'elpd_loo':>11}{'se':>8}{'elpd_diff':>11}"
                f"{'dse':>8}{'p_loo':>8}{'k>0.7':>7}")
        lines = [head]
        for r in self.table.itertuples():
            lines.append(f"{r.Index!s:22}{r.rank:5d}{r.elpd_loo:11.1f}{r.se:8.1f}"
                         f"{r.elpd_diff:11.1f}{r.dse:8.1f}{r.p_loo:8.1f}"
                         f"{r.pareto_k_over_0_7:7d}")
        lines.append("")
        for name, r in self.table.iloc[1:].iterrows():
            ratio = -r["elpd_diff"] / r["dse"] if r["dse"] > 0 else math.inf
            sense = ("clearly worse" if ratio > 2 else "not clearly worse")
            lines.append(f"{name}: {sense} than {self.best} (elpd_diff {r['elpd_diff']:.1f}, "
                         f"{ratio:.1f} standard errors)")
        bad = [str(n) for n, r in self.table.iterrows() if r["pareto_k_over_0_7"]]
        if bad:
            lines.append(f"Pareto k > {PARETO_K_MAX:g} in {', '.join(bad)}: those elpd "
                         "estimates are unreliable (optimistic)")
        return "\n".join(lines)


def _json_number(value: Any) -> float | int:
    return int(value) if isinstance(value, int | np.integer) else float(value)


def compare(results: Sequence[FitResult | LooResult]) -> Comparison:
    """Rank fits of the same data by PSIS-LOO (arviz-stats' ``compare``).

    Parameters
    ----------
    results : sequence of FitResult or LooResult
        Two or more fits (their LOO is computed, without LOO-PIT) or their LOO results, with
        distinct analysis names.

    Returns
    -------
    Comparison

    Raises
    ------
    SpecError
        If fewer than two are given, two share a name, or they analyse different outcomes.
    DataError
        If they were not fitted to the same data (the same ``content_sha256``, hence the same
        schools).

    Examples
    --------
    ::

        table = compare([swisbayes.fit(s) for s in specs]).table
    """
    from arviz_stats import compare as elpd_compare

    names = [r.analysis if isinstance(r, LooResult) else r.spec.name for r in results]
    if len(names) < 2 or len(set(names)) < len(names):
        raise SpecError(f"compare needs two or more fits with distinct names; got {names}")
    outcomes = {r.outcome if isinstance(r, LooResult) else r.spec.outcome for r in results}
    if len(outcomes) > 1:
        raise SpecError(f"the fits {names} analyse different outcomes ({', '.join(outcomes)}); "
                        "LOO compares models of one outcome")
    loos = tuple(r if isinstance(r, LooResult) else loo(r, pit=False) for r in results)
    hashes = {r.content_sha256 for r in loos}
    if len(hashes) > 1:
        raise DataError(f"the fits {names} were not fitted to the same data (content_sha256 "
                        f"{', '.join(sorted(h[:12] for h in hashes))}); LOO compares fits of "
                        "the same schools only")
    ranked = elpd_compare({r.analysis: r.elpd for r in loos}, round_to="none")
    by_name = {r.analysis: r for r in loos}
    table = pd.DataFrame({
        "rank": ranked["rank"].astype(int), "elpd_loo": ranked["elpd"], "se": ranked["se"],
        "elpd_diff": ranked["elpd_diff"], "dse": ranked["dse"], "p_loo": ranked["p"],
        "pareto_k_over_0_7": [by_name[n].pareto_k_over_0_7 for n in ranked.index]},
        index=pd.Index(ranked.index, name="analysis"))
    return Comparison(table, loos)


__all__ = [
    "CHECK_DRAWS",
    "COMPARE_COLUMNS",
    "FLAG_LEVEL",
    "PARETO_K_MAX",
    "Comparison",
    "LooResult",
    "PpcResult",
    "PredictiveCheck",
    "compare",
    "loo",
    "posterior_predictive_check",
    "predictive_draws",
    "thinned",
]
