"""The hub's service (HTTP API, SFTP, worker, delivery) running on loopback in a background thread,
on free ports, for tests that talk to it as a partner would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import func, select


@contextlib.contextmanager
def running(settings, sftp: bool = False, workers: bool = True):
    from hub.service import Listen, Service

    service = Service(settings, http=Listen("127.0.0.1", 0), sftp=Listen("127.0.0.1", 0) if sftp else None, workers=1 if workers else 0)
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


class HubProcess:
    """`hub COMMAND` in its own process against the test's data dir and databases."""

    def __init__(self, settings, *args: str, env: dict[str, str] | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {"HUB_DATA_DIR": str(settings.data_dir)} | (env or {})
        if settings.database_url:
            env |= {"HUB_DATABASE_URL": settings.database_url, "HUB_ERP_DATABASE_URL": settings.erp_database_url}
        self.log_path = settings.data_dir / f"{args[0]}-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, words: str, timeout: float = 60) -> None:
        wait_until(lambda: words in self.output() or self.process.poll() is not None, timeout, f"{words!r} in the log")
        assert words in self.output(), self.output()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(60)
        self.log.close()
        return code
