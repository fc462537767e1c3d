"""Ledger vs ERP: does the ERP hold exactly what the hub says it posted?

The hub's side: every document received in the period that the hub recorded in the ERP (it has an
ERP reference: posted, or held and recorded on HOLD). The ERP's side: every row that carries a
hub document as its `source_document` (hub:<file id>:<position>). Per ERP table, counts and amounts
of both; then every difference: a document the hub posted with no ERP row, an ERP row that names
no hub document (or one the hub did not post), and amounts that differ.

ERP rows naming a hub file the ledger does not have cannot be dated; they are listed in every
period (and left out when the report is for one partner).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from sqlalchemy import select

from hub.document_run import source_document, source_place
from hub.ledger import tables as t
from hub.reports.erp_books import ErpRecord
from hub.reports.model import Column, Figure, Period, Report, Section, column_sums
from hub.reports.sources import Sources, money, received_in, volume_by_day

BATCH = 500
PREFIX = "hub:"
NO_ROW = "(no ERP row)"
CLOSED = ("CANCELLED", "REJECTED")  # what the ERP holds for a held document that was rejected for good
ZERO = Decimal("0.00")
_d = t.documents.c
DOCUMENT_COLUMNS = (_d.id, _d.interchange_id, _d.position, _d.partner_id, _d.doc_type, _d.reference, _d.erp_ref, _d.total, _d.state)


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str
    record: ErpRecord | None
    document: object | None  # its ledger row (id, partner_id, doc_type, reference, erp_ref, total, state)
    hub_amount: Decimal | None
    erp_amount: Decimal | None
    note: str


def _posted(sources: Sources, period: Period) -> Iterator[list]:
    """The period's documents the hub recorded in the ERP, in batches."""
    d, i = t.documents, t.interchanges
    query = (select(*DOCUMENT_COLUMNS).join(i, i.c.id == d.c.interchange_id)
             .where(*received_in(period), d.c.erp_ref.is_not(None)).order_by(d.c.id))
    rows = iter(sources.stream(query))
    while batch := list(islice(rows, BATCH)):
        yield batch


def _compared(sources: Sources, period: Period) -> Iterator[tuple[object, list[ErpRecord]]]:
    """Each document the hub recorded in the ERP, with the ERP rows that carry it."""
    for batch in _posted(sources, period):
        found = defaultdict(list)
        for record in sources.books.records_of([source_document(r.interchange_id, r.position) for r in batch]):
            found[record.source_document].append(record)
        for row in batch:
            yield row, found.get(source_document(row.interchange_id, row.position), [])


def _difference(document, records: list[ErpRecord]) -> Difference | None:
    hub_amount = money(document.total)
    if not records:
        return Difference("missing in the ERP", None, document, hub_amount, None,
                          f"the hub recorded it as {document.erp_ref}; no ERP row carries it")
    amounts = [r.amount for r in records if r.amount is not None]
    erp_amount = sum(amounts, ZERO) if amounts else None
    if hub_amount is not None and erp_amount != hub_amount:
        return Difference("amount differs", next((r for r in records if r.amount is not None), records[0]), document,
                          hub_amount, erp_amount, "the ERP's amount is not the one the hub posted")
    return None


def _unclaimed(sources: Sources, period: Period) -> Iterator[Difference]:
    """ERP rows naming a hub document that the hub did not record in the ERP (or that does not exist)."""
    records = sources.books.records_from(PREFIX)
    while batch := list(islice(records, BATCH)):
        places = {r.source_document: source_place(r.source_document) for r in batch}
        existing, in_period, documents = _ledger_side({p for p in places.values() if p}, period, sources)
        for record in batch:
            place = places[record.source_document]
            if place is not None and place[0] in in_period:
                document = documents.get(place)
                if document is None:
                    yield Difference("no hub document", record, None, None, record.amount,
                                     f"hub file {place[0]} has no document at position {place[1]}")
                elif document.erp_ref is None and record.status not in CLOSED:
                    yield Difference("not posted in the hub", record, document, money(document.total), record.amount,
                                     f"the hub has this document as {document.state}, not recorded in the ERP")
            elif period.partner is None and (place is None or place[0] not in existing):
                yield Difference("no hub document", record, None, None, record.amount,
                                 "it names a hub file the ledger does not have")


def _ledger_side(places: set[tuple[int, int]], period: Period, sources: Sources) -> tuple[set[int], set[int], dict]:
    """For (file, position) places named by ERP rows: the files the ledger has, those received in
    the period, and the documents at those places in them."""
    if not places:
        return set(), set(), {}
    i, d = t.interchanges, t.documents
    files = {place[0] for place in places}
    with sources.ledger.connect() as conn:
        existing = set(conn.execute(select(i.c.id).where(i.c.id.in_(files))).scalars())
        in_period = set(conn.execute(select(i.c.id).where(i.c.id.in_(files), *received_in(period))).scalars())
        # by file (indexed everywhere; a (file, position) IN list is not, on SQLite), positions picked here
        rows = conn.execute(select(*DOCUMENT_COLUMNS).where(d.c.interchange_id.in_(in_period))) if in_period else []
        documents = {(r.interchange_id, r.position): r for r in rows if (r.interchange_id, r.position) in places}
    return existing, in_period, documents


