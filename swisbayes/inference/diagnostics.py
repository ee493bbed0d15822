"""The convergence gate every fit passes through: R-hat, bulk and tail ESS, divergences, E-BFMI
and tree-depth saturation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np
import xarray as xr

from swisbayes._base.defaults import (
    BFMI_MIN,
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    MAX_DIVERGENCES,
    MAX_TREEDEPTH_SHARE,
    RHAT_MAX,
)
from swisbayes.stats import convergence

TREEDEPTH_STATS = ("maxdepth_reached", "reached_max_treedepth")
"""Names of the "hit the maximum tree depth" sample stat: nutpie's, then PyMC's NUTS's."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one fit, and the verdict of the gate.

    The last four fields were added after the first release: diagnostics saved before then
    read back with them None (not checked), and keep the verdict they were saved with.

    Parameters
    ----------
    rhat_max : float
        Largest rank-normalised split R-hat over every posterior quantity.
    rhat_worst : str
        Quantity with that R-hat.
    ess_bulk_min : float
        Smallest bulk ESS over every posterior quantity.
    ess_worst : str
        Quantity with that bulk ESS.
    divergences : int
        Divergent transitions after warm-up, all chains.
    ok : bool
        True when every threshold is met.
    reasons : tuple of str
        One plain sentence per failed threshold (empty when ``ok``).
    ess_tail_min : float or None
        Smallest tail ESS (of the 5% and 95% quantiles) over every posterior quantity.
    ess_tail_worst : str or None
        Quantity with that tail ESS.
    bfmi_min : float or None
        Smallest E-BFMI over the chains; None when the sampler records no energy.
    treedepth_share : float or None
        Share of post-warm-up transitions that hit the maximum tree depth, all chains; None
        when the sampler does not record it.
    """

    rhat_max: float
    rhat_worst: str
    ess_bulk_min: float
    ess_worst: str
    divergences: int
    ok: bool
    reasons: tuple[str, ...]
    ess_tail_min: float | None = field(default=None, kw_only=True)
    ess_tail_worst: str | None = field(default=None, kw_only=True)
    bfmi_min: float | None = field(default=None, kw_only=True)
    treedepth_share: float | None = field(default=None, kw_only=True)

    def to_dict(self) -> dict:
        """The diagnostics as JSON-ready data."""
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Diagnostics:
        """Inverse of :meth:`to_dict`; reads diagnostics saved before the later fields existed
        (those are None).

        Raises
        ------
        TypeError
            For a key that is not a field.
        """
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise TypeError(f"unknown diagnostics field(s): {', '.join(sorted(unknown))}")
        return cls(**{**d, "reasons": tuple(d["reasons"])})


def _extreme(stat: xr.Dataset, pick: str) -> tuple[float, str]:
    """Largest (pick='max') or smallest value over all variables and their elements."""
    best_val, best_name = (-np.inf, "") if pick == "max" else (np.inf, "")
    for name, da in stat.data_vars.items():
        values = np.asarray(da.to_numpy(), dtype=float)
        if values.size == 0:
            continue
        if np.isnan(values).any():
            return float("nan"), str(name)
        idx = int(np.argmax(values) if pick == "max" else np.argmin(values))
        val = float(values.ravel()[idx])
        if (pick == "max" and val > best_val) or (pick == "min" and val < best_val):
            label = str(name)
            if da.ndim:
                coords = np.unravel_index(idx, da.shape)
                label += "[" + ",".join(str(da[d].to_numpy()[i]) if d in da.coords else str(i)
                                        for d, i in zip(da.dims, coords, strict=True)) + "]"
            best_val, best_name = val, label
    return best_val, best_name


def _per_element(posterior: xr.Dataset, statistics,
                 names: tuple[str, ...]) -> dict[str, xr.Dataset]:
    """``statistics`` (``(chain, draw, ...)`` draws to one array per name, each with one value
    per element) of every variable, by name, keeping the variables' other dims and coordinates."""
    out: dict[str, dict[str, xr.DataArray]] = {name: {} for name in names}
    for var, da in posterior.data_vars.items():
        da = da.transpose("chain", "draw", ...)
        dims = da.dims[2:]
        coords = {d: da[d] for d in dims if d in da.coords}
        for name, values in zip(names, statistics(da.to_numpy()), strict=True):
            out[name][var] = xr.DataArray(values, dims=dims, coords=coords)
    return {name: xr.Dataset(variables) for name, variables in out.items()}


