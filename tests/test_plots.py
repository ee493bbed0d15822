"""Figures: the forest plot shows each fit's interval and marks a failed fit."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

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
