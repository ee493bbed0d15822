"""Pilot-informed MAP priors: loading, meta-analysis, mixture approximation, robustify, ESS.

Truths used: the fixed-effect (and fixed-tau) predictive in closed form, a 2-D quadrature of the
meta-analysis posterior for the MCMC checks, normal-prior ESS in closed form, and draws from
known normals and mixtures for the EM fit.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from swisbayes._base.errors import SpecError
from swisbayes.evidence.meta_analysis import map_prior, posterior_as_prior
from swisbayes.priors.ess import effective_sample_size
from swisbayes.priors.library import MAX_COMPONENTS, MixturePrior, vague
from swisbayes.priors.robust import (
    DEFAULT_ROBUST_WEIGHT,
    TRIAL_LOG_IRR_SE,
    UNIT_SD,
    discount,
    robustify,
)
from swisbayes.spec.pilots import PilotEstimate, load_pilots

ROOT = Path(__file__).resolve().parents[1]
PILOTS = ROOT / "models" / "pilots.toml"
Z = stats.norm.ppf(0.975)

# The bundled S47 assumptions, typed in again so the tests do not read them back from the code.
LAMBETH = (math.log(0.80), (math.log(1.14) - math.log(0.56)) / (2 * Z))
SOUTHAMPTON = (math.log(0.78), (math.log(1.22) - math.log(0.50)) / (2 * Z))

APPROX_TOL = 0.02
"""Largest allowed |mixture quantile - draws quantile| on the log scale (2.5/50/97.5%)."""


def _pilot(la: str, y: float, se: float, outcome: str = "s47") -> PilotEstimate:
    return PilotEstimate(la=la, outcome=outcome, design="difference-in-differences", schools=3,
                         log_estimate=y, se=se, source="assumption", rationale="test")


def _grid_predictive(y, se, tau_scale: float):
    """CDF and density of theta_new by quadrature over (mu, tau), with z integrated out."""
    mu = np.linspace(-5, 5, 1201)
    tau = np.linspace(1e-6, 8 * tau_scale, 1200)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    lp = stats.norm.logpdf(M, 0, 1) + stats.halfnorm.logpdf(T, scale=tau_scale)
    for yi, si in zip(y, se, strict=True):
        lp = lp + stats.norm.logpdf(yi, M, np.sqrt(si**2 + T**2))
    w = np.exp(lp - lp.max())
    w /= w.sum()

    def cdf(x):
        return float(np.sum(w * stats.norm.cdf((x - M) / T)))

    def pdf(x):
        return float(np.sum(w * stats.norm.pdf((x - M) / T) / T))

    def quantile(q):
        return optimize.brentq(lambda x: cdf(x) - q, -10, 10, xtol=1e-10)

    return quantile, pdf


# ------------------------------------------------------------------------------ loading


def test_bundled_pilots_are_the_three_las_and_labelled_assumptions():
    pilots = load_pilots(PILOTS)
    assert [(p.la, p.outcome, p.schools) for p in pilots] == [
        ("Lambeth", "s47", 5), ("Southampton", "s47", 3), ("Stockport", "s17", 2)]
    assert all(p.design == "difference-in-differences" and p.is_assumption for p in pilots)
    assert all(len(p.rationale) > 40 for p in pilots)
    assert pilots[0].log_ratio == pytest.approx(LAMBETH[0], abs=1e-15)
    assert pilots[0].log_se == pytest.approx(LAMBETH[1], rel=1e-12)
    assert pilots[1].log_se == pytest.approx(SOUTHAMPTON[1], rel=1e-12)


def _entry(**changes) -> dict:
    base = {"la": "Lambeth", "outcome": "s47", "design": "difference-in-differences",
            "schools": 5, "ratio": 0.8, "ci_low": 0.56, "ci_high": 1.14,
            "source": "assumption", "rationale": "test"}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def _toml_value(v) -> str:
    return json.dumps(v) if isinstance(v, str) else repr(v)


def _write(tmp_path: Path, entries: list[dict], *, source: bool = True,
           extra: str = "") -> Path:
    lines = [extra]
    if source:
        lines += ["[source]", 'report = "pilot report"']
    for e in entries:
        lines.append("[[pilot]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in e.items()]
    path = tmp_path / "pilots.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SOUTH = {"la": "Southampton", "schools": 3, "ratio": 0.78, "ci_low": 0.5, "ci_high": 1.22}

BAD_ENTRIES = {
    "missing field": (_entry(**SOUTH, design=None),
                      "pilot[1] (la 'Southampton'): missing required key 'design'"),
    "ci excludes ratio": (_entry(**{**SOUTH, "ratio": 0.45}),
                          "pilot[1] (la 'Southampton'): ci_low, ci_high: the 95% CI [0.5, 1.22] "
                          "does not contain the ratio 0.45"),
    "ci reversed": (_entry(**{**SOUTH, "ci_low": 1.22, "ci_high": 0.5}),
                    "pilot[1] (la 'Southampton'): ci_low, ci_high: the 95% CI [1.22, 0.5] does "
                    "not contain the ratio 0.78"),
    "negative ratio": (_entry(**{**SOUTH, "ratio": -0.78}),
                       "pilot[1] (la 'Southampton'): ratio: Input should be greater than 0 "
                       "(found -0.78)"),
    "zero ci_low": (_entry(**{**SOUTH, "ci_low": 0.0}),
                    "pilot[1] (la 'Southampton'): ci_low: Input should be greater than 0 "
                    "(found 0.0)"),
    "zero se": (_entry(**{**SOUTH, "ratio": None, "ci_low": None, "ci_high": None},
                       log_estimate=-0.25, se=0.0),
                "pilot[1] (la 'Southampton'): se: Input should be greater than 0 (found 0.0)"),
    "negative se": (_entry(**{**SOUTH, "ratio": None, "ci_low": None, "ci_high": None},
                           log_estimate=-0.25, se=-0.2),
                    "pilot[1] (la 'Southampton'): se: Input should be greater than 0 "
                    "(found -0.2)"),
    "both forms": (_entry(**SOUTH, log_estimate=-0.25, se=0.2),
                   "pilot[1] (la 'Southampton'): both forms of the estimate given (ratio, ci_low,"
                   " ci_high, log_estimate, se); give either ratio with ci_low and ci_high, or "
                   "log_estimate with se, not both"),
    "neither form": (_entry(**{**SOUTH, "ratio": None, "ci_low": None, "ci_high": None}),
                     "pilot[1] (la 'Southampton'): no estimate given; give either ratio with "
                     "ci_low and ci_high, or log_estimate with se"),
    "ratio without ci_high": (_entry(**{**SOUTH, "ci_high": None}),
                              "pilot[1] (la 'Southampton'): missing ci_high: give either ratio "
                              "with ci_low and ci_high, or log_estimate with se"),
    "log_estimate without se": (_entry(**{**SOUTH, "ratio": None, "ci_low": None,
                                          "ci_high": None}, log_estimate=-0.25),
                                "pilot[1] (la 'Southampton'): missing se: give either ratio with"
                                " ci_low and ci_high, or log_estimate with se"),
    "unknown key": (_entry(**SOUTH, ci_hi=1.2),
                    "pilot[1] (la 'Southampton'): unknown key 'ci_hi'; allowed keys: la, "
                    "outcome, design, schools, ratio, ci_low, ci_high, log_estimate, se, source, "
                    "rationale, note"),
    "unknown outcome": (_entry(**SOUTH, outcome="S47"),
                        "pilot[1] (la 'Southampton'): outcome: Value error, unknown outcome "
                        "'S47'; expected one of s47, referrals, s17"),
    "zero schools": (_entry(**{**SOUTH, "schools": 0}),
                     "pilot[1] (la 'Southampton'): schools: Input should be greater than 0 "
                     "(found 0)"),
    "missing la": (_entry(**{**SOUTH, "la": None}), "pilot[1] (no la): missing required key 'la'"),
}


@pytest.mark.parametrize("case", BAD_ENTRIES, ids=str)
def test_bad_pilot_entry_gives_a_precise_message(tmp_path, case):
    bad, expected = BAD_ENTRIES[case]
    path = _write(tmp_path, [_entry(), bad])
    with pytest.raises(SpecError) as exc:
        load_pilots(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: 1 problem(s) in the pilot estimates\n  - ")
    assert expected in message


def test_every_bad_entry_is_reported_at_once(tmp_path):
    path = _write(tmp_path, [_entry(se=0.2), _entry(**{**SOUTH, "ratio": 2.0})])
    with pytest.raises(SpecError, match=r"2 problem\(s\)") as exc:
        load_pilots(path)
    assert "pilot[0] (la 'Lambeth'): unknown key 'se'" not in str(exc.value)
    assert "pilot[0] (la 'Lambeth'): both forms" in str(exc.value)
    assert "pilot[1] (la 'Southampton'): ci_low, ci_high" in str(exc.value)


@pytest.mark.parametrize(("kind", "expected"), [
    ("missing file", "no such pilots file"),
    ("not toml", "not valid TOML"),
    ("no source", "missing required key 'source'"),
    ("unknown top key", "unknown key 'pilots' in the top level; allowed keys: source, pilot"),
    ("unknown source key", "unknown key 'year' in source; allowed keys: report, url, "
                           "peer_reviewed, note"),
    ("no pilots", "pilot: List should have at least 1 item"),
])
def test_bad_pilots_file_gives_a_precise_message(tmp_path, kind, expected):
    path = tmp_path / "pilots.toml"
    if kind == "not toml":
        path.write_text("[[pilot]\nla = 1\n", encoding="utf-8")
    elif kind == "no source":
        path = _write(tmp_path, [_entry()], source=False)
    elif kind == "unknown top key":
        path = _write(tmp_path, [_entry()], extra='pilots = "x"')
    elif kind == "unknown source key":
        path.write_text('[source]\nreport = "r"\nyear = 2020\n', encoding="utf-8")
    elif kind == "no pilots":
        path.write_text('pilot = []\n[source]\nreport = "r"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="^" + str(path)) as exc:
        load_pilots(path)
    assert expected in str(exc.value)


# --------------------------------------------------------------- closed-form predictive


def test_tau_zero_is_the_fixed_effect_pooled_estimate_exactly():
    result = map_prior(load_pilots(PILOTS), tau=0.0)
    (y1, s1), (y2, s2) = LAMBETH, SOUTHAMPTON
    w1, w2 = 1 / s1**2, 1 / s2**2
    pooled_mean, pooled_sd = (w1 * y1 + w2 * y2) / (w1 + w2), 1 / math.sqrt(w1 + w2)
    prior = result.prior
    assert result.method == "closed form"
    assert result.draws is None
    assert prior.name == "pilot-map"
    assert prior.weights == (1.0,)
    assert prior.means[0] == pytest.approx(pooled_mean, rel=1e-12)
    assert prior.sds[0] == pytest.approx(pooled_sd, rel=1e-12)
    assert [p.la for p in result.pilots] == ["Lambeth", "Southampton"]
    assert result.approximation["max_abs_diff"] < 1e-9


def test_fixed_tau_adds_heterogeneity_in_closed_form():
    pilots = load_pilots(PILOTS)
    tau = 0.3
    (y1, s1), (y2, s2) = LAMBETH, SOUTHAMPTON
    w1, w2 = 1 / (s1**2 + tau**2), 1 / (s2**2 + tau**2)
    prior = map_prior(pilots, tau=tau).prior
    assert prior.means[0] == pytest.approx((w1 * y1 + w2 * y2) / (w1 + w2), rel=1e-12)
    assert prior.sds[0] == pytest.approx(math.sqrt(1 / (w1 + w2) + tau**2), rel=1e-12)
    assert prior.sd > map_prior(pilots, tau=0.0).prior.sd


def test_single_pilot_with_tau_zero_is_its_own_estimate():
    prior = map_prior([_pilot("Stockport", -0.16, 0.18, "s17")], outcome="s17", tau=0.0).prior
    assert prior.means + prior.sds == pytest.approx((-0.16, 0.18), rel=1e-12)


def test_only_the_requested_outcome_is_used_and_a_missing_one_lists_those_available():
    pilots = load_pilots(PILOTS)
    s17 = map_prior(pilots, outcome="s17", tau=0.0)
    assert [p.la for p in s17.pilots] == ["Stockport"]
    assert s17.prior.means[0] == pytest.approx(math.log(0.85), rel=1e-12)
    with pytest.raises(SpecError, match="no pilot estimate for outcome 'referrals'; outcomes "
                                        "available: s17, s47"):
        map_prior(pilots, outcome="referrals", tau=0.0)


def test_description_and_provenance_say_the_numbers_are_assumptions():
    prior = map_prior(load_pilots(PILOTS), tau=0.0).prior
    assert "The pilot numbers are assumptions" in prior.description
    assert "Lambeth (assumption)" in prior.provenance
    assert "Southampton (assumption)" in prior.provenance
    published = [PilotEstimate(la="X", outcome="s47", design="rct", schools=4, ratio=0.9,
                               ci_low=0.7, ci_high=1.1, source="Report 2020, table 3",
                               rationale="published")]
    prior = map_prior(published, tau=0.0).prior
    assert "assumption" not in prior.description
    assert "X (Report 2020, table 3)" in prior.provenance


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tau": -0.1}, "tau must be None"),
    ({"tau_scale": 0.0}, "tau_scale must be a positive number"),
    ({"draws": 100}, "draws must be a whole number >= 400"),
    ({"n_components": 4}, "n_components must be None"),
])
def test_bad_settings_are_rejected(kwargs, match):
    with pytest.raises(SpecError, match=match):
        map_prior(load_pilots(PILOTS), **kwargs)


# ----------------------------------------------------------------------- MCMC predictive


@pytest.fixture(scope="module")
def map_default():
    return map_prior(load_pilots(PILOTS))


@pytest.fixture(scope="module")
def map_wide():
    return map_prior(load_pilots(PILOTS), tau_scale=1.0)


@pytest.mark.slow
def test_map_prior_passes_the_gate_and_is_labelled(map_default):
    d = map_default.diagnostics
    assert d.ok
    assert d.rhat_max <= 1.01
    assert d.divergences == 0
    prior = map_default.prior
    assert prior.name == "pilot-map"
    assert 1 <= len(prior.weights) <= MAX_COMPONENTS - 1
    assert "The pilot numbers are assumptions" in prior.description
    assert "tau ~ HalfNormal(0.5)" in prior.provenance
    assert "mu ~ N(0, 1)" in prior.provenance
    assert prior.details["approximation"] == map_default.approximation
    # 4 predictive draws per posterior draw, of at least the 4000 asked for (a run that failed
    # the gate is retried, the last time with twice the draws)
    n_posterior = map_default.idata["posterior"]["mu"].size
    assert n_posterior >= 4000
    assert map_default.draws.size == 4 * n_posterior


@pytest.mark.slow
@pytest.mark.parametrize("q", [0.025, 0.5, 0.975])
def test_mixture_matches_the_mcmc_predictive_quantiles(map_default, q):
    """Tolerance: APPROX_TOL for the approximation, plus 4 Monte Carlo SEs of the draws' own
    quantile. The three-component fit is smooth and does not follow the draws' sampling noise,
    which in the tails (MCSE about 0.05 here) is larger than APPROX_TOL."""
    import arviz as az

    draws_q = float(np.quantile(map_default.draws, q))
    chains = map_default.idata["posterior"].sizes["chain"]
    by_chain = map_default.draws.reshape(chains, -1)  # chain-major, as the predictive is drawn
    mcse = float(az.mcse(by_chain, method="quantile", prob=q))
    assert abs(map_default.prior.quantile(q) - draws_q) < APPROX_TOL + 4 * mcse
    row = map_default.approximation["quantiles"][f"{q:g}"]
    assert row["draws"] == pytest.approx(draws_q, abs=1e-12)
    assert map_default.approximation["max_abs_diff"] >= row["abs_diff"]


@pytest.mark.slow
@pytest.mark.parametrize("q", [0.025, 0.5, 0.975])
def test_mcmc_predictive_matches_quadrature(map_default, q):
    """Tolerance: 4 Monte Carlo SEs of a quantile, sqrt(q(1-q)/ESS)/f(x_q), ESS = min bulk ESS."""
    quantile, pdf = _grid_predictive([LAMBETH[0], SOUTHAMPTON[0]],
                                     [LAMBETH[1], SOUTHAMPTON[1]], 0.5)
    truth = quantile(q)
    mcse = math.sqrt(q * (1 - q) / map_default.diagnostics.ess_bulk_min) / pdf(truth)
    assert abs(map_default.prior.quantile(q) - truth) < 4 * mcse


@pytest.mark.slow
def test_heterogeneity_widens_the_prior(map_default, map_wide):
    pooled = map_prior(load_pilots(PILOTS), tau=0.0).prior
    assert map_wide.prior.sd > map_default.prior.sd > pooled.sd
    assert np.std(map_default.draws) > pooled.sd
    # the predictive's 95% interval contains the pooled one
    assert map_default.prior.quantile(0.025) < pooled.quantile(0.025)
    assert map_default.prior.quantile(0.975) > pooled.quantile(0.975)


@pytest.mark.slow
def test_single_pilot_works():
    result = map_prior([_pilot("Stockport", -0.16, 0.18, "s17")], outcome="s17")
    assert result.diagnostics.ok
    assert [p.la for p in result.pilots] == ["Stockport"]
    quantile, pdf = _grid_predictive([-0.16], [0.18], 0.5)
    # Tolerance: 4 Monte Carlo SEs of the median (as in test_mcmc_predictive_matches_quadrature;
    # about 0.018 here) plus the mixture's approximation tolerance.
    truth = quantile(0.5)
    mcse = math.sqrt(0.25 / result.diagnostics.ess_bulk_min) / pdf(truth)
    assert abs(result.prior.quantile(0.5) - truth) < 4 * mcse + APPROX_TOL
    assert result.prior.sd > 0.18


# ---------------------------------------------------------------- robustify and discount


def test_robustify_endpoints_are_exact():
    informative = MixturePrior("map", "d", "p", (0.6, 0.4), (-0.2, -0.1), (0.1, 0.3))
    assert robustify(informative, 1.0) == informative
    assert robustify(informative, 0.0) == vague()
    custom = MixturePrior.normal("flat", 0.0, 3.0)
    assert robustify(informative, 0.0, vague=custom) == custom


def test_robustify_mixes_with_the_stated_weights():
    informative = MixturePrior("map", "d", "p", (0.6, 0.4), (-0.2, -0.1), (0.1, 0.3))
    r = robustify(informative)
    assert DEFAULT_ROBUST_WEIGHT == 0.8
    assert r.weights == pytest.approx((0.48, 0.32, 0.2))
    assert r.means == (-0.2, -0.1, 0.0)
    assert r.sds == (0.1, 0.3, 10.0)
    x = np.linspace(-3, 3, 7)
    expected = 0.8 * np.exp(informative.logpdf(x)) + 0.2 * stats.norm.pdf(x, 0, 10)
    assert np.exp(r.logpdf(x)) == pytest.approx(expected, rel=1e-12)
    assert r.details["robust_weight"] == 0.8


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan")])
def test_robustify_rejects_weights_outside_0_1(weight):
    with pytest.raises(SpecError, match=r"must be in \[0, 1\]"):
        robustify(MixturePrior.normal("map", 0.0, 0.2), weight)


def test_robustify_refuses_to_exceed_max_components():
    four = MixturePrior("big", "d", "p", (0.25,) * 4, (-0.3, -0.1, 0.1, 0.3), (0.1,) * 4)
    with pytest.raises(SpecError, match="the result would have 5, more than MAX_COMPONENTS"):
        robustify(four, 0.8)


def test_discount_scales_every_sd_by_one_over_sqrt_a0():
    prior = MixturePrior("map", "d", "p", (0.7, 0.3), (-0.2, 0.1), (0.1, 0.4))
    assert discount(prior, 1.0) == prior
    for a0 in (0.5, 0.01, 1e-6):
        d = discount(prior, a0)
        assert d.sds == pytest.approx(tuple(s / math.sqrt(a0) for s in prior.sds), rel=1e-12)
        assert (d.weights, d.means) == (prior.weights, prior.means)
    assert discount(prior, 1e-6).sd > 100
    normal = MixturePrior.normal("n", -0.2, 0.1)
    assert effective_sample_size(discount(normal, 0.3)) == pytest.approx(
        0.3 * effective_sample_size(normal), rel=1e-12)


@pytest.mark.parametrize("a0", [0.0, -0.5, 1.5])
def test_discount_rejects_a0_outside_0_1(a0):
    with pytest.raises(SpecError, match=r"a0 must be in \(0, 1\]"):
        discount(MixturePrior.normal("map", 0.0, 0.2), a0)


# ----------------------------------------------------------------------------------- ESS


def test_ess_of_a_normal_prior_in_closed_form():
    # a trial with n schools per arm has var(log IRR) = sigma^2 * 2 / n
    sigma = 0.4
    for n in (10, 50, 250):
        prior = MixturePrior.normal("p", -0.1, sigma * math.sqrt(2 / n))
        assert effective_sample_size(prior, unit_sd=sigma) == pytest.approx(n, rel=1e-12)


def test_a_prior_with_the_trials_own_se_is_worth_134_schools_per_arm():
    se = (math.log(1.166) - math.log(0.955)) / (2 * 1.96)
    assert abs(TRIAL_LOG_IRR_SE / se - 1) < 1e-4   # 1.96 vs the exact 1.95996
    n_harmonic = 2 / (1 / 136 + 1 / 132)
    assert abs(UNIT_SD / math.sqrt(se**2 * n_harmonic / 2) - 1) < 1e-4
    ess = effective_sample_size(MixturePrior.normal("trial", 0.055, se))
    assert ess == pytest.approx(134, abs=0.5)


def test_moment_ess_of_a_mixture_matches_its_variance():
    prior = MixturePrior("m", "d", "p", (0.5, 0.5), (-0.2, 0.2), (0.1, 0.1))
    variance = 0.1**2 + 0.2**2   # within + between components
    assert effective_sample_size(prior, method="moment") == pytest.approx(
        2 * UNIT_SD**2 / variance, rel=1e-12)
    for method in ("moment", "elir"):
        assert effective_sample_size(robustify(prior, 0.8), method=method) < \
            effective_sample_size(prior, method=method)


# --------------------------------------------------------------------- posterior as prior


def test_posterior_as_prior_recovers_a_normal():
    draws = np.random.default_rng(11).normal(-0.1, 0.05, size=(4, 2000))   # (chain, draw)
    prior = posterior_as_prior(draws, "trial-posterior", provenance="simulated")
    assert prior.name == "trial-posterior"
    assert prior.provenance == "simulated"
    assert len(prior.weights) == 1
    assert prior.means[0] == pytest.approx(-0.1, abs=0.003)
    assert prior.sds[0] == pytest.approx(0.05, abs=0.003)
    approx = prior.details["approximation"]
    assert approx["n_components"] == 1
    assert approx["n_draws"] == 8000
    assert approx["max_abs_diff"] < 0.005
    assert "median IRR 0.90" in prior.description


def test_posterior_as_prior_recovers_a_two_component_mixture():
    rng = np.random.default_rng(12)
    n = 20000
    first = rng.random(n) < 0.3
    draws = np.where(first, rng.normal(-0.5, 0.08, n), rng.normal(0.05, 0.12, n))
    prior = posterior_as_prior(draws, "bimodal", provenance="simulated")
    assert len(prior.weights) == 2
    assert prior.weights == pytest.approx((0.3, 0.7), abs=0.01)
    assert prior.means == pytest.approx((-0.5, 0.05), abs=0.01)
    assert prior.sds == pytest.approx((0.08, 0.12), abs=0.01)
    assert prior.details["approximation"]["max_abs_diff"] < APPROX_TOL


@pytest.mark.parametrize(("draws", "match"), [
    (np.zeros(10), "10 draws; at least 100"),
    (np.r_[np.zeros(200), np.nan], "1 draw"),
])
def test_posterior_as_prior_rejects_bad_draws(draws, match):
    with pytest.raises(SpecError, match=match):
        posterior_as_prior(draws, "x", provenance="p")


# --------------------------------------------------------------------------- ELIR ESS


def test_elir_equals_the_closed_form_for_a_normal_prior():
    from swisbayes.priors.robust import UNIT_SD

    prior = MixturePrior.normal("n", -0.1, 0.07)
    expected = 2 * UNIT_SD**2 / 0.07**2
    assert effective_sample_size(prior) == pytest.approx(expected, rel=1e-10)
    assert effective_sample_size(prior, method="moment") == pytest.approx(expected, rel=1e-12)
    split = MixturePrior("s", "d", "p", (0.3, 0.7), (-0.1, -0.1), (0.07, 0.07))
    assert effective_sample_size(split) == pytest.approx(expected, rel=1e-10)


def test_elir_of_robust_mixtures_is_bounded_and_monotone():
    # -(log p)'' = sum_k pi_k(theta) / s_k^2 - Var_pi(score), and E_p[pi_k] = w_k, so ELIR is at
    # most sum_k w_k / s_k^2 (times 2 sigma^2); the moment method collapses far below it.
    from swisbayes.priors.robust import UNIT_SD

    informative = MixturePrior.normal("n", -0.1, 0.1)
    previous = 0.0
    for weight in (0.2, 0.5, 0.8, 1.0):
        robust = robustify(informative, weight)
        bound = 2 * UNIT_SD**2 * sum(w / s**2 for w, s in zip(robust.weights, robust.sds,
                                                               strict=True))
        elir = effective_sample_size(robust)
        moment = effective_sample_size(robust, method="moment")
        assert elir <= bound * (1 + 1e-9)
        assert moment < elir if weight < 1 else moment == pytest.approx(elir, rel=1e-12)
        assert elir > previous
        previous = elir
    assert previous == pytest.approx(effective_sample_size(informative), rel=1e-10)


def _local_information(theta, w, m, s):
    """-(log p)'' of a normal mixture: sum_k pi_k / s_k^2 - Var_pi(component score)."""
    log_dens = np.log(w) - np.log(s) - 0.5 * ((theta - m) / s) ** 2
    pi = np.exp(log_dens - np.logaddexp.reduce(log_dens))
    score = -(theta - m) / s**2
    return float(np.sum(pi / s**2) - np.sum(pi * (score - np.sum(pi * score)) ** 2))


def _elir_by_quad(prior: MixturePrior) -> float:
    """Two-arm ELIR ESS by adaptive quadrature (QUADPACK) of p(theta) * -(log p)''(theta).

    The line is split at every component's mean and at multiples of its SD, so no component
    and no switch between components is stepped over; the outer pieces run to infinity.
    """
    from scipy import integrate

    w, m, s = (np.asarray(v, dtype=float) for v in (prior.weights, prior.means, prior.sds))
    steps = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 40.0])
    points = np.unique(np.concatenate([m[:, None] + s[:, None] * steps,
                                       m[:, None] - s[:, None] * steps]))
    edges = [-np.inf, *points, np.inf]

    def integrand(t):
        dens = float(np.sum(w * stats.norm.pdf(t, m, s)))
        return dens * _local_information(t, w, m, s) if dens > 0 else 0.0

    total = sum(integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-10, limit=200)[0]
                for a, b in itertools.pairwise(edges))
    return 2 * UNIT_SD**2 * total


def _mix(weights, means, sds):
    return MixturePrior("m", "d", "p", tuple(weights), tuple(means), tuple(sds))


ELIR_CASES = {
    "narrow normal": _mix([1.0], [-0.1], [0.02]),
    "wide normal": _mix([1.0], [0.0], [10.0]),
    "two narrow, overlapping": _mix([0.3, 0.7], [-0.1, 0.0], [0.05, 0.08]),
    "two narrow, separated": _mix([0.5, 0.5], [-1.0, 1.0], [0.1, 0.1]),
    "MAP robustified with the vague N(0, 10)": robustify(MixturePrior.normal("map", -0.1, 0.15)),
    # the case the fixed Gauss-Hermite rule got 7.7% low: a unit-information component
    "MAP 50:50 with unit information": _mix([0.5, 0.5], [-0.1, 0.0],
                                            [0.1, UNIT_SD * math.sqrt(2)]),
    "three-component MAP robustified": _mix([0.4, 0.3, 0.1, 0.2], [-0.2, 0.0, 0.3, 0.0],
                                            [0.05, 0.1, 0.2, 10.0]),
    "weight ratio 1e4, narrow rare": _mix([1e-4, 1 - 1e-4], [0.0, 0.0], [0.01, 1.0]),
    "scale ratio 1e4, wide rare": _mix([0.99, 0.01], [0.0, 0.0], [0.001, 10.0]),
    "scale ratio 1e4, narrow rare": _mix([0.01, 0.99], [0.0, 0.0], [0.001, 10.0]),
    "narrow far in a wide tail": _mix([1e-6, 1 - 1e-6], [0.3, 0.0], [1e-4, 1.0]),
    "narrow and offset wide": _mix([0.9, 0.1], [-0.3, 2.0], [0.05, 3.0]),
}


@pytest.mark.parametrize("case", list(ELIR_CASES))
def test_elir_matches_adaptive_quadrature(case):
    # Neuenschwander et al. (2020) define ELIR by this integral; 0.5% is the target, the
    # panel quadrature is within 1e-6 (it is at rounding level in practice).
    prior = ELIR_CASES[case]
    assert effective_sample_size(prior) == pytest.approx(_elir_by_quad(prior), rel=1e-6)


def test_elir_of_a_normal_is_its_closed_form_at_any_scale():
    for sd in (1e-4, 0.05, 0.3, 10.0, 1e3):
        prior = MixturePrior.normal("n", 0.2, sd)
        for convention, factor in (("two-arm", 2.0), ("single-arm", 1.0)):
            for method in ("elir", "moment"):
                assert effective_sample_size(prior, method=method, convention=convention) == \
                    pytest.approx(factor * UNIT_SD**2 / sd**2, rel=1e-12)


def _rbest_elir(prior: MixturePrior, sigma: float) -> float:
    """RBesT's ess.normMix(method = "elir", sigma = sigma) (R/mixess.R), step for step.

    sigma^2 times the sum over components k of w_k * int info(x) dnorm(x, m_k, s_k) dx over
    the component's 1e-6 and 1 - 1e-6 quantiles, each by QUADPACK with RBesT's tolerance
    (``.Machine$double.eps^0.25``).
    """
    from scipy import integrate

    w, m, s = (np.asarray(v, dtype=float) for v in (prior.weights, prior.means, prior.sds))
    tol = np.finfo(float).eps ** 0.25
    total = 0.0
    for wk, mk, sk in zip(w, m, s, strict=True):
        lo, hi = stats.norm.ppf([1e-6, 1 - 1e-6], mk, sk)
        total += wk * integrate.quad(
            lambda x, mk=mk, sk=sk: _local_information(x, w, m, s) * stats.norm.pdf(x, mk, sk),
            lo, hi, epsabs=tol, epsrel=tol, limit=1000)[0]
    return sigma**2 * total


@pytest.mark.parametrize("case", ["MAP robustified with the vague N(0, 10)",
                                  "MAP 50:50 with unit information",
                                  "three-component MAP robustified", "narrow and offset wide"])
def test_single_arm_convention_is_half_and_is_rbest_ess(case):
    prior = ELIR_CASES[case]
    for method in ("elir", "moment"):
        two = effective_sample_size(prior, method=method)
        assert effective_sample_size(prior, method=method, convention="single-arm") == \
            pytest.approx(two / 2, rel=1e-14)
    # RBesT: elir is sigma^2 E_p[-(log p)''], moment is sigma^2 / Var(theta)
    single = effective_sample_size(prior, convention="single-arm", unit_sd=0.7)
    assert single == pytest.approx(_rbest_elir(prior, 0.7), rel=1e-4)   # RBesT's tolerance
    assert effective_sample_size(prior, method="moment", convention="single-arm",
                                 unit_sd=0.7) == pytest.approx(0.7**2 / prior.sd**2, rel=1e-12)


def test_moment_ess_is_exact_for_a_narrow_prior_far_from_zero():
    # the mixture variance is within- plus between-component, with no cancellation
    prior = _mix([0.5, 0.5], [3.0, 3.0 + 2e-6], [1e-6, 1e-6])
    assert effective_sample_size(prior, method="moment") == pytest.approx(
        2 * UNIT_SD**2 / (1e-12 + 1e-12), rel=1e-9)


def test_unknown_ess_convention_is_rejected():
    with pytest.raises(SpecError, match="unknown ESS convention 'per-arm'; expected 'two-arm'"):
        effective_sample_size(MixturePrior.normal("n", 0, 1), convention="per-arm")


def test_unknown_ess_method_is_rejected():
    with pytest.raises(SpecError, match="unknown ESS method 'exact'; expected 'elir' or"):
        effective_sample_size(MixturePrior.normal("n", 0, 1), method="exact")


@pytest.mark.slow
def test_priors_cli_can_report_the_single_arm_ess():
    from click.testing import CliRunner

    from swisbayes.cli import cli

    def rows(*extra):
        result = CliRunner().invoke(cli, ["priors", "--json", *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {r["name"]: r for r in json.loads(result.output)}

    two, single = rows(), rows("--ess-convention", "single-arm")
    assert {r["ess_convention"] for r in two.values()} == {"two-arm"}
    assert {r["ess_convention"] for r in single.values()} == {"single-arm"}
    for name, row in two.items():
        assert single[name]["ess_schools_per_arm"] == pytest.approx(
            row["ess_schools_per_arm"] / 2, rel=1e-12)
