"""Ruleset versions in the ledger: each loaded version is recorded once, and marked active."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, update

from hub.db import writer
from hub.ledger import tables as t
from hub.ledger.store import now
from hub.rules.engine import Ruleset


def record_rulesets(engine: Engine, rulesets: list[Ruleset]) -> None:
    table = t.ruleset_versions
    with writer(engine).begin() as conn:
        for ruleset in rulesets:
            conn.execute(update(table).where(table.c.name == ruleset.name).values(active=False))
            existing = conn.execute(
                select(table.c.id, table.c.sha256).where(table.c.name == ruleset.name, table.c.version == ruleset.version)
            ).first()
            if existing is None:
                conn.execute(insert(table).values(name=ruleset.name, version=ruleset.version, body=ruleset.body(), sha256=ruleset.sha256, active=True, created_at=now()))
            else:
                conn.execute(update(table).where(table.c.id == existing.id).values(active=True, body=ruleset.body(), sha256=ruleset.sha256))
