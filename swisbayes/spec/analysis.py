"""Analysis specifications: one TOML file per pre-specified analysis.

A spec is plain data, validated on construction. Unknown keys are errors that name the key and
list the allowed ones, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from swisbayes._base.config import PositiveFloat, Strict, read_toml, validated
from swisbayes._base.errors import SpecError
from swisbayes._base.files import find_spec_file
from swisbayes.data.schema import (
    DECLARATION_TABLE,
    OUTCOMES,
    OutcomeSchema,
    check_declaration,
    column_problem,
    known_outcomes,
    register_outcome,
    unknown_outcome_message,
)
from swisbayes.priors.library import (
    PILOT_PRIOR,
    PLANNED_IRR,
    MixturePrior,
    PilotSettings,
    library_prior,
)


class OutcomeDeclaration(Strict):
    """An outcome the schema does not know, declared in its spec (the ``[outcome_schema]`` table).

    With it, an outcome of another school-clustered trial is data: reading the spec registers
    the outcome (:func:`swisbayes.data.schema.register_outcome`) under the spec's ``outcome``
    name, and every reader and model then handles its columns as they handle a built-in
    outcome's. A file needs the design columns ``school_id``, ``la_id``, ``arm`` and ``pupils``
    besides these.

    Parameters
    ----------
    label : str
        Plain-English label for tables and reports (``"Fixed-term exclusions"``).
    kind : {"count", "days", "sessions"}
        ``count``: events per school (negative binomial or Poisson); ``days``: days (a hurdle
        model); ``sessions``: sessions missed out of ``denominator`` (beta-binomial).
    followup : str
        Column of the follow-up value.
    baseline : str, optional
        Column of the same measure before randomisation. Without one, the spec's
        ``adjustment.baseline`` defaults to false (and cannot be true).
    denominator : str, optional
        Column of sessions possible: required for ``sessions``, not allowed otherwise.
    unit : str, optional
        What one unit of the follow-up is, in the plural (``"exclusions"``).
    phrase : str, optional
        The outcome inside a sentence (``"exclusions"``); the label with a lower-case first
        letter when not given.

    Examples
    --------
    In a spec file::

        outcome = "exclusions"

        [outcome_schema]
        label = "Fixed-term exclusions"
        kind = "count"
        followup = "exclusions"
        baseline = "exclusions_baseline"
        unit = "exclusions"
    """

    label: Annotated[str, Field(min_length=1)]
    kind: Literal["count", "days", "sessions"]
    followup: Annotated[str, Field(min_length=1)]
    baseline: Annotated[str, Field(min_length=1)] | None = None
    denominator: Annotated[str, Field(min_length=1)] | None = None
    unit: str | None = None
    phrase: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _columns(self) -> OutcomeDeclaration:
        problem = column_problem(self.kind, self.followup, self.baseline, self.denominator)
        if problem:
            raise ValueError(problem)
        return self

    def schema(self, name: str) -> OutcomeSchema:
        """The outcome's :class:`~swisbayes.data.schema.OutcomeSchema`, named ``name``."""
        return OutcomeSchema(name, self.label, self.kind, self.followup, self.baseline,
                             denominator=self.denominator, unit=self.unit, phrase=self.phrase)

    @classmethod
    def of(cls, schema: OutcomeSchema) -> OutcomeDeclaration:
        """The declaration of ``schema`` (its name aside)."""
        return cls(label=schema.label, kind=schema.kind, followup=schema.followup,
                   baseline=schema.baseline, denominator=schema.denominator, unit=schema.unit,
                   phrase=schema.phrase)


class Hierarchy(Strict):
    """Random-effect structure over local authorities."""

    la_intercepts: StrictBool = True
    la_varying_effect: StrictBool = True


