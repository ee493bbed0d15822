"""Report figures: each draws the given numbers where they belong, readably and small."""

from __future__ import annotations

import base64
import io
import itertools
import re

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.text import Text
from scipy.stats import norm

from swisbayes._base.errors import SpecError
from swisbayes.plots.basic import UNRELIABLE_COLOUR
from swisbayes.plots.decision import (
    PRIOR_COLOURS,
    DifferenceRow,
    ForestRow,
    figure_png,
    plot_ceac,
    plot_difference_forest,
    plot_la_effects,
    plot_ratio_posteriors,
    plot_summary_forest,
    plot_tipping,
    png_data_uri,
    prior_colour,
    ratio_density,
)

matplotlib.use("Agg")

STANDARD = ("vague", "sceptical", "enthusiastic", "pilot-informed")
MCID = 0.1
N = 4000


def lognormal_draws(mu: float, s: float, seed: int, n: int = N) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).normal(mu, s, n))


# ---------------------------------------------------------------------------------------------
# Figures built from known numbers, shared by the tests below


def posterior_figure():
    draws = {name: (lognormal_draws(np.log(centre), 0.1, seed), None)
             for seed, (name, centre) in enumerate(zip(STANDARD, (0.95, 1.0, 0.9, 0.88),
                                                       strict=True))}
    return plot_ratio_posteriors(draws, mcid=MCID, label="S47 enquiries")


FOREST_ROWS = [
    ForestRow("S47 enquiries", "vague", 0.95, 0.80, 1.12, reliable=True),
    ForestRow("S47 enquiries", "sceptical", 0.99, 0.88, 1.10, reliable=True),
    ForestRow("care entry", "vague", 1.05, 0.70, 1.60, reliable=True),
    ForestRow("care entry", "sceptical", 1.01, 0.82, 1.25, reliable=False),
    ForestRow("S47 enquiries", "pilot-informed", 0.90, 0.78, 1.03, reliable=True,
              note="reweighted from vague"),
]


def forest_figure():
    return plot_summary_forest(FOREST_ROWS, mcid=MCID)


# A base whose median is exactly 1 (odd count, symmetric on the log scale) and whose upper
# half, taken alone, has median exactly exp(0.1).
BASE = np.exp(np.linspace(-0.2, 0.2, 401))
LA_SCALE = np.array([1.10, 0.85, 0.97, 1.30, 0.92])  # median of each LA (column)


def la_figure(labels=None, weights=None, average=True):
    return plot_la_effects(np.outer(BASE, LA_SCALE), 0.93 * BASE, weights=weights,
                           labels=labels, mcid=MCID, average=1.02 * BASE if average else None)


WTP = np.linspace(0, 20_000, 41)
CURVES = {name: 1 / (1 + np.exp(-(WTP - m) / 2500))
          for name, m in zip(STANDARD, (12_000, 16_000, 6_000, 7_000), strict=True)}
PUBLISHED = {5_000.0: 0.12, 10_000.0: 0.31, 20_000.0: 0.55}


def ceac_figure():
    return plot_ceac(WTP, CURVES, published=PUBLISHED)


TIP_X = np.linspace(0.75, 1.1, 36)
TIP_P = 1 / (1 + np.exp((TIP_X - 0.9) / 0.04))
TIPS = [(0.845, 0.80, "invest below 0.85"), (0.988, 0.10, "stop above 0.99")]
CURRENT = [(1.0, 0.076, "sceptical"), (0.9, 0.5, "enthusiastic")]


def tipping_figure():
    return plot_tipping(TIP_X, TIP_P, thresholds={"invest at 80%": 0.8, "stop below 10%": 0.1},
                        points=TIPS, current=CURRENT, xlabel="centre of the prior (rate ratio)")


POINTS_ROWS = [
    DifferenceRow("Absence", "vague", 0.0011, -0.0137, 0.0151, reliable=True,
                  note="+0.0011 pp (-0.0137 to +0.0151)"),
    DifferenceRow("Absence", "sceptical", 0.0011, -0.0137, 0.0151, reliable=True,
                  note="+0.0011 pp (-0.0137 to +0.0151)"),
    DifferenceRow("Absence", "enthusiastic", 0.0009, -0.0138, 0.0149, reliable=False,
                  note="+0.0009 pp (-0.0138 to +0.0149)"),
]
"""Attendance on the bundled data: far from the 0.5-point MCID, each row readable by its note."""


