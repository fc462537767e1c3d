"""One document's way through the pipeline, kept in memory and written to the ledger at the end
of each step.

A document's row is inserted when the split step is done with it: settled (rejected, held ...) or
queued (`mapped`) for the decide step, which updates it when it settles. The run goes into a
`LedgerBatch` with its transitions (one event each, with the time each happened), exceptions,
posting attempts, outbound files and (for a partner's 997/999) what it says of files we sent; the
pipeline writes the batch with one statement per table, in the step's one transaction. So a
document that fails half-way leaves nothing behind to clean up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from hub.config import Settings
from hub.errors import Problem
from hub.ledger.store import Ledger, now
from hub.holds import Hold, codes
from hub.partners import Partner
from hub.ports import OutboundMessage, ParsedDocument


@dataclass
class DocumentReport:
    """One line of `hub ingest --json`: where a document ended and why."""

    file: str | None
    partner: str | None
    type: str | None
    state: str
    holds: list[str] = field(default_factory=list)
    erp_ref: str | None = None
    errors: list[str] = field(default_factory=list)
    interchange_id: int | None = None
    document_id: int | None = None
    reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_file(cls, filename: str | None, partner: str | None, state: str, errors: list[str], interchange_id: int | None = None) -> list["DocumentReport"]:
        """The one line for a file that settled as a whole (rejected or duplicate), before any document."""
        return [cls(filename, partner, None, state, errors=errors, interchange_id=interchange_id)]


class LedgerBatch:
    """The documents a step has run and their rows, written with one executemany per table (per
    set of columns, for the documents' own rows) when the step flushes it."""

    def __init__(self, settings: Settings) -> None:
        self.queue_policy = settings.queue_policy  # (SLA hours, priority) of an exception queue
        self.ack_due = timedelta(hours=settings.ack_due_hours)  # how long a partner has to acknowledge what we send
        self.runs: list[DocumentRun] = []
        self.events: list[dict] = []
        self.exceptions: list[dict] = []
        self.postings: list[dict] = []
        self.outbox: list[dict] = []
        self.acknowledgments: list[dict] = []  # of outbound files already in the ledger

    def send(self, messages: list[OutboundMessage], interchange_id: int, document_id: int | None = None) -> None:
        for m in messages:
            created = now()
            self.outbox.append(
                {"partner_id": m.partner_id, "kind": m.kind, "interchange_id": interchange_id, "document_id": document_id,
                 "filename": m.filename, "content": m.content, "control_number": m.interchange_control,
                 "group_control": m.group_control, "created_at": created,
                 "ack_due_at": created + self.ack_due if m.expects_acknowledgment else None}
            )

    def add(self, run: DocumentRun) -> None:
        """A document done with its step: its row is inserted (or updated: a rerun, a queued
        document) at the next flush, and its other rows are written with it."""
        self.runs.append(run)

    def flush(self, conn: Connection) -> None:
        runs, self.runs = self.runs, []
        new = [run for run in runs if run.document_id is None]
        known = [run for run in runs if run.document_id is not None]
        for run, document_id in zip(new, Ledger.add_documents(conn, [run.new_row() for run in new])):
            run.document_id = document_id
        Ledger.update_documents(conn, [(run.document_id, {"state": run.state, **run.values}) for run in known])
        for run in runs:
            run.queue_rows(conn, self)
        Ledger.add_events(conn, self.events)
        Ledger.add_exceptions(conn, self.exceptions, self.queue_policy)
        Ledger.add_postings(conn, self.postings)
        Ledger.add_outbox(conn, self.outbox)
        Ledger.record_acknowledgments(conn, self.acknowledgments)
        for rows in (self.events, self.exceptions, self.postings, self.outbox, self.acknowledgments):
            rows.clear()


def source_document(interchange_id: int, position: int) -> str:
    """A document's identity in the ERP (`source_document`): its file and position there, so it is
    stable across reruns of the same stored file."""
    return f"hub:{interchange_id}:{position}"


def source_place(source: str) -> tuple[int, int] | None:
    """(file id, position) of a source document the hub wrote, or None when it is not one."""
    parts = source.split(":")
    if len(parts) == 3 and parts[0] == "hub" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


@dataclass(frozen=True, slots=True)
class Rerun:
    """Why a settled document runs again, and what becomes of the exceptions it had: those whose
    hold is not raised again are closed with `resolution` (by `by`, with `action`)."""

    document: Any  # its ledger row
    action: str  # reprocess, release, override_price ...
    by: str
    resolution: str
    overrides: dict[str, Any] | None = None  # what people decided on it, kept for every later run


# a rerun starts from these columns cleared: what the new run does not set is no longer true
_RERUN_CLEARS = dict.fromkeys(("canonical", "decisions", "holds", "problems", "erp_ref", "total", "quantity"))


class DocumentRun:
    """A document's run: from its file (`row`: the interchange), fresh or again (`rerun`), or on
    from where it waited in the queue (`queued`: its ledger row)."""

    def __init__(self, row, parsed: ParsedDocument, partner: Partner, rerun: Rerun | None = None, queued: Any = None):
        self.row = row
        self.parsed = parsed
        self.partner = partner
        self.rerun = rerun
        self.queued = queued
        if queued is not None:
            self.state = queued.state
            self.values: dict[str, Any] = {}
            self.transitions: list[dict] = []
            self.document_id: int | None = queued.id
        elif rerun is None:
            self.state = "received"
            self.values = {}
            self.transitions = [{"from_state": None, "to_state": "received", "detail": None, "at": now()}]
            self.document_id = None
        else:
            self.state = rerun.document.state
            self.values = {**_RERUN_CLEARS, "overrides": rerun.overrides}
            self.transitions = []
            self.document_id = rerun.document.id
        self.holds: list[Hold] = []
        self.errors: list[str] = []
        self.erp_ref: str | None = None
        self.attempts: list = []  # PostingAttempt, as the ERP gateway reports them
        self.posting_rows: list[dict] = []
        self.outbound: list[OutboundMessage] = []
        self.acknowledgments: list[dict] = []  # a partner's 997/999: what it says of files we sent
        self.canonical: Any = None  # the canonical document this run mapped (the ledger keeps it as JSON)

    @classmethod
    def on_from_queue(cls, row, document, partner: Partner) -> DocumentRun:
        """The run of a queued (`mapped`) document: its file's `row`, its ledger row `document`."""
        control = {"group_control": document.group_control, "set_control": document.set_control}
        parsed = ParsedDocument(index=document.position, doc_type=document.doc_type, tree={}, control=control)
        return cls(row, parsed, partner, queued=document)

    def again(self) -> DocumentRun:
        """A clean start of the same run (after it failed half-way)."""
        return DocumentRun(self.row, self.parsed, self.partner, self.rerun, self.queued)

    @property
    def source_document(self) -> str:
        return source_document(self.row.id, self.parsed.index)

    def advance(self, state: str, detail: Any = None, **values: Any) -> None:
        self.values.update(values)
        if self.rerun is not None and not self.transitions:  # the first step of a rerun says why it ran
            detail = {**(detail or {}), "rerun": self.rerun.action, "by": self.rerun.by}
        self.transitions.append({"from_state": self.state, "to_state": state, "detail": detail, "at": now()})
        self.state = state

    def add_decisions(self, decisions: list[dict]) -> None:
        self.values["decisions"] = self.values.get("decisions", []) + decisions

    def reject(self, problems: list[Problem]) -> None:
        self.errors = [p.describe() for p in problems]
        self.advance("rejected", detail={"problems": self.errors}, problems=[p.to_dict() for p in problems])

    def duplicate(self, message: str) -> None:
        """The document repeats one already done: nothing of it is done again."""
        self.errors = [message]
        self.advance("duplicate", detail={"message": message})

    def hold(self, holds: list[Hold], posted: bool = False) -> None:
        self.holds = holds
        self.errors = [f"{h.code}: {h.message}" for h in holds]
        codes = self.hold_codes
        self.advance("held", detail={"holds": codes, "posted": posted}, holds=codes, erp_ref=self.erp_ref)

    @property
    def hold_codes(self) -> list[str]:
        return codes(self.holds)

    def acknowledge(self, outbox_ids: list[int], outcome: str) -> None:
        """This document (a partner's 997/999) acknowledges the outbound files `outbox_ids`: accepted,
        accepted-with-errors, partially-accepted or rejected."""
        at = now()
        self.acknowledgments += [{"outbox_id": outbox_id, "outcome": outcome, "at": at} for outbox_id in outbox_ids]

    def record_postings(self, target: str, amount, erp_ref: str | None = None) -> None:
        self.posting_rows += [
            {"target": target, "attempt": a.attempt, "outcome": a.outcome, "erp_ref": erp_ref if a.outcome in ("posted", "replayed") else None,
             "rows": a.rows, "amount": None if amount is None else str(amount), "error": a.error, "duration_ms": a.duration_ms, "at": now()}
            for a in self.attempts
        ]
        self.attempts = []

    def new_row(self) -> dict[str, Any]:
        """The document's row, for a document not in the ledger yet."""
        return {"interchange_id": self.row.id, "position": self.parsed.index, "partner_id": self.partner.id, "doc_type": self.parsed.doc_type,
                "group_control": self.parsed.control.get("group_control"), "set_control": self.parsed.control.get("set_control"),
                "state": self.state, **self.values}

    def queue_rows(self, conn: Connection, batch: LedgerBatch) -> None:
        """Queue the document's other rows in the batch, once its row is written (it has its id)."""
        new_holds = self.holds
        if self.rerun is not None:  # its open exceptions are settled; only holds new to it open one
            rerun = self.rerun
            raised = Ledger.settle_exceptions(conn, self.document_id, {h.code: h.message for h in self.holds},
                                              rerun.resolution, rerun.action, rerun.by)
            new_holds = [h for h in self.holds if h.code in raised]
        ids = {"interchange_id": self.row.id, "document_id": self.document_id}
        batch.events += [{**ids, **t} for t in self.transitions]
        batch.exceptions += [{"document_id": self.document_id, "code": h.code, "queue": h.queue, "message": h.message} for h in new_holds]
        batch.postings += [{"document_id": self.document_id, **p} for p in self.posting_rows]
        batch.send(self.outbound, self.row.id, self.document_id)
        batch.acknowledgments += [{**a, "acknowledgment": self.document_id} for a in self.acknowledgments]

    def report(self) -> DocumentReport:
        return DocumentReport(
            self.row.filename, self.partner.id, self.parsed.doc_type, self.state, self.hold_codes, self.erp_ref, self.errors,
            self.row.id, self.document_id, self.values.get("reference", self.queued.reference if self.queued is not None else None),
        )
