"""A customer's purchase order: decide (items, prices, credit), allocate under lock, book the
sales order in the ERP, and answer with an 855 when the customer asked for one."""

from __future__ import annotations

from hub.canonical import PurchaseOrder
from hub.flows.context import FlowContext
from hub.flows.posting import TARGET, post
from hub.holds import Hold
from hub.orders.allocation import OrderAllocator
from hub.orders.booking import BookedLine, OrderBooking
from hub.orders.decide import OrderDecision, decide_order
from hub.partners import Partner


def book_order(doc, order: PurchaseOrder, partner: Partner, ctx: FlowContext) -> None:
    if not partner.erp_ref:
        return doc.hold([Hold("NO_ERP_CUSTOMER", "integration", f"partner {partner.id} has no erp_ref (ERP customer id)")])
    decision = decide_order(order, partner.erp_ref, doc.source_document, ctx.ref, ctx.erp, ctx.rules,
                            waived=ctx.waived, price_overrides=ctx.price_overrides)
    if decision.problems:
        return doc.reject(decision.problems)
    prices = {line.line_no: str(line.unit_price) for line in decision.draft.lines} if decision.draft else None
    doc.advance("decided", detail={"prices": prices} if prices else None, decisions=[d.trace() for d in decision.trace],
                total=str(decision.draft.total) if decision.draft else None)
    if decision.draft is None:
        return doc.hold(decision.holds)
    allocator = None
    if decision.draft.status == "BOOKED":
        allocator = OrderAllocator(ctx.rules, ctx.ref.customers[partner.erp_ref], ctx.ref.warehouses, decision.needs)
    posted = post(doc, decision.draft.total, lambda report: ctx.erp.post_sales_order(
        decision.draft, allocator, on_attempt=report, reconsider=ctx.reconsider))
    if posted is None:
        return
    doc.record_postings(TARGET, decision.draft.total, posted.order_id)
    if allocator is not None:
        doc.add_decisions([d.trace() for d in allocator.decisions])
    holds = _holds_after_posting(decision, allocator, posted.hold_codes)
    doc.erp_ref = posted.order_id
    if posted.status == "HOLD":
        return doc.hold(holds, posted=True)
    doc.advance("posted", detail=_allocation(posted.allocation), erp_ref=posted.order_id)
    writer = ctx.writers.get("x12-855")
    if partner.wants("x12-855") and order.source.version and writer is not None:
        message = writer.write(_booking(order, decision, posted), partner, ctx.partners.self_, ctx.numbers)
        doc.outbound.append(message)
        doc.advance("answered", detail={"sent": message.filename})


def _allocation(outcome) -> dict | None:
    """Where the order's stock comes from, as the posted event records it (a dry-run compares it)."""
    if outcome is None:
        return None
    placed = [{"line_no": a.line_no, "warehouse": a.warehouse, "qty": a.qty} for a in outcome.allocations]
    return {"allocation": {"placed": placed, "backordered": {str(k): v for k, v in outcome.backordered.items()}}}


def _holds_after_posting(decision: OrderDecision, allocator: OrderAllocator | None, erp_codes: list[str]) -> list[Hold]:
    """The holds the ERP order carries, with the queue and words of the rule that set each."""
    known = {h.code: h for h in decision.holds}
    for d in allocator.decisions if allocator else []:
        if d.action.name == "hold":
            known.setdefault(d.action.args[0], Hold(d.action.args[0], d.action.args[1], "not enough stock to fill the order, and the customer takes no backorders"))
    return [known.get(code) or Hold(code, "allocation" if code.startswith("ALLOCATION") else "customer-service", f"the ERP order carries hold {code}") for code in erp_codes]


def _booking(order: PurchaseOrder, decision: OrderDecision, posted) -> OrderBooking:
    backordered = posted.allocation.backordered if posted.allocation else {}
    drafts = {line.line_no: line for line in decision.draft.lines}
    lines = []
    for line in order.lines:
        draft = drafts[line.line_no]
        item = line.item if line.item.sku == draft.sku else line.item.model_copy(update={"sku": draft.sku})
        lines.append(BookedLine(line.line_no, item, line.uom, line.quantity, draft.unit_price, line.unit_price, backordered.get(line.line_no, 0)))
    return OrderBooking(posted.order_id, order.po_number, order.order_date, lines, order.source.version)
