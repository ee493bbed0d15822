"""Convergence diagnostics of MCMC draws in NumPy: rank-normalised split R-hat, bulk, tail and
mean effective sample sizes, and E-BFMI, exactly as ``arviz_stats`` computes them.

Every fit passes through these, and ``arviz_stats`` cannot be imported without ``scipy.stats``
(half a second, a sixth of a fresh-process fit, for a few dozen lines of arithmetic). So they
are written out here, following ``arviz_stats.base.diagnostics`` line by line; the tests hold
each one to ``arviz_stats``' own value. Draws are arrays of shape ``(chain, draw, *shape)`` and
every statistic is computed for each element of ``shape`` at once (vectorised ranks, FFTs and
sums; only Geyer's truncation of the autocorrelations runs element by element).

References
----------
Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), Rank-normalization, folding, and
localization: an improved R-hat for assessing convergence of MCMC. Bayesian Analysis 16(2).
Betancourt (2016), Diagnosing suboptimal cotangent disintegrations in Hamiltonian Monte Carlo.
arXiv:1604.00695.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MIN_DRAWS = 4
"""Fewest draws per chain for any statistic (fewer give NaN, as in ArviZ)."""


def _elements(draws: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(chain, draw, *shape)`` as ``(element, chain, draw)`` floats, and ``shape``."""
    draws = np.asarray(draws)
    if draws.ndim < 2:
        raise ValueError(f"draws need (chain, draw, ...) dims, got shape {draws.shape}")
    shape = draws.shape[2:]
    flat = draws.reshape(*draws.shape[:2], -1).astype(float)
    return np.ascontiguousarray(np.moveaxis(flat, -1, 0)), shape


