"""Answer a cell from another cell's draws by Pareto-smoothed importance sampling (PSIS).

Two cells of a group differ only in the prior on the effect and in the scales of half-normal
hyperpriors, so the ratio of their posteriors is the ratio of those prior densities, evaluated
at the draws: the mixture log density of each variable carrying the effect prior, and the
half-normal log density of each variable whose scale changed. Which model variables those are
is read from the model graph (:func:`find_targets`), so a model with two parts (the hurdle's
``zero_``/``pos_`` variables) is handled like the count model.

PSIS (Vehtari et al. 2024) smooths the largest weights and estimates the Pareto shape k-hat of
their tail; above 0.7 the estimate is unreliable and the cell is sampled instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from swisbayes.data.io import SchoolData
from swisbayes.decision.draws import normalised_weights
from swisbayes.priors.library import MixturePrior
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.hyper import get_scale, half_normal_paths, set_scale
from swisbayes.stats.ranks import thin

_PROBE_PRIOR = MixturePrior("probe", "probe", "probe", (0.3, 0.7), (0.123, -0.234),
                            (0.345, 0.456))
"""A prior no spec uses: building with it shows which model data hold the effect prior."""


@dataclass(frozen=True)
class PriorTargets:
    """The posterior variables whose priors a grid may change, by what changes them.

    Parameters
    ----------
    effect : tuple of str or None
        Variables with the effect prior (a normal mixture on the log IRR); None when the effect
        prior also enters the model elsewhere, so it cannot be reweighted.
    scales : dict of str to tuple of str
        Half-normal variables by hyperprior path (``"sigma_la_effect"``); a path the model uses
        in any other way is absent (it cannot be reweighted).
    """

    effect: tuple[str, ...] | None
    scales: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PriorState:
    """What the importance ratio depends on: the effect prior and the half-normal scales."""

    effect: MixturePrior
    scales: dict[str, float]

    @classmethod
    def of(cls, spec: AnalysisSpec, effect: MixturePrior) -> PriorState:
        """The state of a spec whose effect prior resolves to ``effect``."""
        return cls(effect, {p: get_scale(spec, p) for p in half_normal_paths()})

    def changed_scales(self, other: PriorState) -> list[str]:
        """Hyperprior paths whose scale differs from ``other``'s."""
        return [p for p, s in self.scales.items() if s != other.scales[p]]


@dataclass(frozen=True)
class Reweighted:
    """Importance weights of a proposal's draws for a target cell.

    Parameters
    ----------
    weights : numpy.ndarray or None
        Normalised weights, one per draw (chains then draws); None when the two posteriors are
        the same (the log ratio is constant), so equal weights are exact.
    pareto_khat : float or None
        Pareto k-hat of the weights' tail (None with equal weights).
    ess : float
        Importance-sampling ESS: relative efficiency of the draws times ``1 / sum(w^2)`` (the
        number of draws with equal weights).
    """

    weights: np.ndarray | None
    pareto_khat: float | None
    ess: float

    def acceptable(self, max_khat: float, min_ess: float) -> bool:
        """Whether the weighted draws are trusted (k-hat and ESS thresholds)."""
        if self.weights is None:
            return True
        return bool(self.pareto_khat < max_khat and self.ess >= min_ess)


class NotReweightableError(ValueError):
    """The two cells differ in a way importance weights cannot express."""


def find_targets(spec: AnalysisSpec, data: SchoolData, paths: list[str]) -> PriorTargets:
    """Find the model variables carrying the effect prior and the hyperpriors at ``paths``.

    Builds the model (no compile) for the spec and for probes that change one prior, and looks at
    which ``pm.Data`` values changed and which variables use them.

    Parameters
    ----------
    spec : AnalysisSpec
    data : SchoolData
    paths : list of str
        Half-normal hyperprior paths that vary in the grid.

    Returns
    -------
    PriorTargets
    """
    from swisbayes.families.registry import build_model

    base = build_model(spec, data)
    users = _data_users(base.model)
    effect_keys = _keys_changed_by(spec, spec.with_prior(_PROBE_PRIOR), data, base.data_values)
    effect = _targets_of(base.model, effect_keys, users, "MixtureRV")
    scales = {}
    for path in paths:
        probe = _with_scale(spec, path, 2.0 * get_scale(spec, path) + 0.1)
        keys = _keys_changed_by(spec, probe, data, base.data_values)
        found = _targets_of(base.model, keys, users, "HalfNormalRV")
        if found is not None:
            scales[path] = found
    return PriorTargets(effect=effect, scales=scales)


