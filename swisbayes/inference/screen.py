"""A cheap screen for prior sensitivity: power-scaling the effect prior and the likelihood.

The grid (:func:`~swisbayes.workflows.sensitivity.run_grid`) asks "what if the prior were this other
one?" for a list of priors. Power-scaling (Kallioinen et al. 2024, ``arviz_stats.psense``) asks a
local question of one fit, with no new sampling: how much does the posterior of the effect move when
the prior (or the likelihood) is raised to a power slightly above or below 1? It uses importance
weights on the fit's own draws, so it costs one evaluation of the log prior and log likelihood per
draw.

**The rule.** For each effect parameter (``log_irr``; its ratio ``irr`` is reported too) the
diagnostic is the cumulative Jensen-Shannon distance per unit of log power. Only the *effect*
prior is power-scaled (not the hyperpriors or the LA offsets, which are not priors a
decision-maker chooses). With threshold 0.05 (the usual one, :data:`THRESHOLD`):

- prior value >= 0.05 and likelihood value >= 0.05: **prior-data conflict**;
- prior value >= 0.05 and likelihood value < 0.05: **strong prior / weak likelihood**;
- otherwise: no sign of prior sensitivity.

An outcome is **flagged** (its conclusion may depend on the prior) when any effect parameter gets
one of the first two diagnoses.

The screen is local: a fit under a vague prior passes it whatever the data say, yet a strong,
distant prior on the grid can still move the decision. :func:`compare_with_grid` notes where
the screen and the grid disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from swisbayes.data.io import SchoolData, read_school_data

FitResult = Any
"""A fitted result (:class:`swisbayes.inference.fitting.FitResult`, which imports this module)."""

THRESHOLD = 0.05
"""Power-scaling sensitivity at or above which a component is called sensitive."""

CONFLICT = "prior-data conflict"
STRONG_PRIOR = "strong prior / weak likelihood"
INSENSITIVE = "ok"

_EFFECT_VARS = {"log_irr": "irr", "zero_log_irr": "zero_irr",
                "positive_log_irr": "positive_irr"}
"""Effect parameters (free variables with the effect prior) and their ratio scale."""

_RATIO_NAMES = {"irr": "irr", "zero_irr": "zero_irr", "positive_irr": "positive_irr",
                "odds_ratio": "odds_ratio"}


@dataclass(frozen=True)
class ScreenResult:
    """The power-scaling screen of one fit.

    Parameters
    ----------
    analysis : str
        The spec's name (the outcome's analysis).
    prior : str
        Name of the fit's effect prior.
    values : pandas.DataFrame
        One row per effect variable (``log_irr``, ``irr``, ...), columns ``prior`` and
        ``likelihood`` (the power-scaling sensitivities) and ``diagnosis``.
    threshold : float
        The threshold used (see the module docstring).
    cell : str or None
        The grid cell of the fit (None outside a grid).
    axes : dict
        The cell's grid axes (empty outside a grid).
    """

    analysis: str
    prior: str
    values: pd.DataFrame
    threshold: float = THRESHOLD
    cell: str | None = None
    axes: dict = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True when some effect variable is prior-sensitive (conflict or strong prior)."""
        return bool((self.values["diagnosis"] != INSENSITIVE).any())

    @property
    def diagnosis(self) -> str:
        """The worst diagnosis over the effect variables (conflict > strong prior > ok)."""
        found = set(self.values["diagnosis"])
        return next((d for d in (CONFLICT, STRONG_PRIOR) if d in found), INSENSITIVE)

    def to_dict(self) -> dict:
        """JSON-ready record of the screen."""
        return {"analysis": self.analysis, "prior": self.prior, "cell": self.cell,
                "axes": self.axes, "threshold": self.threshold, "flagged": self.flagged,
                "diagnosis": self.diagnosis,
                "variables": {name: {"prior": _float(row["prior"]),
                                     "likelihood": _float(row["likelihood"]),
                                     "diagnosis": row["diagnosis"]}
                              for name, row in self.values.iterrows()}}

    @property
    def text(self) -> str:
        """One line per effect variable, and the verdict."""
        head = f"{self.analysis} (prior {self.prior}): power-scaling screen"
        lines = [head] + [
            f"  {name:10} prior {row['prior']:.3f}  likelihood {row['likelihood']:.3f}  "
            f"{row['diagnosis']}" for name, row in self.values.iterrows()]
        verdict = ("FLAGGED: the conclusion may depend on the prior" if self.flagged
                   else "not prior-sensitive")
        lines.append(f"  -> {verdict} (threshold {self.threshold:g})")
        return "\n".join(lines)


