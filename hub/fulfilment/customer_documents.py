"""What we tell a customer after its order shipped: the ship notice (856) and the invoice (810),
in the core's words; adapters write them in the customer's format (partners.yaml `outbound`).

Both are built from the shipment as the ERP holds it (hub.erp.PostedShipment), so a document
rerun after a crash sends exactly what the first run would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hub.canonical import Party
from hub.erp import PostedShipment, ReferenceData


@dataclass(frozen=True, slots=True)
class CustomerLine:
    line_no: int  # the sales order line
    sku: str
    customer_part: str | None  # the customer's own number for the item, when we know it
    upc: str | None
    description: str
    uom: str
    quantity: int  # in uom
    unit_price: Decimal  # as booked, per uom
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CustomerShipNotice:
    shipment_id: str
    ship_date: date
    carrier: str | None
    tracking: str | None
    order_id: str
    customer_po: str
    po_date: date
    ship_to: Party | None
    ship_from: str  # the warehouse it left
    lines: tuple[CustomerLine, ...]
    version: str | None  # the X12 version the customer trades in


@dataclass(frozen=True, slots=True)
class CustomerInvoice:
    invoice_number: str
    invoice_date: date
    order_id: str
    customer_po: str
    po_date: date
    lines: tuple[CustomerLine, ...]
    total: Decimal
    version: str | None


def customer_documents(shipment: PostedShipment, ref: ReferenceData, ship_to: Party | None,
                       version: str | None) -> tuple[CustomerShipNotice, CustomerInvoice]:
    parts = {sku: part for (customer, part), sku in ref.customer_items.items() if customer == shipment.customer_id}
    lines = tuple(
        CustomerLine(line.order_line_no, line.sku, parts.get(line.sku), ref.items[line.sku].upc, ref.items[line.sku].description,
                     line.uom, line.qty, line.unit_price, line.amount)
        for line in shipment.invoice_lines
    )
    notice = CustomerShipNotice(shipment.shipment_id, shipment.ship_date, shipment.carrier, shipment.tracking, shipment.order_id,
                                shipment.customer_po, shipment.order_date, ship_to, shipment.warehouse, lines, version)
    invoice = CustomerInvoice(shipment.invoice_number, shipment.ship_date, shipment.order_id, shipment.customer_po,
                              shipment.order_date, lines, shipment.invoice_total, version)
    return notice, invoice
