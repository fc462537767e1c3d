"""A supplier's documents: the ship notice (ASN) matched to our POs, the invoice three-way
matched. Both are judged inside the ERP posting (see hub.erp) and settle as posted, or held in
queue `purchasing` / `payables` with what the ERP recorded."""

from __future__ import annotations

from hub.canonical import Invoice, ShipNotice
from hub.flows.context import FlowContext
from hub.flows.posting import TARGET, post
from hub.holds import Hold, holds_recorded
from hub.partners import Partner
from hub.supply import asn, invoice


def record_ship_notice(doc, notice: ShipNotice, partner: Partner, ctx: FlowContext) -> None:
    if not partner.erp_ref:
        return doc.hold([Hold("NO_ERP_SUPPLIER", "integration", f"partner {partner.id} has no erp_ref (ERP supplier id)")])
    judge = asn.AsnJudge(notice, partner.erp_ref, ctx.ref, ctx.rules, waived=ctx.waived)
    posted = post(doc, None, lambda report: ctx.erp.post_inbound_asn(
        doc.source_document, partner.erp_ref, notice.shipment_id, judge.po_numbers, judge, on_attempt=report,
        reconsider=ctx.reconsider))
    if posted is not None:
        _settle(doc, posted, judge, asn.RULESET, notice.shipment_id, f"ASN {notice.shipment_id}", None, ctx)


def match_invoice(doc, inv: Invoice, partner: Partner, ctx: FlowContext) -> None:
    if not partner.erp_ref:
        return doc.hold([Hold("NO_ERP_SUPPLIER", "integration", f"partner {partner.id} has no erp_ref (ERP supplier id)")])
    if not inv.po_number:
        return doc.hold([Hold("UNKNOWN_PO", "payables", f"invoice {inv.invoice_number} names no purchase order (BIG04)")])
    judge = invoice.InvoiceJudge(inv, partner.erp_ref, ctx.ref, ctx.rules, waived=ctx.waived)
    posted = post(doc, inv.stated_total, lambda report: ctx.erp.post_supplier_invoice(
        doc.source_document, partner.erp_ref, inv.invoice_number, inv.po_number, judge, on_attempt=report,
        reconsider=ctx.reconsider))
    if posted is not None:
        total = judge.totals.stated if judge.totals else inv.stated_total
        _settle(doc, posted, judge, invoice.RULESET, inv.invoice_number, f"invoice {inv.invoice_number}", total, ctx)


def _settle(doc, posted, judge, ruleset: str, number: str, what: str, total, ctx: FlowContext) -> None:
    recorded = bool(posted.statuses)
    doc.record_postings(TARGET, total, number if recorded else None)
    replayed = recorded and not posted.created  # the judge did not run: the ERP had it already
    holds = holds_recorded(ctx.rules, ruleset, posted.hold_codes, what) if replayed else judge.holds
    doc.advance("decided", decisions=[d.trace() for d in judge.trace], detail={"erp": posted.statuses},
                total=None if total is None else str(total))
    if recorded:
        doc.erp_ref = number
    if holds:
        return doc.hold(holds, posted=recorded)
    doc.advance("posted", erp_ref=number)
