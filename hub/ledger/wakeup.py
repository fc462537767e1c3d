"""Waking the workers of other processes when work arrives (PostgreSQL's LISTEN/NOTIFY).

A transaction that leaves work in the queue (a file received, documents a split queued for any
worker, claims given back) calls `announce_work`; PostgreSQL delivers the notice when that
transaction commits, and not at all if it rolls back. Each worker process keeps one connection
listening (`WorkListener`) and wakes its threads at once, instead of at their next look
(HUB_WORKER_POLL_SECONDS). The look stays the fallback: on SQLite, which has no notices, and while
the listening connection is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, Engine, text

log = logging.getLogger("hub.worker")

CHANNEL = "hub_work"


def announce_work(conn: Connection) -> None:
    """Tell the listening workers, when this transaction commits, that there is work (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class WorkListener:
    """A thread that listens for `announce_work` on a connection of its own and calls `wake` for
    each notice; a lost connection is opened again after `retry_seconds`."""

    def __init__(self, engine: Engine, wake: Callable[[], None], retry_seconds: float):
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a connection listens (tests wait for it)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hub-work-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake()  # what arrived while it was not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except psycopg.Error as exc:
                if self.listening.is_set():
                    log.warning("workers no longer hear of new work at once (%s); they look every few seconds until the database is back", exc)
                self.listening.clear()
                self._stop.wait(self._retry_seconds)