def points_figure():
    return plot_difference_forest(POINTS_ROWS, mcid=0.5)


BUILDERS = {"posteriors": posterior_figure, "forest": forest_figure, "la_effects": la_figure,
            "ceac": ceac_figure, "tipping": tipping_figure, "points": points_figure}


def vertical_lines(ax):
    return {float(line.get_xdata()[0]): line for line in ax.lines
            if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
            and tuple(line.get_ydata()) == (0, 1)}


def horizontal_segments(ax):
    """Interval lines of a forest-style figure, by their y."""
    return {float(line.get_ydata()[0]): line for line in ax.lines
            if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
            and tuple(line.get_xdata()) != (0, 1)}


def tick_labels(ax):
    return {float(y): t for y, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}


# ---------------------------------------------------------------------------------------------
# Colours


def test_each_standard_prior_has_its_own_colour_and_others_a_stable_fallback():
    colours = [PRIOR_COLOURS[name] for name in STANDARD]
    assert len(set(colours)) == 4
    assert UNRELIABLE_COLOUR not in colours
    assert PRIOR_COLOURS["pessimistic"] == prior_colour("pessimistic") not in colours
    assert "pessimistic" not in PRIOR_COLOURS  # a fallback is looked up, not stored
    assert prior_colour("sceptical") == PRIOR_COLOURS["sceptical"] == "#E69F00"


# ---------------------------------------------------------------------------------------------
# Posterior densities


def test_ratio_posteriors_draw_the_decision_lines_and_one_line_per_prior_in_its_colour():
    ax = posterior_figure().axes[0]
    lines = vertical_lines(ax)
    assert set(lines) == {1.0, 1 - MCID}
    assert lines[1.0].get_linestyle() == "-"
    assert lines[1 - MCID].get_linestyle() == "--"
    texts = {t.get_text().strip() for t in ax.texts}
    assert {"no effect", "10% reduction (MCID)"} <= texts
    densities = [line for line in ax.lines if len(line.get_xdata()) == 400]
    assert [line.get_color() for line in densities] == [PRIOR_COLOURS[n] for n in STANDARD]
    assert len(ax.get_yticks()) == 0  # a density's scale is not shown


def test_shading_stops_at_the_mcid_line_and_a_given_axes_is_drawn_into():
    fig = Figure(figsize=(7, 6))
    top, bottom = fig.subplots(2)
    draws = {"vague": (lognormal_draws(np.log(0.95), 0.1, 1), None)}
    assert plot_ratio_posteriors(draws, mcid=MCID, label="S47", ax=bottom) is fig
    assert not top.lines
    (shade,) = bottom.collections
    edge = shade.get_paths()[0].vertices[:, 0]
    assert edge.max() <= 1 - MCID < edge.max() + 0.01  # up to the last grid point left of it
    assert shade.get_facecolor()[0][:3] == pytest.approx(to_rgb(PRIOR_COLOURS["vague"]))


def test_legend_gives_the_probability_of_a_meaningful_reduction_under_each_prior():
    legend = posterior_figure().axes[0].get_legend()
    shown = {}
    for text in legend.get_texts():
        name, percent = re.fullmatch(r"(.+): (\d+)%", text.get_text()).groups()
        shown[name] = int(percent) / 100
    for name, centre in zip(STANDARD, (0.95, 1.0, 0.9, 0.88), strict=True):
        exact = norm.cdf((np.log(1 - MCID) - np.log(centre)) / 0.1)
        mcse = np.sqrt(exact * (1 - exact) / N)
        assert abs(shown[name] - exact) <= 4 * mcse + 0.005, name  # + rounding to 1%


def kde_mode_on_ratio_axis(z, w):
    """Mode of p(log r) / r when p is normal with the draws' (weighted) mean and variance
    widened by Scott's bandwidth: log r = mean - variance * (1 + factor^2), factor = neff^-1/5."""
    w = np.full(z.size, 1 / z.size) if w is None else w / w.sum()
    mean = np.sum(w * z)
    var = np.sum(w * (z - mean) ** 2)
    factor = (1 / np.sum(w**2)) ** -0.2
    return mean - var * (1 + factor**2)


