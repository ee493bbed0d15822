"""The one prior resolver: a prior's name or spec entry to its normal mixture, computed once.

Library priors are closed-form. Every variant of the pilot-informed prior (robust weight,
discount) starts from the same meta-analysis of the pilots, several seconds of MCMC: it is
cached by what it depends on (pilots file, outcome, tau scale), in memory and on disk
(:func:`cache_dir`), and each variant is then discounted and robustified in closed form. Fits,
re-analyses, sensitivity grids and the report all resolve through :func:`get_prior` and
:func:`effect_prior`; a sensitivity run also keeps its resolved mixtures in its output
directory (``priors.json``, :class:`PriorResolver`), so a resumed run needs no cache at all.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path

from swisbayes._base.atomic import write_text_atomic
from swisbayes._base.errors import SpecError
from swisbayes._base.provenance import library_versions, package_version
from swisbayes.evidence.meta_analysis import map_prior
from swisbayes.priors.library import (
    PILOT_PRIOR,
    PLANNED_IRR,
    MixturePrior,
    PilotSettings,
    library_prior,
)
from swisbayes.priors.robust import discount, robustify
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.pilots import load_pilots


def get_prior(name: str, *, planned_irr: float = PLANNED_IRR,
              pilots: PilotSettings | None = None) -> MixturePrior:
    """Any named prior: the library's (closed form), or the pilot-informed one.

    The pilot-informed prior is the pilots' meta-analytic-predictive prior, discounted and
    robustified. Its meta-analysis is cached in memory and on disk (:func:`cache_dir`), keyed
    by everything that determines it, so it runs once per machine.

    Parameters
    ----------
    name : str
        ``vague``, ``sceptical``, ``enthusiastic``, ``pessimistic``, a grid name such as
        ``optimistic-moderate``, or ``pilot-informed``.
    planned_irr : float, default 0.85
        Planned effect calibrating the named priors.
    pilots : PilotSettings, optional
        How to build ``pilot-informed`` (defaults: the bundled pilots file, S47).

    Returns
    -------
    MixturePrior

    Raises
    ------
    SpecError
        For an unknown name (the message lists the valid ones) or a missing pilots file.
    """
    if name != PILOT_PRIOR:
        return library_prior(name, planned_irr=planned_irr)
    settings = pilots or PilotSettings()
    path = settings.pilots_path()
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such pilots file (needed by the "
                        f"'{PILOT_PRIOR}' prior)") from None
    return _pilot_variant(str(path), content, settings.outcome, settings.tau_scale,
                          settings.robust_weight, settings.discount_a0)


def needs_meta_analysis(spec: AnalysisSpec) -> bool:
    """True when the spec's effect prior is the pilot-informed prior, not yet resolved."""
    entry = spec.priors.effect
    return entry.name == PILOT_PRIOR and entry.weights is None and entry.mean is None


def effect_prior(spec: AnalysisSpec) -> MixturePrior:
    """The spec's prior on the log IRR as a mixture, equal to ``spec.effect_prior``.

    Parameters
    ----------
    spec : AnalysisSpec

    Returns
    -------
    MixturePrior
    """
    if not needs_meta_analysis(spec):
        return spec.effect_prior
    return get_prior(PILOT_PRIOR, pilots=spec.priors.effect.pilot_settings(spec.outcome))


def named_prior(spec: AnalysisSpec, name: str) -> MixturePrior:
    """The prior ``name`` with this spec's settings (planned effect, pilots file, outcome)."""
    return effect_prior(spec.with_prior(name))


def resolved_spec(spec: AnalysisSpec) -> AnalysisSpec:
    """The spec with its effect prior replaced by the resolved mixture (what a fit records)."""
    return spec.with_prior(effect_prior(spec))


