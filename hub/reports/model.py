"""What a report is, whatever it is written as (hub.reports.render): a title, the period and
partner it covers, summary figures, and sections. A section is a table with typed columns whose
rows stream from the database each time they are asked for, so a year of traffic is never in
memory at once; the writers add each section's totals row as the rows go by.

Cell values are Python values, never preformatted text: str, int, Decimal (money, exact), date,
datetime (UTC) or None (an empty cell). A column's `kind` says how writers show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["text", "int", "money", "date", "datetime", "measure"]  # measure: hours, days, ms (one decimal)


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the field's name in JSON, e.g. "posted_amount"
    title: str  # the header people read, e.g. "Posted amount"
    kind: Kind = "text"
    total: bool = False  # summed in the section's totals row (int, money, hours)


class Totals:
    """The running sums of a section's totalled columns: ints stay int, money stays Decimal, an
    empty cell counts as nothing."""

    def __init__(self, columns: Sequence[Column]):
        self.columns = tuple(columns)
        self.summed = [(i, c.key) for i, c in enumerate(self.columns) if c.total]
        money = {c.key for c in self.columns if c.kind == "money"}
        self.sums: dict[str, Any] = {key: Decimal("0.00") if key in money else 0 for _, key in self.summed}
        self.count = 0

    def through(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """The rows unchanged, each added to the sums as it passes."""
        sums = self.sums
        for row in rows:
            self.count += 1
            for i, key in self.summed:
                if row[i] is not None:
                    sums[key] += row[i]
            yield row

    def row(self) -> list[Any] | None:
        """The totals row: "Total" in the first column that is not summed, the sums under their
        columns, other cells empty; None when nothing is summed or there were no rows."""
        if not self.summed or not self.count:
            return None
        cells = [self.sums.get(c.key) for c in self.columns]
        label_at = next((i for i, c in enumerate(self.columns) if not c.total), None)
        if label_at is not None:
            cells[label_at] = "Total"
        return cells


def column_sums(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """The totals of the `total` columns over `rows`, by column key."""
    totals = Totals(columns)
    for _ in totals.through(rows):
        pass
    return totals.sums


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # short id (at most 31 characters): the XLSX sheet, the JSON key, `--section`
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[], Iterable[Sequence[Any]]]  # a fresh stream at each call; one value per column
    description: str = ""  # one sentence under the title: what the table shows
    empty: str = "Nothing in this period."  # said instead of an empty table


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the summary, e.g. ("Documents received", 12)."""

    label: str
    value: Any  # int, Decimal, str or date
    kind: Kind = "int"
    alarm: bool = False  # the figure shows a problem (a break, an overdue acknowledgment)


@dataclass(frozen=True, slots=True)
class DayVolume:
    """One day of the HTML chart."""

    day: date
    documents: int  # documents received that day
    exceptions: int  # exceptions raised that day


@dataclass(frozen=True, slots=True)
class Period:
    """The days a report covers (UTC, both ends included), and the partner it is limited to."""

    start: date
    end: date
    partner: str | None = None

    def describe(self) -> str:
        days = f"{self.start.isoformat()} to {self.end.isoformat()}"
        return f"{days}, partner {self.partner}" if self.partner else f"{days}, all partners"


@dataclass(slots=True)
class Report:
    name: str  # e.g. "intake"
    title: str  # e.g. "Intake reconciliation"
    period: Period
    generated_at: datetime  # UTC
    summary: list[Figure] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    by_day: Callable[[], Iterable[DayVolume]] | None = None  # the HTML chart; None: no chart

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)
