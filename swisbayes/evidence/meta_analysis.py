"""Pilot-informed meta-analytic-predictive (MAP) priors, and tools to weaken or reuse priors.

The 2019/2020 SWIS pilots (Lambeth, Southampton, Stockport) estimated the effect of SWIS by
difference-in-differences against matched comparison schools. A hierarchical normal
meta-analysis of their log ratios gives a prediction for the effect in a *new* local authority:
the MAP prior (Neuenschwander et al. 2010). The prediction is drawn by MCMC and approximated by
a mixture of at most three normals (EM, components chosen by BIC), so that it fits the package's
:class:`~swisbayes.priors.library.MixturePrior` and can still be robustified with a vague component
within :data:`~swisbayes.priors.library.MAX_COMPONENTS`.

The pilots' numeric estimates were not available when the bundled ``models/pilots.toml`` was
written: its numbers are named assumptions (``source = "assumption"``), and every prior built
from them says so in its description.

Functions
---------
:func:`load_pilots`
    Read and validate a pilots TOML file.
:func:`map_prior`
    The MAP prior for a new LA (MCMC, or closed form when ``tau`` is fixed).
:func:`robustify`, :func:`discount`
    Weaken a prior: mix in a vague component, or inflate its variance (power prior).
:func:`effective_sample_size`
    A prior's worth in schools per arm of a two-arm SWIS-like trial (or RBesT's single-arm
    count, half that).
:func:`posterior_as_prior`
    Turn posterior draws of the log IRR into a mixture prior (the same EM/BIC machinery).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from swisbayes._base.defaults import RHAT_MAX
from swisbayes._base.errors import ConvergenceError, SpecError
from swisbayes.data.schema import OUTCOMES
from swisbayes.evidence.reanalysis import published_estimate
from swisbayes.inference.compile_cache import deterministic_numba
from swisbayes.priors.conjugate import normal_likelihood_from_ci
from swisbayes.priors.library import MAX_COMPONENTS, MixturePrior
from swisbayes.priors.library import vague as vague_prior
from swisbayes.spec.analysis import _describe, _Strict, _validated, read_toml

if TYPE_CHECKING:
    import xarray as xr

    from swisbayes.inference.diagnostics import Diagnostics


MU_PRIOR_SD = 1.0
"""SD of the N(0, SD) prior on the mean log ratio ``mu`` across LAs.

Weakly informative on the log IRR: 95% prior mass between IRR 0.14 and 7.1, which excludes
nothing plausible for a school-based social-care intervention.
"""

TAU_SCALE = 0.5
"""Default scale of the HalfNormal prior on the between-LA SD ``tau`` of log ratios (a choice).

Scale 0.5 puts the prior median of ``tau`` at 0.34: LAs whose true effects differ by a factor of
about 1.4 are typical and factors above 2.7 are unlikely. With two or three pilots the data say
little about ``tau``, so this choice drives the width of the MAP prior: check it with
``tau_scale`` (and ``tau=0`` for the no-heterogeneity extreme).
"""

MAP_CHAINS = 4
MAP_TUNE = 2000
"""Warm-up draws per chain of the meta-analysis (cheap: the model has a handful of parameters)."""

MAP_ATTEMPTS = ((0.95, 1), (0.99, 1), (0.99, 2))
"""Sampling runs tried in turn until one passes the gate: (target acceptance, draws multiplier).

Tiny meta-analyses have funnels, so divergences are fixed by raising the target acceptance to
0.99; an R-hat just above 1.01 (Monte Carlo noise in a weakly identified ``tau``) by doubling
the draws.
"""

PREDICTIVE_PER_DRAW = 4
"""New-LA draws ``z_new`` per posterior draw of (``mu``, ``tau``).

Averaging over ``z_new`` exactly is free, and it quarters the Monte Carlo noise that ``z_new``
adds to the tail quantiles the mixture approximation is checked against.
"""

MAX_MIXTURE_COMPONENTS = MAX_COMPONENTS - 1
"""Most components of an EM-fitted prior: one slot is kept free for :func:`robustify`."""

DEFAULT_ROBUST_WEIGHT = 0.8
"""Weight on the informative (MAP) part of a robustified prior (an assumption).

The remaining 0.2 goes on the vague component, as in RBesT's examples (``robustify(map,
weight = 0.2)``, where RBesT's weight is the one on the vague part). It lets the trial data
override the pilots when the two conflict.
"""

APPROX_QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
"""Quantiles at which an EM mixture is compared with the draws it approximates."""

MIN_DRAWS = 100
"""Fewest draws :func:`posterior_as_prior` accepts."""

# The published SWIS primary result (S47, IRR 1.055, 95% CI 0.955 to 1.166; 136 SWIS and 132
# control schools; swisbayes/data/files/published.toml) defines the information that one school
# per arm carries.
_TRIAL = published_estimate("s47")
TRIAL_SCHOOLS = (_TRIAL.n_swis, _TRIAL.n_control)
TRIAL_LOG_IRR_SE = normal_likelihood_from_ci(_TRIAL.estimate, *_TRIAL.ci, level=_TRIAL.ci_level)[1]
"""SE of the trial's log IRR, from the width of its 95% CI (0.0509)."""
TRIAL_SCHOOLS_HARMONIC = 2 / (1 / TRIAL_SCHOOLS[0] + 1 / TRIAL_SCHOOLS[1])
"""Harmonic mean of the schools per arm (133.97): a 136/132 trial is worth 133.97 per arm."""
UNIT_SD = math.sqrt(TRIAL_LOG_IRR_SE**2 * TRIAL_SCHOOLS_HARMONIC / 2)
"""SD ``sigma`` of one school's contribution to the log IRR (0.417).

A SWIS-like trial with ``n`` schools per arm estimates the log IRR with variance
``sigma**2 * 2 / n``; the published trial gives ``sigma**2 = SE**2 * n_harmonic / 2``.
"""


