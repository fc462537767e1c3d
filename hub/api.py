"""The HTTP API (read side for now): health, documents with their timeline, open exceptions.

Errors are `application/problem+json`. Write endpoints (signed webhook intake, admin) come with
their issues; everything here reads the ledger only.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text

from hub.config import Settings
from hub.db import make_engine
from hub.ledger import tables as t
from hub.ledger.tables import IN_FLIGHT_STATES, SETTLED_STATES

STATES = IN_FLIGHT_STATES + SETTLED_STATES


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.ledger_url)
    app = FastAPI(title="Partner hub", version="0.1.0", description="Integration hub and EDI gateway for wholesale distributors.")
    app.state.engine = engine

    @app.exception_handler(HTTPException)
    async def problem(_request: Request, exc: HTTPException):
        return JSONResponse(
            {"type": "about:blank", "title": exc.detail, "status": exc.status_code},
            status_code=exc.status_code,
            media_type="application/problem+json",
        )

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