def test_weighted_kde_mode_follows_the_weighted_mean():
    z = np.random.default_rng(20260).normal(np.log(0.95), 0.1, N)
    tilt = np.exp(-5.0 * z)  # exponential tilting: shifts a normal's mean by -5 * 0.1^2
    modes = {}
    for name, w in (("vague", None), ("sceptical", tilt)):
        ax = plot_ratio_posteriors({name: (np.exp(z), w)}, mcid=MCID, label="S47").axes[0]
        line = next(ln for ln in ax.lines if len(ln.get_xdata()) == 400)
        modes[name] = np.log(line.get_xdata()[np.argmax(line.get_ydata())])
        # Over 300 seeds the KDE's mode sits 0.011 (SD) from this on the log scale.
        assert modes[name] == pytest.approx(kde_mode_on_ratio_axis(z, w), abs=0.035)
    weighted_shift = np.sum(tilt * z) / tilt.sum() - z.mean()
    assert weighted_shift == pytest.approx(-0.05, abs=0.005)
    assert modes["sceptical"] - modes["vague"] == pytest.approx(weighted_shift, abs=0.015)


def test_ratio_density_integrates_to_one_and_is_the_log_scale_kde_over_r():
    draws = lognormal_draws(0.0, 0.2, seed=5)
    grid = np.exp(np.linspace(-1.5, 1.5, 3001))
    density = ratio_density(draws, grid)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    # Doubling a draw's weight is the same as repeating it.
    w = np.ones(N)
    w[:100] = 2
    repeated = np.concatenate([draws, draws[:100]])
    assert np.allclose(ratio_density(draws, grid, w) * grid, ratio_density(repeated, grid)
                       * grid, atol=0.02 * np.max(ratio_density(repeated, grid) * grid))


def test_bad_draws_or_weights_are_named_in_the_error():
    with pytest.raises(SpecError, match=r"prior 'sceptical'.*not positive"):
        plot_ratio_posteriors({"sceptical": (np.array([0.9, -1.0, 1.1]), None)}, mcid=MCID,
                              label="S47")
    with pytest.raises(SpecError, match=r"weights of prior 'vague'.*3 weights for 4000"):
        plot_ratio_posteriors({"vague": (lognormal_draws(0, 0.1, 1), np.ones(3))}, mcid=MCID,
                              label="S47")
    with pytest.raises(SpecError, match="mcid"):
        plot_ratio_posteriors({"vague": (lognormal_draws(0, 0.1, 1), None)}, mcid=10,
                              label="S47")


# ---------------------------------------------------------------------------------------------
# Summary forest


def test_summary_forest_places_each_interval_and_reds_exactly_the_unreliable_rows():
    ax = forest_figure().axes[0]
    assert ax.get_xscale() == "log"
    assert set(vertical_lines(ax)) == {1.0, 1 - MCID}
    segments, labels = horizontal_segments(ax), tick_labels(ax)
    row_ys = [y for y in sorted(labels, reverse=True) if labels[y].get_fontweight() != "bold"]
    grouped = sorted(FOREST_ROWS, key=lambda r: r.group != "S47 enquiries")  # stable
    assert len(segments) == len(row_ys) == len(grouped)
    for y, row in zip(row_ys, grouped, strict=True):
        assert labels[y].get_text().startswith(row.label)
        assert tuple(segments[y].get_xdata()) == (row.low, row.high)
        colour = PRIOR_COLOURS[row.label] if row.reliable else UNRELIABLE_COLOUR
        assert segments[y].get_color() == colour
        assert (labels[y].get_color() == UNRELIABLE_COLOUR) == (not row.reliable)
        (dot,) = [ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_ydata()[0] == y]
        assert dot.get_xdata()[0] == row.median
    assert {"reweighted from vague"} == {t.get_text() for t in ax.texts} - {
        " no effect", "10% reduction (MCID) "}


def test_summary_forest_groups_rows_under_their_outcome_in_order_of_first_appearance():
    labels = tick_labels(forest_figure().axes[0])
    top_down = [labels[y].get_text() for y in sorted(labels, reverse=True)]
    bold = [labels[y].get_fontweight() == "bold" for y in sorted(labels, reverse=True)]
    assert bold == [True, False, False, False, True, False, False]
    assert top_down == ["S47 enquiries", "vague", "sceptical", "pilot-informed", "care entry",
                        "vague", "sceptical (unreliable: failed checks)"]


