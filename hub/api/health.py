"""Liveness and readiness, open to anyone (load balancers and orchestrators do not carry tokens)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from hub.api.context import ApiContext


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/healthz", summary="The process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @routes.get("/readyz", summary="The ledger database is reachable", responses={503: {"description": "database unreachable"}})
    def readyz() -> dict[str, str]:
        try:
            with context.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means not ready
            raise HTTPException(503, f"ledger database unreachable: {type(exc).__name__}") from exc
        return {"status": "ready"}

    return routes
