"""Delivery of the outbox: each outbound file handed to its partner the way the partner takes it
(`delivery.method` in partners.yaml), through the channels adapters register (pickup, https).

A channel makes one attempt; the Dispatcher does the rest:

- every attempt is a `delivery_attempts` row, and the outbox row keeps the attempts of the current
  round and the last error, so a restart continues the count where it stopped;
- a transient failure (the partner's server is down, busy or slow) is tried again after a wait that
  doubles (HUB_DELIVERY_BACKOFF_SECONDS, up to HUB_DELIVERY_BACKOFF_MAX_SECONDS); after the
  partner's `delivery.attempts` (default HUB_DELIVERY_ATTEMPTS) the file is dead, and it is dead at
  once when the failure is permanent (the partner refused the file, we have no secret to sign with);
- `redeliver` starts a new round for files someone sends again (`hub outbox redeliver`);
- before each attempt the file is claimed in the ledger (`Ledger.claim_outboxes`, a lease covering the
  attempt and the wait after it), so with many worker processes one file is handed over by one at a
  time, and a partner whose first pending file another process holds is left to that process.

Each partner's files go in order, one at a time, in that partner's own asyncio task, so a partner
whose endpoint is down delays no one else. Blocking ledger and file work runs in threads.

Who calls what: `hub serve` / `hub worker` / `hub deliver` run `run(stop)`, which also wakes on
PostgreSQL's notice of new outbound files from any process (hub.ledger.wakeup); a worker in the
same process calls `wake()` when it has settled a file; `hub ingest` (Hub.deliver_outbox) calls `place_pickups()`, so pickup files appear at
once while pushes wait for the service; `hub outbox deliver` and tests call `drain()`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy import Connection
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from hub.config import Settings
from hub.errors import HubError
from hub.ledger.presence import new_worker_id
from hub.ledger.store import Ledger
from hub.ledger.wakeup import OUTBOX, Listener
from hub.partners import Delivery, Partner
from hub.registry import Registry

log = logging.getLogger("hub.delivery")


class DeliveryFailed(Exception):
    """Raised by a channel when the partner did not get the file. Transient failures are tried again."""

    def __init__(self, message: str, transient: bool, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class Parcel:
    """One outbound file on its way to a partner."""

    outbox_id: int
    partner_id: str
    kind: str  # 997, 855 ...
    filename: str
    content: bytes
    delivery: Delivery  # the partner's delivery settings (the url of a push)


@dataclass(frozen=True, slots=True)
class Handover:
    """How a channel handed a file over: left where the partner picks it up, or taken by the partner."""

    outcome: Literal["ready", "delivered"]
    status_code: int | None = None  # the partner's HTTP answer


class OutboundChannel(Protocol):
    """One way of handing files to partners. Adapters register a factory for it
    (`registry.add_channel(method, factory)`), called as `factory(settings, ledger)`."""

    async def send(self, parcel: Parcel) -> Handover:
        """One attempt; raises DeliveryFailed when the partner did not get the file."""


@runtime_checkable
class LocalChannel(OutboundChannel, Protocol):
    """A channel that hands files over on this machine, at once (a pickup folder). `place_pickups`
    calls its `place` inline, so `hub ingest` has left the files there when it returns."""

    def place(self, parcel: Parcel) -> Handover:
        """`send`, without an event loop."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Where one file stands after the dispatcher's turn at it."""

    outbox_id: int
    partner_id: str
    kind: str
    filename: str
    method: str
    status: str  # ready (in the pickup folder), delivered, pending (failed; tried again later), dead
    attempts: int  # in the current round
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One attempt at a file, as it goes on record (a `delivery_attempts` row)."""

    parcel: Parcel
    number: int  # in the current round
    limit: int  # attempts the file gets
    outcome: str  # ready, delivered, failed (tried again), dead
    status_code: int | None
    error: str | None
    duration_ms: float

    def row(self) -> dict[str, Any]:
        return {"outbox_id": self.parcel.outbox_id, "attempt": self.number, "method": self.parcel.delivery.method, "outcome": self.outcome,
                "status_code": self.status_code, "error": self.error, "duration_ms": self.duration_ms}


class OutboxError(HubError):
    """An outbound file cannot be found or sent again as asked."""


class _TryAgain(Exception):
    """A transient failure, on record, with attempts left: the file is tried again after a wait."""


class _Undeliverable:
    """Stands in for a channel when a file has no way to its partner: every attempt fails for good."""

    def __init__(self, reason: str):
        self.reason = reason

    async def send(self, parcel: Parcel) -> Handover:
        raise DeliveryFailed(self.reason, transient=False)


class Dispatcher:
    def __init__(self, settings: Settings, ledger: Ledger, registry: Registry, poll_seconds: float = 5.0):
        self.settings = settings
        self.ledger = ledger
        self.poll_seconds = poll_seconds  # how often `run` looks for files another process made
        self.channels: dict[str, OutboundChannel] = {method: factory(settings, ledger) for method, factory in registry.channels.items()}
        self._tasks: dict[str, asyncio.Task] = {}  # partner id -> the task delivering its files
        self.owner = new_worker_id()  # what its claims on outbound files carry
        # a claim covers one attempt and the wait after it
        self.lease_seconds = settings.delivery_timeout_seconds + settings.delivery_backoff_max_seconds + 60
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._wakes = 0  # how often `run` was woken: a partner's task that ends looks again only if it was woken meanwhile

    # -- the service (hub serve, hub worker) ----------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: on `wake()`, and every `poll_seconds`, start a task for each
        partner that has files to deliver and none running. Stopping cancels the partners' tasks;
        an attempt cut short is not on record, and the file is sent again on the next start."""
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        listener = Listener.on_postgresql(self.ledger.engine, OUTBOX, self.wake, self.poll_seconds)
        if listener is not None:
            listener.start()
        log.info("delivery started: looks for outbound files every %ss, and at once when %s", self.poll_seconds,
                 "any process makes one" if listener else "a worker in this process settles one")
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    for partner_id in await asyncio.to_thread(self.ledger.partners_with_pending_outbox):
                        self._partner_task(partner_id)
                except Exception:  # the ledger is away: try again on the next turn
                    log.exception("delivery could not read the outbox; tries again in %ss", self.poll_seconds)
                await self._sleep(stop)
        finally:
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            self._loop = self._wakeup = None
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        """Look for files to deliver now (a worker settled one). Safe from any thread; does nothing
        while `run` is not running."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._woken)
        except RuntimeError:  # the loop closed as we looked: run() is over
            pass

    def _woken(self) -> None:
        if self._wakeup is not None:
            self._wakes += 1
            self._wakeup.set()

    async def _sleep(self, stop: asyncio.Event) -> None:
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wakeup.wait())]
        await asyncio.wait(waits, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    # -- once -----------------------------------------------------------------------------------------------

    async def drain(self) -> list[DeliveryResult]:
        """Deliver every pending file, pushes included, with their retries; return when each one is
        settled (ready, delivered or dead)."""
        partner_ids = await asyncio.to_thread(self.ledger.partners_with_pending_outbox)
        done = await asyncio.gather(*(self._partner_task(p) for p in partner_ids))
        return [result for results in done for result in results]

    def place_pickups(self) -> list[DeliveryResult]:
        """Put the pending files of partners whose channel is local (pickup) in place: one attempt
        each, inline and without waiting (for `hub ingest`). A file that could not be placed stays
        pending for `run` or `drain`; pushes are left to them too."""
        rows = self.ledger.pending_outbox()
        if not rows:
            return []
        directory = self.ledger.partner_directory()
        return self._place([(row, directory.get(row.partner_id)) for row in rows])

    def _place(self, files: list[tuple[Any, Partner | None]]) -> list[DeliveryResult]:
        """One attempt at each of `files` (outbox row, partner) whose channel is local, in order;
        the files are claimed together and their attempts recorded together. Files another
        process holds are left to it."""
        pickups = [(row, partner, channel) for row, partner in files if isinstance(channel := self._channel(partner), LocalChannel)]
        if not pickups:
            return []
        taken = self.ledger.claim_outboxes([row.id for row, _, _ in pickups], self.owner, self.lease_seconds)
        attempts = []
        for row, partner, channel in pickups:
            if row.id in taken:
                parcel, limit = self._parcel(row, partner)
                started = time.perf_counter()
                attempts.append(self._attempt(parcel, row.attempts + 1, limit, self._try(parcel, channel.place), started))
        return self._record(attempts)

    def redeliver(self, outbox_ids: Iterable[int] = (), *, dead_of_partner: str | None = None,
                  audit: Callable[[Connection, list[int]], None] | None = None) -> list[int]:
        """Send files again, by id or every dead file of a partner: each is pending with a new round
        of attempts (the earlier attempts stay on record). Pickup files are put back in the folder at
        once; pushes go with the next `run` turn or `drain`. Returns the ids sent again. `audit` is
        called in the transaction that reopens the files (Ledger.reopen_outbox)."""
        wanted = sorted(set(outbox_ids))
        if bool(wanted) == bool(dead_of_partner):
            raise OutboxError("name the files to send again by id, or a partner whose dead files to send again")
        if dead_of_partner:
            if self.ledger.partner_directory().get(dead_of_partner) is None:
                raise OutboxError(f"{dead_of_partner} is not a trading partner")
            wanted = self.ledger.dead_outbox_ids(dead_of_partner)
        missing = [outbox_id for outbox_id in wanted if self.ledger.outbox_file(outbox_id) is None]
        if missing:
            raise OutboxError(f"there is no outbound file {', '.join(map(str, missing))}; nothing was sent again (hub outbox list shows the files)")
        if not wanted:
            return []
        reopened = self.ledger.reopen_outbox(wanted, audit)
        self.place_pickups()
        self.wake()
        return reopened

    # -- one partner, one file ---------------------------------------------------------------------------

    def _partner_task(self, partner_id: str) -> asyncio.Task:
        """The task delivering this partner's files: the running one, or a new one."""
        task = self._tasks.get(partner_id)
        if task is None or task.done():
            task = asyncio.create_task(self._deliver_partner(partner_id), name=f"deliver-{partner_id}")
            wakes = self._wakes
            task.add_done_callback(lambda finished: self._partner_done(partner_id, finished, wakes))
            self._tasks[partner_id] = task
        return task

    def _partner_done(self, partner_id: str, task: asyncio.Task, wakes_at_start: int) -> None:
        if self._tasks.get(partner_id) is task:
            del self._tasks[partner_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery to %s stopped; its files stay pending and are tried again on the next turn",
                      partner_id, exc_info=task.exception())
        # files that came while the task ran may have come after its last look; when nothing woke
        # `run` meanwhile, nothing came (every new file wakes it), and a look would only cost: with a
        # delivery process per worker, each file wakes them all, and all but one find nothing to do
        if self._wakeup is not None and self._wakes != wakes_at_start:
            self._wakeup.set()

    async def _deliver_partner(self, partner_id: str) -> list[DeliveryResult]:
        """The partner's pending files in order, one at a time, each until it is settled; it stops
        where another process holds a file (that process goes on with the partner's files). Files
        placed locally (pickup) go together, one attempt each, until one of them fails."""
        results, together = [], True
        while rows := await asyncio.to_thread(self.ledger.pending_outbox, partner_id):
            partner = await asyncio.to_thread(lambda: self.ledger.partner_directory().get(partner_id))
            if together and isinstance(self._channel(partner), LocalChannel):
                placed = await asyncio.to_thread(self._place, [(row, partner) for row in rows])
                results += placed
                if len(placed) < len(rows):  # another process holds some of them
                    return results
                together = all(result.status != "pending" for result in placed)  # else what failed is tried again with waits between
                continue
            for row in rows:
                result = await self._deliver(row, partner)
                if result is None:
                    return results
                results.append(result)
        return results

    async def _deliver(self, row: Any, partner: Partner | None) -> DeliveryResult | None:
        """Attempts at one file until it is handed over or dead; None when another process holds
        it. Attempts already made in this round (before a restart) count against the limit."""
        parcel, limit = self._parcel(row, partner)
        channel = self._channel(partner)
        numbers = itertools.count(row.attempts + 1)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(limit - row.attempts, 1)),  # the last one settles the file: delivered or dead
            wait=wait_exponential(multiplier=self.settings.delivery_backoff_seconds, max=self.settings.delivery_backoff_max_seconds),
            retry=retry_if_exception_type(_TryAgain),
        )

        async def attempt() -> DeliveryResult | None:
            if not await asyncio.to_thread(self.ledger.claim_outbox, parcel.outbox_id, self.owner, self.lease_seconds):
                return None
            number, started = next(numbers), time.perf_counter()
            try:
                answer: Handover | DeliveryFailed = await channel.send(parcel)
            except DeliveryFailed as failure:
                answer = failure
            except Exception as exc:
                answer = _channel_failed(parcel, exc)
            result = await asyncio.to_thread(self._settle, parcel, number, limit, answer, started)
            if result.status == "pending":
                raise _TryAgain(result.error)
            return result

        return await retrying(attempt)

    def _parcel(self, row: Any, partner: Partner | None) -> tuple[Parcel, int]:
        """The file as a channel sends it, and how many attempts it gets."""
        delivery = partner.delivery if partner else Delivery()
        parcel = Parcel(row.id, row.partner_id, row.kind, row.filename, row.content, delivery)
        return parcel, delivery.attempts or self.settings.delivery_attempts

    def _channel(self, partner: Partner | None) -> OutboundChannel:
        if partner is None:
            return _Undeliverable("the file's partner is not a trading partner (any more); nothing can be sent to it")
        method = partner.delivery.method
        if method not in self.channels:
            return _Undeliverable(f"{partner.id} takes files by {method}, but no {method} channel is installed "
                                  f"(installed: {', '.join(sorted(self.channels)) or 'none'})")
        return self.channels[method]

    @staticmethod
    def _try(parcel: Parcel, place) -> Handover | DeliveryFailed:
        try:
            return place(parcel)
        except DeliveryFailed as failure:
            return failure
        except Exception as exc:
            return _channel_failed(parcel, exc)

    def _settle(self, parcel: Parcel, number: int, limit: int, answer: Handover | DeliveryFailed, started: float) -> DeliveryResult:
        """Put attempt `number` on record with where it leaves the file."""
        return self._record([self._attempt(parcel, number, limit, answer, started)])[0]

    @staticmethod
    def _attempt(parcel: Parcel, number: int, limit: int, answer: Handover | DeliveryFailed, started: float) -> _Attempt:
        """Attempt `number` as it goes on record: a transient failure with attempts left leaves the file pending; any other failure, dead."""
        duration_ms = (time.perf_counter() - started) * 1000
        if isinstance(answer, DeliveryFailed):
            outcome = "failed" if answer.transient and number < limit else "dead"
            return _Attempt(parcel, number, limit, outcome, answer.status_code, answer.message, duration_ms)
        return _Attempt(parcel, number, limit, answer.outcome, answer.status_code, None, duration_ms)

    def _record(self, attempts: list[_Attempt]) -> list[DeliveryResult]:
        """Put attempts on record together, and log them: a failure on a line of its own, files
        handed over a line for each partner (a round of pickup files can be hundreds)."""
        self.ledger.record_delivery_attempts([a.row() for a in attempts])
        results = []
        for a in attempts:
            result = DeliveryResult(a.parcel.outbox_id, a.parcel.partner_id, a.parcel.kind, a.parcel.filename, a.parcel.delivery.method,
                                    Ledger.OUTBOX_STATUS_AFTER[a.outcome], a.number, a.status_code, a.error)
            if a.outcome in ("failed", "dead"):
                _log_failure(result, a.outcome, a.limit)
            results.append(result)
        _log_handovers([r for r in results if r.status in ("ready", "delivered")])
        return results


