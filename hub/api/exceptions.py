"""Exception queues: list, assign, resolve with an action (hub.document_actions); and reprocess."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from hub import document_actions
from hub.api.context import ApiContext
from hub.api.params import MAX_ID, Id, ValidText, problems
from hub.api.security import allow, readers
from hub.auth import Actor



class Assign(ValidText):
    assignee: str | None = Field(..., max_length=100, description="who works it; null to unassign")


class Resolve(ValidText):
    action: Literal["release", "override_price", "accept_over_shipment", "approve_invoice", "reject"]
    prices: dict[Annotated[int, Field(ge=1, le=1_000_000)], Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=4)]] | None = Field(None, description="override_price: order line number -> unit price (default: the customer's own prices)")
    note: str | None = Field(None, max_length=1000)


class Reprocess(ValidText):
    document_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=1000)
    partner: str | None = Field(None, description="with state: every such document of this partner")
    state: Literal["held", "rejected"] | None = None


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["exceptions"], responses=problems(401, 403, 404, 409, 422))
    operations = allow("operations")

    @routes.get("/v1/exceptions", dependencies=[Depends(readers)], summary="exceptions, most urgent first")
    def exceptions(queue: str | None = None, status: Literal["open", "resolved"] | None = "open", assignee: str | None = None,
                   older_than_hours: float | None = Query(None, ge=0, le=100_000), overdue: bool | None = None,
                   limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
        return document_actions.exceptions(context.engine, queue, status, assignee, older_than_hours, overdue, limit)

    @routes.post("/v1/exceptions/{exception_id}/assign", summary="give an exception to someone")
    def assign(exception_id: Id, ask: Assign, actor: Actor = Depends(operations)) -> dict[str, Any]:
        return document_actions.assign(context.engine, exception_id, ask.assignee, actor)

    @routes.post("/v1/exceptions/{exception_id}/resolve", summary="resolve an exception; its document goes on from where it stopped")
    def resolve(exception_id: Id, ask: Resolve, actor: Actor = Depends(operations)) -> dict[str, Any]:
        return document_actions.resolve(context.hub(), exception_id, ask.action, actor, ask.prices, ask.note)

    @routes.post("/v1/documents/reprocess", tags=["documents"], summary="run held or rejected documents again")
    def reprocess(ask: Reprocess, actor: Actor = Depends(operations)) -> dict[str, Any]:
        ids = document_actions.chosen_documents(context.engine, ask.document_ids, ask.partner, ask.state)
        results = document_actions.reprocess(context.hub(), ids, actor)
        return {"documents": len(results), "results": results}

    return routes