# --------------------------------------------------------------------------- pilot estimates


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class PilotEstimate(_Strict):
    """One pilot's estimate of the effect of SWIS on one outcome in one LA.

    Give the estimate either as a ``ratio`` with its 95% CI (``ci_low``, ``ci_high``) or as a
    ``log_estimate`` with its standard error ``se`` (log scale), not both.

    Parameters
    ----------
    la : str
        Local authority.
    outcome : str
        One of the outcomes in :data:`swisbayes.data.schema.OUTCOMES` (``"s47"``, ``"s17"``, ...).
    design : str
        How the estimate was made, e.g. ``"difference-in-differences"``.
    schools : int
        Intervention (secondary) schools behind the estimate.
    ratio, ci_low, ci_high : float, optional
        Rate ratio (SWIS vs comparison; below 1 is a reduction) and its 95% CI.
    log_estimate, se : float, optional
        The log ratio and its standard error.
    source : str
        A citation, or ``"assumption"`` when the number is not published.
    rationale : str
        One sentence on where the number comes from or why it is reasonable.
    note : str, optional
        Anything else (e.g. which clusters were analysed).
    """

    la: Annotated[str, Field(min_length=1)]
    outcome: str
    design: Annotated[str, Field(min_length=1)]
    schools: Annotated[int, Field(gt=0)]
    ratio: PositiveFloat | None = None
    ci_low: PositiveFloat | None = None
    ci_high: PositiveFloat | None = None
    log_estimate: Annotated[float, Field(allow_inf_nan=False)] | None = None
    se: PositiveFloat | None = None
    source: Annotated[str, Field(min_length=1)]
    rationale: Annotated[str, Field(min_length=1)]
    note: str = ""

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str) -> str:
        if value not in OUTCOMES:
            raise ValueError(f"unknown outcome {value!r}; expected one of {', '.join(OUTCOMES)}")
        return value

    @model_validator(mode="after")
    def _one_estimate(self) -> PilotEstimate:
        ratio_keys = {"ratio": self.ratio, "ci_low": self.ci_low, "ci_high": self.ci_high}
        log_keys = {"log_estimate": self.log_estimate, "se": self.se}
        given_ratio = [k for k, v in ratio_keys.items() if v is not None]
        given_log = [k for k, v in log_keys.items() if v is not None]
        how = "give either ratio with ci_low and ci_high, or log_estimate with se"
        if given_ratio and given_log:
            problem = (f"both forms of the estimate given ({', '.join(given_ratio + given_log)})"
                       f"; {how}, not both")
        elif not given_ratio and not given_log:
            problem = f"no estimate given; {how}"
        elif given_ratio and len(given_ratio) < 3:
            missing = [k for k in ratio_keys if k not in given_ratio]
            problem = f"missing {' and '.join(missing)}: {how}"
        elif given_log and len(given_log) < 2:
            missing = [k for k in log_keys if k not in given_log]
            problem = f"missing {' and '.join(missing)}: {how}"
        elif given_ratio and not self.ci_low < self.ratio < self.ci_high:
            problem = (f"ci_low, ci_high: the 95% CI [{self.ci_low:g}, {self.ci_high:g}] does "
                       f"not contain the ratio {self.ratio:g} (need ci_low < ratio < ci_high)")
        else:
            return self
        raise PydanticCustomError("pilot_estimate", problem)

    @property
    def log_ratio(self) -> float:
        """The estimate on the log scale: ``log_estimate``, or ``log(ratio)``."""
        return self.log_estimate if self.log_estimate is not None else math.log(self.ratio)

    @property
    def log_se(self) -> float:
        """Standard error of :attr:`log_ratio`: ``se``, or the log CI width / (2 x 1.96)."""
        if self.se is not None:
            return self.se
        return normal_likelihood_from_ci(self.ratio, self.ci_low, self.ci_high)[1]

    @property
    def is_assumption(self) -> bool:
        """True when the number is an assumption rather than a published estimate."""
        return self.source.strip().lower() == "assumption"


class _PilotsSource(_Strict):
    report: Annotated[str, Field(min_length=1)]
    url: str = ""
    peer_reviewed: str = ""
    note: str = ""


class _PilotsFile(_Strict):
    source: _PilotsSource
    pilot: Annotated[list[dict[str, Any]], Field(min_length=1)]


