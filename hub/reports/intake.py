"""Intake reconciliation: nothing lost between a partner's envelope and a settled document.

For each file received in the period, what it says it holds (its own control counts: IEA01 groups,
GE01 documents per type, SE01 segments; for formats without counts, the documents found) is set
against what became of each document: received = posted + held + rejected + duplicate + in flight.
A file that could not be read at all, a duplicate file and a file still waiting count as documents
of type "file" when nothing says what they hold. Any difference is a break, listed file by file.
A file's envelope counts (files, groups, segments) go on the row of the first type it holds.

Beside it, what we sent per partner, day and kind, and for what we sent, whether the partner's
functional acknowledgment (997/999) came back, is awaited, or is overdue.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby

from sqlalchemy import select

from hub.ledger import tables as t
from hub.reports.model import Column, Figure, Period, Report, Section, column_sums
from hub.reports.sources import Sources, day, money, received_in, volume_by_day
from hub.timespan import utc, within

OUTCOMES = ("posted", "held", "rejected", "duplicate", "in_flight")
OUTCOME_OF_STATE = {"posted": "posted", "answered": "posted", "held": "held", "rejected": "rejected",
                    "duplicate": "duplicate", **dict.fromkeys(t.IN_FLIGHT_STATES, "in_flight")}
# a file with no document rows: what became of everything in it, by the file's own status
OUTCOME_OF_FILE = {"received": "in_flight", "duplicate": "duplicate", "rejected": "rejected"}
WHOLE_FILE = "file"
ACCEPTED = ("accepted", "accepted-with-errors")
ZERO = Decimal("0.00")


@dataclass(slots=True)
class Tally:
    """The documents of one type in one received file."""

    interchange_id: int
    filename: str | None
    partner_id: str | None
    received_at: object
    doc_type: str
    received: int = 0
    envelope: dict = field(default_factory=dict)  # files, groups, segments (on a file's first type only)
    outcomes: Counter = field(default_factory=Counter)
    posted_amount: Decimal = ZERO
    held_amount: Decimal = ZERO
    units: int = 0

    @property
    def difference(self) -> int:
        return self.received - sum(self.outcomes.values())


def _tallies(sources: Sources, period: Period) -> Iterator[Tally]:
    """Per received file and document type, in partner and time order (streamed)."""
    i, d = t.interchanges, t.documents
    query = (select(i.c.id, i.c.partner_id, i.c.received_at, i.c.status, i.c.contents, i.c.filename,
                    d.c.doc_type, d.c.state, d.c.total, d.c.quantity)
             .select_from(i.outerjoin(d, d.c.interchange_id == i.c.id))
             .where(*received_in(period))
             .order_by(i.c.partner_id, i.c.received_at, i.c.id, d.c.position))
    for _, rows in groupby(sources.stream(query), key=lambda r: r.id):
        yield from _file_tallies(list(rows))


def _file_tallies(rows: list) -> list[Tally]:
    first = rows[0]
    contents = first.contents or {}
    declared = contents.get("documents")
    documents = [r for r in rows if r.doc_type is not None]
    tallies: dict[str, Tally] = {}

    def tally(doc_type: str) -> Tally:
        if doc_type not in tallies:
            tallies[doc_type] = Tally(first.id, first.filename, first.partner_id, first.received_at, doc_type)
        return tallies[doc_type]

    for doc_type, count in (declared or {}).items():
        tally(doc_type).received = count
    if not documents and first.status in OUTCOME_OF_FILE:
        for doc_type, count in (declared or {WHOLE_FILE: 1}).items():
            tally(doc_type).received = count
            tally(doc_type).outcomes[OUTCOME_OF_FILE[first.status]] = count
    for row in documents:
        found = tally(row.doc_type)
        if declared is None or row.doc_type not in declared:
            found.received += 1
        outcome = OUTCOME_OF_STATE.get(row.state, "in_flight")
        found.outcomes[outcome] += 1
        found.units += row.quantity or 0
        if outcome in ("posted", "held") and row.total is not None:
            setattr(found, f"{outcome}_amount", getattr(found, f"{outcome}_amount") + money(row.total))
    if tallies:
        next(iter(tallies.values())).envelope = {"files": 1, "groups": contents.get("groups"), "segments": contents.get("segments")}
    return list(tallies.values())


RECEIVED = (
    Column("partner", "Partner"), Column("day", "Day", "date"), Column("type", "Type"),
    Column("files", "Files", "int", True), Column("groups", "Groups (IEA01)", "int", True),
    Column("segments", "Segments (SE01)", "int", True), Column("received", "Received", "int", True),
    Column("posted", "Posted", "int", True), Column("held", "Held", "int", True), Column("rejected", "Rejected", "int", True),
    Column("duplicate", "Duplicate", "int", True), Column("in_flight", "In flight", "int", True),
    Column("break", "Break", "int", True), Column("posted_amount", "Posted amount", "money", True),
    Column("held_amount", "Held amount", "money", True), Column("units", "Units", "int", True),
)

BREAKS = (
    Column("interchange", "File id", "int"), Column("filename", "File"), Column("partner", "Partner"),
    Column("received_at", "Received at", "datetime"), Column("type", "Type"), Column("received", "Received", "int", True),
    *(Column(o, o.replace("_", " ").capitalize(), "int", True) for o in OUTCOMES),
    Column("break", "Break", "int", True),
)

SENT = (
    Column("partner", "Partner"), Column("day", "Day", "date"), Column("kind", "Kind"), Column("sent", "Sent", "int", True),
    Column("delivered", "Delivered", "int", True), Column("failed", "Not delivered", "int", True),
    Column("ack_expected", "Acknowledgment expected", "int", True), Column("acknowledged", "Acknowledged", "int", True),
    Column("ack_rejected", "Rejected by partner", "int", True), Column("awaiting", "Awaiting acknowledgment", "int", True),
    Column("overdue", "Acknowledgment overdue", "int", True),
)

OVERDUE = (
    Column("outbox", "Outbound id", "int"), Column("partner", "Partner"), Column("kind", "Kind"), Column("filename", "File"),
    Column("group", "Group (GS06)"), Column("sent_at", "Sent at", "datetime"), Column("due_at", "Due at", "datetime"),
    Column("hours_overdue", "Hours overdue", "measure"),
)


def build(sources: Sources, period: Period) -> Report:
    received, breaks = _received_rows(sources, period)
    sent = _sent_rows(sources, period)
    totals, sent_totals = column_sums(RECEIVED, received), column_sums(SENT, sent)
    summary = [
        Figure("Files received", totals["files"]),
        Figure("Documents received", totals["received"]),
        *(Figure(c.title, totals[c.key]) for c in RECEIVED if c.key in OUTCOMES),
        Figure("Received = posted + held + rejected + duplicate + in flight",
               "holds" if not breaks else f"does not hold for {breaks} file(s) and type(s)", "text", alarm=bool(breaks)),
        Figure("Breaks (documents unaccounted for)", totals["break"], alarm=bool(totals["break"])),
        Figure("Posted amount", totals["posted_amount"], "money"),
        Figure("Held amount", totals["held_amount"], "money"),
        Figure("Files sent", sent_totals["sent"]),
        Figure("Acknowledgments received for what we sent", sent_totals["acknowledged"] + sent_totals["ack_rejected"]),
        Figure("Acknowledgments overdue", sent_totals["overdue"], alarm=bool(sent_totals["overdue"])),
    ]
    return Report("intake", "Intake reconciliation", period, sources.now, summary, [
        Section("received", "Received and what became of it", RECEIVED, lambda: received,
                "Per partner, day (UTC) and document type: documents the files say they hold, and where each one is now."),
        Section("breaks", "Breaks", BREAKS, lambda: _break_rows(sources, period),
                "Files whose documents do not add up: received is not posted + held + rejected + duplicate + in flight.",
                "No breaks: every document received is accounted for."),
        Section("sent", "Sent and acknowledged", SENT, lambda: sent,
                "What we sent per partner, day and kind, and the partner's functional acknowledgment (997/999) of it."),
        Section("overdue", "Overdue acknowledgments", OVERDUE, lambda: _overdue_rows(sources, period),
                f"Files we sent that the partner has not acknowledged within {sources.settings.ack_due_hours:g} hours.",
                "No acknowledgment is overdue."),
    ], volume_by_day(sources, period))


def _received_rows(sources: Sources, period: Period) -> tuple[list[tuple], int]:
    """Per partner, day and type (bounded by partners x days x types, whatever the traffic); and
    how many files' types do not add up (the rows of the Breaks section)."""
    rows: dict[tuple, dict] = {}
    breaks = 0
    for tally in _tallies(sources, period):
        breaks += bool(tally.difference)
        key = (tally.partner_id or "(unknown)", day(tally.received_at), tally.doc_type)
        row = rows.setdefault(key, {"partner": key[0], "day": key[1], "type": key[2], "groups": None, "segments": None,
                                    **dict.fromkeys(("files", "received", *OUTCOMES, "break", "units"), 0),
                                    "posted_amount": ZERO, "held_amount": ZERO})
        for name in ("groups", "segments"):
            if tally.envelope.get(name) is not None:
                row[name] = (row[name] or 0) + tally.envelope[name]
        row["files"] += tally.envelope.get("files", 0)
        row["received"] += tally.received
        for outcome in OUTCOMES:
            row[outcome] += tally.outcomes[outcome]
        row["break"] += tally.difference
        row["posted_amount"] += tally.posted_amount
        row["held_amount"] += tally.held_amount
        row["units"] += tally.units
    return [tuple(row[c.key] for c in RECEIVED) for row in rows.values()], breaks


