"""What every writer does to a cell or a row: neutralise partner text that a spreadsheet would run
as a formula, write exact text of a value, show a value to a person."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from hub.reports.model import Kind
from hub.timespan import utc

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_KINDS = frozenset({"int", "money", "measure"})
CENTS = Decimal("0.01")


def neutralised(text: str) -> str:
    """Text a spreadsheet would take for a formula, behind an apostrophe (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iso(moment: datetime) -> str:
    """A moment as ISO 8601 in UTC, e.g. 2026-11-19T08:30:00Z (a moment without a zone is UTC)."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact(value: Any) -> str:
    """A number, day or moment as machine-readable text: money with its exact digits, dates ISO."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plain(value: Any) -> str:
    """A cell as CSV text: empty for None, partner text neutralised, everything else exact."""
    if value is None:
        return ""
    return neutralised(value) if isinstance(value, str) else exact(value)


def display(value: Any, kind: Kind = "text") -> str:
    """A cell as a person reads it: 3,642.00 for money (at least the cents, never rounded, never
    through float), 1,204 for counts, 2026-11-19 08:30 UTC for moments."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return utc(value).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "money" and isinstance(value, int | Decimal):
        money = Decimal(value)
        return format(money.quantize(CENTS) if money.as_tuple().exponent > -2 else money, ",f")
    if isinstance(value, Decimal):
        return format(value, ",f")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def nonempty(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]] | None:
    """The rows again, or None when there are none (a writer that shows a message instead of an
    empty table has to know before it starts the table)."""
    stream = iter(rows)
    first = next(stream, None)
    return None if first is None else chain((first,), stream)
