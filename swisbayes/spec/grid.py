"""The sensitivity grid file: its axes, and the cells they make.

A grid is a TOML file (``models/prior_grid.toml``) with these axes, each optional:

- ``specs``: analysis specs (outcomes), relative to the grid file; ``SPEC`` arguments replace
  them;
- ``[priors]``: priors on the effect: ``library`` names, ``[[priors.normal]]`` blocks (every
  ``centres_irr`` x ``sds``), ``[[priors.pilot]]`` blocks (every ``robust_weights`` x
  ``discount_a0`` of the pilot-informed prior) and ``[[priors.custom]]`` entries written like a
  spec's ``[priors.effect]``;
- ``[hyper]``: scales of half-normal hyperpriors, e.g. ``sigma_la_effect = [0.2, 0.4]``;
- ``mcid`` and ``seeds``.

An axis left out takes the spec's own value. The cells are every combination of the axes, or
the ``[[cells]]`` listed. ``[sampler]`` overrides the specs' sampler settings and
``[reweighting]`` says when a cell may be answered from another cell's draws.

The file is validated like a spec: unknown keys are errors that list the allowed ones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    ValidationError,
    create_model,
    field_validator,
)

from swisbayes._base.config import Strict, describe_error, read_toml, validated
from swisbayes._base.errors import SpecError
from swisbayes.priors.library import PILOT_PRIOR, library_names
from swisbayes.spec.analysis import AnalysisSpec, EffectPrior, HalfNormalPrior, Hyperpriors
from swisbayes.spec.hyper import half_normal_paths, scale_axis, set_scale


def _distinct(values: tuple) -> tuple:
    """An axis lists each value once (a repeated value would make two identical cells)."""
    repeated = list(dict.fromkeys(v for i, v in enumerate(values) if v in values[:i]))
    if repeated:
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else repr(v) for v in repeated)
        raise ValueError(f"{shown} listed more than once; expected each value once")
    return values


Distinct = AfterValidator(_distinct)
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
AxisValues = Annotated[tuple[PositiveFloat, ...], Field(min_length=1), Distinct]

SPEC_AXIS, PRIOR_AXIS, MCID_AXIS, SEED_AXIS = "spec", "effect_prior", "mcid", "seed"


def _scale_axes_model(model: type[BaseModel] = Hyperpriors, name: str = "HyperAxes"):
    """A closed pydantic model with one optional list of scales per half-normal hyperprior."""
    fields: dict[str, tuple] = {}
    for key, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is HalfNormalPrior:
            fields[key] = (AxisValues | None, None)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sub = _scale_axes_model(annotation, f"{name}_{key}")
            if sub is not None:
                fields[key] = (sub, sub())
    if not fields:
        return None
    return create_model(name, __base__=Strict, __doc__="Scales of half-normal hyperpriors.",
                        **fields)


HyperAxes = _scale_axes_model()


class NormalPriors(Strict):
    """Normal priors on the log IRR: every centre (as an IRR) with every SD."""

    centres_irr: AxisValues
    sds: AxisValues


class PilotPriors(Strict):
    """Variants of the pilot-informed prior: every robust weight with every discount."""

    robust_weights: Annotated[tuple[Annotated[float, Field(ge=0, le=1)], ...],
                              Field(min_length=1), Distinct] = (0.8,)
    discount_a0: Annotated[tuple[Annotated[float, Field(gt=0, le=1)], ...],
                           Field(min_length=1), Distinct] = (1.0,)
    tau_scale: PositiveFloat | None = None
    pilots: str | None = None


class PriorAxis(Strict):
    """The priors on the effect that the grid compares."""

    library: Annotated[tuple[str, ...], Distinct] = ()
    normal: tuple[NormalPriors, ...] = ()
    pilot: tuple[PilotPriors, ...] = ()
    custom: tuple[EffectPrior, ...] = ()

    @field_validator("library")
    @classmethod
    def _known_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [n for n in names if n not in library_names()]
        if unknown:
            raise ValueError(f"unknown prior name(s) {unknown}; valid names: "
                             f"{', '.join(library_names())}")
        return names

    @property
    def empty(self) -> bool:
        """True when the grid does not vary the prior."""
        return not (self.library or self.normal or self.pilot or self.custom)


class SamplerOverrides(Strict):
    """Sampler settings applied to every spec of the grid (the seed is the ``seeds`` axis)."""

    backend: Literal["nutpie", "pymc"] | None = None
    draws: Annotated[int, Field(ge=10)] | None = None
    tune: Annotated[int, Field(ge=10)] | None = None
    chains: Annotated[int, Field(ge=1)] | None = None
    cores: Annotated[int, Field(ge=1)] | None = None
    target_accept: Fraction | None = None


class Reweighting(Strict):
    """When a cell may be answered by Pareto-smoothed importance sampling of another's draws.

    ``max_khat`` is the largest Pareto k-hat accepted (0.7: above it the importance-sampling
    estimate is unreliable); ``min_ess`` is the smallest importance-sampling ESS accepted (the
    gate's bulk-ESS threshold by default, so a reweighted cell is held to the same precision as a
    sampled one).
    """

    enabled: StrictBool = True
    max_khat: Annotated[float, Field(gt=0, le=1)] = 0.7
    min_ess: Annotated[float, Field(gt=0)] = 400.0


class GridFile(Strict):
    """The contents of a grid TOML file (see the module docstring)."""

    name: str = "sensitivity"
    description: str = ""
    specs: Annotated[tuple[str, ...], Distinct] = ()
    priors: PriorAxis = PriorAxis()
    hyper: HyperAxes = HyperAxes()
    mcid: Annotated[tuple[Fraction, ...], Field(min_length=1), Distinct] | None = None
    seeds: Annotated[tuple[Annotated[int, Field(ge=0)], ...], Field(min_length=1),
                     Distinct] | None = None
    sampler: SamplerOverrides = SamplerOverrides()
    reweighting: Reweighting = Reweighting()
    cells: tuple[dict[str, str | float | int], ...] = ()


@dataclass(frozen=True)
class Cell:
    """One combination of the grid's axes.

    Parameters
    ----------
    axes : dict
        Value of every axis, by axis name (``spec``, ``effect_prior``, ``*_scale``, ``mcid``,
        ``seed``).
    spec : AnalysisSpec
        The spec to fit. Its effect prior is not resolved yet (the pilot-informed prior runs a
        meta-analysis; see :func:`swisbayes.evidence.resolver.resolved_spec`).
    """

    axes: dict[str, object]
    spec: AnalysisSpec


@dataclass(frozen=True)
class Grid:
    """A validated grid file.

    Parameters
    ----------
    file : GridFile
        Its contents.
    source : str
        Where it came from (for messages).
    root : pathlib.Path
        Directory that relative paths in it (specs, pilots) are relative to.
    """

    file: GridFile
    source: str = "<grid>"
    root: Path = Path()

    @classmethod
    def from_dict(cls, raw: dict, *, source: str = "<grid>", root: Path | None = None) -> Grid:
        """Validate a grid given as a dict (the parsed TOML).

        Raises
        ------
        SpecError
            Every problem, with its key path (unknown keys list the allowed ones).
        """
        return cls(_validated_grid(raw, source), source, root or Path())

    @property
    def name(self) -> str:
        """The grid's name (the default output directory is ``out/NAME``)."""
        return self.file.name

    @property
    def reweighting(self) -> Reweighting:
        """When cells may be reweighted instead of sampled."""
        return self.file.reweighting

    def spec_paths(self, *, check: bool = False) -> list[Path]:
        """The spec files the grid names, resolved against its directory.

        Parameters
        ----------
        check : bool, default False
            Raise if one of them is not a file.

        Raises
        ------
        SpecError
            With ``check``, for a spec that is not a file; the message names the grid and the
            entry (``specs[1]``) as well as the path it resolves to.
        """
        paths = [self.root / p for p in self.file.specs]
        for i, (entry, path) in enumerate(zip(self.file.specs, paths, strict=True)):
            if check and not path.is_file():
                raise SpecError(f"{self.source}: specs[{i}]: no such spec file {path} (found "
                                f"{entry!r}; expected a path relative to the grid file's "
                                f"directory, {self.root})")
        return paths

    def scale_values(self) -> dict[str, tuple[float, ...]]:
        """Scale axes by hyperprior path, in the order of the spec."""
        values = {}
        for path in half_normal_paths():
            node = self.file.hyper
            for key in path.split("."):
                node = getattr(node, key)
            if node is not None:
                values[path] = tuple(node)
        return values

    def axes(self, specs: list[AnalysisSpec]) -> dict[str, list]:
        """Every axis with its values, in order: spec, effect prior, scales, MCID, seed.

        An axis the grid leaves out has one value per spec (the spec's own).
        """
        axes: dict[str, list] = {SPEC_AXIS: [s.name for s in specs]}
        axes[PRIOR_AXIS] = _unique(label for s in specs for label in self.priors(s))
        for path, values in self.scale_values().items():
            axes[scale_axis(path)] = list(values)
        axes[MCID_AXIS] = list(self.file.mcid or _unique(s.decision.mcid for s in specs))
        axes[SEED_AXIS] = list(self.file.seeds or _unique(s.sampler.seed for s in specs))
        return axes

    def cells(self, specs: list[AnalysisSpec]) -> list[Cell]:
        """The grid's cells for these specs, in grid order.

        Raises
        ------
        SpecError
            If spec names repeat, prior labels repeat, or an explicit cell is not on the axes.
        """
        names = [s.name for s in specs]
        if not specs:
            raise SpecError(f"{self.source}: no specs to run (give SPEC files or 'specs')")
        if len(set(names)) != len(names):
            raise SpecError(f"{self.source}: spec names must differ; got {names}")
        priors = {s.name: self.priors(s) for s in specs}
        combos = (self._explicit(specs, priors) if self.file.cells
                  else self._product(specs, priors))
        return [self._cell(spec, combo, priors[spec.name]) for spec, combo in combos]

    def priors(self, spec: AnalysisSpec) -> dict[str, EffectPrior]:
        """The prior axis for one spec: label -> spec entry (unresolved).

        Library and pilot priors keep the spec's planned effect and pilot settings.
        """
        return _prior_entries(self, spec)

    def _product(self, specs: list[AnalysisSpec], priors: dict[str, dict]):
        scales = self.scale_values()
        for spec in specs:
            mcids = self.file.mcid or (spec.decision.mcid,)
            seeds = self.file.seeds or (spec.sampler.seed,)
            for label, *scale_values, mcid, seed in itertools.product(
                    priors[spec.name], *scales.values(), mcids, seeds):
                yield spec, {SPEC_AXIS: spec.name, PRIOR_AXIS: label,
                             **{scale_axis(p): v for p, v in zip(scales, scale_values,
                                                                 strict=True)},
                             MCID_AXIS: mcid, SEED_AXIS: seed}

    def _explicit(self, specs: list[AnalysisSpec], priors: dict[str, dict]):
        by_name = {s.name: s for s in specs}
        axes = self.axes(specs)
        for i, entry in enumerate(self.file.cells):
            where = f"{self.source}: cells[{i}]"
            unknown = sorted(set(entry) - set(axes))
            if unknown:
                raise SpecError(f"{where}: unknown axis {unknown}; axes: {', '.join(axes)}")
            combo = {}
            for axis, values in axes.items():
                if axis not in entry and len(values) > 1:
                    raise SpecError(f"{where}: missing '{axis}' (the axis has several values: "
                                    f"{values})")
                value = entry.get(axis, values[0])
                if value not in values:
                    raise SpecError(f"{where}: {axis} = {value!r} is not on the axis; "
                                    f"values: {values}")
                combo[axis] = value
            spec = by_name[combo[SPEC_AXIS]]
            if combo[PRIOR_AXIS] not in priors[spec.name]:
                raise SpecError(f"{where}: prior {combo[PRIOR_AXIS]!r} is not on spec "
                                f"{spec.name!r}'s prior axis")
            yield spec, combo

    def _cell(self, spec: AnalysisSpec, combo: dict, priors: dict[str, EffectPrior]) -> Cell:
        raw = spec.with_sampler(**self.file.sampler.model_dump(exclude_none=True)).model_dump(
            mode="json")
        raw["priors"]["effect"] = priors[combo[PRIOR_AXIS]].model_dump(mode="json")
        for path in self.scale_values():
            set_scale(raw["priors"]["hyper"], path, combo[scale_axis(path)])
        raw["decision"]["mcid"] = combo[MCID_AXIS]
        raw["sampler"]["seed"] = combo[SEED_AXIS]
        where = f"{self.source}: cell {combo}"
        return Cell(axes=combo, spec=validated(AnalysisSpec, raw, where))