def _keys_changed_by(spec: AnalysisSpec, probe: AnalysisSpec, data: SchoolData,
                     values: dict[str, np.ndarray]) -> list[str]:
    """The model data that differ between ``spec`` and ``probe`` (``values`` are spec's)."""
    from swisbayes.families.common import prior_values
    from swisbayes.families.registry import build_model

    # prior_values is instant; building the probe's model is the sure way, used when the
    # names it gives are not all data of this model (another model kind names them otherwise).
    keys = _changed(prior_values(spec), prior_values(probe))
    if keys and all(k in values for k in keys):
        return keys
    return _changed(values, build_model(probe, data).data_values)


def _with_scale(spec: AnalysisSpec, path: str, scale: float) -> AnalysisSpec:
    from swisbayes._base.config import validated

    raw = spec.model_dump(mode="json")
    set_scale(raw["priors"]["hyper"], path, scale)
    return validated(AnalysisSpec, raw, f"<probe {path}>")


def _changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> list[str]:
    return sorted(k for k in before if not np.array_equal(before[k], after.get(k)))


def _data_users(model) -> dict[str, list]:
    """For each ``pm.Data`` name, the model variables that use it directly (not via another
    free variable)."""
    from pytensor.graph.traversal import ancestors

    free = list(model.free_RVs)
    users: dict[str, list] = {}
    nodes = [*free, *model.observed_RVs, *model.deterministics, *model.potentials]
    for var in nodes:
        is_rv = var in free or var in model.observed_RVs
        roots = list(var.owner.inputs) if is_rv and var.owner is not None else [var]
        blockers = [rv for rv in free if rv is not var]
        names = {a.name for a in ancestors(roots, blockers=blockers)
                 if a.name in model.named_vars and a not in blockers and a is not var}
        for name in names:
            users.setdefault(name, []).append(var)
    return users


def _targets_of(model, keys: list[str], users: dict[str, list],
                op_name: str) -> tuple[str, ...] | None:
    """Variables using ``keys``, if every user is a free variable of the expected kind."""
    if not keys:
        return ()
    found: list[str] = []
    for key in keys:
        for var in users.get(key, []):
            if var not in model.free_RVs or type(var.owner.op).__name__ != op_name:
                return None
            if op_name == "HalfNormalRV" and not _half_normal_on(var, key):
                return None
            found.append(var.name)
    return tuple(dict.fromkeys(found))


def _half_normal_on(var, key: str) -> bool:
    """True for ``HalfNormal(0, sigma=key)``: the scale is the data itself, the location 0."""
    loc, sigma = var.owner.inputs[-2], var.owner.inputs[-1]
    data = getattr(loc, "data", None)
    return sigma.name == key and data is not None and np.all(np.asarray(data) == 0)


def log_ratio(posterior: xr.Dataset, targets: PriorTargets, new: PriorState,
              old: PriorState) -> np.ndarray:
    """Log prior ratio ``log p_new(theta) - log p_old(theta)`` at each draw of ``posterior``.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with dims (chain, draw, ...), sampled under ``old``.
    targets : PriorTargets
    new, old : PriorState

    Returns
    -------
    numpy.ndarray
        Shape (chain, draw).

    Raises
    ------
    NotReweightableError
        If a changed prior has no reweightable target in the model.
    """
    from scipy import stats

    sizes = (posterior.sizes["chain"], posterior.sizes["draw"])
    total = np.zeros(sizes)

    def add(name: str, values: np.ndarray) -> None:
        nonlocal total
        total = total + values.reshape(*sizes, -1).sum(axis=-1)

    if new.effect != old.effect:
        if targets.effect is None:
            raise NotReweightableError("the effect prior enters the model outside its variables")
        for name in targets.effect:
            x = _sample_first(posterior[name])
            add(name, new.effect.logpdf(x) - old.effect.logpdf(x))
    for path in new.changed_scales(old):
        if path not in targets.scales:
            raise NotReweightableError(f"the hyperprior {path!r} is not a plain half-normal")
        for name in targets.scales[path]:
            x = _sample_first(posterior[name])
            add(name, stats.halfnorm.logpdf(x, scale=new.scales[path])
                - stats.halfnorm.logpdf(x, scale=old.scales[path]))
    return total


def _sample_first(da: xr.DataArray) -> np.ndarray:
    return da.transpose("chain", "draw", ...).to_numpy()


