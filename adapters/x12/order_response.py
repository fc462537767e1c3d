"""The purchase order acknowledgment (X12 855) for a booked order.

BAK02 is AT (accepted as sent) or AC (accepted with changes: our price, or part backordered).
Each line echoes the customer's PO1 with our price and an ACK: IA accepted, IP accepted at a
changed price, IB backordered (with the backordered quantity in base units).
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.x12.writer import STANDARD_DELIMITERS, Segment, clean, document_to, item_ids
from hub.orders.booking import OrderBooking
from hub.ports import ControlNumbers, OutboundMessage

class X12OrderResponseWriter:
    def write(self, booking: OrderBooking, partner, our_identity, numbers: ControlNumbers) -> OutboundMessage:
        d = STANDARD_DELIMITERS
        when = datetime.now(UTC)
        body: list[Segment] = [
            ["ST", "855"],
            ["BAK", "00", "AC" if booking.changed else "AT", clean(booking.po_number, d), booking.po_date.strftime("%Y%m%d"), "", "", "", booking.order_id, when.strftime("%Y%m%d")],
        ]
        for line in booking.lines:
            ids = item_ids(line.item.buyer_part, line.item.sku or line.item.vendor_part, line.item.upc, d)
            body.append(["PO1", str(line.line_no), str(line.quantity), line.uom, f"{line.unit_price:.2f}", "", *ids])
            if line.backordered:
                body.append(["ACK", "IB", str(line.backordered), "EA"])
            else:
                body.append(["ACK", "IP" if line.price_changed else "IA", str(line.quantity), line.uom])
        body.append(["CTT", str(len(booking.lines))])
        return document_to(partner, our_identity, "855", "PR", body, booking.version, numbers, when)
