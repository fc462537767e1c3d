"""Workers: threads that claim work from the ledger's queue (hub.ledger.queue) and run it, files
to split and batches of documents to decide, and hand what they settled to delivery.

`hub serve` runs them beside its servers, `hub worker --concurrency N` alone; a `WorkerPool` is
one process's N threads, its row in `workers` (hub.ledger.presence) and its heartbeat, which
renews the leases of what its threads hold (a live worker never loses a claim; a dead one's claims
come back after HUB_LEASE_SECONDS). `hub deliver` has a pool of no threads: its presence only.

A thread sleeps until work arrives: an intake in the same process wakes it, and on PostgreSQL so
does work another process received or left (hub.ledger.wakeup); otherwise it looks again when
`poll_seconds` pass. A failure is logged, what the thread held is given back for the next
turn, and the thread carries on: a database that went away is waited out, never fatal.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from hub.errors import ErpUnavailable
from hub.intake import ReceiptsFirst
from hub.ledger.presence import Presence, heartbeat_seconds, new_worker_id
from hub.ledger.tables import IN_FLIGHT_STATES
from hub.ledger.wakeup import WORK, Listener

log = logging.getLogger("hub.worker")

ORDINARY_OUTCOMES = ("posted", "answered")  # the settled states no one has to look at


class Worker:
    def __init__(self, hub, poll_seconds: float, on_settled: Callable[[], None] = lambda: None, owner: str | None = None,
                 turns: ReceiptsFirst | None = None):
        self.hub = hub
        self.turns = turns or ReceiptsFirst()  # shared with the intake in this process
        self.poll_seconds = poll_seconds
        self.on_settled = on_settled  # called after each piece of work (delivery wakes up)
        self.owner = owner or new_worker_id()  # what its claims carry
        self.settled = 0  # documents (and files settled as a whole) this thread finished
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"hub-worker-{self.owner}", daemon=True)
        self._thread.start()

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
        """Run the next piece of work; False when there was none (or it failed and waits)."""
        self.turns.wait_for_receipts_in_flight()
        try:
            reports = self.hub.work_next(self.owner)
        except ErpUnavailable as exc:  # its work was given back as it failed
            log.warning("%s: %s; its work is given back to the queue and tried again in %s s", self.owner, exc, self.poll_seconds)
            return False
        except Exception:  # the database went away, a bug: log it, give the work back, try again later
            log.exception("%s could not finish its work; it is given back and tried again", self.owner)
            self._give_back()
            return False
        if reports is None:
            return False
        settled = [report for report in reports if report.state not in IN_FLIGHT_STATES]  # not those split and queued
        self.settled += len(settled)
        self._log(settled)
        self.on_settled()
        return True

    def _log(self, settled: list) -> None:
        """A line for what a piece of work settled, and one for each document that needs a person
        (held, rejected, a duplicate). A line per posted document cost a worker 6% of its speed."""
        if not settled:
            return
        outcomes = Counter(report.state for report in settled)
        partners = sorted({report.partner for report in settled if report.partner})
        named = ", ".join(partners[:3]) + (f" and {len(partners) - 3} more" if len(partners) > 3 else "")
        log.info("%s settled %d document(s) from %s: %s", self.owner, len(settled), named or "an unknown partner",
                 ", ".join(f"{count} {state}" for state, count in outcomes.items()))
        for report in settled:
            if report.state not in ORDINARY_OUTCOMES:
                log.info("interchange %s: %s %s %s -> %s", report.interchange_id, report.partner, report.type or "-", report.reference or "", report.state)

    def _give_back(self) -> None:
        try:
            self.hub.queue.release([self.owner])
        except Exception as exc:  # the database is still away: the lease runs out instead
            log.warning("%s could not give its claims back (%s); they return when their lease runs out", self.owner, exc)


class WorkerPool:
    """One process's workers: `concurrency` threads (0 in a process that only delivers), its
    presence, which says whether it `delivers` the outbox too, and its heartbeat."""

    def __init__(self, hub, concurrency: int, on_settled: Callable[[], None] = lambda: None, turns: ReceiptsFirst | None = None,
                 delivers: bool = True):
        settings = hub.settings
        self.hub = hub
        self.delivers = delivers
        self.worker_id = new_worker_id()
        self.heartbeat_seconds = heartbeat_seconds(settings.lease_seconds)
        self.presence = Presence(hub.ledger, self.heartbeat_seconds)
        self.workers = [Worker(hub, settings.worker_poll_seconds, on_settled, f"{self.worker_id}/{n}", turns) for n in range(1, concurrency + 1)]
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None
        self.listener = Listener.on_postgresql(hub.ledger.engine, WORK, self.wake, settings.worker_poll_seconds) if self.workers else None

    @property
    def owners(self) -> list[str]:
        return [w.owner for w in self.workers]

    @property
    def settled(self) -> int:
        return sum(w.settled for w in self.workers)

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def start(self) -> None:
        self._release_orphans()
        self.presence.arrive(self.worker_id, len(self.workers), self.delivers)
        for worker in self.workers:
            worker.start()
        self._heart = threading.Thread(target=self._beat, name="hub-heartbeat", daemon=True)
        self._heart.start()
        if self.listener is not None:
            self.listener.start()
        if self.workers:
            log.info("worker started: %s with %d thread(s); looks for work every %ss and at once when %s; %s",
                     self.worker_id, len(self.workers), self.hub.settings.worker_poll_seconds,
                     "any process receives or queues work" if self.listener else "a file arrives in this process",
                     "delivers the outbox too" if self.delivers else "leaves the outbox to `hub deliver`")

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self.listener is not None:
            self.listener.stop()
        for worker in self.workers:
            worker.stop(timeout)
        if self._heart is not None:
            self._heart.join(timeout)
        try:
            self.hub.queue.release(self.owners)
            self.presence.leave(self.worker_id, self.settled)
        except Exception as exc:
            log.warning("worker %s could not sign off (%s); its claims return when their lease runs out", self.worker_id, exc)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.hub.queue.renew(self.owners)
                self.presence.beat(self.worker_id, self.settled)
                self._release_orphans()
            except Exception as exc:  # the database is away; the threads wait it out too
                log.warning("worker %s heartbeat failed: %s", self.worker_id, exc)

    def _release_orphans(self) -> None:
        for owner in self.hub.queue.release_orphans():
            log.warning("gave back the claims of %s: that process on this machine is no longer running", owner)
