"""Synthetic school-clustered trials with known truth, shaped like SWIS by default.

The design (21 LAs, 136 SWIS and 132 control schools, 5-8 schools per arm per LA, 278,858
pupils) is the published one. Event rates and variance components were not published; their
defaults are named assumptions (:data:`DEFAULT_ASSUMPTIONS`, and :data:`PUPIL_ASSUMPTIONS` for
pupil-level data), stored with every dataset. :func:`simulate_trial` writes one row per school,
:func:`simulate_pupils` one row per pupil, and :func:`simulate_counts` the schools of another
trial with count outcomes of its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from swisbayes._base.atomic import write_atomic, write_text_atomic
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import MAX_BASELINE_DAYS, MAX_FOLLOWUP_DAYS


@dataclass(frozen=True)
class Assumption:
    """A number the simulator needs and no source gives.

    Parameters
    ----------
    value : float
        The number used.
    source : str
        ``"assumption"``, or a citation when the number is sourced.
    rationale : str
        One sentence on why this value is reasonable.
    """

    value: float
    source: str
    rationale: str


DEFAULT_ASSUMPTIONS: dict[str, Assumption] = {
    "s47_per_1000_per_year": Assumption(
        12.0, "assumption",
        "England had about 142,500 S47 enquiries in 2013-14 for 11.5-12 million children "
        "(DfE SFR 43/2014), i.e. 12-17 per 1000 per year; the low end is used for pupils "
        "attributed to a school."),
    "referrals_per_1000_per_year": Assumption(
        55.0, "assumption", "About 657,800 referrals in 2013-14 (DfE SFR 43/2014), ~55 per 1000."),
    "s17_per_1000_per_year": Assumption(
        30.0, "assumption", "Roughly half of referrals lead to a child-in-need assessment."),
    "care_entry_per_1000_per_year": Assumption(
        1.0, "assumption",
        "Care entry is rare among secondary pupils; about one per 1000 per year gives the "
        "many schools with 0-2 entries seen in practice."),
    "mean_days_per_care_entry": Assumption(
        200.0, "assumption", "Mean days in care within the follow-up window per child entering."),
    "absence_rate": Assumption(
        0.075, "assumption", "Overall absence in English secondary schools is about 7-9%."),
    "sessions_per_pupil_year": Assumption(
        380.0, "assumption", "Two sessions a day for 190 school days."),
    "sigma_la": Assumption(
        0.30, "assumption", "Between-LA SD of log event rates (LAs differ in thresholds)."),
    "sigma_school": Assumption(
        0.30, "assumption", "Persistent between-school SD of log rates within an LA."),
    "nb_dispersion": Assumption(
        30.0, "assumption", "Year-to-year gamma noise on school rates (NB size parameter)."),
    "fsm_log_rate_per_point": Assumption(
        0.02, "assumption", "Each extra percentage point of FSM raises social-care rates ~2%."),
    "school_size_log_sd": Assumption(
        0.35, "assumption", "Spread of secondary-school rolls (roughly 500-2000 pupils)."),
}
"""Named assumptions behind the simulator's defaults."""

PUPIL_ASSUMPTIONS: dict[str, Assumption] = {
    "school_frailty_shape": Assumption(
        10.0, "assumption",
        "Shape phi of the gamma school frailty Gamma(phi, 1/phi) shared by a school's pupils; "
        "phi = 10 gives schools' rates an SD of about 30%, like sigma_school in school files."),
    "sen_share": Assumption(
        0.15, "assumption",
        "About 15% of secondary pupils in England have special educational needs (SEN support "
        "or an EHC plan)."),
    "baseline_cin_share": Assumption(
        0.03, "assumption",
        "About 3% of children are children in need at any one time (DfE children-in-need "
        "statistics, ~400,000 of 12 million)."),
    "pupil_fsm_log_rate": Assumption(
        0.7, "assumption",
        "Pupils eligible for free school meals have about twice the social-care rate of others."),
    "pupil_sen_log_rate": Assumption(
        0.4, "assumption", "Pupils with special educational needs have about 1.5 times the rate."),
    "pupil_baseline_log_rate": Assumption(
        0.8, "assumption",
        "A pupil's own baseline events predict follow-up events: the rate scales with "
        "(baseline + 0.5)^0.8, so one baseline event multiplies it by about 2.4."),
    "pupil_cin_baseline_log_rate": Assumption(
        1.6, "assumption",
        "Children in need at baseline had about 5 times the baseline-year event rate; their "
        "follow-up rate depends on it only through their own baseline count."),
    "persistent_school_log_rate_sd": Assumption(
        0.0, "assumption",
        "SD of a school's log rate shared by the baseline year and the follow-up (a school "
        "that enquires a lot keeps doing so). 0 by default: schools' baseline and follow-up "
        "frailties are then independent, and a pupil's history travels in its own baseline. "
        "Above 0 with pupil_baseline_log_rate = 0, the school's baseline rate predicts the "
        "follow-up and a pupil's own baseline adds nothing to it."),
}
"""Named assumptions of the pupil-level simulator, on top of :data:`DEFAULT_ASSUMPTIONS`."""

