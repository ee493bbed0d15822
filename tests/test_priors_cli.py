"""The prior library through the command line and specs: listing, plots, posterior as prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.priors.library import library_names

from .conftest import PRIMARY_SPEC


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.slow
def test_priors_lists_every_library_prior_with_its_implications(tmp_path):
    result = run("priors", "--json", "--mcid", 0.15, "--plot", tmp_path / "priors.png")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert list(rows) == library_names()
    # Defining tail probabilities of the calibrated priors (planned IRR 0.85 = MCID 15% here).
    assert rows["sceptical"]["prob_meaningful_reduction"] == pytest.approx(0.05, abs=1e-9)
    assert rows["enthusiastic"]["prob_harm"] == pytest.approx(0.05, abs=1e-9)
    assert rows["sceptical"]["ess_schools_per_arm"] == pytest.approx(
        rows["enthusiastic"]["ess_schools_per_arm"])
    assert "assumption" in rows["pilot-informed"]["description"]
    assert (tmp_path / "priors.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_a_posterior_becomes_a_prior_that_reproduces_it(tmp_path):
    assert run("fit", PRIMARY_SPEC, "--out", tmp_path).exit_code == 0
    fitted = json.loads((tmp_path / "s47_primary.json").read_text())
    result = run("priors", "--from-posterior", tmp_path / "s47_primary.nc", "--name",
                 "swis-2023", "--json")
    assert result.exit_code == 0, result.output
    prior = json.loads(result.output)
    assert prior["name"] == "swis-2023"
    # The fit's median and interval are quantiles of its draws, known only to their Monte Carlo
    # error (about 0.002 for the median and 0.003 for the limits on the IRR scale): the prior
    # reproduces them within 4 MCSEs.
    import arviz as az

    from swisbayes.inference.fitting import FitResult

    # the prior is on the log IRR: the typical LA's effect, reported in the fit's typical_la
    typical = fitted["typical_la"]
    irr = FitResult.from_netcdf(tmp_path / "s47_primary.nc").idata["posterior"]["irr"].to_numpy()
    for q, got, want in ((0.5, prior["irr_median"], typical["irr_median"]),
                         (0.025, prior["irr_ci95"][0], typical["irr_ci95"][0]),
                         (0.975, prior["irr_ci95"][1], typical["irr_ci95"][1])):
        mcse = float(az.mcse(irr, method="quantile", prob=q))
        assert abs(got - want) < 4 * mcse, (q, got, want, mcse)
    assert "data content_sha256" in prior["provenance"]
    table = run("priors", "--from-posterior", tmp_path / "s47_primary.nc")
    assert "[priors.effect]" in table.output
    assert 'name = "s47_primary-posterior"' in table.output


@pytest.mark.slow
def test_pilot_informed_prior_in_a_spec_is_robust_and_says_its_numbers_are_assumed(tmp_path):
    text = PRIMARY_SPEC.read_text().replace(
        'name = "vague"', 'name = "pilot-informed"\npilots = "pilots.toml"\nrobust_weight = 0.5')
    (tmp_path / "pilots.toml").write_text(
        (PRIMARY_SPEC.parent / "pilots.toml").read_text())
    (tmp_path / "spec.toml").write_text(text)
    spec = swisbayes.load_spec(tmp_path / "spec.toml")
    with pytest.raises(swisbayes.SpecError, match="resolve it"):
        _ = spec.effect_prior  # a spec never starts the meta-analysis itself
    prior = swisbayes.resolve_prior(spec)
    assert prior.name == "pilot-informed"
    assert prior.weights[-1] == pytest.approx(0.5)        # the vague component
    assert (prior.means[-1], prior.sds[-1]) == (0.0, 10.0)
    assert "assumption" in prior.description
    assert prior.details["pilots"] == str(tmp_path / "pilots.toml")
    # An S17 analysis pools the S17 pilot only (Stockport).
    s17 = swisbayes.resolve_prior(spec.model_copy(update={"outcome": "s17"}))
    assert not np.allclose(s17.means[:-1], prior.means[: len(s17.means) - 1])


def test_pilot_informed_prior_needs_its_pilots_file(tmp_path):
    text = PRIMARY_SPEC.read_text().replace(
        'name = "vague"', 'name = "pilot-informed"\npilots = "absent.toml"')
    (tmp_path / "spec.toml").write_text(text)
    with pytest.raises(swisbayes.SpecError, match=r"absent\.toml: no such pilots file"):
        swisbayes.load_spec(tmp_path / "spec.toml")


@pytest.mark.slow
def test_a_days_in_care_posterior_is_refused_as_a_prior(tmp_path):
    spec = swisbayes.load_spec(PRIMARY_SPEC.parent / "days_in_care.toml")
    swisbayes.fit(spec.with_sampler(draws=100, tune=100),
                  swisbayes.load_example()).to_netcdf(tmp_path / "days.nc")
    result = run("priors", "--from-posterior", tmp_path / "days.nc")
    assert result.exit_code == 1
    assert "days_in_care analysis has no single log IRR" in result.output
