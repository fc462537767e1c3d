"""The days and partner a report covers, checked as people type them."""

from __future__ import annotations

from datetime import date, timedelta

from hub.errors import InputError
from hub.reports.model import Period

DEFAULT_DAYS = 30  # without --from: the 30 days up to and including --to (today by default)
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
LONGEST = timedelta(days=3 * 366)  # three years: a year-end comparison fits, a typo like 2206 does not


def period(start: date | str | None, end: date | str | None, partner: str | None, known_partners, today: date) -> Period:
    """A Period, or InputError saying what is wrong. `known_partners`: the partner ids there are."""
    last = _day(end, "to") if end is not None else today
    first = _day(start, "from") if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            raise InputError(f"--{name} {day.isoformat()} is outside the years a report covers ({EARLIEST.year} to {LATEST.year})")
    if first > last:
        raise InputError(f"the period is reversed: --from {first.isoformat()} is after --to {last.isoformat()}")
    if last - first >= LONGEST:
        raise InputError(f"the period {first.isoformat()} to {last.isoformat()} is longer than three years; ask for less at a time")
    if partner is not None and partner not in known_partners:
        known = ", ".join(sorted(known_partners)) or "none yet"
        raise InputError(f"no partner {partner!r}; the partners are: {known}")
    return Period(first, last, partner)


def _day(value: date | str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--{name} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01") from None