_PUPIL_MODE_USES = (
    *(f"{o}_per_1000_per_year" for o in ("s47", "referrals", "s17", "care_entry")),
    "mean_days_per_care_entry", "absence_rate", "sessions_per_pupil_year", "sigma_la",
    "school_size_log_sd", *PUPIL_ASSUMPTIONS)

COUNT_OUTCOMES = ("s47", "referrals", "s17", "care_entry")

_COUNT_MODE_USES = ("sigma_la", "sigma_school", "nb_dispersion", "fsm_log_rate_per_point",
                    "school_size_log_sd")
"""The assumptions :func:`simulate_counts` uses (the rates are the caller's)."""

FSM_SHARE_MEAN = 0.25
"""Mean school share of FSM pupils (the Beta(2, 6) the simulator draws it from)."""


@dataclass(frozen=True)
class TrialDesign:
    """The shape of a simulated trial.

    Parameters
    ----------
    n_la : int, default 21
    n_swis : int, default 136
    n_control : int, default 132
    min_per_arm, max_per_arm : int, default 5 and 8
        Schools per arm in each LA (at least 1, so every LA has both arms).
    total_pupils : int, default 278858
        At least one per school; pupil-level data of 20,000 pupils keep the SWIS schools and
        LAs, only smaller.
    followup_years : float, default 23/12
        Length of the social-care follow-up window (years).

    Examples
    --------
    A small design for quick pupil-level tests:

    >>> TrialDesign(n_la=4, n_swis=8, n_control=8, min_per_arm=1, max_per_arm=3,
    ...             total_pupils=5_000).n_schools
    16
    """

    n_la: int = 21
    n_swis: int = 136
    n_control: int = 132
    min_per_arm: int = 5
    max_per_arm: int = 8
    total_pupils: int = 278_858
    followup_years: float = 23 / 12

    def __post_init__(self) -> None:
        if not 1 <= self.min_per_arm <= self.max_per_arm:
            raise ValueError(f"need 1 <= min_per_arm <= max_per_arm; got {self.min_per_arm} and "
                             f"{self.max_per_arm}")
        if self.total_pupils < self.n_schools:
            raise ValueError(f"total_pupils={self.total_pupils} is fewer than the "
                             f"{self.n_schools} schools")
        for arm, n in (("n_swis", self.n_swis), ("n_control", self.n_control)):
            if not self.n_la * self.min_per_arm <= n <= self.n_la * self.max_per_arm:
                raise ValueError(
                    f"{arm}={n} cannot be split over {self.n_la} LAs with "
                    f"{self.min_per_arm}-{self.max_per_arm} schools per arm per LA")

    @property
    def n_schools(self) -> int:
        """Schools in both arms."""
        return self.n_swis + self.n_control


