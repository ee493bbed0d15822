"""The simulator reproduces the published SWIS design and the effects it is given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import swisbayes
from swisbayes.data.io import validate
from swisbayes.data.simulate import TrialDesign, simulate_trial


def test_default_design_matches_the_published_trial():
    frame = simulate_trial(3).frame
    assert frame["la_id"].nunique() == 21
    assert frame.groupby("arm").size().to_dict() == {0: 132, 1: 136}
    per_arm = frame.groupby(["la_id", "arm"]).size()
    assert per_arm.min() >= 5
    assert per_arm.max() <= 8
    assert int(frame["pupils"].sum()) == 278_858
    assert validate(frame).ok


def test_same_seed_same_table_other_seed_other_table():
    a, b, c = simulate_trial(11).frame, simulate_trial(11).frame, simulate_trial(12).frame
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_baseline_and_followup_are_correlated():
    frame = simulate_trial(5).frame
    rate0 = np.log((frame["s47_baseline"] + 0.5) / frame["pupils"])
    rate1 = np.log((frame["s47"] + 0.5) / frame["pupils"])
    assert np.corrcoef(rate0, rate1)[0, 1] > 0.5


@pytest.mark.parametrize("irr", [0.7, 1.0, 1.3])
def test_true_irr_is_what_the_counts_show_on_average(irr):
    # Pool 40 trials so the crude ratio of rates estimates the IRR to ~2%: the arms are balanced
    # in expectation, so the crude ratio is unbiased for the conditional IRR up to Jensen terms
    # that cancel between arms.
    ratios = []
    for seed in range(40):
        f = simulate_trial(seed, irr={"s47": irr}).frame
        r = f.groupby("arm").apply(lambda g: g["s47"].sum() / g["pupils"].sum(),
                                   include_groups=False)
        ratios.append(np.log(r[1] / r[0]))
    assert np.exp(np.mean(ratios)) == pytest.approx(irr, rel=0.04)


def test_la_varying_effects_are_recorded_and_used():
    trial = simulate_trial(2, la_effect_sd=0.3)
    dev = np.array(list(trial.truth["la_log_effect_deviation"].values()))
    assert dev.std() > 0.1
    assert simulate_trial(2).truth["la_effect_sd"] == 0.0


def test_assumptions_travel_with_the_dataset(tmp_path):
    trial = simulate_trial(4, irr={"s47": 0.9})
    path = trial.to_file(tmp_path / "sim.parquet")
    sidecar = json.loads((tmp_path / "sim.parquet.json").read_text())
    assert sidecar["truth"]["irr"]["s47"] == 0.9
    assert sidecar["assumptions"]["s47_per_1000_per_year"]["source"] == "assumption"
    assert sidecar["synthetic"] is True
    pd.testing.assert_frame_equal(pd.read_parquet(path), trial.frame)


def test_small_design_with_few_schools_per_la():
    design = TrialDesign(n_la=3, n_swis=6, n_control=6, min_per_arm=1, max_per_arm=3,
                         total_pupils=3_000)
    frame = simulate_trial(1, design=design).frame
    assert frame.groupby(["la_id", "arm"]).size().min() >= 1
    assert int(frame["pupils"].sum()) == 3_000
    assert validate(frame).ok


def test_design_that_cannot_be_split_is_rejected():
    with pytest.raises(ValueError, match="cannot be split over 21 LAs"):
        TrialDesign(n_swis=200)
    with pytest.raises(ValueError, match="unknown outcome"):
        simulate_trial(1, irr={"attendance": 0.9})


def test_bundled_example_is_exactly_regenerated_from_its_seed():
    bundled = swisbayes.load_example()
    meta = bundled.attrs["swisbayes"]
    regenerated = simulate_trial(meta["seed"], irr=meta["truth"]["irr"]).frame
    pd.testing.assert_frame_equal(bundled, regenerated, check_dtype=False)
