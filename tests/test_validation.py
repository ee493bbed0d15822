"""Each validation rule yields its own specific message; all problems are reported at once."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import swisbayes
from swisbayes._base.errors import DataError
from swisbayes.data.io import read_school_data, validate


def _checks(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for issue in report.issues:
        out.setdefault(issue.check, []).append(issue)
    return out


def test_bundled_data_is_valid(example):
    report = validate(example, outcomes=["s47", "referrals", "s17", "care_entry"])
    assert report.ok, str(report)


def test_missing_required_column_names_it_and_lists_found(example, write_csv):
    path = write_csv(example.drop(columns=["pupils"]))
    report = validate(path)
    (issue,) = _checks(report)["missing_column"]
    assert issue.column == "pupils"
    text = issue.describe(str(path))
    assert str(path) in text
    assert "columns found: school_id, la_id, arm," in text


def test_outcome_absent_from_the_file_is_required_only_when_analysed(example):
    frame = example.drop(columns=["s17", "s17_baseline"])
    assert validate(frame).ok
    report = validate(frame, outcomes=["s17"])
    assert [i.column for i in report.errors] == ["s17", "s17_baseline"]
    assert validate(frame, outcomes=["s47"]).ok


@pytest.mark.parametrize(("dropped", "missing", "role", "kept"), [
    ("s47", "s47", "follow-up", "baseline column 's47_baseline'"),
    ("s47_baseline", "s47_baseline", "baseline", "follow-up column 's47'"),
])
def test_outcome_with_one_of_its_columns_is_an_error_naming_the_other(example, write_csv,
                                                                      dropped, missing, role,
                                                                      kept):
    path = write_csv(example.drop(columns=[dropped]))
    (issue,) = validate(path).errors
    assert (issue.check, issue.column) == ("missing_column", missing)
    text = issue.describe(str(path))
    assert f"outcome 's47' has its {kept} but no {role} column '{missing}'" in text
    assert "none of the columns of 's47' (s47, s47_baseline)" in text
    # an analysis of another outcome does not need s47, and names it as today when asked
    assert validate(path, outcomes=["referrals"]).ok
    (asked,) = validate(path, outcomes=["s47"]).errors
    assert asked.detail.startswith("required column is absent")


def test_every_outcome_in_the_file_is_checked_as_if_analysed(example, write_csv):
    frame = example.astype({"s47_baseline": float, "days_in_care": object})
    frame.loc[2, "s47_baseline"] = np.nan
    frame.loc[[4, 5], "days_in_care"] = ["", "many"]
    path = write_csv(frame)
    found = {(i.check, i.column, i.rows) for i in validate(path).errors}
    assert found == {("missing_value", "s47_baseline", (3,)),
                     ("missing_value", "days_in_care", (5,)),
                     ("wrong_type", "days_in_care", (6,))}
    with pytest.raises(DataError, match=r"column 's47_baseline', row 3"):
        read_school_data(path)
    # as before, an analysis of one outcome reads only that outcome's columns
    assert read_school_data(path, outcomes=["referrals"]).report.ok


def test_attendance_needs_its_denominator_when_present(example):
    (issue,) = validate(example.drop(columns=["sessions_possible"])).errors
    assert issue.column == "sessions_possible"
    assert "no denominator column 'sessions_possible'" in issue.detail


def test_pupil_file_outcome_with_one_column_is_an_error(tmp_path):
    from swisbayes.data.simulate import TrialDesign, simulate_pupils

    pupils = simulate_pupils(3, design=TrialDesign(total_pupils=20_000)).frame
    assert validate(pupils).ok
    path = tmp_path / "pupils.parquet"
    pupils.drop(columns=["care_entry"]).to_parquet(path, index=False)
    (issue,) = validate(path).errors
    assert (issue.check, issue.column) == ("missing_column", "care_entry")
    assert "baseline column 'care_entry_baseline' but no follow-up column" in issue.detail
    assert validate(path, outcomes=["s47"]).ok


def test_data_read_without_outcomes_records_the_outcomes_checked(example):
    data = read_school_data(example)
    assert {"s47", "referrals", "attendance"} <= data.checked
    assert read_school_data(data, outcomes=["s47"]) is data


def test_wrong_type_names_row_and_value(example, write_csv):
    frame = example.astype({"s47": object})
    frame.loc[4, "s47"] = "twelve"
    report = validate(write_csv(frame))
    (issue,) = _checks(report)["wrong_type"]
    assert (issue.column, issue.rows, issue.found) == ("s47", (5,), ("twelve",))
    assert "expected a number" in issue.describe("f.csv")


def test_negative_and_non_integer_counts(example):
    frame = example.astype({"s47_baseline": float})
    frame.loc[0, "s47_baseline"] = -3
    frame.loc[[2, 9], "s47_baseline"] = [1.5, 2.25]
    checks = _checks(validate(frame))
    assert checks["negative_count"][0].rows == (1,)
    assert checks["negative_count"][0].found == (-3,)
    assert checks["non_integer_count"][0].rows == (3, 10)
    assert checks["non_integer_count"][0].found == (1.5, 2.25)


def test_zero_and_negative_exposure(example):
    frame = example.copy()
    frame.loc[[1, 7], "pupils"] = [0, -20]
    (issue,) = _checks(validate(frame))["nonpositive_exposure"]
    assert issue.rows == (2, 8)
    assert issue.found == (0, -20)
    assert "positive number of pupils" in issue.expected


def test_duplicate_school_and_school_in_two_las(example):
    frame = pd.concat([example, example.iloc[[3]]], ignore_index=True)  # same LA, twice
    other = example.iloc[[10]].copy()
    other["la_id"] = "LA99"
    frame = pd.concat([frame, other], ignore_index=True)
    checks = _checks(validate(frame))
    dup = checks["duplicate_school"][0]
    assert dup.found == (example.loc[3, "school_id"],)
    assert dup.rows == (4, len(example) + 1)
    two = checks["school_in_two_las"][0]
    assert set(two.found) == {example.loc[10, "la_id"], "LA99"}
    assert "listed under 2 different LAs" in two.describe("x")
    assert len(checks["duplicate_school"]) == 1  # the two-LA school is not double-reported


def test_bad_arm_values(example):
    frame = example.astype({"arm": object})
    frame.loc[0, "arm"] = "treatment"
    frame.loc[1, "arm"] = 2
    frame.loc[2, "arm"] = "SWIS"  # accepted, any case
    frame.loc[3, "arm"] = "Control"
    frame.loc[4, "arm"] = "Intervention"  # another trial's word for the treated arm
    (issue,) = _checks(validate(frame))["bad_arm"]
    assert issue.rows == (1, 2)
    assert issue.found == ("treatment", 2)
    assert "'control' or 'swis'" in issue.expected


def test_nan_in_required_column(example, write_csv):
    frame = example.astype({"la_id": object})
    frame.loc[[5, 6], "la_id"] = np.nan
    report = validate(write_csv(frame))
    (issue,) = _checks(report)["missing_value"]
    assert (issue.column, issue.rows) == ("la_id", (6, 7))


def test_empty_file_and_header_only(tmp_path, example):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        validate(empty)
    header_only = tmp_path / "header.csv"
    example.iloc[:0].to_csv(header_only, index=False)
    report = validate(header_only)
    assert [i.check for i in report.errors] == ["empty"]


def test_implausible_count_is_a_warning(example):
    frame = example.copy()
    frame.loc[0, "s47"] = int(frame.loc[0, "pupils"] * 2)
    report = validate(frame)
    assert report.ok
    (issue,) = report.warnings
    assert (issue.check, issue.column, issue.rows) == ("implausible_count", "s47", (1,))


def test_all_schools_in_one_arm_is_an_error_and_single_arm_la_a_warning(example):
    one_arm = example.assign(arm=1)
    (issue,) = validate(one_arm).errors
    assert issue.check == "single_arm"
    assert "nothing to compare" in issue.describe("x")
    frame = example.copy()
    frame.loc[frame["la_id"] == "LA03", "arm"] = 0
    report = validate(frame)
    assert report.ok
    (warn,) = [w for w in report.warnings if w.check == "la_single_arm"]
    assert "LA 'LA03' has schools in one arm only" in warn.describe("x")


def test_three_problems_reported_together(example, write_csv):
    frame = example.astype({"arm": object})
    frame.loc[0, "arm"] = "maybe"
    frame.loc[1, "pupils"] = 0
    frame.loc[2, "school_id"] = frame.loc[3, "school_id"]
    path = write_csv(frame)
    with pytest.raises(DataError) as info:
        read_school_data(path, outcomes=["s47"])
    checks = {i.check for i in info.value.report.errors}
    assert checks == {"bad_arm", "nonpositive_exposure", "duplicate_school"}
    message = str(info.value)
    assert message.startswith(f"3 error(s), 0 warning(s) in {path}")
    assert message.count(str(path)) == 4


def test_input_file_is_never_modified(example, write_csv):
    frame = example.astype({"arm": object})
    frame.loc[0, "arm"] = "swis"
    path = write_csv(frame)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    data = read_school_data(path, outcomes=["s47"], covariates=["fsm_pct"])
    assert data.frame.loc[0, "arm"] == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert frame.loc[0, "arm"] == "swis"  # the in-memory input is untouched too


def test_parquet_and_csv_give_the_same_data_hash(example, tmp_path, write_csv):
    parquet = tmp_path / "schools.parquet"
    example.to_parquet(parquet, index=False)
    a = read_school_data(write_csv(example), outcomes=["s47"])
    b = read_school_data(parquet, outcomes=["s47"])
    assert a.content_sha256 == b.content_sha256
    assert a.source != b.source


def test_unsupported_suffix_and_missing_file(tmp_path):
    sheet = tmp_path / "x.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'; expected \.csv"):
        validate(sheet)
    with pytest.raises(DataError, match="no such file"):
        validate(tmp_path / "absent.csv")


def test_pupil_level_file_is_recognised(example):
    frame = example.assign(pupil_id=range(len(example)))
    (issue,) = validate(frame).errors  # 'pupils' and 'pupil_id' together: which level?
    assert issue.check == "pupil_level"
    # without 'pupils' it is checked as a pupil file: per-pupil days beyond the window
    report = validate(frame.drop(columns=["pupils"]))
    assert "days_beyond_window" in {i.check for i in report.errors}
    assert "pupil_level" not in {i.check for i in report.errors}


def test_sessions_missed_above_possible(example):
    frame = example.copy()
    frame.loc[4, "sessions_missed"] = frame.loc[4, "sessions_possible"] + 1
    (issue,) = validate(frame).errors
    assert (issue.check, issue.rows) == ("missed_exceeds_possible", (5,))


def test_fsm_percentage_range(example):
    frame = example.copy()
    frame.loc[0, "fsm_pct"] = 140.0
    (issue,) = validate(frame, covariates=["fsm_pct"]).errors
    assert (issue.check, issue.found) == ("percent_out_of_range", (140,))


def test_load_example_is_synthetic_with_published_design():
    frame = swisbayes.load_example()
    meta = frame.attrs["swisbayes"]
    assert meta["synthetic"] is True
    assert frame.groupby("arm").size().to_dict() == {0: 132, 1: 136}
    assert int(frame["pupils"].sum()) == 278_858
    assert meta["truth"]["irr"]["s47"] == pytest.approx(1.055)


def test_infinite_numbers_are_errors_not_silent(example, write_csv):
    frame = example.astype({"pupils": object, "s47": object})
    frame.loc[2, "pupils"] = "inf"
    frame.loc[5, "s47"] = "-inf"
    checks = {i.check: i for i in validate(write_csv(frame), outcomes=["s47"]).errors}
    assert checks["non_finite"].rows in {(3,), (6,)}
    assert {(i.column, i.rows) for i in validate(write_csv(frame)).errors
            if i.check == "non_finite"} == {("pupils", (3,)), ("s47", (6,))}


def test_columns_of_outcomes_not_analysed_are_left_as_read(example):
    frame = example.astype({"s17": object})
    frame.loc[0, "s17"] = "n/a"
    data = read_school_data(frame, outcomes=["s47"])
    assert data.frame.loc[0, "s17"] == "n/a"
    with pytest.raises(DataError, match="column 's17', row 1"):
        read_school_data(data, outcomes=["s17"])


def test_unknown_outcome_is_named():
    with pytest.raises(DataError, match=r"unknown outcome\(s\) \['foo'\]; known outcomes: s47"):
        validate(swisbayes.load_example(), outcomes=["foo"])


def test_csv_header_spaces_and_byte_order_mark_are_ignored(example, tmp_path):
    path = tmp_path / "excel.csv"
    text = example.to_csv(index=False).replace("school_id,la_id", "school_id , la_id", 1)
    path.write_text(text, encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    assert validate(path).ok
    assert read_school_data(path, outcomes=["s47"]).frame["school_id"].iloc[0] == "S001"


def test_parquet_saved_with_the_ids_as_index_is_read_with_them_as_columns(example, tmp_path):
    path = tmp_path / "indexed.parquet"
    example.set_index(["school_id", "la_id"]).to_parquet(path)
    assert validate(path).ok


@pytest.mark.parametrize(("edit", "message"), [
    (lambda lines: [*lines[:-1], lines[-1][:12]], r"row 268 \(line 269\) has 4 fields; "
                                                  r"expected 18 .*\(is the file cut off\?\)"),
    (lambda lines: [*lines[:3], lines[3] + ",1", *lines[4:]], r"line 4 has 19 fields"),
    (lambda lines: [*lines[:3], '"S003,LA01', *lines[4:]],
     r"the quoted cell opened on line 4 is never closed"),
])
def test_csv_rows_must_have_the_fields_of_the_header(example, tmp_path, edit, message):
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(edit(example.to_csv(index=False).splitlines())) + "\n")
    with pytest.raises(DataError, match=message):
        validate(path)