def test_forest_row_rejects_an_interval_that_does_not_contain_its_median():
    with pytest.raises(SpecError, match=r"'S47'/'vague'.*low <= median <= high"):
        ForestRow("S47", "vague", 0.9, 0.95, 1.1, reliable=True)
    with pytest.raises(SpecError, match="positive"):
        ForestRow("S47", "vague", 0.9, 0.0, 1.1, reliable=True)


def test_difference_forest_is_linear_with_lines_at_zero_and_the_mcid_in_points():
    ax = points_figure().axes[0]
    assert ax.get_xscale() == "linear"
    assert set(vertical_lines(ax)) == {0.0, -0.5}
    segments, labels = horizontal_segments(ax), tick_labels(ax)
    row_ys = [y for y in sorted(labels, reverse=True) if labels[y].get_fontweight() != "bold"]
    assert len(segments) == len(row_ys) == len(POINTS_ROWS)
    for y, row in zip(row_ys, POINTS_ROWS, strict=True):
        assert labels[y].get_text().startswith(row.label)
        assert tuple(segments[y].get_xdata()) == (row.low, row.high)
        assert (segments[y].get_color() == UNRELIABLE_COLOUR) == (not row.reliable)
    low, high = ax.get_xlim()
    assert low < -0.5
    assert high > max(r.high for r in POINTS_ROWS)
    notes = {t.get_text() for t in ax.texts}
    assert {r.note for r in POINTS_ROWS} <= notes
    assert {" no change", "fall of 0.5 pp (MCID) "} <= notes
    assert "pp" in ax.get_xlabel()
    assert "absence" in ax.get_xlabel()


def test_difference_rows_may_be_negative_but_not_out_of_order():
    assert DifferenceRow("Absence", "vague", -0.6, -1.2, 0.0, reliable=True).low == -1.2
    with pytest.raises(SpecError, match=r"DifferenceRow 'Absence'/'vague'.*low <= median"):
        DifferenceRow("Absence", "vague", 0.3, -0.2, 0.1, reliable=True)
    with pytest.raises(SpecError, match="finite"):
        DifferenceRow("Absence", "vague", 0.0, -np.inf, 0.1, reliable=True)
    with pytest.raises(SpecError, match="positive difference"):
        plot_difference_forest(POINTS_ROWS, mcid=0.0)
    with pytest.raises(SpecError, match="no rows"):
        plot_difference_forest([], mcid=0.5)


# ---------------------------------------------------------------------------------------------
# Local authorities


def la_rows(ax):
    segments, labels = horizontal_segments(ax), tick_labels(ax)
    rows = []
    for y in sorted(labels, reverse=True):
        dot = next(ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_ydata()[0] == y)
        rows.append((labels[y].get_text(), float(dot.get_xdata()[0]),
                     tuple(segments[y].get_xdata()), y))
    return rows


def test_la_caterpillar_sorts_by_median_and_anonymises_by_default():
    rows = la_rows(la_figure().axes[0])
    low, high = np.quantile(BASE, [0.025, 0.975])
    order = np.argsort(LA_SCALE)
    assert [r[0] for r in rows[:5]] == ["LA 1", "LA 2", "LA 3", "LA 4", "LA 5"]
    assert np.allclose([r[1] for r in rows[:5]], LA_SCALE[order])  # BASE's median is 1
    assert np.allclose([r[2] for r in rows[:5]], np.outer(LA_SCALE[order], [low, high]))
    assert [r[0] for r in rows[5:]] == ["new LA (not in the trial)", "average effect"]
    assert np.allclose([r[1] for r in rows[5:]], [0.93, 1.02])
    # The new LA sits below every LA, past a separating line.
    separator = ax_lines_horizontal_full(la_figure().axes[0])
    assert len(separator) == 1
    assert rows[5][3] < separator[0] < rows[4][3]


def ax_lines_horizontal_full(ax):
    return [float(ln.get_ydata()[0]) for ln in ax.lines if tuple(ln.get_xdata()) == (0, 1)]


