"""What the reports read from the ERP, in the core's words (adapters/erp/books.py reads the
reference ERP). Every method that can return many rows streams them: a year of an ERP's orders is
never in memory at once.

Money is exact Decimal. Quantities are whole numbers in the unit named beside them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ErpRecord:
    """One ERP row that names the hub document it came from (`source_document`)."""

    table: str  # e.g. sales_orders, ap_invoices
    key: str  # the row's own number, e.g. SO-000123, or V20/DT-INV-88001
    source_document: str
    amount: Decimal | None  # the money it carries; None when the table carries none (shipments)
    status: str | None


@dataclass(frozen=True, slots=True)
class ApInvoiceLine:
    """One line of a supplier invoice beside the PO line it was matched to (None: matched to none)."""

    supplier_id: str
    invoice_number: str
    invoice_date: date
    po_number: str
    status: str  # APPROVED, HOLD, REJECTED
    hold_codes: tuple[str, ...]
    invoice_total: Decimal  # as the supplier stated it (TDS)
    source_document: str | None
    line_no: int
    po_line_no: int | None
    sku: str | None
    uom: str
    qty_invoiced: int  # in `uom`
    unit_price: Decimal  # per `uom`, as invoiced
    amount: Decimal
    qty_ordered: int | None  # the PO line's, in the item's base unit
    qty_received: int | None  # the PO line's, in the item's base unit
    po_unit_price: Decimal | None  # per base unit


@dataclass(frozen=True, slots=True)
class OrderProgress:
    """Where one sales order stands from booking to cash."""

    order_id: str
    customer_id: str
    customer_po: str
    order_date: date
    status: str  # BOOKED, HOLD, SHIPPED, INVOICED, CANCELLED
    hold_codes: tuple[str, ...]
    total: Decimal
    source_document: str | None
    shipments: tuple[str, ...]
    first_ship_date: date | None
    invoices: tuple[str, ...]
    invoiced_total: Decimal


@dataclass(frozen=True, slots=True)
class UnbilledShipment:
    shipment_id: str
    order_id: str
    customer_id: str
    warehouse: str
    ship_date: date
    units: int  # base units shipped


@dataclass(frozen=True, slots=True)
class UnshippedInvoice:
    invoice_number: str
    order_id: str
    customer_id: str
    invoice_date: date
    total: Decimal


class ErpBooks(Protocol):
    def records_of(self, sources: Sequence[str]) -> list[ErpRecord]:
        """Every ERP row carrying one of these source documents."""

    def records_from(self, prefix: str) -> Iterator[ErpRecord]:
        """Every ERP row whose source document starts with `prefix`, streamed."""

    def ap_invoice_lines(self, start: date, end: date, supplier_id: str | None) -> Iterator[ApInvoiceLine]:
        """Lines of supplier invoices dated in the period, by supplier, invoice and line."""

    def sales_orders(self, start: date, end: date, customer_id: str | None) -> Iterator[OrderProgress]:
        """Orders dated in the period, by order id."""

    def held_orders(self, until: date, customer_id: str | None) -> Iterator[OrderProgress]:
        """Orders on HOLD now that are dated on or before `until`."""

    def shipped_not_invoiced(self, until: date, customer_id: str | None) -> Iterator[UnbilledShipment]:
        """Shipments made on or before `until` that no AR invoice bills."""

    def invoiced_not_shipped(self, until: date, customer_id: str | None) -> Iterator[UnshippedInvoice]:
        """AR invoices dated on or before `until` that bill no shipment."""