def load_pilots(path: str | Path) -> list[PilotEstimate]:
    """Read and validate pilot estimates from a TOML file.

    The file has a ``[source]`` table (``report``, and optionally ``url``, ``peer_reviewed``,
    ``note``) and one ``[[pilot]]`` table per estimate, with the keys of
    :class:`PilotEstimate`. Unknown keys are errors.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file (only read).

    Returns
    -------
    list of PilotEstimate
        In file order.

    Raises
    ------
    SpecError
        If the file is missing or not TOML, or any entry is invalid. Every problem is listed,
        each naming the entry (``pilot[index]`` and its ``la``) and the field: a missing or
        unknown key, a non-positive ratio, CI bound or SE, a CI that does not contain the
        ratio, both or neither of (ratio, ci_low, ci_high) and (log_estimate, se), or a second
        entry for the same LA and outcome.

    Examples
    --------
    >>> pilots = load_pilots("models/pilots.toml")
    >>> [(p.la, p.outcome) for p in pilots]
    [('Lambeth', 's47'), ('Southampton', 's47'), ('Stockport', 's17')]
    >>> round(pilots[0].log_se, 3)
    0.181
    """
    path = Path(path)
    top = _validated(_PilotsFile, read_toml(path, "pilots"), str(path), kind="pilots file")
    pilots: list[PilotEstimate] = []
    problems: list[str] = []
    first: dict[tuple[str, str], int] = {}  # (la, outcome) -> index of its first entry
    for i, entry in enumerate(top.pilot):
        la = entry.get("la")
        label = f"pilot[{i}] (la {la!r})" if isinstance(la, str) else f"pilot[{i}] (no la)"
        try:
            pilot = PilotEstimate.model_validate(entry)
        except ValidationError as exc:
            problems.extend(f"{label}: {_describe_entry_error(err)}" for err in exc.errors())
            continue
        key = (pilot.la.strip().lower(), pilot.outcome)
        if key in first:
            problems.append(f"{label}: a second {pilot.outcome} estimate for {pilot.la} "
                            f"(pilot[{first[key]}] is the first); expected one estimate per LA "
                            "and outcome, since the meta-analysis counts each as a separate LA")
        first.setdefault(key, i)
        pilots.append(pilot)
    if problems:
        raise SpecError(f"{path}: {len(problems)} problem(s) in the pilot estimates\n"
                        + "\n".join(f"  - {p}" for p in problems))
    return pilots


def _describe_entry_error(err: dict) -> str:
    """One line for a pydantic error in a pilot entry (the entry is named by the caller)."""
    if err["type"] == "pilot_estimate":
        return err["msg"]
    if err["type"] == "extra_forbidden":
        return (f"unknown key '{err['loc'][-1]}'; allowed keys: "
                f"{', '.join(PilotEstimate.model_fields)}")
    return _describe(PilotEstimate, err)


# --------------------------------------------------------------------- mixture approximation


def _fit_mixture(draws: np.ndarray, *, name: str, description: str, provenance: str,
                 n_components: int | None, seed: int, extra_details: dict) -> MixturePrior:
    """EM normal-mixture fit of 1-D draws (1 to 3 components, BIC), with its error table."""
    from sklearn.mixture import GaussianMixture

    x = np.asarray(draws, dtype=float).reshape(-1, 1)
    ks = (range(1, MAX_MIXTURE_COMPONENTS + 1) if n_components is None
          else range(n_components, n_components + 1))
    fits = {k: GaussianMixture(n_components=k, covariance_type="full", tol=1e-6,
                               max_iter=5000, n_init=1, random_state=seed).fit(x) for k in ks}
    bic = {k: float(g.bic(x)) for k, g in fits.items()}
    best = min(bic, key=bic.get)
    g = fits[best]
    order = np.argsort(g.means_.ravel())
    weights = g.weights_[order] / g.weights_.sum()
    means = g.means_.ravel()[order]
    sds = np.sqrt(g.covariances_.reshape(-1))[order]
    prior = MixturePrior(name, description, provenance, tuple(map(float, weights)),
                         tuple(map(float, means)), tuple(map(float, sds)))
    table = _quantile_table(prior, lambda q: float(np.quantile(x, q)), "draws")
    details = {**extra_details, "approximation": {
        "method": "EM normal mixture (sklearn GaussianMixture), components chosen by BIC",
        "n_components": best, "bic": {str(k): v for k, v in bic.items()},
        "n_draws": int(x.size), "random_state": seed, **table}}
    return MixturePrior(prior.name, prior.description, prior.provenance, prior.weights,
                        prior.means, prior.sds, details)


def _quantile_table(prior: MixturePrior, target, label: str) -> dict:
    """Quantiles of ``prior`` against ``target(q)``, and the largest absolute difference."""
    rows = {}
    for q in APPROX_QUANTILES:
        m, t = prior.quantile(q), target(q)
        rows[f"{q:g}"] = {"mixture": m, label: t, "abs_diff": abs(m - t)}
    return {"quantiles": rows, "max_abs_diff": max(r["abs_diff"] for r in rows.values())}


def _check_n_components(n_components: int | None) -> None:
    if n_components is not None and (isinstance(n_components, bool) or n_components not in
                                     range(1, MAX_MIXTURE_COMPONENTS + 1)):
        raise SpecError(f"n_components must be None (choose by BIC) or 1 to "
                        f"{MAX_MIXTURE_COMPONENTS}; got {n_components!r}")


def posterior_as_prior(draws: np.ndarray | Sequence[float], name: str, *, provenance: str,
                       description: str | None = None, n_components: int | None = None,
                       seed: int = 1) -> MixturePrior:
    """Turn draws of the log IRR into a named normal-mixture prior.

    Parameters
    ----------
    draws : array-like
        Draws of the log IRR, any shape (flattened), e.g. a fit's
        ``idata["posterior"]["log_irr"]`` with dims (chain, draw).
    name : str
        Name of the prior.
    provenance : str
        Where the draws come from (analysis, data, seed).
    description : str, optional
        Plain-English sentence; a default states the mixture's median and 95% interval.
    n_components : int, optional
        Number of normal components (1 to 3); chosen by BIC when None.
    seed : int, default 1
        ``random_state`` of the EM fit.

    Returns
    -------
    MixturePrior
        ``details["approximation"]`` holds the 2.5/25/50/75/97.5% quantiles of the mixture
        and of the draws (``"draws"``) and their largest absolute difference.

    Raises
    ------
    SpecError
        If there are fewer than 100 draws, a draw is not finite, or ``n_components`` is out of
        range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = posterior_as_prior(rng.normal(-0.1, 0.05, 4000), "toy", provenance="simulated")
    >>> p.weights, round(p.means[0], 2), round(p.sds[0], 2)
    ((1.0,), -0.1, 0.05)
    """
    _check_n_components(n_components)
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < MIN_DRAWS:
        raise SpecError(f"posterior_as_prior: {x.size} draws; at least {MIN_DRAWS} are needed")
    if not np.isfinite(x).all():
        raise SpecError(f"posterior_as_prior: {int((~np.isfinite(x)).sum())} draw(s) are not "
                        "finite numbers")
    prior = _fit_mixture(x, name=name, description="", provenance=provenance,
                         n_components=n_components, seed=seed, extra_details={})
    if description is None:
        lo, mid, hi = (math.exp(prior.quantile(q)) for q in (0.025, 0.5, 0.975))
        description = (f"Posterior of the log IRR reused as a prior: median IRR {mid:.3f} "
                       f"(95% interval {lo:.3f} to {hi:.3f}).")
    return MixturePrior(name, description, provenance, prior.weights, prior.means, prior.sds,
                        prior.details)


