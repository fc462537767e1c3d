"""The flow of one file: receive -> split -> map -> decide -> post -> answer.

`Hub.ingest` commits the file's bytes first; then two steps, each a claim on the ledger's work
queue (hub.ledger.queue) and one ledger transaction:

  split   the file is read, its documents mapped; those with a flow wait in state `mapped`
          (queued, with their lanes: hub.flows.lanes), the others settle (rejected, held ...);
          the file's acknowledgment (997/999) is made here. A small file (up to HUB_WORKER_BATCH
          documents) with nothing ahead of it in the queue is decided at once, in the same step.
          Small files are claimed several at a time and split one after another in one step
          (WorkQueue.claim_files), until the step has run HUB_WORKER_BATCH documents
  decide  queued documents, a batch at a time in the order received within each lane, go through
          their flow: rules, ERP posting, 855/856/810

A step's ERP postings share one ERP transaction (ErpGateway.batch), committed just before the
step's ledger transaction; postings are idempotent on `source_document`. So a crash anywhere
leaves the file `received` or the documents `mapped`, and whoever claims them next (after the dead
claim's lease runs out) runs them again: what reached the ERP is found there (a replay), nothing is
posted twice. An ERP that fails the batch (ErpUnavailable) undoes the step the same way, and its
work is given back to the queue at once, the try not counted against HUB_MAX_ATTEMPTS. An ERP that
refuses the postings it was given to write together (BatchRefused) has the step run again at once,
each posting written as it is made, so the document it refuses is held alone.

One document's failure never touches another: anything unexpected becomes an exception in queue
`internal` on that document alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from hub.canonical import DOCUMENT_MODELS, PurchaseOrder, Source
from hub.config import Settings
from hub.db import make_engine
from hub.delivery import Dispatcher
from hub.erp import ErpGateway
from hub.document_run import DocumentReport, DocumentRun, LedgerBatch, Rerun
from hub.errors import BatchRefused, ConfigurationError, Conflict, ErpUnavailable, InputError, NotFound, Problem
from hub.ledger import tables as t
from hub.ledger.queue import QUEUED, WorkQueue
from hub.ledger.presence import new_worker_id
from hub.ledger.store import Ledger
from hub.ledger.wakeup import WORK, announce
from hub.orders.booking import rejection
from hub.mapping import MappingEngine
from hub.flows import FlowContext, flow_for
from hub.flows.lanes import lanes
from hub.flows.context import SentFiles
from hub.holds import Hold
from hub.partners import Partner, PartnerDirectory
from hub.ports import OutboundMessage, ReadResult
from hub.recently_mapped import RecentlyMapped
from hub.registry import Registry, load_registry
from hub.live_config import ConfigView, LiveConfig

log = logging.getLogger("hub.pipeline")

StepResult = TypeVar("StepResult")
BATCH_DOCUMENTS = 1000  # documents buffered before they are written (bounds memory on large files)
_GAVE_UP = ("the hub's workers stopped {n} times while running this without finishing (see their logs); "
            "it is set aside so it cannot stop them again")
_FILE_OF_RUN = (t.interchanges.c.id, t.interchanges.c.channel, t.interchanges.c.filename, t.interchanges.c.partner_id)


class _Counters:
    """Per-partner control numbers inside the current ledger transaction. A counter's first number
    locks its row until the transaction ends, so the numbers after it are counted here and the last
    one written once, by `save` before the commit (one statement per counter, not per number)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.last: dict[tuple[str, str], int] = {}
        self.saved: dict[tuple[str, str], int] = {}

    def next(self, partner_id: str, kind: str) -> int:
        key = (partner_id, kind)
        if key in self.last:
            self.last[key] += 1
        else:
            self.last[key] = self.saved[key] = Ledger.next_control_number(self.conn, partner_id, kind)
        return self.last[key]

    def save(self) -> None:
        changed = {key: value for key, value in self.last.items() if value != self.saved[key]}
        Ledger.set_control_numbers(self.conn, changed)
        self.saved.update(changed)