class Adjustment(Strict):
    """Baseline and covariate adjustment (all covariates are standardised before fitting)."""

    baseline: StrictBool = True
    school_size: StrictBool = True
    covariates: tuple[Annotated[str, Field(min_length=1)], ...] = ("fsm_pct",)

    @field_validator("covariates")
    @classmethod
    def _distinct(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"covariate(s) {repeated} listed more than once; expected each "
                             "covariate once")
        return names


class EffectPrior(Strict):
    """The prior on the log incidence rate ratio (SWIS vs control).

    Either a library name alone (``name = "sceptical"``, see
    :func:`swisbayes.evidence.resolver.get_prior`),
    or a custom normal (``mean``, ``sd``), or a custom normal mixture (``weights``, ``means``,
    ``sds``), each with a ``name``, ``description`` and ``source``.
    """

    name: str = "vague"
    description: str | None = None
    source: str | None = None
    mean: float | None = None
    sd: PositiveFloat | None = None
    weights: tuple[float, ...] | None = None
    means: tuple[float, ...] | None = None
    sds: tuple[float, ...] | None = None
    planned_irr: Annotated[float, Field(gt=0, lt=1)] = PLANNED_IRR
    pilots: str | None = None
    tau_scale: PositiveFloat = 0.5
    robust_weight: Annotated[float, Field(ge=0, le=1)] = 0.8
    discount_a0: Annotated[float, Field(gt=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _one_form(self) -> EffectPrior:
        normal = (self.mean is not None, self.sd is not None)
        mixture = (self.weights is not None, self.means is not None, self.sds is not None)
        if any(normal) and not all(normal):
            raise ValueError("a normal prior needs both 'mean' and 'sd'")
        if any(mixture) and not all(mixture):
            raise ValueError("a mixture prior needs 'weights', 'means' and 'sds'")
        if all(normal) and all(mixture):
            raise ValueError("give either 'mean'/'sd' or 'weights'/'means'/'sds', not both")
        if self.name == PILOT_PRIOR and not any((*normal, *mixture)):
            from swisbayes.spec.pilots import load_pilots

            load_pilots(self.pilot_settings().pilots_path())  # checked now, fitted when used
        else:
            self.resolve()  # unknown names and invalid mixtures fail here, at load time
        return self

    def pilot_settings(self, outcome: str = "s47") -> PilotSettings:
        """How the ``pilot-informed`` prior is built from this entry."""
        return PilotSettings(pilots=None if self.pilots is None else Path(self.pilots),
                             outcome=outcome, tau_scale=self.tau_scale,
                             robust_weight=self.robust_weight, discount_a0=self.discount_a0)

    def resolve(self) -> MixturePrior:
        """The prior as a :class:`~swisbayes.priors.library.MixturePrior`, when it is closed-form.

        A spec never runs MCMC: the ``pilot-informed`` prior is the pilots' meta-analysis, which
        :func:`swisbayes.evidence.resolver.effect_prior` resolves (cached on disk).

        Returns
        -------
        MixturePrior

        Raises
        ------
        SpecError
            For an unknown name, or the unresolved ``pilot-informed`` prior.
        """
        if self.weights is not None:
            return MixturePrior(self.name, self.description or "user-defined normal mixture",
                                self.source or "user", self.weights, self.means, self.sds)
        if self.mean is not None:
            return MixturePrior.normal(self.name, self.mean, self.sd,
                                       description=self.description or "",
                                       provenance=self.source or "user")
        return library_prior(self.name, planned_irr=self.planned_irr)

    @classmethod
    def from_prior(cls, prior: MixturePrior) -> EffectPrior:
        """Spec entry holding exactly ``prior``."""
        return cls(name=prior.name, description=prior.description, source=prior.provenance,
                   weights=prior.weights, means=prior.means, sds=prior.sds)


class HalfNormalPrior(Strict):
    """Half-normal prior with the given scale."""

    family: Literal["half_normal"] = "half_normal"
    scale: PositiveFloat


class PositivePart(Strict):
    """Priors of the positive part of the days-in-care hurdle that it does not share.

    Parameters
    ----------
    intercept_mean, intercept_sd : float
        Normal prior of the intercept: the log of the (untruncated) negative-binomial mean
        days in care per pupil over the follow-up, in a school of average covariates. The
        default, -1 (0.37 days per pupil), is an assumption: about 2 per 1000 pupils entering
        care over 23 months for about 200 days each gives 0.4.
    inv_sqrt_dispersion : HalfNormalPrior
        Prior of ``1 / sqrt(phi)``, where ``phi`` is the negative binomial's size. Days in care
        are very over-dispersed (a few long stays dominate), so the default scale 1 keeps
        ``phi`` around 1 plausible.
    """

    intercept_mean: float = -1.0
    intercept_sd: PositiveFloat = 2.0
    inv_sqrt_dispersion: HalfNormalPrior = HalfNormalPrior(scale=1.0)


class Hyperpriors(Strict):
    """Priors of the nuisance parameters (they enter the model as data, so they can be swapped).

    ``intercept_mean``/``intercept_sd`` are on the scale of the outcome's linear predictor: log
    events per pupil over the follow-up for a count, the log rate of care episodes per pupil
    (the hurdle's zero part) for days in care, the logit of the share of sessions missed for
    attendance. When a spec file (or dict) leaves them out they take the outcome's defaults
    (:data:`OUTCOME_DEFAULTS`). ``coefficient_sd``, ``sigma_la`` and ``sigma_la_effect`` apply
    to each linear predictor of a model (both parts of the hurdle). ``positive`` holds the
    hurdle's positive-part priors; ``inv_sqrt_concentration`` is the prior of
    ``1 / sqrt(kappa)``, the beta-binomial concentration of attendance (unused elsewhere).
    """

    intercept_mean: float = -4.0
    intercept_sd: PositiveFloat = 2.0
    coefficient_sd: PositiveFloat = 1.0
    sigma_la: HalfNormalPrior = HalfNormalPrior(scale=0.5)
    sigma_la_effect: HalfNormalPrior = HalfNormalPrior(scale=0.2)
    inv_sqrt_dispersion: HalfNormalPrior = HalfNormalPrior(scale=1.0)
    positive: PositivePart = PositivePart()
    inv_sqrt_concentration: HalfNormalPrior = HalfNormalPrior(scale=0.2)


class Priors(Strict):
    """The prior on the effect and the hyperpriors."""

    effect: EffectPrior = EffectPrior()
    hyper: Hyperpriors = Hyperpriors()


class Decision(Strict):
    """What counts as a meaningful effect, and who said so.

    ``mcid`` is a relative reduction of the outcome's rate (0.10 = 10% fewer events, days or
    sessions missed). ``mcid_pp``, for attendance only, is a meaningful fall in the absence
    rate in percentage points (the decision asks for P(difference < -mcid_pp)); it defaults to
    0.5 points there.
    """

    mcid: Annotated[float, Field(gt=0, lt=1)] = 0.10
    mcid_source: str = "assumption"
    mcid_rationale: str = (
        "A decision-maker's threshold: a reduction of at least 10% in the event rate would be "
        "worth acting on. The trial's planned effect was not available.")
    mcid_pp: PositiveFloat | None = None


class Sampler(Strict):
    """MCMC settings; ``seed`` makes a fit reproducible."""

    backend: Literal["nutpie", "pymc"] = "nutpie"
    draws: Annotated[int, Field(ge=10)] = 1500  # per chain: probabilities to an MCSE < 0.01
    tune: Annotated[int, Field(ge=10)] = 1000
    chains: Annotated[int, Field(ge=1)] = 4
    cores: Annotated[int, Field(ge=1)] = 2
    target_accept: Annotated[float, Field(gt=0, lt=1)] = 0.8
    seed: Annotated[int, Field(ge=0)] = 20231


FAMILIES: dict[str, tuple[str, ...]] = {
    "count": ("negative_binomial", "poisson"),
    "days": ("hurdle_negative_binomial",),
    "sessions": ("beta_binomial",),
}
"""Likelihood families that fit each kind of outcome (the first is the default)."""

DEFAULT_MCID_PP = 0.5
"""Attendance's meaningful fall in absence, in percentage points, when a spec gives none."""

OUTCOME_DEFAULTS: dict[str, dict] = {
    "days": {"priors": {"hyper": {"intercept_mean": -6.0, "intercept_sd": 2.0}}},
    "sessions": {"followup_years": 1.0,
                 "priors": {"hyper": {"intercept_mean": -2.6, "intercept_sd": 1.0}}},
}
"""Defaults of the non-count outcomes where they differ from the count ones, by outcome kind.

Days in care: the hurdle's zero-part intercept is the log rate of care episodes per pupil over
the follow-up; about 1 per 1000 per year over 23 months is exp(-6.3). Attendance: the logit of
the share of sessions missed; -2.6 is 6.9%, and English secondary schools' overall absence
has been 5-9% in recent years; the follow-up is the one school year in which the trial measured
attendance (to July 2023). All are assumptions; see the specs in models/.
"""


class AnalysisSpec(Strict):
    """A pre-specified analysis of one outcome.

    Parameters
    ----------
    name : str
        Identifier of the analysis (file stem by convention).
    title : str
        Plain-English title for reports.
    outcome_schema : OutcomeDeclaration, optional
        The ``[outcome_schema]`` table: declares ``outcome`` when it is not built in (a
        built-in outcome may be declared only exactly as it is). Filled in when ``outcome`` was
        declared by another spec read earlier, so that every spec of a declared outcome
        carries its declaration (a worker process or a saved result re-registers it).
    outcome : str
        A built-in outcome (:data:`swisbayes.data.schema.OUTCOMES`) or a declared one.
    family : {"negative_binomial", "poisson", "hurdle_negative_binomial", "beta_binomial"}
        Likelihood; it must fit the outcome (:data:`FAMILIES`): a count outcome takes
        ``negative_binomial`` or ``poisson``, ``days_in_care`` takes
        ``hurdle_negative_binomial``, ``attendance`` takes ``beta_binomial``. Left out, it is the
        first of these.
    followup_years : float
        Length of the follow-up window, to turn counts into rates per year (default 23/12;
        one school year for attendance).
    hierarchy, adjustment, priors, decision, sampler
        See the nested classes.
    overrides : dict
        What was changed from the spec as written (by :meth:`with_covariates`,
        :meth:`with_family`, :meth:`with_mcid` or the command line's ``--covariates``,
        ``--family``), by key; recorded in every result's provenance. Empty as read.
    """

    name: Annotated[str, Field(min_length=1)]
    title: str = ""
    # before `outcome`, so that the outcome's check sees the declaration
    outcome_schema: OutcomeDeclaration | None = None
    outcome: str
    family: Literal["negative_binomial", "poisson", "hurdle_negative_binomial",
                    "beta_binomial"] = "negative_binomial"
    followup_years: PositiveFloat = 23 / 12
    hierarchy: Hierarchy = Hierarchy()
    adjustment: Adjustment = Adjustment()
    priors: Priors = Priors()
    # validated even when left out, so that attendance gets its default mcid_pp
    decision: Decision = Field(default=Decision(), validate_default=True)
    sampler: Sampler = Sampler()
    overrides: dict[str, str | float | list[str]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _outcome_defaults(cls, raw: object) -> object:
        # Fill only what the spec leaves out, so that every value the user writes is kept and
        # checked; a count outcome keeps the class defaults exactly.
        if not isinstance(raw, dict) or not isinstance(raw.get("outcome"), str):
            return raw  # a bad outcome (a list, a table) is reported by the field's check
        declared = raw.get(DECLARATION_TABLE)
        known = known_outcomes().get(raw["outcome"])
        if declared is None and known is not None and raw["outcome"] not in OUTCOMES:
            declared = OutcomeDeclaration.of(known).model_dump()  # carry the declaration
            raw = {**raw, DECLARATION_TABLE: declared}
        if isinstance(declared, dict):
            kind = declared.get("kind")
            if kind not in FAMILIES:
                return raw  # a bad declaration is reported by its own check
            defaults: dict = {} if declared.get("baseline") else {
                "adjustment": {"baseline": False}}
        elif isinstance(declared, OutcomeDeclaration):
            kind = declared.kind
            defaults = {} if declared.baseline else {"adjustment": {"baseline": False}}
        elif known is not None:
            kind, defaults = known.kind, {}
        else:
            return raw  # an unknown outcome is reported by the field's check
        defaults |= {"family": FAMILIES[kind][0], **OUTCOME_DEFAULTS.get(kind, {})}
        return _fill_missing(raw, defaults)

    @field_validator("name")
    @classmethod
    def _file_name(cls, value: str) -> str:
        # results are written to OUT/NAME.nc and OUT/NAME.json
        if value.strip() != value or value in {".", ".."} or any(c in value for c in "/\\:"):
            raise ValueError(f"{value!r} cannot name the output files NAME.nc and NAME.json; "
                             "expected a name without '/', '\\', ':' or surrounding spaces, "
                             "such as 's47_primary'")
        return value

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str, info: ValidationInfo) -> str:
        if DECLARATION_TABLE not in info.data:
            return value  # the declaration is invalid, and its own check says why
        declared = info.data[DECLARATION_TABLE]
        if declared is not None:  # checked against the built-in and earlier declarations
            check_declaration(declared.schema(value), source=_source(info))
        elif value not in known_outcomes():
            raise ValueError(unknown_outcome_message(value, "expected one of"))
        return value

    @field_validator("family")
    @classmethod
    def _family_fits_outcome(cls, value: str, info: ValidationInfo) -> str:
        outcome = info.data.get("outcome")
        kind = _kind(info)
        if kind is None:  # the outcome itself is invalid and reported
            return value
        if value not in FAMILIES[kind]:
            raise ValueError(f"family {value!r} does not fit outcome {outcome!r} "
                             f"({_KIND_LABELS[kind]}); expected "
                             f"{' or '.join(FAMILIES[kind])}")
        return value

    @field_validator("decision")
    @classmethod
    def _mcid_pp_only_for_attendance(cls, value: Decision, info: ValidationInfo) -> Decision:
        outcome = info.data.get("outcome")
        kind = _kind(info)
        if kind is None:
            return value
        attendance = kind == "sessions"
        if value.mcid_pp is not None and not attendance:
            raise ValueError(f"mcid_pp (a difference in percentage points of absence) applies "
                             f"only to the attendance outcome, not {outcome!r}")
        if attendance and value.mcid_pp is None:
            return value.model_copy(update={"mcid_pp": DEFAULT_MCID_PP})
        return value

    @field_validator("adjustment")
    @classmethod
    def _baseline_declared(cls, value: Adjustment, info: ValidationInfo) -> Adjustment:
        declared = info.data.get(DECLARATION_TABLE)
        if value.baseline and declared is not None and declared.baseline is None:
            raise ValueError(f"adjustment for the baseline needs a baseline column, and "
                             f"[{DECLARATION_TABLE}] declares none; expected "
                             f"{DECLARATION_TABLE}.baseline (a column) or baseline = false")
        return value

    @model_validator(mode="after")
    def _register(self) -> AnalysisSpec:
        # the spec is valid as a whole: only now does its outcome become known
        if self.outcome_schema is not None:
            register_outcome(self.outcome_schema.schema(self.outcome),
                             source=f"spec {self.name!r}")
        return self

    def __setstate__(self, state: dict) -> None:
        # a spec sent to another process (a pool's worker) declares its outcome there too
        super().__setstate__(state)
        self._register()

    @property
    def covariates(self) -> tuple[str, ...]:
        """School covariate columns the model adjusts for."""
        return self.adjustment.covariates

    @property
    def effect_prior(self) -> MixturePrior:
        """The prior on the log IRR, when it is closed-form (see :meth:`EffectPrior.resolve`).

        Never runs MCMC: a spec whose prior is the unresolved ``pilot-informed`` one raises
        :class:`~swisbayes.SpecError`; :func:`swisbayes.evidence.resolver.resolved_spec` gives
        the same spec with the resolved mixture.
        """
        return self.priors.effect.resolve()

    def with_prior(self, prior: MixturePrior | str) -> AnalysisSpec:
        """Return a copy with another prior on the log IRR.

        Parameters
        ----------
        prior : MixturePrior or str
            A prior object, or a library name (see :func:`swisbayes.evidence.resolver.get_prior`).

        Returns
        -------
        AnalysisSpec
        """
        if isinstance(prior, str):  # keep planned_irr and the pilot settings of this spec
            clear = dict.fromkeys(("description", "source", "mean", "sd", "weights", "means",
                                   "sds"))
            effect = validated(EffectPrior, {**self.priors.effect.model_dump(), **clear,
                                             "name": prior}, f"<{self.name}>.priors.effect")
        else:
            effect = EffectPrior.from_prior(prior)
        return self.model_copy(update={"priors": self.priors.model_copy(update={"effect": effect})})

    def with_effect_prior(self, mean: float, sd: float, *, name: str = "custom",
                          description: str = "", source: str = "user") -> AnalysisSpec:
        """Return a copy with a normal prior N(mean, sd) on the log IRR.

        Parameters
        ----------
        mean, sd : float
            Prior mean and SD of the log IRR.
        name, description, source : str
            Label and provenance of the new prior.

        Returns
        -------
        AnalysisSpec
        """
        return self.with_prior(MixturePrior.normal(name, mean, sd, description=description,
                                                   provenance=source))

    def with_mcid(self, mcid: float | None = None, *,
                  mcid_pp: float | None = None) -> AnalysisSpec:
        """Return a copy with another meaningful effect (validated like the TOML).

        Parameters
        ----------
        mcid : float, optional
            Meaningful relative reduction (0.15 = 15% fewer events); None keeps the spec's.
        mcid_pp : float, optional
            Attendance only: meaningful fall in absence, in percentage points.

        Returns
        -------
        AnalysisSpec
        """
        changes = {k: v for k, v in {"mcid": mcid, "mcid_pp": mcid_pp}.items() if v is not None}
        return self._with({"decision": {**self.decision.model_dump(), **changes},
                           "overrides": {**self.overrides, **changes}})

    def with_covariates(self, covariates: Sequence[str]) -> AnalysisSpec:
        """Return a copy adjusting for other school covariates (an empty list for none).

        Parameters
        ----------
        covariates : sequence of str
            Covariate columns of the data.

        Returns
        -------
        AnalysisSpec
        """
        return self._with({"adjustment": {**self.adjustment.model_dump(),
                                          "covariates": list(covariates)},
                           "overrides": {**self.overrides, "covariates": list(covariates)}})

    def with_family(self, family: str) -> AnalysisSpec:
        """Return a copy with another likelihood family (it must fit the outcome).

        Parameters
        ----------
        family : str
            E.g. ``"poisson"`` for a count outcome.

        Returns
        -------
        AnalysisSpec
        """
        return self._with({"family": family, "overrides": {**self.overrides, "family": family}})

    def _with(self, update: dict) -> AnalysisSpec:
        """A copy with ``update`` merged in and validated as a whole (errors name the field)."""
        return validated(AnalysisSpec, {**self.model_dump(), **update}, f"<{self.name}>")

    def with_sampler(self, *, backend: str | None = None, draws: int | None = None,
                     tune: int | None = None, chains: int | None = None,
                     cores: int | None = None, target_accept: float | None = None,
                     seed: int | None = None) -> AnalysisSpec:
        """Return a copy with the given sampler settings changed (validated like the TOML).

        Parameters
        ----------
        backend, draws, tune, chains, cores, target_accept, seed : optional
            New values; None keeps the spec's value. See :class:`Sampler`.

        Returns
        -------
        AnalysisSpec
        """
        changes = {"backend": backend, "draws": draws, "tune": tune, "chains": chains,
                   "cores": cores, "target_accept": target_accept, "seed": seed}
        merged = {**self.sampler.model_dump(),
                  **{k: v for k, v in changes.items() if v is not None}}
        return self.model_copy(update={"sampler": validated(Sampler, merged, "<sampler>")})

    def to_json(self) -> str:
        """The spec as canonical JSON (recorded in every result's provenance)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    @classmethod
    def from_toml(cls, path: str | Path) -> AnalysisSpec:
        """Read and validate a spec file; see :func:`load_spec`."""
        return load_spec(path)


def _kind(info: ValidationInfo) -> str | None:
    """The kind of the outcome being validated: declared, else as the schema knows it (None
    when neither the outcome nor its declaration is valid: their checks report it)."""
    declared = info.data.get(DECLARATION_TABLE)
    if declared is not None:
        return declared.kind
    known = known_outcomes().get(info.data.get("outcome", ""))
    return None if known is None else known.kind


def _source(info: ValidationInfo) -> str:
    """The spec being validated, for messages about its declaration."""
    name = info.data.get("name")
    return f"spec {name!r}" if name else "this spec"


_KIND_LABELS = {"count": "a count of events", "days": "days, with many zeros",
                "sessions": "sessions missed out of sessions possible"}


def _fill_missing(raw: dict, defaults: dict) -> dict:
    """``raw`` with the keys of ``defaults`` it lacks, recursing into nested tables."""
    filled = dict(raw)
    for key, value in defaults.items():
        if key not in filled:
            filled[key] = value
        elif isinstance(value, dict) and isinstance(filled[key], dict):
            filled[key] = _fill_missing(filled[key], value)
    return filled


def analysis_spec_files(directory: str | Path) -> list[Path]:
    """The analysis specs of a directory: its TOML files with a top-level ``outcome`` key (not
    its economic inputs, pilots or prior grids), by name.

    Parameters
    ----------
    directory : str or pathlib.Path

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    SpecError
        If ``directory`` is not a directory or has no analysis spec.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise SpecError(f"{folder} is not a directory (expected a folder of analysis specs)")
    found = [p for p in sorted(folder.glob("*.toml")) if "outcome" in read_toml(p, "spec")]
    if not found:
        raise SpecError(f"no analysis specs (TOML files with an 'outcome') in {folder}")
    return found


def load_spec(path: str | Path) -> AnalysisSpec:
    """Read and validate an analysis spec from a TOML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file (it is only read), or the name of a shipped spec (``"s47_primary"``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file is missing or not TOML, a key is unknown (the message lists the allowed
        keys), or a value is out of range.

    Examples
    --------
    >>> spec = load_spec("models/s47_primary.toml")
    >>> spec.outcome, spec.decision.mcid
    ('s47', 0.1)
    """
    path = find_spec_file(path)
    raw = read_toml(path, "spec")
    priors = raw.get("priors", {})
    effect = priors.get("effect", {}) if isinstance(priors, dict) else None
    if isinstance(effect, dict) and isinstance(effect.get("pilots"), str):
        effect["pilots"] = str(path.parent / effect["pilots"])  # relative to the spec file
    return validated(AnalysisSpec, raw, str(path))

