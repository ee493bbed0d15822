"""The joint analysis file: which outcome specs are fitted together, and what is reported."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

from swisbayes._base.config import Strict, read_toml, validated
from swisbayes._base.errors import SpecError
from swisbayes._base.files import default_file
from swisbayes.spec.analysis import AnalysisSpec, Sampler, load_spec

DEFAULT_JOINT_SPEC = Path("models") / "joint.toml"
"""Joint spec used when none is named: relative to the working directory, else the project's."""


DEFAULT_OUTCOME_SPECS = ("s47_primary.toml", "referrals.toml", "s17.toml", "care_entry.toml")
"""The count-outcome specs combined by default (file names in the models directory)."""


JOINT_SAMPLER = Sampler(draws=2000)
"""Default sampler of a joint fit: 2000 draws per chain. With 1000 the worst of some 1400
parameters (a school correlation, an effect) had R-hat 1.011-1.013 on the bundled and simulated
data; with 2000 all seven datasets tried passed the gate at the first attempt."""


class JointReport(Strict):
    """What a joint analysis reports besides every pair of outcomes.

    Parameters
    ----------
    sets : tuple of tuple of str
        Further sets of outcomes (e.g. all four) whose joint probability is reported.
    thresholds : dict of str to float
        IRR threshold by outcome; an outcome not listed uses ``1 - mcid`` of its spec.
    """

    sets: tuple[Annotated[tuple[str, ...], Field(min_length=2)], ...] = ()
    thresholds: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)


class JointSpec(Strict):
    """A joint analysis of several count outcomes (``models/joint.toml``).

    Parameters
    ----------
    name : str
    title : str
    specs : tuple of str
        Outcome spec files combined: relative to the joint spec's file, or to
        :func:`models_dir` for a spec made in code. Their hierarchy and adjustment must agree;
        each brings its outcome's priors.
    lkj_eta : float
        Shape of the LKJ prior of both correlation matrices (1 = uniform over correlation
        matrices; 2 shrinks gently towards no correlation).
    report : JointReport
    sampler : Sampler
        Settings of the joint fit (the outcome specs' own settings are not used).
    """

    name: str = "joint"
    title: str = ""
    specs: Annotated[tuple[str, ...], Field(min_length=2)] = DEFAULT_OUTCOME_SPECS
    lkj_eta: Annotated[float, Field(gt=0)] = 2.0
    report: JointReport = JointReport()
    sampler: Sampler = JOINT_SAMPLER

    def analyses(self) -> tuple[AnalysisSpec, ...]:
        """Load the outcome specs this joint spec combines.

        Returns
        -------
        tuple of AnalysisSpec
        """
        base = models_dir()
        return tuple(load_spec(p if Path(p).is_absolute() else base / p) for p in self.specs)

    def to_json(self) -> str:
        """The spec as canonical JSON (recorded in every joint result)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def models_dir() -> Path:
    """The models directory: ``./models`` when it holds the joint spec, else the project's."""
    return default_file(DEFAULT_JOINT_SPEC.name).parent


def load_joint_spec(path: str | Path | None = None) -> JointSpec:
    """Read and validate a joint spec; its outcome spec paths are made absolute.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A TOML file; ``joint.toml`` in :func:`models_dir` when None.

    Returns
    -------
    JointSpec

    Raises
    ------
    SpecError
        If the file is missing or not TOML, a key is unknown, a value is out of range, an
        outcome spec fails to load, or the report names an outcome that no spec analyses.

    Examples
    --------
    >>> spec = load_joint_spec("models/joint.toml")
    >>> [s.outcome for s in spec.analyses()]
    ['s47', 'referrals', 's17', 'care_entry']
    """
    path = Path(path) if path is not None else models_dir() / DEFAULT_JOINT_SPEC.name
    raw = read_toml(path, "joint spec")
    if isinstance(raw.get("specs"), list):
        raw["specs"] = [str((path.parent / p).resolve()) if isinstance(p, str) else p
                        for p in raw["specs"]]
    spec = validated(JointSpec, raw, str(path))
    check_report(spec, [s.outcome for s in spec.analyses()], source=str(path))
    return spec


def check_report(spec: JointSpec, outcomes: Sequence[str], *, source: str = "<joint>") -> None:
    """Raise :class:`SpecError` if the report of ``spec`` names an outcome not in ``outcomes``."""
    named = {o for s in spec.report.sets for o in s} | set(spec.report.thresholds)
    unknown = sorted(named - set(outcomes))
    if unknown:
        raise SpecError(f"{source}: report names outcome(s) {unknown} that no combined spec "
                        f"analyses; analysed: {', '.join(outcomes)}")


def pair_labels(outcomes: Sequence[str]) -> list[str]:
    """Labels ``"a:b"`` of the outcome pairs, in the order of the ``corr_*`` variables."""
    rows, cols = np.triu_indices(len(outcomes), 1)
    return [f"{outcomes[i]}:{outcomes[j]}" for i, j in zip(rows, cols, strict=True)]


__all__ = ["JointReport", "JointSpec", "load_joint_spec"]
