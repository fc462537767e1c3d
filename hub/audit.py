"""The audit log: who changed what, when, with the value before and after.

`record` is called inside the transaction of the change it describes, so a change and its audit
row commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from hub.auth import Actor
from hub.ledger import tables as t
from hub.ledger.store import now


def record(conn: Connection, actor: Actor, action: str, target: str, before: Any = None, after: Any = None) -> None:
    conn.execute(insert(t.audit).values(at=now(), actor=actor.name, role=actor.role, action=action, target=target,
                                        before=before, after=after))


def entries(engine: Engine, actor: str | None = None, target: str | None = None, action: str | None = None,
            since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Audit rows, newest first. `target` matches a prefix (`partner:` gives every partner change)."""
    a = t.audit.c
    query = select(t.audit).order_by(a.id.desc()).limit(limit)
    if actor:
        query = query.where(a.actor == actor)
    if target:
        query = query.where(a.target.startswith(target, autoescape=True))
    if action:
        query = query.where(a.action == action)
    if since:
        query = query.where(a.at >= since)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
