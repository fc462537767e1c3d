"""What routes work with, and the one shape of every error answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from hub.config import Settings
from hub.credentials import CredentialStore
from hub.intake import Intake
from hub.ledger.store import Ledger
from hub.registry import Registry

if TYPE_CHECKING:
    from hub.pipeline import Hub


@dataclass(frozen=True)
class ApiContext:
    """What routes get to work with (a channel's router factory receives it)."""

    settings: Settings
    engine: Engine
    ledger: Ledger
    intake: Intake
    credentials: CredentialStore
    registry: Registry
    _hub: list = field(default_factory=list, repr=False)
    _hub_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hub(self) -> Hub:
        """The pipeline, for requests that run documents (reprocess, resolve, test, dry-run);
        made on first use, as most API nodes never need it."""
        with self._hub_lock:
            if not self._hub:
                from hub.pipeline import Hub

                self._hub.append(Hub(self.settings, self.registry))
            return self._hub[0]


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    """An `application/problem+json` answer (RFC 9457): `title` is the status, `detail` says what
    is wrong and where, in words for the person who sent the request."""
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate from the request is shown, not fatal
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)
