"""The notebook API: an analysis of one spec on one dataset, fitted as often as asked.

:class:`Analysis` reads and checks the data once, resolves the spec's prior once (the
pilot-informed prior through the cached meta-analysis), builds the model once and keeps its
compiled form in the process, so refitting with another seed, sampler setting or prior costs
only the sampling. Its fits are :class:`~swisbayes.inference.fitting.FitResult` objects that
know how to answer another prior (:meth:`~swisbayes.inference.fitting.FitResult.under`),
another threshold (:meth:`~swisbayes.inference.fitting.FitResult.decide`) and how to draw
themselves.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from swisbayes._base.errors import SpecError
from swisbayes.data.io import SchoolData, read_school_data, require_data
from swisbayes.evidence.resolver import named_prior, resolved_spec
from swisbayes.families.common import ModelBuild
from swisbayes.families.registry import build_model
from swisbayes.inference import fitting
from swisbayes.inference.fitting import FitResult
from swisbayes.priors.library import MixturePrior
from swisbayes.spec.analysis import AnalysisSpec, load_spec

DataLike = str | Path | pd.DataFrame | SchoolData
"""What the API accepts as trial data: a file, a frame, or already checked data."""


class Analysis:
    """One analysis spec on one dataset.

    Parameters
    ----------
    spec : AnalysisSpec, str or path
        The analysis, or a spec file or shipped spec name to load (:func:`swisbayes.load_spec`).
    data : path, DataFrame or SchoolData
        School- or pupil-level data; ``swisbayes.load_example()`` for the bundled synthetic
        SWIS data. There is no default: an analysis always names its data.

    Raises
    ------
    DataError
        If the data are missing or fail validation for this spec (every problem is listed).
    SpecError
        If the spec's prior cannot be formed.

    Examples
    --------
    >>> import swisbayes as sb
    >>> an = sb.Analysis(sb.load_spec("models/s47_primary.toml"), sb.load_example())
    >>> an.spec.effect_prior.name, an.data.level
    ('vague', 'school')
    """

    def __init__(self, spec: AnalysisSpec | str | Path, data: DataLike) -> None:
        spec = _as_spec(spec)
        self.spec = resolved_spec(spec)
        self.data = read_school_data(require_data(data, spec.name), outcomes=[spec.outcome],
                                     covariates=spec.covariates)
        self._build: ModelBuild | None = None

    def __repr__(self) -> str:
        return (f"Analysis({self.spec.name!r}, prior={self.spec.effect_prior.name!r}, "
                f"data={self.data.source!r})")

    @property
    def build(self) -> ModelBuild:
        """The PyMC model of this analysis (built once; building never samples)."""
        if self._build is None:
            self._build = build_model(self.spec, self.data)
        return self._build

    def resolve(self, prior: str) -> MixturePrior:
        """A prior by name, with this spec's settings (planned effect, pilots file)."""
        return named_prior(self.spec, prior)

    def fit(self, *, seed: int | None = None, draws: int | None = None,
            tune: int | None = None, chains: int | None = None,
            target_accept: float | None = None, progress: bool = False,
            raise_on_failure: bool = False) -> FitResult:
        """Sample the analysis through the diagnostics gate.

        Parameters
        ----------
        seed, draws, tune, chains, target_accept : optional
            Sampler settings to change for this fit; None keeps the spec's.
        progress : bool, default False
            Show the sampler's progress bar.
        raise_on_failure : bool, default False
            Raise :class:`~swisbayes.ConvergenceError` instead of returning a flagged result.

        Returns
        -------
        FitResult
        """
        spec = self.spec.with_sampler(seed=seed, draws=draws, tune=tune, chains=chains,
                                      target_accept=target_accept)
        return fitting.fit(spec, self.data, progress=progress,
                           raise_on_failure=raise_on_failure, resolve=self.resolve)

    def with_prior(self, prior: MixturePrior | str) -> Analysis:
        """The same analysis and data with another prior on the effect (no data re-read)."""
        return Analysis(self.spec.with_prior(prior), self.data)  # checked data are reused


def _as_spec(spec: AnalysisSpec | str | Path) -> AnalysisSpec:
    """A spec as given, or loaded from a file or a shipped spec's name.

    Raises
    ------
    SpecError
        For anything else, or a spec that cannot be loaded.
    """
    if isinstance(spec, AnalysisSpec):
        return spec
    if isinstance(spec, str | Path):
        return load_spec(spec)
    raise SpecError(f"spec must be an AnalysisSpec, a spec file or a shipped spec's name "
                    f"(e.g. 's47_primary'); got {type(spec).__name__}")


def fit(spec: AnalysisSpec | str | Path, data: DataLike, *, progress: bool = False,
        raise_on_failure: bool = False) -> FitResult:
    """Fit an analysis spec to trial data, with the diagnostics gate.

    The same as ``Analysis(spec, data).fit()``: the prior is resolved (the pilot-informed prior
    through the cached meta-analysis), the data checked, and the compiled model reused across
    fits of the same structure in the process.

    Parameters
    ----------
    spec : AnalysisSpec, str or path
        What to fit (outcome, model, prior, sampler settings and seed), or a spec file or
        shipped spec name to load.
    data : path, DataFrame or SchoolData
        School- or pupil-level data; ``swisbayes.load_example()`` for the bundled synthetic
        SWIS data.
    progress : bool, default False
        Show the sampler's progress bar.
    raise_on_failure : bool, default False
        Raise :class:`~swisbayes.ConvergenceError` instead of returning a flagged result.

    Returns
    -------
    FitResult
        ``result.ok`` is False, and ``result.diagnostics.reasons`` says why, when the fit failed
        the gate even after one retry.

    Examples
    --------
    A fit samples for a second or two once the model is compiled::

        spec = swisbayes.load_spec("s47_primary")
        result = swisbayes.fit(spec, swisbayes.load_example())
        result.diagnostics.ok            # check this before reading anything else
        result.decision.effect.prob_meaningful_reduction
    """
    return Analysis(spec, data).fit(progress=progress, raise_on_failure=raise_on_failure)


__all__ = ["Analysis", "DataLike", "fit"]
