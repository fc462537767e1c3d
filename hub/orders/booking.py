"""What was booked for an order, in the terms an order acknowledgment (855) reports."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hub.canonical import ItemIds


@dataclass(frozen=True, slots=True)
class BookedLine:
    line_no: int
    item: ItemIds  # as the customer named it, with our sku filled in
    uom: str
    quantity: int
    unit_price: Decimal  # ours, per uom
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

    @property
    def changed(self) -> bool:
        """True when we book other than as sent: our price, or not all of it now (backorder)."""
        return any(line.price_changed or line.backordered for line in self.lines)
