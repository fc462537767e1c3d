"""A report as a page a person reads in a browser or prints: the summary first, then the chart of
volume and exceptions by day, then one table per section with its totals in the footer.

The page stands alone: inline CSS, no script, nothing fetched (its Content-Security-Policy allows
only inline styles). Every title and value goes through html.escape, since partner text lands
in the cells.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from html import escape
from typing import Any

from hub.reports.model import Kind, Report, Section, Totals
from hub.reports.render import chart
from hub.reports.render.cells import NUMERIC_KINDS, display, nonempty

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1a1a1a; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .25rem; }
.meta, .description, .empty { color: #555; margin: 0 0 .75rem; }
.empty { font-style: italic; }
dl.figures { display: grid; grid-template-columns: max-content max-content; gap: .2rem 2rem; margin: .5rem 0; }
dl.figures dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.alarm { color: #b00020; font-weight: bold; }
dt.alarm::before { content: "! "; }
figure.chart { margin: 1.5rem 0; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #333; }
tbody tr:nth-child(even) { background: #f6f6f6; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: bold; border-top: 2px solid #333; border-bottom: none; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .alarm, tbody tr { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""


def text(report: Report) -> Iterator[str]:
    """The page, a row at a time."""
    title = escape(report.title)
    yield (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}, {escape(report.period.describe())}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f'<p class="meta">{escape(report.period.describe())}. Generated {escape(display(report.generated_at))}.</p>\n'
    )
    yield _summary(report)
    if report.by_day is not None and (drawing := chart.svg(report.by_day())):
        caption = "Documents received and exceptions raised per day (UTC)"
        yield f'<figure class="chart">\n{drawing}\n<figcaption>{caption}</figcaption>\n</figure>\n'
    for section in report.sections:
        yield from _section(section)
    yield "</body>\n</html>\n"


def _summary(report: Report) -> str:
    figures = []
    for f in report.summary:
        mark = ' class="alarm"' if f.alarm else ""
        figures.append(f"<dt{mark}>{escape(f.label)}</dt><dd{mark}>{escape(display(f.value, f.kind))}</dd>\n")
    return f'<section id="summary">\n<h2>Summary</h2>\n<dl class="figures">\n{"".join(figures)}</dl>\n</section>\n'


def _section(section: Section) -> Iterator[str]:
    yield f'<section id="{escape(section.name)}">\n<h2>{escape(section.title)}</h2>\n'
    if section.description:
        yield f'<p class="description">{escape(section.description)}</p>\n'
    rows = nonempty(section.rows())
    if rows is None:
        yield f'<p class="empty">{escape(section.empty)}</p>\n</section>\n'
        return
    kinds = [c.kind for c in section.columns]
    numeric = [' class="num"' if kind in NUMERIC_KINDS else "" for kind in kinds]
    opening = [f"<td{n}>" for n in numeric]
    titles = [c.title for c in section.columns]
    header = "".join(f'<th scope="col"{n}>{escape(title)}</th>' for title, n in zip(titles, numeric, strict=True))
    yield f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n"
    totals = Totals(section.columns)
    for row in totals.through(rows):
        yield _cells(row, kinds, opening)
    yield "</tbody>\n"
    if (total := totals.row()) is not None:
        yield "<tfoot>\n" + _cells(total, kinds, opening) + "</tfoot>\n"
    yield "</table>\n</section>\n"


def _cells(row: Sequence[Any], kinds: list[Kind], opening: list[str]) -> str:
    """A table row: each value shown as a person reads it, escaped."""
    cells = (f"{o}{escape(display(v, k))}</td>" for v, k, o in zip(row, kinds, opening, strict=True))
    return "<tr>" + "".join(cells) + "</tr>\n"
