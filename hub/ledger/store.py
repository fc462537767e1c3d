"""Reads and writes of the ledger. The pipeline calls these; nothing else writes the ledger.

Write functions take an open connection so the caller decides the transaction: a file's bytes
are committed on their own before anything else; a batch of documents, their events,
exceptions, postings and outbox rows are committed together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Text, and_, bindparam, cast, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from hub.db import copy_many, writer
from hub.ledger import tables as t
from hub.ledger.wakeup import OUTBOX, WORK, announce
from hub.partners import OurIdentity, Partner, PartnerDirectory

_UPSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # INSERT ... ON CONFLICT, by dialect
_counter = t.control_numbers.c
_NEXT_CONTROL_NUMBER = (
    update(t.control_numbers)
    .where(_counter.partner_id == bindparam("p"), _counter.kind == bindparam("k"))
    .values(last_value=_counter.last_value + 1)
    .returning(_counter.last_value)
)
_SET_CONTROL_NUMBER = (
    update(t.control_numbers)
    .where(_counter.partner_id == bindparam("p"), _counter.kind == bindparam("k"))
    .values(last_value=bindparam("v"))
)
_UPDATE_DOCUMENTS = update(t.documents).where(t.documents.c.id == bindparam("_document_id"))  # SET: the columns given
_i, _d, _o = t.interchanges.c, t.documents.c, t.outbox.c
_ACKNOWLEDGE = (update(t.outbox).where(_o.id == bindparam("outbox_id"))
                .values(ack_status=bindparam("outcome"), acknowledged_at=bindparam("at"), ack_document_id=bindparam("acknowledgment")))
_FILE_COLUMNS = (_i.id, _i.partner_id, _i.channel, _i.filename, _i.format, _i.sha256, _i.size, _i.status, _i.control_number,
                 _i.problems, _i.duplicate_of, _i.received_at)
_DOCUMENT_COLUMNS = (_d.id, _d.position, _d.doc_type, _d.reference, _d.state, _d.holds, _d.erp_ref, _d.total)


def _partner_row(partner: Partner) -> dict[str, Any]:
    return {"name": partner.name, "role": partner.role, "config": partner.model_dump(mode="json"),
            "enabled": partner.enabled, "updated_at": now()}


class AlreadyClaimed(Exception):
    def __init__(self, key: str, interchange_id: int):
        super().__init__(f"{key} is held by interchange {interchange_id}")
        self.key = key
        self.interchange_id = interchange_id


def now() -> datetime:
    return datetime.now(UTC)


def _by_columns(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[int]]:
    """Positions of `rows` by the columns each gives: one executemany may only carry rows alike."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for n, row in enumerate(rows):
        groups.setdefault(tuple(sorted(row)), []).append(n)
    return groups