@dataclass(slots=True)
class Conditions:
    """What one run of a document works with besides the document: the mappings and rules, the
    ERP (or its rehearsal), what we sent (the outbox, read in the run's transaction; a rehearsal
    reads what is committed) and what people decided on it (hub.document_actions)."""

    config: ConfigView
    erp: ErpGateway
    sent: SentFiles
    reconsider: bool = False  # it was held before: the ERP judges it again rather than replaying
    waived: frozenset[str] = frozenset()
    price_overrides: dict[int, Decimal] = field(default_factory=dict)


@dataclass(slots=True)
class _SplitStep:
    """What the files split in one step share: the mappings and rules, the partners and the ERP's
    reference data (read when a document first needs it)."""

    config: ConfigView
    partners: PartnerDirectory
    reference: Callable[[], Any]
    queued: dict[int, Any] = field(default_factory=dict)  # document id -> canonical document, of those it queued


@dataclass(frozen=True, slots=True)
class RerunPlan:
    """How a settled document runs again: why (action, by whom, the words its closed exceptions
    get), what people decided (waived hold codes, prices per order line), and the decisions to
    keep on the document for any later run (`overrides`). `cancel`: reject it instead of running."""

    action: str
    by: str
    resolution: str
    waived: frozenset[str] = frozenset()
    price_overrides: dict[int, Decimal] = field(default_factory=dict)
    overrides: dict[str, Any] | None = None
    cancel: bool = False
    record: Callable[[Connection, DocumentRun], None] | None = None  # the audit row, in the rerun's transaction

    def rerun(self, document) -> Rerun:
        return Rerun(document, self.action, self.by, self.resolution, self.overrides)


class _NoNumbers:
    """Control numbers for a rehearsal: nothing is sent, so nothing is counted."""

    @staticmethod
    def next(_partner_id: str, _kind: str) -> int:
        return 0