@dataclass(frozen=True)
class SimulatedTrial:
    """A simulated dataset with the truth that generated it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per school (:func:`simulate_trial`) or per pupil (:func:`simulate_pupils`), in
        the schema of :mod:`swisbayes.data`.
    truth : dict
        True effects: ``irr`` per count outcome, ``la_effect_sd`` and per-LA log effects,
        the days-in-care ratio and the absence odds ratio.
    assumptions : dict
        The :class:`Assumption` objects used, as plain dicts.
    design : TrialDesign
    seed : int
    metadata : dict
        Extra sidecar entries (``{"level": "pupil"}`` for pupil-level data).
    """

    frame: pd.DataFrame
    truth: dict
    assumptions: dict
    design: TrialDesign
    seed: int
    metadata: dict = field(default_factory=dict)

    def to_file(self, path: str | Path) -> Path:
        """Write the table (CSV or Parquet, by suffix) and a ``.json`` sidecar, atomically.

        Parameters
        ----------
        path : str or pathlib.Path
            Destination ending in ``.csv``, ``.parquet`` or ``.pq``.

        Returns
        -------
        pathlib.Path
            The table's path; the sidecar is ``path`` with ``.json`` appended.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in {".csv", ".parquet", ".pq"}:
            raise ValueError(f"{path}: unsupported suffix '{suffix}'; use .csv or .parquet")
        sidecar = path.with_name(path.name + ".json")
        sidecar.unlink(missing_ok=True)  # never leave an old truth beside a new table
        if suffix == ".csv":
            write_atomic(path, lambda tmp: self.frame.to_csv(tmp, index=False))
        else:
            write_atomic(path, lambda tmp: self.frame.to_parquet(tmp, index=False))
        write_text_atomic(sidecar, json.dumps(self.sidecar(), indent=2))
        return path

    def sidecar(self) -> dict:
        """Truth, assumptions, design and seed as JSON-ready data."""
        return {"synthetic": True, "seed": self.seed, "design": asdict(self.design),
                "truth": self.truth, "assumptions": self.assumptions, **self.metadata}


def _split(total: int, n: int, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    """Random integers in [lo, hi] over n groups summing to total."""
    counts = np.full(n, lo)
    for _ in range(total - lo * n):
        room = np.flatnonzero(counts < hi)
        counts[rng.choice(room)] += 1
    return counts


def _school_sizes(n: int, total: int, log_sd: float, rng: np.random.Generator) -> np.ndarray:
    raw = rng.lognormal(0.0, log_sd, n)
    scaled = raw / raw.sum() * total
    sizes = np.floor(scaled).astype(int)
    remainder = total - sizes.sum()
    sizes[np.argsort(scaled - sizes)[::-1][:remainder]] += 1
    return sizes


@dataclass(frozen=True)
class _Layout:
    """Schools of a simulated trial: LA, arm, size, FSM share, and LA deviations of the effect."""

    la_idx: np.ndarray
    arm: np.ndarray
    pupils: np.ndarray
    fsm: np.ndarray
    delta: np.ndarray

    @property
    def school_ids(self) -> np.ndarray:
        return np.array([f"S{j + 1:03d}" for j in range(self.la_idx.size)], dtype=object)


def _layout(design: TrialDesign, a: dict[str, Assumption], la_effect_sd: float,
            rng: np.random.Generator) -> _Layout:
    """Allocate schools to LAs and arms and draw their sizes (the draws of the bundled data)."""
    n_swis = _split(design.n_swis, design.n_la, design.min_per_arm, design.max_per_arm, rng)
    n_ctrl = _split(design.n_control, design.n_la, design.min_per_arm, design.max_per_arm, rng)
    la_idx = np.concatenate([np.repeat(k, n_ctrl[k] + n_swis[k]) for k in range(design.n_la)])
    arm = np.concatenate([np.r_[np.zeros(n_ctrl[k], int), np.ones(n_swis[k], int)]
                          for k in range(design.n_la)])
    J = la_idx.size
    pupils = _school_sizes(J, design.total_pupils, a["school_size_log_sd"].value, rng)
    fsm = np.round(rng.beta(2.0, 6.0, J) * 100, 1)
    delta = (rng.normal(0.0, la_effect_sd, design.n_la) if la_effect_sd > 0
             else np.zeros(design.n_la))
    return _Layout(la_idx, arm, pupils, fsm, delta)


def _school_absence_logit(a: dict[str, Assumption], n_la: int, la_idx: np.ndarray,
                          rng: np.random.Generator) -> np.ndarray:
    """Control-arm log-odds of missing a session, per school (LA and school variation)."""
    base_logit = np.log(a["absence_rate"].value / (1 - a["absence_rate"].value))
    return base_logit + rng.normal(0, 0.25, n_la)[la_idx] + rng.normal(0, 0.2, la_idx.size)


def _check_irr(irr: dict[str, float] | None) -> dict[str, float]:
    out = {o: 1.0 for o in COUNT_OUTCOMES} | dict(irr or {})
    unknown = set(out) - set(COUNT_OUTCOMES)
    if unknown:
        raise SpecError(f"irr: unknown outcome(s) {sorted(unknown)}; known: "
                        f"{', '.join(COUNT_OUTCOMES)}")
    bad = {o: v for o, v in out.items() if not (isinstance(v, int | float) and 0 < v < np.inf)}
    if bad:
        raise SpecError(f"irr: a true rate ratio must be a positive number; got {bad}")
    return out


def _gamma_poisson(mu: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(mu * rng.gamma(size, 1.0 / size, mu.shape))


def _school_counts(name: str, per_1000_per_year: float, irr: float, layout: _Layout,
                   a: dict[str, Assumption], design: TrialDesign, rng: np.random.Generator, *,
                   baseline: bool = True) -> dict[str, np.ndarray]:
    """Baseline (``NAME_baseline``, when asked for) and follow-up (``NAME``) counts per school,
    by the model in :func:`simulate_trial`'s Notes."""
    la_idx = layout.la_idx
    u = rng.normal(0.0, a["sigma_la"].value, design.n_la)
    s_sd = a["sigma_school"].value
    s = rng.normal(-s_sd**2 / 2, s_sd, la_idx.size)
    log_base = (np.log(layout.pupils * (per_1000_per_year / 1000.0)) + u[la_idx] + s
                + a["fsm_log_rate_per_point"].value * (layout.fsm - 25.0))
    effect = (np.log(irr) + layout.delta[la_idx]) * layout.arm
    size = a["nb_dispersion"].value
    counts = {}
    if baseline:  # one pre-randomisation year, without the effect
        counts[f"{name}_baseline"] = _gamma_poisson(np.exp(log_base) * 1.0, size, rng)
    counts[name] = _gamma_poisson(np.exp(log_base + effect) * design.followup_years, size, rng)
    return counts