class Ledger:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.writer = writer(engine)  # for transactions that write (IMMEDIATE on SQLite)
        self._parsed: dict[str, Partner | OurIdentity] = {}  # partner_directory's: stored text -> what it says

    # -- partners -----------------------------------------------------------------------------

    def save_partners(self, directory: PartnerDirectory) -> list[str]:
        """Add the partners the ledger does not have yet, and record our own identity (`hub init
        --seed`). A partner the ledger has is left as it is: once there, the ledger is the source of
        truth and the API changes it. Returns the ids added."""
        with self.writer.begin() as conn:
            added = [partner.id for partner in directory.partners if self.add_partner(conn, partner)]
            us = directory.self_.model_dump(mode="json")
            if conn.execute(update(t.settings).where(t.settings.c.key == "self").values(value=us)).rowcount == 0:
                conn.execute(insert(t.settings).values(key="self", value=us))
        return added

    def save_partner(self, partner: Partner) -> None:
        """Insert or replace one partner."""
        with self.writer.begin() as conn:
            self.write_partner(conn, partner)

    @staticmethod
    def add_partner(conn: Connection, partner: Partner) -> bool:
        """Insert a partner unless one with its id exists; whether it was inserted."""
        if conn.execute(select(t.partners.c.id).where(t.partners.c.id == partner.id)).first() is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(insert(t.partners).values(id=partner.id, **_partner_row(partner)))
        except IntegrityError:  # another transaction inserted it between our read and insert
            return False
        return True

    @staticmethod
    def write_partner(conn: Connection, partner: Partner) -> None:
        """Insert or replace one partner, in the caller's transaction."""
        row = _partner_row(partner)
        if conn.execute(update(t.partners).where(t.partners.c.id == partner.id).values(**row)).rowcount == 0:
            conn.execute(insert(t.partners).values(id=partner.id, **row))

    @staticmethod
    def load_partner(conn: Connection, partner_id: str, lock: bool = False) -> Partner | None:
        """One partner, or None; `lock` holds its row for this transaction (to change it)."""
        query = select(t.partners.c.config).where(t.partners.c.id == partner_id)
        config = conn.execute(query.with_for_update() if lock else query).scalar()
        return None if config is None else Partner.model_validate(config)

    def partner_directory(self) -> PartnerDirectory:
        """The partners as stored now. Each is read from its stored text and validated once per
        text (`_parsed`): a worker looks the directory up for every file it takes."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(cast(t.partners.c.config, Text)).order_by(t.partners.c.id)).scalars().all()
            us = conn.execute(select(cast(t.settings.c.value, Text)).where(t.settings.c.key == "self")).scalar()
        if us is None:
            return PartnerDirectory.model_validate({"self": {"name": "", "isa": {"qualifier": "", "id": ""}, "gs": ""}, "partners": []})
        parsed = {text: self._parsed.get(text) or Partner.model_validate_json(text) for text in rows}
        parsed[us] = self._parsed.get(us) or OurIdentity.model_validate_json(us)
        self._parsed = parsed  # only what is stored now is kept
        return PartnerDirectory(**{"self": parsed[us], "partners": [parsed[text] for text in rows]})

    # -- intake -------------------------------------------------------------------------------

    def receive(self, raw: bytes, channel: str, filename: str | None, partner_id: str | None,
                claims: tuple[str, ...] = ()) -> tuple[int, int | None]:
        """Commit a file's bytes; return (interchange id, id of the earlier identical file or None).

        `claims` are identities this receipt must be the first to hold (a webhook's signature, its
        idempotency key); if one is held already, nothing is stored and `AlreadyClaimed` says by whom.
        """
        sha = hashlib.sha256(raw).hexdigest()
        with self.writer.begin() as conn:
            interchange_id = conn.execute(
                insert(t.interchanges).values(
                    partner_id=partner_id,
                    channel=channel,
                    filename=filename,
                    sha256=sha,
                    size=len(raw),
                    raw=raw,
                    status="received",
                    received_at=now(),
                )
            ).inserted_primary_key[0]
            for key in claims:
                holder = self.claim_key(conn, key, interchange_id)
                if holder is not None:
                    raise AlreadyClaimed(key, holder)  # rolls the receipt back
            earlier = self.claim_key(conn, f"sha:{sha}", interchange_id)
            if earlier is not None:  # the same bytes: from the same sender, holding the same (once that one is read)
                first = conn.execute(select(_i.partner_id, _i.contents).where(_i.id == earlier)).one()
                known = {"partner_id": partner_id or first.partner_id, "contents": first.contents}
                self.mark_interchange(conn, interchange_id, "duplicate", duplicate_of=earlier,
                                      **{k: v for k, v in known.items() if v is not None})
            self.add_event(conn, interchange_id, None, None, "duplicate" if earlier else "received", {"sha256": sha})
            if earlier is None:
                announce(conn, WORK)
        return interchange_id, earlier

    @staticmethod
    def holder(conn: Connection, key: str) -> Any:
        """The interchange that holds `key` (its id and sha256), or None."""
        k, i = t.interchange_keys.c, t.interchanges.c
        return conn.execute(select(i.id, i.sha256).join_from(t.interchange_keys, t.interchanges, k.interchange_id == i.id)
                            .where(k.key == key)).first()

    @staticmethod
    def claim_key(conn: Connection, key: str, interchange_id: int) -> int | None:
        """Claim an identity for an interchange; the earlier interchange's id if it was taken.
        One statement when the key is new (INSERT ... ON CONFLICT DO NOTHING: a claim racing ours
        in another transaction makes it wait for that one's end, then find the key taken)."""
        claim = _UPSERT[conn.dialect.name](t.interchange_keys).values(key=key, interchange_id=interchange_id)
        if conn.execute(claim.on_conflict_do_nothing(index_elements=["key"])).rowcount == 1:
            return None
        holder = conn.execute(select(t.interchange_keys.c.interchange_id).where(t.interchange_keys.c.key == key)).scalar_one()
        return None if holder == interchange_id else holder

    @staticmethod
    def interchange_row(conn: Connection, interchange_id: int) -> Any:
        return conn.execute(select(t.interchanges).where(t.interchanges.c.id == interchange_id)).one()

    def interchange(self, interchange_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(t.interchanges).where(t.interchanges.c.id == interchange_id)).one()

    @staticmethod
    def mark_interchange(conn: Connection, interchange_id: int, status: str, **values: Any) -> None:
        conn.execute(update(t.interchanges).where(t.interchanges.c.id == interchange_id).values(status=status, **values))

    @staticmethod
    def record_contents(conn: Connection, row: Any, contents: dict[str, Any]) -> None:
        """What a file (`row`) says it holds, on it and on the byte-identical copies of it that
        arrived before it was read (`receive` gives later copies the contents it has by then)."""
        copies = and_(_i.duplicate_of == row.id, _i.contents.is_(None))
        conn.execute(update(t.interchanges).where(_i.sha256 == row.sha256, or_(_i.id == row.id, copies)).values(contents=contents))

    # -- documents ----------------------------------------------------------------------------

    @staticmethod
    def settled_positions(conn: Connection, interchange_id: int) -> dict[int, Any]:
        rows = conn.execute(select(t.documents).where(t.documents.c.interchange_id == interchange_id)).all()
        return {row.position: row for row in rows}

    @staticmethod
    def add_documents(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        """Insert documents (COPY on PostgreSQL), one statement per set of columns given; their
        ids, in the order of `rows`, read back by file and position (COPY returns none)."""
        if not rows:
            return []
        stamp = now()
        for positions in _by_columns(rows).values():
            copy_many(conn, t.documents, [{"created_at": stamp, "updated_at": stamp, **rows[n]} for n in positions])
        places: dict[int, list[int]] = {}
        for row in rows:
            places.setdefault(row["interchange_id"], []).append(row["position"])
        spans = [and_(_d.interchange_id == file, _d.position.between(min(found), max(found))) for file, found in places.items()]
        ids = {(r.interchange_id, r.position): r.id for r in conn.execute(select(_d.id, _d.interchange_id, _d.position).where(or_(*spans)))}
        return [ids[row["interchange_id"], row["position"]] for row in rows]

    @staticmethod
    def lock_document(conn: Connection, document_id: int) -> Any:
        """A document's row, locked for this transaction (two people acting on it take turns); None if there is none."""
        return conn.execute(select(t.documents).where(t.documents.c.id == document_id).with_for_update()).first()

    @staticmethod
    def update_documents(conn: Connection, changes: list[tuple[int, dict[str, Any]]]) -> None:
        """Set columns of documents: (id, values) each, one statement per set of columns changed."""
        stamp = now()
        values = [values for _, values in changes]
        for positions in _by_columns(values).values():
            conn.execute(_UPDATE_DOCUMENTS, [{"_document_id": changes[n][0], "updated_at": stamp, **changes[n][1]} for n in positions])

    @staticmethod
    def settle_exceptions(conn: Connection, document_id: int, holds: dict[str, str], resolution: str, action: str, by: str) -> set[str]:
        """After a document ran again with `holds` (code -> message): its open exceptions whose code
        is held again stay open (with the new words); the others are resolved. Returns the codes
        that need a new exception."""
        x = t.exceptions.c
        still_open = set()
        for row in conn.execute(select(x.id, x.code).where(x.document_id == document_id, x.status == "open")).all():
            if row.code in holds:
                conn.execute(update(t.exceptions).where(x.id == row.id).values(message=holds[row.code]))
                still_open.add(row.code)
            else:
                conn.execute(update(t.exceptions).where(x.id == row.id).values(
                    status="resolved", resolution=resolution, action=action, resolved_by=by, resolved_at=now()))
        return set(holds) - still_open

    @staticmethod
    def add_event(conn: Connection, interchange_id: int, document_id: int | None, from_state: str | None, to_state: str, detail: Any = None) -> None:
        conn.execute(
            insert(t.events).values(
                interchange_id=interchange_id, document_id=document_id, from_state=from_state, to_state=to_state, detail=detail, at=now()
            )
        )

    @staticmethod
    def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Append transitions; each row may carry its own `at` (when it happened)."""
        stamp = now()
        copy_many(conn, t.events, [{"document_id": None, "from_state": None, "detail": None, "at": stamp, **r} for r in rows])

    @staticmethod
    def add_exceptions(conn: Connection, rows: list[dict[str, Any]], policy: Callable[[str], tuple[float, int]]) -> None:
        """Open exceptions (document_id, code, queue, message), due and ranked by their queue's
        `policy` (SLA hours, priority: Settings.queue_policy)."""
        if rows:
            created = now()
            values = []
            for r in rows:
                hours, priority = policy(r["queue"])
                values.append({"priority": priority, "status": "open", "created_at": created, "due_at": created + timedelta(hours=hours), **r})
            conn.execute(insert(t.exceptions), values)

    @staticmethod
    def add_postings(conn: Connection, rows: list[dict[str, Any]]) -> None:
        stamp = now()
        copy_many(conn, t.postings, [{"at": stamp, **r} for r in rows])

    # -- outbound -----------------------------------------------------------------------------

    @staticmethod
    def next_control_number(conn: Connection, partner_id: str, kind: str) -> int:
        """The next value of a per-partner counter; the row lock makes it unique across workers."""
        key = {"p": partner_id, "k": kind}
        value = conn.execute(_NEXT_CONTROL_NUMBER, key).scalar()
        if value is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(t.control_numbers).values(partner_id=partner_id, kind=kind, last_value=1))
                return 1
            except IntegrityError:
                value = conn.execute(_NEXT_CONTROL_NUMBER, key).scalar()
        return value

    @staticmethod
    def set_control_numbers(conn: Connection, last_values: dict[tuple[str, str], int]) -> None:
        """Write back counters (partner id, kind) -> last value given, their rows locked by this transaction."""
        if last_values:
            conn.execute(_SET_CONTROL_NUMBER, [{"p": p, "k": k, "v": v} for (p, k), v in last_values.items()])

    @staticmethod
    def add_outbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Outbound files, pending until they are put where the partner picks them up; each row may
        carry its own `created_at`. The processes that deliver hear of them at commit."""
        if rows:
            stamp = now()
            copy_many(conn, t.outbox, [{"status": "pending", "attempts": 0, "created_at": stamp, **r} for r in rows])
            announce(conn, OUTBOX)

    @staticmethod
    def files_in_group(conn: Connection, partner_id: str, group_control: str) -> list[Any]:
        """The outbound files we sent `partner_id` in functional group `group_control` (our GS06):
        what its 997/999 naming that group acknowledges (id, kind, filename)."""
        query = select(_o.id, _o.kind, _o.filename).where(_o.partner_id == partner_id, _o.group_control == group_control)
        return conn.execute(query.order_by(_o.id)).all()

    def committed_files_in_group(self, partner_id: str, group_control: str) -> list[Any]:
        """`files_in_group` as committed (for a rehearsal, which has no transaction of its own)."""
        with self.engine.connect() as conn:
            return self.files_in_group(conn, partner_id, group_control)

    @staticmethod
    def record_acknowledgments(conn: Connection, rows: list[dict[str, Any]]) -> None:
        """A partner's 997/999 on the files it acknowledges: rows of outbox_id, outcome (accepted ...),
        at and acknowledgment (the 997/999's own document id)."""
        if rows:
            conn.execute(_ACKNOWLEDGE, rows)

    # where an attempt leaves its file: in the pickup folder, delivered, still to deliver, dead-lettered
    OUTBOX_STATUS_AFTER = {"ready": "ready", "delivered": "delivered", "failed": "pending", "dead": "dead"}
    _OUTBOX_SUMMARY = (*(c for c in t.outbox.c if c.name != "content"), func.length(t.outbox.c.content).label("size"))

    def pending_outbox(self, partner_id: str | None = None) -> list[Any]:
        """Files still to deliver, oldest first: everyone's, or one partner's."""
        o = t.outbox.c
        query = select(t.outbox).where(o.status == "pending").order_by(o.id)
        if partner_id is not None:
            query = query.where(o.partner_id == partner_id)
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def partners_with_pending_outbox(self) -> list[str]:
        o = t.outbox.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(o.partner_id).where(o.status == "pending").distinct().order_by(o.partner_id)).scalars())

    def outbox_waiting(self) -> tuple[int, datetime | None]:
        """How many files wait to be delivered, and when the oldest of them was made (`hub status`)."""
        o = t.outbox.c
        with self.engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(o.created_at)).where(o.status == "pending")).one()
        return count, oldest

    def claim_outbox(self, outbox_id: int, owner: str, seconds: float) -> bool:
        """Take a pending file for one delivery attempt (and the wait after it) unless another
        process holds it: two workers never hand the same file over at once."""
        return outbox_id in self.claim_outboxes([outbox_id], owner, seconds)

    def claim_outboxes(self, outbox_ids: list[int], owner: str, seconds: float) -> set[int]:
        """`claim_outbox` for many files in one statement; the ids taken."""
        o, at = t.outbox.c, now()
        free = or_(o.lease_until.is_(None), o.lease_until < at, o.lease_owner == owner)
        with self.writer.begin() as conn:
            return set(conn.execute(update(t.outbox).where(o.id.in_(outbox_ids), o.status == "pending", free)
                                    .values(lease_owner=owner, lease_until=at + timedelta(seconds=seconds)).returning(o.id)).scalars())

    def record_delivery_attempts(self, attempts: list[dict[str, Any]]) -> None:
        """Attempts at delivering files (outbox_id, attempt, method, outcome, status_code, error,
        duration_ms), each with where it leaves its file (OUTBOX_STATUS_AFTER), in one transaction:
        the attempts in one COPY (PostgreSQL), the files one statement per outcome (a round of
        pickup files all leave `ready` after their first attempt)."""
        if not attempts:
            return
        stamp = now()
        leaves: dict[tuple, list[int]] = {}  # what the outbox row gets -> the files that get it
        for a in attempts:
            status = self.OUTBOX_STATUS_AFTER[a["outcome"]]
            leaves.setdefault((status, a["attempt"], a["error"], a["outcome"] == "delivered"), []).append(a["outbox_id"])
        o = t.outbox.c
        with self.writer.begin() as conn:
            copy_many(conn, t.delivery_attempts, [{**a, "at": stamp} for a in attempts])
            for (status, attempt, error, delivered), ids in leaves.items():
                # only a file still pending: a partner may take a pickup file the moment it is placed
                values = {"status": status, "attempts": attempt, "last_error": error} | ({"delivered_at": stamp} if delivered else {})
                conn.execute(update(t.outbox).where(o.id.in_(ids), o.status == "pending").values(**values))

    def reopen_outbox(self, outbox_ids: list[int], audit: Callable[[Connection, list[int]], None] | None = None) -> list[int]:
        """Send files again: pending, with a new round of attempts (earlier attempts stay on record).
        Returns the ids found. `audit(conn, ids)` is called in the same transaction, before the files
        change, to record the change."""
        o = t.outbox.c
        with self.writer.begin() as conn:
            found = list(conn.execute(select(o.id).where(o.id.in_(outbox_ids)).order_by(o.id)).scalars())
            if found and audit:
                audit(conn, found)
            if found:
                conn.execute(update(t.outbox).where(o.id.in_(found)).values(status="pending", attempts=0, last_error=None, delivered_at=None, lease_until=None))
                announce(conn, OUTBOX)
        return found

    def dead_outbox_ids(self, partner_id: str) -> list[int]:
        o = t.outbox.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(o.id).where(o.partner_id == partner_id, o.status == "dead").order_by(o.id)).scalars())

    def outbox_files(self, partner_id: str | None = None, status: str | None = None, limit: int | None = None) -> list[Any]:
        """Outbound files for people to read (without their bytes; `size` instead), newest first."""
        o = t.outbox.c
        query = select(*self._OUTBOX_SUMMARY).order_by(o.id.desc()).limit(limit)
        if partner_id is not None:
            query = query.where(o.partner_id == partner_id)
        if status is not None:
            query = query.where(o.status == status)
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def outbox_file(self, outbox_id: int) -> Any | None:
        """One outbound file (without its bytes), or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(*self._OUTBOX_SUMMARY).where(t.outbox.c.id == outbox_id)).first()

    def delivery_attempts(self, outbox_id: int) -> list[Any]:
        a = t.delivery_attempts.c
        with self.engine.connect() as conn:
            return conn.execute(select(t.delivery_attempts).where(a.outbox_id == outbox_id).order_by(a.id)).all()

    def picked_up(self, partner_id: str, filename: str) -> bool:
        """The partner took a file from its pickup folder (deleted it there): it is delivered."""
        o = t.outbox.c
        with self.writer.begin() as conn:
            done = conn.execute(update(t.outbox).where(o.partner_id == partner_id, o.filename == filename, o.status.in_(("pending", "ready")))
                                .values(status="delivered", delivered_at=now()))
        return done.rowcount > 0

    # -- reading for people ---------------------------------------------------------------------

    def state_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.documents.c.state, func.count()).group_by(t.documents.c.state)).all()
        return {state: count for state, count in rows}

    def open_exceptions(self) -> list[Any]:
        with self.engine.connect() as conn:
            return conn.execute(select(t.exceptions).where(t.exceptions.c.status == "open").order_by(t.exceptions.c.id)).all()

    def received_files(self, interchange_id: int | None = None, partner_id: str | None = None, state: str | None = None,
                       limit: int | None = None) -> list[dict[str, Any]]:
        """Received files, newest first, each with the documents found in it (`documents`, in file
        order): one file by id, or those of a partner / with a document in `state`."""
        i, d = t.interchanges.c, t.documents.c
        query = select(*_FILE_COLUMNS)
        if interchange_id is not None:
            query = query.where(i.id == interchange_id)
        if partner_id:
            query = query.where(i.partner_id == partner_id)
        if state:
            query = query.where(i.id.in_(select(d.interchange_id).where(d.state == state)))
        with self.engine.connect() as conn:
            files = [dict(r._mapping) for r in conn.execute(query.order_by(i.id.desc()).limit(limit))]
            inside = conn.execute(select(d.interchange_id.label("file_id"), *_DOCUMENT_COLUMNS)
                                  .where(d.interchange_id.in_([f["id"] for f in files])).order_by(d.interchange_id, d.position)).all()
        by_file: dict[int, list[dict[str, Any]]] = {}
        for row in inside:
            document = dict(row._mapping)
            by_file.setdefault(document.pop("file_id"), []).append(document)
        for file in files:
            file["documents"] = by_file.get(file["id"], [])
        return files
