"""Where the channels (SFTP, webhook, CLI) hand over what a partner sends.

`receive` commits the bytes to the ledger and only then returns: a channel answers the partner
"received" after this, so an acknowledged file is never lost. The work itself is done by a worker
(hub.worker), which `receive` wakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.ledger.store import Ledger


@dataclass(frozen=True)
class Receipt:
    interchange_id: int
    duplicate_of: int | None  # the earlier interchange with the same bytes


class Intake:
    def __init__(self, ledger: Ledger, max_file_bytes: int, wake: Callable[[], None] = lambda: None):
        self.ledger = ledger
        self.max_file_bytes = max_file_bytes
        self._wake = wake

    def receive(self, raw: bytes, partner_id: str, channel: str, filename: str | None, claims: tuple[str, ...] = ()) -> Receipt:
        """Commit `raw` as a file from `partner_id`; raises AlreadyClaimed (nothing stored) if a claim is held."""
        interchange_id, earlier = self.ledger.receive(raw, channel, filename, partner_id, claims)
        if earlier is None:
            self._wake()
        return Receipt(interchange_id, earlier)