# ------------------------------------------------------------------------------- MAP prior


@dataclass(frozen=True)
class MapPriorResult:
    """A meta-analytic-predictive prior and how it was obtained.

    Parameters
    ----------
    prior : MixturePrior
        The prior for the log IRR in a new LA (named ``"pilot-map"``).
    pilots : tuple of PilotEstimate
        The estimates used (those of the requested outcome).
    outcome : str
        The outcome.
    method : {"mcmc", "closed form"}
        MCMC when ``tau`` has a HalfNormal prior; closed form when ``tau`` is fixed.
    approximation : dict
        Quantiles (2.5/25/50/75/97.5%) of ``prior`` against those of the predictive
        (``"draws"``: the MCMC draws; ``"exact"``: the exact normal), and ``max_abs_diff``.
    settings : dict
        ``tau_scale``, ``tau``, ``mu_prior_sd``, ``seed``, ``draws`` and the target acceptance
        used.
    draws : numpy.ndarray or None
        Draws of the new LA's log ratio, 4 per posterior draw (None in closed form).
    idata : xarray.DataTree or None
        The meta-analysis posterior (None in closed form).
    diagnostics : Diagnostics or None
        Convergence diagnostics of the reported run (None in closed form); every run is in
        ``prior.details["attempts"]``.
    """

    prior: MixturePrior
    pilots: tuple[PilotEstimate, ...]
    outcome: str
    method: str
    approximation: dict
    settings: dict
    draws: np.ndarray | None = field(default=None, repr=False)
    idata: xr.DataTree | None = field(default=None, repr=False)
    diagnostics: Diagnostics | None = None

    @property
    def text(self) -> str:
        """Plain-English summary of the prior, with a warning when its inputs are assumptions."""
        lo, mid, hi = (math.exp(self.prior.quantile(q)) for q in (0.025, 0.5, 0.975))
        las = ", ".join(p.la for p in self.pilots)
        text = (f"For {self.outcome} in a new local authority, the pilots ({las}) predict a "
                f"median rate ratio of {mid:.2f} (95% interval {lo:.2f} to {hi:.2f}); the "
                f"prior is worth about {effective_sample_size(self.prior):.1f} schools per arm "
                "of a two-arm SWIS-like trial (twice RBesT's single-arm ESS).")
        if any(p.is_assumption for p in self.pilots):
            text += " The pilot numbers are assumptions, not published estimates."
        return text


def _check_settings(tau_scale: float, tau: float | None, draws: int) -> None:
    if not (np.isfinite(tau_scale) and tau_scale > 0):
        raise SpecError(f"tau_scale must be a positive number; got {tau_scale!r}")
    if tau is not None and not (np.isfinite(tau) and tau >= 0):
        raise SpecError(f"tau must be None (HalfNormal prior) or a number >= 0; got {tau!r}")
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 400:
        raise SpecError(f"draws must be a whole number >= 400; got {draws!r}")