def _invalid(x: np.ndarray, min_chains: int) -> np.ndarray:
    """Elements ArviZ returns NaN for: any NaN, or too few chains or draws."""
    _, chains, n = x.shape
    return np.isnan(x).any(axis=(1, 2)) | (chains < min_chains) | (n < MIN_DRAWS)


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as separate chains (a middle draw is dropped)."""
    half = x.shape[-1] // 2
    return np.concatenate((x[..., :half], x[..., -half:]), axis=1)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each row, ties given their average rank (``scipy.stats.rankdata``)."""
    rows, n = values.shape
    order = np.argsort(values, axis=1)  # ties get one average rank, whatever their order
    ordered = np.take_along_axis(values, order, axis=1)
    positions = np.broadcast_to(np.arange(n), (rows, n))
    starts = np.ones((rows, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ranks = np.empty((rows, n))
    if starts.all():  # no ties (continuous draws): each value's rank is its position
        np.put_along_axis(ranks, order, positions + 1.0, axis=1)
        return ranks
    ends = np.ones((rows, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, positions, n)[:, ::-1], axis=1)[:, ::-1]
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of each element (Blom's offset 3/8)."""
    # imported here: the decision layer imports this module, and a summary-level re-analysis
    # (no draws) should not pay for SciPy's special functions
    from scipy.special import ndtri

    flat = x.reshape(x.shape[0], -1)
    ranks = _average_ranks(flat)
    c = 3 / 8
    return ndtri((ranks - c) / (flat.shape[1] - 2 * c + 1)).reshape(x.shape)


def _rhat_basic(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    chain_mean = x.mean(axis=2)
    between = n * np.var(chain_mean, axis=1, ddof=1)
    within = np.var(x, axis=2, ddof=1).mean(axis=1)
    return np.sqrt((between / within + n - 1) / n)


def rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat: the larger of the bulk and the folded (tail) R-hat.

    Parameters
    ----------
    draws : numpy.ndarray
        Shape ``(chain, draw, *shape)``.

    Returns
    -------
    numpy.ndarray
        Shape ``shape``; NaN for an element with a NaN, fewer than 2 chains or 4 draws.
    """
    x, shape = _elements(draws)
    return _rhat_of(x)[0].reshape(shape)


def _rhat_of(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """R-hat of each element of ``x`` (element, chain, draw), and the rank-normalised split
    chains of its valid elements (None if there are none), which the bulk ESS uses too."""
    out = np.full(x.shape[0], np.nan)
    ok = ~_invalid(x, min_chains=2)
    if not ok.any():
        return out, None
    split = _split(x[ok])
    folded = np.abs(split - np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None])
    z_split = _z_scale(split)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ok] = np.maximum(_rhat_basic(z_split), _rhat_basic(_z_scale(folded)))
    return out, z_split


def _fast_length(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n: the FFT length ``scipy.fftpack.next_fast_len`` gives."""
    best = 1 << max(n - 1, 0).bit_length()
    five = 1
    while five < best:
        three = five
        while three < best:
            length = three
            while length < n:
                length *= 2
            best = min(best, length)
            three *= 3
        five *= 5
    return best


def _ess_basic(x: np.ndarray) -> np.ndarray:
    """ESS of each element's chains (Geyer's initial monotone sequence), as ArviZ's ``_ess``."""
    k, chains, n = x.shape
    flat = x.reshape(k, -1)
    constant = (flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution
    centred = x - x.mean(axis=2, keepdims=True)
    m = _fast_length(2 * n)
    spectrum = np.fft.rfft(centred, n=m, axis=2)
    spectrum *= np.conjugate(spectrum)
    acov = np.fft.irfft(spectrum, n=m, axis=2)[..., :n]
    acov /= n
    # The mean over chains at every lag, summed as ArviZ's np.mean(acov[:, t]) sums it.
    mean_acov = np.ascontiguousarray(np.swapaxes(acov, 1, 2)).mean(axis=2)
    chain_mean = x.mean(axis=2)
    mean_var = mean_acov[:, 0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus = var_plus + np.var(chain_mean, axis=1, ddof=1)
    total = chains * n
    floor = 1 / np.log10(total)
    rho_lags = (1.0 - (mean_var[:, None] - mean_acov) / var_plus[:, None]).tolist()
    out = np.empty(k)
    for i in range(k):
        out[i] = total if constant[i] else total / _geyer_tau(rho_lags[i], n, floor)
    return out


def _geyer_tau(rho_lag: list[float], n: int, floor: float) -> float:
    """Integrated autocorrelation time from the autocorrelations at lags 0..n-1 (Python floats,
    the arithmetic ArviZ does on NumPy scalars)."""
    rho_hat_t = [0.0] * n
    rho_hat_even = 1.0
    rho_hat_t[0] = rho_hat_even
    rho_hat_odd = rho_lag[1]
    rho_hat_t[1] = rho_hat_odd
    # Geyer's initial positive sequence
    t = 1
    while t < (n - 3) and (rho_hat_even + rho_hat_odd) > 0.0:
        rho_hat_even = rho_lag[t + 1]
        rho_hat_odd = rho_lag[t + 2]
        if (rho_hat_even + rho_hat_odd) >= 0:
            rho_hat_t[t + 1] = rho_hat_even
            rho_hat_t[t + 2] = rho_hat_odd
        t += 2
    max_t = t - 2
    if rho_hat_even > 0:
        rho_hat_t[max_t + 1] = rho_hat_even
    # Geyer's initial monotone sequence
    t = 1
    while t <= max_t - 2:
        if (rho_hat_t[t + 1] + rho_hat_t[t + 2]) > (rho_hat_t[t - 1] + rho_hat_t[t]):
            rho_hat_t[t + 1] = (rho_hat_t[t - 1] + rho_hat_t[t]) / 2.0
            rho_hat_t[t + 2] = rho_hat_t[t + 1]
        t += 2
    if any(r != r for r in rho_hat_t[: max_t + 3]):  # NaN (nothing beyond is ever set)
        return np.nan
    # NumPy's sums, in its summation order
    kept = np.array(rho_hat_t[: max_t + 2])
    tau_hat = -1.0 + 2.0 * np.sum(kept[: max_t + 1]) + np.sum(kept[max_t + 1: max_t + 2])
    return max(tau_hat, floor)


def ess(draws: np.ndarray, method: Literal["bulk", "tail", "mean"] = "bulk", *,
        prob: float | None = None) -> np.ndarray:
    """Effective sample size of each element of ``draws``.

    Parameters
    ----------
    draws : numpy.ndarray
        Shape ``(chain, draw, *shape)``; booleans are read as 0/1.
    method : {"bulk", "tail", "mean"}, default "bulk"
        "bulk": of the rank-normalised split chains; "tail": the smaller of the ESS of the
        indicators of the ``(1 - prob) / 2`` and ``(1 + prob) / 2`` quantiles (split);
        "mean": of the split chains themselves.
    prob : float, optional
        For "tail": the probability between the two quantiles.

    Returns
    -------
    numpy.ndarray
        Shape ``shape``; NaN for an element with a NaN or fewer than 4 draws per chain.
    """
    if method not in ("bulk", "tail", "mean"):
        raise ValueError(f"method must be 'bulk', 'tail' or 'mean', not {method!r}")
    if method == "tail" and (prob is None or not 0 < prob < 1):
        raise ValueError(f"a tail ESS needs 0 < prob < 1, got {prob!r}")
    x, shape = _elements(draws)
    return _ess_of(x, method, prob).reshape(shape)


def _ess_of(x: np.ndarray, method: str, prob: float | None,
            z_split: np.ndarray | None = None) -> np.ndarray:
    """:func:`ess` of each element of ``x`` (element, chain, draw); for "bulk", ``z_split``
    may bring the rank-normalised split chains of the valid elements, already computed."""
    out = np.full(x.shape[0], np.nan)
    ok = ~_invalid(x, min_chains=1)
    if ok.any():
        x = x[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "bulk":
                out[ok] = _ess_basic(_z_scale(_split(x)) if z_split is None else z_split)
            elif method == "mean":
                out[ok] = _ess_basic(_split(x))
            else:
                probs = sorted((prob, 1 - prob))
                flat = x.reshape(x.shape[0], -1)
                tails = [_ess_basic(_split((x <= np.quantile(flat, p, axis=1)[:, None, None])
                                          .astype(float))) for p in probs]
                out[ok] = np.minimum(*tails)
    return out


def gate_statistics(draws: np.ndarray, *, prob: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-hat, bulk ESS and tail ESS of each element, as :func:`rhat` and :func:`ess` give them.

    One pass for the convergence gate: the draws are read and the split chains
    rank-normalised once for both R-hat and the bulk ESS.

    Parameters
    ----------
    draws : numpy.ndarray
        Shape ``(chain, draw, *shape)``.
    prob : float
        For the tail ESS: the probability between its two quantiles.

    Returns
    -------
    rhat, ess_bulk, ess_tail : numpy.ndarray
        Each of shape ``shape``.
    """
    if not 0 < prob < 1:
        raise ValueError(f"a tail ESS needs 0 < prob < 1, got {prob!r}")
    x, shape = _elements(draws)
    r_hat, z_split = _rhat_of(x)
    # With two or more chains R-hat's valid elements are the bulk ESS's; with one, R-hat has
    # none (z_split is None) and the bulk ESS ranks its own.
    bulk = _ess_of(x, "bulk", None, z_split)
    return (r_hat.reshape(shape), bulk.reshape(shape),
            _ess_of(x, "tail", prob).reshape(shape))


def bfmi(energy: np.ndarray) -> np.ndarray:
    """Energy Bayesian fraction of missing information of each chain (Betancourt 2016).

    Parameters
    ----------
    energy : numpy.ndarray
        The sampler's energy, shape ``(chain, draw)``.

    Returns
    -------
    numpy.ndarray
        One value per chain.
    """
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1, ddof=1)


__all__ = ["bfmi", "ess", "gate_statistics", "rhat"]
