"""Received files and the documents found in them: lists with filters, one document with its
timeline, and its parts (the raw file, the canonical document, the decision trace, the events)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import Connection, select

from hub.api.context import ApiContext
from hub.api.params import MAX_ID, WORDS, Id, Moment, PartnerQuery, attachment, problems
from hub.timespan import within
from hub.api.security import allow, readers
from hub.auth import STAFF, Actor
from hub.ledger import tables as t
from hub.ledger.tables import IN_FLIGHT_STATES, SETTLED_STATES

STATES = IN_FLIGHT_STATES + SETTLED_STATES
DocumentState = Literal[STATES]  # type: ignore[valid-type]
MEDIA_TYPES = {"x12": "application/edi-x12", "csv": "text/csv", "json": "application/json", "xml": "application/xml"}


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["documents"])
    engine, ledger = context.engine, context.ledger
    d = t.documents.c

    @routes.get("/v1/documents", dependencies=[Depends(readers)], responses=problems(401, 403, 422),
                summary="Documents, newest first, by partner, state, type, reference and when they came")
    def documents(
        partner: PartnerQuery = None,
        state: DocumentState | None = None,
        doc_type: str | None = Query(None, alias="type", max_length=16, pattern=WORDS, description="850, 856, 810, order ..."),
        reference: str | None = Query(None, max_length=100, pattern=WORDS, description="the PO, ASN, shipment or invoice number (exact)"),
        received_from: Moment | None = Query(None, description="received at or after (a date: from its start; a datetime, UTC unless it says)"),
        received_to: Moment | None = Query(None, description="received at or before (a date: to its end)"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_ID),
    ) -> list[dict[str, Any]]:
        query = select(d.id, d.interchange_id, d.partner_id, d.doc_type, d.reference, d.state, d.holds, d.erp_ref, d.total,
                       d.created_at, d.updated_at)
        for column, wanted in ((d.partner_id, partner), (d.state, state), (d.doc_type, doc_type), (d.reference, reference)):
            if wanted:
                query = query.where(column == wanted)
        query = query.where(*within(d.created_at, received_from, received_to))
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(d.id.desc()).limit(limit).offset(offset)).all()
        return [dict(r._mapping) for r in rows]

    @routes.get("/v1/interchanges/{interchange_id}", responses=problems(401, 403, 404, 422))
    def interchange(interchange_id: Id, caller: Actor = Depends(allow(*STAFF, "partner"))) -> dict[str, Any]:
        """A received file: where it came from, its status, and each document found in it. A
        partner's token reads the files that partner sent (the webhook's `Location`)."""
        found = ledger.received_files(interchange_id=interchange_id)
        if not found or (caller.role == "partner" and found[0]["partner_id"] != caller.partner_id):
            raise HTTPException(404, f"no received file (interchange) {interchange_id}")
        return found[0]

    def _document(conn: Connection, document_id: int) -> Any:
        row = conn.execute(select(t.documents).where(d.id == document_id)).first()
        if row is None:
            raise HTTPException(404, f"no document {document_id}")
        return row

    def _events(conn: Connection, document_id: int) -> list[dict[str, Any]]:
        e = t.events.c
        rows = conn.execute(select(e.from_state, e.to_state, e.detail, e.at).where(e.document_id == document_id).order_by(e.id)).all()
        return [dict(r._mapping) for r in rows]

    @routes.get("/v1/documents/{document_id}", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="One document: canonical form, decision trace, timeline and exceptions")
    def document(document_id: Id) -> dict[str, Any]:
        with engine.connect() as conn:
            row = _document(conn, document_id)
            exceptions = conn.execute(select(t.exceptions).where(t.exceptions.c.document_id == document_id)).all()
            return {**dict(row._mapping), "events": _events(conn, document_id), "exceptions": [dict(x._mapping) for x in exceptions]}

    @routes.get("/v1/documents/{document_id}/raw", dependencies=[Depends(readers)], response_class=Response,
                responses={200: {"description": "the bytes of the file the document came from",
                                 "content": {"application/octet-stream": {}, **{m: {} for m in MEDIA_TYPES.values()}}},
                           **problems(401, 403, 404, 422)},
                summary="The file the document came from, as received")
    def raw(document_id: Id) -> Response:
        i = t.interchanges.c
        with engine.connect() as conn:
            found = _document(conn, document_id)
            file = conn.execute(select(i.id, i.filename, i.format, i.raw).where(i.id == found.interchange_id)).one()
        name = PurePosixPath((file.filename or "").replace("\\", "/")).name or f"interchange-{file.id}"
        return Response(file.raw, media_type=MEDIA_TYPES.get(file.format or "", "application/octet-stream"),
                        headers={"Content-Disposition": attachment(name)})

    @routes.get("/v1/documents/{document_id}/canonical", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="The canonical document the mapping made (none when it was rejected before mapping)")
    def canonical(document_id: Id) -> dict[str, Any]:
        with engine.connect() as conn:
            found = _document(conn, document_id)
        if found.canonical is None:
            raise HTTPException(404, f"document {document_id} has no canonical form: it is {found.state} and was not mapped")
        return found.canonical

    @routes.get("/v1/documents/{document_id}/trace", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="The decision trace: each rule that decided, its ruleset version, inputs and action")
    def trace(document_id: Id) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return _document(conn, document_id).decisions or []

    @routes.get("/v1/documents/{document_id}/events", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="The timeline: every state the document went through, with details")
    def events(document_id: Id) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            _document(conn, document_id)
            return _events(conn, document_id)

    return routes