def map_prior(pilots: Sequence[PilotEstimate], *, outcome: str = "s47",
              tau_scale: float = TAU_SCALE, tau: float | None = None,
              n_components: int | None = None, seed: int = 1,
              draws: int = 4000) -> MapPriorResult:
    r"""The meta-analytic-predictive prior for the log ratio in a new LA.

    Parameters
    ----------
    pilots : sequence of PilotEstimate
        Pilot estimates, e.g. from :func:`load_pilots`; only those of ``outcome`` are used.
    outcome : str, default "s47"
        Outcome whose pilot estimates are pooled.
    tau_scale : float, default 0.5
        Scale of the HalfNormal prior on the between-LA SD ``tau`` (see :data:`TAU_SCALE`).
    tau : float, optional
        Fix ``tau`` instead of giving it a prior. ``0`` is a fixed-effect (common-effect)
        analysis. A fixed ``tau`` is computed in closed form, without MCMC.
    n_components : int, optional
        Components of the normal-mixture approximation (1 to 3); chosen by BIC when None.
    seed : int, default 1
        Seed of the sampler and of the EM fit.
    draws : int, default 4000
        Posterior draws in total over 4 chains (rounded up to a multiple of 4; doubled if the
        last retry is needed). Each gives 4 draws of the new LA's log ratio.

    Returns
    -------
    MapPriorResult
        ``result.prior`` is the MixturePrior ``"pilot-map"``; its ``details`` and
        ``result.approximation`` hold the approximation error.

    Raises
    ------
    SpecError
        If no pilot estimate is for ``outcome`` (the message lists the outcomes present), or a
        setting is out of range.
    ConvergenceError
        If every run fails the gate (R-hat <= 1.01, bulk ESS >= 400, no divergences): target
        acceptance 0.95, then 0.99, then 0.99 with twice the draws (:data:`MAP_ATTEMPTS`).

    Notes
    -----
    With :math:`y_i` the log ratio of pilot :math:`i` and :math:`s_i` its SE:

    .. math::

        y_i \sim N(\theta_i, s_i), \quad \theta_i = \mu + \tau z_i, \quad z_i \sim N(0, 1),
        \quad \mu \sim N(0, 1), \quad \tau \sim \text{HalfNormal}(\text{tau\_scale}),

    and the MAP prior is the predictive :math:`\theta_{new} = \mu + \tau z_{new}`. The model is
    non-centred and fitted with PyMC's default sampler (nutpie), 4 chains, 2000 warm-up draws
    per chain, seed ``seed``; each run passes the package's convergence gate
    (:func:`swisbayes.inference.diagnostics.compute_diagnostics`). For every posterior draw of
    :math:`(\mu, \tau)`, 4 values of :math:`z_{new}` (NumPy, seed ``seed``) give draws of
    :math:`\theta_{new}`. These are approximated by a mixture of 1 to 3 normals (EM with
    ``sklearn.mixture.GaussianMixture``, BIC), leaving room for one vague component
    (:func:`robustify`).

    With ``tau`` fixed, :math:`\mu` gets a flat prior and everything is normal: with
    :math:`w_i = 1 / (s_i^2 + \tau^2)`, the predictive is
    :math:`N(\sum w_i y_i / \sum w_i, \sqrt{1 / \sum w_i + \tau^2})`. For ``tau = 0`` this is
    the inverse-variance fixed-effect estimate, which a reader can check by hand. (The N(0, 1)
    prior on :math:`\mu` would shrink it towards 0 by the factor :math:`1 / (1 + s^2)` for a
    pooled SE :math:`s`: 2% for the bundled pilots.)

    The pilots' estimates are non-randomised (difference-in-differences against matched
    schools) and the pilots were run by enthusiastic early adopters; both argue for
    :func:`robustify` or :func:`discount` before the prior is used.

    References
    ----------
    Neuenschwander B, et al. (2010). Summarizing historical information on controls in clinical
    trials. Clinical Trials 7(1):5-18. Schmidli H, et al. (2014). Robust meta-analytic-predictive
    priors in clinical trials with historical control information. Biometrics 70(4):1023-1032.

    Examples
    --------
    The fixed-effect version needs no sampling:

    >>> pilots = load_pilots("models/pilots.toml")
    >>> fe = map_prior(pilots, tau=0.0)
    >>> round(fe.prior.means[0], 3), round(fe.prior.sds[0], 3)
    (-0.233, 0.142)
    """
    _check_settings(tau_scale, tau, draws)
    _check_n_components(n_components)
    used = tuple(p for p in pilots if p.outcome == outcome)
    if not used:
        present = sorted({p.outcome for p in pilots})
        raise SpecError(f"no pilot estimate for outcome {outcome!r}; outcomes available: "
                        f"{', '.join(present) if present else '(no pilots given)'}")
    y = np.array([p.log_ratio for p in used])
    se = np.array([p.log_se for p in used])
    las = ", ".join(f"{p.la} ({p.source})" for p in used)
    assumed = any(p.is_assumption for p in used)
    caveat = " The pilot numbers are assumptions, not published estimates." if assumed else ""
    settings = {"tau_scale": float(tau_scale), "tau": None if tau is None else float(tau),
                "mu_prior_sd": MU_PRIOR_SD, "seed": seed, "draws": draws}

    if tau is not None:
        w = 1.0 / (se**2 + tau**2)
        mean = float(np.sum(w * y) / np.sum(w))
        sd = float(math.sqrt(1.0 / np.sum(w) + tau**2))
        kind = "fixed-effect" if tau == 0 else f"random-effects with tau fixed at {tau:g}"
        description = (f"Prediction for {outcome} in a new LA from {len(used)} pilot "
                       f"estimate(s), {kind} (closed form): Normal({mean:.3f}, {sd:.3f}) on log "
                       f"IRR.{caveat}")
        provenance = (f"pilots: {las}; inverse-variance {kind} meta-analysis, flat prior on mu")
        normal = MixturePrior.normal("pilot-map", mean, sd)
        table = _quantile_table(normal, lambda q: float(mean + sd * _norm_ppf(q)), "exact")
        details = {"outcome": outcome, "pilots": [p.la for p in used], "method": "closed form",
                   "settings": settings, "approximation": {
                       "method": "exact (the predictive is normal)", "n_components": 1, **table}}
        prior = MixturePrior("pilot-map", description, provenance, (1.0,), (mean,), (sd,),
                             details)
        return MapPriorResult(prior=prior, pilots=used, outcome=outcome, method="closed form",
                              approximation=details["approximation"], settings=settings)

    idata, attempts = _sample_meta(y, se, [p.la for p in used], tau_scale=tau_scale,
                                   seed=seed, draws=draws)
    diagnostics = attempts[-1]["diagnostics"]
    settings["target_accept"] = attempts[-1]["target_accept"]
    theta_new = _predictive(idata, seed=seed)
    description = (f"Meta-analytic-predictive prior for {outcome} in a new LA from "
                   f"{len(used)} pilot estimate(s) ({', '.join(p.la for p in used)}), "
                   f"tau ~ HalfNormal({tau_scale:g}).{caveat}")
    provenance = (f"pilots: {las}; hierarchical normal meta-analysis, mu ~ N(0, {MU_PRIOR_SD:g}),"
                  f" tau ~ HalfNormal({tau_scale:g}), MCMC seed {seed}; EM normal-mixture "
                  "approximation of the predictive")
    prior = _fit_mixture(theta_new, name="pilot-map", description=description,
                         provenance=provenance, n_components=n_components, seed=seed,
                         extra_details={"outcome": outcome, "pilots": [p.la for p in used],
                                        "method": "mcmc", "settings": settings,
                                        "attempts": [{**a, "diagnostics": a["diagnostics"]
                                                      .to_dict()} for a in attempts]})
    return MapPriorResult(prior=prior, pilots=used, outcome=outcome, method="mcmc",
                          approximation=prior.details["approximation"], settings=settings,
                          draws=theta_new, idata=idata, diagnostics=diagnostics)


