"""Pupil-level data: the model of the reduced cells is the model of the pupil rows.

The reduction is exact, so fitting the cells must give the posterior of fitting every pupil as
its own cell: the two log densities differ by a constant, and the posteriors agree within Monte
Carlo error, the reduced fit being much faster.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import swisbayes
from swisbayes.data.io import read_school_data
from swisbayes.data.simulate import TrialDesign, simulate_pupils
from swisbayes.families.count import build_model

TRUE_IRR = 0.85


@pytest.fixture(scope="module")
def pupil_spec(primary_spec):
    adjustment = primary_spec.adjustment.model_copy(update={"covariates": ("fsm", "sen")})
    return primary_spec.model_copy(update={"adjustment": adjustment})


@pytest.fixture(scope="module")
def reduced(pupil_spec):
    trial = simulate_pupils(7, irr={"s47": TRUE_IRR}, design=TrialDesign(total_pupils=20_000))
    return read_school_data(trial.frame, outcomes=["s47"], covariates=pupil_spec.covariates)


def as_rows(data):
    """The same data with every pupil as its own cell (no reduction)."""
    rows = data.pupil_rows.assign(pupils=1.0)
    columns = [c for c in data.cells.columns if c in rows.columns]
    return dataclasses.replace(data, cells=rows[columns].reset_index(drop=True))


def test_reduced_cells_are_far_fewer_than_rows(reduced):
    assert reduced.level == "pupil"
    assert reduced.n_rows == 20_000
    assert len(reduced.cells) < 20_000 / 10
    assert reduced.cells["pupils"].sum() == 20_000


def test_reduced_and_row_level_log_densities_differ_by_a_constant(pupil_spec, reduced):
    cells = build_model(pupil_spec, reduced).model
    rows = build_model(pupil_spec, as_rows(reduced)).model
    assert len(rows.coords["cell"]) == 20_000
    logp_cells, logp_rows = cells.compile_logp(), rows.compile_logp()
    rng = np.random.default_rng(11)
    differences = []
    for _ in range(5):
        point = {name: value + rng.normal(0, 0.3, np.shape(value))
                 for name, value in cells.initial_point().items()}
        differences.append(logp_rows(point) - logp_cells(point))
    # the constant is the split of each cell's count over its pupils: no parameter in it
    np.testing.assert_allclose(differences, differences[0], rtol=0, atol=1e-7)


@pytest.mark.slow
def test_reduced_fit_equals_row_level_fit_and_is_faster(pupil_spec, reduced):
    spec = pupil_spec.with_sampler(seed=5)
    fast = swisbayes.fit(spec, reduced, raise_on_failure=True)
    slow = swisbayes.fit(spec, as_rows(reduced), raise_on_failure=True)
    summaries = [r.summary().loc["log_irr"] for r in (fast, slow)]
    mcse = np.hypot(summaries[0]["mcse_mean"], summaries[1]["mcse_mean"])
    assert abs(summaries[0]["mean"] - summaries[1]["mean"]) < 4 * mcse
    assert abs(summaries[0]["sd"] / summaries[1]["sd"] - 1) < 0.08
    lo, hi = fast.decision.effect.ci
    assert lo < TRUE_IRR < hi
    sampling = [r.attempts[-1].seconds for r in (fast, slow)]
    assert sampling[0] * 3 < sampling[1], sampling
