"""Figures: the forest plot shows each fit's interval and marks a failed fit."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

from swisbayes.decision.summaries import RatioSummary
from swisbayes.plots.basic import plot_forest

matplotlib.use("Agg")


def fake_result(name, median, ci, ok=True):
    effect = RatioSummary(median, ci, 0.95, 0.5, 0.2, 0.5, 0.3)
    spec = SimpleNamespace(name=name, priors=SimpleNamespace(effect=SimpleNamespace(name="vague")),
                           decision=SimpleNamespace(mcid=0.1))
    return SimpleNamespace(spec=spec, ok=ok, decision=SimpleNamespace(effect=effect))


def test_forest_plot_draws_every_interval_and_flags_failed_fits():
    results = [fake_result("s47", 1.05, (0.9, 1.2)), fake_result("care", 0.8, (0.5, 1.3), ok=False)]
    ax = plot_forest(results).axes[0]
    labels = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()),
                      strict=True))
    assert labels == {1: "s47 (vague)", 0: "care (vague) - FAILED checks"}  # first on top
    intervals = [line for line in ax.lines if len(line.get_xdata()) == 2 and
                 line.get_xdata()[0] != line.get_xdata()[1]]
    assert [tuple(line.get_xdata()) for line in intervals] == [(0.9, 1.2), (0.5, 1.3)]
    assert intervals[1].get_color() == "red"
    assert any(tuple(line.get_xdata()) == (0.9, 0.9) for line in ax.lines)  # the MCID line


FIGURE_MODULES = ("swisbayes.plots.basic", "swisbayes.plots.decision",
                  "swisbayes.workflows.sensitivity_plots", "swisbayes.workflows.calibration_plots")


@pytest.mark.parametrize("module", FIGURE_MODULES)
def test_every_figure_function_accepts_ax(module: str):
    import importlib
    import inspect

    functions = [f for name, f in inspect.getmembers(importlib.import_module(module),
                                                       inspect.isfunction)
                 if name.startswith("plot_") and f.__module__ == module]
    assert functions
    for f in functions:
        assert "ax" in inspect.signature(f).parameters, f.__qualname__


def test_a_figure_drawn_on_given_axes_returns_their_figure():
    import matplotlib.pyplot as plt

    from swisbayes.plots.decision import plot_ceac, plot_la_effects, plot_tipping

    rng = np.random.default_rng(1)
    fig, axes = plt.subplots(1, 3)
    try:
        assert plot_ceac([1000, 2000, 3000], {"vague": np.array([0.1, 0.2, 0.3])},
                         ax=axes[0]) is fig
        assert plot_tipping(np.array([0.8, 0.9, 1.0]), np.array([0.9, 0.5, 0.1]),
                            thresholds={"invest": 0.8}, xlabel="centre", ax=axes[1]) is fig
        assert plot_la_effects(np.exp(rng.normal(0, 0.1, (400, 5))),
                               np.exp(rng.normal(0, 0.2, 400)), mcid=0.1, ax=axes[2]) is fig
        assert len(fig.axes) == 3  # drawn where asked, no new axes
    finally:
        plt.close(fig)


def test_a_new_figure_is_not_kept_open_by_pyplot():
    # a bare Figure: shown once in a notebook (as the cell's value), never piling up in pyplot
    import matplotlib.pyplot as plt

    from swisbayes.plots.decision import plot_ceac

    before = plt.get_fignums()
    results = [fake_result("s47", 1.05, (0.9, 1.2))]
    figures = [plot_forest(results), plot_ceac([1000, 2000], {"vague": np.array([0.1, 0.2])})]
    assert plt.get_fignums() == before
    assert all(f.axes for f in figures)