def _tail_prob() -> float:
    # The probability ArviZ's tail ESS puts between its two quantiles when none is given,
    # its ``stats.ci_prob`` setting (0.89 unless changed): what the gate has always used.
    from arviz_base import rcParams

    return float(rcParams["stats.ci_prob"])


def _bfmi(sample_stats: xr.Dataset) -> xr.DataArray | None:
    """E-BFMI of each chain, or None without an ``energy`` stat."""
    if "energy" not in sample_stats:
        return None
    energy = sample_stats["energy"].transpose("chain", "draw")
    return xr.DataArray(convergence.bfmi(energy.to_numpy()), dims="chain",
                        coords={"chain": energy["chain"]} if "chain" in energy.coords else {})


def _treedepth_share(sample_stats: xr.Dataset) -> float | None:
    """Share of transitions at the maximum tree depth, or None when it is not recorded.

    ``arviz_stats.diagnose`` counts the same thing but knows only PyMC's name for it.
    """
    for name in TREEDEPTH_STATS:
        if name in sample_stats:
            return float(np.asarray(sample_stats[name].to_numpy(), dtype=bool).mean())
    return None


def compute_diagnostics(idata: xr.DataTree, *, rhat_max: float = RHAT_MAX,
                        ess_bulk_min: float = ESS_BULK_MIN,
                        ess_tail_min: float = ESS_TAIL_MIN,
                        max_divergences: int = MAX_DIVERGENCES,
                        bfmi_min: float = BFMI_MIN,
                        max_treedepth_share: float = MAX_TREEDEPTH_SHARE) -> Diagnostics:
    """Apply the convergence gate to a sampled posterior.

    R-hat and both ESS are taken over every posterior variable (the new-LA predictions
    included); E-BFMI and tree depth come from ``sample_stats`` (nutpie's or PyMC's names),
    which hold only post-warm-up transitions. A check whose statistic the sampler did not
    record is skipped and its field is None.

    Parameters
    ----------
    idata : xarray.DataTree
        Result of a sampler, with ``posterior`` and ``sample_stats`` groups.
    rhat_max, ess_bulk_min, ess_tail_min, max_divergences, bfmi_min, max_treedepth_share : optional
        Thresholds; the package defaults are 1.01, 400, 400, 0, 0.3 (per chain) and 0.01
        (share of transitions).

    Returns
    -------
    Diagnostics
    """
    posterior = idata["posterior"].to_dataset()
    sample_stats = idata["sample_stats"].to_dataset()
    prob = _tail_prob()
    statistics = _per_element(posterior, lambda draws: convergence.gate_statistics(
        draws, prob=prob), ("rhat", "ess_bulk", "ess_tail"))
    rhat, rhat_name = _extreme(statistics["rhat"], "max")
    ess, ess_name = _extreme(statistics["ess_bulk"], "min")
    tail, tail_name = _extreme(statistics["ess_tail"], "min")
    divergences = int(sample_stats["diverging"].sum())
    bfmi = _bfmi(sample_stats)
    bfmi_low = None if bfmi is None else float(bfmi.min(skipna=False))
    depth_share = _treedepth_share(sample_stats)
    reasons = []
    if not rhat <= rhat_max:
        reasons.append(f"max R-hat {rhat:.4f} exceeds {rhat_max} (worst: {rhat_name})")
    if not ess >= ess_bulk_min:
        reasons.append(f"min bulk ESS {ess:.0f} is below {ess_bulk_min} (worst: {ess_name})")
    if not tail >= ess_tail_min:
        reasons.append(f"min tail ESS {tail:.0f} is below {ess_tail_min} (worst: {tail_name})")
    if divergences > max_divergences:
        reasons.append(f"{divergences} divergent transition(s) after warm-up")
    if bfmi is not None and not bfmi_low >= bfmi_min:
        low = bfmi.where(~(bfmi >= bfmi_min), drop=True)
        chains = ", ".join(str(c) for c in low[low.dims[0]].to_numpy())
        reasons.append(f"E-BFMI {bfmi_low:.2f} is below {bfmi_min} (chain(s) {chains}): "
                       "the sampler explores the energy levels poorly")
    if depth_share is not None and depth_share > max_treedepth_share:
        reasons.append(f"{depth_share:.1%} of transitions hit the maximum tree depth "
                       f"(more than {max_treedepth_share:.0%})")
    return Diagnostics(rhat_max=rhat, rhat_worst=rhat_name, ess_bulk_min=ess,
                       ess_worst=ess_name, divergences=divergences, ok=not reasons,
                       reasons=tuple(reasons), ess_tail_min=tail, ess_tail_worst=tail_name,
                       bfmi_min=bfmi_low, treedepth_share=depth_share)