def _channel_failed(parcel: Parcel, exc: Exception) -> DeliveryFailed:
    """A channel must raise DeliveryFailed; one that fails otherwise still leaves the file on record."""
    log.error("the %s channel failed on outbound file %s", parcel.delivery.method, parcel.outbox_id, exc_info=exc)
    return DeliveryFailed(f"the {parcel.delivery.method} channel failed: {type(exc).__name__}: {exc}", transient=True)


def _log_failure(result: DeliveryResult, outcome: str, limit: int) -> None:
    what = f"outbound file {result.outbox_id} ({result.filename}) to {result.partner_id} by {result.method}"
    if outcome == "failed":
        log.warning("%s: attempt %s of %s failed, tried again: %s", what, result.attempts, limit, result.error)
    else:
        log.error("%s is dead after %s attempt(s): %s", what, result.attempts, result.error)


def _log_handovers(results: list[DeliveryResult]) -> None:
    """One line per partner, channel and outcome: the file itself when it is one, else how many and their ids."""
    groups: dict[tuple[str, str, str], list[DeliveryResult]] = {}
    for result in results:
        groups.setdefault((result.partner_id, result.method, result.status), []).append(result)
    for (partner_id, method, status), handed in groups.items():
        if len(handed) == 1:
            log.info("outbound file %s (%s) to %s by %s: %s", handed[0].outbox_id, handed[0].filename, partner_id, method, status)
        else:
            log.info("%d outbound files (%s to %s) to %s by %s: %s", len(handed), handed[0].outbox_id, handed[-1].outbox_id, partner_id, method, status)
