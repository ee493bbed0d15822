"""Synthetic school-clustered trials with known truth, shaped like SWIS by default.

The design (21 LAs, 136 SWIS and 132 control schools, 5-8 schools per arm per LA, 278,858
pupils) is the published one. Event rates and variance components were not published; their
defaults are named assumptions (:data:`DEFAULT_ASSUMPTIONS`), stored with every dataset.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_atomic, write_text_atomic


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

COUNT_OUTCOMES = ("s47", "referrals", "s17", "care_entry")


@dataclass(frozen=True)
class TrialDesign:
    """The shape of a simulated trial.

    Parameters
    ----------
    n_la : int, default 21
    n_swis : int, default 136
    n_control : int, default 132
    min_per_arm, max_per_arm : int, default 5 and 8
        Schools per arm in each LA.
    total_pupils : int, default 278858
    followup_years : float, default 23/12
        Length of the social-care follow-up window (years).
    """

    n_la: int = 21
    n_swis: int = 136
    n_control: int = 132
    min_per_arm: int = 5
    max_per_arm: int = 8
    total_pupils: int = 278_858
    followup_years: float = 23 / 12

    def __post_init__(self) -> None:
        for arm, n in (("n_swis", self.n_swis), ("n_control", self.n_control)):
            if not self.n_la * self.min_per_arm <= n <= self.n_la * self.max_per_arm:
                raise ValueError(
                    f"{arm}={n} cannot be split over {self.n_la} LAs with "
                    f"{self.min_per_arm}-{self.max_per_arm} schools per arm per LA")


@dataclass(frozen=True)
class SimulatedTrial:
    """A simulated school-level dataset with the truth that generated it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per school, in the schema of :mod:`swisbayes.data`.
    truth : dict
        True effects: ``irr`` per count outcome, ``la_effect_sd`` and per-LA log effects,
        the days-in-care ratio and the absence odds ratio.
    assumptions : dict
        The :class:`Assumption` objects used, as plain dicts.
    design : TrialDesign
    seed : int
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


def _gamma_poisson(mu: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(mu * rng.gamma(size, 1.0 / size, mu.shape))


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
    irr = {o: 1.0 for o in COUNT_OUTCOMES} | dict(irr or {})
    unknown = set(irr) - set(COUNT_OUTCOMES)
    if unknown:
        raise ValueError(f"irr: unknown outcome(s) {sorted(unknown)}; known: {COUNT_OUTCOMES}")
    rng = np.random.default_rng(seed)

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

    columns: dict[str, np.ndarray] = {}
    years = {"baseline": 1.0, "followup": design.followup_years}
    size = a["nb_dispersion"].value
    for outcome in COUNT_OUTCOMES:
        rate = a[f"{outcome}_per_1000_per_year"].value / 1000.0
        u = rng.normal(0.0, a["sigma_la"].value, design.n_la)
        s_sd = a["sigma_school"].value
        s = rng.normal(-s_sd**2 / 2, s_sd, J)
        log_base = np.log(pupils * rate) + u[la_idx] + s + a["fsm_log_rate_per_point"].value * (
            fsm - 25.0)
        effect = (np.log(irr[outcome]) + delta[la_idx]) * arm
        columns[f"{outcome}_baseline"] = _gamma_poisson(np.exp(log_base) * years["baseline"],
                                                        size, rng)
        columns[outcome] = _gamma_poisson(np.exp(log_base + effect) * years["followup"], size, rng)

    mean_days = a["mean_days_per_care_entry"].value
    window = round(365 * design.followup_years)
    for column, entries, ratio in (("days_in_care_baseline", columns["care_entry_baseline"], 1.0),
                                   ("days_in_care", columns["care_entry"], None)):
        r = np.where(arm == 1, days_duration_ratio, 1.0) if ratio is None else np.ones(J)
        days = np.array([np.minimum(rng.geometric(1.0 / (mean_days * r[j]), k), window).sum()
                         for j, k in enumerate(entries)], dtype=int)
        columns[column] = days

    sessions = np.round(pupils * a["sessions_per_pupil_year"].value * rng.uniform(0.95, 1.0, J))
    base_logit = np.log(a["absence_rate"].value / (1 - a["absence_rate"].value))
    school_abs = base_logit + rng.normal(0, 0.25, design.n_la)[la_idx] + rng.normal(0, 0.2, J)
    p0 = 1 / (1 + np.exp(-school_abs))
    p1 = 1 / (1 + np.exp(-(school_abs + np.log(absence_odds_ratio) * arm)))
    columns["sessions_possible"] = sessions.astype(int)
    columns["sessions_missed"] = rng.binomial(sessions.astype(int), p1)

    frame = pd.DataFrame({
        "school_id": [f"S{j + 1:03d}" for j in range(J)],
        "la_id": [f"LA{k + 1:02d}" for k in la_idx],
        "arm": arm,
        "pupils": pupils,
        "fsm_pct": fsm,
        **{k: columns[k] for k in (
            "s47_baseline", "s47", "referrals_baseline", "referrals", "s17_baseline", "s17",
            "care_entry_baseline", "care_entry", "days_in_care_baseline", "days_in_care",
            "sessions_possible", "sessions_missed")},
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
