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
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from swisbayes._base.defaults import RHAT_MAX
from swisbayes._base.errors import ConvergenceError, SpecError
from swisbayes.priors.ess import effective_sample_size
from swisbayes.priors.library import MAX_COMPONENTS, MixturePrior
from swisbayes.spec.pilots import PilotEstimate

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

APPROX_QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
"""Quantiles at which an EM mixture is compared with the draws it approximates."""

MIN_DRAWS = 100
"""Fewest draws :func:`posterior_as_prior` accepts."""

# --------------------------------------------------------------------------- pilot estimates


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
        If every run fails the gate (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences,
        E-BFMI >= 0.3, at most 1% of transitions at the maximum tree depth): target
        acceptance 0.95, then 0.99, then 0.99 with twice the draws (:data:`MAP_ATTEMPTS`).

    Notes
    -----
    With :math:`y_i` the log ratio of pilot :math:`i` and :math:`s_i` its SE:

    .. math::

        y_i \sim N(\theta_i, s_i), \quad \theta_i = \mu + \tau z_i, \quad z_i \sim N(0, 1),
        \quad \mu \sim N(0, 1), \quad \tau \sim \text{HalfNormal}(\text{tau\_scale}),

    and the MAP prior is the predictive :math:`\theta_{new} = \mu + \tau z_{new}`. The model is
    non-centred and fitted with nutpie (compiled through the package's compile cache), 4
    chains, 2000 warm-up draws per chain, seed ``seed``; each run passes the package's
    convergence gate
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

    >>> from swisbayes.spec.pilots import load_pilots
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

    return NormalDist().inv_cdf(q)


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
    """Sample the meta-analysis through :data:`MAP_ATTEMPTS` until a run passes the gate.

    The model is compiled through the package's compile cache (loaded from disk after its first
    compile on a machine, in any process) and sampled by nutpie, as every fit is.
    """
    from swisbayes.inference.compile_cache import compile_model, import_nutpie
    from swisbayes.inference.diagnostics import compute_diagnostics

    nutpie = import_nutpie()
    model = _meta_model(y, se, labels, tau_scale=tau_scale)
    compiled, _ = compile_model(model, initial_points={})
    per_chain = -(-draws // MAP_CHAINS)
    attempts = []
    for target_accept, factor in MAP_ATTEMPTS:
        idata = nutpie.sample(compiled, draws=per_chain * factor, tune=MAP_TUNE,
                              chains=MAP_CHAINS, cores=min(MAP_CHAINS, os.cpu_count() or 1),
                              seed=seed, target_accept=target_accept, save_warmup=False,
                              progress_bar=False)
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


__all__ = ["TAU_SCALE", "MapPriorResult", "map_prior", "posterior_as_prior"]