def _differences(sources: Sources, period: Period) -> Iterator[Difference]:
    for document, records in _compared(sources, period):
        if (found := _difference(document, records)) is not None:
            yield found
    yield from _unclaimed(sources, period)


TABLES = (
    Column("table", "ERP table"), Column("hub_documents", "Hub documents", "int", True),
    Column("hub_amount", "Hub amount", "money", True), Column("erp_rows", "ERP rows", "int", True),
    Column("erp_amount", "ERP amount", "money", True), Column("differences", "Differences", "int", True),
)

DIFFERENCES = (
    Column("kind", "Difference"), Column("document", "Document", "int"), Column("partner", "Partner"), Column("type", "Type"),
    Column("reference", "Reference"), Column("hub_erp_ref", "Hub's ERP reference"), Column("table", "ERP table"),
    Column("erp_key", "ERP row"), Column("source_document", "Source document"), Column("hub_amount", "Hub amount", "money"),
    Column("erp_amount", "ERP amount", "money"), Column("note", "Note"),
)


def _table_rows(sources: Sources, period: Period) -> tuple[list[tuple], int]:
    """Per ERP table: the hub's documents and amounts beside the ERP's rows and amounts; and how
    many documents the hub recorded in the ERP (one may have rows in several tables)."""
    documents = 0
    tables: dict[str, dict] = defaultdict(lambda: {"hub_documents": 0, "hub_amount": None, "erp_rows": 0, "erp_amount": None,
                                                   "differences": 0})  # an amount stays empty for a table that carries none
    for document, records in _compared(sources, period):
        documents += 1
        hub_amount = money(document.total)
        money_table = next((r.table for r in records if r.amount is not None), None)
        for name in dict.fromkeys(r.table for r in records) or [NO_ROW]:
            tables[name]["hub_documents"] += 1
            if hub_amount is not None and name in (money_table, NO_ROW):
                _add(tables[name], "hub_amount", hub_amount)
        for record in records:
            tables[record.table]["erp_rows"] += 1
            _add(tables[record.table], "erp_amount", record.amount)
        if (found := _difference(document, records)) is not None:
            tables[found.record.table if found.record else NO_ROW]["differences"] += 1
    for found in _unclaimed(sources, period):
        table = tables[found.record.table]
        table["erp_rows"] += 1
        _add(table, "erp_amount", found.record.amount)
        table["differences"] += 1
    return [(name, *(values[c.key] for c in TABLES[1:])) for name, values in sorted(tables.items())], documents


def _add(values: dict, key: str, amount: Decimal | None) -> None:
    if amount is not None:
        values[key] = (values[key] or ZERO) + amount


def _difference_rows(sources: Sources, period: Period) -> Iterator[tuple]:
    for found in _differences(sources, period):
        doc, record = found.document, found.record
        yield (found.kind, doc.id if doc else None, doc.partner_id if doc else None, doc.doc_type if doc else None,
               doc.reference if doc else None, doc.erp_ref if doc else None, record.table if record else None,
               record.key if record else None,
               record.source_document if record else source_document(doc.interchange_id, doc.position),
               found.hub_amount, found.erp_amount, found.note)


def build(sources: Sources, period: Period) -> Report:
    tables, documents = _table_rows(sources, period)
    sums = column_sums(TABLES, tables)
    missing = next((row[1] for row in tables if row[0] == NO_ROW), 0)
    summary = [
        Figure("Documents the hub recorded in the ERP", documents),
        Figure("ERP rows that carry a hub document", sums["erp_rows"]),
        Figure("Posted in the hub, missing in the ERP", missing, alarm=bool(missing)),
        Figure("Differences", sums["differences"], alarm=bool(sums["differences"])),
        Figure("The ERP agrees with the hub", "yes" if not sums["differences"] else "no", "text", alarm=bool(sums["differences"])),
    ]
    return Report("ledger-vs-erp", "Ledger vs ERP", period, sources.now, summary, [
        Section("tables", "Per ERP table", TABLES, lambda: tables,
                "The hub's documents recorded in the ERP beside the ERP rows that carry them (source_document), with amounts."),
        Section("differences", "Differences", DIFFERENCES, lambda: _difference_rows(sources, period),
                "Every document or ERP row on one side that the other side does not match.",
                "No differences: the ERP holds exactly what the hub posted."),
    ], volume_by_day(sources, period))
