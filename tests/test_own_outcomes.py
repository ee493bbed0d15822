"""Another trial's outcomes are data: a spec's [outcome_schema] table declares one, no code does.

The example is the bundled synthetic "other trial" (``load_example("other_trial")``: exclusions
with a baseline, true IRR 0.80; police contacts without one, true IRR 0.90) and its specs in
``models/examples/other_trial/``.
"""

from __future__ import annotations

import json
import pickle

import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes import DataError, SpecError
from swisbayes.cli import cli
from swisbayes.data import schema
from swisbayes.data.io import read_school_data, validate
from swisbayes.data.simulate import CountOutcome, TrialDesign, simulate_counts
from swisbayes.inference.fitting import FitResult
from swisbayes.spec.analysis import load_spec

from .conftest import ROOT, clearly_outside

EXAMPLE_DIR = ROOT / "models" / "examples" / "other_trial"
EXCLUSIONS = EXAMPLE_DIR / "exclusions.toml"
POLICE = EXAMPLE_DIR / "police_contacts.toml"
EXAMPLE_CSV = ROOT / "swisbayes" / "data" / "files" / "other_trial_example.csv"

DECLARATION = """
name = "{name}"
outcome = "{outcome}"
followup_years = 1.0

[outcome_schema]
label = "{label}"
kind = "{kind}"
followup = "{followup}"
{extra}
"""


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with only the built-in outcomes known, and leaves no declaration."""
    monkeypatch.setattr(schema, "_DECLARED", {})


def _spec(tmp_path, *, name="excl", outcome="exclusions", label="Fixed-term exclusions",
          kind="count", followup="exclusions", extra='baseline = "exclusions_baseline"',
          tail=""):
    path = tmp_path / f"{name}.toml"
    path.write_text(DECLARATION.format(name=name, outcome=outcome, label=label, kind=kind,
                                       followup=followup, extra=extra) + tail)
    return path


def test_the_example_data_are_regenerated_exactly_from_their_sidecar():
    bundled = swisbayes.load_example("other_trial")
    meta = bundled.attrs["swisbayes"]
    outcomes = {n: CountOutcome(**o) for n, o in meta["outcomes"].items()}
    again = simulate_counts(meta["seed"], outcomes, design=TrialDesign(**meta["design"]),
                            la_prefix=meta["la_prefix"]).frame
    assert list(bundled.columns) == ["school_id", "la_id", "arm", "pupils", "fsm_pct",
                                     "exclusions_baseline", "exclusions", "police_contacts"]
    assert (len(bundled), bundled["la_id"].nunique()) == (120, 12)
    assert meta["truth"]["irr"] == {"exclusions": 0.8, "police_contacts": 0.9}
    assert (again.astype(str).to_numpy() == bundled.astype(str).to_numpy()).all()
    assert swisbayes.load_example().shape[0] == 268  # the default is still SWIS's


def test_an_unknown_example_name_lists_the_bundled_ones():
    with pytest.raises(DataError, match="no bundled dataset named 'other'; expected one of "
                                        "'swis', 'other_trial'"):
        swisbayes.load_example("other")


def test_a_declared_outcome_is_known_read_and_checked_like_a_built_in_one():
    with pytest.raises(KeyError, match="outcome_schema"):
        schema.outcome_schema("exclusions")  # nothing declared yet
    spec = load_spec("examples/other_trial/exclusions")  # a shipped example, by name
    declared = schema.outcome_schema("exclusions")
    assert declared == schema.OutcomeSchema(
        "exclusions", "Fixed-term exclusions", "count", "exclusions", "exclusions_baseline",
        unit="exclusions")
    assert spec.outcome_schema.schema("exclusions") == declared
    assert list(schema.known_outcomes())[-1] == "exclusions"
    assert "exclusions" not in schema.OUTCOMES  # the built-in table is unchanged

    frame = swisbayes.load_example("other_trial")
    data = read_school_data(frame, outcomes=["exclusions"], covariates=["fsm_pct"])
    assert data.frame["exclusions"].dtype == "int64"
    assert data.frame["exclusions_baseline"].sum() == frame["exclusions_baseline"].sum()

    bad = frame.assign(exclusions=frame["exclusions"].astype(object))
    bad.loc[4, "exclusions"] = -2
    bad = bad.drop(columns="exclusions_baseline")
    report = validate(bad)  # no outcome named: every known outcome present in the table
    found = {(i.check, i.column) for i in report.errors}
    assert found == {("negative_count", "exclusions"), ("missing_column", "exclusions_baseline")}
    with pytest.raises(DataError, match=r"column 'exclusions', row 5: found -2"):
        read_school_data(bad, outcomes=["exclusions"])


def test_an_outcome_without_a_baseline_is_not_adjusted_for_one(tmp_path):
    spec = load_spec(POLICE)
    assert schema.outcome_schema("police_contacts").baseline is None
    assert spec.adjustment.baseline is False
    left_out = load_spec(_spec(tmp_path, name="p", outcome="incidents", followup="incidents",
                               extra=""))
    assert left_out.adjustment.baseline is False  # the default follows the declaration
    with pytest.raises(SpecError, match=r"adjustment: .*baseline column, and \[outcome_schema\] "
                                        r"declares none"):
        load_spec(_spec(tmp_path, name="q", outcome="other", followup="other", extra="",
                        tail="\n[adjustment]\nbaseline = true\n"))


def test_declaring_again_identically_changes_nothing(tmp_path):
    first = load_spec(EXCLUSIONS)
    again = load_spec(_spec(tmp_path, name="again", label="Fixed-term exclusions",
                            extra='baseline = "exclusions_baseline"\nunit = "exclusions"'))
    assert again.outcome_schema == first.outcome_schema
    assert schema.register_outcome(schema.outcome_schema("exclusions")) == \
        schema.outcome_schema("exclusions")
    assert len(schema._DECLARED) == 1


def test_a_conflicting_declaration_names_both_declarations_and_the_field(tmp_path):
    load_spec(EXCLUSIONS)
    before = dict(schema._DECLARED)
    with pytest.raises(SpecError) as info:
        load_spec(_spec(tmp_path, name="other_excl", followup="excl",
                        extra='baseline = "exclusions_baseline"\nunit = "exclusions"'))
    message = str(info.value)
    assert ("outcome: Value error, outcome 'exclusions' is declared differently by spec "
            "'exclusions' and by spec 'other_excl': followup 'exclusions' vs 'excl'; expected "
            "one declaration per outcome name") in message
    assert before == schema._DECLARED  # a rejected spec declares nothing


def test_a_built_in_outcome_cannot_be_redefined(tmp_path):
    with pytest.raises(SpecError, match=r"outcome 's47' is declared differently by the built-in "
                                        r"outcome and by spec 's47_again': label "
                                        r"'Section 47 child-protection enquiries' vs 'S47'"):
        load_spec(_spec(tmp_path, name="s47_again", outcome="s47", label="S47", followup="s47",
                        extra='baseline = "s47_baseline"\nunit = "enquiries"'))
    with pytest.raises(SpecError, match="declared differently by the built-in outcome"):
        schema.register_outcome(schema.OutcomeSchema("attendance", "Absence", "count",
                                                     "sessions_missed", None))
    same = schema.OUTCOMES["s47"]
    assert schema.register_outcome(same) is same  # exactly as built in: accepted, not added
    assert schema._DECLARED == {}


def test_an_undeclared_unknown_outcome_says_how_to_declare_one(tmp_path):
    path = tmp_path / "unknown.toml"
    path.write_text('name = "x"\noutcome = "exclusions"\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "outcome: Value error, unknown outcome 'exclusions'; expected one of s47," in message
    assert ("declare it in its spec with an [outcome_schema] table: label, kind (count, days or "
            "sessions), followup (its column), and optionally baseline, denominator and unit"
            ) in message
    with pytest.raises(DataError, match=r"unknown outcome\(s\) \['exclusions'\]; known "
                                        r"outcomes: s47, .*\[outcome_schema\] table"):
        validate(swisbayes.load_example("other_trial"), outcomes=["exclusions"])


@pytest.mark.parametrize(("kind", "followup", "extra", "expected"), [
    ("rate", "exclusions", "", r"outcome_schema.kind: Input should be 'count', 'days' or "
                               r"'sessions'"),
    ("count", "pupils", "", r"outcome_schema: Value error, column\(s\) \['pupils'\] are design "
                            r"columns of every trial file"),
    ("count", "exclusions", 'baseline = "exclusions"',
     "followup, baseline and denominator name the same column"),
    ("sessions", "missed", "", "a 'sessions' outcome needs a denominator column"),
    ("count", "exclusions", 'colour = "red"',
     "unknown key 'colour' in outcome_schema; allowed keys: label, kind, followup, baseline, "
     "denominator, unit"),
])
def test_a_bad_declaration_is_a_spec_error_naming_the_field(tmp_path, kind, followup, extra,
                                                           expected):
    with pytest.raises(SpecError, match=expected) as info:
        load_spec(_spec(tmp_path, kind=kind, followup=followup, extra=extra))
    assert "unknown outcome" not in str(info.value)  # one problem, said once
    assert schema._DECLARED == {}


def test_a_spec_carries_its_declaration_into_other_processes(tmp_path):
    spec = load_spec(EXCLUSIONS)
    # a spec of the same outcome that does not declare it gets the declaration filled in
    path = tmp_path / "poisson.toml"
    path.write_text('name = "poisson"\noutcome = "exclusions"\nfamily = "poisson"\n')
    undeclared = load_spec(path)
    assert undeclared.outcome_schema == spec.outcome_schema
    sent = pickle.dumps(spec)
    as_json = spec.to_json()
    schema._DECLARED.clear()  # a fresh process: only the built-in outcomes
    assert pickle.loads(sent) == spec
    assert schema.outcome_schema("exclusions").label == "Fixed-term exclusions"
    schema._DECLARED.clear()
    assert type(spec).model_validate_json(as_json) == spec
    assert schema.outcome_schema("exclusions").label == "Fixed-term exclusions"


def test_validate_checks_a_declared_outcome_through_its_spec(tmp_path):
    bad = swisbayes.load_example("other_trial").drop(columns="police_contacts")
    path = tmp_path / "other.csv"
    bad.to_csv(path, index=False)
    runner = CliRunner()
    done = runner.invoke(cli, ["validate", str(EXAMPLE_CSV), "--spec", str(EXCLUSIONS),
                               "--spec", str(POLICE)])
    assert done.exit_code == 0, done.output
    assert "no problems found" in done.output
    done = runner.invoke(cli, ["validate", str(path), "--spec", str(EXCLUSIONS), "--spec",
                               str(POLICE)])
    assert done.exit_code == 1
    assert "column 'police_contacts': required column is absent" in done.output
    schema._DECLARED.clear()  # a new command: --outcome alone cannot name a declared outcome
    done = runner.invoke(cli, ["validate", str(EXAMPLE_CSV), "--outcome", "police_contacts"])
    assert done.exit_code == 2
    assert "check a declared outcome with --spec SPEC" in done.output


@pytest.mark.slow
def test_a_declared_outcome_fits_from_the_command_line_and_recovers_its_truth(tmp_path):
    truth = swisbayes.load_example("other_trial").attrs["swisbayes"]["truth"]["irr"]
    # the spec's own draws: a gate on fewer would pass or fail by the seed's luck
    done = CliRunner().invoke(cli, ["fit", str(EXCLUSIONS), "--data", str(EXAMPLE_CSV), "--json",
                                    "--out", str(tmp_path)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    row = json.loads(done.output)
    assert (row["analysis"], row["outcome"]) == ("exclusions", "exclusions")
    assert row["diagnostics"]["ok"], row["diagnostics"]["reasons"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exclusions.json", "exclusions.nc"]

    schema._DECLARED.clear()  # a saved fit declares its outcome again when it is read
    fit = FitResult.from_netcdf(tmp_path / "exclusions.nc")
    assert schema.outcome_schema("exclusions").baseline == "exclusions_baseline"
    assert fit.decision.effect.ci == pytest.approx(tuple(row["irr_ci95"]))
    # the simulated IRR is the model's exp(beta): the typical district's effect
    assert not clearly_outside(fit.posterior["irr"].to_numpy(), fit.decision.typical_la.ci,
                               truth["exclusions"])
    assert abs(fit.decision.typical_la.median - truth["exclusions"]) < 0.1


@pytest.mark.slow
def test_an_outcome_without_a_baseline_fits_and_answers_another_prior():
    truth = swisbayes.load_example("other_trial").attrs["swisbayes"]["truth"]["irr"]
    spec = load_spec(POLICE)  # its own draws: the gate is not a matter of the seed's luck
    fit = swisbayes.Analysis(spec, swisbayes.load_example("other_trial")).fit()
    assert fit.ok, fit.diagnostics.reasons
    assert "baseline_log_rate" not in fit.posterior.coords.get("covariate", [])
    assert not clearly_outside(fit.posterior["irr"].to_numpy(), fit.decision.typical_la.ci,
                               truth["police_contacts"])
    sceptical = fit.under("sceptical")
    assert sceptical.decision.effect.median > fit.decision.effect.median  # pulled towards 1


def test_a_study_of_a_declared_outcome_is_refused_before_any_trial(tmp_path):
    from swisbayes.workflows.study import run_study

    with pytest.raises(SpecError, match=r"exclusions: the study simulates SWIS-shaped trials"):
        run_study(load_spec(EXCLUSIONS), [1.0], 2, out=tmp_path / "study")
    assert not (tmp_path / "study").exists()
