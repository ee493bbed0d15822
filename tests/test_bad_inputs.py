"""A corpus of bad inputs: every one is refused by the command that reads it, precisely.

Each case writes one bad file (school or pupil data as CSV or Parquet, an analysis spec, a
sensitivity grid, a pilots file or economic inputs), runs the command line on it and checks
that:

* the exit code is 1 for bad input (2 for a usage error);
* there is ONE message, naming the file and the row, column or field, what was found and what
  was expected;
* no Python traceback is printed;
* nothing is written to ``--out`` (every input is checked before any work is done).

Every command here fails before any MCMC, so the corpus runs in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import swisbayes
from swisbayes.cli import cli
from swisbayes.data.simulate import TrialDesign, simulate_pupils

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
SPEC = MODELS / "s47_primary.toml"
SMALL = TrialDesign(n_la=4, n_swis=8, n_control=8, min_per_arm=1, max_per_arm=3,
                    total_pupils=4_000)


@dataclass(frozen=True)
class Case:
    """One bad input.

    Parameters
    ----------
    id : str
        Test id (category first).
    make : callable
        ``make(tmp_path, inputs) -> (bad_file, args)``: writes the bad file and returns it with
        the command-line arguments that read it. ``{out}`` in them is replaced by an output
        path under tmp_path, which must not exist afterwards.
    needles : tuple of str
        What the one message must say besides the file name (field, row, found, expected).
    exit_code : int
        1 for bad input, 2 for a usage error.
    names_file : bool
        Whether the message names the bad file (not for a bad option).
    """

    id: str
    make: Callable[[Path, Inputs], tuple[Path, list[str]]]
    needles: tuple[str, ...]
    exit_code: int = 1
    names_file: bool = True


@dataclass
class Inputs:
    """Good inputs that the cases spoil one way each."""

    schools: pd.DataFrame
    pupils: pd.DataFrame
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        """The text of ``models/NAME``."""
        if name not in self.texts:
            self.texts[name] = (MODELS / name).read_text(encoding="utf-8")
        return self.texts[name]


@pytest.fixture(scope="module")
def _pupils() -> pd.DataFrame:
    return simulate_pupils(5, design=SMALL).frame


@pytest.fixture
def inputs(_pupils) -> Inputs:
    return Inputs(swisbayes.load_example(), _pupils.copy())


# --- helpers that write one bad file ----------------------------------------------------------


def _csv(frame: pd.DataFrame, tmp: Path, name: str) -> Path:
    path = tmp / name
    frame.to_csv(path, index=False)
    return path


def _parquet(frame: pd.DataFrame, tmp: Path, name: str) -> Path:
    path = tmp / name
    frame.to_parquet(path, index=False)
    return path


def text_cells(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old  # the corpus must spoil what it means to spoil
    return text.replace(old, new)


def _validate(path: Path, *extra: str) -> tuple[Path, list[str]]:
    return path, ["validate", str(path), *extra]


def _fit_spec(path: Path) -> tuple[Path, list[str]]:
    return path, ["fit", str(path), "--out", "{out}"]


def _fit_data(path: Path, spec: Path = SPEC) -> tuple[Path, list[str]]:
    return path, ["fit", str(spec), "--data", str(path), "--out", "{out}"]


def _grid(path: Path) -> tuple[Path, list[str]]:
    return path, ["sensitivity", "--grid", str(path), "--out", "{out}", "--quiet"]


def _pilots(path: Path) -> tuple[Path, list[str]]:
    return path, ["priors", "--pilots", str(path), "--plot", "{out}"]


def _economics(path: Path) -> tuple[Path, list[str]]:
    return path, ["report", "--spec-dir", str(MODELS), "--economics", str(path), "--out",
                  "{out}", "--quiet"]


def _spec_text(tmp: Path, inputs: Inputs, name: str, old: str, new: str) -> Path:
    return text_cells(tmp, name, _replace(inputs.text("s47_primary.toml"), old, new))


def _grid_file(tmp: Path, inputs: Inputs, name: str, old: str, new: str) -> Path:
    # specs in a grid are relative to it: keep the grid beside a copy of the primary spec
    (tmp / "s47_primary.toml").write_text(inputs.text("s47_primary.toml"), encoding="utf-8")
    return text_cells(tmp, name, _replace(inputs.text("prior_grid.toml"), old, new))


def _pilots_file(tmp: Path, inputs: Inputs, name: str, old: str, new: str) -> Path:
    return text_cells(tmp, name, _replace(inputs.text("pilots.toml"), old, new))


def _economics_file(tmp: Path, inputs: Inputs, name: str, old: str, new: str) -> Path:
    return text_cells(tmp, name, _replace(inputs.text("economics.toml"), old, new))


def _with(frame: pd.DataFrame, column: str, rows: list[int], values: list,
          dtype: str | type = object) -> pd.DataFrame:
    frame = frame.astype({column: dtype})
    frame.loc[rows, column] = values
    return frame


# --- school-level CSV -------------------------------------------------------------------------


def _cut_mid_row(tmp: Path, inputs: Inputs):
    text = inputs.schools.to_csv(index=False)
    lines = text.splitlines(keepends=True)
    cut = "".join(lines[:101]) + lines[101][:20]  # 100 rows, then 20 characters of the next
    return _validate(text_cells(tmp, "cut.csv", cut))


def _school_header_only(tmp: Path, inputs: Inputs):
    return _validate(_csv(inputs.schools.iloc[:0], tmp, "header.csv"))


def _repeated_column(tmp: Path, inputs: Inputs):
    text = inputs.schools.to_csv(index=False)
    header, rest = text.split("\n", 1)
    return _validate(text_cells(tmp, "twice.csv", header.replace("fsm_pct", "s47") + "\n" + rest))


def _extra_field(tmp: Path, inputs: Inputs):
    lines = inputs.schools.to_csv(index=False).splitlines()
    lines[9] += ",7"
    return _validate(text_cells(tmp, "extra.csv", "\n".join(lines) + "\n"))


def _trailing_comma_everywhere(tmp: Path, inputs: Inputs):
    lines = inputs.schools.to_csv(index=False).splitlines()
    body = [line + "," for line in lines[1:]]  # would shift every column by one
    return _validate(text_cells(tmp, "trailing.csv", "\n".join([lines[0], *body]) + "\n"))


def _not_utf8(tmp: Path, inputs: Inputs):
    path = tmp / "latin1.csv"
    text = inputs.schools.to_csv(index=False).replace("S004", "S\u00e904")
    path.write_bytes(text.encode("latin-1"))
    return _validate(path)


def _fit_all(tmp: Path, inputs: Inputs):
    specs = tmp / "specs"
    specs.mkdir()
    for name in ("s17.toml", "s47_primary.toml"):  # fitted in this order
        (specs / name).write_text(inputs.text(name), encoding="utf-8")
    path = _csv(inputs.schools.drop(columns=["s47"]), tmp, "no_s47.csv")
    return path, ["fit", "--all", "--spec-dir", str(specs), "--data", str(path), "--out",
                  "{out}"]


def _fit_pilot_informed(tmp: Path, inputs: Inputs):
    spec = _spec_text(tmp, inputs, "pilot.toml", 'name = "vague"', 'name = "pilot-informed"')
    path = _csv(_with(inputs.schools, "la_id", [2], [np.nan]), tmp, "no_la.csv")
    return _fit_data(path, spec)


def _school_nan_baseline(tmp: Path, inputs: Inputs):
    frame = _with(inputs.schools, "s47_baseline", [6], [np.nan], float)
    return _validate(_csv(frame, tmp, "nan_baseline.csv"))


CASES = [
    Case("school-csv-cut-mid-row", _cut_mid_row,
         ("row 101 (line 102) has 5 fields", "expected 18 fields in every row",
          "is the file cut off?")),
    Case("school-csv-empty", lambda t, i: _validate(text_cells(t, "empty.csv", "")),
         ("the file is empty", "expected a header line")),
    Case("school-csv-header-only", _school_header_only,
         ("the file has no data rows", "expected one row per school")),
    Case("school-csv-repeated-column", _repeated_column,
         ("column 's47' appears 2 times (columns 5, 7)", "expected each column name once")),
    Case("school-csv-extra-field", _extra_field,
         ("line 10 has 19 fields", "expected 18")),
    Case("school-csv-trailing-comma-on-every-row", _trailing_comma_everywhere,
         ("rows 1, 2, 3, 4, 5 and 263 more (lines 2, 3, 4, 5, 6, ...) have 19 fields",
          "expected 18 fields", "a comma at the end of each row?")),
    Case("school-csv-not-utf8", _not_utf8,
         ("line 5 is not UTF-8 text", "found the byte 0xe9", "expected a CSV file saved as "
          "UTF-8")),
    Case("school-csv-text-in-count",
         lambda t, i: _validate(_csv(_with(i.schools, "s47", [4], ["twelve"]), t, "text.csv")),
         ("column 's47', row 5", "found 'twelve'", "expected a number")),
    Case("school-csv-negative-count",
         lambda t, i: _validate(_csv(_with(i.schools, "s17", [0], [-3], float), t, "neg.csv")),
         ("column 's17', row 1", "found -3", "expected a non-negative whole number")),
    Case("school-csv-nan-in-baseline", _school_nan_baseline,
         ("column 's47_baseline', row 7", "the cell is empty", "expected a value in every row")),
    Case("school-csv-baseline-without-follow-up",
         lambda t, i: _validate(_csv(i.schools.drop(columns=["s47"]), t, "no_s47.csv")),
         ("column 's47'", "has its baseline column 's47_baseline' but no follow-up column 's47'",
          "expected a column named 's47', or none of the columns of 's47'")),
    Case("school-csv-follow-up-without-baseline",
         lambda t, i: _validate(_csv(i.schools.drop(columns=["days_in_care_baseline"]), t,
                                     "no_base.csv")),
         ("column 'days_in_care_baseline'", "has its follow-up column 'days_in_care' but no "
          "baseline column 'days_in_care_baseline'")),
    Case("school-csv-bad-arm",
         lambda t, i: _validate(_csv(_with(i.schools, "arm", [2], ["treatment"]), t, "arm.csv")),
         ("column 'arm', row 3", "found 'treatment'", "expected 0 or 1, or 'control' or 'swis'")),
    Case("school-csv-duplicate-school",
         lambda t, i: _validate(_csv(pd.concat([i.schools, i.schools.iloc[[3]]],
                                               ignore_index=True), t, "dup.csv")),
         ("column 'school_id', rows 4, 269", "found 'S004'", "expected each school_id exactly "
          "once")),
    Case("school-csv-school-in-two-las",
         lambda t, i: _validate(_csv(pd.concat(
             [i.schools, i.schools.iloc[[10]].assign(la_id="LA99")], ignore_index=True), t,
             "two_las.csv")),
         ("column 'la_id', rows 11, 269", "listed under 2 different LAs",
          "expected each school under exactly one LA")),
    Case("school-csv-percentage-out-of-range",
         lambda t, i: _validate(_csv(_with(i.schools, "fsm_pct", [0], [140.0], float), t,
                                     "fsm.csv")),
         ("column 'fsm_pct', row 1", "found 140", "expected a percentage between 0 and 100")),
    Case("school-csv-zero-pupils-fit",
         lambda t, i: _fit_data(_csv(_with(i.schools, "pupils", [7], [0], float), t,
                                     "zero.csv")),
         ("column 'pupils', row 8", "found 0", "expected a positive number of pupils")),
    Case("school-csv-missing-column-fit",
         lambda t, i: _fit_data(_csv(i.schools.drop(columns=["fsm_pct"]), t, "nofsm.csv")),
         ("column 'fsm_pct'", "required column is absent", "expected a column named "
          "'fsm_pct'")),
    Case("school-csv-fit-all", _fit_all,  # s17 would be fitted and written before s47 failed
         ("column 's47'", "required column is absent", "expected a column named 's47'")),
    Case("school-csv-fit-pilot-informed", _fit_pilot_informed,  # before the meta-analysis
         ("column 'la_id', row 3", "the cell is empty", "expected a value in every row")),
    Case("school-csv-sensitivity",
         lambda t, i: (lambda p: (p, ["sensitivity", "--grid", str(MODELS / "prior_grid.toml"),
                                      "--data", str(p), "--out", "{out}", "--quiet"]))(
             _csv(_with(i.schools, "s47", [11], [2.5], float), t, "frac.csv")),
         ("column 's47', row 12", "found 2.5", "expected a whole number")),
    Case("school-csv-unknown-outcome-option",
         lambda t, i: _validate(_csv(i.schools, t, "good.csv"), "--outcome", "s48"),
         ("Invalid value for --outcome", "unknown outcome(s) ['s48']", "known: s47"),
         exit_code=2, names_file=False),
    Case("school-csv-directory",
         lambda t, i: (lambda d: (d, ["validate", str(d)]))(_mkdir(t / "dir.csv")),
         ("Invalid value for 'FILE'", "is a directory"), exit_code=2),
]


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


# --- school-level Parquet ---------------------------------------------------------------------


def _nested(tmp: Path, inputs: Inputs):
    frame = inputs.schools.copy()
    frame["s47"] = [[int(v)] for v in frame["s47"]]
    return _validate(_parquet(frame, tmp, "nested.parquet"))


CASES += [
    Case("school-parquet-strings-in-count",
         lambda t, i: _validate(_parquet(_with(i.schools, "s47", [4], ["twelve"], str), t,
                                         "strings.parquet")),
         ("column 's47', row 5", "found 'twelve'", "expected a number")),
    Case("school-parquet-dates-in-pupils",
         lambda t, i: _validate(_parquet(i.schools.assign(
             pupils=pd.Timestamp("2020-09-01")), t, "dates.parquet")),
         ("column 'pupils', rows 1, 2", "dates or times", "found '2020-09-01'",
          "expected a number")),
    Case("school-parquet-infinite-count",
         lambda t, i: _validate(_parquet(_with(i.schools, "referrals", [3], [np.inf], float),
                                         t, "inf.parquet")),
         ("column 'referrals', row 4", "found inf", "expected a finite number")),
    Case("school-parquet-lists-in-count", _nested,
         ("column(s) 's47' (list<element: int64>)", "expected one number or text value per "
          "cell")),
    Case("school-parquet-not-parquet",
         lambda t, i: _validate(text_cells(t, "bad.parquet", "school_id,la_id\nS1,LA1\n")),
         ("not a readable Parquet file", "magic bytes")),
    Case("school-parquet-fit",
         lambda t, i: _fit_data(_parquet(_with(i.schools, "s47_baseline", [9], [-1], float), t,
                                         "neg.parquet")),
         ("column 's47_baseline', row 10", "found -1", "expected a non-negative whole number")),
]


# --- pupil-level CSV and Parquet --------------------------------------------------------------


def _pupil_twice(tmp: Path, inputs: Inputs):
    frame = inputs.pupils.copy()
    frame.loc[7, "pupil_id"] = frame.loc[3, "pupil_id"]
    return _validate(_csv(frame, tmp, "pupils_dup.csv"))


def _pupil_two_arms(tmp: Path, inputs: Inputs):
    frame = inputs.pupils.astype({"arm": object})
    frame.loc[20, "arm"] = "swis" if frame.loc[20, "arm"] == 0 else "control"
    return _validate(_csv(frame, tmp, "pupils_arms.csv"))


CASES += [
    Case("pupil-csv-duplicate-pupil", _pupil_twice,
         ("column 'pupil_id', rows 4, 8", "appear in more than one row of the same school",
          "expected each pupil_id exactly once")),
    Case("pupil-csv-school-in-two-arms", _pupil_two_arms,
         ("column 'arm', row 21", "has pupils under 2 different arms",
          "expected every pupil of a school in the same arm")),
    Case("pupil-csv-days-beyond-window",
         lambda t, i: _validate(_csv(_with(i.pupils, "days_in_care", [40], [800], "int64"), t,
                                     "pupils_days.csv")),
         ("column 'days_in_care', row 41", "found 800", "expected at most 732 days per pupil")),
    Case("pupil-csv-text-in-count-fit",
         lambda t, i: _fit_data(_csv(_with(i.pupils, "s47", [8], ["two"]), t,
                                     "pupils_text.csv")),
         ("column 's47', row 9", "found 'two'", "expected a number")),
    Case("pupil-csv-pupils-column",
         lambda t, i: _validate(_csv(i.pupils.assign(pupils=1), t, "pupils_level.csv")),
         ("column 'pupil_id'", "both 'pupil_id' (one row per pupil) and 'pupils'",
          "expected a pupil-level file without 'pupils'")),
    Case("pupil-parquet-not-binary",
         lambda t, i: _validate(_parquet(_with(i.pupils, "fsm", [60], [2], "int64"), t,
                                         "pupils_fsm.parquet")),
         ("column 'fsm', row 61", "found 2", "expected 0 or 1")),
    Case("pupil-parquet-baseline-without-follow-up",
         lambda t, i: _validate(_parquet(i.pupils.drop(columns=["care_entry"]), t,
                                         "pupils_nocare.parquet")),
         ("column 'care_entry'", "has its baseline column 'care_entry_baseline' but no "
          "follow-up column 'care_entry'")),
    Case("pupil-parquet-empty-cell",
         lambda t, i: _validate(_parquet(_with(i.pupils, "referrals_baseline", [12], [np.nan],
                                               float), t, "pupils_nan.parquet")),
         ("column 'referrals_baseline', row 13", "the cell is empty",
          "expected a value in every row")),
]


# --- analysis specs (models/*.toml) -----------------------------------------------------------


def _spec(name: str, old: str, new: str):
    return lambda t, i: _fit_spec(_spec_text(t, i, name, old, new))


CASES += [
    Case("spec-empty", lambda t, i: _fit_spec(text_cells(t, "empty.toml", "")),
         ("the spec file is empty", "like those of models/s47_primary.toml")),
    Case("spec-syntax-error", _spec("syntax.toml", 'outcome = "s47"', 'outcome = "s47'),
         ("not valid TOML at line 7, column 15", "illegal character")),
    Case("spec-truncated",  # cut in the middle of a string
         lambda t, i: _fit_spec(text_cells(t, "cut.toml", i.text("s47_primary.toml").split(
             "[sampler]")[0] + '[sampler]\nbackend = "nut')),
         ("not valid TOML at end of document", "is the file cut off?")),
    Case("spec-key-given-twice", _spec("twice.toml", "draws = 1500", "draws = 1500\ndraws = 2"),
         ("not valid TOML", "is a key or table given twice?")),
    Case("spec-unknown-key", _spec("thin.toml", "[sampler]", "[sampler]\nthin = 2"),
         ("unknown key 'thin' in sampler", "allowed keys: backend, draws")),
    Case("spec-negative-sd",
         _spec("sd.toml", 'name = "vague"  ', 'name = "custom"\nmean = 0\nsd = -1\n#'),
         ("priors.effect.sd", "greater than 0", "found -1")),
    Case("spec-unknown-prior", _spec("prior.toml", 'name = "vague"', 'name = "vaague"'),
         ("priors.effect", "unknown prior 'vaague'", "valid names: vague")),
    Case("spec-unknown-outcome", _spec("outcome.toml", 'outcome = "s47"', 'outcome = "s48"'),
         ("outcome:", "unknown outcome 's48'", "expected one of s47")),
    Case("spec-wrong-type", _spec("draws.toml", "draws = 1500", 'draws = "many"'),
         ("sampler.draws", "valid integer", "found 'many'")),
    Case("spec-text-for-true-false",
         _spec("bool.toml", "la_intercepts = true", 'la_intercepts = "yes"'),
         ("hierarchy.la_intercepts", "valid boolean", "found 'yes'")),
    Case("spec-out-of-range", _spec("mcid.toml", "mcid = 0.10", "mcid = 1.5"),
         ("decision.mcid", "less than 1", "found 1.5")),
    Case("spec-nan", _spec("nan.toml", "intercept_mean = -4.0", "intercept_mean = nan"),
         ("priors.hyper.intercept_mean", "finite number", "found nan")),
    Case("spec-repeated-covariate",
         _spec("cov.toml", 'covariates = ["fsm_pct"]', 'covariates = ["fsm_pct", "fsm_pct"]'),
         ("adjustment.covariates", "['fsm_pct'] listed more than once",
          "expected each covariate once")),
    Case("spec-family-contradicts-outcome",
         _spec("family.toml", 'family = "negative_binomial"', 'family = "beta_binomial"'),
         ("family:", "does not fit outcome 's47'", "expected negative_binomial or poisson")),
    Case("spec-mixture-weights",
         _spec("mix.toml", 'name = "vague"  ',
               'name = "m"\nweights = [0.5, 0.6]\nmeans = [0, 1]\nsds = [1, 1]\n#'),
         ("priors.effect", "weights must sum to 1", "they sum to 1.1")),
    Case("spec-name-not-a-file-name", _spec("slash.toml", 'name = "s47_primary"',
                                            'name = "../s47"'),
         ("name:", "cannot name the output files", "found '../s47'")),
    Case("spec-missing-pilots-file",
         _spec("pilots.toml", 'name = "vague"  ', 'name = "pilot-informed"\npilots = "no.toml"\n#'),
         ("no.toml: no such pilots file",)),
    Case("spec-outcome-is-a-list", _spec("list.toml", 'outcome = "s47"', 'outcome = ["s47"]'),
         ("outcome:", "valid string", "found ['s47']")),
    Case("spec-table-is-a-value",
         lambda t, i: _fit_spec(text_cells(t, "priors.toml", _replace(
             i.text("s47_primary.toml"), 'family = "negative_binomial"',
             'family = "negative_binomial"\npriors = "vague"').split("[hierarchy]")[0])),
         ("priors:", "Input should be a table ([priors])", "found 'vague'")),
    Case("spec-sbc",
         lambda t, i: (lambda p: (p, ["sbc", str(p), "--n", "2", "--out", "{out}"]))(
             _spec_text(t, i, "sbc.toml", "chains = 4", "chains = 0")),
         ("sampler.chains", "greater than or equal to 1", "found 0")),
    Case("spec-simulate-study",
         lambda t, i: (lambda p: (p, ["simulate-study", str(p), "--n-trials", "1", "--out",
                                      "{out}"]))(
             _spec_text(t, i, "study.toml", "followup_years = 1.9167", "followup_years = -2")),
         ("followup_years", "greater than 0", "found -2")),
    Case("spec-not-utf8",
         lambda t, i: _fit_spec((lambda p: (p.write_bytes(
             i.text("s47_primary.toml").replace('title = "Primary', 'title = "Prim\u00e9ry')
             .encode("latin-1")),
             p)[1])(t / "latin1.toml")),
         ("line 6 is not UTF-8 text", "found the byte 0xe9", "expected a TOML file saved as "
          "UTF-8")),
]


# --- sensitivity grids (models/prior_grid.toml) -----------------------------------------------


def _grid_case(name: str, old: str, new: str):
    return lambda t, i: _grid(_grid_file(t, i, name, old, new))


CASES += [
    Case("grid-unknown-prior",
         _grid_case("g.toml", 'library = ["vague"', 'library = ["vaguer"'),
         ("priors.library", "unknown prior name(s) ['vaguer']", "valid names: vague")),
    Case("grid-unknown-key", _grid_case("g.toml", "[reweighting]", "[reweighting]\nbogus = 1"),
         ("unknown key 'bogus' in reweighting", "allowed keys: enabled, max_khat, min_ess")),
    Case("grid-repeated-value",
         _grid_case("g.toml", "sigma_la_effect = [0.2, 0.3]", "sigma_la_effect = [0.2, 0.2]"),
         ("hyper.sigma_la_effect", "0.2 listed more than once", "expected each value once")),
    Case("grid-out-of-range", _grid_case("g.toml", "max_khat = 0.7", "max_khat = 2"),
         ("reweighting.max_khat", "less than or equal to 1", "found 2")),
    Case("grid-wrong-type", _grid_case("g.toml", "enabled = true", 'enabled = "yes"'),
         ("reweighting.enabled", "valid boolean", "found 'yes'")),
    Case("grid-cell-value-is-a-list",
         lambda t, i: _grid(_grid_file(t, i, "g.toml", "[reweighting]",
                                       "[[cells]]\nmcid = [0.1]\n\n[reweighting]")),
         ("cells.0.mcid", "Input should be text or a number", "found [0.1]")),
    Case("grid-empty", lambda t, i: _grid(text_cells(t, "g.toml", "")),
         ("the grid file is empty", "like those of models/prior_grid.toml")),
    Case("grid-missing-spec",
         _grid_case("g.toml", 'specs = ["s47_primary.toml"]', 'specs = ["nope.toml"]'),
         ("specs[0]: no such spec file", "found 'nope.toml'",
          "expected a path relative to the grid file's directory")),
    Case("grid-truncated",  # cut in the middle of a table header
         lambda t, i: _grid(text_cells(t, "g.toml", i.text("prior_grid.toml").split("[hyper]")[0]
                                  + "[hyp")),
         ("not valid TOML at end of document", "is the file cut off?")),
]


# --- pilots (models/pilots.toml) --------------------------------------------------------------


def _pilot_case(name: str, old: str, new: str):
    return lambda t, i: _pilots(_pilots_file(t, i, name, old, new))


CASES += [
    Case("pilots-negative-ratio", _pilot_case("p.toml", "ratio = 0.80", "ratio = -0.80"),
         ("pilot[0] (la 'Lambeth'): ratio", "greater than 0", "found -0.8")),
    Case("pilots-unknown-outcome", _pilot_case("p.toml", 'outcome = "s17"', 'outcome = "s18"'),
         ("pilot[2] (la 'Stockport'): outcome", "unknown outcome 's18'", "expected one of s47")),
    Case("pilots-ci-excludes-ratio", _pilot_case("p.toml", "ci_high = 1.14", "ci_high = 0.7"),
         ("pilot[0] (la 'Lambeth')", "does not contain the ratio 0.8",
          "need ci_low < ratio < ci_high")),
    Case("pilots-both-forms", _pilot_case("p.toml", "ratio = 0.78", "ratio = 0.78\nse = 0.2"),
         ("pilot[1] (la 'Southampton')", "both forms of the estimate given",
          "give either ratio with ci_low and ci_high, or log_estimate with se")),
    Case("pilots-same-la-twice",
         _pilot_case("p.toml", 'la = "Southampton"', 'la = "Lambeth"'),
         ("pilot[1] (la 'Lambeth')", "a second s47 estimate for Lambeth (pilot[0] is the first)",
          "expected one estimate per LA and outcome")),
    Case("pilots-wrong-type", _pilot_case("p.toml", "schools = 2 ", 'schools = "two" '),
         ("pilot[2] (la 'Stockport'): schools", "valid integer", "found 'two'")),
    Case("pilots-empty", lambda t, i: _pilots(text_cells(t, "p.toml", "")),
         ("the pilots file is empty", "like those of models/pilots.toml")),
]


# --- economic inputs (models/economics.toml) --------------------------------------------------


def _economics_case(name: str, old: str, new: str):
    return lambda t, i: _economics(_economics_file(t, i, name, old, new))


CASES += [
    Case("economics-negative-cost",
         _economics_case("e.toml", "value = 37500", "value = -37500"),
         ("cost_per_school_year.value", "greater than or equal to 0", "found -37500")),
    Case("economics-unknown-outcome",
         _economics_case("e.toml", "[value_per_event.s17]", "[value_per_event.s18]"),
         ("value_per_event: unknown outcome 's18'", "known outcomes: s47")),
    Case("economics-unknown-key", _economics_case("e.toml", "[rule]", "[rule]\nbudget = 1"),
         ("unknown key 'budget' in rule", "allowed keys: invest_prob_meaningful")),
    Case("economics-contradictory-rule",
         _economics_case("e.toml", "invest_prob_meaningful = 0.80",
                         "invest_prob_meaningful = 0.05"),
         ("rule:", "stop_prob_meaningful (0.1) must be below invest_prob_meaningful (0.05)")),
    Case("economics-unsorted-grid",
         _economics_case("e.toml", "grid = [0, 1000, 2000", "grid = [0, 2000, 1000"),
         ("willingness_to_pay.grid", "must be strictly increasing")),
    Case("economics-nan", _economics_case("e.toml", "discount_rate = { value = 0.035",
                                          "discount_rate = { value = nan"),
         ("rollout.discount_rate.value", "finite number", "found nan")),
    Case("economics-fraction-of-a-year",
         _economics_case("e.toml", "horizon_years = { value = 5,",
                         "horizon_years = { value = 5.5,"),
         ("rollout.horizon_years.value", "valid integer", "found 5.5")),
    Case("economics-key-given-twice",
         _economics_case("e.toml", 'currency = "GBP"', 'currency = "GBP"\ncurrency = "EUR"'),
         ("not valid TOML at line 13", "is a key or table given twice?")),
    Case("economics-empty", lambda t, i: _economics(text_cells(t, "e.toml", "")),
         ("the economic inputs file is empty", "like those of models/economics.toml")),
]


# --- other files a command reads --------------------------------------------------------------

CASES += [
    Case("posterior-not-netcdf",
         lambda t, i: (lambda p: (p, ["priors", "--from-posterior", str(p), "--plot", "{out}"]))(
             text_cells(t, "fit.nc", "not a posterior")),
         ("not a posterior saved by 'swisbayes fit --out'", "expected the .nc file")),
]


# --- usage errors: found before any work ------------------------------------------------------

CASES += [
    Case("usage-figure-format",
         lambda t, i: (lambda p: (p, ["priors", "--pilots", str(p), "--plot", "{out}.txt"]))(
             text_cells(t, "pilots.toml", i.text("pilots.toml"))),
         ("Invalid value for '--plot'", "unsupported figure format '.txt'",
          "expected .png, .pdf or .svg"), exit_code=2, names_file=False),
]


# --- the corpus -------------------------------------------------------------------------------


def _one_message(output: str) -> str:
    """The single error message of a failed command (its header line and its one problem)."""
    lines = output.splitlines()
    problems = [line for line in lines if line.startswith(("ERROR ", "  - "))]
    heads = [line for line in lines if line.startswith(("error:", "Error:"))]
    assert len(problems) <= 1, f"more than one problem reported:\n{output}"
    assert len(heads) <= 1, f"more than one error reported:\n{output}"
    assert problems or heads, f"no error message:\n{output}"
    return "\n".join(heads + problems)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_one_precise_message(case, inputs, tmp_path, monkeypatch):
    work = tmp_path / "inputs"
    work.mkdir()
    monkeypatch.chdir(tmp_path)  # a default output path would land here, not in the repo
    bad, args = case.make(work, inputs)
    out = tmp_path / "out" / ("report.html" if args[0] == "report" else
                              "plot.png" if args[0] == "priors" else "")
    args = [a.replace("{out}", str(out)) for a in args]
    result = CliRunner().invoke(cli, args)
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__} leaked:\n{output}")
    assert "Traceback" not in output, output
    assert result.exit_code == case.exit_code, output
    message = _one_message(output)
    if case.names_file:
        assert str(bad) in message, f"the message does not name {bad}:\n{output}"
    for needle in case.needles:
        assert needle in message, f"{needle!r} not in:\n{output}"
    assert not (tmp_path / "out").exists(), "output was written for a bad input"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"], "files were written"


def test_the_corpus_covers_every_kind_of_input():
    kinds = {c.id.split("-")[0] for c in CASES}
    assert kinds == {"school", "pupil", "spec", "grid", "pilots", "economics", "posterior",
                     "usage"}
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
