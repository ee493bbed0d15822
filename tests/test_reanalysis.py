"""Summary-level re-analysis: exact conjugate posteriors checked against closed forms and MCMC."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import integrate, stats

from swisbayes._base.errors import SpecError
from swisbayes.cli import cli
from swisbayes.data.published import load_published
from swisbayes.data.schema import OUTCOMES
from swisbayes.evidence.reanalysis import reanalyse, summarise_mixture
from swisbayes.evidence.resolver import get_prior
from swisbayes.priors.conjugate import normal_likelihood_from_ci, posterior
from swisbayes.priors.library import PLANNED_IRR, MixturePrior, library_names

FIT_KEYS = {"outcome", "prior", "mcid", "irr_median", "irr_ci95", "ci_prob", "prob_any_reduction",
            "prob_meaningful_reduction", "prob_harm", "prob_rope"}
REANALYSIS_KEYS = FIT_KEYS | {"source", "estimate", "ci", "posterior"}
SOURCE = "https://sswr.confex.com/sswr/2025/webprogram/Paper57381.html"

NORMAL = MixturePrior.normal("normal", 0.0, 0.2)
MIXTURE = MixturePrior("two-component", "test mixture", "test", (0.7, 0.3),
                       (0.0, float(np.log(0.7))), (0.05, 0.15))
# A likelihood under which P(IRR < 0.9) is far from 0 and 1, so its Monte Carlo check has power.
USER_IRR, USER_CI = 0.9, (0.8, 1.01)


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# --- the published figures ------------------------------------------------------------------

def test_published_file_holds_only_the_primary_estimate():
    published = load_published()
    assert set(published) == set(OUTCOMES)
    s47 = published["s47"]
    assert (s47.estimate, s47.ci, s47.ci_level) == (1.055, (0.955, 1.166), 0.95)
    assert (s47.n_swis, s47.n_control) == (136, 132)
    assert s47.source == SOURCE
    assert "5.5% higher in the SWIS arm" in s47.quote
    assert "16.6% increase" in s47.quote
    for name, entry in published.items():
        assert entry.source.startswith("https://"), name
        assert entry.quote, name
        if name != "s47":
            assert entry.status == "not significant, no estimate published"
            assert (entry.estimate, entry.ci, entry.ci_level) == (None, None, None), name


def test_likelihood_from_the_published_ci():
    y, se = normal_likelihood_from_ci(1.055, 0.955, 1.166)
    assert y == pytest.approx(np.log(1.055), rel=1e-14)
    assert se == pytest.approx((np.log(1.166) - np.log(0.955)) / (2 * 1.959963984540054),
                               rel=1e-12)
    # A 90% interval of the same width implies a larger SE.
    _, se90 = normal_likelihood_from_ci(1.055, 0.955, 1.166, level=0.90)
    assert se90 == pytest.approx(se * stats.norm.ppf(0.975) / stats.norm.ppf(0.95), rel=1e-12)


# --- exact posteriors against closed forms ----------------------------------------------------

def test_single_normal_prior_gives_the_textbook_normal_normal_update():
    m0, s0, y, se = -0.1, 0.15, 0.05, 0.05
    post = posterior(MixturePrior.normal("p", m0, s0), y, se)
    mean = m0 + s0**2 / (s0**2 + se**2) * (y - m0)
    sd = s0 * se / np.sqrt(s0**2 + se**2)
    assert post.weights == (1.0,)
    assert post.means[0] == pytest.approx(mean, rel=1e-12)
    assert post.sds[0] == pytest.approx(sd, rel=1e-12)
    assert post.name == "p posterior"
    s = summarise_mixture(post, mcid=0.1)
    assert s.median == pytest.approx(np.exp(mean), rel=1e-9)
    z = stats.norm.ppf(0.975)
    assert s.ci == pytest.approx((np.exp(mean - z * sd), np.exp(mean + z * sd)), rel=1e-9)
    assert s.prob_any_reduction == pytest.approx(stats.norm.cdf(-mean / sd), rel=1e-12)
    assert s.prob_meaningful_reduction == pytest.approx(
        stats.norm.cdf((np.log(0.9) - mean) / sd), rel=1e-12)
    assert s.prob_harm == pytest.approx(1 - stats.norm.cdf(-mean / sd), rel=1e-12)
    rope = (stats.norm.cdf((np.log(1 / 0.9) - mean) / sd)
            - stats.norm.cdf((np.log(0.9) - mean) / sd))
    assert s.prob_rope == pytest.approx(rope, abs=1e-12)


@pytest.mark.parametrize("mcid", [0.03, 0.05, 0.1])
def test_rope_probability_of_a_mixture_is_its_exact_normal_cdf(mcid):
    y, se = normal_likelihood_from_ci(USER_IRR, *USER_CI)
    post = posterior(MIXTURE, y, se)
    assert len(post.weights) == 2
    lo, hi = np.log(1 - mcid), np.log(1 / (1 - mcid))
    rope = sum(w * (stats.norm.cdf((hi - m) / s) - stats.norm.cdf((lo - m) / s))
               for w, m, s in zip(post.weights, post.means, post.sds, strict=True))
    summary = summarise_mixture(post, mcid=mcid)
    assert summary.prob_rope == pytest.approx(rope, abs=1e-12)
    assert 0.05 < summary.prob_rope < 0.95  # far from 0 and 1, so the check has power
    # the ROPE and the meaningful reduction do not overlap: together at most everything
    assert summary.prob_rope + summary.prob_meaningful_reduction <= 1.0


def test_mixture_posterior_matches_numerical_integration():
    y, se = normal_likelihood_from_ci(USER_IRR, *USER_CI)
    post = posterior(MIXTURE, y, se)

    def unnormalised(x: float) -> float:
        return float(np.exp(MIXTURE.logpdf(x))) * stats.norm.pdf(y, x, se)

    total = integrate.quad(unnormalised, -2, 2, points=[y], epsabs=0, epsrel=1e-12)[0]
    for x in (-0.3, np.log(0.9), -0.05, 0.0, 0.1):
        cdf = integrate.quad(unnormalised, -2, x, epsabs=0, epsrel=1e-12)[0] / total
        assert float(post.cdf(x)) == pytest.approx(cdf, abs=1e-9)
    assert min(post.weights) > 0.05  # both components matter, so the weights are tested


def test_vague_prior_reproduces_the_published_estimate_and_ci():
    r = reanalyse(prior="vague")
    assert round(r.effect.median, 3) == 1.055
    assert [round(v, 3) for v in r.effect.ci] == [0.955, 1.166]
    assert r.source == SOURCE
    assert (r.estimate, r.ci) == (1.055, (0.955, 1.166))


def test_sceptical_pulls_towards_no_effect_and_enthusiastic_towards_the_planned_effect():
    vague, sceptical, enthusiastic = (reanalyse(prior=n)
                                      for n in ("vague", "sceptical", "enthusiastic"))
    assert 1.0 < sceptical.effect.median < vague.effect.median
    assert PLANNED_IRR < enthusiastic.effect.median < vague.effect.median
    assert enthusiastic.effect.prob_any_reduction > vague.effect.prob_any_reduction
    # the sceptical posterior median is the textbook shrinkage of the estimate towards 0
    (y, se), s0 = vague.likelihood, sceptical.prior.sds[0]
    assert np.log(sceptical.effect.median) == pytest.approx(y * s0**2 / (s0**2 + se**2),
                                                            rel=1e-8)


# --- exact posteriors against MCMC ------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("prior", [NORMAL, MIXTURE], ids=["normal", "mixture"])
def test_closed_form_posterior_matches_mcmc(prior):
    import arviz as az
    import pymc as pm

    y, se = normal_likelihood_from_ci(USER_IRR, *USER_CI)
    with pm.Model():
        log_irr = pm.NormalMixture("log_irr", w=np.array(prior.weights),
                                   mu=np.array(prior.means), sigma=np.array(prior.sds))
        pm.Normal("y", mu=log_irr, sigma=se, observed=y)
        idata = pm.sample(draws=4000, tune=1000, chains=2, random_seed=1, progressbar=False,
                          nuts_sampler="nutpie")
    draws = idata.posterior["log_irr"]
    exact = posterior(prior, y, se)
    below = (draws < np.log(0.9)).astype(float)
    checks = {
        "mean": (float(draws.mean()), exact.mean, float(az.mcse(draws, method="mean"))),
        "sd": (float(draws.std()), exact.sd, float(az.mcse(draws, method="sd"))),
        "P(IRR<0.9)": (float(below.mean()), exact.prob_irr_below(0.9),
                       float(az.mcse(below, method="mean"))),
    }
    for name, (mcmc, closed, mcse) in checks.items():
        assert 0 < mcse < 0.02, name
        assert abs(mcmc - closed) < 4 * mcse, f"{name}: MCMC {mcmc}, exact {closed}, MCSE {mcse}"


# --- errors ---------------------------------------------------------------------------------

def test_ci_not_containing_the_estimate_is_rejected():
    with pytest.raises(SpecError, match=r"1\.3 lies outside its confidence interval 0\.9 to 1\.2"):
        normal_likelihood_from_ci(1.3, 0.9, 1.2)
    with pytest.raises(SpecError, match="outside its confidence interval"):
        reanalyse(estimate=1.3, ci=(0.9, 1.2))
    with pytest.raises(SpecError, match=r"lower limit \(1\.2\) must be below its upper limit"):
        normal_likelihood_from_ci(1.0, 1.2, 0.9)
    with pytest.raises(SpecError, match=r"ci_low=-0\.9"):
        normal_likelihood_from_ci(1.0, -0.9, 1.2)


@pytest.mark.parametrize("se", [-0.1, 0.0, float("nan")])
def test_non_positive_standard_error_is_rejected(se):
    with pytest.raises(SpecError, match="standard error must be a positive finite number"):
        posterior(get_prior("vague"), 0.05, se)


def test_unknown_prior_name_lists_the_valid_names():
    with pytest.raises(SpecError, match="unknown prior 'scepticle'") as info:
        reanalyse(prior="scepticle")
    for name in library_names():
        assert name in str(info.value)


def test_outcome_without_a_published_estimate_is_rejected():
    with pytest.raises(SpecError, match="no estimate was published for outcome 'care_entry'"
                       ) as info:
        reanalyse(outcome="care_entry")
    assert "with a published estimate: s47" in str(info.value)
    with pytest.raises(SpecError, match="estimate was given without ci"):
        reanalyse(estimate=0.9)
    # the user's own figures for that outcome are accepted
    assert reanalyse(outcome="care_entry", estimate=0.9, ci=(0.8, 1.01)).source == "user-supplied"


# --- the command line -----------------------------------------------------------------------

def test_cli_json_has_the_fit_keys_and_matches_the_api():
    result = run("reanalyse", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == REANALYSIS_KEYS
    assert payload == json.loads(json.dumps(reanalyse().to_dict()))


@pytest.mark.slow  # 'all' includes the pilot-informed prior, whose meta-analysis is MCMC
def test_cli_all_priors_gives_one_object_per_library_prior():
    result = run("reanalyse", "--prior", "all", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert isinstance(payload, list)
    assert len(payload) == len(library_names())
    assert [p["prior"] for p in payload] == library_names()


def test_cli_user_estimate_with_a_normal_prior_matches_the_api():
    result = run("reanalyse", "--estimate", 0.9, "--ci", 0.8, 1.01, "--prior-normal", 0, 0.1,
                 "--json")
    assert result.exit_code == 0, result.output
    expected = reanalyse(estimate=0.9, ci=(0.8, 1.01),
                         prior=MixturePrior.normal("normal(0, 0.1)", 0.0, 0.1))
    assert json.loads(result.output) == json.loads(json.dumps(expected.to_dict()))
    assert json.loads(result.output)["prior"] == "normal(0, 0.1)"


def test_cli_table_and_errors():
    table = run("reanalyse", "--prior", "sceptical", "--prior", "enthusiastic")
    assert table.exit_code == 0, table.output
    rows = [line.split()[0] for line in table.output.splitlines()
            if line.startswith(("sceptical", "enthusiastic"))]
    assert rows == ["sceptical", "enthusiastic"]
    assert CliRunner().invoke(cli, ["reanalyse", "--estimate", "0.9"]).exit_code == 2
    assert CliRunner().invoke(cli, ["reanalyse", "--ci", "0.8", "1.01"]).exit_code == 2
    missing = CliRunner().invoke(cli, ["reanalyse", "--outcome", "s17"])
    assert missing.exit_code == 1
    assert "no estimate was published for outcome 's17'" in missing.output
