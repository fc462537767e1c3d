"""Who may call the HTTP API: bearer tokens, each with one role.

A token is shown once, when `hub token create` makes it; the ledger keeps only its SHA-256, so a
leaked database does not leak a usable token. Roles:

    admin        everything
    integration  partners, mappings and rulesets (change); read the rest
    operations   documents, exceptions and the outbox (change); read the rest
    finance      reports and the audit log; read the rest
    partner      its own webhook (`POST /v1/inbound/<its id>`) and nothing else
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hub.db import writer
from hub.errors import Conflict, HubError, NotFound
from hub.ledger import tables as t
from hub.ledger.store import now

ROLES = ("admin", "integration", "operations", "finance", "partner")
STAFF = ("admin", "integration", "operations", "finance")  # the roles that may read the hub's records
TOKEN_PREFIX = "hub_"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is doing something: a token's name and role, or `cli:<user>` for a person at the shell."""

    name: str
    role: str
    partner_id: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, name: str, role: str, partner_id: str | None = None) -> str:
    """Make a token and store its digest; the token itself is returned once and never again."""
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if (role == "partner") != (partner_id is not None):
        raise HubError("a partner token needs --partner, and only a partner token takes one")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with writer(engine).begin() as conn:
        if partner_id is not None and conn.execute(select(t.partners.c.id).where(t.partners.c.id == partner_id)).first() is None:
            raise NotFound(f"no partner {partner_id}")
        if conn.execute(select(t.api_tokens.c.id).where(t.api_tokens.c.name == name)).first() is not None:
            raise Conflict(f"a token named {name!r} exists already; revoke it or choose another name")
        conn.execute(insert(t.api_tokens).values(name=name, role=role, partner_id=partner_id, token_sha256=_digest(token), created_at=now()))
    return token


def actor_for(engine: Engine, token: str) -> Actor | None:
    """The holder of a live token, or None."""
    a = t.api_tokens.c
    with engine.connect() as conn:
        row = conn.execute(select(a.name, a.role, a.partner_id).where(a.token_sha256 == _digest(token), a.revoked_at.is_(None))).first()
    return None if row is None else Actor(row.name, row.role, row.partner_id)


def list_tokens(engine: Engine) -> list[dict[str, Any]]:
    a = t.api_tokens.c
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(a.name, a.role, a.partner_id, a.created_at, a.revoked_at).order_by(a.name))]


def revoke_token(engine: Engine, name: str) -> None:
    a = t.api_tokens.c
    with writer(engine).begin() as conn:
        if conn.execute(update(t.api_tokens).where(a.name == name, a.revoked_at.is_(None)).values(revoked_at=now())).rowcount == 0:
            raise NotFound(f"no live token named {name!r}")
