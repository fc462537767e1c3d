"""The ledger as a work queue: workers claim received files (to split them into documents) and
queued documents (to decide and post them) with a lease, so that any number of worker processes on
any number of machines share the work, a dead worker's claims come back, and nothing is done twice.

A claim is a short transaction of its own: rows are chosen with `FOR UPDATE SKIP LOCKED`
(PostgreSQL; SQLite has one writer at a time) and stamped with the claimer (`lease_owner`) and an
expiry (`lease_until`). The work runs in a second transaction that first locks the claimed rows
again, and only those still claimed by this worker (`hold_files`, `hold_documents`). While that
transaction lives, its row locks keep every other claimer off, even past the expiry. A worker that
dies loses its transaction with its connection, and its rows are claimed again once the lease runs
out. A worker whose claim was taken over finds nothing to hold and does nothing; what it posted to
the ERP before is found there by the next worker (postings are idempotent on source_document).

Small files (one order, a few) are claimed several at a time and split in one step, one ledger
and one ERP transaction for all of them: a one-order file costs most of its time in what every
step does (claims, commits, the ERP's reference data), not in its document.

Order: a queued document names its lanes (hub.flows.lanes: its customer, the items it allocates
...). Documents sharing a lane are decided in the order received (file id, then position in the
file): a document is claimed only when every earlier unsettled document in its lanes is settled or
claimed in the same batch (the worker decides a batch in order), and no document is claimed while
an earlier file is still to be split, since its documents and their lanes are not known yet.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import takewhile
from typing import Any

from sqlalchemy import Connection, exists, func, or_, select, update

from hub.ledger import tables as t
from hub.ledger.store import Ledger, now
from hub.ledger.wakeup import WORK, announce
from hub.timespan import utc

_i, _d = t.interchanges.c, t.documents.c
QUEUED = "mapped"  # a document split from its file and mapped, waiting to be decided
SMALL_FILE_BYTES = 64 * 1024  # a file this size or less may be split in one step with others (one order, a few)


class WorkQueue:
    def __init__(self, ledger: Ledger, lease_seconds: float, window: int = 1000):
        self.ledger = ledger
        self.lease = timedelta(seconds=lease_seconds)
        self.window = window  # unsettled documents looked at per claim, oldest first

    # -- files ---------------------------------------------------------------------------------

    def claim_file(self, owner: str, interchange_id: int | None = None) -> int | None:
        """Claim the oldest received file no one else holds (or file `interchange_id`); its id, or None."""
        claimed = self.claim_files(owner, 1, interchange_id)
        return claimed[0] if claimed else None

    def claim_files(self, owner: str, limit: int, interchange_id: int | None = None) -> list[int]:
        """Claim the oldest received file no one else holds (or file `interchange_id`) and, when it
        is small and was never tried, the small untried files after it, up to `limit` files: their
        ids, oldest first, to split in one step. A file tried before (its step failed or its worker
        died) is claimed alone, so a file that stops workers cannot take others down with it."""
        at = now()
        query = select(_i.id, _i.size, _i.attempts).where(_i.status == "received", _free(_i, at, owner)).order_by(_i.id).limit(limit)
        if interchange_id is not None:
            query = query.where(_i.id == interchange_id)
        with self.ledger.writer.begin() as conn:
            found = conn.execute(query.with_for_update(skip_locked=True)).all()
            claimed = [row.id for row in takewhile(_joins, found)] or [row.id for row in found[:1]]
            if claimed:
                conn.execute(update(t.interchanges).where(_i.id.in_(claimed))
                             .values(lease_owner=owner, lease_until=at + self.lease, attempts=_i.attempts + 1))
        return claimed

    @staticmethod
    def hold_files(conn: Connection, interchange_ids: list[int], owner: str) -> dict[int, Any]:
        """The claimed files' rows by id, locked for this transaction; those no longer `owner`'s to run are left out."""
        query = select(t.interchanges).where(_i.id.in_(interchange_ids), _i.status == "received", _i.lease_owner == owner).order_by(_i.id)
        return {row.id: row for row in conn.execute(query.with_for_update())}

    @staticmethod
    def nothing_ahead(conn: Connection, interchange_id: int) -> bool:
        """Whether a file's documents may be decided as it is split: no earlier file is still to be
        split and no document of one waits to be decided, so none can be ahead of them in a lane."""
        earlier_file = select(_i.id).where(_i.status == "received", _i.id < interchange_id)
        earlier_document = select(_d.id).where(_d.state == QUEUED, _d.interchange_id < interchange_id)
        return not conn.execute(select(exists(earlier_file) | exists(earlier_document))).scalar()

    # -- documents -----------------------------------------------------------------------------

    def claim_documents(self, owner: str, limit: int) -> list[int]:
        """Claim up to `limit` queued documents that may be decided now, in the order to decide them."""
        at = now()
        unsplit = select(func.min(_i.id)).where(_i.status == "received").scalar_subquery()
        window = (select(_d.id, _d.lanes, _d.lease_owner, _d.lease_until)
                  .where(_d.state == QUEUED, or_(unsplit.is_(None), _d.interchange_id < unsplit))
                  .order_by(_d.interchange_id, _d.position).limit(self.window))
        with self.ledger.writer.begin() as conn:
            rows = conn.execute(window).all()
            wanted = ready_in_order(rows, limit, lambda row: _takeable(row, owner, at))
            if not wanted:
                return []
            locked = {r.id: r for r in conn.execute(select(_d.id, _d.lease_owner, _d.lease_until).where(_d.id.in_(wanted), _d.state == QUEUED)
                                                     .with_for_update(skip_locked=True))}
            chosen = set(wanted)
            picked = [row for row in rows if row.id in chosen]
            claimed = ready_in_order(picked, limit, lambda row: row.id in locked and _takeable(locked[row.id], owner, at))
            if claimed:
                conn.execute(update(t.documents).where(_d.id.in_(claimed))
                             .values(lease_owner=owner, lease_until=at + self.lease, attempts=_d.attempts + 1))
        return claimed

    @staticmethod
    def hold_documents(conn: Connection, document_ids: list[int], owner: str) -> list[Any]:
        """The claimed documents (`document_ids`, in the order to decide them) still `owner`'s,
        locked for this transaction: those before the first one taken over by someone else. The
        rest are given back, since a taken-over document may be ahead of them in a lane."""
        query = select(t.documents).where(_d.id.in_(document_ids), _d.state == QUEUED, _d.lease_owner == owner).with_for_update()
        held = {row.id: row for row in conn.execute(query)}
        rows = []
        for document_id in document_ids:
            if document_id not in held:
                break
            rows.append(held[document_id])
        rest = [document_id for document_id in document_ids[len(rows):] if document_id in held]
        if rest:
            conn.execute(update(t.documents).where(_d.id.in_(rest)).values(lease_until=None))
        return rows

    # -- all claims of a worker ------------------------------------------------------------------

    def renew(self, owners: Iterable[str]) -> None:
        """Extend the leases of `owners` still at work (a worker's heartbeat). Rows a step of theirs
        holds locked are left alone: while its transaction lives no one else can claim them, and
        waiting for them could deadlock with the step, which locks them as it goes."""
        self._lease_until(owners, now() + self.lease, skip_locked=True)

    def release_orphans(self) -> list[str]:
        """Give back at once the claims of processes on this machine that are no longer running (a
        crash, a kill -9) rather than wait for their leases; claims from other machines wait. Returns
        the owners whose claims were given back."""
        host = socket.gethostname()
        with self.ledger.engine.connect() as conn:
            owners = set(conn.execute(select(_i.lease_owner).where(_i.status == "received", _i.lease_until.is_not(None),
                                                                   _i.lease_owner.startswith(f"{host}:"))).scalars())
            owners |= set(conn.execute(select(_d.lease_owner).where(_d.state == QUEUED, _d.lease_until.is_not(None),
                                                                    _d.lease_owner.startswith(f"{host}:")).distinct()).scalars())
        gone = sorted(owner for owner in owners if not _running(owner))
        if gone:
            self.release(gone)
        return gone

    def release(self, owners: Iterable[str]) -> None:
        """Give back what `owners` claimed and did not settle (a worker stopping, a batch that failed)."""
        self._lease_until(owners, None, tell_workers=True)

    def give_back(self, owner: str, interchange_ids: Iterable[int] = (), document_ids: Iterable[int] = ()) -> None:
        """Give back claims of `owner` whose work failed for a reason outside it (the ERP could not
        be reached) or was not begun: free for anyone at once, and this try not counted against
        HUB_MAX_ATTEMPTS."""
        interchange_ids, document_ids = list(interchange_ids), list(document_ids)
        with self.ledger.writer.begin() as conn:
            if interchange_ids:
                conn.execute(update(t.interchanges).where(_i.id.in_(interchange_ids), _i.lease_owner == owner, _i.status == "received")
                             .values(lease_until=None, attempts=_i.attempts - 1))
            if document_ids:
                conn.execute(update(t.documents).where(_d.id.in_(document_ids), _d.lease_owner == owner, _d.state == QUEUED)
                             .values(lease_until=None, attempts=_d.attempts - 1))
            announce(conn, WORK)

    def _lease_until(self, owners: Iterable[str], until: datetime | None, skip_locked: bool = False, tell_workers: bool = False) -> None:
        """Set the expiry of every unsettled claim of `owners` (None: free for anyone, and
        `tell_workers` wakes the other workers)."""
        owners = list(owners)
        if not owners:  # a process that only delivers
            return
        with self.ledger.writer.begin() as conn:
            for table, unsettled in ((t.interchanges, _i.status == "received"), (t.documents, _d.state == QUEUED)):
                claims = select(table.c.id).where(table.c.lease_owner.in_(owners), unsettled).with_for_update(skip_locked=skip_locked)
                conn.execute(update(table).where(table.c.id.in_(claims)).values(lease_until=until))
            if tell_workers:
                announce(conn, WORK)

    # -- for people ------------------------------------------------------------------------------

    def depth(self) -> dict[str, Any]:
        """Files still to split and documents still to decide, when the oldest of them arrived and
        how long ago that is (0 when nothing waits)."""
        waiting_files = select(func.count(), func.min(_i.received_at)).where(_i.status == "received")
        waiting_documents = (select(func.count(), func.min(_i.received_at))
                             .select_from(t.documents.join(t.interchanges, _d.interchange_id == _i.id)).where(_d.state == QUEUED))
        with self.ledger.engine.connect() as conn:
            files, oldest_file = conn.execute(waiting_files).one()
            documents, oldest_document = conn.execute(waiting_documents).one()
        oldest = min((utc(at) for at in (oldest_file, oldest_document) if at is not None), default=None)  # SQLite's are naive
        waited = 0.0 if oldest is None else max(0.0, (now() - oldest).total_seconds())
        return {"files": files, "documents": documents, "oldest_received_at": oldest, "waited_seconds": waited}


def ready_in_order(rows: list[Any], limit: int, takeable: Callable[[Any], bool]) -> list[int]:
    """Ids of up to `limit` of `rows` (unsettled documents, in the order received) that may be
    decided now, in that order: each `takeable`, and no earlier row in one of its lanes unless that
    one was taken too."""
    blocked: set[str] = set()
    taken: list[int] = []
    for row in rows:
        if len(taken) == limit:
            break
        lanes = set((row.lanes or "").split())
        if takeable(row) and not lanes & blocked:
            taken.append(row.id)
        else:
            blocked |= lanes
    return taken


def _running(owner: str) -> bool:
    """Whether the process of a claim's owner (host:pid:random[/thread]) on this machine still runs."""
    try:
        os.kill(int(owner.split(":")[1]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, IndexError):
        return True  # someone else's process, or not an owner we wrote: leave it to the lease
    return True


def _free(columns, at: datetime, owner: str):
    """No one else's live claim: never claimed, given back, run out, or `owner`'s own (a claim of
    its that failed half-way, taken again)."""
    return or_(columns.lease_until.is_(None), columns.lease_until < at, columns.lease_owner == owner)


def _joins(row) -> bool:
    """Whether a received file may be split in one step with others: small and never tried."""
    return row.attempts == 0 and row.size <= SMALL_FILE_BYTES


def _takeable(row, owner: str, at: datetime) -> bool:
    """`_free`, for a row read."""
    return row.lease_until is None or row.lease_owner == owner or utc(row.lease_until) < at  # SQLite's are naive
