"""The audit log: who changed what, when, with the value before and after (admin and finance)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.api.context import ApiContext
from hub.api.params import WORDS, Moment, Utc, problems
from hub.timespan import utc
from hub.api.security import allow
from hub.audit import entries


class AuditEntry(BaseModel):
    id: int
    at: Utc
    actor: str
    role: str
    action: str
    target: str
    before: Any
    after: Any


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["audit"])

    @routes.get("/v1/audit", dependencies=[Depends(allow("finance"))], responses=problems(401, 403, 422),
                summary="Audit entries, newest first")
    def audit(
        actor: str | None = Query(None, max_length=100, pattern=WORDS, description="the token name (or cli:<user>) that made the change"),
        target: str | None = Query(None, max_length=200, pattern=WORDS, description="a prefix: `partner:` gives every partner change"),
        action: str | None = Query(None, max_length=64, pattern=WORDS, description="e.g. partner.update, outbox.redeliver"),
        since: Moment | None = Query(None, description="at or after this moment (a date: from its start; UTC unless it says)"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[AuditEntry]:
        found = entries(context.engine, actor, target, action, None if since is None else utc(since), limit)
        return [AuditEntry.model_validate(e) for e in found]

    return routes
