"""Changing a partner, audited in the change's own transaction; the API and the CLI both use these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.audit import record
from hub.auth import Actor
from hub.errors import NotFound
from hub.ledger.store import Ledger
from hub.partners import Partner


def change_partner(ledger: Ledger, partner_id: str, actor: Actor, action: str, changed: Callable[[Partner], Partner]) -> Partner:
    """Apply `changed` to the partner and audit the fields it changed (nothing when none did)."""
    with ledger.writer.begin() as conn:
        before = Ledger.load_partner(conn, partner_id, lock=True)
        if before is None:
            raise NotFound(f"no partner {partner_id}")
        after = changed(before)
        old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
        fields = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        if fields:
            Ledger.write_partner(conn, after)
            record(conn, actor, action, f"partner:{partner_id}", {k: old.get(k) for k in fields}, {k: new.get(k) for k in fields})
    return after


def credential_audit(actor: Actor, action: str, partner_id: str, removed: bool = False):
    """The `audit` a CredentialStore change calls inside its transaction (it is given no secret)."""
    def audit(conn, what: dict[str, Any]) -> None:
        record(conn, actor, action, f"partner:{partner_id}", what if removed else None, None if removed else what)
    return audit
