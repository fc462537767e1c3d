"""The request types every area checks the same way (ids, partner ids, one-line words, dates,
bodies of valid Unicode) and the error answers routes list for OpenAPI (`problems`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator

MAX_ID = 2**31 - 1  # ledger ids are 32-bit integers
PARTNER_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # also a folder and an SFTP user name: no slashes, no dots first
WORDS = r"^[^\x00-\x1f\x7f]*$"  # one line of text, no control characters

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PartnerQuery = Annotated[str | None, Query(pattern=PARTNER_ID, description="a partner id")]

_WHY = {
    400: "the request cannot be done as asked",
    401: "no bearer token, or an unknown or revoked one",
    403: "the token's role may not do this (the answer says which roles may)",
    404: "no such record",
    409: "clashes with the record as it stands",
    413: "the body is over the size that is taken",
    422: "a parameter or the body is not of the expected shape (the answer names each field)",
}
_PROBLEM = {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                                             "detail": {"type": "string"}}}


class ValidText(BaseModel):
    """A request body whose strings are all valid Unicode: JSON's `\\ud800` escapes give lone
    surrogates, which no database stores and no answer can carry."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        def check(value: Any) -> None:
            if isinstance(value, str):
                value.encode("utf-8")
            elif isinstance(value, dict):
                for key, item in value.items():
                    check(key)
                    check(item)
            elif isinstance(value, list):
                for item in value:
                    check(item)

        try:
            check(data)
        except UnicodeEncodeError:
            raise ValueError("the text is not valid Unicode (a lone surrogate such as \\ud800)") from None
        return data


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error answers (application/problem+json), so OpenAPI lists them."""
    return {status: {"description": _WHY[status], "content": {"application/problem+json": {"schema": _PROBLEM}}} for status in statuses}


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?")


def _day_or_moment(value: Any) -> Any:
    """`2024-05-01` is that whole day; with a time it is a moment (RFC 3339, UTC unless it says)."""
    if not isinstance(value, str):
        return value
    if not _RFC3339.fullmatch(text := value.strip()):
        raise ValueError("expected a date (2024-05-01) or a date and time (2024-05-01T13:30:00Z)")
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.upper().replace("Z", "+00:00"))


Moment = Annotated[datetime | date, BeforeValidator(_day_or_moment)]
Utc = Annotated[datetime, AfterValidator(lambda m: m if m.tzinfo else m.replace(tzinfo=UTC))]  # the ledger's times are UTC


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


def attachment(filename: str) -> str:
    """A Content-Disposition header for `filename` (any characters; a plain-ASCII fallback first)."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
