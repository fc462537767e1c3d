"""Bearer-token checks for routes: `Depends(allow("operations"))` lets operations (and admin) in.

No token or an unknown one is 401; a token whose role may not do this is 403 saying which roles
may. Partner tokens are refused everywhere but their own webhook (adapters/webhook)."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.auth import STAFF, Actor, actor_for

bearer = HTTPBearer(auto_error=False, description="A token from `hub token create`")


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    if credentials is None:
        raise HTTPException(401, "this needs a bearer token (Authorization: Bearer <token from `hub token create`>)",
                            headers={"WWW-Authenticate": "Bearer"})
    actor = actor_for(request.app.state.engine, credentials.credentials)
    if actor is None:
        raise HTTPException(401, "the bearer token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    return actor


def allow(*roles: str):
    """A dependency that returns the caller when its role is one of `roles` (admin always is)."""
    allowed = ("admin", *roles)

    def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
        actor = authenticate(request, credentials)
        if actor.role not in allowed:
            raise HTTPException(403, f"token {actor.name!r} has role {actor.role}; {request.method} {request.url.path}"
                                     f" needs one of: {', '.join(allowed)}")
        return actor

    return caller


readers = allow(*STAFF)  # every staff role may read the hub's records
