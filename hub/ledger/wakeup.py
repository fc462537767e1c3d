"""Waking other processes when there is something for them (PostgreSQL's LISTEN/NOTIFY).

Two notices, each on its own channel:

- WORK: a transaction that leaves work in the queue (a file received, documents a split queued for
  any worker, claims given back); every worker process wakes its threads;
- OUTBOX: a transaction that makes outbound files or sends files again; the processes that deliver
  (`hub deliver`, or `hub worker` and `hub serve` with delivery) look at the outbox.

PostgreSQL delivers a notice when the transaction that sent it commits, and not at all if it rolls
back. Each process keeps one connection listening per channel (`Listener`) and acts at once,
instead of at its next look (HUB_WORKER_POLL_SECONDS for workers, every few seconds for delivery).
The look stays the fallback: on SQLite, which has no notices, and while the listening connection
is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, Engine, text

log = logging.getLogger("hub.wakeup")

WORK = "hub_work"
OUTBOX = "hub_outbox"

# who stops hearing of what when a listening connection is lost, for the log
_WHO_HEARS = {WORK: "workers no longer hear of new work", OUTBOX: "delivery no longer hears of new outbound files"}


def announce(conn: Connection, channel: str) -> None:
    """Tell the processes listening on `channel`, when this transaction commits (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """A thread that listens on `channel` on a connection of its own and calls `wake` for each
    notice, and once each time it starts listening (for what came while it did not); a lost
    connection is opened again after `retry_seconds`."""

    def __init__(self, engine: Engine, channel: str, wake: Callable[[], None], retry_seconds: float):
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self._wake = wake
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a connection listens (tests wait for it)

    @classmethod
    def on_postgresql(cls, engine: Engine, channel: str, wake: Callable[[], None], retry_seconds: float) -> Listener | None:
        """A listener when `engine` is PostgreSQL; None on SQLite, which has no notices."""
        return cls(engine, channel, wake, retry_seconds) if engine.dialect.name == "postgresql" else None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"hub-listen-{self.channel}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    self._wake()  # what arrived while it was not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except psycopg.Error as exc:
                if self.listening.is_set():
                    log.warning("%s at once (%s); they are looked for every few seconds until the database is back",
                                _WHO_HEARS[self.channel], exc)
                self.listening.clear()
                self._stop.wait(self._retry_seconds)
