"""Writers that turn a Report (hub.reports.model) into bytes: xlsx, csv, html or json, written to a
file or streamed as chunks to an HTTP response. Rows are written as they come from the report,
so a long report never sits in memory: the text formats go out in batches of about 64 KB, the
workbook is built in a temporary file and then read out in chunks.

`section` names one table of the report, for csv and json only: that table alone, for a program.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from hub.errors import InputError
from hub.reports.model import Report, Section
from hub.reports.render import csv_text, html_page, json_text, xlsx_book

FORMATS = ("xlsx", "csv", "html", "json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}
SUFFIXES = {fmt: "." + fmt for fmt in FORMATS}
CHUNK = 64 * 1024
SECTION_FORMATS = ("csv", "json")


def write(report: Report, fmt: str, out: BinaryIO, section: str | None = None) -> None:
    """The report as `fmt` into `out`, any binary stream (seekable or not)."""
    out.writelines(chunks(report, fmt, section))


def chunks(report: Report, fmt: str, section: str | None = None) -> Iterator[bytes]:
    """The report as `fmt`, in chunks of about 64 KB made as the rows go by. The format and the
    section are checked here, before the first chunk, so a caller can still answer with an error."""
    only = _section(report, fmt, section)
    if fmt == "xlsx":
        return _workbook(report)
    if fmt == "html":
        return _encoded(html_page.text(report))
    return _encoded((csv_text if fmt == "csv" else json_text).text(report, only))


def _section(report: Report, fmt: str, name: str | None) -> Section | None:
    if fmt not in FORMATS:
        raise InputError(f"there is no report format {fmt!r}: the formats are {', '.join(FORMATS)}")
    if name is None:
        return None
    if fmt not in SECTION_FORMATS:
        raise InputError(f"--section applies to csv and json, not {fmt}: {fmt} always has the whole report")
    found = report.section(name)
    if found is None:
        names = ", ".join(s.name for s in report.sections) or "none"
        raise InputError(f"the {report.name} report has no section {name!r}: its sections are {names}")
    return found


def _encoded(pieces: Iterator[str]) -> Iterator[bytes]:
    """UTF-8 of the pieces, gathered into chunks of about 64 KB."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(batch).encode()
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode()


def _workbook(report: Report) -> Iterator[bytes]:
    """The workbook, built in a temporary file (on disk past a few MB), then read out."""
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as book:
        xlsx_book.write(report, book)
        book.seek(0)
        while chunk := book.read(CHUNK):
            yield chunk
