"""The business flows a mapped document goes through, one module each:

    orders           a customer's purchase order: decide, allocate, book, answer with an 855
    supplier         a supplier's ship notice (ASN) or invoice: match to our PO, record in the ERP
    ship_confirm     a 3PL's ship confirmation: ship, invoice, tell the customer (856, 810)
    acknowledgments  any X12 partner's 997/999: recorded on the files of ours it acknowledges

Which flow runs is decided by the canonical document and the sender's role (partners.yaml).
"""

from __future__ import annotations

from hub.flows import acknowledgments, orders, ship_confirm, supplier
from hub.flows.context import Flow, FlowContext

__all__ = ["FlowContext", "flow_for"]

_FLOWS: dict[tuple[str, str], Flow] = {
    ("purchase_order", "customer"): orders.book_order,
    ("ship_notice", "supplier"): supplier.record_ship_notice,
    ("invoice", "supplier"): supplier.match_invoice,
    ("ship_notice", "3pl"): ship_confirm.confirm_shipment,
    ("functional_ack", "customer"): acknowledgments.record_acknowledgment,
    ("functional_ack", "supplier"): acknowledgments.record_acknowledgment,
    ("functional_ack", "3pl"): acknowledgments.record_acknowledgment,
}


def flow_for(doc_type: str, role: str) -> Flow | None:
    """The flow for a canonical document type from a partner in `role`; None: we take no such document."""
    return _FLOWS.get((doc_type, role))
