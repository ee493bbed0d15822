"""The report's "What if?" panel: what the page recomputes from, and the library's own answer.

The panel answers the reader's next questions (another prior, MCID, value of an averted event,
programme cost or decision threshold) on the page itself, with no network and no refit. The page
carries each outcome's vague-prior draws of the few population-level quantities the answers need
(no school- or LA-level quantity, so disclosure control is unaffected) and answers a new prior by
Pareto-smoothed importance reweighting of those draws, as
:meth:`~swisbayes.inference.fitting.FitResult.under` does.

- :func:`whatif_payload` collects the draws, priors and economic inputs the page needs;
- :func:`parse_settings` reads the panel's settings (the URL fragment of a shared link), with a
  plain message for a bad one;
- :func:`answer` is what the page must show for some settings, computed from the same draws with
  the library's functions (:func:`~swisbayes.inference.reweight.reweight`, the weighted
  kernels of :mod:`swisbayes.decision.summaries`, the value for money and the value of further
  trials of :mod:`swisbayes.economics`, the :class:`~swisbayes.decision.rule.DecisionRule`): the
  browser test holds ``whatif.js`` to it.

The settings, one URL-fragment key per control (documented in the README): ``prior`` (a library
prior's name, ``pilot-informed`` or ``custom``), ``pilot_weight`` (the pilot-informed prior's
weight on the pilots, the rest on the vague prior), ``centre`` and ``sd`` (a custom normal: centre
on the ratio scale, SD on the log scale), ``mcid`` (every ratio outcome's meaningful reduction),
``mcid_pp`` (absence's, in percentage points), ``value_<outcome>`` (value of one averted event),
``cost`` (programme cost per school-year), and the rule's ``invest``, ``stop`` and
``invest_nmb`` thresholds.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from urllib.parse import unquote

import numpy as np
import xarray as xr

from swisbayes._base.defaults import validate_ci_prob
from swisbayes._base.errors import SpecError
from swisbayes.data.schema import outcome_schema
from swisbayes.decision.rule import decide_verdict
from swisbayes.decision.summaries import (
    AttendanceDecision,
    RatioSummary,
    averted_per_1000,
    population_ratio,
    summarise_difference,
    summarise_ratio,
)
from swisbayes.economics.net_benefit import (
    EconomicInputs,
    population_scale,
    validated_economics,
)
from swisbayes.economics.value_for_money import (
    expected_value_of_others,
    per_school,
    value_for_money,
)
from swisbayes.economics.voi import LinearNetBenefit, further_trial_value
from swisbayes.evidence.resolver import get_prior, named_prior
from swisbayes.inference.fitting import MAX_KHAT, MIN_IMPORTANCE_ESS, PriorAnalysis
from swisbayes.inference.reweight import (
    PriorState,
    PriorTargets,
    equal_weight_draws,
    find_targets,
    reweight,
)
from swisbayes.priors.conjugate import posterior
from swisbayes.priors.library import PILOT_PRIOR, MixturePrior, library_names
from swisbayes.priors.robust import UNIT_SD, robustify
from swisbayes.report.tables import outcome_decimals
from swisbayes.workflows.multiprior import OutcomeAnalysis
from swisbayes.workflows.tipping import data_alone, fitted_likelihood
from swisbayes.workflows.value_for_money import find_outcome

PAYLOAD_VERSION = 1
"""Format of the payload; ``whatif.js`` refuses another."""

CUSTOM = "custom"
"""The ``prior`` setting of a custom normal (``centre`` and ``sd``)."""

DRAW_BUDGET = 1_200_000
"""Most bytes of encoded draws a page carries (the report stays under 2 MB); beyond it the draws
are thinned further than accuracy alone would allow."""

KEEP_ESS = 0.95
"""Share of each headline quantity's ESS (bulk and tail) that thinning must keep."""

MAX_THIN = 10
"""Largest thinning factor tried."""

NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
"""A number as a setting may be written (``whatif.js`` uses the same pattern)."""

