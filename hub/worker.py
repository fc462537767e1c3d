"""A worker: takes received files from the ledger, runs each to a settled state, hands the
outbound files it made to delivery. `hub serve` runs one beside the servers; `hub worker` alone.

It sleeps until an intake in the same process wakes it, or `poll_seconds` pass (files another
process received). A failure on one file is logged and the file is left `received` for the next
turn; it never stops the worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from hub.intake import ReceiptsFirst

log = logging.getLogger("hub.worker")


class Worker:
    def __init__(self, hub, poll_seconds: float, on_settled: Callable[[], None] = lambda: None, name: str = "worker",
                 turns: ReceiptsFirst | None = None):
        self.hub = hub
        self.turns = turns or ReceiptsFirst()  # shared with the intake in this process
        self.poll_seconds = poll_seconds
        self.on_settled = on_settled  # called after each file (delivery wakes up)
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"hub-{self.name}", daemon=True)
        self._thread.start()
        log.info("%s started (looks for received files every %ss, and at once when one arrives here)", self.name, self.poll_seconds)

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            if self.run_one():
                continue
            self._wake.wait(self.poll_seconds)

    def run_one(self) -> bool:
        """Run the next received file; False when there was none (or it failed and waits)."""
        self.turns.wait_for_receipts_in_flight()
        try:
            reports = self.hub.process_next()
        except Exception:  # the database went away, a bug: log it, keep the file, try again later
            log.exception("%s could not run the next file; it stays received and is tried again", self.name)
            return False
        if reports is None:
            return False
        for report in reports:
            log.info("interchange %s: %s %s %s -> %s", report.interchange_id, report.partner, report.type or "-", report.reference or "", report.state)
        self.on_settled()
        return True
