"""A report as CSV for Excel and for scripts: UTF-8 with a byte-order mark (so Excel reads accents),
rows ending in CRLF, money as its exact digits (1830.00), days and moments ISO (UTC), partner text
that a spreadsheet would run as a formula behind an apostrophe.

The whole report is a Summary block (report title, period, generated at, one row per figure),
a blank row, then for each section its title, the header, the rows, the totals row and a blank
row; an empty section has its message instead of a header and rows. With a section, the text is
that table alone (header and rows) for a program to read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from hub.reports.model import Report, Section, Totals
from hub.reports.render.cells import nonempty, plain


def text(report: Report, section: Section | None = None) -> Iterator[str]:
    """The CSV, a line at a time."""
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _table(section) if section else _report(report):
        writer.writerow([plain(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _table(section: Section) -> Iterator[list[Any]]:
    yield [c.title for c in section.columns]
    yield from section.rows()


def _report(report: Report) -> Iterator[list[Any]]:
    yield ["Summary"]
    yield ["Report", report.title]
    yield ["Period", report.period.describe()]
    yield ["Generated at", report.generated_at]
    for figure in report.summary:
        yield [figure.label, figure.value]
    yield []
    for section in report.sections:
        yield [section.title]
        rows = nonempty(section.rows())
        if rows is None:
            yield [section.empty]
        else:
            totals = Totals(section.columns)
            yield [c.title for c in section.columns]
            yield from totals.through(rows)
            if (total := totals.row()) is not None:
                yield total
        yield []
