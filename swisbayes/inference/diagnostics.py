"""The convergence gate every fit passes through: R-hat, bulk ESS and divergences."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import xarray as xr

from swisbayes._base.defaults import ESS_BULK_MIN, MAX_DIVERGENCES, RHAT_MAX


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one fit, and the verdict of the gate.

    Parameters
    ----------
    rhat_max : float
        Largest rank-normalised split R-hat over every posterior quantity.
    rhat_worst : str
        Quantity with that R-hat.
    ess_bulk_min : float
        Smallest bulk ESS over every posterior quantity.
    ess_worst : str
        Quantity with that ESS.
    divergences : int
        Divergent transitions after warm-up, all chains.
    ok : bool
        True when every threshold is met.
    reasons : tuple of str
        One plain sentence per failed threshold (empty when ``ok``).
    """

    rhat_max: float
    rhat_worst: str
    ess_bulk_min: float
    ess_worst: str
    divergences: int
    ok: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        """The diagnostics as JSON-ready data (``ok`` and the three numbers first)."""
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""
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


def compute_diagnostics(idata: xr.DataTree, *, rhat_max: float = RHAT_MAX,
                        ess_bulk_min: float = ESS_BULK_MIN,
                        max_divergences: int = MAX_DIVERGENCES) -> Diagnostics:
    """Apply the convergence gate to a sampled posterior.

    Parameters
    ----------
    idata : xarray.DataTree
        Result of a sampler, with ``posterior`` and ``sample_stats`` groups.
    rhat_max, ess_bulk_min, max_divergences : optional
        Thresholds; the package defaults are 1.01, 400 and 0.

    Returns
    -------
    Diagnostics
    """
    posterior = idata["posterior"].to_dataset()
    rhat, rhat_name = _extreme(az.rhat(posterior), "max")
    ess, ess_name = _extreme(az.ess(posterior, method="bulk"), "min")
    divergences = int(idata["sample_stats"]["diverging"].sum())
    reasons = []
    if not rhat <= rhat_max:
        reasons.append(f"max R-hat {rhat:.3f} exceeds {rhat_max} (worst: {rhat_name})")
    if not ess >= ess_bulk_min:
        reasons.append(f"min bulk ESS {ess:.0f} is below {ess_bulk_min} (worst: {ess_name})")
    if divergences > max_divergences:
        reasons.append(f"{divergences} divergent transition(s) after warm-up")
    return Diagnostics(rhat_max=rhat, rhat_worst=rhat_name, ess_bulk_min=ess,
                       ess_worst=ess_name, divergences=divergences, ok=not reasons,
                       reasons=tuple(reasons))
