"""The outbox: what we send partners, where each file stands, its bytes, and sending files again
(what `hub outbox` does; redelivery goes through the same Dispatcher.redeliver)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection, select

from hub.api.context import ApiContext
from hub.api.params import MAX_ID, PARTNER_ID, Id, PartnerQuery, Utc, ValidText, attachment, problems
from hub.api.security import allow, readers
from hub.audit import record
from hub.auth import Actor
from hub.delivery import Dispatcher, OutboxError
from hub.ledger import tables as t
from hub.ledger.tables import OUTBOX_STATUSES

OutboxStatus = Literal[OUTBOX_STATUSES]  # type: ignore[valid-type]


class OutboundFile(BaseModel):
    """One outbound file, without its bytes (`size` instead)."""

    id: int
    partner_id: str
    kind: str
    filename: str
    size: int
    status: OutboxStatus
    attempts: int = Field(description="attempts in the current round")
    last_error: str | None
    control_number: str | None
    interchange_id: int | None = Field(description="the inbound file it answers")
    document_id: int | None
    created_at: Utc
    delivered_at: Utc | None


class DeliveryAttempt(BaseModel):
    attempt: int
    method: str
    outcome: str
    status_code: int | None = Field(description="the partner's HTTP answer")
    error: str | None
    duration_ms: float
    at: Utc


class OutboundFileDetail(OutboundFile):
    delivery_attempts: list[DeliveryAttempt]


class Redelivery(ValidText):
    """Files to send again: by id (`{"ids": [...]}`), or every dead file of a partner
    (`{"partner": "P-SUMMIT", "dead": true}`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, min_length=1, max_length=1000)
    partner: Annotated[str, Field(pattern=PARTNER_ID)] | None = None
    dead: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> Redelivery:
        if (self.ids is None) == (self.partner is None) or self.dead != (self.partner is not None):
            raise ValueError('name the files to send again ({"ids": [...]}), or a partner\'s dead files ({"partner": ..., "dead": true})')
        return self


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["outbox"])
    ledger = context.ledger

    def found(outbox_id: int):
        row = ledger.outbox_file(outbox_id)
        if row is None:
            raise HTTPException(404, f"there is no outbound file {outbox_id}")
        return row

    @routes.get("/v1/outbox", dependencies=[Depends(readers)], responses=problems(401, 403, 422), summary="Outbound files, newest first")
    def outbox(partner: PartnerQuery = None, status: OutboxStatus | None = None,
               limit: int = Query(100, ge=1, le=1000)) -> list[OutboundFile]:
        return [OutboundFile.model_validate(row._mapping) for row in ledger.outbox_files(partner, status, limit)]

    @routes.get("/v1/outbox/{outbox_id}", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="One outbound file and every attempt to deliver it")
    def outbound_file(outbox_id: Id) -> OutboundFileDetail:
        row = found(outbox_id)
        attempts = [DeliveryAttempt.model_validate(a._mapping) for a in ledger.delivery_attempts(outbox_id)]
        return OutboundFileDetail.model_validate({**row._mapping, "delivery_attempts": attempts})

    @routes.get("/v1/outbox/{outbox_id}/content", dependencies=[Depends(readers)], response_class=Response,
                responses={200: {"description": "the file's bytes", "content": {"application/edi-x12": {}, "application/octet-stream": {}}},
                           **problems(401, 403, 404, 422)},
                summary="The bytes of an outbound file, as sent")
    def content(outbox_id: Id) -> Response:
        o = t.outbox.c
        with context.engine.connect() as conn:
            row = conn.execute(select(o.filename, o.content).where(o.id == outbox_id)).first()
        if row is None:
            raise HTTPException(404, f"there is no outbound file {outbox_id}")
        x12 = row.content.lstrip().startswith(b"ISA")
        return Response(row.content, media_type="application/edi-x12" if x12 else "application/octet-stream",
                        headers={"Content-Disposition": attachment(row.filename)})

    @routes.post("/v1/outbox/redeliver", responses=problems(400, 401, 403, 404, 422),
                 summary="Send files again: each is pending with a new round of attempts (pickup files are back in the folder at once)")
    def redeliver(body: Redelivery, caller: Actor = Depends(allow("operations"))) -> list[OutboundFile]:
        def audit(conn: Connection, ids: list[int]) -> None:
            o = t.outbox.c
            for row in conn.execute(select(o.id, o.status, o.attempts, o.last_error).where(o.id.in_(ids)).order_by(o.id)):
                record(conn, caller, "outbox.redeliver", f"outbox:{row.id}",
                       {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}, {"status": "pending", "attempts": 0})

        dispatcher = Dispatcher(context.settings, ledger, context.registry)
        try:
            ids = dispatcher.redeliver(body.ids or (), dead_of_partner=body.partner, audit=audit)
        except OutboxError as exc:  # an unknown file or partner: the body's shape is checked above
            raise HTTPException(404, str(exc)) from None
        return [OutboundFile.model_validate(found(outbox_id)._mapping) for outbox_id in ids]

    return routes
