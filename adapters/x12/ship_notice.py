"""The ship notice (X12 856) we send a customer when its order ships.

One shipment, one order: the S-O-I hierarchy (BSN05 0004). The shipment level carries the
carrier (TD5), the tracking number (REF*CN), the ship date (DTM*011) and the parties; the order
level the customer's PO (PRF) and our order (REF*VN); each item level the customer's part (BP)
where we know it, our SKU (VP) and the UPC, with the quantity shipped (SN1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.x12.writer import STANDARD_DELIMITERS, Segment, clean, document_to, item_ids
from hub.fulfilment.customer_documents import CustomerShipNotice
from hub.ports import ControlNumbers, OutboundMessage


class X12ShipNoticeWriter:
    def write(self, notice: CustomerShipNotice, partner, our_identity, numbers: ControlNumbers) -> OutboundMessage:
        d = STANDARD_DELIMITERS
        when = datetime.now(UTC)
        body: list[Segment] = [
            ["ST", "856"],
            ["BSN", "00", clean(notice.shipment_id, d), notice.ship_date.strftime("%Y%m%d"), when.strftime("%H%M"), "0004"],
            ["HL", "1", "", "S"],
        ]
        if notice.carrier:
            body.append(["TD5", "B", "2", clean(notice.carrier, d)])
        if notice.tracking:
            body.append(["REF", "CN", clean(notice.tracking, d)])
        body.append(["DTM", "011", notice.ship_date.strftime("%Y%m%d")])
        if notice.ship_to is not None:
            to = notice.ship_to
            body.append(["N1", "ST", clean(to.name or partner.name, d), *(["92", clean(to.id, d)] if to.id else [])])
        else:
            body.append(["N1", "ST", clean(partner.name, d)])
        body.append(["N1", "SF", clean(our_identity.name, d), "92", clean(notice.ship_from, d)])
        body += [
            ["HL", "2", "1", "O"],
            ["PRF", clean(notice.customer_po, d), "", "", notice.po_date.strftime("%Y%m%d")],
            ["REF", "VN", clean(notice.order_id, d)],
        ]
        for n, line in enumerate(notice.lines, 3):
            body += [
                ["HL", str(n), "2", "I"],
                ["LIN", str(line.line_no), *item_ids(line.customer_part, line.sku, line.upc, d)],
                ["SN1", "", str(line.quantity), line.uom],
            ]
        body.append(["CTT", str(len(notice.lines) + 2)])
        return document_to(partner, our_identity, "856", "SH", body, notice.version, numbers, when)