def _norm_ppf(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))


def _meta_model(y: np.ndarray, se: np.ndarray, labels: list[str], *, tau_scale: float):
    """The non-centred hierarchical normal meta-analysis of the pilots' log ratios."""
    import pymc as pm

    if len(set(labels)) < len(labels):
        labels = [f"{la} ({i})" for i, la in enumerate(labels)]
    with pm.Model(coords={"pilot": labels}) as model:
        mu = pm.Normal("mu", 0.0, MU_PRIOR_SD)
        tau = pm.HalfNormal("tau", tau_scale)
        z = pm.Normal("z", 0.0, 1.0, dims="pilot")
        theta = pm.Deterministic("theta", mu + tau * z, dims="pilot")
        pm.Normal("y", theta, se, observed=y, dims="pilot")
    return model


def _predictive(idata, *, seed: int) -> np.ndarray:
    """Draws of theta_new = mu + tau * z_new, :data:`PREDICTIVE_PER_DRAW` per posterior draw."""
    mu = np.asarray(idata["posterior"]["mu"], dtype=float).reshape(-1, 1)
    tau = np.asarray(idata["posterior"]["tau"], dtype=float).reshape(-1, 1)
    z_new = np.random.default_rng(seed).standard_normal((mu.shape[0], PREDICTIVE_PER_DRAW))
    return (mu + tau * z_new).ravel()