def _break_rows(sources: Sources, period: Period) -> Iterator[tuple]:
    for tally in _tallies(sources, period):
        if tally.difference:
                yield (tally.interchange_id, tally.filename, tally.partner_id, utc(tally.received_at), tally.doc_type, tally.received,
                   *(tally.outcomes[o] for o in OUTCOMES), tally.difference)


def _sent(period: Period):
    o = t.outbox
    query = select(o).where(*within(o.c.created_at, period.start, period.end))
    return query.where(o.c.partner_id == period.partner) if period.partner else query


def _sent_rows(sources: Sources, period: Period) -> list[tuple]:
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for row in sources.stream(_sent(period).with_only_columns(
            t.outbox.c.partner_id, t.outbox.c.created_at, t.outbox.c.kind, t.outbox.c.status, t.outbox.c.ack_due_at,
            t.outbox.c.ack_status)):
        tally = counts[(row.partner_id, day(row.created_at), row.kind)]
        tally["sent"] += 1
        tally["delivered"] += row.status == "delivered"
        tally["failed"] += row.status == "dead"
        if row.ack_due_at is not None:
            tally["ack_expected"] += 1
            if row.ack_status is not None:
                tally["acknowledged" if row.ack_status in ACCEPTED else "ack_rejected"] += 1
            else:
                tally["overdue" if utc(row.ack_due_at) < sources.now else "awaiting"] += 1
    return [(*key, *(c[col.key] for col in SENT[3:])) for key, c in sorted(counts.items())]


def _overdue_rows(sources: Sources, period: Period) -> Iterator[tuple]:
    o = t.outbox
    query = (_sent(period).where(o.c.ack_due_at.is_not(None), o.c.ack_status.is_(None), o.c.ack_due_at < sources.now)
             .order_by(o.c.ack_due_at, o.c.id))
    for row in sources.stream(query.with_only_columns(o.c.id, o.c.partner_id, o.c.kind, o.c.filename, o.c.group_control,
                                                      o.c.created_at, o.c.ack_due_at)):
        due = utc(row.ack_due_at)
        yield (row.id, row.partner_id, row.kind, row.filename, row.group_control, utc(row.created_at), due,
               round((sources.now - due).total_seconds() / 3600, 1))