class _Rejected(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems


class Hub:
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or load_registry()
        self.ledger = Ledger(make_engine(settings.ledger_url, settings.db_pool_size))
        self.erp_engine = make_engine(settings.erp_url, settings.db_pool_size)
        self.queue = WorkQueue(self.ledger, settings.lease_seconds)
        self.owner = new_worker_id()  # what this process's own claims carry (a Worker thread has its own)
        self.erp = self.registry.erp("reference", self.erp_engine)
        self.config = LiveConfig(self.ledger.engine, settings)
        self.rules = self.config.rules
        self.mapper = MappingEngine()
        self.dispatcher = Dispatcher(settings, self.ledger, self.registry)
        self.recently_mapped = RecentlyMapped()

    # -- entry points -----------------------------------------------------------------------------

    def ingest_file(self, path: Path, partner_id: str | None = None, channel: str = "cli") -> list[DocumentReport]:
        try:
            size = path.stat().st_size
            if size > self.settings.max_file_bytes:
                return DocumentReport.for_file(str(path), partner_id, "rejected", [f"{path} is {size} bytes; the limit is {self.settings.max_file_bytes}"])
            raw = path.read_bytes()
        except OSError as exc:
            return DocumentReport.for_file(str(path), partner_id, "rejected", [f"cannot read {path}: {exc.strerror}"])
        return self.ingest_bytes(raw, str(path), partner_id, channel)

    def ingest_bytes(self, raw: bytes, filename: str | None, partner_id: str | None, channel: str = "cli") -> list[DocumentReport]:
        interchange_id, earlier = self.ledger.receive(raw, channel, filename, partner_id)
        if earlier is not None:
            message = f"the same bytes were received before as interchange {earlier}; not processed again"
            return DocumentReport.for_file(filename, partner_id, "duplicate", [message], interchange_id)
        reports = self.process_interchange(interchange_id)
        self.deliver_outbox()
        return reports

    def resume(self) -> list[DocumentReport]:
        """Run every file and document that was received but not settled (after a crash; a dead
        process's claims come back when their lease runs out, HUB_LEASE_SECONDS)."""
        self.queue.release_orphans()
        reports: dict = {}
        try:
            while (done := self.work_next(self.owner)) is not None:
                _latest(reports, done)
        except ErpUnavailable as exc:
            log.warning("%s; what is left waits in the queue: run hub resume again when the ERP is back", exc)
        self.deliver_outbox()
        return list(reports.values())

    # -- the work queue ---------------------------------------------------------------------------

    def work_next(self, owner: str) -> list[DocumentReport] | None:
        """Decide the next batch of queued documents that may be decided now, else split the oldest
        received file (with the small files after it), as `owner`; None when there was nothing to
        claim. Queued documents come first: they were received before any file still to split
        (else they could not be decided yet), and while they wait every file split after them
        must queue its documents too rather than decide them in the same step, so under a steady
        stream of files a worker that split first would leave them waiting until the stream ends."""
        document_ids = self.queue.claim_documents(owner, self.settings.worker_batch)
        if document_ids:
            return self._decide(document_ids, owner)
        interchange_ids = self.queue.claim_files(owner, self.settings.worker_batch)
        if interchange_ids:
            return self._split(interchange_ids, owner)
        return None

    def process_interchange(self, interchange_id: int) -> list[DocumentReport]:
        """Split one received file and decide its documents now (with any queued before them);
        its documents' reports. Nothing if it is settled already or another worker holds it; a
        document that must wait behind one another worker holds stays queued (`mapped`)."""
        if self.queue.claim_file(self.owner, interchange_id) is None:
            return []
        reports: dict = {}
        try:
            _latest(reports, self._split([interchange_id], self.owner))
            while any(r.state == QUEUED for r in reports.values()) and (
                    document_ids := self.queue.claim_documents(self.owner, self.settings.worker_batch)):
                _latest(reports, [r for r in self._decide(document_ids, self.owner) if r.interchange_id == interchange_id])
        except ErpUnavailable as exc:
            return self._waiting(interchange_id, list(reports.values()), exc)
        return list(reports.values())

    def _waiting(self, interchange_id: int, reports: list[DocumentReport], exc: ErpUnavailable) -> list[DocumentReport]:
        """The reports of a file whose documents wait because the ERP failed them (the file's own when it is not split yet)."""
        log.warning("interchange %s: %s", interchange_id, exc)
        message = f"{exc}; it waits in the queue and runs when a worker next takes it (hub worker, hub serve, hub resume)"
        if not reports:
            row = self.ledger.interchange(interchange_id)
            return DocumentReport.for_file(row.filename, row.partner_id, "received", [message], interchange_id)
        for report in reports:
            if report.state == QUEUED:
                report.errors.append(message)
        return reports

    # -- split: received files ---------------------------------------------------------------------

    def _split(self, interchange_ids: list[int], owner: str) -> list[DocumentReport]:
        """Split claimed files, oldest first, in one step; files left when the step has run
        HUB_WORKER_BATCH documents are given back untried."""
        try:
            reports, untouched = _one_by_one_if_refused(partial(self._split_files, interchange_ids, owner))
        except ErpUnavailable:
            self.queue.give_back(owner, interchange_ids=interchange_ids)
            raise
        if untouched:
            self.queue.give_back(owner, interchange_ids=untouched)
        return reports

    def _split_files(self, interchange_ids: list[int], owner: str, one_by_one: bool) -> tuple[list[DocumentReport], list[int]]:
        self.config.refresh()
        with self.ledger.writer.begin() as conn, self.erp.batch(one_by_one) as erp:  # the ERP commits first
            step = _SplitStep(self.config.view(), self.ledger.partner_directory(), cache(erp.reference_data))
            counters = _Counters(conn)
            held = WorkQueue.hold_files(conn, interchange_ids, owner)
            reports: list[DocumentReport] = []
            untouched = list(interchange_ids)
            while untouched and len(reports) < self.settings.worker_batch:
                row = held.get(untouched.pop(0))
                if row is None:  # the claim ran out and someone else has the file
                    continue
                if row.attempts > self.settings.max_attempts:
                    reports += self._reject_interchange(conn, row, [Problem("worker-failed", _GAVE_UP.format(n=row.attempts - 1))])
                else:
                    reports += self._process(conn, row, erp, step, counters)
            counters.save()
        self.recently_mapped.keep(step.queued)  # committed
        return reports, untouched

    def _process(self, conn: Connection, row, erp: ErpGateway, step: _SplitStep, counters: _Counters) -> list[DocumentReport]:
        interchange_id = row.id
        config, partners = step.config, step.partners
        hinted = partners.get(row.partner_id) if row.partner_id else None
        ref = None
        try:
            if row.partner_id and hinted is None:
                raise _Rejected([Problem("unknown-partner", f"{row.partner_id} is not a trading partner")])
            result = self._read(row.raw, hinted, config)
            if (contents := _contents(result)) is not None:
                Ledger.record_contents(conn, row, contents)
            partner = self._identify(result, hinted, partners)
            if result.format == "x12" and result.interchange_control:
                earlier = Ledger.claim_key(conn, f"isa:{partner.id}:{result.interchange_control}", interchange_id)
                if earlier is not None:
                    Ledger.mark_interchange(conn, interchange_id, "duplicate", partner_id=partner.id, duplicate_of=earlier, control_number=result.interchange_control)
                    Ledger.add_event(conn, interchange_id, None, "received", "duplicate", {"duplicate_of": earlier})
                    message = f"interchange {result.interchange_control} from {partner.id} was received before (interchange {earlier}); not processed again"
                    return DocumentReport.for_file(row.filename, partner.id, "duplicate", [message], interchange_id)
        except _Rejected as rejected:
            return self._reject_interchange(conn, row, rejected.problems)
        sender = ":".join(result.sender) if result.sender else None
        Ledger.mark_interchange(conn, interchange_id, "received", partner_id=partner.id, format=result.format, control_number=result.interchange_control, sender=sender)
        batch = LedgerBatch(self.settings)
        batch.send(self._acknowledgments(result, partner, partners, counters), interchange_id)
        done = Ledger.settled_positions(conn, interchange_id)
        todo = [parsed for parsed in result.documents if parsed.index not in done]
        decide_now = len(todo) <= self.settings.worker_batch and WorkQueue.nothing_ahead(conn, interchange_id)
        conditions = Conditions(config, erp, partial(Ledger.files_in_group, conn))
        runs = []
        for parsed in todo:
            if ref is None and not parsed.problems and not result.problems:
                ref = step.reference()
            if decide_now:
                run = partial(self._run_document, result=result, partners=partners, ref=ref, counters=counters, conditions=conditions)
            else:
                run = partial(self._map_document, result=result, config=config, ref=ref)
            runs.append(self._process_document(DocumentRun(row, parsed, partner), run))
            batch.add(runs[-1])
            if len(batch.runs) >= BATCH_DOCUMENTS:
                batch.flush(conn)
        batch.flush(conn)
        if runs and not decide_now:  # queued for any worker
            announce(conn, WORK)
            step.queued.update((run.document_id, run.canonical) for run in runs if run.state == QUEUED)
        reports = [run.report() for run in runs]
        if result.problems and not result.documents:
            reports += self._file_level_report(row, partner.id, result.problems)
        status = "rejected" if result.problems and not result.documents else "processed"
        Ledger.mark_interchange(conn, interchange_id, status, problems=[p.to_dict() for p in result.problems] or None)
        Ledger.add_event(conn, interchange_id, None, "received", status)
        return reports

    def _read(self, raw: bytes, hinted: Partner | None, config: ConfigView) -> ReadResult:
        reader = self.registry.sniff(raw)
        options = None
        if hinted is not None:
            names = hinted.readers()
            if reader is None or (reader.name not in names and reader.name != "x12"):
                readers = [n for n in names if n and n != "x12"]
                if len(readers) != 1:
                    raise _Rejected([Problem("unknown-format", f"the file is not in a format {hinted.id} sends ({', '.join(hinted.inbound)})")])
                reader = self.registry.reader(readers[0])
            if reader.name != "x12":
                try:
                    options = config.mapping(hinted.id, names[reader.name]).source
                except ConfigurationError as exc:
                    raise _Rejected([Problem("no-mapping", str(exc))]) from exc
        if reader is None:
            head = raw[:40].decode("latin-1", "replace").replace("\n", " ")
            raise _Rejected([Problem("unknown-format", f"the file is not X12, CSV, JSON or XML (it starts {head!r}); CSV and JSON files need --partner")])
        try:
            return reader.read(raw, options)
        except Exception as exc:  # a reader must never raise; if one does, the file still settles
            log.exception("the %s reader failed", reader.name)
            raise _Rejected([Problem("reader-failed", f"the {reader.name} reader could not read this file ({type(exc).__name__}: {exc})")]) from exc

    @staticmethod
    def _identify(result: ReadResult, hinted: Partner | None, partners: PartnerDirectory) -> Partner:
        found = None
        if result.sender and result.format == "x12":
            found = partners.by_x12_sender(*result.sender)
            if found is None:
                raise _Rejected([Problem("unknown-sender", f"sender {result.sender[0]}:{result.sender[1]} (ISA05/ISA06) is not a trading partner")] + result.problems)
        elif result.sender and result.format == "xml":
            found = partners.by_cxml_sender(*result.sender)
            if found is None and hinted is None:
                raise _Rejected([Problem("unknown-sender", f"cXML sender {result.sender[0]}:{result.sender[1]} (Header/From/Credential) is not a trading partner")])
        if found and hinted and found.id != hinted.id:
            raise _Rejected([Problem("wrong-sender", f"the file says it is from {found.id} but was dropped off for {hinted.id}")])
        partner = found or hinted
        if partner is None:
            problems = result.problems or [Problem("unknown-sender", f"a {result.format.upper()} file does not name its sender; ingest it with --partner")]
            raise _Rejected(problems)
        if not partner.enabled:
            raise _Rejected([Problem("partner-disabled", f"partner {partner.id} is disabled")])
        return partner

    def _acknowledgments(self, result: ReadResult, partner: Partner, partners: PartnerDirectory, counters: _Counters) -> list[OutboundMessage]:
        acknowledger = self.registry.acknowledgers.get(result.format)
        if acknowledger is None:
            return []
        return acknowledger.acknowledge(result, partner, partners.self_, counters)

    def _reject_interchange(self, conn: Connection, row, problems: list[Problem]) -> list[DocumentReport]:
        Ledger.mark_interchange(conn, row.id, "rejected", problems=[p.to_dict() for p in problems])
        Ledger.add_event(conn, row.id, None, "received", "rejected", {"problems": [p.describe() for p in problems]})
        return self._file_level_report(row, row.partner_id, problems)

    @staticmethod
    def _file_level_report(row, partner_id: str | None, problems: list[Problem]) -> list[DocumentReport]:
        return DocumentReport.for_file(row.filename, partner_id, "rejected", [p.describe() for p in problems], row.id)

    # -- one document -----------------------------------------------------------------------------------

    def _process_document(self, doc: DocumentRun, step: Callable[[DocumentRun], Any]) -> DocumentRun:
        """Run `step` on a document; anything unexpected holds the document alone (queue `internal`)."""
        try:
            step(doc)
        except ErpUnavailable:  # the batch's ERP transaction is gone: no document of it may settle
            raise
        except Exception as exc:  # one document's failure must not touch the others
            log.exception("document %s of interchange %s failed", doc.parsed.index, doc.row.id)
            doc = doc.again()
            doc.hold([Hold("INTERNAL_ERROR", "internal", f"the hub failed on this document: {type(exc).__name__}: {exc}")])
        return doc

    def _map_document(self, doc: DocumentRun, result: ReadResult, config: ConfigView, ref) -> Any:
        """Validate and map a document; the canonical document when it has a flow to go through
        (the document is then `mapped`, with its lanes), else None (it has settled)."""
        parsed, partner = doc.parsed, doc.partner
        if result.problems or parsed.problems:
            return doc.reject(list(dict.fromkeys(result.problems + parsed.problems)))
        doctype = parsed.doc_type
        if result.format == "x12" and not partner.sends(f"x12-{doctype}"):
            return doc.reject([Problem("not-expected", f"{partner.id} is not set up to send X12 {doctype} (it sends {', '.join(partner.inbound)})")])
        doc.advance("parsed")
        source = Source(
            partner_id=partner.id,
            channel=doc.row.channel,
            filename=doc.row.filename,
            interchange_id=doc.row.id,
            interchange_control=result.interchange_control,
            group_control=parsed.control.get("group_control"),
            set_control=parsed.control.get("set_control"),
            version=parsed.control.get("version"),
        )
        try:
            mapping = config.mapping(partner.id, doctype)
        except ConfigurationError as exc:
            return doc.hold([Hold("NO_MAPPING", "integration", str(exc))])
        canonical, problems = self.mapper.map(parsed, mapping, source)
        if problems:
            return doc.reject(problems)
        if flow_for(canonical.doc_type, partner.role) is None:
            return doc.hold([Hold("NOT_SUPPORTED", "integration", f"we take no {canonical.doc_type.replace('_', ' ')} documents from a {partner.role} ({partner.id})")])
        doc.canonical = canonical
        doc.advance("mapped", canonical=canonical.model_dump(mode="json"), reference=canonical.reference, quantity=canonical.units,
                    lanes=lanes(canonical, partner, ref), detail={"mapping": mapping.name, "version": mapping.digest[:12]})
        return canonical

    def _decide_document(self, doc: DocumentRun, canonical, partners, ref, counters, conditions: Conditions) -> None:
        """Run a mapped document through its flow: rules, ERP, what we answer."""
        partner = doc.partner
        context = FlowContext(conditions.erp, conditions.config.rules, self.registry.document_writers, partners, ref, counters, conditions.sent,
                              reconsider=conditions.reconsider, waived=conditions.waived, price_overrides=conditions.price_overrides)
        flow_for(canonical.doc_type, partner.role)(doc, canonical, partner, context)

    def _run_document(self, doc: DocumentRun, result: ReadResult, partners, ref, counters, conditions: Conditions) -> None:
        """Map and decide at once (a rerun, a rehearsal)."""
        canonical = self._map_document(doc, result, conditions.config, ref)
        if canonical is not None:
            self._decide_document(doc, canonical, partners, ref, counters, conditions)

    # -- decide: a batch of queued documents -------------------------------------------------------------

    def _decide(self, document_ids: list[int], owner: str) -> list[DocumentReport]:
        try:
            return _one_by_one_if_refused(partial(self._decide_batch, document_ids, owner))
        except ErpUnavailable:
            self.queue.give_back(owner, document_ids=document_ids)
            raise

    def _decide_batch(self, document_ids: list[int], owner: str, one_by_one: bool) -> list[DocumentReport]:
        self.config.refresh()
        partners = self.ledger.partner_directory()
        batch, runs, files = LedgerBatch(self.settings), [], {}
        with self.ledger.writer.begin() as conn, self.erp.batch(one_by_one) as erp:  # the ERP commits first
            ref = erp.reference_data()
            conditions = Conditions(self.config.view(), erp, partial(Ledger.files_in_group, conn))
            counters = _Counters(conn)
            for document in WorkQueue.hold_documents(conn, document_ids, owner):
                if document.interchange_id not in files:
                    files[document.interchange_id] = conn.execute(select(*_FILE_OF_RUN).where(t.interchanges.c.id == document.interchange_id)).one()
                run = DocumentRun.on_from_queue(files[document.interchange_id], document, partners.get(document.partner_id))
                if document.attempts > self.settings.max_attempts:
                    run.hold([Hold("INTERNAL_ERROR", "internal", _GAVE_UP.format(n=document.attempts - 1))])
                elif not run.partner.enabled:
                    run.hold([Hold("PARTNER_DISABLED", "integration", f"partner {run.partner.id} was disabled before this document was decided")])
                else:
                    canonical = (self.recently_mapped.take(document.id)
                                 or DOCUMENT_MODELS[document.canonical["doc_type"]].model_validate(document.canonical))
                    run = self._process_document(run, partial(self._decide_document, canonical=canonical, partners=partners, ref=ref,
                                                              counters=counters, conditions=conditions))
                batch.add(run)
                runs.append(run)
            batch.flush(conn)
            counters.save()
        return [run.report() for run in runs]

    # -- a settled document, again (hub.document_actions decides when and how) ----------------------------

    def rerun(self, document_id: int, plan: Callable[[Any], RerunPlan]) -> DocumentReport:
        """Run a settled document again from its stored bytes, under its row lock: `plan` looks at
        the document's row and says why and how (or raises). Its held ERP records are judged afresh
        (never posted twice); exceptions it no longer has are resolved; new events, never new rows."""
        self.config.refresh()
        with self.ledger.writer.begin() as conn:
            document = Ledger.lock_document(conn, document_id)
            if document is None:
                raise NotFound(f"no document {document_id}")
            how = plan(document)
            conditions = Conditions(self.config.view(), self.erp, partial(Ledger.files_in_group, conn), reconsider=True,
                                    waived=how.waived, price_overrides=how.price_overrides)
            partners = self.ledger.partner_directory()
            row = Ledger.interchange_row(conn, document.interchange_id)
            run, result = self._again(row, document, how.rerun(document), conditions.config, partners)
            counters = _Counters(conn)
            if how.cancel:
                self._cancel(run, partners, counters)
            else:
                run = self._process_document(run, partial(self._run_document, result=result, partners=partners, ref=self.erp.reference_data(),
                                                          counters=counters, conditions=conditions))
            batch = LedgerBatch(self.settings)
            batch.add(run)
            batch.flush(conn)
            counters.save()
            if how.record is not None:
                how.record(conn, run)
        self.deliver_outbox()
        return run.report()

    def _again(self, row, document, rerun: Rerun, config: ConfigView, partners: PartnerDirectory) -> tuple[DocumentRun, ReadResult]:
        """A new run of a stored document: its file (`row`) read again, the document found at its position."""
        partner = partners.get(document.partner_id)
        if partner is None:
            raise Conflict(f"document {document.id} is from {document.partner_id}, which is no longer a partner")
        try:
            result = self._read(row.raw, partner, config)
        except _Rejected as rejected:
            raise Conflict(f"the file of document {document.id} cannot be read now: "
                           + "; ".join(p.describe() for p in rejected.problems)) from None
        parsed = next((d for d in result.documents if d.index == document.position), None)
        if parsed is None:
            raise Conflict(f"the file of document {document.id} no longer yields a document at position {document.position}")
        return DocumentRun(row, parsed, partner, rerun), result

    def _cancel(self, run: DocumentRun, partners: PartnerDirectory, counters: _Counters) -> None:
        """Reject a held document for good: its ERP records cancelled, the partner told where it expects it (an 855 RJ)."""
        cancelled = self.erp.cancel_held(run.source_document)
        canonical = run.rerun.document.canonical
        writer = self.registry.document_writers.get("x12-855")
        if canonical and canonical.get("doc_type") == "purchase_order" and run.partner.wants("x12-855") and writer is not None:
            order = PurchaseOrder.model_validate(canonical)
            if order.source.version:
                run.outbound.append(writer.write(rejection(order, cancelled[0] if cancelled else ""), run.partner, partners.self_, counters))
        run.advance("rejected", detail={"cancelled": cancelled, "sent": [m.filename for m in run.outbound]},
                    canonical=canonical, reference=run.rerun.document.reference)

    # -- rehearsals: a run whose ERP postings roll back and whose ledger rows are never written ---------

    def rehearse_documents(self, document_ids: list[int], configs: list[ConfigView]) -> Iterator[list[DocumentRun]]:
        """For each stored document, what it would come to now under each of `configs` (nothing
        written anywhere). Partners and the ERP's reference data are read once for all of them."""
        partners, ref, rehearsal = self.ledger.partner_directory(), self.erp.reference_data(), self.erp.rehearsal()
        for document_id in document_ids:
            with self.ledger.engine.connect() as conn:
                document = conn.execute(select(t.documents).where(t.documents.c.id == document_id)).first()
                if document is None:
                    raise NotFound(f"no document {document_id}")
                row = Ledger.interchange_row(conn, document.interchange_id)
            runs = []
            for config in configs:
                run, result = self._again(row, document, Rerun(document, "rehearsal", "rehearsal", "", document.overrides), config, partners)
                conditions = Conditions(config, rehearsal, self.ledger.committed_files_in_group, reconsider=True)
                runs.append(self._process_document(run, partial(self._run_document, result=result, partners=partners, ref=ref,
                                                                counters=_NoNumbers(), conditions=conditions)))
            yield runs

    def rehearse_file(self, raw: bytes, partner_id: str, config: ConfigView) -> list[DocumentRun]:
        """What a sample file would come to under `config` (nothing written anywhere)."""
        partners = self.ledger.partner_directory()
        hinted = partners.get(partner_id)
        if hinted is None:
            raise NotFound(f"no partner {partner_id}")
        try:
            result = self._read(raw, hinted, config)
            partner = self._identify(result, hinted, partners)
        except _Rejected as rejected:
            raise InputError("the sample cannot be read: " + "; ".join(p.describe() for p in rejected.problems)) from None
        row = SimpleNamespace(id=0, channel="test", filename="sample", partner_id=partner.id)
        conditions = Conditions(config, self.erp.rehearsal(), self.ledger.committed_files_in_group, reconsider=True)
        ref = self.erp.reference_data()
        run = partial(self._run_document, result=result, partners=partners, ref=ref, counters=_NoNumbers(), conditions=conditions)
        return [self._process_document(DocumentRun(row, parsed, partner), run) for parsed in result.documents]

    # -- helpers ------------------------------------------------------------------------------------------

    def deliver_outbox(self) -> None:
        """Put committed outbound files of pickup partners into `<data dir>/outbox/<partner>/`; files
        pushed to a partner's URL wait for the delivery service (`hub serve`, `hub worker`, `hub outbox deliver`)."""
        self.dispatcher.place_pickups()


def _one_by_one_if_refused(step: Callable[[bool], StepResult]) -> StepResult:
    """Run a step whose ERP postings are written together; if the ERP refuses them (BatchRefused:
    nothing of the step was kept), run it again with each posting written as it is made, so the
    document the ERP refuses fails alone."""
    try:
        return step(False)
    except BatchRefused as refused:
        log.warning("%s; the step runs again, one posting at a time", refused)
        return step(True)


def _latest(reports: dict, more: list[DocumentReport]) -> dict:
    """Reports by document, the later step's replacing the earlier (a file's own report kept as is)."""
    for report in more:
        reports[report.document_id if report.document_id is not None else id(report)] = report
    return reports


def _contents(result: ReadResult) -> dict[str, Any] | None:
    """What a file says it holds (ReadResult.contents); a format without control counts holds what
    was found in it, by document type; None when nothing in it could be read."""
    if result.contents is not None or not result.documents:
        return result.contents
    return {"documents": dict(Counter(parsed.doc_type for parsed in result.documents))}
