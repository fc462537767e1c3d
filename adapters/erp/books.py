"""hub.reports.erp_books.ErpBooks over the reference ERP's tables: what finance's reports read.

Long reads stream (`yield_per`); what a row needs from other tables (an order's shipments and
invoices) is read for a batch of rows at a time, never for the whole table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import islice

from sqlalchemy import Engine, Select, and_, func, literal, null, select

from adapters.erp.rows import split_codes
from adapters.erp.schema import (
    ap_invoice_lines,
    ap_invoices,
    ar_invoices,
    inbound_asns,
    purchase_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
)
from hub.reports.erp_books import ApInvoiceLine, ErpRecord, OrderProgress, UnbilledShipment, UnshippedInvoice

BATCH = 500
STREAM = {"yield_per": 1000}
ZERO = Decimal("0.00")


def _records(where) -> list[Select]:
    """One select per table that carries source_document: (table, key, source, amount, status)."""
    def pick(table, key, amount, status):
        return select(literal(table.name).label("tbl"), key.label("key"), table.c.source_document,
                      amount.label("amount"), status.label("status")).where(where(table.c.source_document))
    return [
        pick(sales_orders, sales_orders.c.order_id, sales_orders.c.total, sales_orders.c.status),
        pick(inbound_asns, inbound_asns.c.supplier_id + "/" + inbound_asns.c.asn_number + "/" + inbound_asns.c.po_number,
             null(), inbound_asns.c.status),
        pick(ap_invoices, ap_invoices.c.supplier_id + "/" + ap_invoices.c.invoice_number, ap_invoices.c.total, ap_invoices.c.status),
        pick(shipments, shipments.c.shipment_id, null(), null()),
        pick(ar_invoices, ar_invoices.c.invoice_number, ar_invoices.c.total, null()),
    ]


def _record(row) -> ErpRecord:
    return ErpRecord(row.tbl, row.key, row.source_document, None if row.amount is None else Decimal(row.amount), row.status)


def _batches(rows: Iterable, size: int = BATCH) -> Iterator[list]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


class ReferenceBooks:
    def __init__(self, engine: Engine):
        self._engine = engine

    def records_of(self, sources: Sequence[str]) -> list[ErpRecord]:
        if not sources:
            return []
        with self._engine.connect() as conn:
            return [_record(row) for query in _records(lambda c: c.in_(list(sources))) for row in conn.execute(query)]

    def records_from(self, prefix: str) -> Iterator[ErpRecord]:
        with self._engine.connect() as conn:
            for query in _records(lambda c: c.startswith(prefix, autoescape=True)):
                for row in conn.execution_options(**STREAM).execute(query):
                    yield _record(row)

    def ap_invoice_lines(self, start: date, end: date, supplier_id: str | None) -> Iterator[ApInvoiceLine]:
        inv, line, po = ap_invoices, ap_invoice_lines, purchase_order_lines
        query = (
            select(inv.c.supplier_id, inv.c.invoice_number, inv.c.invoice_date, inv.c.po_number, inv.c.status, inv.c.hold_codes,
                   inv.c.total, inv.c.source_document, line.c.line_no, line.c.po_line_no, line.c.sku, line.c.uom,
                   line.c.qty_invoiced, line.c.unit_price, line.c.amount,
                   po.c.qty_ordered, po.c.qty_received, po.c.unit_price.label("po_unit_price"))
            .join(line, and_(line.c.supplier_id == inv.c.supplier_id, line.c.invoice_number == inv.c.invoice_number))
            .outerjoin(po, and_(po.c.po_number == inv.c.po_number, po.c.line_no == line.c.po_line_no))
            .where(inv.c.invoice_date.between(start, end))
            .order_by(inv.c.supplier_id, inv.c.invoice_number, line.c.line_no)
        )
        if supplier_id is not None:
            query = query.where(inv.c.supplier_id == supplier_id)
        with self._engine.connect() as conn:
            for r in conn.execution_options(**STREAM).execute(query):
                yield ApInvoiceLine(
                    r.supplier_id, r.invoice_number, r.invoice_date, r.po_number, r.status, tuple(split_codes(r.hold_codes)),
                    Decimal(r.total), r.source_document, r.line_no, r.po_line_no, r.sku, r.uom, r.qty_invoiced,
                    Decimal(r.unit_price), Decimal(r.amount), r.qty_ordered, r.qty_received,
                    None if r.po_unit_price is None else Decimal(r.po_unit_price))

    def sales_orders(self, start: date, end: date, customer_id: str | None) -> Iterator[OrderProgress]:
        return self._orders(sales_orders.c.order_date.between(start, end), customer_id)

    def held_orders(self, until: date, customer_id: str | None) -> Iterator[OrderProgress]:
        return self._orders(and_(sales_orders.c.status == "HOLD", sales_orders.c.order_date <= until), customer_id)

    def shipped_not_invoiced(self, until: date, customer_id: str | None) -> Iterator[UnbilledShipment]:
        units = (select(shipment_lines.c.shipment_id, func.sum(shipment_lines.c.qty).label("units"))
                 .group_by(shipment_lines.c.shipment_id).subquery())
        query = (
            select(shipments.c.shipment_id, shipments.c.order_id, sales_orders.c.customer_id, shipments.c.warehouse,
                   shipments.c.ship_date, func.coalesce(units.c.units, 0).label("units"))
            .join(sales_orders, sales_orders.c.order_id == shipments.c.order_id)
            .outerjoin(units, units.c.shipment_id == shipments.c.shipment_id)
            .outerjoin(ar_invoices, ar_invoices.c.shipment_id == shipments.c.shipment_id)
            .where(ar_invoices.c.invoice_number.is_(None), shipments.c.ship_date <= until)
            .order_by(shipments.c.ship_date, shipments.c.shipment_id)
        )
        if customer_id is not None:
            query = query.where(sales_orders.c.customer_id == customer_id)
        with self._engine.connect() as conn:
            for r in conn.execution_options(**STREAM).execute(query):
                yield UnbilledShipment(r.shipment_id, r.order_id, r.customer_id, r.warehouse, r.ship_date, int(r.units))

    def invoiced_not_shipped(self, until: date, customer_id: str | None) -> Iterator[UnshippedInvoice]:
        query = (select(ar_invoices).where(ar_invoices.c.shipment_id.is_(None), ar_invoices.c.invoice_date <= until)
                 .order_by(ar_invoices.c.invoice_date, ar_invoices.c.invoice_number))
        if customer_id is not None:
            query = query.where(ar_invoices.c.customer_id == customer_id)
        with self._engine.connect() as conn:
            for r in conn.execution_options(**STREAM).execute(query):
                yield UnshippedInvoice(r.invoice_number, r.order_id, r.customer_id, r.invoice_date, Decimal(r.total))

    def _orders(self, where, customer_id: str | None) -> Iterator[OrderProgress]:
        query = select(sales_orders).where(where).order_by(sales_orders.c.order_id)
        if customer_id is not None:
            query = query.where(sales_orders.c.customer_id == customer_id)
        with self._engine.connect() as conn:
            for batch in _batches(conn.execution_options(**STREAM).execute(query)):
                ids = [r.order_id for r in batch]
                with self._engine.connect() as details:
                    shipped = _by_order(details.execute(
                        select(shipments.c.order_id, shipments.c.shipment_id, shipments.c.ship_date)
                        .where(shipments.c.order_id.in_(ids)).order_by(shipments.c.ship_date, shipments.c.shipment_id)))
                    billed = _by_order(details.execute(
                        select(ar_invoices.c.order_id, ar_invoices.c.invoice_number, ar_invoices.c.total)
                        .where(ar_invoices.c.order_id.in_(ids)).order_by(ar_invoices.c.invoice_number)))
                for r in batch:
                    ships, bills = shipped.get(r.order_id, []), billed.get(r.order_id, [])
                    yield OrderProgress(
                        r.order_id, r.customer_id, r.customer_po, r.order_date, r.status, tuple(split_codes(r.hold_codes)),
                        Decimal(r.total), r.source_document, tuple(s.shipment_id for s in ships),
                        ships[0].ship_date if ships else None, tuple(b.invoice_number for b in bills),
                        sum((Decimal(b.total) for b in bills), ZERO))


def _by_order(rows) -> dict[str, list]:
    found = defaultdict(list)
    for row in rows:
        found[row.order_id].append(row)
    return found
