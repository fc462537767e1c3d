"""What was booked for an order, in the terms an order acknowledgment (855) reports; or that
the order was rejected (cancelled by an operator while on hold)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hub.canonical import ItemIds, PurchaseOrder


@dataclass(frozen=True, slots=True)
class BookedLine:
    line_no: int
    item: ItemIds  # as the customer named it, with our sku filled in
    uom: str
    quantity: int
    unit_price: Decimal | None  # ours, per uom; in a rejection the customer's (None: it stated none)
    stated_price: Decimal | None
    backordered: int  # base units not allocated

    @property
    def price_changed(self) -> bool:
        return self.stated_price is not None and self.stated_price != self.unit_price


@dataclass(frozen=True, slots=True)
class OrderBooking:
    order_id: str  # the ERP's sales order
    po_number: str
    po_date: object  # date
    lines: list[BookedLine]
    version: str  # the X12 version to answer in (the order's, else the partner's)
    rejected: bool = False  # the whole order is rejected: nothing was booked

    @property
    def changed(self) -> bool:
        """True when we book other than as sent: our price, or not all of it now (backorder)."""
        return any(line.price_changed or line.backordered for line in self.lines)


def rejection(order: PurchaseOrder, order_id: str) -> OrderBooking:
    """The acknowledgment of an order we reject: its lines as the customer sent them."""
    lines = [BookedLine(line.line_no, line.item, line.uom, line.quantity, line.unit_price, line.unit_price, 0)
             for line in order.lines]
    return OrderBooking(order_id, order.po_number, order.order_date, lines, order.source.version, rejected=True)