RULE_KEYS = ("invest", "stop", "invest_nmb")


# ----------------------------------------------------------------------------- the payload


def _encode(x: np.ndarray) -> str:
    """Little-endian float64 bytes in base64: exact, and a third the size of decimal text."""
    return base64.b64encode(np.ascontiguousarray(x, dtype="<f8").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").astype(float)


def _mixture(prior: MixturePrior) -> dict:
    return {"w": list(prior.weights), "m": list(prior.means), "s": list(prior.sds)}


def _from_mixture(d: Mapping, name: str) -> MixturePrior:
    return MixturePrior(name, name, "what if? panel", tuple(d["w"]), tuple(d["m"]),
                        tuple(d["s"]))


def _effect_variables(pa: PriorAnalysis) -> tuple[str, ...] | None:
    """The posterior variables carrying the effect prior (None: not reweightable)."""
    if pa.fit.data is None:
        return None
    return find_targets(pa.fit.spec, pa.fit.data, []).effect


def _chain_draws(pa: PriorAnalysis, name: str) -> np.ndarray:
    """(chain, draw) draws of one scalar variable."""
    return pa.fit.idata["posterior"][name].transpose("chain", "draw").to_numpy()


def _headline(outcome: OutcomeAnalysis) -> str:
    """``ratio`` for an outcome read as a ratio, ``points`` for a difference in points."""
    first = data_alone(outcome).decision
    return "points" if isinstance(first, AttendanceDecision) else "ratio"


def thinning(series: Sequence[np.ndarray], *, n_arrays: int, budget: int = DRAW_BUDGET,
             keep: float = KEEP_ESS, most: int = MAX_THIN) -> int:
    """How many draws of each chain to keep one of.

    The largest factor ``k`` (up to ``most``) at which every series keeps at least ``keep`` of
    its bulk and tail ESS (so the numbers lose no accuracy worth having), raised if needed until
    the encoded draws fit ``budget``.

    Parameters
    ----------
    series : sequence of numpy.ndarray
        Headline quantities, each (chain, draw).
    n_arrays : int
        Arrays the page carries, each the size of one series.
    budget : int, default DRAW_BUDGET
        Most bytes of encoded draws.
    keep : float, default KEEP_ESS
    most : int, default MAX_THIN

    Returns
    -------
    int
        1 for no thinning.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> independent = rng.normal(size=(4, 1000))
    >>> thinning([independent], n_arrays=1)
    1
    >>> slow = np.cumsum(rng.normal(size=(4, 20_000)), axis=1) * 0.02 + rng.normal(size=(4, 1))
    >>> thinning([slow], n_arrays=1) > 1
    True
    """
    from arviz_stats.base import array_stats

    def ess(x: np.ndarray) -> tuple[float, float]:
        return (float(array_stats.ess(x, chain_axis=0, draw_axis=1, method="bulk")),
                float(array_stats.ess(x, chain_axis=0, draw_axis=1, method="tail",
                                      prob=(0.025, 0.975))))

    full = [ess(x) for x in series]
    k = 1
    for trial in range(2, most + 1):
        if not all(min(t / f for t, f in zip(ess(x[:, ::trial]), whole, strict=True)) >= keep
                   for x, whole in zip(series, full, strict=True)):
            break
        k = trial
    size = series[0].size if series else 0
    while n_arrays * math.ceil(size / k) * 8 * 4 / 3 > budget:
        k += 1
    return k


def whatif_payload(analyses: Sequence[OutcomeAnalysis], economics: EconomicInputs,
                   pupils_per_school: float, *, primary: str) -> dict:
    """Everything the "What if?" panel recomputes from, JSON-ready.

    Parameters
    ----------
    analyses : sequence of OutcomeAnalysis
        The report's analyses, each with its vague-prior fit.
    economics : EconomicInputs
        The report's economic inputs (the panel's defaults).
    pupils_per_school : float
        As the report's value for money uses it.
    primary : str
        The outcome the verdict reads.

    Returns
    -------
    dict
        ``outcomes`` (per outcome: its vague-prior draws in base64 float64, chains then draws,
        the variables carrying the effect prior, every prior it can be read under as a normal
        mixture, its MCID), the economic inputs, the likelihood of the primary effect behind the
        value of further trials, the reweighting thresholds and the panel's defaults.

    Raises
    ------
    SpecError
        If ``primary`` has no analysis.
    """
    primary_outcome = find_outcome(analyses, primary)
    bases = {o.outcome: data_alone(o) for o in analyses}
    valued = [k for k in economics.values if k in bases]
    kinds = {o.outcome: _headline(o) for o in analyses}
    # the rates wherever they are read (a ratio, or events averted); else the points alone
    with_rates = {k for k in bases if kinds[k] == "ratio" or k in valued or k == primary}
    effect_vars = {k: _effect_variables(pa) for k, pa in bases.items()}
    series = []
    n_arrays = 0
    for k, pa in bases.items():
        if k in with_rates:
            rates = pa.fit.posterior[["rate_swis_per_1000", "rate_control_per_1000"]]
            sizes = pa.fit.posterior.sizes
            series.append(population_ratio(rates).reshape(sizes["chain"], sizes["draw"]))
            n_arrays += 2
        if kinds[k] == "points":
            series.append(_chain_draws(pa, "diff_pp"))
            n_arrays += 1
        n_arrays += len(effect_vars[k] or ())
    k_thin = thinning(series, n_arrays=n_arrays)
    chains, draws = series[0][:, ::k_thin].shape
    outcomes = []
    for o in analyses:
        pa = bases[o.outcome]
        arrays = {}
        names = [*(effect_vars[o.outcome] or ()),
                 *(("rate_swis_per_1000", "rate_control_per_1000")
                   if o.outcome in with_rates else ()),
                 *(("diff_pp",) if kinds[o.outcome] == "points" else ())]
        for name in names:
            x = _chain_draws(pa, name)[:, ::k_thin]
            if x.shape != (chains, draws):
                raise SpecError(f"{o.spec.name}: {x.shape[0]} chains of {x.shape[1]} draws; the "
                                f"other outcomes have {chains} of {draws}")
            arrays[name] = _encode(x.ravel())
        priors = {}
        for name in library_names():
            if name in o.unavailable:
                continue
            try:
                priors[name] = _mixture(named_prior(o.spec, name))
            except SpecError:  # e.g. no pilot estimate of this outcome
                continue
        pilots = None
        if PILOT_PRIOR in priors:
            settings = o.spec.priors.effect.pilot_settings(o.outcome)
            # the pilots' (discounted) MAP prior alone: the panel robustifies it with its weight
            pilots = {"map": _mixture(get_prior(PILOT_PRIOR,
                                                pilots=replace(settings, robust_weight=1.0))),
                      "weight": settings.robust_weight}
        outcomes.append({
            "key": o.outcome, "label": outcome_schema(o.outcome).label, "headline": kinds[
                o.outcome], "effect_vars": list(effect_vars[o.outcome] or []),
            "followup_years": o.spec.followup_years, "draws": arrays,
            "base_prior": _mixture(pa.prior), "priors": priors, "pilots": pilots,
            "mcid": pa.decision.mcid,
            "mcid_pp": pa.decision.mcid_pp if kinds[o.outcome] == "points" else None,
            "decimals": outcome_decimals(o), "reliable": pa.reliable})
    pilot_weights = {o["pilots"]["weight"] for o in outcomes if o["pilots"]}
    points = [o for o in outcomes if o["headline"] == "points"]
    rule = economics.decision_rule
    defaults = {"prior": "vague", "pilot_weight": min(pilot_weights, default=None),
                "centre": 1.0, "sd": 0.1,
                "mcid": primary_outcome.spec.decision.mcid,
                "mcid_pp": points[0]["mcid_pp"] if points else None,
                **{f"value_{k}": economics.values[k] for k in valued},
                "cost": economics.cost_per_school_year.value,
                "invest": rule.invest, "stop": rule.stop, "invest_nmb": rule.invest_nmb}
    further = economics.further_trial
    return {
        "version": PAYLOAD_VERSION, "primary": primary,
        "chains": chains, "draws": draws, "thin": k_thin,
        "ci_prob": validate_ci_prob(None), "max_khat": MAX_KHAT, "min_ess": MIN_IMPORTANCE_ESS,
        "pupils_per_school": float(pupils_per_school), "outcomes": outcomes, "valued": valued,
        "prior_names": [n for n in library_names()
                        if any(n in o["priors"] for o in outcomes)],
        "economics": {"inputs": economics.to_dict(), "currency": economics.currency,
                      "population_scale": population_scale(economics),
                      "trial_n": [int(n) for n in further.n_per_arm],
                      "trial_cost": [float(c) for c in further.cost(np.asarray(
                          further.n_per_arm))],
                      "unit_sd": UNIT_SD,
                      "likelihood": list(fitted_likelihood(primary_outcome))},
        "defaults": defaults,
    }


def payload_json(payload: Mapping) -> str:
    """The payload as JSON that can sit inside a ``<script>`` element (no ``<`` in it)."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_assets(payload: Mapping) -> dict[str, str]:
    """What the page inlines for the panel: ``data`` (:func:`payload_json`), ``script``
    (``whatif.js``) and ``style`` (``whatif.css``), each safe inside its element."""
    files = resources.files("swisbayes.report")
    script = files.joinpath("whatif.js").read_text(encoding="utf-8")
    style = files.joinpath("whatif.css").read_text(encoding="utf-8")
    if "</" in script or "</" in style:  # would end the element early
        raise AssertionError("whatif.js and whatif.css must not contain '</'")
    return {"data": payload_json(payload), "script": script, "style": style}


# ----------------------------------------------------------------------------- settings


def setting_keys(payload: Mapping) -> list[str]:
    """The URL-fragment keys of the panel's controls, one per control, in the panel's order."""
    return [k for k in payload["defaults"] if payload["defaults"][k] is not None
            or (k == "mcid_pp" and any(o["headline"] == "points" for o in payload["outcomes"]))]


def _number(key: str, text: str | float) -> float:
    if isinstance(text, bool):
        raise SpecError(f"{key}={text} is not a number")
    if isinstance(text, int | float):
        value = float(text)
    elif NUMBER.match(text.strip()):
        value = float(text.strip())
    else:
        raise SpecError(f"{key}={text} is not a number")
    if not math.isfinite(value):
        raise SpecError(f"{key}={text} is not a finite number")
    return value


def _check_range(key: str, value: float, text: str | float) -> None:
    """Each setting's range, in words a reader of the page understands (``text`` as given)."""
    def bad(expected: str) -> SpecError:
        return SpecError(f"{key}={text} is out of range: {expected}")

    if key == "pilot_weight" and not 0.0 <= value <= 1.0:
        raise bad("the weight on the pilots is between 0 and 1")
    if key == "centre" and not value > 0:
        raise bad("the centre is a ratio, above 0 (0.85 = a 15% reduction)")
    if key == "sd" and not 0 < value <= 10:
        raise bad("the SD on the log scale is above 0 and at most 10")
    if key == "mcid" and not 0 < value < 1:
        raise bad("the meaningful reduction is a fraction strictly between 0 and 1 (0.2 = 20%)")
    if key == "mcid_pp" and not value > 0:
        raise bad("the meaningful fall in absence is above 0 percentage points")
    if (key.startswith("value_") or key == "cost") and not value >= 0:
        raise bad("an amount of money is 0 or more")
    if key in RULE_KEYS and not 0 <= value <= 1:
        raise bad("a threshold of the rule is a probability between 0 and 1")


def parse_settings(payload: Mapping, settings: str | Mapping[str, str | float] = "") -> dict:
    """The panel's settings in force: the defaults, changed by ``settings``.

    Parameters
    ----------
    payload : dict
        From :func:`whatif_payload`.
    settings : str or mapping, default ""
        A URL fragment (``"#prior=sceptical&mcid=0.2"``) or a mapping of the same keys.

    Returns
    -------
    dict
        Every key of :func:`setting_keys` with its value; ``mcid`` and ``mcid_pp`` are None
        when not given (each outcome keeps its own).

    Raises
    ------
    SpecError
        With a plain sentence naming the setting: an unknown key or prior, a value that is not a
        number or is out of range, a custom centre with another prior, or a stop threshold not
        below the invest threshold.
    """
    if isinstance(settings, str):
        pairs = []
        for part in settings.lstrip("#").split("&"):
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise SpecError(f"'{unquote(part)}' is not a setting: expected key=value")
            pairs.append((unquote(key), unquote(value)))
    else:
        pairs = list(settings.items())
    keys = setting_keys(payload)
    given: dict[str, str | float] = {}
    for key, value in pairs:
        if key not in keys:
            raise SpecError(f"'{key}' is not a setting of this page; the settings are "
                            + ", ".join(keys))
        if key in given:
            raise SpecError(f"'{key}' is given twice")
        given[key] = value
    defaults = payload["defaults"]
    out = {**defaults, "mcid": None, "mcid_pp": None}
    prior = given.get("prior")
    if prior is None:
        prior = (CUSTOM if "centre" in given or "sd" in given
                 else PILOT_PRIOR if "pilot_weight" in given else defaults["prior"])
    names = [*payload["prior_names"], CUSTOM]
    if prior not in names:
        raise SpecError(f"prior={prior} is not a prior of this page; choose one of "
                        + ", ".join(names))
    out["prior"] = prior
    for key, value in given.items():
        if key == "prior":
            continue
        if key in ("centre", "sd") and prior != CUSTOM:
            raise SpecError(f"{key} sets a custom normal prior, but prior={prior}")
        if key == "pilot_weight" and prior != PILOT_PRIOR:
            raise SpecError(f"pilot_weight sets the {PILOT_PRIOR} prior, but prior={prior}")
        number = _number(key, value)
        _check_range(key, number, value)
        out[key] = number
    if not out["stop"] < out["invest"]:
        raise SpecError(f"stop={_js_number(out['stop'])} must be below "
                        f"invest={_js_number(out['invest'])}: the rule stops below one "
                        "threshold and invests above the other")
    return out


def settings_fragment(payload: Mapping, settings: Mapping) -> str:
    """The URL fragment of some settings (as :func:`parse_settings` gives them): the prior, a
    custom prior's centre and SD, and every other setting that differs from the default, in the
    panel's order (the page writes the same).

    Examples
    --------
    >>> payload = {"defaults": {"prior": "vague", "pilot_weight": None, "centre": 1.0,
    ...                         "sd": 0.1, "mcid": 0.1, "mcid_pp": None, "cost": 37500.0},
    ...            "outcomes": []}
    >>> settings_fragment(payload, {"prior": "custom", "centre": 0.85, "sd": 0.1,
    ...                             "mcid": 0.2, "mcid_pp": None, "cost": 37500.0})
    '#prior=custom&centre=0.85&sd=0.1&mcid=0.2'
    """
    defaults = payload["defaults"]
    prior = settings["prior"]
    parts = []
    for key in setting_keys(payload):
        value = settings.get(key)
        if key == "prior":
            keep = value != defaults["prior"]
        elif key in ("centre", "sd"):
            keep = prior == CUSTOM
        elif key == "pilot_weight":
            keep = prior == PILOT_PRIOR and value != defaults[key]
        elif key in ("mcid", "mcid_pp"):
            keep = value is not None
        else:
            keep = value != defaults[key]
        if keep:
            parts.append(f"{key}={value if key == 'prior' else _js_number(value)}")
    return "#" + "&".join(parts)


def _js_number(x: float) -> str:
    """A number as JavaScript's ``String(x)`` writes it, for the common cases (no exponent)."""
    text = repr(float(x))
    return text.removesuffix(".0") if "e" not in text else text


# ----------------------------------------------------------------------------- the answer


def _prior(outcome: Mapping, settings: Mapping) -> MixturePrior | None:
    """The outcome's prior under the settings, or None when it has no such prior."""
    name = settings["prior"]
    if name == CUSTOM:
        return MixturePrior.normal(CUSTOM, math.log(settings["centre"]), settings["sd"])
    if name == PILOT_PRIOR:
        pilots = outcome["pilots"]
        if pilots is None:
            return None
        return robustify(_from_mixture(pilots["map"], PILOT_PRIOR), settings["pilot_weight"])
    if name not in outcome["priors"]:
        return None
    return _from_mixture(outcome["priors"][name], name)


def _inputs(payload: Mapping, settings: Mapping) -> EconomicInputs:
    """The economic inputs with the settings' values, cost and rule, validated."""
    raw = json.loads(json.dumps(payload["economics"]["inputs"]))
    for key in payload["valued"]:
        raw["value_per_event"][key]["value"] = settings[f"value_{key}"]
    raw["cost_per_school_year"]["value"] = settings["cost"]
    raw["rule"] = {"invest_prob_meaningful": settings["invest"],
                   "invest_prob_nmb_positive": settings["invest_nmb"],
                   "stop_prob_meaningful": settings["stop"]}
    return validated_economics(raw, source="the What if? settings")


def answer(payload: Mapping, settings: str | Mapping = "") -> dict:
    """What the panel shows for some settings, from the payload's draws.

    Each prior is answered by PSIS reweighting of the vague-prior draws
    (:func:`~swisbayes.inference.reweight.reweight`, trusted under the thresholds of
    :meth:`~swisbayes.inference.fitting.FitResult.under`); the summaries, the value for money,
    the value of further trials and the verdict are those of the static page, computed the same
    way.

    Parameters
    ----------
    payload : dict
        From :func:`whatif_payload`.
    settings : str or mapping, default ""
        As for :func:`parse_settings`.

    Returns
    -------
    dict
        By the page's ``data-key``: per outcome ``median.<k>``, ``ci_low.<k>``, ``ci_high.<k>``,
        ``p_any.<k>``, ``p_meaningful.<k>``, ``p_harm.<k>`` (on the outcome's headline scale: a
        ratio, or a difference in points), ``ess.<k>``, ``khat.<k>`` (None without reweighting),
        ``trusted.<k>`` and ``borrowed.<k>`` (no such prior: the data alone); then ``nmb_mean``,
        ``p_nmb_positive``, ``worth_a_trial`` and ``verdict`` (None when a draw set the verdict
        reads is not trusted).

    Raises
    ------
    SpecError
        For bad settings (see :func:`parse_settings`).
    """
    s = parse_settings(payload, settings)
    inputs = _inputs(payload, s)
    chains, draws = payload["chains"], payload["draws"]
    ci_prob = payload["ci_prob"]
    out: dict = {}
    weights: dict[str, np.ndarray | None] = {}
    datasets: dict[str, xr.Dataset] = {}
    priors: dict[str, MixturePrior] = {}
    trusted: dict[str, bool] = {}
    primary_effect = None
    for o in payload["outcomes"]:
        k = o["key"]
        ds = xr.Dataset({name: (("chain", "draw"), _decode(text).reshape(chains, draws))
                         for name, text in o["draws"].items()})
        datasets[k] = ds
        base = _from_mixture(o["base_prior"], "vague")
        prior = _prior(o, s)
        out[f"borrowed.{k}"] = prior is None
        prior = base if prior is None else prior
        priors[k] = prior
        if o["effect_vars"]:
            rw = reweight(ds, PriorTargets(effect=tuple(o["effect_vars"])), PriorState(prior, {}),
                          PriorState(base, {}))
        else:
            rw = None
        if rw is None:
            same = prior.weights == base.weights and prior.means == base.means \
                and prior.sds == base.sds
            w, ess, khat, ok = None, float(chains * draws), None, same
        else:
            w, ess, khat = rw.weights, rw.ess, rw.pareto_khat
            # FitResult.under reweights only the draws of a fit that passed its own checks
            ok = rw.acceptable(payload["max_khat"], payload["min_ess"]) and (
                w is None or o["reliable"])
        weights[k], trusted[k] = w, ok
        out |= {f"ess.{k}": ess, f"khat.{k}": khat, f"trusted.{k}": ok}
        mcid = s["mcid"] if s["mcid"] is not None else o["mcid"]
        ratio = (summarise_ratio(population_ratio(ds), mcid=mcid, ci_prob=ci_prob, weights=w,
                                 chains=chains)
                 if o["headline"] == "ratio" or k == payload["primary"] else None)
        if o["headline"] == "points":
            mcid_pp = s["mcid_pp"] if s["mcid_pp"] is not None else o["mcid_pp"]
            summary = summarise_difference(ds["diff_pp"].to_numpy(), mcid=mcid_pp,
                                           ci_prob=ci_prob, weights=w, chains=chains)
        else:
            summary = ratio
        out |= {f"median.{k}": summary.median, f"ci_low.{k}": summary.ci[0],
                f"ci_high.{k}": summary.ci[1], f"p_any.{k}": summary.prob_any_reduction,
                f"p_meaningful.{k}": summary.prob_meaningful_reduction,
                f"p_harm.{k}": summary.prob_harm}
        if k == payload["primary"]:
            # the verdict reads the ratio, whatever the outcome's headline (as the report does)
            primary_effect = (mcid, ratio)
    out |= _economics(payload, s, inputs, datasets, weights, priors, primary_effect)
    readers = {payload["primary"], *payload["valued"]}
    if not all(trusted[k] for k in readers):
        out["verdict"] = None
    return out


def _economics(payload: Mapping, settings: Mapping, inputs: EconomicInputs,
               datasets: Mapping[str, xr.Dataset], weights: Mapping[str, np.ndarray | None],
               priors: Mapping[str, MixturePrior],
               primary_effect: tuple[float, RatioSummary]) -> dict:
    """Net benefit, the value of further trials and the verdict, as
    :func:`~swisbayes.workflows.value_for_money.prior_economics` computes them from analyses."""
    primary = payload["primary"]
    pupils = payload["pupils_per_school"]
    by_key = {o["key"]: o for o in payload["outcomes"]}
    n = payload["chains"] * payload["draws"]
    # each valued outcome's events averted per school-year, resampled to equal weights and
    # paired by index (paired_draws)
    averted = {k: equal_weight_draws(per_school(averted_per_1000(
        datasets[k], by_key[k]["followup_years"]), pupils), weights[k], n)
        for k in payload["valued"]}
    value = value_for_money(averted, inputs, outcome=primary)
    control = (datasets[primary]["rate_control_per_1000"].to_numpy().ravel()
               / by_key[primary]["followup_years"])
    nb = LinearNetBenefit.from_inputs(
        inputs, outcome=primary,
        events_per_school_year=per_school(float(np.average(control, weights=weights[primary])),
                                          pupils),
        offset=expected_value_of_others(averted, inputs.values, outcome=primary))
    further = further_trial_value(
        posterior(priors[primary], *payload["economics"]["likelihood"]), nb, inputs)
    mcid, effect = primary_effect
    verdict = decide_verdict(inputs.decision_rule, effect.prob_meaningful_reduction,
                             value.nmb.prob_positive, mcid=mcid, outcome_label=primary,
                             worth_more_evidence=further.worth_a_trial)
    return {"nmb_mean": value.nmb.mean, "p_nmb_positive": value.nmb.prob_positive,
            "worth_a_trial": further.worth_a_trial, "verdict": verdict.verdict}


__all__ = ["CUSTOM", "answer", "page_assets", "parse_settings", "payload_json", "setting_keys",
           "settings_fragment", "thinning", "whatif_payload"]
