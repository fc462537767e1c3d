"""Where the channels (SFTP, webhook, CLI) hand over what a partner sends.

`receive` commits the bytes to the ledger and only then returns: a channel answers the partner
"received" after this, so an acknowledged file is never lost. The work itself is done by a worker
(hub.worker), which `receive` wakes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hub.ledger.store import Ledger


@dataclass(frozen=True)
class Receipt:
    interchange_id: int
    duplicate_of: int | None  # the earlier interchange with the same bytes


class ReceiptsFirst:
    """Lets the receipts in flight in this process commit before the worker beside them takes its
    next file. On SQLite (one writer) a worker that goes from file to file would otherwise keep the
    write lock to itself while partners wait for their "received"; each receipt is a short write.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._begun = 0
        self._ended = 0

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        with self._changed:
            self._begun += 1
        try:
            yield
        finally:
            with self._changed:
                self._ended += 1
                self._changed.notify_all()

    def wait_for_receipts_in_flight(self, timeout: float = 5.0) -> None:
        """Wait for the receipts begun by now (not for later ones: the worker must get its turn too)."""
        with self._changed:
            begun = self._begun
            self._changed.wait_for(lambda: self._ended >= begun, timeout)


class Intake:
    def __init__(self, ledger: Ledger, wake: Callable[[], None] = lambda: None, turns: ReceiptsFirst | None = None):
        self.ledger = ledger
        self._wake = wake
        self.turns = turns or ReceiptsFirst()

    def receive(self, raw: bytes, partner_id: str, channel: str, filename: str | None, claims: tuple[str, ...] = ()) -> Receipt:
        """Commit `raw` as a file from `partner_id`; raises AlreadyClaimed (nothing stored) if a claim is held."""
        with self.turns.receiving():
            interchange_id, earlier = self.ledger.receive(raw, channel, filename, partner_id, claims)
        if earlier is None:
            self._wake()
        return Receipt(interchange_id, earlier)
