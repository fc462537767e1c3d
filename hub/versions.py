"""Versions of mappings and rulesets in the ledger: one life cycle for both.

    create (validated first; nothing invalid is stored) -> test, dry-run -> activate -> rollback

A key (a partner's document type for mappings, a name for rulesets) has numbered versions, at
most one of them active. Activating writes the audit row and bumps the config epoch (a row in
`settings`) in the same transaction; every worker compares the epoch once per file and loads the
newly active versions (hub.live_config), so nothing needs a restart. Rollback is activating an
earlier version: by default the one below the version active now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from hub import audit
from hub.auth import Actor
from hub.db import writer
from hub.errors import Conflict, NotFound
from hub.ledger import tables as t
from hub.ledger.store import now

EPOCH_KEY = "config_epoch"


@dataclass(frozen=True)
class Kind:
    """What differs between mapping and ruleset versions: the table and the columns of the key."""

    noun: str
    table: Table
    keys: tuple[str, ...]

    def label(self, key: dict[str, str], version: int | None = None) -> str:
        name = "/".join(key[k] for k in self.keys)
        return f"{self.noun}:{name}" + (f"@{version}" if version is not None else "")


MAPPINGS = Kind("mapping", t.mapping_versions, ("partner_id", "doc_type"))
RULESETS = Kind("ruleset", t.ruleset_versions, ("name",))


def config_epoch(conn: Connection) -> int:
    return conn.execute(select(t.settings.c.value).where(t.settings.c.key == EPOCH_KEY)).scalar() or 0


def bump_config_epoch(conn: Connection) -> None:
    epoch = config_epoch(conn) + 1
    if conn.execute(update(t.settings).where(t.settings.c.key == EPOCH_KEY).values(value=epoch)).rowcount == 0:
        conn.execute(insert(t.settings).values(key=EPOCH_KEY, value=epoch))


class Versions:
    def __init__(self, engine: Engine, kind: Kind):
        self.engine, self.kind = engine, kind
        self._c = kind.table.c

    def _where(self, key: dict[str, str]):
        return [self._c[k] == key[k] for k in self.kind.keys]

    def _summary(self):
        return [c for c in self.kind.table.c if c.name != "body"]

    def keys(self) -> list[dict[str, Any]]:
        """Every key with its versions count and the active version."""
        c = self._c
        key_columns = [c[k] for k in self.kind.keys]
        active = func.max(c.version).filter(c.active.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(select(*key_columns, func.count().label("versions"), active.label("active_version"))
                                .group_by(*key_columns).order_by(*key_columns))
            return [dict(r._mapping) for r in rows]

    def list(self, key: dict[str, str]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*self._summary()).where(*self._where(key)).order_by(self._c.version)).all()
        if not rows:
            raise NotFound(f"no versions of {self.kind.label(key)}")
        return [dict(r._mapping) for r in rows]

    def get(self, key: dict[str, str], version: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.kind.table).where(*self._where(key), self._c.version == version)).first()
        if row is None:
            raise NotFound(f"no version {version} of {self.kind.label(key)}")
        return dict(row._mapping)

    def active(self) -> list[dict[str, Any]]:
        """The active version of every key, with its body."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(self.kind.table).where(self._c.active.is_(True)))]

    def add(self, conn: Connection, key: dict[str, str], body: Any, sha256: str, actor: Actor | None, active: bool = False,
            version: int | None = None) -> int:
        """Store a validated version (numbered next unless `version` is given); audited when a person made it."""
        if version is None:
            version = self._next_version(conn, key)
        conn.execute(insert(self.kind.table).values(**key, version=version, body=body, sha256=sha256, active=active,
                                                    created_at=now(), created_by=actor.name if actor else None))
        if actor is not None:
            audit.record(conn, actor, f"{self.kind.noun}.create", self.kind.label(key, version), None,
                         {"version": version, "sha256": sha256})
        return version

    def next_version(self, key: dict[str, str]) -> int:
        with self.engine.connect() as conn:
            return self._next_version(conn, key)

    def _next_version(self, conn: Connection, key: dict[str, str]) -> int:
        return (conn.execute(select(func.max(self._c.version)).where(*self._where(key))).scalar() or 0) + 1

    def activate(self, key: dict[str, str], version: int, actor: Actor | None, action: str = "activate") -> dict[str, Any]:
        """Make `version` the active one; returns {"before": old active version or None, "after": version}."""
        with writer(self.engine).begin() as conn:
            return self.activate_in(conn, key, version, actor, action)

    def activate_in(self, conn: Connection, key: dict[str, str], version: int, actor: Actor | None, action: str = "activate") -> dict[str, Any]:
        c = self._c
        if conn.execute(select(c.id).where(*self._where(key), c.version == version)).first() is None:
            raise NotFound(f"no version {version} of {self.kind.label(key)}")
        before = conn.execute(select(c.version).where(*self._where(key), c.active.is_(True))).scalar()
        if before != version:
            conn.execute(update(self.kind.table).where(*self._where(key)).values(active=c.version == version))
            bump_config_epoch(conn)
        change = {"before": before, "after": version}
        if actor is not None:
            audit.record(conn, actor, f"{self.kind.noun}.{action}", self.kind.label(key, version), {"active": before}, {"active": version})
        return change

    def rollback(self, key: dict[str, str], actor: Actor, to: int | None = None) -> dict[str, Any]:
        """Re-activate an earlier version: `to`, or the highest below the active one."""
        with writer(self.engine).begin() as conn:
            c = self._c
            current = conn.execute(select(c.version).where(*self._where(key), c.active.is_(True))).scalar()
            if to is None:
                if current is None:
                    raise Conflict(f"{self.kind.label(key)} has no active version to roll back from")
                to = conn.execute(select(func.max(c.version)).where(*self._where(key), c.version < current)).scalar()
                if to is None:
                    raise Conflict(f"{self.kind.label(key, current)} is the first version; there is nothing earlier to roll back to")
            elif current is not None and to >= current:
                raise Conflict(f"rollback goes to an earlier version than the active {current}; to make version {to} active, activate it")
            return self.activate_in(conn, key, to, actor, "rollback")
