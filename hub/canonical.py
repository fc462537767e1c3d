"""Canonical documents: what every format maps into and every later step reads.

They know nothing of X12, CSV or cXML. Money and prices are `Decimal`; quantities are whole
numbers in the unit the partner sent (`uom`); conversion to the base unit is a decision, made by
the rules, not by the mapping. `units` is what a document carries, summed as sent (in whatever
units its lines are in): the figure finance reconciles with the ledger's `documents.quantity`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Source(_Model):
    """Where a document came from: enough to find its bytes and answer its sender."""

    partner_id: str
    channel: str = "cli"
    filename: str | None = None
    interchange_id: int | None = None  # ledger id of the stored file
    interchange_control: str | None = None  # ISA13
    group_control: str | None = None  # GS06
    set_control: str | None = None  # ST02
    version: str | None = None  # GS08, e.g. 004010


class Party(_Model):
    role: str  # ST ship-to, BT bill-to, BY buyer, SE seller, SF ship-from, VN vendor ...
    name: str | None = None
    id_qualifier: str | None = None
    id: str | None = None
    address: list[str] = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Reference(_Model):
    qualifier: str
    value: str


class ItemIds(_Model):
    """The ways a partner names an item; resolution to our SKU is a decision."""

    buyer_part: str | None = None  # BP: the customer's own part number
    vendor_part: str | None = None  # VP: the seller's part number
    upc: str | None = None  # UP / UK / EN
    sku: str | None = None  # our SKU once resolved


class OrderLine(_Model):
    line_no: int
    quantity: int
    uom: str = "EA"
    unit_price: Decimal | None = None
    item: ItemIds
    description: str | None = None


class PurchaseOrder(_Model):
    """A customer's order to us (X12 850, CSV, JSON, cXML OrderRequest)."""

    doc_type: Literal["purchase_order"] = "purchase_order"
    po_number: str
    order_date: date
    purpose: str = "00"  # 00 original
    currency: str = "USD"
    customer_account: str | None = None  # our customer id when the document states it
    requested_ship_date: date | None = None
    stated_total: Decimal | None = None
    parties: list[Party] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    lines: list[OrderLine]
    source: Source

    @property
    def reference(self) -> str:
        """The number people look it up by."""
        return self.po_number

    @property
    def units(self) -> int:
        """Ordered, over every line."""
        return sum(line.quantity for line in self.lines)


class ShipNoticeItem(_Model):
    line_no: int | None = None
    po_line_no: int | None = None
    quantity: int
    uom: str = "EA"
    item: ItemIds


class ShipNoticeOrder(_Model):
    po_number: str  # PRF01: the purchase order this order level ships against
    vendor_order: str | None = None  # REF*VN: the seller's order number
    containers: list[str] = Field(default_factory=list)  # SSCC-18 of its tare and pack levels (MAN*GM)
    items: list[ShipNoticeItem]


class ShipNotice(_Model):
    """A ship notice (X12 856): a supplier's ASN or a 3PL's ship confirmation."""

    doc_type: Literal["ship_notice"] = "ship_notice"
    shipment_id: str  # BSN02
    ship_date: date
    carrier: str | None = None
    tracking: str | None = None
    parties: list[Party] = Field(default_factory=list)
    orders: list[ShipNoticeOrder]
    source: Source

    @property
    def reference(self) -> str:
        return self.shipment_id

    @property
    def units(self) -> int:
        """Shipped, over every item of every order."""
        return sum(item.quantity for order in self.orders for item in order.items)


class InvoiceLine(_Model):
    line_no: int
    quantity: int
    uom: str = "EA"
    unit_price: Decimal
    item: ItemIds


class Charge(_Model):
    """An allowance (A) or charge (C) from SAC, or a tax from TXI."""

    kind: Literal["allowance", "charge", "tax"]
    code: str | None = None
    amount: Decimal
    description: str | None = None


class PaymentTerms(_Model):
    """ITD: e.g. 2% discount within 10 days, net 30."""

    type_code: str | None = None  # ITD01, 01 basic
    discount_pct: Decimal | None = None
    discount_days: int | None = None
    net_days: int | None = None
    description: str | None = None

    def words(self) -> str:
        parts = []
        if self.discount_pct:
            parts.append(f"{self.discount_pct.normalize():f}% {self.discount_days or 0} days")
        if self.net_days is not None:
            parts.append(f"net {self.net_days}")
        return ", ".join(parts) or (self.description or "")


class Invoice(_Model):
    """An invoice (X12 810) from a supplier, or one we send a customer."""

    doc_type: Literal["invoice"] = "invoice"
    invoice_number: str
    invoice_date: date
    po_number: str | None = None
    terms: PaymentTerms | None = None
    parties: list[Party] = Field(default_factory=list)
    lines: list[InvoiceLine]
    charges: list[Charge] = Field(default_factory=list)  # allowances and charges (SAC)
    taxes: list[Charge] = Field(default_factory=list)  # TXI
    stated_total: Decimal | None = None  # TDS01 as money
    source: Source

    @property
    def reference(self) -> str:
        return self.invoice_number

    @property
    def units(self) -> int:
        """Invoiced, over every line."""
        return sum(line.quantity for line in self.lines)


# the words for an acknowledgment code (AK901, AK501 / IK501), as the outbox records them; every
# other code rejects (R; M, W, X: rejected for the message's authentication or content)
ACKNOWLEDGMENT_OUTCOMES = {"A": "accepted", "E": "accepted-with-errors", "P": "partially-accepted"}
REJECTED = "rejected"


class _Answer(_Model):
    status: str  # an acknowledgment code

    @property
    def outcome(self) -> str:
        """The code in words: accepted, accepted-with-errors, partially-accepted or rejected."""
        return ACKNOWLEDGMENT_OUTCOMES.get(self.status, REJECTED)


class AcknowledgedSet(_Answer):
    set_id: str  # AK201: 855, 856, 810 ...
    set_control: str  # AK202: our ST02
    status: Literal["A", "E", "M", "R", "W", "X"]  # AK501 / IK501


class FunctionalAcknowledgment(_Answer):
    """A partner's functional acknowledgment (X12 997, 999) of one functional group we sent: the
    group (AK1), how it was taken (AK9) and, when the partner lists them, its sets (AK2 .. AK5/IK5)."""

    doc_type: Literal["functional_ack"] = "functional_ack"
    functional_id: str | None = None  # AK101: PR for an 855, SH for an 856, IN for an 810
    group_control: str  # AK102: our GS06
    status: Literal["A", "E", "M", "P", "R", "W", "X"]  # AK901
    sets: list[AcknowledgedSet] = Field(default_factory=list)
    source: Source

    @property
    def reference(self) -> str:
        return self.group_control

    @property
    def units(self) -> None:
        """It carries no goods."""
        return None


CanonicalDocument = PurchaseOrder | ShipNotice | Invoice | FunctionalAcknowledgment

DOCUMENT_MODELS: dict[str, type[_Model]] = {
    "purchase_order": PurchaseOrder,
    "ship_notice": ShipNotice,
    "invoice": Invoice,
    "functional_ack": FunctionalAcknowledgment,
}
