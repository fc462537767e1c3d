"""Bounds of a time range as people give them: a date means that whole day, a time without a zone
is UTC (the ledger's times are UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement


def utc(moment: datetime | date, end: bool = False) -> datetime:
    """A query bound as an aware UTC moment: a day starts at its midnight, or with `end` ends at the
    next one (exclusive); a moment without a zone is UTC. Bounds past what datetimes hold are
    held at the first or last moment."""
    try:
        if not isinstance(moment, datetime):
            start = datetime.combine(moment, time.min, UTC)
            return start + timedelta(days=1) if end else start
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return (datetime.max if moment.year > 1 else datetime.min).replace(tzinfo=UTC)


def within(column: Any, start: datetime | date | None, end: datetime | date | None) -> list[ColumnElement]:
    """Conditions for `column` between `start` and `end`, both included (an end date up to its last moment)."""
    conditions = []
    if start is not None:
        conditions.append(column >= utc(start))
    if end is not None:
        until = utc(end, end=True)
        conditions.append(column <= until if isinstance(end, datetime) else column < until)
    return conditions