def _sample_meta(y: np.ndarray, se: np.ndarray, labels: list[str], *, tau_scale: float,
                 seed: int, draws: int):
    """Sample the meta-analysis through :data:`MAP_ATTEMPTS` until a run passes the gate."""
    import pymc as pm

    from swisbayes.inference.diagnostics import compute_diagnostics

    model = _meta_model(y, se, labels, tau_scale=tau_scale)
    per_chain = -(-draws // MAP_CHAINS)
    attempts = []
    for target_accept, factor in MAP_ATTEMPTS:
        # Without numba fast-math, so a cold-cache process draws what later ones do.
        with model, deterministic_numba():
            idata = pm.sample(draws=per_chain * factor, tune=MAP_TUNE, chains=MAP_CHAINS,
                              cores=min(MAP_CHAINS, os.cpu_count() or 1), random_seed=seed,
                              target_accept=target_accept,
                              progressbar=False, quiet=True, compute_convergence_checks=False)
        diagnostics = compute_diagnostics(idata, rhat_max=RHAT_MAX)
        attempts.append({"target_accept": target_accept, "draws_per_chain": per_chain * factor,
                         "diagnostics": diagnostics})
        if diagnostics.ok:
            return idata, attempts
    raise ConvergenceError(
        "pilot meta-analysis failed its diagnostics in every run (" + "; ".join(
            f"target acceptance {a['target_accept']}, {a['draws_per_chain']} draws per chain: "
            + ", ".join(a["diagnostics"].reasons) for a in attempts) + ")")


# -------------------------------------------------------------------- weakening and worth


def robustify(prior: MixturePrior, weight: float = DEFAULT_ROBUST_WEIGHT, *,
              vague: MixturePrior | None = None) -> MixturePrior:
    """Mix a prior with a vague component: ``weight * prior + (1 - weight) * vague``.

    Parameters
    ----------
    prior : MixturePrior
        The informative prior, e.g. the MAP prior.
    weight : float, default 0.8
        Weight on ``prior`` (see :data:`DEFAULT_ROBUST_WEIGHT`); 1 returns ``prior`` unchanged
        and 0 returns ``vague``.
    vague : MixturePrior, optional
        The weakly informative part; :func:`swisbayes.priors.library.vague` (Normal(0, 10)) when
        None.

    Returns
    -------
    MixturePrior
        Named ``"<prior>-robust"``; ``details["robust_weight"]`` records ``weight``.

    Raises
    ------
    SpecError
        If ``weight`` is outside [0, 1], or the result would have more than
        :data:`~swisbayes.priors.library.MAX_COMPONENTS` components.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> r = robustify(MixturePrior.normal("map", -0.2, 0.15), 0.8)
    >>> print(r)
    map-robust: NormalMixture(w=[0.8, 0.2], mu=[-0.2, 0], sigma=[0.15, 10]) on log IRR
    """
    vague = vague_prior() if vague is None else vague
    if not (isinstance(weight, int | float) and 0.0 <= weight <= 1.0):
        raise SpecError(f"robustify: weight on the informative part must be in [0, 1]; got "
                        f"{weight!r}")
    k = len(prior.weights) + len(vague.weights)
    if 0.0 < weight < 1.0 and k > MAX_COMPONENTS:
        raise SpecError(f"robustify: '{prior.name}' has {len(prior.weights)} components and "
                        f"'{vague.name}' {len(vague.weights)}; the result would have {k}, more "
                        f"than MAX_COMPONENTS = {MAX_COMPONENTS}")
    if weight == 1.0:
        return prior
    if weight == 0.0:
        return vague
    return MixturePrior(
        f"{prior.name}-robust",
        f"{prior.description} Robustified: weight {weight:g} on it and {1 - weight:g} on "
        f"{vague.name} ({vague.description})",
        f"{prior.provenance}; robustified with {vague.name} (weight {1 - weight:g}, an "
        "assumption)",
        tuple(float(weight * w) for w in prior.weights)
        + tuple(float((1 - weight) * w) for w in vague.weights),
        prior.means + vague.means, prior.sds + vague.sds,
        {**prior.details, "robust_weight": float(weight), "vague": vague.to_dict()})


def discount(prior: MixturePrior, a0: float) -> MixturePrior:
    r"""Down-weight a prior like a power prior: every component SD divided by ``sqrt(a0)``.

    Parameters
    ----------
    prior : MixturePrior
        The prior to weaken.
    a0 : float
        In (0, 1]: the fraction of the prior's information kept. 1 returns ``prior``
        unchanged; as ``a0`` goes to 0 the prior flattens.

    Returns
    -------
    MixturePrior
        Named ``"<prior>-discounted"``; ``details["a0"]`` records ``a0``.

    Raises
    ------
    SpecError
        If ``a0`` is not in (0, 1].

    Notes
    -----
    For one normal component this is exactly the power prior: :math:`N(m, s)^{a_0}` is
    proportional to :math:`N(m, s / \sqrt{a_0})`. For a mixture, each component is inflated
    and the weights are kept, which is the usual approximation (the power of a mixture is not a
    mixture); the ESS of a single normal scales by ``a0`` exactly.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> discount(MixturePrior.normal("map", -0.2, 0.1), 0.25).sds
    (0.2,)
    """
    if not (isinstance(a0, int | float) and 0.0 < a0 <= 1.0):
        raise SpecError(f"discount: a0 must be in (0, 1]; got {a0!r}")
    if a0 == 1.0:
        return prior
    return MixturePrior(
        f"{prior.name}-discounted",
        f"{prior.description} Discounted (power prior a0 = {a0:g}: SDs x {1 / math.sqrt(a0):.3g}).",
        f"{prior.provenance}; discounted with a0 = {a0:g}",
        prior.weights, prior.means, tuple(s / math.sqrt(a0) for s in prior.sds),
        {**prior.details, "a0": float(a0)})


ESS_CONVENTIONS = {"two-arm": 2.0, "single-arm": 1.0}
"""Schools (or units) per unit-information ``1 / sigma**2``, by ESS counting convention.

``"two-arm"``: schools per arm of a two-arm trial, whose log IRR has variance
``2 * sigma**2 / n``. ``"single-arm"``: units of a single-arm series with variance
``sigma**2 / n``, RBesT's convention (``ess(mix, sigma = sigma)``); half the two-arm count.
"""


def effective_sample_size(prior: MixturePrior, *, method: str = "elir",
                          unit_sd: float | None = None,
                          convention: Literal["two-arm", "single-arm"] = "two-arm") -> float:
    r"""A prior's worth in schools per arm of a two-arm SWIS-like trial (by default).

    Parameters
    ----------
    prior : MixturePrior
        Prior on the log IRR.
    method : {"elir", "moment"}, default "elir"
        ``elir``: expected local information ratio (Neuenschwander, Weber, Schmidli & O'Hagan
        2020; RBesT's default), the prior's curvature averaged over the prior itself, relative
        to one school's information. ``moment``: the information of a normal with the
        mixture's variance (RBesT ``method = "moment"``); conservative for mixtures.
    unit_sd : float, optional
        Reference scale ``sigma``: the SD of one school's contribution to the log IRR;
        :data:`UNIT_SD` (0.417, from the published trial) when None.
    convention : {"two-arm", "single-arm"}, default "two-arm"
        What one unit of ESS is. ``"two-arm"``: one school per arm of a two-arm trial, which
        has variance ``2 * sigma**2 / n`` with ``n`` schools per arm. ``"single-arm"``: one
        observation with variance ``sigma**2``, the convention of RBesT's
        ``ess(prior, sigma = unit_sd)``; exactly half the two-arm number.

    Returns
    -------
    float
        Schools per arm of a two-arm trial carrying the same information as the prior, which
        is twice RBesT's single-arm count for the same prior and reference scale; or that
        single-arm count with ``convention="single-arm"``.

    Raises
    ------
    SpecError
        If ``unit_sd`` is not a positive number, or ``method`` or ``convention`` is unknown.

    Notes
    -----
    A trial with ``n`` schools per arm estimates the log IRR with variance
    ``sigma**2 * 2 / n``. The published SWIS result (IRR 95% CI 0.955 to 1.166, 136 and 132
    schools) gives ``SE = (log 1.166 - log 0.955) / (2 * 1.96) = 0.0509`` and
    ``sigma**2 = SE**2 * n_h / 2`` with ``n_h = 133.97``, the harmonic mean of 136 and 132.
    One school per arm thus carries information ``1 / (2 sigma**2)`` on the log IRR, and a
    normal prior with SD ``s`` is worth ``2 * sigma**2 / s**2`` schools per arm under both
    methods (``sigma**2 / s**2`` single-arm, as in RBesT).

    ELIR is ``sigma**2`` (times 2 for two-arm) times :math:`E_p[i(\theta)]`, the local
    information :math:`i = -(\log p)''` averaged over the prior :math:`p` itself. Integrating
    by parts, :math:`E_p[-(\log p)''] = E_p[((\log p)')^2]`, which has a positive integrand
    (no cancellation), with :math:`(\log p)' = \sum_k \pi_k(\theta) (m_k - \theta) / s_k^2`
    for component probabilities :math:`\pi_k`. It is integrated by 16-point Gauss-Legendre
    panels whose break points sit at every component's mean plus and minus multiples of its
    SD (half an SD apart out to 6 SDs) and around every point where two weighted components
    cross, so the switch from a narrow to a wide component, where a fixed Gauss-Hermite rule
    per component went wrong by up to 8%, is resolved. Against adaptive quadrature the
    relative error is at rounding level, including weight and SD ratios of 1e4 (tested to
    1e-6). Unlike the moment method, ELIR is not swamped by the variance of a robust vague
    component that carries little weight.

    Examples
    --------
    >>> from swisbayes.priors.library import MixturePrior
    >>> trial = MixturePrior.normal("trial", 0.0, TRIAL_LOG_IRR_SE)
    >>> round(effective_sample_size(trial), 2)
    133.97
    >>> round(effective_sample_size(trial, convention="single-arm"), 2)
    66.99
    """
    sigma = UNIT_SD if unit_sd is None else unit_sd
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise SpecError(f"unit_sd must be a positive number; got {unit_sd!r}")
    if convention not in ESS_CONVENTIONS:
        raise SpecError(f"unknown ESS convention {convention!r}; expected 'two-arm' or "
                        "'single-arm'")
    if method == "moment":
        information = 1.0 / prior.sd**2
    elif method == "elir":
        information = _expected_local_information(prior)
    else:
        raise SpecError(f"unknown ESS method {method!r}; expected 'elir' or 'moment'")
    return ESS_CONVENTIONS[convention] * sigma**2 * information


_SD_STEPS = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0,
                      10.0, 12.0, 15.0, 20.0, 27.0, 39.0])
