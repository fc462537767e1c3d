"""Posting a 3PL's ship confirmation to the reference ERP: shipments, inventory, AR invoices.

Runs inside the gateway's write transaction. Locks, in this order: the sales orders, their lines,
then the inventory rows at the shipping warehouse (by sku), then the number sequences; order
postings lock inventory then sequences, so the two never wait on each other in a cycle.

For each order the core's decider ships: `inventory.on_hand` and `allocated` fall at the 3PL's
warehouse, the order's allocation there falls, the order lines' `qty_shipped` rises and
`qty_allocated` falls, an AR invoice at the booked prices bills what shipped (raising the
customer's `open_ar`), and an order shipped in full becomes INVOICED (SHIPPED, then invoiced in
the same transaction). A partial shipment leaves the order BOOKED with the rest still allocated.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, bindparam, select

from adapters.erp.rows import insert_many, next_number
from adapters.erp.schema import (
    allocations,
    ar_invoice_lines,
    ar_invoices,
    customers,
    inventory,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
)
from hub.erp import ArInvoiceLineDraft, PostedShipment, SalesOrderLineState, SalesOrderState, ShipmentDecider, ShipmentDraft, ShipmentPosting
from hub.errors import PermanentError
from hub.failpoints import failpoint

_so, _sol, _al, _inv, _sh = sales_orders.c, sales_order_lines.c, allocations.c, inventory.c, shipments.c

_LOCK_ORDERS = (
    select(_so.order_id, _so.customer_id, _so.customer_po, _so.order_date, _so.status)
    .where(_so.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_so.order_id)
    .with_for_update()
)
_LOCK_ORDER_LINES = (
    select(_sol.order_id, _sol.line_no, _sol.sku, _sol.uom, _sol.qty_ordered, _sol.unit_price, _sol.qty_allocated,
           _sol.qty_backordered, _sol.qty_shipped)
    .where(_sol.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_sol.order_id, _sol.line_no)
    .with_for_update()
)
_ALLOCATED_HERE = select(_al.order_id, _al.line_no, _al.qty).where(
    _al.order_id.in_(bindparam("ids", expanding=True)), _al.warehouse == bindparam("warehouse")
)
_LOCK_STOCK = (
    select(_inv.sku)
    .where(_inv.warehouse == bindparam("warehouse"), _inv.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_inv.sku)
    .with_for_update()
)
_SHIPPED_BEFORE = select(_sh.order_id).where(
    _sh.warehouse == bindparam("warehouse"), _sh.partner_reference == bindparam("reference"),
    _sh.order_id.in_(bindparam("ids", expanding=True)),
)
# Each guard refuses to go below zero; a miss means the decider shipped what was not allocated.
_SHIP_STOCK = (
    inventory.update()
    .where(_inv.warehouse == bindparam("w"), _inv.sku == bindparam("s"), _inv.allocated >= bindparam("q"))
    .values(on_hand=_inv.on_hand - bindparam("q"), allocated=_inv.allocated - bindparam("q"))
)
_SHIP_ALLOCATION = (
    allocations.update()
    .where(_al.order_id == bindparam("o"), _al.line_no == bindparam("l"), _al.warehouse == bindparam("w"),
           _al.qty >= bindparam("q"))
    .values(qty=_al.qty - bindparam("q"))
)
_DROP_EMPTY_ALLOCATIONS = allocations.delete().where(_al.order_id == bindparam("o"), _al.qty == 0)
_SHIP_ORDER_LINE = (
    sales_order_lines.update()
    .where(_sol.order_id == bindparam("o"), _sol.line_no == bindparam("l"), _sol.qty_allocated >= bindparam("q"))
    .values(qty_shipped=_sol.qty_shipped + bindparam("q"), qty_allocated=_sol.qty_allocated - bindparam("q"))
)
_RAISE_OPEN_AR = (
    customers.update().where(customers.c.customer_id == bindparam("c")).values(open_ar=customers.c.open_ar + bindparam("a"))
)
_POSTED = (
    select(_sh.shipment_id, _sh.order_id, _so.customer_id, _so.customer_po, _so.order_date, _sh.warehouse, _sh.carrier,
           _sh.tracking, _sh.ship_date, ar_invoices.c.invoice_number, ar_invoices.c.total, _so.status)
    .join(ar_invoices, ar_invoices.c.shipment_id == _sh.shipment_id)
    .join(sales_orders, _so.order_id == _sh.order_id)
    .where(_sh.source_document == bindparam("source"))
    .order_by(_sh.shipment_id)
)
_ail = ar_invoice_lines.c
_INVOICE_LINES = (
    select(_ail.invoice_number, _ail.order_line_no, _ail.sku, _ail.uom, _ail.qty, _ail.unit_price, _ail.amount)
    .where(_ail.invoice_number.in_(bindparam("numbers", expanding=True)))
    .order_by(_ail.invoice_number, _ail.line_no)
)


def lock_orders(conn: Connection, order_ids: list[str], warehouse: str) -> dict[str, SalesOrderState | None]:
    """The sales orders as they stand, locked, with what each line has allocated at `warehouse`."""
    ids = sorted(set(order_ids))
    heads = conn.execute(_LOCK_ORDERS, {"ids": ids}).all()
    here = {(r.order_id, r.line_no): r.qty for r in conn.execute(_ALLOCATED_HERE, {"ids": ids, "warehouse": warehouse})}
    lines: dict[str, list[SalesOrderLineState]] = defaultdict(list)
    for r in conn.execute(_LOCK_ORDER_LINES, {"ids": ids}):
        lines[r.order_id].append(SalesOrderLineState(
            r.line_no, r.sku, r.uom, r.qty_ordered, r.unit_price, r.qty_allocated, r.qty_backordered, r.qty_shipped,
            here.get((r.order_id, r.line_no), 0),
        ))
    found = {h.order_id: SalesOrderState(h.order_id, h.customer_id, h.customer_po, h.order_date, h.status,
                                         tuple(lines[h.order_id])) for h in heads}
    return {i: found.get(i) for i in ids}


def post_shipments(conn: Connection, source_document: str, warehouse: str, partner_reference: str,
                   order_ids: list[str], decide: ShipmentDecider) -> ShipmentPosting:
    orders = lock_orders(conn, order_ids, warehouse)
    skus = sorted({line.sku for order in orders.values() if order for line in order.lines})
    conn.execute(_LOCK_STOCK, {"warehouse": warehouse, "skus": skus}).all()
    before = set(conn.scalars(_SHIPPED_BEFORE, {"warehouse": warehouse, "reference": partner_reference, "ids": sorted(orders)}))
    drafts = decide(orders, before)
    rows = sum(_ship(conn, source_document, draft) for draft in drafts)
    return posted_shipments(conn, source_document, created=True, rows=rows) or ShipmentPosting(False, [], 0)


def posted_shipments(conn: Connection, source_document: str, created: bool = False, rows: int = 0) -> ShipmentPosting | None:
    """The shipments posted for `source_document` as the ERP now holds them, or None."""
    found = conn.execute(_POSTED, {"source": source_document}).all()
    if not found:
        return None
    lines: dict[str, list[ArInvoiceLineDraft]] = defaultdict(list)
    for row in conn.execute(_INVOICE_LINES, {"numbers": [r.invoice_number for r in found]}):
        lines[row.invoice_number].append(ArInvoiceLineDraft(*row[1:]))
    return ShipmentPosting(created, [PostedShipment(*row, tuple(lines[row.invoice_number])) for row in found], rows)


def _ship(conn: Connection, source_document: str, d: ShipmentDraft) -> int:
    shipment_id = next_number(conn, "shipment")
    conn.execute(shipments.insert(), dict(
        shipment_id=shipment_id, order_id=d.order_id, warehouse=d.warehouse, carrier=d.carrier, tracking=d.tracking,
        ship_date=d.ship_date, partner_reference=d.partner_reference, source_document=source_document,
    ))
    rows = 1 + insert_many(conn, shipment_lines, [
        {"shipment_id": shipment_id, "line_no": n, "order_line_no": line.order_line_no, "sku": line.sku, "qty": line.qty}
        for n, line in enumerate(d.lines, 1)
    ])
    per_sku: dict[str, int] = defaultdict(int)
    for line in d.lines:
        per_sku[line.sku] += line.qty
    rows += _guarded(conn, _SHIP_STOCK, [{"w": d.warehouse, "s": sku, "q": q} for sku, q in sorted(per_sku.items())], d, "inventory")
    line_params = [{"o": d.order_id, "l": line.order_line_no, "w": d.warehouse, "q": line.qty} for line in d.lines]
    rows += _guarded(conn, _SHIP_ALLOCATION, line_params, d, "allocation")
    rows += _guarded(conn, _SHIP_ORDER_LINE, line_params, d, "order line")
    conn.execute(_DROP_EMPTY_ALLOCATIONS, {"o": d.order_id})
    failpoint("erp-shipment-before-invoice")  # tests: a process dying mid-transaction leaves no shipment

    invoice_number = next_number(conn, "ar_invoice")
    total = d.invoice_total
    conn.execute(ar_invoices.insert(), dict(
        invoice_number=invoice_number, order_id=d.order_id, customer_id=d.customer_id, invoice_date=d.ship_date,
        total=total, shipment_id=shipment_id, source_document=source_document,
    ))
    rows += 1 + insert_many(conn, ar_invoice_lines, [
        {"invoice_number": invoice_number, "line_no": n, "order_line_no": line.order_line_no, "sku": line.sku,
         "uom": line.uom, "qty": line.qty, "unit_price": line.unit_price, "amount": line.amount}
        for n, line in enumerate(d.invoice_lines, 1)
    ])
    conn.execute(_RAISE_OPEN_AR, {"c": d.customer_id, "a": total})
    if d.completes_order:  # SHIPPED, and billed in the same transaction
        conn.execute(sales_orders.update().where(_so.order_id == d.order_id).values(status="INVOICED"))
    return rows + 2


def _guarded(conn: Connection, statement, params: list[dict], draft: ShipmentDraft, what: str) -> int:
    if params and conn.execute(statement, params).rowcount != len(params):
        raise PermanentError(f"order {draft.order_id}: shipping more than is allocated at {draft.warehouse} ({what})")
    return len(params)
