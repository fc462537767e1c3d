"""Posting supplier documents to the reference ERP: ASNs (inbound_asns) and invoices (ap_invoices).

Each runs inside the gateway's write transaction. The PO and its lines are locked first
(`FOR UPDATE`, in PO then line order), then the core's decider judges the document on them, then
the drafts are written: an ACCEPTED ASN raises `purchase_order_lines.qty_shipped`, an APPROVED
invoice raises `qty_invoiced`; a HOLD is recorded and changes nothing else.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, Table, bindparam, select

from adapters.erp.rows import insert_many, join_codes, split_codes, withdraw_held
from adapters.erp.schema import (
    ap_invoice_charges,
    ap_invoice_lines,
    ap_invoices,
    inbound_asn_lines,
    inbound_asns,
    purchase_order_lines,
    purchase_orders,
)
from hub.erp import ApInvoiceDecider, AsnDecider, PurchaseOrderLine, PurchaseOrderState, SupplierPosting

_po, _pol = purchase_orders.c, purchase_order_lines.c
_LOCK_POS = (
    select(_po.po_number, _po.supplier_id, _po.status)
    .where(_po.po_number.in_(bindparam("numbers", expanding=True)))
    .order_by(_po.po_number)
    .with_for_update()
)
_LOCK_PO_LINES = (
    select(_pol.po_number, _pol.line_no, _pol.sku, _pol.vendor_part, _pol.qty_ordered, _pol.unit_price,
           _pol.qty_shipped, _pol.qty_received, _pol.qty_invoiced)
    .where(_pol.po_number.in_(bindparam("numbers", expanding=True)))
    .order_by(_pol.po_number, _pol.line_no)
    .with_for_update()
)
_ASN_POS = select(inbound_asns.c.po_number).where(
    inbound_asns.c.supplier_id == bindparam("supplier"), inbound_asns.c.asn_number == bindparam("number")
)
_INVOICE_EXISTS = select(ap_invoices.c.invoice_number).where(
    ap_invoices.c.supplier_id == bindparam("supplier"), ap_invoices.c.invoice_number == bindparam("number")
)


def _raise(column: str):
    return (
        purchase_order_lines.update()
        .where(_pol.po_number == bindparam("p"), _pol.line_no == bindparam("l"))
        .values({column: _pol[column] + bindparam("q")})
    )


_RAISE_SHIPPED = _raise("qty_shipped")
_RAISE_INVOICED = _raise("qty_invoiced")


def lock_purchase_orders(conn: Connection, numbers: list[str]) -> dict[str, PurchaseOrderState | None]:
    """The POs as they stand, locked; None for a number the ERP does not have."""
    numbers = sorted(set(numbers))
    heads = conn.execute(_LOCK_POS, {"numbers": numbers}).all()
    lines: dict[str, list[PurchaseOrderLine]] = defaultdict(list)
    for row in conn.execute(_LOCK_PO_LINES, {"numbers": numbers}):
        lines[row.po_number].append(PurchaseOrderLine(*row[1:]))
    found = {h.po_number: PurchaseOrderState(h.po_number, h.supplier_id, h.status, tuple(lines[h.po_number])) for h in heads}
    return {n: found.get(n) for n in numbers}


def post_asn(conn: Connection, source_document: str, supplier_id: str, asn_number: str, po_numbers: list[str],
             decide: AsnDecider) -> SupplierPosting:
    pos = lock_purchase_orders(conn, po_numbers)
    recorded = set(conn.scalars(_ASN_POS, {"supplier": supplier_id, "number": asn_number}))
    drafts = decide(pos, recorded)
    rows = 0
    for d in drafts:
        conn.execute(inbound_asns.insert(), dict(
            supplier_id=d.supplier_id, asn_number=d.asn_number, po_number=d.po_number, ship_date=d.ship_date,
            carrier=d.carrier, tracking=d.tracking, status=d.status, hold_codes=join_codes(d.hold_codes),
            source_document=source_document,
        ))
        keys = {"supplier_id": d.supplier_id, "asn_number": d.asn_number, "po_number": d.po_number}
        rows += 1 + insert_many(conn, inbound_asn_lines, [
            {**keys, "line_no": line.line_no, "po_line_no": line.po_line_no, "sku": line.sku,
             "vendor_part": line.vendor_part, "qty_shipped": line.qty}
            for line in d.lines
        ])
        if d.status == "ACCEPTED":
            rows += _add_to_po_lines(conn, _RAISE_SHIPPED, d.po_number, [(line.po_line_no, line.qty) for line in d.lines])
    return SupplierPosting(bool(drafts), {d.po_number: d.status for d in drafts},
                           list(dict.fromkeys(c for d in drafts for c in d.hold_codes)), rows)


def post_ap_invoice(conn: Connection, source_document: str, supplier_id: str, invoice_number: str, po_number: str,
                    decide: ApInvoiceDecider) -> SupplierPosting:
    po = lock_purchase_orders(conn, [po_number])[po_number]
    duplicate = conn.scalar(_INVOICE_EXISTS, {"supplier": supplier_id, "number": invoice_number}) is not None
    d = decide(po, duplicate)
    if d is None:
        return SupplierPosting(False, {}, [], 0)
    conn.execute(ap_invoices.insert(), dict(
        supplier_id=d.supplier_id, invoice_number=d.invoice_number, po_number=d.po_number, invoice_date=d.invoice_date,
        status=d.status, hold_codes=join_codes(d.hold_codes), lines_total=d.lines_total, charges_total=d.charges_total,
        allowances_total=d.allowances_total, tax_total=d.tax_total, total=d.total, terms=d.terms,
        terms_discount_pct=d.terms_discount_pct, terms_discount_days=d.terms_discount_days,
        terms_net_days=d.terms_net_days, source_document=source_document,
    ))
    keys = {"supplier_id": d.supplier_id, "invoice_number": d.invoice_number}
    rows = 1 + insert_many(conn, ap_invoice_lines, [
        {**keys, "line_no": line.line_no, "po_line_no": line.po_line_no, "sku": line.sku, "vendor_part": line.vendor_part,
         "uom": line.uom, "qty_invoiced": line.qty, "unit_price": line.unit_price, "amount": line.amount}
        for line in d.lines
    ])
    rows += insert_many(conn, ap_invoice_charges, [
        {**keys, "seq": seq, "kind": c.kind, "code": c.code, "description": c.description, "amount": c.amount}
        for seq, c in enumerate(d.charges, 1)
    ])
    if d.status == "APPROVED":
        rows += _add_to_po_lines(conn, _RAISE_INVOICED, d.po_number, [(line.po_line_no, line.base_qty) for line in d.lines])
    return SupplierPosting(True, {d.po_number: d.status}, list(d.hold_codes), rows)


_POSTED = {
    table.name: select(table.c.po_number, table.c.status, table.c.hold_codes).where(table.c.source_document == bindparam("source"))
    for table in (inbound_asns, ap_invoices)
}


def posted_supplier_document(table: Table, source_document: str, conn: Connection) -> SupplierPosting | None:
    """What `source_document` was posted as in `table` (inbound_asns or ap_invoices), or None."""
    found = conn.execute(_POSTED[table.name], {"source": source_document}).all()
    if not found:
        return None
    codes = list(dict.fromkeys(c for row in found for c in split_codes(row.hold_codes)))
    return SupplierPosting(False, {row.po_number: row.status for row in found}, codes)


def withdraw_held_asn(conn: Connection, source_document: str) -> list[str]:
    """Delete the HOLD inbound_asns rows of `source_document` and their lines; their ASN numbers."""
    return withdraw_held(conn, inbound_asns, (inbound_asn_lines,), "asn_number", source_document)


def withdraw_held_invoice(conn: Connection, source_document: str) -> list[str]:
    """Delete the HOLD ap_invoice of `source_document` with its lines and charges; its number."""
    return withdraw_held(conn, ap_invoices, (ap_invoice_lines, ap_invoice_charges), "invoice_number", source_document)


def _add_to_po_lines(conn: Connection, statement, po_number: str, quantities: list[tuple[int | None, int]]) -> int:
    per_line: dict[int, int] = defaultdict(int)
    for line_no, qty in quantities:
        if line_no is not None:
            per_line[line_no] += qty
    params = [{"p": po_number, "l": line_no, "q": qty} for line_no, qty in sorted(per_line.items())]
    if params:
        conn.execute(statement, params)
    return len(params)