class PriorResolver:
    """:func:`effect_prior` with the pilot-informed mixtures kept in a JSON file.

    Parameters
    ----------
    path : pathlib.Path or None
        The file (``DIR/priors.json``); None keeps nothing on disk.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._known: dict[str, dict] = {}
        if path is not None and path.exists():
            try:
                self._known = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                self._known = {}  # unreadable: resolve again

    def __call__(self, spec: AnalysisSpec) -> MixturePrior:
        """The spec's effect prior (see :func:`effect_prior`)."""
        if not needs_meta_analysis(spec):
            return spec.effect_prior
        key = _key(spec)
        if key in self._known:
            try:
                return MixturePrior.from_dict({**self._known[key], "details": {}})
            except (KeyError, TypeError, ValueError):
                pass  # unreadable entry: resolve again
        prior = effect_prior(spec)
        self._known[key] = {k: v for k, v in prior.to_dict().items() if k != "details"}
        if self.path is not None:
            write_text_atomic(self.path, json.dumps(self._known, indent=1) + "\n")
        return prior


def _key(spec: AnalysisSpec) -> str:
    settings = spec.priors.effect.pilot_settings(spec.outcome)
    payload = {"entry": spec.priors.effect.model_dump(mode="json"), "outcome": spec.outcome,
               "pilots_sha256": hashlib.sha256(settings.pilots_path().read_bytes()).hexdigest(),
               "swisbayes_version": package_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@functools.lru_cache(maxsize=64)
def _pilot_variant(path: str, content: bytes, outcome: str, tau_scale: float, weight: float,
                   a0: float) -> MixturePrior:
    prior = robustify(discount(_map_prior(path, content, outcome, tau_scale), a0), weight)
    return MixturePrior(PILOT_PRIOR, prior.description, prior.provenance, prior.weights,
                        prior.means, prior.sds, {**prior.details, "pilots": path})


CACHE_ENV = "SWISBAYES_CACHE_DIR"
"""Environment variable naming the cache directory (default ``~/.cache/swisbayes``)."""


def cache_dir() -> Path:
    """Where meta-analytic-predictive priors are cached between runs."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "swisbayes"


def _map_prior(path: str, content: bytes, outcome: str, tau_scale: float) -> MixturePrior:
    """The pilots' MAP prior, from the cache on disk when the same analysis was run before.

    The meta-analysis is seeded MCMC compiled without fast-math, so the same inputs and code
    give the same prior; the cache key covers the pilots file (name and content), the settings,
    the source of the modules that compute it and the versions of the libraries they use.
    """
    file = cache_dir() / "map_priors" / f"{_map_key(path, content, outcome, tau_scale)}.json"
    try:
        return MixturePrior.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not cached yet, or unreadable: run it
    prior = _meta_analysis(path, content, outcome, tau_scale).prior
    with contextlib.suppress(OSError):  # a read-only home only loses the cache
        write_text_atomic(file, json.dumps(prior.to_dict(), default=str) + "\n")
    return prior


def _map_key(path: str, content: bytes, outcome: str, tau_scale: float) -> str:
    sources = {name: hashlib.sha256(Path(importlib.util.find_spec(name).origin).read_bytes(
    )).hexdigest() for name in ("swisbayes.evidence.meta_analysis", "swisbayes.priors.library",
                                "swisbayes.inference.compile_cache")}
    payload = {"path": path, "pilots_sha256": hashlib.sha256(content).hexdigest(),
               "outcome": outcome, "tau_scale": tau_scale, "sources": sources,
               "versions": {**library_versions(), "scikit-learn": package_version("scikit-learn"),
                            "numba": package_version("numba")}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=8)
def _meta_analysis(path: str, content: bytes, outcome: str, tau_scale: float):
    del content  # part of the cache key only: a changed file is analysed again
    return map_prior(load_pilots(path), outcome=outcome, tau_scale=tau_scale)


__all__ = [
    "PriorResolver", "effect_prior", "get_prior", "named_prior", "needs_meta_analysis",
    "resolved_spec"
]
