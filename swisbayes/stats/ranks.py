"""Rank statistics of simulation-based calibration and their PIT-ECDF test, in NumPy and SciPy.

If the fitted posterior is the true posterior, the rank of the true parameter among ``L``
independent posterior draws is uniform on ``0..L`` across datasets drawn from the prior
(Talts et al. 2018). Autocorrelated draws make ranks pile up at the ends, so the draws are
thinned first.

Uniformity is tested with the PIT-ECDF and its simultaneous confidence band (Säilynoja,
Bürkner and Vehtari 2022), not with binned counts. Rank ``r`` is the PIT value
``(r + 1) / (L + 1)``, and the ECDF of ``N`` such values is evaluated at the ``L`` points
``z_i = i / (L + 1)``, ``i = 1..L``, where it is the share of ranks below ``i``. Under
uniformity the count below ``i`` is Binomial(N, z_i) at each point, jointly as for ``N``
continuous uniforms cut at the ``z_i`` (the rank is the cell a continuous uniform falls in), so
the band of the continuous case applies exactly. The test statistic is the smallest two-sided
binomial tail probability over the points,

.. math::

    T = \\min_i \\min\\{1, 2 \\min(F_i(c_i), 1 - F_i(c_i - 1))\\}, \\qquad
    F_i = \\mathrm{Binomial}(N, z_i)\\ \\text{CDF},

its null distribution is simulated, and the simultaneous ``prob`` band is the set of counts
whose pointwise tail probability is at least the ``1 - prob`` quantile ``t`` of the null
:math:`T`: the whole ECDF stays inside the band exactly when :math:`T \\ge t`. This is the
band of ``arviz_stats.ecdf_utils.simulate_confidence_bands`` and of the R packages ``SBC`` and
``bayesplot`` (their pointwise level is ``1 - t``), evaluated at the rank partition so that
discrete ranks are handled exactly; the p-value, the share of null :math:`T` at or below the
observed one, is added here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DEFAULT_RANKS = 99
"""Posterior draws each truth is ranked among (ranks 0..99: 100 values)."""

ALPHA = 0.01
"""Family-wise level of the uniformity flags (divided by the number of parameters)."""

BAND_PROB = 0.95
"""Simultaneous coverage of the PIT-ECDF band drawn and reported for each parameter."""

NULL_SIMULATIONS = 100_000
"""Uniform rank sets simulated for the null distribution of the test statistic (its 1e-4
quantile, used by the Bonferroni flags of 16 parameters, rests on 10 of them)."""

NULL_SEED = 2022
"""Seed of the null simulation: the band and p-values are the same on every run."""


def thin(draws: np.ndarray, n: int = DEFAULT_RANKS) -> np.ndarray:
    """``n`` draws evenly spaced through the chains (concatenated), as near-independent draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of one scalar, shape (chain, draw) or flat.
    n : int, default 99

    Returns
    -------
    numpy.ndarray
        Shape (n,). With 6000 draws and 99 kept, kept draws are about 60 iterations apart, and
        a fit passing the gate (bulk and tail ESS >= 400) has little autocorrelation at that
        lag.

    Raises
    ------
    ValueError
        If there are fewer than ``n`` draws.
    """
    flat = np.asarray(draws, dtype=float).reshape(-1)
    if flat.size < n:
        raise ValueError(f"{flat.size} draws cannot be thinned to {n}")
    return flat[np.linspace(0, flat.size - 1, n).round().astype(int)]


def rank_of(truth: float, draws: np.ndarray, n: int = DEFAULT_RANKS) -> int:
    """Rank of ``truth`` among ``n`` thinned draws: how many are below it (0..n)."""
    return int(np.sum(thin(draws, n) < truth))


def pit_ecdf(ranks: np.ndarray, n_ranks: int = DEFAULT_RANKS) -> tuple[np.ndarray, np.ndarray]:
    """The PIT-ECDF of ranks at the rank partition.

    Parameters
    ----------
    ranks : numpy.ndarray
        One rank per replicate, each in 0..n_ranks.
    n_ranks : int, default 99

    Returns
    -------
    z : numpy.ndarray
        ``i / (n_ranks + 1)`` for ``i = 1..n_ranks``.
    ecdf : numpy.ndarray
        Share of ranks below ``i`` (of PIT values ``(r + 1) / (n_ranks + 1)`` at most ``z``).

    Raises
    ------
    ValueError
        If a rank is outside 0..n_ranks.
    """
    counts = _counts_below(np.asarray(ranks, dtype=np.int64)[None, :], n_ranks)[0]
    return _partition(n_ranks), counts / max(np.size(ranks), 1)


def _partition(n_ranks: int) -> np.ndarray:
    return np.arange(1, n_ranks + 1) / (n_ranks + 1)


def _counts_below(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Per row of ``ranks`` (sets of ranks), how many are below ``i``, for ``i = 1..n_ranks``."""
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_ranks):
        raise ValueError(f"ranks must lie in 0..{n_ranks}; found {ranks.min()}..{ranks.max()}")
    rows = ranks.shape[0]
    offsets = ranks + (n_ranks + 1) * np.arange(rows)[:, None]
    counts = np.bincount(offsets.ravel(), minlength=rows * (n_ranks + 1))
    return np.cumsum(counts.reshape(rows, n_ranks + 1), axis=1)[:, :-1]


