"""The HTML report's chart: documents received and exceptions raised per day, as an inline SVG bar
chart (no script, nothing fetched). The plot keeps one width however many days it covers, so a
year stays readable: bars narrow, and only some days are labelled. Days are placed by date, so a
day missing from the data shows as a gap, not as its neighbour."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from html import escape

from hub.reports.model import DayVolume

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 36, 48  # margins around the plot: axis labels, legend
DOCUMENTS, EXCEPTIONS = "#3b6ea5", "#c8374a"
DAY_LABELS = 8  # at most this many days are written under the axis


def svg(by_day: Iterable[DayVolume]) -> str:
    """The chart, or "" when there are no days. The days are held while drawing (one small record
    a day: a year is 365)."""
    days = sorted(by_day, key=lambda d: d.day)
    if not days:
        return ""
    first, last = days[0].day, days[-1].day
    span = (last - first).days + 1
    highest = max(max(d.documents, d.exceptions) for d in days)
    step = _tick_step(highest)
    top = step * max(math.ceil(highest / step), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / span

    def y(count: int) -> float:
        return TOP + plot_h - plot_h * count / top

    documents = sum(d.documents for d in days)
    exceptions = sum(d.exceptions for d in days)
    summary = (
        f"{first.isoformat()} to {last.isoformat()}: {documents:,} documents received and "
        f"{exceptions:,} exceptions raised over {len(days):,} days with traffic."
    )
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            'role="img" aria-labelledby="chart-title chart-desc" font-size="11" font-family="sans-serif">'
        ),
        '<title id="chart-title">Documents and exceptions by day</title>',
        f'<desc id="chart-desc">{escape(summary)}</desc>',
        (
            f'<rect x="{LEFT}" y="10" width="10" height="10" fill="{DOCUMENTS}"/>'
            f'<text x="{LEFT + 14}" y="19">Documents received</text>'
            f'<rect x="{LEFT + 150}" y="10" width="10" height="10" fill="{EXCEPTIONS}"/>'
            f'<text x="{LEFT + 164}" y="19">Exceptions raised</text>'
        ),
    ]
    for tick in range(0, top + 1, step):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:,}</text>'
        )
    bar = slot * 0.4
    for d in days:
        x = LEFT + (d.day - first).days * slot + slot * 0.1
        bars = ((0, d.documents, DOCUMENTS, "documents"), (bar, d.exceptions, EXCEPTIONS, "exceptions"))
        for offset, count, colour, what in bars:
            if count:
                parts.append(
                    f'<rect x="{x + offset:.2f}" y="{y(count):.1f}" width="{bar:.2f}" height="{y(0) - y(count):.1f}" '
                    f'fill="{colour}"><title>{d.day.isoformat()}: {count:,} {what}</title></rect>'
                )
    every = math.ceil(span / DAY_LABELS)
    for n in range(0, span, every):
        day = first + timedelta(days=n)
        x = LEFT + (n + 0.5) * slot
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{day.isoformat()}</text>')
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#333"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">Day (UTC)</text>'
        f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">Per day</text>'
        "</svg>"
    )
    return "".join(parts)


def _tick_step(highest: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about four gridlines up to `highest`."""
    rough = max(highest / 4, 1)
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
