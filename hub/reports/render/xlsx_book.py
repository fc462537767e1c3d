"""A report as an Excel workbook: a Summary sheet, then one sheet per section with a bold header
row, frozen panes, an autofilter, the rows, and a bold totals row of SUM formulas.

xlsxwriter's constant_memory mode writes each row to disk when the next one starts, so a year of
rows never sits in memory; column widths are only written when the workbook closes, so the width
that fits each column's longest text (tracked as the rows go by) is set at the end.

Numbers and days are real cells: counts `#,##0`, money `#,##0.00`, measures (hours, days, ms) `0.0`, days and moments
as dates (moments in UTC). Money goes in as a float, which is exact to the cent below 10^13 (a
double carries 15 significant digits); the exact digits are in the CSV and JSON. A SUM formula
carries the sum computed here as its cached result, so a reader that does not calculate still
sees the total. Text is always written as text, partner text that Excel would take for a
formula behind an apostrophe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any, ClassVar

from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Format
from xlsxwriter.worksheet import Worksheet

from hub.reports.model import Kind, Report, Section, Totals
from hub.reports.render.cells import display, neutralised
from hub.timespan import utc

NUMBER_FORMATS: dict[str, str] = {"int": "#,##0", "money": "#,##0.00", "measure": "0.0"}
DATE_FORMAT, MOMENT_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
WIDEST = 60  # characters: a column never gets wider than this
FORBIDDEN_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def write(report: Report, file: IO[bytes]) -> None:
    """The workbook into `file` (a seekable binary file)."""
    book = Workbook(file, {"constant_memory": True})
    try:
        styles = _Styles(book)
        taken = {"history"}  # Excel reserves this sheet name
        _summary(report, _Sheet(book.add_worksheet(_sheet_name("Summary", taken)), styles))
        for section in report.sections:
            _section(section, _Sheet(book.add_worksheet(_sheet_name(section.name, taken)), styles))
    finally:
        book.close()


def _summary(report: Report, sheet: _Sheet) -> None:
    # the title may run over the next cells: it does not widen column A
    sheet.ws.write_string(0, 0, neutralised(report.title), sheet.styles.get(None, "title"))
    sheet.row(1, ["Period", report.period.describe()], ["text", "text"])
    sheet.row(2, ["Generated at", report.generated_at], ["text", "datetime"])
    sheet.row(4, ["Summary", "Value"], ["text", "text"], "header")
    for n, figure in enumerate(report.summary, start=5):
        sheet.row(n, [figure.label, figure.value], ["text", figure.kind], "alarm" if figure.alarm else "plain")
    sheet.fit()


def _section(section: Section, sheet: _Sheet) -> None:
    kinds = [c.kind for c in section.columns]
    width = len(kinds)
    sheet.row(0, [c.title for c in section.columns], ["text"] * width, "header")
    sheet.ws.freeze_panes(1, 0)
    totals = Totals(section.columns)
    last = 0
    for last, row in enumerate(totals.through(section.rows()), start=1):
        sheet.row(last, row, kinds)
    if not last:
        sheet.row(1, [section.empty], ["text"])
    else:
        sheet.ws.autofilter(0, 0, last, width - 1)
        if (total := totals.row()) is not None:
            sheet.totals(last + 1, total, kinds, [c.total for c in section.columns])
    sheet.fit()


class _Styles:
    """The workbook's cell formats, made once each: by number format and by look (plain, bold
    header, bold totals, red alarm)."""

    LOOKS: ClassVar[dict[str, dict[str, Any]]] = {
        "plain": {},
        "title": {"bold": True, "font_size": 14},
        "header": {"bold": True, "bottom": 1},
        "total": {"bold": True, "top": 1},
        "alarm": {"bold": True, "font_color": "#B00020"},
    }

    def __init__(self, book: Workbook):
        self.book = book
        self.made: dict[tuple[str | None, str], Format | None] = {}

    def get(self, number_format: str | None, look: str) -> Format | None:
        key = (number_format, look)
        if key not in self.made:
            properties = dict(self.LOOKS[look], **({"num_format": number_format} if number_format else {}))
            self.made[key] = self.book.add_format(properties) if properties else None
        return self.made[key]


class _Sheet:
    """A worksheet being written a row at a time, remembering each column's widest text."""

    def __init__(self, ws: Worksheet, styles: _Styles):
        self.ws = ws
        self.styles = styles
        self.widths: dict[int, int] = {}

    def row(self, n: int, values: Iterable[Any], kinds: Sequence[Kind], look: str = "plain") -> None:
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            if value is not None:
                self.cell(n, col, value, kind, look)

    def totals(self, n: int, values: Sequence[Any], kinds: Sequence[Kind], summed: Sequence[bool]) -> None:
        """The totals row under rows 2 to n: SUM formulas over the column, the sum as their cached value."""
        for col, (value, kind, is_sum) in enumerate(zip(values, kinds, summed, strict=True)):
            if is_sum:
                column = xl_col_to_name(col)
                look = self.styles.get(NUMBER_FORMATS.get(kind), "total")
                self.ws.write_formula(n, col, f"=SUM({column}2:{column}{n})", look, float(value))
                self._widen(col, len(display(value, kind)))
            elif value is not None:
                self.cell(n, col, value, kind, "total")

    def cell(self, n: int, col: int, value: Any, kind: Kind, look: str) -> None:
        """One value as a cell of its type, its column widened to the text Excel will show."""
        if isinstance(value, str):
            text = neutralised(value)
            self.ws.write_string(n, col, text, self.styles.get(None, look))
            shown = len(text)
        elif isinstance(value, datetime):
            self.ws.write_datetime(n, col, utc(value).replace(tzinfo=None), self.styles.get(MOMENT_FORMAT, look))
            shown = len(MOMENT_FORMAT)
        elif isinstance(value, date):
            self.ws.write_datetime(n, col, value, self.styles.get(DATE_FORMAT, look))
            shown = len(DATE_FORMAT)
        else:
            self.ws.write_number(n, col, float(value), self.styles.get(NUMBER_FORMATS.get(kind), look))
            shown = len(display(value, kind))
        self._widen(col, shown)

    def _widen(self, col: int, shown: int) -> None:
        if shown > self.widths.get(col, 0):
            self.widths[col] = shown

    def fit(self) -> None:
        """Each column as wide as its widest text (to a limit); xlsxwriter writes widths at close."""
        for col, chars in self.widths.items():
            self.ws.set_column(col, col, min(chars, WIDEST) + 2)


def _sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name for `name`: forbidden characters replaced, at most 31 characters, no
    quote at either end, unique regardless of case (Excel's rule)."""
    base = FORBIDDEN_IN_SHEET_NAMES.sub("_", name)[:31].strip("'") or "Sheet"
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate
