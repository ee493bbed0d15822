"""Every error of the public Python API for a bad argument is a swisbayes error (SpecError,
DataError, ...) with a message that names what was wrong: no raw pydantic ValidationError,
KeyError or ValueError escapes."""

from __future__ import annotations

import numpy as np
import pytest

import swisbayes as sb


@pytest.fixture(scope="module")
def spec():
    return sb.load_spec("s47_primary")


def _prior():
    return sb.MixturePrior.normal("p", 0.0, 0.1)


# (name, call(spec, example), words the message must contain)
CASES = [
    ("unknown spec name", lambda s, ex: sb.load_spec("no_such_spec"), ["no_such_spec"]),
    ("mistyped prior", lambda s, ex: s.with_prior("vaague"), ["vaague", "valid names"]),
    ("MCID above 1", lambda s, ex: s.with_mcid(1.5), ["mcid"]),
    ("family of another kind", lambda s, ex: s.with_family("beta_binomial"),
     ["beta_binomial", "negative_binomial"]),
    ("unknown family", lambda s, ex: s.with_family("gaussian"), ["gaussian"]),
    ("negative draws", lambda s, ex: s.with_sampler(draws=-1), ["draws"]),
    ("unknown library prior", lambda s, ex: sb.get_prior("vaague"), ["vaague"]),
    ("no data", lambda s, ex: sb.fit(s, None), ["no data given"]),
    ("missing file", lambda s, ex: sb.fit(s, "/nonexistent/trial.csv"), ["no such file"]),
    ("data of another type", lambda s, ex: sb.fit(s, 42), ["got int"]),
    ("spec of another type", lambda s, ex: sb.fit(42, ex), ["got int"]),
    ("missing outcome column", lambda s, ex: sb.fit(s, ex.drop(columns=["s47"])), ["'s47'"]),
    ("missing arm column", lambda s, ex: sb.Analysis(s, ex.drop(columns=["arm"])), ["'arm'"]),
    ("unknown outcome", lambda s, ex: sb.read_school_data(ex, outcomes=["s48"]), ["s48"]),
    ("unknown covariate", lambda s, ex: sb.read_school_data(ex, outcomes=["s47"],
                                                            covariates=["nope"]), ["nope"]),
    ("rule thresholds", lambda s, ex: sb.DecisionRule(invest=2), ["invest"]),
    ("probability above 1", lambda s, ex: sb.decide_verdict(None, 2.0, mcid=0.1,
                                                            outcome_label="x"),
     ["prob_meaningful"]),
    ("negative prior SD", lambda s, ex: sb.MixturePrior.normal("x", 0.0, -1.0), ["sd"]),
    ("missing economics file", lambda s, ex: sb.load_economics("/nonexistent/e.toml"),
     ["e.toml"]),
    ("missing grid file", lambda s, ex: sb.load_grid("/nonexistent/g.toml"), ["g.toml"]),
    ("missing pilots file", lambda s, ex: sb.load_pilots("/nonexistent/p.toml"), ["p.toml"]),
    ("re-analysis prior", lambda s, ex: sb.reanalyse(prior="vaague"), ["vaague"]),
    ("re-analysis outcome", lambda s, ex: sb.reanalyse(prior="vague", outcome="s48"), ["s48"]),
    ("published outcome", lambda s, ex: sb.published_estimate("s48"), ["s48"]),
    ("simulated outcome", lambda s, ex: sb.simulate_trial(1, irr={"s48": 0.9}), ["s48"]),
    ("simulated negative IRR", lambda s, ex: sb.simulate_trial(1, irr={"s47": -1.0}),
     ["positive"]),
    ("report spec directory", lambda s, ex: sb.make_report(data=ex, spec_dir="/nonexistent"),
     ["/nonexistent", "not a directory"]),
    ("report primary", lambda s, ex: sb.make_report(data=ex, primary="s74"),
     ["--primary s74", "s47_primary (s47)"]),
    ("report prior", lambda s, ex: sb.make_report(data=ex, priors=("vaague",)), ["vaague"]),
    ("grid file", lambda s, ex: sb.run_grid(None, "/nonexistent/g.toml", ex), ["g.toml"]),
    ("net benefit", lambda s, ex: sb.LinearNetBenefit(-1, 1, 1), ["value"]),
    ("robust weight", lambda s, ex: sb.robustify(_prior(), weight=2), ["weight"]),
    ("tipping target", lambda s, ex: sb.tipping_point((0.0, 0.1), sb.NormalCentreFamily(),
                                                      target=2, mcid=0.1), ["target"]),
    ("one draw", lambda s, ex: sb.likelihood_from_draws(np.array([1.0])), ["draw"]),
    ("trial sizes", lambda s, ex: sb.evsi(_prior(), sb.LinearNetBenefit(1, 1, 1), -5),
     ["n_per_arm"]),
]


@pytest.mark.parametrize(("name", "call", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_argument_raises_a_swisbayes_error_that_names_it(spec, example, name, call, words):
    with pytest.raises(sb.SwisbayesError) as info:
        call(spec, example)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), (name, message)
    assert "pydantic" not in message  # no raw validation error, no web address
