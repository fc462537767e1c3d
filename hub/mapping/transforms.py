"""The fixed set of value transforms a mapping may name.

A transform is built once, when the mapping is compiled, from its name and the field's options
(`build(name, options, tables)`), and then called for every value. A value the transform cannot
accept raises `ValueRejected(expected)`; the engine turns it into a located Problem such as
`quantity "twelve" is not a whole number`. A wrong option (an unknown table, a bad date format)
raises `ValueError` at compile time, which the loader reports as a ConfigurationError.

    date           text -> date. `format`: one strptime format or a list (first that fits);
                   without one, ISO 8601: a date, or a datetime whose date part is kept as written
    decimal        text or number -> Decimal (plain notation: 12, -3.5, .25; no exponent, NaN or inf)
    int            text or number -> int, whole numbers only ("24" yes, "24.5" and "abc" no)
    upper, strip   text (a number is first written as text)
    lookup         `table`: the value must be a key of the mapping's table; gives the table's value
    qualified_ids  a flat list [qualifier, id, qualifier, id, ...] (X12 PO106..PO125) ->
                   {ItemIds field: id} through `table` (qualifier -> field); unknown qualifiers are
                   skipped, the first id for a field wins; at least one known qualifier is required
    implied_decimal  a whole number with `places` (default 2) implied decimal places -> Decimal
                   (X12 type N2, e.g. TDS01 and SAC05: "364200" -> 3642.00)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Transform = Callable[[Any], Any]

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_MAX_DIGITS = 30
_WHOLE = re.compile(r"[+-]?\d{1,%d}" % _MAX_DIGITS)


class ValueRejected(Exception):
    """The value does not fit the transform; `expected` completes "... is not <expected>"."""

    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueRejected("text")


def _upper(value: Any) -> str:
    return _text(value).upper()


def _strip(value: Any) -> str:
    return _text(value).strip()


def _decimal(value: Any) -> Decimal:
    if isinstance(value, str):
        if _DECIMAL.fullmatch(text := value.strip()):
            return Decimal(text)
    elif isinstance(value, Decimal):
        if value.is_finite():
            return value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        return Decimal(str(value))
    raise ValueRejected("a decimal number")


def _int(value: Any) -> int:
    if isinstance(value, str):
        if _WHOLE.fullmatch(text := value.strip()):
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() < _MAX_DIGITS:  # never build a million-digit int from "1E+1000000"
            return int(value)
    raise ValueRejected("a whole number")


def _iso_date(value: Any) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            try:
                return datetime.fromisoformat(text).date()
            except ValueError:
                pass
    raise ValueRejected("an ISO 8601 date or date-time")


# Formats date.fromisoformat reads exactly (and ten times faster than strptime), when the text
# has this shape: X12's CCYYMMDD above all.
_ISO_SHAPES = {"%Y%m%d": re.compile(r"\d{8}"), "%Y-%m-%d": re.compile(r"\d{4}-\d{2}-\d{2}")}


def _parse_date(text: str, fmt: str) -> date:
    shape = _ISO_SHAPES.get(fmt)
    if shape is not None:
        if not shape.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    return datetime.strptime(text, fmt).date()


def _date(options: Mapping[str, Any], tables: Mapping[str, dict]) -> Transform:
    formats = options.get("format")
    if formats is None:
        return _iso_date
    formats = [formats] if isinstance(formats, str) else formats
    if not formats or not all(isinstance(f, str) and "%" in f for f in formats):
        raise ValueError(f"format must be a strptime format such as %Y%m%d, or a list of them; got {formats!r}")
    expected = "a date in the form " + " or ".join(formats)

    def to_date(value: Any) -> date:
        if isinstance(value, str):
            for fmt in formats:
                try:
                    return _parse_date(value.strip(), fmt)
                except ValueError:
                    continue
        raise ValueRejected(expected)

    return to_date


def _table(options: Mapping[str, Any], tables: Mapping[str, dict]) -> dict:
    name = options.get("table")
    if name not in tables:
        known = ", ".join(sorted(tables)) or "none"
        raise ValueError(f"table {name!r} is not defined under tables: (defined: {known})")
    return tables[name]


def _lookup(options: Mapping[str, Any], tables: Mapping[str, dict]) -> Transform:
    table = _table(options, tables)
    expected = "one of " + ", ".join(map(str, table)) + f" (table {options['table']})"

    def lookup(value: Any) -> Any:
        try:
            return table[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value (a list or an object)
            raise ValueRejected(expected) from None

    return lookup


def _qualified_ids(options: Mapping[str, Any], tables: Mapping[str, dict]) -> Transform:
    table = _table(options, tables)
    expected = "a list of qualifier/id pairs with a known qualifier (" + ", ".join(map(str, table)) + ")"

    def qualified_ids(value: Any) -> dict[str, str]:
        if not isinstance(value, list):
            raise ValueRejected(expected)
        ids: dict[str, str] = {}
        for qualifier, item_id in zip(value[::2], value[1::2]):
            field = table.get(qualifier) if isinstance(qualifier, str) else None
            if field and item_id and field not in ids:
                ids[field] = item_id
        if not ids:
            raise ValueRejected(expected)
        return ids

    return qualified_ids


def _implied_decimal(options: Mapping[str, Any], tables: Mapping[str, dict]) -> Transform:
    """A whole number with `places` implied decimal places (X12 type N2: "364200" is 3642.00)."""
    places = options.get("places", 2)
    if not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 6:
        raise ValueError(f"places must be a whole number from 0 to 6, got {places!r}")
    def implied_decimal(value: Any) -> Decimal:
        try:
            whole = _int(value)
        except ValueRejected:
            raise ValueRejected(f"a whole number with {places} implied decimal places") from None
        return Decimal(whole).scaleb(-places)

    return implied_decimal


def _simple(transform: Transform) -> Callable[[Mapping[str, Any], Mapping[str, dict]], Transform]:
    return lambda options, tables: transform


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Mapping[str, dict]], Transform]] = {
    "date": _date,
    "decimal": _simple(_decimal),
    "int": _simple(_int),
    "upper": _simple(_upper),
    "strip": _simple(_strip),
    "lookup": _lookup,
    "qualified_ids": _qualified_ids,
    "implied_decimal": _implied_decimal,
}

NAMES = tuple(_BUILDERS)

# The options each transform reads; any other key on a field spec is a configuration error.
OPTIONS = {"date": {"format"}, "lookup": {"table"}, "qualified_ids": {"table"}, "implied_decimal": {"places"}}


def build(name: str, options: Mapping[str, Any], tables: Mapping[str, dict]) -> Transform:
    """The transform `name` configured with the field's `options`; ValueError when misconfigured."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(NAMES)})")
    return _BUILDERS[name](options, tables)
