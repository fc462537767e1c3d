"""The canonical documents this process mapped and queued, kept for when it decides them itself.

A large file is split in one step: each document is mapped to its canonical form, stored in the
ledger (`mapped`) and queued; later steps decide the queued documents in batches. The worker that
split the file usually decides them too, and without this it would read each canonical form back
from the ledger and validate it again, about 4% of its time on a large file. Another process
that takes a document reads it from the ledger as before.

Only the documents of split steps that committed are kept: ids of a step rolled back are given
again on SQLite, and the ledger must stay the one truth. A queued document's canonical form does
not change until it is decided (a rerun maps and decides settled documents in one go), and it is
decided once, so an entry is taken out when it is used. At most `limit` documents are kept (a
20-line order is about 37 KiB): of a larger step, the first ones (decided first); older entries
(documents another process decided) make room for newer ones.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any


class RecentlyMapped:
    def __init__(self, limit: int = 2_000):
        self.limit = limit
        self._models: dict[int, Any] = {}  # document id -> canonical document, oldest first
        self._lock = threading.Lock()  # the worker threads of a process share it

    def keep(self, models: dict[int, Any]) -> None:
        """The canonical documents (by document id) a split step queued, once it has committed."""
        fresh = dict(itertools.islice(models.items(), self.limit))
        with self._lock:
            for _ in range(len(self._models) + len(fresh) - self.limit):
                del self._models[next(iter(self._models))]
            self._models.update(fresh)

    def __len__(self) -> int:
        return len(self._models)

    def take(self, document_id: int) -> Any | None:
        """The canonical document kept for `document_id`, no longer kept; None when there is none."""
        with self._lock:
            return self._models.pop(document_id, None)