"""Break points of the ELIR quadrature, in SDs either side of each component's mean.

Half-SD panels out to 6 SDs, where a component's mass and any switch to another component
matter; beyond 39 SDs a normal density underflows to zero.
"""
_CROSSING_STEPS = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
"""Break points either side of a crossing of two components, in widths of the switch."""
_LEGENDRE = np.polynomial.legendre.leggauss(16)


def _crossings(w: np.ndarray, m: np.ndarray, s: np.ndarray) -> list[float]:
    """Points where two weighted component densities are equal, and the switch's scale.

    Returns the crossing points plus and minus multiples of the width of the switch,
    ``1 / |d/dtheta log(w_j phi_j / w_k phi_k)|``, over which the component probabilities
    go from one component to the other (and the local information dips).
    """
    points: list[float] = []
    for j in range(len(w)):
        for k in range(j + 1, len(w)):
            # log w_j phi_j - log w_k phi_k = a theta^2 + b theta + c
            a = 0.5 * (1 / s[k] ** 2 - 1 / s[j] ** 2)
            b = m[j] / s[j] ** 2 - m[k] / s[k] ** 2
            c = (0.5 * (m[k] ** 2 / s[k] ** 2 - m[j] ** 2 / s[j] ** 2)
                 + math.log(w[j] * s[k] / (w[k] * s[j])))
            if abs(a) <= 1e-12 * (1 / s[j] ** 2 + 1 / s[k] ** 2):
                roots = [-c / b] if b != 0 else []
            else:
                disc = b * b - 4 * a * c
                if disc < 0:
                    continue
                q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
                roots = [q / a] + ([c / q] if q != 0 else [])
            for r in roots:
                slope = abs(2 * a * r + b)
                if math.isfinite(r) and slope > 0:
                    points.extend(r + _CROSSING_STEPS / slope)
                    points.extend(r - _CROSSING_STEPS / slope)
    return points


def _expected_local_information(prior: MixturePrior) -> float:
    r""":math:`E_p[-(\log p)''] = E_p[((\log p)')^2]` over the mixture prior ``p`` itself."""
    w, m, s = (np.asarray(v, dtype=float) for v in (prior.weights, prior.means, prior.sds))
    w = w / w.sum()
    if len(w) == 1:
        return float(1 / s[0] ** 2)
    lo, hi = float(np.min(m - _SD_STEPS[-1] * s)), float(np.max(m + _SD_STEPS[-1] * s))
    breaks = np.concatenate([(m[:, None] + s[:, None] * _SD_STEPS).ravel(),
                             (m[:, None] - s[:, None] * _SD_STEPS).ravel(),
                             _crossings(w, m, s)])
    breaks = np.unique(np.clip(breaks, lo, hi))
    mid, half = (breaks[1:] + breaks[:-1]) / 2, (breaks[1:] - breaks[:-1]) / 2
    x, gw = _LEGENDRE
    theta = (mid[:, None] + half[:, None] * x).ravel()
    dtheta = (half[:, None] * gw).ravel()
    z = (theta[:, None] - m) / s
    log_dens = np.log(w / (s * math.sqrt(2 * math.pi))) - 0.5 * z**2
    top = log_dens.max(axis=1, keepdims=True)
    dens = np.exp(log_dens - top)
    total = dens.sum(axis=1)
    score = np.sum(dens * (-z / s), axis=1) / total     # (log p)' = sum_k pi_k (log phi_k)'
    density = np.exp(top[:, 0]) * total                 # p(theta)
    return float(np.dot(dtheta, density * score**2))


__all__ = ["DEFAULT_ROBUST_WEIGHT", "ESS_CONVENTIONS", "TAU_SCALE", "UNIT_SD", "MapPriorResult",
           "PilotEstimate", "discount", "effective_sample_size", "load_pilots", "map_prior",
           "posterior_as_prior", "robustify"]