def _prior_entries(grid: Grid, spec: AnalysisSpec) -> dict[str, EffectPrior]:
    axis = grid.file.priors
    if axis.empty:
        return {spec.priors.effect.name: spec.priors.effect}
    entries: dict[str, EffectPrior] = {}

    def add(label: str, entry: EffectPrior) -> None:
        if label in entries:
            raise SpecError(f"{grid.source}: prior {label!r} appears twice on the prior axis")
        entries[label] = entry

    for name in axis.library:
        add(name, spec.with_prior(name).priors.effect)
    for block in axis.normal:
        for centre, sd in itertools.product(block.centres_irr, block.sds):
            label = f"normal(irr={centre:g}, sd={sd:g})"
            add(label, spec.with_effect_prior(
                math.log(centre), sd, name=label, source="sensitivity grid",
                description=f"Normal(log {centre:g}, {sd:g}) on log IRR").priors.effect)
    for block in axis.pilot:
        for weight, a0 in itertools.product(block.robust_weights, block.discount_a0):
            label = f"{PILOT_PRIOR}(w={weight:g}, a0={a0:g}"
            label += f", tau={block.tau_scale:g})" if block.tau_scale is not None else ")"
            add(label, _pilot_entry(grid, spec, block, weight, a0))
    for entry in axis.custom:
        add(entry.name, entry)
    return entries