def _float(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def diagnose(prior: float, likelihood: float, threshold: float = THRESHOLD) -> str:
    """The diagnosis of one variable from its two power-scaling sensitivities.

    Parameters
    ----------
    prior, likelihood : float
        Power-scaling sensitivity to the prior and to the likelihood.
    threshold : float, default 0.05

    Returns
    -------
    str
        ``"prior-data conflict"``, ``"strong prior / weak likelihood"`` or ``"ok"``.
    """
    if prior >= threshold:
        return CONFLICT if likelihood >= threshold else STRONG_PRIOR
    return INSENSITIVE


def effect_variables(posterior: xr.Dataset) -> tuple[list[str], list[str]]:
    """The effect parameters of a posterior, and the variables to report.

    Returns
    -------
    priors : list of str
        Free variables carrying the effect prior (``log_irr``, or a hurdle's two parts).
    report : list of str
        Those and their ratios (``irr``, ``odds_ratio``, ...), as present.
    """
    priors = [v for v in _EFFECT_VARS if v in posterior]
    ratios = [v for v in _RATIO_NAMES if v in posterior]
    return priors, priors + ratios


def fitted_data(result: FitResult,
                data: str | Path | pd.DataFrame | SchoolData | None = None) -> SchoolData:
    """The data a fit was fitted to, checked against its hash.

    Parameters
    ----------
    result : FitResult
    data : path, DataFrame or SchoolData, optional
        The data it was fitted to; the fit's own when None.

    Returns
    -------
    SchoolData
        Read for the fit's outcome and covariates.

    Raises
    ------
    ValueError
        If there are no data (a fit loaded from netCDF keeps none), or they are not those of
        the fit (their ``content_sha256`` differs from the fit's).
    """
    spec = result.spec
    if data is None:
        data = result.data
    if data is None:
        raise ValueError(f"{spec.name}: the fit was loaded without its data; pass the data "
                         "it was fitted to")
    school_data = read_school_data(data, outcomes=[spec.outcome], covariates=spec.covariates)
    fitted = result.provenance["content_sha256"]
    if school_data.content_sha256 != fitted:
        scope = result.provenance.get("content_sha256_scope")
        why = (f"; the fit's hash covers {scope}, so it cannot be checked: fit it again"
               if scope else "")
        raise ValueError(f"{spec.name}: the data given are not the data of the fit "
                         f"(content_sha256 {school_data.content_sha256[:12]} vs "
                         f"{fitted[:12]}){why}")
    return school_data


def with_log_densities(result: FitResult, data: str | Path | pd.DataFrame | SchoolData | None
                       = None) -> xr.DataTree:
    """A copy of the fit's draws with ``log_prior`` (effect prior) and ``log_likelihood`` groups.

    Parameters
    ----------
    result : FitResult
        The fit (e.g. from :func:`swisbayes.fit` or :meth:`FitResult.from_netcdf`).
    data : path, DataFrame or SchoolData, optional
        The data it was fitted to; the fit's own when None.

    Returns
    -------
    xarray.DataTree

    Raises
    ------
    ValueError
        If the data are not those of the fit (their ``content_sha256`` differs from the
        fit's).
    """
    from pymc.stats import compute_log_prior

    from swisbayes.families.predictive import pointwise_log_likelihood
    from swisbayes.families.registry import build_model

    # the spec holds the resolved prior, so the rebuilt model has the fitted prior's values
    build = build_model(result.spec, fitted_data(result, data))
    tree = result.idata.copy()
    priors, _ = effect_variables(tree["posterior"].to_dataset())
    tree["log_prior"] = xr.DataTree(compute_log_prior(
        tree, model=build.model, var_names=priors, extend_inferencedata=False,
        progressbar=False))
    tree["log_likelihood"] = xr.DataTree(pointwise_log_likelihood(build, tree))
    return tree


def power_scaling_screen(result: FitResult,
                         data: str | Path | pd.DataFrame | SchoolData | None = None, *,
                         threshold: float = THRESHOLD,
                         alphas: tuple[float, float] = (0.99, 1.01)) -> ScreenResult:
    """Screen one fit for sensitivity of its effect to the effect prior (power-scaling).

    Parameters
    ----------
    result : FitResult
    data : path, DataFrame or SchoolData, optional
        The data of the fit; the fit's own when None.
    threshold : float, default 0.05
        See the module docstring for the rule.
    alphas : tuple of float, default (0.99, 1.01)
        Powers to scale the prior and the likelihood by.

    Returns
    -------
    ScreenResult

    Examples
    --------
    ::

        screen = power_scaling_screen(swisbayes.fit(spec))
        screen.flagged, screen.values
    """
    from arviz_stats import psense

    tree = with_log_densities(result, data)
    priors, report = effect_variables(tree["posterior"].to_dataset())
    sense = {group: psense(tree, var_names=report, group=group, alphas=alphas,
                           group_var_names=priors if group == "prior" else None)
             for group in ("prior", "likelihood")}
    values = pd.DataFrame({group: [float(sense[group][v]) for v in report]
                           for group in sense}, index=pd.Index(report, name="variable"))
    values["diagnosis"] = [diagnose(p, lk, threshold)
                           for p, lk in zip(values["prior"], values["likelihood"], strict=True)]
    return ScreenResult(result.spec.name, result.spec.priors.effect.name, values, threshold)


__all__ = [
    "THRESHOLD",
    "ScreenResult",
    "diagnose",
    "effect_variables",
    "fitted_data",
    "power_scaling_screen",
    "with_log_densities"
]
