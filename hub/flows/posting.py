"""Posting to the ERP from a flow: every attempt recorded, failures turned into holds."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from hub.errors import PermanentError, TransientError
from hub.holds import Hold

T = TypeVar("T")
TARGET = "reference-erp"


def post(doc, amount: Decimal | None, call: Callable[[Callable], T]) -> T | None:
    """Run `call(on_attempt)` against the ERP. None when it failed: the document is then held in
    queue `erp` (ERP_REJECTED, or ERP_UNAVAILABLE once retries ran out) and its attempts recorded."""
    try:
        result = call(doc.attempts.append)
    except PermanentError as exc:
        doc.record_postings(TARGET, amount)
        doc.hold([Hold("ERP_REJECTED", "erp", str(exc))])
        return None
    except TransientError as exc:
        doc.record_postings(TARGET, amount)
        doc.hold([Hold("ERP_UNAVAILABLE", "erp", f"the ERP could not be reached after retries: {exc}")])
        return None
    return result
