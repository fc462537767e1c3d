"""A report as JSON for programs, written a row at a time (the structure by hand, each value through
json.dumps) so a long section never sits in memory. Money is a string of its exact digits
("1830.00"), counts are numbers, days and moments ISO strings (UTC), an empty cell null.

The whole report:

    {"report": name, "title": ..., "period": {"from": "2026-11-01", "to": "2026-11-30", "partner": null},
     "generated_at": "2026-12-01T08:00:00Z",
     "summary": [{"label": ..., "value": ..., "kind": "int", "alarm": false}, ...],
     "sections": [{"name": ..., <section members>}, ...]}

where the section members are "title", "description", "columns" ([{"key", "title", "kind"}]),
"rows" ([{key: value}]), "totals" ({key: sum} of the totalled columns, or null when nothing is
summed or there are no rows) and, only when there are no rows, "empty" (the section's message).

With a section, one object: {"report": name, "period": {...}, "generated_at": ...,
"section": name, <section members>}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hub.reports.model import Report, Section, Totals
from hub.reports.render.cells import exact


def text(report: Report, section: Section | None = None) -> Iterator[str]:
    """The JSON, a piece at a time."""
    yield "{" + _member("report", report.name) + ("" if section else ", " + _member("title", report.title))
    yield ", " + _member("period", _period(report)) + ", " + _member("generated_at", report.generated_at)
    if section:
        yield ", " + _member("section", section.name)
        yield from _members(section)
        yield "}\n"
        return
    figures = ({"label": f.label, "value": f.value, "kind": f.kind, "alarm": f.alarm} for f in report.summary)
    yield ', "summary": [' + ", ".join(_dumps(figure) for figure in figures) + "]"
    yield ', "sections": ['
    for n, each in enumerate(report.sections):
        yield (", " if n else "") + "{" + _member("name", each.name)
        yield from _members(each)
        yield "}"
    yield "]}\n"


def _members(section: Section) -> Iterator[str]:
    """A section's members after its name, its rows streamed."""
    yield ", " + _member("title", section.title) + ", " + _member("description", section.description)
    yield ", " + _member("columns", [{"key": c.key, "title": c.title, "kind": c.kind} for c in section.columns])
    yield ', "rows": ['
    keys = [c.key for c in section.columns]
    totals = Totals(section.columns)
    for n, row in enumerate(totals.through(section.rows())):
        yield (",\n" if n else "\n") + _dumps(dict(zip(keys, row, strict=True)))
    yield "], " + _member("totals", totals.sums if totals.row() is not None else None)
    if not totals.count:
        yield ", " + _member("empty", section.empty)


def _period(report: Report) -> dict[str, Any]:
    period = report.period
    return {"from": period.start, "to": period.end, "partner": period.partner}


def _member(key: str, value: Any) -> str:
    return _dumps(key) + ": " + _dumps(value)


def _dumps(value: Any) -> str:
    """JSON of a value; money, days and moments (which json does not know) as their exact text."""
    return json.dumps(value, ensure_ascii=False, default=exact)