def kish_ess(weights: np.ndarray | None, n: int | None = None) -> float:
    """Kish's effective sample size of importance weights, ``1 / sum(w^2)`` (w summing to 1).

    Parameters
    ----------
    weights : numpy.ndarray or None
        Importance weights; None means ``n`` equal weights.
    n : int, optional
        Number of draws (needed when ``weights`` is None).

    Returns
    -------
    float
        The number of draws when the weights are equal.

    Raises
    ------
    ValueError
        If ``weights`` is None and ``n`` is not given.
    SpecError
        If the weights are not finite, non-negative and summing to more than 0.

    Examples
    --------
    >>> kish_ess(np.ones(100))
    100.0
    >>> round(kish_ess(np.array([1.0, 1.0, 0.0, 0.0])), 6)
    2.0
    """
    if weights is None:
        if n is None:
            raise ValueError("kish_ess: n (the number of draws) is needed when weights is None")
        return float(n)
    size = np.size(weights)
    w = normalised_weights(weights, size)
    return float(size) if w is None else float(1.0 / np.sum(w**2))


def psis(log_ratios: np.ndarray) -> Reweighted:
    """Pareto-smoothed importance weights for draws with these log importance ratios.

    Parameters
    ----------
    log_ratios : numpy.ndarray
        Shape (chain, draw).

    Returns
    -------
    Reweighted

    Notes
    -----
    Uses ``arviz_stats.base.array_stats.psislw``, which follows the leave-one-out convention
    (its input is minus the log ratio, as for a log likelihood). The relative efficiency of the
    MCMC draws (``r_eff``, the relative ESS of the raw ratios) sets the tail length and scales
    the importance ESS, as in the loo package.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(4, 1000))          # draws from N(0, 1), reweighted to N(0.3, 1)
    >>> r = psis(0.3 * x - 0.045)
    >>> r.pareto_khat < 0.7, abs(float(np.sum(r.weights * x.ravel())) - 0.3) < 0.05
    (True, True)
    """
    from arviz_stats.base import array_stats

    lr = np.asarray(log_ratios, dtype=float)
    n = lr.size
    if not np.all(np.isfinite(lr)):
        return Reweighted(np.full(n, 1.0 / n), float("inf"), 0.0)
    if np.ptp(lr) < 1e-12:
        return Reweighted(None, None, float(n))
    raw = np.exp(lr - lr.max())
    r_eff = float(array_stats.ess(raw, chain_axis=0, draw_axis=1, method="mean",
                                  relative=True))
    r_eff = min(max(r_eff, 1e-3), 1.0) if np.isfinite(r_eff) else 1.0
    log_weights, khat = array_stats.psislw(-lr.ravel(), r_eff=r_eff)
    weights = np.exp(log_weights - np.max(log_weights))
    weights /= weights.sum()
    return Reweighted(weights, float(khat), r_eff * kish_ess(weights))


def reweight(posterior: xr.Dataset, targets: PriorTargets, new: PriorState,
             old: PriorState) -> Reweighted | None:
    """PSIS weights of ``posterior`` (sampled under ``old``) for ``new``, or None when the two
    differ in a way importance weights cannot express (see :func:`log_ratio`)."""
    try:
        return psis(log_ratio(posterior, targets, new, old))
    except NotReweightableError:
        return None


def equal_weight_draws(draws: np.ndarray, weights: np.ndarray | None, n: int) -> np.ndarray:
    """``n`` equally weighted draws standing for importance-weighted ones.

    Systematic resampling (deterministic: the points ``(i + 1/2) / n`` of the weights'
    cumulative sum), so that draws of separately fitted quantities can be paired by index.
    Without weights, ``n`` evenly spaced draws (all of them when there are ``n``).

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of one scalar, flat (chains then draws).
    weights : numpy.ndarray or None
        Normalised importance weights, one per draw.
    n : int
        Draws wanted (at most ``len(draws)``).

    Returns
    -------
    numpy.ndarray
        Shape (n,), in the draws' order.

    Examples
    --------
    >>> equal_weight_draws(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 0.5, 0.5, 0.0]), 4)
    array([2., 2., 3., 3.])
    """
    x = np.asarray(draws, dtype=float).ravel()
    if weights is None:
        return x if x.size == n else thin(x, n)
    cdf = np.cumsum(np.asarray(weights, dtype=float).ravel())
    idx = np.searchsorted(cdf / cdf[-1], (np.arange(n) + 0.5) / n)
    return x[np.minimum(idx, x.size - 1)]


__all__ = [
    "NotReweightableError", "PriorState", "PriorTargets", "Reweighted", "equal_weight_draws",
    "find_targets", "kish_ess", "log_ratio", "psis", "reweight"
]
