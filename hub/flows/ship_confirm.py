"""A 3PL's ship confirmation: the shipment and its AR invoice posted in the ERP (judged there,
under lock), then the customer told what shipped and billed in the documents it asked for
(partners.yaml `outbound`: x12-856, x12-810)."""

from __future__ import annotations

from decimal import Decimal

from hub.canonical import ShipNotice
from hub.flows.context import FlowContext
from hub.flows.posting import TARGET, post
from hub.fulfilment.customer_documents import customer_documents
from hub.fulfilment.ship_confirm import ShipConfirmJudge
from hub.holds import Hold
from hub.partners import Partner


def confirm_shipment(doc, notice: ShipNotice, partner: Partner, ctx: FlowContext) -> None:
    if not partner.warehouse:
        return doc.hold([Hold("NO_WAREHOUSE", "integration", f"3PL {partner.id} has no warehouse in partners.yaml")])
    judge = ShipConfirmJudge(notice, partner.warehouse, ctx.ref, ctx.rules, waived=ctx.waived)
    posted = post(doc, None, lambda report: ctx.erp.post_ship_confirmation(
        doc.source_document, partner.warehouse, notice.shipment_id, judge.order_ids, judge, on_attempt=report,
        reconsider=ctx.reconsider))
    if posted is None:
        return
    total = sum((s.invoice_total for s in posted.shipments), Decimal("0.00")) if posted.shipments else None
    refs = ", ".join(s.shipment_id for s in posted.shipments) or None
    doc.record_postings(TARGET, total, refs)
    doc.advance("decided", decisions=[d.trace() for d in judge.trace], total=None if total is None else str(total),
                detail={"duplicates": judge.duplicates} if judge.duplicates else None)
    if not posted.shipments:
        if judge.holds:
            return doc.hold(judge.holds)
        return doc.duplicate(f"ship confirmation {notice.shipment_id} was recorded before for {', '.join(judge.duplicates)}; not shipped again")
    doc.erp_ref = refs
    doc.advance("posted", erp_ref=refs, detail={s.order_id: s.order_status for s in posted.shipments})
    ship_to = next((p for p in notice.parties if p.role == "ST"), None)
    for shipment in posted.shipments:
        customer = ctx.partners.by_erp_ref(shipment.customer_id, "customer")
        if customer is None:
            continue
        notice_out, invoice_out = customer_documents(shipment, ctx.ref, ship_to, customer.x12_version)
        for kind, document in (("x12-856", notice_out), ("x12-810", invoice_out)):
            writer = ctx.writers.get(kind)
            if customer.wants(kind) and writer is not None:
                doc.outbound.append(writer.write(document, customer, ctx.partners.self_, ctx.numbers))
    if doc.outbound:
        doc.advance("answered", detail={"sent": [m.filename for m in doc.outbound]})
