"""The invoice (X12 810) we send a customer for what shipped: BIG with our invoice number and the
customer's PO, one IT1 per line at the booked price, TDS in cents (type N2), CTT."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.x12.writer import STANDARD_DELIMITERS, Segment, clean, document_to, item_ids
from hub.fulfilment.customer_documents import CustomerInvoice
from hub.ports import ControlNumbers, OutboundMessage


class X12InvoiceWriter:
    def write(self, invoice: CustomerInvoice, partner, our_identity, numbers: ControlNumbers) -> OutboundMessage:
        d = STANDARD_DELIMITERS
        when = datetime.now(UTC)
        body: list[Segment] = [
            ["ST", "810"],
            ["BIG", invoice.invoice_date.strftime("%Y%m%d"), clean(invoice.invoice_number, d),
             invoice.po_date.strftime("%Y%m%d"), clean(invoice.customer_po, d)],
            ["REF", "VN", clean(invoice.order_id, d)],
            ["N1", "RE", clean(our_identity.name, d)],
            ["N1", "BT", clean(partner.name, d)],
        ]
        for line in invoice.lines:
            body.append(["IT1", str(line.line_no), str(line.quantity), line.uom, f"{line.unit_price:.2f}", "", *item_ids(line.customer_part, line.sku, line.upc, d)])
        body += [
            ["TDS", str(int(invoice.total * 100))],
            ["CTT", str(len(invoice.lines))],
        ]
        return document_to(partner, our_identity, "810", "IN", body, invoice.version, numbers, when)
