"""Pupil-level files: validation, exact reduction to sufficient statistics, and the simulator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from swisbayes._base.errors import DataError
from swisbayes.cli import cli
from swisbayes.data.io import read_school_data, validate
from swisbayes.data.pupils import normalise_pupil_frame, sufficient_statistics
from swisbayes.data.schema import MAX_BASELINE_DAYS, MAX_FOLLOWUP_DAYS, OUTCOMES
from swisbayes.data.simulate import Assumption, TrialDesign, simulate_pupils

SMALL = TrialDesign(n_la=4, n_swis=8, n_control=8, min_per_arm=1, max_per_arm=3,
                    total_pupils=4_000)
COUNTS = ["s47", "referrals", "s17", "care_entry"]
ALL_OUTCOMES = list(OUTCOMES)


@pytest.fixture(scope="module")
def _small() -> pd.DataFrame:
    return simulate_pupils(5, design=SMALL).frame


@pytest.fixture
def pupils(_small) -> pd.DataFrame:
    """A fresh copy of a small simulated pupil file (16 schools in 4 LAs, 4,000 pupils)."""
    return _small.copy()


@pytest.fixture(scope="module")
def swis_trial():
    return simulate_pupils(2024)


def _only(report, check: str):
    (issue,) = [i for i in report.issues if i.check == check]
    return issue


# --- validation ------------------------------------------------------------------------------


def test_clean_simulated_pupil_file_validates(pupils):
    report = validate(pupils, outcomes=ALL_OUTCOMES, covariates=["fsm_pct", "sen"])
    assert report.issues == [], str(report)
    assert validate(pupils).ok


def test_missing_column_and_unknown_covariate_are_named(pupils):
    report = validate(pupils.drop(columns=["la_id", "s47_baseline"]), outcomes=["s47"],
                      covariates=["fsm_pct", "income_pct"])
    missing = {i.column: i for i in report.errors if i.check == "missing_column"}
    assert set(missing) == {"la_id", "s47_baseline", "income_pct"}
    text = missing["income_pct"].describe("p.csv")
    assert "neither a column of the pupil file nor a school percentage" in text
    assert "no column 'income'" in text
    with pytest.raises(DataError, match="income_pct"):
        read_school_data(pupils, outcomes=["s47"], covariates=["income_pct"])


def test_missing_cells_give_rows(pupils):
    pupils = pupils.astype({"pupil_id": object, "s47": float})
    pupils.loc[[2, 9], "pupil_id"] = [np.nan, "  "]
    pupils.loc[5, "s47"] = np.nan
    report = validate(pupils, outcomes=["s47"])
    cells = {i.column: i.rows for i in report.errors if i.check == "missing_value"}
    assert cells == {"pupil_id": (3, 10), "s47": (6,)}


def test_duplicate_pupil_in_one_school(pupils):
    pupils.loc[7, "pupil_id"] = pupils.loc[3, "pupil_id"]
    issue = _only(validate(pupils), "duplicate_pupil")
    assert (issue.column, issue.rows) == ("pupil_id", (4, 8))
    assert issue.found == (pupils.loc[3, "pupil_id"],) * 2
    assert not [i for i in validate(pupils).issues if i.check == "pupil_in_two_schools"]


def test_pupil_in_two_schools_is_reported_as_such(pupils):
    last = len(pupils) - 1
    assert pupils.loc[last, "school_id"] != pupils.loc[0, "school_id"]
    pupils.loc[last, "pupil_id"] = pupils.loc[0, "pupil_id"]
    report = validate(pupils)
    issue = _only(report, "pupil_in_two_schools")
    assert (issue.column, issue.rows) == ("pupil_id", (1, last + 1))
    assert f"in schools '{pupils.loc[0, 'school_id']}', '{pupils.loc[last, 'school_id']}'" in (
        issue.detail)
    assert not [i for i in report.issues if i.check == "duplicate_pupil"]


def test_school_in_two_las_lists_the_odd_rows(pupils):
    pupils.loc[[10, 11], "la_id"] = "LA99"
    issue = _only(validate(pupils), "school_in_two_las")
    assert (issue.column, issue.rows, issue.found) == ("la_id", (11, 12), ("LA99", "LA99"))
    assert f"school '{pupils.loc[10, 'school_id']}' has pupils under 2 different LAs" in (
        issue.detail)


def test_school_in_two_arms(pupils):
    pupils = pupils.astype({"arm": object})
    pupils.loc[20, "arm"] = "swis" if pupils.loc[20, "arm"] == 0 else "control"
    issue = _only(validate(pupils), "school_in_two_arms")
    assert (issue.column, issue.rows) == ("arm", (21,))
    assert issue.found == (pupils.loc[20, "arm"],)


def test_bad_arm_code(pupils):
    pupils = pupils.astype({"arm": object})
    pupils.loc[[0, 1], "arm"] = ["treatment", "Control"]  # the second is a valid spelling
    issue = _only(validate(pupils), "bad_arm")
    assert (issue.column, issue.rows, issue.found) == ("arm", (1,), ("treatment",))


def test_negative_and_fractional_counts(pupils):
    pupils = pupils.astype({"s47": float})
    pupils.loc[30, "s47"] = -1
    pupils.loc[[31, 40], "s47"] = [1.5, 0.25]
    report = validate(pupils)
    assert _only(report, "negative_count").rows == (31,)
    fractional = _only(report, "non_integer_count")
    assert (fractional.column, fractional.rows, fractional.found) == ("s47", (32, 41),
                                                                     (1.5, 0.25))


def test_days_beyond_the_window(pupils):
    pupils.loc[40, "days_in_care"] = MAX_FOLLOWUP_DAYS + 1
    pupils.loc[41, "days_in_care"] = MAX_FOLLOWUP_DAYS  # on the bound: fine
    pupils.loc[42, "days_in_care_baseline"] = MAX_BASELINE_DAYS + 34
    issues = {i.column: i for i in validate(pupils).errors if i.check == "days_beyond_window"}
    assert issues["days_in_care"].rows == (41,)
    assert f"at most {MAX_FOLLOWUP_DAYS} days" in issues["days_in_care"].expected
    assert issues["days_in_care_baseline"].rows == (43,)
    assert issues["days_in_care_baseline"].found == (MAX_BASELINE_DAYS + 34,)


def test_sessions_missed_above_possible(pupils):
    pupils.loc[50, "sessions_missed"] = pupils.loc[50, "sessions_possible"] + 1
    issue = _only(validate(pupils), "missed_exceeds_possible")
    assert (issue.column, issue.rows) == ("sessions_missed", (51,))


def test_covariates_must_be_zero_or_one(pupils):
    pupils = pupils.astype({"sen": float})
    pupils.loc[60, "fsm"] = 2
    pupils.loc[61, "sen"] = 0.5
    found = {i.column: (i.rows, i.found) for i in validate(pupils).errors
             if i.check == "not_binary"}
    assert found == {"fsm": ((61,), (2,)), "sen": ((62,), (0.5,))}


def test_la_with_one_arm_is_a_warning(pupils):
    pupils.loc[pupils["la_id"] == "LA02", "arm"] = 1
    report = validate(pupils)
    assert report.ok
    warning = _only(report, "la_single_arm")
    assert len(warning.rows) == int((pupils["la_id"] == "LA02").sum())


def test_text_that_is_not_a_number(pupils, write_csv):
    pupils = pupils.astype({"s17": object})
    pupils.loc[8, "s17"] = "two"
    issue = _only(validate(write_csv(pupils, "pupils.csv")), "wrong_type")
    assert (issue.column, issue.rows, issue.found) == ("s17", (9,), ("two",))


def test_pupils_column_in_a_pupil_file_is_ambiguous(pupils):
    (issue,) = validate(pupils.assign(pupils=1)).errors
    assert issue.check == "pupil_level"
    assert "both 'pupil_id'" in issue.detail


def test_every_problem_at_once(pupils, write_csv):
    pupils = pupils.astype({"arm": object})
    pupils.loc[0, "arm"] = "maybe"
    pupils.loc[7, "pupil_id"] = pupils.loc[3, "pupil_id"]
    pupils.loc[9, "fsm"] = 3
    path = write_csv(pupils, "pupils.csv")
    with pytest.raises(DataError) as info:
        read_school_data(path, outcomes=["s47"])
    assert {i.check for i in info.value.report.errors} == {"bad_arm", "duplicate_pupil",
                                                           "not_binary"}
    assert str(info.value).startswith(f"3 error(s), 0 warning(s) in {path}")


def test_empty_pupil_file(pupils):
    (issue,) = validate(pupils.iloc[:0]).errors
    assert issue.check == "empty"


# --- reduction -------------------------------------------------------------------------------


def test_schools_table_is_the_direct_groupby_sum(pupils):
    data = read_school_data(pupils, outcomes=ALL_OUTCOMES, covariates=["fsm_pct"])
    by_school = pupils.groupby("school_id")
    sums = [c for o in ALL_OUTCOMES for c in OUTCOMES[o].columns]
    expected = by_school[sums].sum().assign(pupils=by_school.size())
    schools = data.frame.set_index("school_id")
    pd.testing.assert_frame_equal(schools[[*sums, "pupils"]], expected, check_names=False)
    np.testing.assert_allclose(schools["fsm_pct"], 100 * by_school["fsm"].mean())
    assert (schools["la_id"] == by_school["la_id"].first()).all()
    assert list(data.frame.columns[:4]) == ["school_id", "la_id", "arm", "pupils"]
    assert list(data.frame["school_id"]) == sorted(data.frame["school_id"])


def test_schools_table_is_a_valid_school_file(swis_trial):
    data = read_school_data(swis_trial.frame)
    assert validate(data.frame, outcomes=ALL_OUTCOMES, covariates=["fsm_pct"]).ok
    assert data.frame.groupby("arm").size().to_dict() == {0: 132, 1: 136}
    assert int(data.frame["pupils"].sum()) == 278_858


def test_cells_are_exact_and_few(swis_trial):
    frame = swis_trial.frame
    data = read_school_data(frame, outcomes=COUNTS, covariates=["fsm", "sen", "fsm_pct"])
    cells, schools = data.cells, data.frame.set_index("school_id")
    keys = ["fsm", "sen", *(f"{o}_baseline" for o in COUNTS)]
    assert list(cells.columns) == ["school_id", "la_id", "arm", "pupils", *keys, *COUNTS,
                                   "fsm_pct"]
    per_school = cells.groupby("school_id")
    pd.testing.assert_frame_equal(per_school[["pupils", *COUNTS]].sum(),
                                  schools[["pupils", *COUNTS]], check_names=False)
    # every pupil of a cell shares its baseline, so pupils x baseline sums to the school total
    for outcome in COUNTS:
        base = f"{outcome}_baseline"
        total = (cells["pupils"] * cells[base]).groupby(cells["school_id"]).sum()
        pd.testing.assert_series_equal(total, schools[base], check_names=False)
    assert not cells.duplicated(["school_id", *keys]).any()
    assert cells.equals(cells.sort_values(["school_id", *keys], ignore_index=True))
    assert (cells["fsm_pct"] == schools.loc[cells["school_id"], "fsm_pct"].to_numpy()).all()
    assert len(cells) < len(frame) / 20
    assert data.n_rows == len(frame)
    assert data.level == "pupil"


def test_cells_for_one_outcome_key_on_covariates_and_its_baseline(pupils):
    data = read_school_data(pupils, outcomes=["s47"], covariates=["fsm"])
    assert list(data.cells.columns) == ["school_id", "la_id", "arm", "pupils", "fsm",
                                        "s47_baseline", "s47"]
    direct = (pupils.groupby(["school_id", "fsm", "s47_baseline"])
              .agg(pupils=("pupil_id", "size"), s47=("s47", "sum")).reset_index())
    pd.testing.assert_frame_equal(data.cells[direct.columns], direct, check_dtype=False)
    # a school covariate derived from a pupil column is the school's mean
    assert "fsm" in data.frame


def test_csv_and_parquet_give_identical_reductions_and_hash(pupils, tmp_path, write_csv):
    parquet = tmp_path / "pupils.parquet"
    pupils.to_parquet(parquet, index=False)
    a = read_school_data(write_csv(pupils, "pupils.csv"), outcomes=["s47"],
                         covariates=["fsm_pct", "sen"])
    b = read_school_data(parquet, outcomes=["s47"], covariates=["fsm_pct", "sen"])
    c = read_school_data(pupils, outcomes=["s47"], covariates=["fsm_pct", "sen"])
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.cells, b.cells)
    pd.testing.assert_frame_equal(a.cells, c.cells)
    assert a.content_sha256 == b.content_sha256 == c.content_sha256
    other = read_school_data(pupils, outcomes=["s47", "s17"], covariates=["fsm_pct", "sen"])
    assert other.content_sha256 == a.content_sha256  # the table's, whatever is analysed
    changed = pupils.assign(s17=pupils["s17"] + 1)  # a column the first read does not analyse
    assert read_school_data(changed, outcomes=["s47"], covariates=["fsm_pct", "sen"]
                            ).content_sha256 != a.content_sha256


def test_row_order_does_not_change_the_reduction(pupils):
    shuffled = pupils.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = read_school_data(pupils, outcomes=COUNTS, covariates=["fsm", "fsm_pct"])
    b = read_school_data(shuffled, outcomes=COUNTS, covariates=["fsm", "fsm_pct"])
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.cells, b.cells)


def test_input_frame_is_not_modified(pupils):
    before = pupils.copy(deep=True)
    read_school_data(pupils, outcomes=["s47"], covariates=["fsm_pct"])
    pd.testing.assert_frame_equal(pupils, before)


def test_school_file_keeps_its_behaviour(example):
    data = read_school_data(example, outcomes=["s47"], covariates=["fsm_pct"])
    assert (data.level, data.cells, data.n_rows) == ("school", None, len(example))


def test_pupil_data_is_reduced_again_for_other_outcomes_and_covariates(pupils):
    everything = read_school_data(pupils)
    again = read_school_data(everything, outcomes=["s47"], covariates=["fsm_pct"])
    direct = read_school_data(pupils, outcomes=["s47"], covariates=["fsm_pct"])
    pd.testing.assert_frame_equal(again.cells, direct.cells)
    pd.testing.assert_frame_equal(again.frame, direct.frame)
    assert again.content_sha256 == direct.content_sha256
    narrow = read_school_data(pupils, outcomes=["s47"])
    with pytest.raises(DataError, match=r"\['s17'\] were not checked"):
        read_school_data(narrow, outcomes=["s17"])


def test_sufficient_statistics_rejects_an_unknown_covariate(pupils):
    typed = normalise_pupil_frame(pupils, outcomes=["s47"])
    with pytest.raises(DataError, match="covariate 'ses' is neither"):
        sufficient_statistics(typed, outcomes=["s47"], covariates=["ses"])


def test_300k_pupil_rows_are_simulated_validated_and_reduced():
    # How long this takes is a benchmark, not a test: benchmarks/bench_fast_paths.py times the
    # simulation and the validation + reduction against reading the same rows from a CSV.
    frame = simulate_pupils(7, design=TrialDesign(total_pupils=300_000)).frame
    assert (len(frame), frame["school_id"].nunique(), frame["la_id"].nunique()) == (300_000, 268,
                                                                                      21)
    data = read_school_data(frame, outcomes=COUNTS, covariates=["fsm", "sen", "fsm_pct"])
    assert data.n_rows == 300_000
    assert int(data.cells["pupils"].sum()) == int(data.frame["pupils"].sum()) == 300_000
    assert (data.cells[COUNTS].sum() == frame[COUNTS].sum()).all()


# --- simulator -------------------------------------------------------------------------------


def test_swis_size_pupil_simulation(swis_trial):
    frame = swis_trial.frame
    assert len(frame) == 278_858
    assert frame["school_id"].nunique() == 268
    assert frame["la_id"].nunique() == 21
    assert frame["pupil_id"].is_unique
    assert (frame.groupby("school_id")["arm"].nunique() == 1).all()
    assert swis_trial.metadata == {"level": "pupil"}


def test_small_designs():
    frame = simulate_pupils(1, design=TrialDesign(total_pupils=20_000)).frame
    assert (len(frame), frame["school_id"].nunique(), frame["la_id"].nunique()) == (20_000, 268,
                                                                                     21)
    small = simulate_pupils(1, design=SMALL).frame
    assert (len(small), small["school_id"].nunique(), small["la_id"].nunique()) == (4_000, 16, 4)
    with pytest.raises(ValueError, match="min_per_arm"):
        TrialDesign(min_per_arm=0)
    with pytest.raises(ValueError, match="fewer than the 268 schools"):
        TrialDesign(total_pupils=100)


def test_same_seed_same_pupils():
    a = simulate_pupils(11, design=SMALL).frame
    b = simulate_pupils(11, design=SMALL).frame
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_pupils(12, design=SMALL).frame)


def test_simulated_values_respect_the_schema(swis_trial):
    frame = swis_trial.frame
    assert set(np.unique(frame[["fsm", "sen", "baseline_cin"]])) == {0, 1}
    assert ((frame["days_in_care"] > 0) <= (frame["care_entry"] > 0)).all()
    assert ((frame["days_in_care_baseline"] > 0) <= (frame["care_entry_baseline"] > 0)).all()
    assert frame["days_in_care"].max() <= round(365 * swis_trial.design.followup_years)
    assert frame["days_in_care_baseline"].max() < MAX_BASELINE_DAYS
    assert (frame["sessions_missed"] <= frame["sessions_possible"]).all()


def test_pupil_covariates_and_baseline_raise_the_follow_up_rate(swis_trial):
    frame, truth = swis_trial.frame, swis_trial.truth
    coefficients = truth["pupil_log_rate_coefficients"]
    referrals = frame[frame["arm"] == 0]
    by_fsm = referrals.groupby("fsm")["referrals"].mean()
    # crude, so only roughly the true coefficient (schools' FSM shares vary)
    assert np.log(by_fsm[1] / by_fsm[0]) == pytest.approx(coefficients["fsm"], abs=0.15)
    had = referrals.groupby(referrals["referrals_baseline"] > 0)["referrals"].mean()
    assert had[True] > 2 * had[False]


def test_persistent_school_rates_make_pupil_baselines_uninformative():
    # The scenario of tests/test_pupil_fit.py: schools' rates persist from the baseline year to
    # the follow-up, and a pupil's own baseline, FSM and SEN leave its follow-up rate alone.
    zero = Assumption(0.0, "test", "test")
    trial = simulate_pupils(6, irr={"referrals": 0.8}, assumptions={
        "pupil_baseline_log_rate": zero, "pupil_fsm_log_rate": zero, "pupil_sen_log_rate": zero,
        "persistent_school_log_rate_sd": Assumption(0.5, "test", "test")})
    frame = trial.frame
    assert trial.truth["persistent_school_log_rate_sd"] == 0.5
    schools = frame.groupby("school_id")[["referrals_baseline", "referrals"]].mean()
    correlation = np.corrcoef(np.log(schools["referrals_baseline"] + 0.01),
                              np.log(schools["referrals"] + 0.01))[0, 1]
    assert correlation > 0.5  # the school's baseline rate predicts its follow-up rate
    # within schools, pupils with and without baseline events have the same follow-up rate:
    # compare each pupil's follow-up with its school's mean (the school effect cancels)
    relative = frame["referrals"] / frame.groupby("school_id")["referrals"].transform("mean")
    had = relative.groupby(frame["referrals_baseline"] > 0).mean()
    assert had[True] == pytest.approx(had[False], rel=0.1)
    default = simulate_pupils(6, irr={"referrals": 0.8}).frame
    had = (default["referrals"] / default.groupby("school_id")["referrals"].transform("mean")
           ).groupby(default["referrals_baseline"] > 0).mean()
    assert had[True] > 2 * had[False]  # by default a pupil's own baseline carries its history


def test_true_irr_shows_in_the_pupil_counts():
    trial = simulate_pupils(4, irr={"referrals": 0.6})
    frame = trial.frame
    rate = frame.groupby("arm")["referrals"].sum() / frame.groupby("arm").size()
    assert trial.truth["irr"]["referrals"] == 0.6
    assert rate[1] / rate[0] == pytest.approx(0.6, rel=0.2)


def test_pupil_trial_to_file_with_sidecar(tmp_path):
    trial = simulate_pupils(3, design=SMALL, irr={"s47": 0.8})
    path = trial.to_file(tmp_path / "pupils.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), trial.frame)
    sidecar = json.loads((tmp_path / "pupils.parquet.json").read_text())
    assert sidecar["level"] == "pupil"
    assert sidecar["truth"]["irr"]["s47"] == 0.8
    assert sidecar["assumptions"]["pupil_fsm_log_rate"]["source"] == "assumption"
    assert "nb_dispersion" not in sidecar["assumptions"]  # only what the pupil model uses
    with pytest.raises(ValueError, match="unknown name"):
        simulate_pupils(1, design=SMALL, assumptions={"nonsense": Assumption(1.0, "x", "y")})


def test_cli_simulates_and_validates_pupil_files(tmp_path):
    out = tmp_path / "pupils.csv"
    result = CliRunner().invoke(cli, ["simulate", "--seed", "2", "--pupils", "--total-pupils",
                                      "20000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "20,000 pupils in 268 schools" in result.output
    assert len(pd.read_csv(out)) == 20_000
    checked = CliRunner().invoke(cli, ["validate", str(out), "--outcome", "s47", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["ok"] is True
    bad = CliRunner().invoke(cli, ["simulate", "--seed", "2", "--total-pupils", "10", "--out",
                                   str(out)])
    assert bad.exit_code == 2