def simulate_trial(seed: int, *, irr: dict[str, float] | None = None,
                   la_effect_sd: float = 0.0, design: TrialDesign | None = None,
                   assumptions: dict[str, Assumption] | None = None,
                   days_duration_ratio: float = 1.0, absence_odds_ratio: float = 1.0,
                   ) -> SimulatedTrial:
    """Simulate a school-level cluster-randomised trial with known effects.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed gives the same table.
    irr : dict, optional
        True incidence rate ratio (SWIS vs control) per count outcome (``s47``,
        ``referrals``, ``s17``, ``care_entry``); missing outcomes get 1.0.
    la_effect_sd : float, default 0.0
        SD of LA-specific deviations of the log effect (0 = the same effect in every LA).
    design : TrialDesign, optional
        Defaults to the SWIS design.
    assumptions : dict, optional
        Overrides of :data:`DEFAULT_ASSUMPTIONS`, by name.
    days_duration_ratio : float, default 1.0
        Ratio (SWIS/control) of mean days in care per child entering care.
    absence_odds_ratio : float, default 1.0
        Odds ratio (SWIS/control) of a session being missed.

    Returns
    -------
    SimulatedTrial

    Notes
    -----
    For school :math:`j` in LA :math:`l` with :math:`E_j` pupils, follow-up :math:`T` years and
    arm :math:`A_j`, each count outcome has

    .. math::

        \\log \\mu_j = \\log(E_j T r / 1000) + u_l + s_j + b (\\mathrm{FSM}_j - 25)
                     + (\\log \\mathrm{IRR} + \\delta_l) A_j,

    with :math:`u_l \\sim N(0, \\sigma_{LA})`, :math:`s_j \\sim N(-\\sigma_s^2/2, \\sigma_s)`
    shared by the baseline year and the follow-up (which makes them correlated),
    :math:`\\delta_l \\sim N(0, \\text{la\\_effect\\_sd})`, and counts drawn gamma-Poisson
    (negative binomial). Baseline counts cover one pre-randomisation year without the effect.

    Examples
    --------
    >>> trial = simulate_trial(1, irr={"s47": 0.85})
    >>> trial.frame.groupby("arm").size().to_dict()
    {0: 132, 1: 136}
    >>> trial.truth["irr"]["s47"]
    0.85
    """
    design = design or TrialDesign()
    a = {**DEFAULT_ASSUMPTIONS, **(assumptions or {})}
    irr = _check_irr(irr)
    rng = np.random.default_rng(seed)
    layout = _layout(design, a, la_effect_sd, rng)
    la_idx, arm, pupils, fsm, delta = (layout.la_idx, layout.arm, layout.pupils, layout.fsm,
                                       layout.delta)
    J = la_idx.size

    columns: dict[str, np.ndarray] = {}
    for outcome in COUNT_OUTCOMES:
        columns |= _school_counts(outcome, a[f"{outcome}_per_1000_per_year"].value,
                                  irr[outcome], layout, a, design, rng)

    mean_days = a["mean_days_per_care_entry"].value
    window = round(365 * design.followup_years)
    for column, entries, ratio in (("days_in_care_baseline", columns["care_entry_baseline"], 1.0),
                                   ("days_in_care", columns["care_entry"], None)):
        r = np.where(arm == 1, days_duration_ratio, 1.0) if ratio is None else np.ones(J)
        days = np.array([np.minimum(rng.geometric(1.0 / (mean_days * r[j]), k), window).sum()
                         for j, k in enumerate(entries)], dtype=int)
        columns[column] = days

    sessions = np.round(pupils * a["sessions_per_pupil_year"].value * rng.uniform(0.95, 1.0, J))
    school_abs = _school_absence_logit(a, design.n_la, la_idx, rng)
    p0 = 1 / (1 + np.exp(-school_abs))
    p1 = 1 / (1 + np.exp(-(school_abs + np.log(absence_odds_ratio) * arm)))
    columns["sessions_possible"] = sessions.astype(int)
    columns["sessions_missed"] = rng.binomial(sessions.astype(int), p1)
    # drawn last, so that adding it left every other column of a given seed unchanged
    columns["sessions_missed_baseline"] = rng.binomial(sessions.astype(int), p0)

    frame = pd.DataFrame({
        "school_id": list(layout.school_ids),
        "la_id": [f"LA{k + 1:02d}" for k in la_idx],
        "arm": arm,
        "pupils": pupils,
        "fsm_pct": fsm,
        **{k: columns[k] for k in (
            "s47_baseline", "s47", "referrals_baseline", "referrals", "s17_baseline", "s17",
            "care_entry_baseline", "care_entry", "days_in_care_baseline", "days_in_care",
            "sessions_possible", "sessions_missed_baseline", "sessions_missed")},
    })
    truth = {
        "irr": {o: float(irr[o]) for o in COUNT_OUTCOMES},
        "la_effect_sd": float(la_effect_sd),
        "la_log_effect_deviation": {f"LA{k + 1:02d}": float(delta[k])
                                    for k in range(design.n_la)},
        "days_in_care_ratio": float(irr["care_entry"] * days_duration_ratio),
        "absence_odds_ratio": float(absence_odds_ratio),
        "absence_pp_difference_at_mean": float(100 * (p1 - p0)[arm == 1].mean()),
    }
    return SimulatedTrial(frame=frame, truth=truth,
                          assumptions={k: asdict(v) for k, v in a.items()},
                          design=design, seed=seed)


