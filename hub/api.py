"""The HTTP API: health, received files, documents with their timeline, open exceptions; channels
add their own routes (the signed webhook, adapters/webhook) through the registry.

Errors are `application/problem+json` (RFC 9457): `title` is the status, `detail` says what is
wrong and where, in words for the person who sent the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select, text

from hub.config import Settings
from hub.credentials import CredentialStore
from hub.db import make_engine
from hub.intake import Intake
from hub.ledger import tables as t
from hub.ledger.store import Ledger
from hub.ledger.tables import IN_FLIGHT_STATES, SETTLED_STATES
from hub.registry import Registry, load_registry

STATES = IN_FLIGHT_STATES + SETTLED_STATES


@dataclass(frozen=True)
class ApiContext:
    """What routes get to work with (a channel's router factory receives it)."""

    settings: Settings
    engine: Engine
    ledger: Ledger
    intake: Intake
    credentials: CredentialStore
    registry: Registry


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


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

    @app.exception_handler(HTTPException)
    async def http_problem(_request: Request, exc: HTTPException):
        return problem(exc.status_code, str(exc.detail))

    for router_factory in registry.routers:
        app.include_router(router_factory(context))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means not ready
            raise HTTPException(503, f"ledger database unreachable: {type(exc).__name__}") from exc
        return {"status": "ready"}

    @app.get("/v1/documents")
    def documents(
        partner: str | None = None,
        state: str | None = Query(None, description=f"one of {', '.join(STATES)}"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        if state is not None and state not in STATES:
            raise HTTPException(422, f"state must be one of {', '.join(STATES)}")
        d = t.documents.c
        query = select(d.id, d.interchange_id, d.partner_id, d.doc_type, d.reference, d.state, d.holds, d.erp_ref, d.total, d.updated_at)
        if partner:
            query = query.where(d.partner_id == partner)
        if state:
            query = query.where(d.state == state)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(d.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    @app.get("/v1/interchanges/{interchange_id}")
    def interchange(interchange_id: int) -> dict[str, Any]:
        """A received file: where it came from, its status, and each document found in it."""
        found = ledger.received_files(interchange_id=interchange_id)
        if not found:
            raise HTTPException(404, f"no received file (interchange) {interchange_id}")
        return found[0]

    @app.get("/v1/documents/{document_id}")
    def document(document_id: int) -> dict[str, Any]:
        with engine.connect() as conn:
            row = conn.execute(select(t.documents).where(t.documents.c.id == document_id)).first()
            if row is None:
                raise HTTPException(404, f"no document {document_id}")
            events = conn.execute(
                select(t.events.c.from_state, t.events.c.to_state, t.events.c.detail, t.events.c.at)
                .where(t.events.c.document_id == document_id)
                .order_by(t.events.c.id)
            ).all()
            exceptions = conn.execute(select(t.exceptions).where(t.exceptions.c.document_id == document_id)).all()
        return {
            **dict(row._mapping),
            "events": [dict(e._mapping) for e in events],
            "exceptions": [dict(e._mapping) for e in exceptions],
        }

    @app.get("/v1/exceptions")
    def exceptions(queue: str | None = None, status: str = "open") -> list[dict[str, Any]]:
        x = t.exceptions.c
        query = select(t.exceptions).where(x.status == status)
        if queue:
            query = query.where(x.queue == queue)
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(x.due_at)).all()]

    return app
