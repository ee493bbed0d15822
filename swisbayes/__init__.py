"""swisbayes: Bayesian re-analysis of school-clustered randomised trials.

The light parts (data, specs, simulation) import quickly; the model and sampler are imported on
first use, so ``swisbayes validate`` and ``import swisbayes`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swisbayes._base.errors import ConvergenceError, DataError, SpecError, SwisbayesError
from swisbayes._base.provenance import package_version
from swisbayes.data.io import load_example, read_school_data, validate
from swisbayes.data.simulate import simulate_pupils, simulate_trial
from swisbayes.spec.analysis import AnalysisSpec, load_spec

if TYPE_CHECKING:
    from swisbayes.inference.fitting import FitResult, fit

__version__ = package_version()

__all__ = [
    "AnalysisSpec", "ConvergenceError", "DataError", "FitResult", "SpecError", "SwisbayesError",
    "fit", "load_example", "load_spec", "read_school_data", "simulate_pupils", "simulate_trial",
    "validate"
]


def __getattr__(name: str):
    if name in {"fit", "FitResult"}:
        from swisbayes.inference import fitting as _fitting

        return getattr(_fitting, name)
    raise AttributeError(f"module 'swisbayes' has no attribute {name!r}")