@dataclass(frozen=True)
class CountOutcome:
    """A count outcome of a simulated trial with outcomes of its own (:func:`simulate_counts`).

    Parameters
    ----------
    per_1000_per_year : float
        Control-arm events per 1000 pupils per year (an assumption of the example, stated with
        it).
    irr : float, default 1.0
        True incidence rate ratio (intervention vs control).
    baseline : bool, default True
        Also write the pre-randomisation year's count, as ``NAME_baseline``.
    """

    per_1000_per_year: float
    irr: float = 1.0
    baseline: bool = True

    def __post_init__(self) -> None:
        if not (self.per_1000_per_year > 0 and self.irr > 0):
            raise ValueError(f"need a positive rate and IRR; got per_1000_per_year="
                             f"{self.per_1000_per_year} and irr={self.irr}")


def simulate_counts(seed: int, outcomes: dict[str, CountOutcome], *, design: TrialDesign,
                    la_effect_sd: float = 0.0, la_prefix: str = "LA",
                    assumptions: dict[str, Assumption] | None = None) -> SimulatedTrial:
    """Simulate a school-clustered trial whose count outcomes are named by the caller.

    It is :func:`simulate_trial`'s model for each outcome (LA and school variation, %FSM,
    negative-binomial noise), for another trial: its design, its outcomes and their columns.
    The design columns are those every trial file has: ``school_id``, ``la_id`` (the cluster
    above the school), ``arm`` (0/1) and ``pupils``, with ``fsm_pct``.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed gives the same table.
    outcomes : dict of str to CountOutcome
        Column name of each outcome's follow-up count, with its rate and true IRR.
    design : TrialDesign
        Clusters, schools per arm, pupils and the follow-up in years.
    la_effect_sd : float, default 0.0
        SD of the clusters' deviations of the log effect.
    la_prefix : str, default "LA"
        Cluster ids are ``la_prefix`` and a two-digit number (``"D01"`` with ``"D"``).
    assumptions : dict, optional
        Overrides of :data:`DEFAULT_ASSUMPTIONS` (``sigma_la``, ``sigma_school``,
        ``nb_dispersion``, ``fsm_log_rate_per_point``, ``school_size_log_sd``), by name.

    Returns
    -------
    SimulatedTrial
        ``truth`` holds ``irr`` and ``per_1000_per_year`` per outcome and the clusters' effect
        deviations.

    Examples
    --------
    >>> design = TrialDesign(n_la=4, n_swis=10, n_control=10, min_per_arm=2, max_per_arm=3,
    ...                      total_pupils=12_000, followup_years=1.0)
    >>> trial = simulate_counts(3, {"exclusions": CountOutcome(60.0, irr=0.8)}, design=design)
    >>> list(trial.frame.columns)
    ['school_id', 'la_id', 'arm', 'pupils', 'fsm_pct', 'exclusions_baseline', 'exclusions']
    """
    taken = [n for n in outcomes if n in {"school_id", "la_id", "arm", "pupils", "fsm_pct"}]
    taken += [f"{n}_baseline" for n, o in outcomes.items()
              if o.baseline and f"{n}_baseline" in outcomes]
    if taken:
        raise ValueError(f"outcomes: {taken} would name a column twice; expected names other "
                         "than the design columns and the other outcomes' baselines")
    a = {**DEFAULT_ASSUMPTIONS, **(assumptions or {})}
    rng = np.random.default_rng(seed)
    layout = _layout(design, a, la_effect_sd, rng)
    las = [f"{la_prefix}{k + 1:02d}" for k in range(design.n_la)]
    columns: dict[str, np.ndarray] = {}
    for name, outcome in outcomes.items():
        columns |= _school_counts(name, outcome.per_1000_per_year, outcome.irr, layout, a,
                                  design, rng, baseline=outcome.baseline)
    frame = pd.DataFrame({"school_id": list(layout.school_ids),
                          "la_id": [las[k] for k in layout.la_idx], "arm": layout.arm,
                          "pupils": layout.pupils, "fsm_pct": layout.fsm, **columns})
    truth = {"irr": {n: float(o.irr) for n, o in outcomes.items()},
             "per_1000_per_year": {n: float(o.per_1000_per_year) for n, o in outcomes.items()},
             "la_effect_sd": float(la_effect_sd),
             "la_log_effect_deviation": {la: float(layout.delta[k]) for k, la in enumerate(las)}}
    return SimulatedTrial(frame=frame, truth=truth,
                          assumptions={k: asdict(a[k]) for k in _COUNT_MODE_USES},
                          design=design, seed=seed,
                          metadata={"outcomes": {n: asdict(o) for n, o in outcomes.items()},
                                    "la_prefix": la_prefix})


