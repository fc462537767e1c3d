"""The hub's service (HTTP API, SFTP, worker, delivery) running on loopback in a background thread,
on free ports, for tests that talk to it as a partner would."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from sqlalchemy import func, select


@contextlib.contextmanager
def running(settings, sftp: bool = False, workers: bool = True):
    from hub.service import Listen, Service

    service = Service(settings, http=Listen("127.0.0.1", 0), sftp=Listen("127.0.0.1", 0) if sftp else None, workers=workers)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(service.run(stop))
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            service.ready.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    service.ready.wait(30)
    if failure:
        raise failure[0]
    try:
        yield service
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()
        service.hub.ledger.engine.dispose()
        service.hub.erp_engine.dispose()


def interchange_count(ledger) -> int:
    from hub.ledger import tables as t

    with ledger.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.interchanges)).scalar_one()


def wait_until(predicate, timeout: float = 20, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