def _pilot_entry(grid: Grid, spec: AnalysisSpec, block: PilotPriors, weight: float,
                 a0: float) -> EffectPrior:
    raw = {**spec.priors.effect.model_dump(),
           **dict.fromkeys(("description", "source", "mean", "sd", "weights", "means", "sds")),
           "name": PILOT_PRIOR, "robust_weight": weight, "discount_a0": a0}
    if block.tau_scale is not None:
        raw["tau_scale"] = block.tau_scale
    if block.pilots is not None:
        raw["pilots"] = str(grid.root / block.pilots)
    return validated(EffectPrior, raw, f"{grid.source}: priors.pilot")


def _unique(values) -> list:
    return list(dict.fromkeys(values))


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    Grid

    Raises
    ------
    SpecError
        If the file is missing, not TOML, or has unknown keys or bad values (all listed).

    Examples
    --------
    >>> grid = load_grid("models/prior_grid.toml")
    >>> grid.spec_paths()[0].name
    's47_primary.toml'
    """
    path = Path(path)
    raw = read_toml(path, "grid")
    return Grid(_validated_grid(raw, str(path)), str(path), path.parent)


def _validated_grid(raw: dict, source: str) -> GridFile:
    try:
        return GridFile.model_validate(raw)
    except ValidationError as exc:
        errors = _merge_union_branches(exc.errors())
        lines = [_describe_grid_error(err) for err in errors if not _follows_from(err, errors)]
        raise SpecError(f"{source}: {len(lines)} problem(s) in the grid\n" + "\n".join(
            f"  - {line}" for line in lines)) from None


_BRANCHES = {"str": "text", "float": "a number", "int": "a number", "bool": "true or false"}


def _merge_union_branches(errors: list[dict]) -> list[dict]:
    """One error for a value that fits none of a union's types (pydantic gives one per type).

    A ``[[cells]]`` value must be text or a number: ``mcid = [1]`` fails as ``str``, ``float``
    and ``int``, which is one problem.
    """
    merged: list[dict] = []
    seen: dict[tuple, dict] = {}
    for err in errors:
        loc = err["loc"]
        if loc and loc[-1] in _BRANCHES and err["type"].endswith(("_type", "_parsing")):
            key = loc[:-1]
            if key in seen:
                seen[key]["kinds"].append(_BRANCHES[loc[-1]])
                continue
            seen[key] = {**err, "loc": key, "kinds": [_BRANCHES[loc[-1]]]}
            merged.append(seen[key])
        else:
            merged.append(err)
    for err in seen.values():
        err["msg"] = "Input should be " + " or ".join(dict.fromkeys(err.pop("kinds")))
    return merged


def _follows_from(err: dict, errors: list[dict]) -> bool:
    """A list reported too short only because one of its items failed (pydantic says both)."""
    loc = err["loc"]
    return err["type"] == "too_short" and any(
        len(other["loc"]) > len(loc) and other["loc"][:len(loc)] == loc for other in errors)


def _describe_grid_error(err: dict) -> str:
    # spec.describe_error finds the allowed keys by walking plain model fields; a list of tables
    # ([[priors.pilot]]) or a generated model needs the unwrapping done here.
    if err["type"] != "extra_forbidden":
        return describe_error(GridFile, err)
    loc = [p for p in err["loc"] if not isinstance(p, int)]
    owner = _owner(GridFile, loc[:-1])
    allowed = ", ".join(owner.model_fields) if owner else "?"
    section = ".".join(str(p) for p in err["loc"][:-1]) or "the top level"
    return f"unknown key '{loc[-1]}' in {section}; allowed keys: {allowed}"


def _owner(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for key in loc:
        if current is None or key not in current.model_fields:
            return None
        current = _model_in(current.model_fields[key].annotation)
    return current


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


__all__ = ["Cell", "Grid", "GridFile", "Reweighting", "load_grid"]
