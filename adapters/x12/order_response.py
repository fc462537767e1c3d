"""The purchase order acknowledgment (X12 855) for a booked or rejected order.

BAK02 is AT (accepted as sent), AC (accepted with changes: our price, or part backordered) or RJ
(rejected). Each line echoes the customer's PO1 with our price and an ACK: IA accepted, IP
accepted at a changed price, IB backordered (with the backordered quantity in base units), IR
rejected (with the ordered quantity; the line keeps the customer's price).
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.x12.writer import STANDARD_DELIMITERS, Segment, clean, document_to, item_ids
from hub.orders.booking import BookedLine, OrderBooking
from hub.ports import ControlNumbers, OutboundMessage


class X12OrderResponseWriter:
    def write(self, booking: OrderBooking, partner, our_identity, numbers: ControlNumbers) -> OutboundMessage:
        d = STANDARD_DELIMITERS
        when = datetime.now(UTC)
        body: list[Segment] = [
            ["ST", "855"],
            ["BAK", "00", _acknowledgment(booking), clean(booking.po_number, d), booking.po_date.strftime("%Y%m%d"), "", "", "", booking.order_id, when.strftime("%Y%m%d")],
        ]
        for line in booking.lines:
            ids = item_ids(line.item.buyer_part, line.item.sku or line.item.vendor_part, line.item.upc, d)
            price = "" if line.unit_price is None else f"{line.unit_price:.2f}"
            body.append(["PO1", str(line.line_no), str(line.quantity), line.uom, price, "", *ids])
            body.append(_line_acknowledgment(line, booking.rejected))
        body.append(["CTT", str(len(booking.lines))])
        return document_to(partner, our_identity, "855", "PR", body, booking.version, numbers, when)


def _acknowledgment(booking: OrderBooking) -> str:
    if booking.rejected:
        return "RJ"
    return "AC" if booking.changed else "AT"


def _line_acknowledgment(line: BookedLine, rejected: bool) -> Segment:
    if rejected:
        return ["ACK", "IR", str(line.quantity), line.uom]
    if line.backordered:
        return ["ACK", "IB", str(line.backordered), "EA"]
    return ["ACK", "IP" if line.price_changed else "IA", str(line.quantity), line.uom]
