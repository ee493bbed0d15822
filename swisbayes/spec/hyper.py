"""The half-normal hyperpriors of a spec, by dotted path: the grid's scale axes.

The paths are read from :class:`swisbayes.spec.analysis.Hyperpriors`, so a hyperprior added there
becomes a possible grid axis (and is reweighted) without a change here.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel

from swisbayes.spec.analysis import AnalysisSpec, HalfNormalPrior, Hyperpriors


@cache
def half_normal_paths(model: type[BaseModel] = Hyperpriors, prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of every half-normal hyperprior in the spec, e.g. ``"sigma_la_effect"``.

    Read from :class:`swisbayes.spec.analysis.Hyperpriors`, so a hyperprior added there becomes a
    grid axis without a change here.
    """
    paths: list[str] = []
    for key, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is HalfNormalPrior:
            paths.append(prefix + key)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(half_normal_paths(annotation, f"{prefix}{key}."))
    return tuple(paths)


def scale_axis(path: str) -> str:
    """Name of the grid axis of a hyperprior's scale (``sigma_la_effect_scale``)."""
    return path.replace(".", "_") + "_scale"


def get_scale(spec: AnalysisSpec, path: str) -> float:
    """The scale of the half-normal hyperprior at ``path`` in ``spec``."""
    node: BaseModel = spec.priors.hyper
    for key in path.split("."):
        node = getattr(node, key)
    return float(node.scale)


def set_scale(hyper: dict, path: str, value: float | None) -> None:
    """Set the scale at ``path`` in a dumped ``priors.hyper`` table (in place)."""
    *parents, last = path.split(".")
    for key in parents:
        hyper = hyper[key]
    hyper[last]["scale"] = value


__all__ = ["get_scale", "half_normal_paths", "scale_axis", "set_scale"]
