"""The purchase order acknowledgment (X12 855) for a booked order.

BAK02 is AT (accepted as sent) or AC (accepted with changes: our price, or part backordered).
Each line echoes the customer's PO1 with our price and an ACK: IA accepted, IP accepted at a
changed price, IB backordered (with the backordered quantity in base units).
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.x12.writer import STANDARD_DELIMITERS, Envelope, Segment, clean, render_interchange
from hub.orders.booking import OrderBooking
from hub.ports import ControlNumbers, OutboundMessage

_ID_QUALIFIERS = (("buyer_part", "BP"), ("vendor_part", "VP"), ("upc", "UP"))


class X12OrderResponseWriter:
    def order_response(self, order, booking: OrderBooking, partner, our_identity, numbers: ControlNumbers) -> OutboundMessage:
        d = STANDARD_DELIMITERS
        when = datetime.now(UTC)
        version = order.source.version or partner.x12_version or "004010"
        body: list[Segment] = [
            ["ST", "855"],
            ["BAK", "00", "AC" if booking.changed else "AT", clean(booking.po_number, d), booking.po_date.strftime("%Y%m%d"), "", "", "", booking.order_id, when.strftime("%Y%m%d")],
        ]
        for line in booking.lines:
            ids: list[str] = []
            for field, qualifier in _ID_QUALIFIERS:
                value = getattr(line.item, field)
                if field == "vendor_part":
                    value = line.item.sku or value
                if value:
                    ids += [qualifier, clean(value, d)]
            body.append(["PO1", str(line.line_no), str(line.quantity), line.uom, f"{line.unit_price:.2f}", "", *ids])
            if line.backordered:
                body.append(["ACK", "IB", str(line.backordered), "EA"])
            else:
                body.append(["ACK", "IP" if line.price_changed else "IA", str(line.quantity), line.uom])
        body.append(["CTT", str(len(booking.lines))])
        envelope = Envelope(
            sender=(our_identity.isa.qualifier, our_identity.isa.id),
            receiver=(partner.isa.qualifier, partner.isa.id),
            gs_sender=our_identity.gs,
            gs_receiver=partner.gs or partner.isa.id,
            version=version,
        )
        text, isa13 = render_interchange(envelope, "PR", [body], partner.id, numbers, when)
        return OutboundMessage(
            partner_id=partner.id, kind="855", filename=f"{partner.id}-855-{isa13}.x12", content=text.encode("latin-1"), interchange_control=isa13
        )