@functools.lru_cache(maxsize=32)
def _tail_table(n_replicates: int, n_ranks: int) -> np.ndarray:
    """Two-sided pointwise tail probability of every count 0..N at every point (L x (N + 1))."""
    from scipy import stats  # imported here: every fit imports this module, few need the test

    c = np.arange(n_replicates + 1)[None, :]
    z = _partition(n_ranks)[:, None]
    lower = stats.binom.cdf(c, n_replicates, z)
    upper = stats.binom.sf(c - 1, n_replicates, z)
    table = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    table.setflags(write=False)
    return table


def _statistic(counts: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The smallest pointwise tail probability of each row of counts."""
    return table[np.arange(table.shape[0]), counts].min(axis=-1)


@functools.lru_cache(maxsize=32)
def null_statistics(n_replicates: int, n_ranks: int = DEFAULT_RANKS,
                    n_simulations: int = NULL_SIMULATIONS, seed: int = NULL_SEED) -> np.ndarray:
    """The test statistic of ``n_simulations`` sets of uniform ranks, sorted.

    Parameters
    ----------
    n_replicates : int
        Ranks per set (SBC replicates), at least 1.
    n_ranks : int, default 99
    n_simulations : int, default 100000
    seed : int, default 2022

    Returns
    -------
    numpy.ndarray
        Read-only, ascending; cached per arguments in the process.
    """
    rng = np.random.default_rng(seed)
    table = _tail_table(n_replicates, n_ranks)
    out = np.empty(n_simulations)
    chunk = max(1, 2_000_000 // max(n_replicates, 1))
    for start in range(0, n_simulations, chunk):
        rows = min(chunk, n_simulations - start)
        ranks = rng.integers(0, n_ranks + 1, size=(rows, n_replicates))
        out[start:start + rows] = _statistic(_counts_below(ranks, n_ranks), table)
    out.sort()
    out.setflags(write=False)
    return out


def band_threshold(n_replicates: int, n_ranks: int = DEFAULT_RANKS, prob: float = BAND_PROB,
                   *, n_simulations: int = NULL_SIMULATIONS, seed: int = NULL_SEED) -> float:
    """The pointwise tail probability ``t`` below which a count leaves the ``prob`` band.

    The ``1 - prob`` quantile of the null statistic, taken from below so that the share of
    null statistics under ``t`` is at most ``1 - prob`` (coverage at least ``prob``, up to
    Monte Carlo error). ``1 - t`` is the pointwise level of the simultaneous band.
    """
    null = null_statistics(n_replicates, n_ranks, n_simulations, seed)
    return float(null[int(np.floor((1.0 - prob) * null.size))])


@dataclass(frozen=True)
class PitEcdfTest:
    """The PIT-ECDF of one parameter's ranks against its simultaneous band.

    Parameters
    ----------
    z : numpy.ndarray
        Evaluation points ``i / (L + 1)``, ``i = 1..L``.
    ecdf : numpy.ndarray
        The PIT-ECDF at ``z``.
    lower, upper : numpy.ndarray
        The simultaneous ``prob`` band of the ECDF at ``z``.
    statistic : float
        Smallest two-sided pointwise tail probability of the ECDF (see the module).
    p_value : float
        Share of uniform rank sets whose statistic is at most this one; NaN without ranks.
    prob : float
        Simultaneous coverage of the band.
    outside : bool
        Whether the ECDF leaves the band at some point (``statistic`` below the band's
        threshold).
    n : int
        Ranks tested.
    """

    z: np.ndarray
    ecdf: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    statistic: float
    p_value: float
    prob: float
    outside: bool
    n: int


def pit_ecdf_test(ranks: np.ndarray, n_ranks: int = DEFAULT_RANKS, prob: float = BAND_PROB,
                  *, n_simulations: int = NULL_SIMULATIONS,
                  seed: int = NULL_SEED) -> PitEcdfTest:
    """Test ranks for uniformity with the PIT-ECDF and its simultaneous band.

    Parameters
    ----------
    ranks : numpy.ndarray
        One rank per replicate, each in 0..n_ranks.
    n_ranks : int, default 99
    prob : float, default 0.95
        Simultaneous coverage of the band.
    n_simulations, seed : int
        Of the null simulation (:func:`null_statistics`).

    Returns
    -------
    PitEcdfTest
        Without ranks: NaN ECDF, statistic and p-value, an empty band, ``outside`` False.

    Raises
    ------
    ValueError
        If a rank is outside 0..n_ranks or ``prob`` is not in (0, 1).

    References
    ----------
    Säilynoja, T., Bürkner, P.-C. and Vehtari, A. (2022). Graphical test for discrete
    uniformity and its applications in goodness-of-fit evaluation and multiple sample
    comparison. *Statistics and Computing* 32, 32.
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be strictly between 0 and 1; got {prob!r}")
    ranks = np.asarray(ranks, dtype=np.int64).reshape(-1)
    z = _partition(n_ranks)
    n = ranks.size
    if n == 0:
        nan = np.full(n_ranks, np.nan)
        return PitEcdfTest(z, nan, nan, nan, float("nan"), float("nan"), prob, False, 0)
    counts = _counts_below(ranks[None, :], n_ranks)[0]
    table = _tail_table(n, n_ranks)
    statistic = float(_statistic(counts, table))
    null = null_statistics(n, n_ranks, n_simulations, seed)
    p_value = float(np.searchsorted(null, statistic, side="right") / null.size)
    threshold = band_threshold(n, n_ranks, prob, n_simulations=n_simulations, seed=seed)
    inside = table >= threshold  # an interval of counts at each point (the tails are monotone)
    lower = inside.argmax(axis=1) / n
    upper = (n - inside[:, ::-1].argmax(axis=1)) / n
    return PitEcdfTest(z=z, ecdf=counts / n, lower=lower, upper=upper, statistic=statistic,
                       p_value=p_value, prob=prob, outside=bool(statistic < threshold), n=n)


def flag_threshold(n_parameters: int, alpha: float = ALPHA) -> float:
    """Bonferroni threshold: a parameter is flagged when its p-value is below this."""
    return alpha / max(n_parameters, 1)


__all__ = [
    "ALPHA", "BAND_PROB", "DEFAULT_RANKS", "NULL_SEED", "NULL_SIMULATIONS", "PitEcdfTest",
    "band_threshold", "flag_threshold", "null_statistics", "pit_ecdf", "pit_ecdf_test",
    "rank_of", "thin"
]