def simulate_pupils(seed: int, *, irr: dict[str, float] | None = None,
                    la_effect_sd: float = 0.0, design: TrialDesign | None = None,
                    assumptions: dict[str, Assumption] | None = None,
                    days_duration_ratio: float = 1.0, absence_odds_ratio: float = 1.0,
                    ) -> SimulatedTrial:
    """Simulate a pupil-level cluster-randomised trial (one row per pupil) with known effects.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed gives the same table.
    irr : dict, optional
        True incidence rate ratio (SWIS vs control) per count outcome; missing ones get 1.0.
    la_effect_sd : float, default 0.0
        SD of LA-specific deviations of the log effect.
    design : TrialDesign, optional
        Defaults to the SWIS design (278,858 pupils in 268 schools in 21 LAs);
        ``TrialDesign(total_pupils=20_000)`` keeps the schools and LAs with fewer pupils.
    assumptions : dict, optional
        Overrides of :data:`DEFAULT_ASSUMPTIONS` and :data:`PUPIL_ASSUMPTIONS`, by name.
    days_duration_ratio : float, default 1.0
        Ratio (SWIS/control) of mean days in care per care entry.
    absence_odds_ratio : float, default 1.0
        Odds ratio (SWIS/control) of a session being missed.

    Returns
    -------
    SimulatedTrial
        ``frame`` has ``pupil_id``, ``school_id``, ``la_id``, ``arm``, ``fsm``, ``sen``,
        ``baseline_cin`` and each outcome's per-pupil baseline and follow-up columns.

    Notes
    -----
    Pupil :math:`i` of school :math:`s` in LA :math:`l` has, for each count outcome, a baseline
    count :math:`b_i \\sim \\mathrm{Poisson}(r_i v_s e^{c\\,\\mathrm{CIN}_i})` over one year and
    a follow-up count

    .. math::

        y_i \\sim \\mathrm{Poisson}\\big(T r_i u_s\\, e^{(\\log \\mathrm{IRR} + \\delta_l) A_s
        + \\gamma_b (\\log(b_i + 0.5) - \\log 0.5)}\\big),
        \\quad \\log r_i = \\log r + z_l + p_s + \\gamma_f (\\mathrm{FSM}_i - 0.25)
        + \\gamma_e (\\mathrm{SEN}_i - 0.15),

    with LA effects :math:`z_l \\sim N(0, \\sigma_{LA})` shared by both years, and independent
    school frailties :math:`u_s, v_s \\sim \\mathrm{Gamma}(\\phi, 1/\\phi)` shared by the
    school's pupils. The persistent school effect :math:`p_s \\sim N(-\\sigma_p^2/2,
    \\sigma_p)`, shared by both years, is 0 by default (``persistent_school_log_rate_sd``).
    Then, given FSM, SEN and the pupil's own baseline, the follow-up is exactly a Poisson pupil
    model with a gamma school frailty (a negative multinomial over the school's cells). With
    :math:`\\sigma_p > 0` and :math:`\\gamma_b = \\gamma_f = \\gamma_e = 0`
    (``pupil_baseline_log_rate``, ``pupil_fsm_log_rate``, ``pupil_sen_log_rate``) it is the
    opposite case: the school's baseline rate predicts the follow-up, and a pupil's own
    baseline says nothing beyond it. Days in care are positive only for pupils entering care
    (geometric days per entry, capped by the window); sessions missed are binomial with a
    school-level logit, as in :func:`simulate_trial`.

    Examples
    --------
    >>> trial = simulate_pupils(1, design=TrialDesign(total_pupils=20_000))
    >>> len(trial.frame), trial.frame["school_id"].nunique(), trial.frame["la_id"].nunique()
    (20000, 268, 21)
    """
    design = design or TrialDesign()
    a = _pupil_assumptions(assumptions)
    irr = _check_irr(irr)
    rng = np.random.default_rng(seed)
    layout = _layout(design, a, la_effect_sd, rng)
    if (layout.pupils == 0).any():
        raise ValueError(f"total_pupils={design.total_pupils} leaves a school with no pupils; "
                         f"use more pupils per school ({design.n_schools} schools)")
    school = np.repeat(np.arange(layout.la_idx.size), layout.pupils)
    covariates = _pupil_covariates(layout, school, a, rng)
    outcomes: dict[str, np.ndarray] = {}
    for outcome in COUNT_OUTCOMES:
        outcomes |= _pupil_counts(outcome, layout, school, covariates, irr[outcome], a,
                                  design, rng)
    outcomes |= _pupil_days(outcomes, layout.arm[school], days_duration_ratio, a, design, rng)
    sessions, p0, p1 = _pupil_sessions(layout, school, absence_odds_ratio, a, design, rng)
    frame = pd.DataFrame({
        "pupil_id": _pupil_ids(school.size),
        "school_id": layout.school_ids[school],
        "la_id": np.array([f"LA{k + 1:02d}" for k in range(design.n_la)],
                          dtype=object)[layout.la_idx[school]],
        "arm": layout.arm[school].astype("int64"),
        **covariates, **outcomes, **sessions})
    truth = {
        "irr": {o: float(irr[o]) for o in COUNT_OUTCOMES},
        "la_effect_sd": float(la_effect_sd),
        "la_log_effect_deviation": {f"LA{k + 1:02d}": float(layout.delta[k])
                                    for k in range(design.n_la)},
        "pupil_log_rate_coefficients": {
            "fsm": a["pupil_fsm_log_rate"].value, "sen": a["pupil_sen_log_rate"].value,
            "log_baseline_plus_half": a["pupil_baseline_log_rate"].value},
        "covariate_centres": {"fsm": FSM_SHARE_MEAN, "sen": a["sen_share"].value,
                              "log_baseline_plus_half": float(np.log(0.5))},
        "school_frailty_shape": a["school_frailty_shape"].value,
        "persistent_school_log_rate_sd": a["persistent_school_log_rate_sd"].value,
        "days_in_care_ratio": float(irr["care_entry"] * days_duration_ratio),
        "absence_odds_ratio": float(absence_odds_ratio),
        "absence_pp_difference_at_mean": float(100 * (p1 - p0)[layout.arm == 1].mean()),
    }
    return SimulatedTrial(frame=frame, truth=truth,
                          assumptions={k: asdict(a[k]) for k in _PUPIL_MODE_USES},
                          design=design, seed=seed, metadata={"level": "pupil"})


