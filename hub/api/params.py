"""The request types every area checks the same way (ids, partner ids, one-line words, dates,
bodies of valid Unicode, raw bodies within a size) and the error answers routes list for OpenAPI
(`problems`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import HTTPException, Path, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator

from hub.errors import TooLarge
from hub.timespan import utc

DRAIN_FACTOR = 4  # an oversized body is read and dropped up to this many times the limit
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
Utc = Annotated[datetime, AfterValidator(utc)]  # the ledger's times are UTC (SQLite gives them without a zone)


def attachment(filename: str) -> str:
    """A Content-Disposition header for `filename` (any characters; a plain-ASCII fallback first)."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def read_body(request: Request, limit: int, advice: str = "") -> bytes:
    """A raw body, counted as it arrives. Over `limit` it is TooLarge (413), after reading a
    bounded excess (DRAIN_FACTOR times the limit) so the sender is still listening for the answer;
    a body announced past that is refused before it is sent."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HTTPException(400, f"Content-Length {declared!r} is not a number")
    too_big = TooLarge(f"the body is over the limit of {limit:,} bytes" + (f"; {advice}" if advice else ""))
    if declared is not None and int(declared) > limit * DRAIN_FACTOR:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit * DRAIN_FACTOR:
            break
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise too_big
    return b"".join(chunks)