def test_la_caterpillar_uses_given_labels_in_sorted_order_and_weights():
    names = ["Anyshire", "Bexford", "Carston", "Dunmere", "Eastwick"]
    upper_half = (BASE >= 1).astype(float)  # weighted median of BASE becomes exp(0.1)
    rows = la_rows(la_figure(labels=names, weights=upper_half, average=False).axes[0])
    order = np.argsort(LA_SCALE)
    assert [r[0] for r in rows[:5]] == [names[j] for j in order]
    assert np.allclose([r[1] for r in rows[:5]], LA_SCALE[order] * np.exp(0.1))
    assert [r[0] for r in rows[5:]] == ["new LA (not in the trial)"]
    assert rows[5][1] == pytest.approx(0.93 * np.exp(0.1))


def test_la_caterpillar_rejects_mismatched_labels():
    with pytest.raises(SpecError, match="3 labels for 5 LAs"):
        la_figure(labels=["a", "b", "c"])


# ---------------------------------------------------------------------------------------------
# Value for money and tipping points


def test_ceac_draws_the_curves_as_given_and_the_published_points():
    ax = ceac_figure().axes[0]
    curves = [ln for ln in ax.lines if len(ln.get_xdata()) == WTP.size]
    assert [ln.get_color() for ln in curves] == [PRIOR_COLOURS[n] for n in STANDARD]
    for line, name in zip(curves, STANDARD, strict=True):
        assert np.array_equal(line.get_xdata(), WTP)
        assert np.array_equal(line.get_ydata(), CURVES[name])
    (marks,) = [ln for ln in ax.lines if ln.get_label() == "published economic evaluation"]
    assert list(zip(marks.get_xdata(), marks.get_ydata(), strict=True)) == list(
        PUBLISHED.items())
    assert {t.get_text() for t in ax.texts} == {"12%", "31%", "55%"}
    ticks = [ax.xaxis.get_major_formatter()(v, 0) for v in (5_000, 20_000)]
    assert ticks == ["£5,000", "£20,000"]
    assert ax.yaxis.get_major_formatter()(0.8, 0) == "80%"


def test_tipping_marks_the_tipping_points_thresholds_and_standard_priors():
    ax = tipping_figure().axes[0]
    (curve,) = [ln for ln in ax.lines if len(ln.get_xdata()) == TIP_X.size]
    assert np.array_equal(curve.get_ydata(), TIP_P)
    dots = [(float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in ax.lines
            if len(ln.get_xdata()) == 1 and ln.get_marker() == "o"]
    assert dots == [(x, y) for x, y, _ in TIPS]
    squares = [ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_marker() == "s"]
    assert [(float(s.get_xdata()[0]), float(s.get_ydata()[0]), s.get_color())
            for s in squares] == [(x, y, PRIOR_COLOURS[n]) for x, y, n in CURRENT]
    levels = {float(ln.get_ydata()[0]) for ln in ax.lines if tuple(ln.get_xdata()) == (0, 1)}
    assert levels == {0.8, 0.1}
    assert {t.get_text() for t in ax.texts} == {"invest at 80%", "stop below 10%",
                                                "invest below 0.85", "stop above 0.99",
                                                "sceptical", "enthusiastic"}


# ---------------------------------------------------------------------------------------------
# Readability, for every figure


def visible_texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name", BUILDERS)
def test_text_is_at_least_9pt_and_no_two_labels_overlap(name):
    fig = BUILDERS[name]()
    fig.draw_without_rendering()
    texts = visible_texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 9
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts]
    clashes = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
               if box_a.overlaps(box_b)]
    assert not clashes
    ax = fig.axes[0]
    assert not ax.spines["top"].get_visible()
    assert not ax.spines["right"].get_visible()
    legend = ax.get_legend()
    if legend is not None:  # legends sit above the plotting area, never over the data
        assert legend.get_window_extent().y0 >= ax.get_window_extent().y1


@pytest.mark.parametrize("name", BUILDERS)
def test_figure_png_is_a_small_nonblank_png_about_770_pixels_wide(name):
    png = figure_png(BUILDERS[name]())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) < 120_000
    pixels = imread(io.BytesIO(png), format="png")
    assert 700 <= pixels.shape[1] <= 900  # 7 in at 110 dpi, trimmed or widened by labels
    assert pixels[..., :3].std() > 0.05


def test_png_data_uri_round_trips_and_refuses_other_bytes():
    png = figure_png(ceac_figure())
    uri = png_data_uri(png)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix):]) == png
    with pytest.raises(SpecError, match="not a PNG"):
        png_data_uri(b"GIF89a")
