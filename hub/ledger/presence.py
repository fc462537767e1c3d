"""Which worker and delivery processes are at work: each has a row in `workers` and stamps
`seen_at` every few seconds (its heartbeat, which also renews its leases); `hub status` counts as
alive those seen within three heartbeats."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from hub.ledger import tables as t
from hub.ledger.store import Ledger, now

_w = t.workers.c


def heartbeat_seconds(lease_seconds: float) -> float:
    """Seconds between a worker's heartbeats: often enough that a lease never runs out under a live worker."""
    return min(5.0, lease_seconds / 3)


def new_worker_id() -> str:
    """host:pid:random — unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Presence:
    def __init__(self, ledger: Ledger, heartbeat_seconds: float):
        self.ledger = ledger
        self.heartbeat_seconds = heartbeat_seconds

    def arrive(self, worker_id: str, concurrency: int, delivers: bool = True) -> None:
        """A process starts: `concurrency` worker threads (0: it only delivers), `delivers` the outbox or not."""
        at = now()
        with self.ledger.writer.begin() as conn:
            conn.execute(insert(t.workers).values(id=worker_id, host=socket.gethostname(), pid=os.getpid(), concurrency=concurrency,
                                                  delivers=delivers, started_at=at, seen_at=at, done=0))

    def beat(self, worker_id: str, done: int) -> None:
        with self.ledger.writer.begin() as conn:
            conn.execute(update(t.workers).where(_w.id == worker_id).values(seen_at=now(), done=done))

    def leave(self, worker_id: str, done: int) -> None:
        with self.ledger.writer.begin() as conn:
            conn.execute(update(t.workers).where(_w.id == worker_id).values(seen_at=now(), stopped_at=now(), done=done))

    def alive(self) -> list[Any]:
        """Processes that have not stopped and were seen within three heartbeats, oldest first."""
        since = now() - timedelta(seconds=3 * self.heartbeat_seconds)
        with self.ledger.engine.connect() as conn:
            return conn.execute(select(t.workers).where(_w.stopped_at.is_(None), _w.seen_at >= since).order_by(_w.started_at)).all()
