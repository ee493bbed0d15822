"""Write a :class:`~swisbayes.report.content.Report` as one self-contained HTML file, or as
Markdown with its figures as PNG files; the table goes to CSV beside it. Every file is written
atomically, so an interrupted run never leaves half a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import jinja2

from swisbayes._base.atomic import write_atomic, write_text_atomic
from swisbayes.plots.decision import png_data_uri
from swisbayes.report.content import Report
from swisbayes.report.view import Figure
from swisbayes.report.whatif import page_assets

Format = Literal["html", "md"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("swisbayes.report", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,  # a missing field is an error, never an empty cell
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _with_sources(report: Report, src: Callable[[Figure], str]) -> Report:
    """A copy of the report whose figures point at ``src(figure)``."""
    return replace(report, figures=[replace(f, src=src(f)) for f in report.figures],
                   fit_figures=[replace(f, src=src(f)) for f in report.fit_figures])


def render_html(report: Report) -> str:
    """The report as one HTML page with its figures embedded (no network needed to view it)."""
    page = _with_sources(report, lambda f: png_data_uri(f.png))
    whatif = None if report.whatif is None else page_assets(report.whatif)
    return _ENV.get_template("report.html.j2").render(r=page, whatif=whatif)


def render_markdown(report: Report, figure_dir: str) -> str:
    """The report as Markdown; figures are referred to as ``figure_dir/<name>.png``."""
    page = _with_sources(report, lambda f: f"{figure_dir}/{f.name}.png")
    return _ENV.get_template("report.md.j2").render(r=page)


def write_report(report: Report, out: str | Path, fmt: Format = "html") -> list[Path]:
    """Write the report, its figures (Markdown only) and ``<out>.csv``.

    Parameters
    ----------
    report : Report
    out : path
        The report file (``report.html`` or ``report.md``).
    fmt : {"html", "md"}, default "html"

    Returns
    -------
    list of pathlib.Path
        Every file written, the report first.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "html":
        written.append(write_text_atomic(out, render_html(report)))
    else:
        figure_dir = out.parent / f"{out.stem}_figures"
        figure_dir.mkdir(exist_ok=True)
        text = render_markdown(report, figure_dir.name)
        for figure in [*report.figures, *report.fit_figures]:
            path = figure_dir / f"{figure.name}.png"
            written.append(write_atomic(path, lambda tmp, png=figure.png: tmp.write_bytes(png)))
        written.insert(0, write_text_atomic(out, text))
    table = out.with_suffix(".csv")
    written.append(write_atomic(table, lambda tmp: report.table().to_csv(tmp, index=False)))
    return written


__all__ = ["render_html", "render_markdown", "write_report"]