def _pupil_assumptions(overrides: dict[str, Assumption] | None) -> dict[str, Assumption]:
    known = {**DEFAULT_ASSUMPTIONS, **PUPIL_ASSUMPTIONS}
    unknown = set(overrides or {}) - set(known)
    if unknown:
        raise ValueError(f"assumptions: unknown name(s) {sorted(unknown)}; known: "
                         f"{', '.join(known)}")
    return {**known, **(overrides or {})}


def _pupil_ids(n: int) -> np.ndarray:
    digits = max(6, len(str(n)))
    return np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), digits)).astype(object)


def _pupil_covariates(layout: _Layout, school: np.ndarray, a: dict[str, Assumption],
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """0/1 pupil covariates: FSM at the school's share, SEN and child in need at baseline."""
    n = school.size
    return {"fsm": (rng.random(n) < layout.fsm[school] / 100).astype("int64"),
            "sen": (rng.random(n) < a["sen_share"].value).astype("int64"),
            "baseline_cin": (rng.random(n) < a["baseline_cin_share"].value).astype("int64")}


def _pupil_counts(outcome: str, layout: _Layout, school: np.ndarray,
                  covariates: dict[str, np.ndarray], irr: float, a: dict[str, Assumption],
                  design: TrialDesign, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Baseline and follow-up counts of one outcome per pupil (see :func:`simulate_pupils`)."""
    J = layout.la_idx.size
    phi = a["school_frailty_shape"].value
    z = rng.normal(0.0, a["sigma_la"].value, design.n_la)
    baseline_frailty = rng.gamma(phi, 1.0 / phi, J)
    # Independent of the baseline year's, so the follow-up frailty is exactly the model's.
    frailty = rng.gamma(phi, 1.0 / phi, J)
    sd = a["persistent_school_log_rate_sd"].value
    # drawn only when asked for, so that the default leaves every draw of a seed unchanged
    persistent = rng.normal(-sd**2 / 2, sd, J) if sd > 0 else np.zeros(J)
    log_rate = (np.log(a[f"{outcome}_per_1000_per_year"].value / 1000.0)
                + z[layout.la_idx][school] + persistent[school]
                + a["pupil_fsm_log_rate"].value * (covariates["fsm"] - FSM_SHARE_MEAN)
                + a["pupil_sen_log_rate"].value * (covariates["sen"] - a["sen_share"].value))
    cin = a["pupil_cin_baseline_log_rate"].value * (covariates["baseline_cin"]
                                                    - a["baseline_cin_share"].value)
    baseline = rng.poisson(np.exp(log_rate + cin) * baseline_frailty[school])
    effect = (np.log(irr) + layout.delta[layout.la_idx]) * layout.arm
    history = a["pupil_baseline_log_rate"].value * (np.log(baseline + 0.5) - np.log(0.5))
    mu = design.followup_years * frailty[school] * np.exp(log_rate + effect[school] + history)
    return {f"{outcome}_baseline": baseline.astype("int64"),
            outcome: rng.poisson(mu).astype("int64")}


def _days_per_pupil(entries: np.ndarray, mean_days: np.ndarray, cap: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Geometric days per care entry, each and their total capped by the window."""
    days = np.zeros(entries.size, dtype="int64")
    who = np.flatnonzero(entries)
    if who.size == 0:
        return days
    k = entries[who]
    draws = np.minimum(rng.geometric(1.0 / np.repeat(mean_days[who], k)), cap)
    starts = np.r_[0, np.cumsum(k)[:-1]]
    days[who] = np.minimum(np.add.reduceat(draws, starts), cap)
    return days


def _pupil_days(counts: dict[str, np.ndarray], arm: np.ndarray, ratio: float,
                a: dict[str, Assumption], design: TrialDesign,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    mean_days = np.full(arm.size, a["mean_days_per_care_entry"].value)
    window = min(round(365 * design.followup_years), MAX_FOLLOWUP_DAYS)  # 700 days in SWIS
    baseline_year = min(365, MAX_BASELINE_DAYS)
    return {"days_in_care_baseline": _days_per_pupil(counts["care_entry_baseline"], mean_days,
                                                     baseline_year, rng),
            "days_in_care": _days_per_pupil(counts["care_entry"],
                                            mean_days * np.where(arm == 1, ratio, 1.0), window,
                                            rng)}


def _pupil_sessions(layout: _Layout, school: np.ndarray, odds_ratio: float,
                    a: dict[str, Assumption], design: TrialDesign, rng: np.random.Generator,
                    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Sessions possible and missed per pupil, and each school's P(missed) without/with SWIS."""
    possible = np.round(a["sessions_per_pupil_year"].value
                        * rng.uniform(0.95, 1.0, school.size)).astype("int64")
    logit = _school_absence_logit(a, design.n_la, layout.la_idx, rng)
    p0 = 1 / (1 + np.exp(-logit))
    p1 = 1 / (1 + np.exp(-(logit + np.log(odds_ratio) * layout.arm)))
    return ({"sessions_possible": possible,
             "sessions_missed_baseline": rng.binomial(possible, p0[school]).astype("int64"),
             "sessions_missed": rng.binomial(possible, p1[school]).astype("int64")}, p0, p1)
