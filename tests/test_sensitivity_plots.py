"""The sensitivity figures draw exactly the run's numbers (no MCMC: a made-up run)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from swisbayes.workflows.sensitivity import SensitivityResult
from swisbayes.workflows.sensitivity_plots import (
    heatmap_values,
    plot_heatmap,
    plot_probability_by_prior,
    prior_moments,
    write_plots,
)

matplotlib.use("Agg")

PRIORS = ["vague", "sceptical", "enthusiastic"]
MCIDS = [0.05, 0.1]


@pytest.fixture(scope="module")
def result(primary_spec) -> SensitivityResult:
    rng = np.random.default_rng(7)
    rows = []
    for prior in PRIORS:
        spec = primary_spec.with_prior(prior)
        spec = spec.with_prior(spec.effect_prior).model_dump(mode="json")  # resolved, as a row's
        for mcid in MCIDS:
            axes = {"spec": "s47_primary", "effect_prior": prior, "mcid": mcid, "seed": 1}
            rows.append({"cell": f"{prior}-{mcid}", "axes": axes, "path": "sampled",
                         "base": None, "spec": spec,
                         "prob_meaningful_reduction": float(rng.uniform()),
                         "irr_median": float(rng.uniform(0.8, 1.2)),
                         "diagnostics": {"ok": True}})
    axes = {"spec": ["s47_primary"], "effect_prior": PRIORS, "mcid": MCIDS, "seed": [1]}
    return SensitivityResult(rows, axes)


def _lines(figure):
    ax = figure.axes[0]
    return {line.get_label(): line for line in ax.get_lines()}


def test_probability_lines_are_the_tables_numbers(result):
    table = result.table
    moments = prior_moments(result).set_index("effect_prior")
    figure = plot_probability_by_prior(result, where={"mcid": 0.1}, threshold=0.7)
    lines = _lines(figure)
    drawn = lines["s47_primary"]
    expected = table[table["mcid"] == 0.1].set_index("effect_prior")["prob_meaningful_reduction"]
    centres = moments["prior_centre_irr"]
    order = sorted(PRIORS, key=lambda p: (centres[p], p))
    np.testing.assert_allclose(drawn.get_xdata(), centres[order].to_numpy())
    np.testing.assert_allclose(drawn.get_ydata(), expected[order].to_numpy())
    assert list(lines["decision threshold 0.7"].get_ydata()) == [0.7, 0.7]


def test_prior_strength_axis_and_one_line_per_remaining_axis_value(result):
    figure = plot_probability_by_prior(result, x="sd")
    lines = _lines(figure)
    assert {"s47_primary, mcid=0.05", "s47_primary, mcid=0.1"} <= set(lines)
    assert figure.axes[0].get_xscale() == "log"
    sds = prior_moments(result).set_index("effect_prior")["prior_sd"]
    assert math.isclose(max(lines["s47_primary, mcid=0.05"].get_xdata()), sds["vague"])
    assert lines["decision threshold 0.8"].get_ydata()[0] == 0.8  # the default


def test_heatmap_shows_the_datasets_values(result):
    data = result.to_xarray()
    for column in ("prob_meaningful_reduction", "irr_median"):
        figure = plot_heatmap(result, "mcid", "effect_prior", column=column)
        image = figure.axes[0].get_images()[0].get_array()
        expected = data[column].sel(spec="s47_primary", seed=1).transpose("effect_prior",
                                                                          "mcid")
        np.testing.assert_allclose(np.asarray(image), expected.to_numpy())
        assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == PRIORS


def test_heatmap_rejects_unknown_axes_and_columns(result):
    with pytest.raises(ValueError, match="unknown axis"):
        heatmap_values(result, "mcid", "nope")
    with pytest.raises(ValueError, match="unknown column"):
        heatmap_values(result, "mcid", "effect_prior", column="nope")


def test_write_plots_writes_pngs(result, tmp_path):
    paths = write_plots(result, tmp_path)
    assert [p.name for p in paths] == ["probability_by_prior_centre.png",
                                       "probability_by_prior_sd.png", "heatmap_s47_primary.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
