"""Assembles the app: the context routes share, error answers, and each area's routes.

Errors are `application/problem+json` (RFC 9457) everywhere: HTTP errors, the hub's own errors
(not found 404, conflict 409, bad configuration or input 422, ERP unavailable 503) and request
bodies of the wrong shape (422, naming each field that is wrong).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from hub.api import audit, documents, exceptions, health, metrics, outbox, partners, reports, versions
from hub.api.context import ApiContext, problem
from hub.config import Settings
from hub.credentials import CredentialStore
from hub.db import make_engine
from hub.errors import Conflict, ConfigurationError, HubError, InputError, NotFound, PermanentError, TooLarge, TransientError
from hub.intake import Intake
from hub.ledger.store import Ledger
from hub.registry import Registry, load_registry

log = logging.getLogger("hub.api")

AREAS = (health, documents, exceptions, versions, partners, outbox, audit, reports, metrics)
_STATUS_OF = ((NotFound, 404), (Conflict, 409), (PermanentError, 409), (ConfigurationError, 422), (TooLarge, 413), (InputError, 422),
              (TransientError, 503))


def create_app(settings: Settings | None = None, intake: Intake | None = None, registry: Registry | None = None) -> FastAPI:
    """The app; `intake` is given by `hub serve` so that a webhook wakes the worker beside it."""
    settings = settings or Settings()
    engine = make_engine(settings.ledger_url)
    ledger = Ledger(engine)
    registry = registry or load_registry()
    context = ApiContext(settings, engine, ledger, intake or Intake(ledger),
                         CredentialStore.for_settings(settings, engine), registry)
    app = FastAPI(title="Partner hub", version="0.1.0", description="Integration hub and EDI gateway for wholesale distributors.")
    app.state.engine = engine
    app.state.context = context

    @app.exception_handler(HTTPException)
    async def http_problem(_request: Request, exc: HTTPException):
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(HubError)
    async def hub_problem(_request: Request, exc: HubError):
        status = next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), 400)
        return problem(status, str(exc))

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, exc: DataError):
        reason = str(exc.orig).splitlines()[0] if exc.orig else "the database refused it"
        return problem(422, f"a value in the request cannot be stored or searched for: {reason}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return problem(500, "the hub failed on this request; the error is in its log")

    @app.exception_handler(RequestValidationError)
    async def shape_problem(_request: Request, exc: RequestValidationError):
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}".encode("utf-8", "backslashreplace").decode() for e in exc.errors()]
        return problem(422, "the request is not of the expected shape: " + "; ".join(errors), errors=errors)

    for area in AREAS:
        app.include_router(area.router(context))
    for router_factory in registry.routers:
        app.include_router(router_factory(context))
    return app
