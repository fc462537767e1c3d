"""What the core needs from an ERP, in the core's own words.

The ERP gateway (adapters/erp implements the reference ERP) hands out reference data for the rules,
and posts a decided document in one transaction, idempotently on `source_document`. Decisions that
depend on quantities other documents change are made inside that transaction: the gateway locks
the rows, hands their current state to a callback of the core, writes what the callback decided,
and commits. So `allocated` never exceeds `on_hand` (allocation), and two ASNs or invoices for the
same PO, or two ship confirmations for the same order, can never both pass a check that only one
of them should, whatever other workers do at the same time. A callback may run more than once (a
retried attempt): it must decide from its arguments alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from hub.reports.erp_books import ErpBooks


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str
    tier: str
    credit_limit: Decimal
    open_ar: Decimal
    credit_hold: bool
    allow_split: bool
    allow_backorder: bool
    default_warehouse: str


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    description: str
    base_uom: str
    case_qty: int
    list_price: Decimal
    upc: str | None
    supplier_id: str | None
    vendor_part: str | None
    standard_cost: Decimal | None


@dataclass(frozen=True, slots=True)
class ContractPrice:
    customer_id: str
    sku: str
    min_qty: int
    price: Decimal
    effective_from: date
    effective_to: date


@dataclass(frozen=True, slots=True)
class Warehouse:
    code: str
    name: str
    priority: int
    operated_by: str | None


@dataclass(slots=True)
class ReferenceData:
    """The ERP's master data, read once per batch (it changes rarely; orders do not)."""

    customers: dict[str, Customer]
    items: dict[str, Item]  # by sku
    items_by_upc: dict[str, str]  # upc -> sku
    items_by_vendor_part: dict[str, str]  # supplier's part -> sku
    customer_items: dict[tuple[str, str], str]  # (customer_id, customer_part) -> sku
    contract_prices: dict[tuple[str, str], list[ContractPrice]]  # (customer_id, sku) -> prices
    tier_discounts: dict[str, Decimal]  # tier -> percent
    warehouses: list[Warehouse]  # in priority order


@dataclass(slots=True)
class SalesOrderLineDraft:
    line_no: int
    sku: str
    uom: str
    qty_ordered: int  # in `uom`
    unit_price: Decimal  # our price per `uom`
    customer_unit_price: Decimal | None
    base_qty: int  # qty_ordered in the item's base unit (what allocation takes from inventory)


@dataclass(slots=True)
class SalesOrderDraft:
    source_document: str
    customer_id: str
    customer_po: str
    order_date: date
    status: str  # BOOKED or HOLD
    hold_codes: list[str]
    total: Decimal
    lines: list[SalesOrderLineDraft]


@dataclass(frozen=True, slots=True)
class AllocationLine:
    line_no: int
    warehouse: str
    qty: int  # base units


@dataclass(slots=True)
class AllocationOutcome:
    """What the allocator decided for one order, given the locked availability."""

    allocations: list[AllocationLine] = field(default_factory=list)
    backordered: dict[int, int] = field(default_factory=dict)  # line_no -> base units
    hold_codes: list[str] = field(default_factory=list)  # e.g. SHORTAGE: book on HOLD, allocate nothing


@dataclass(frozen=True, slots=True)
class PostingAttempt:
    """One try at the ERP, reported to the ledger whether it worked or not."""

    attempt: int
    outcome: str  # "posted", "replayed" (already there), "transient", "failed"
    error: str | None
    duration_ms: float
    rows: int


# (warehouse, sku) -> units available (on_hand - allocated), read under lock
Availability = dict[tuple[str, str], int]
Allocator = Callable[[Availability], AllocationOutcome]


@dataclass(slots=True)
class PostingResult:
    order_id: str
    created: bool  # False when the document had been posted before (idempotent replay)
    status: str
    hold_codes: list[str]
    allocation: AllocationOutcome | None
    rows: int = 0


# --- purchasing: supplier ASNs and invoices ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    line_no: int
    sku: str
    vendor_part: str | None
    qty_ordered: int  # base units, like every purchasing quantity
    unit_price: Decimal  # per base unit
    qty_shipped: int  # by ASNs accepted so far
    qty_received: int
    qty_invoiced: int  # by supplier invoices approved so far


@dataclass(frozen=True, slots=True)
class PurchaseOrderState:
    """A purchase order as it stands, read under lock in the posting transaction."""

    po_number: str
    supplier_id: str
    status: str
    lines: tuple[PurchaseOrderLine, ...]


@dataclass(slots=True)
class AsnLineDraft:
    line_no: int
    po_line_no: int | None
    sku: str | None
    vendor_part: str | None
    qty: int  # base units


@dataclass(slots=True)
class AsnDraft:
    """One PO's part of a supplier ASN: ACCEPTED raises qty_shipped on its PO lines, HOLD changes nothing."""

    supplier_id: str
    asn_number: str
    po_number: str
    ship_date: date | None
    carrier: str | None
    tracking: str | None
    status: str  # ACCEPTED or HOLD
    hold_codes: list[str]
    lines: list[AsnLineDraft]


@dataclass(slots=True)
class ApInvoiceLineDraft:
    line_no: int
    po_line_no: int | None
    sku: str | None
    vendor_part: str | None
    uom: str
    qty: int  # in uom
    base_qty: int
    unit_price: Decimal  # per uom, as invoiced
    amount: Decimal


@dataclass(slots=True)
class ApChargeDraft:
    kind: str  # allowance, charge, tax
    code: str | None
    description: str | None
    amount: Decimal


@dataclass(slots=True)
class ApInvoiceDraft:
    """A supplier invoice: APPROVED raises qty_invoiced on its PO lines, HOLD changes nothing."""

    supplier_id: str
    invoice_number: str
    po_number: str
    invoice_date: date
    status: str  # APPROVED or HOLD
    hold_codes: list[str]
    lines_total: Decimal
    charges_total: Decimal
    allowances_total: Decimal
    tax_total: Decimal
    total: Decimal  # as stated by the supplier
    terms: str | None
    terms_discount_pct: Decimal | None
    terms_discount_days: int | None
    terms_net_days: int | None
    lines: list[ApInvoiceLineDraft]
    charges: list[ApChargeDraft]


# (POs by number, None when unknown; POs this ASN number was already recorded against) -> drafts
AsnDecider = Callable[[dict[str, "PurchaseOrderState | None"], set[str]], list[AsnDraft]]
# (the PO or None; True when this supplier already sent this invoice number) -> draft or None (post nothing)
ApInvoiceDecider = Callable[["PurchaseOrderState | None", bool], "ApInvoiceDraft | None"]


@dataclass(slots=True)
class SupplierPosting:
    """What a supplier document was posted as."""

    created: bool  # False: posted before (replay), or nothing to post
    statuses: dict[str, str]  # PO number -> ACCEPTED / APPROVED / HOLD, for what was posted
    hold_codes: list[str]  # of what was posted
    rows: int = 0


# --- fulfilment: 3PL ship confirmations ---------------------------------------------------------

OPEN_ORDER_STATUSES = ("BOOKED", "SHIPPED")  # sales orders booked and not yet invoiced in full


@dataclass(frozen=True, slots=True)
class SalesOrderLineState:
    line_no: int
    sku: str
    uom: str
    qty_ordered: int  # in uom
    unit_price: Decimal  # ours, per uom
    qty_allocated: int  # base units, all warehouses
    qty_backordered: int
    qty_shipped: int  # base units
    allocated_here: int  # base units allocated at the shipping warehouse


@dataclass(frozen=True, slots=True)
class SalesOrderState:
    """A sales order as it stands, read under lock in the posting transaction."""

    order_id: str
    customer_id: str
    customer_po: str
    order_date: date
    status: str
    lines: tuple[SalesOrderLineState, ...]


@dataclass(slots=True)
class ArInvoiceLineDraft:
    order_line_no: int
    sku: str
    uom: str
    qty: int  # in uom
    unit_price: Decimal  # as booked, per uom
    amount: Decimal


@dataclass(slots=True)
class ShipmentLineDraft:
    order_line_no: int
    sku: str
    qty: int  # base units


@dataclass(slots=True)
class ShipmentDraft:
    """One order's shipment from a 3PL's warehouse and the AR invoice that bills it."""

    order_id: str
    customer_id: str
    warehouse: str
    carrier: str | None
    tracking: str | None
    ship_date: date
    partner_reference: str  # the 3PL's shipment id
    lines: list[ShipmentLineDraft]
    completes_order: bool  # every line shipped in full: the order goes SHIPPED, then INVOICED
    invoice_lines: list[ArInvoiceLineDraft]

    @property
    def invoice_total(self) -> Decimal:
        return sum((line.amount for line in self.invoice_lines), Decimal("0.00"))


# (orders by id, None when unknown; orders already shipped under this 3PL shipment id) -> drafts
ShipmentDecider = Callable[[dict[str, "SalesOrderState | None"], set[str]], list[ShipmentDraft]]


@dataclass(frozen=True, slots=True)
class PostedShipment:
    """A shipment as the ERP holds it, with the AR invoice that bills it: what the customer's ship
    notice and invoice are written from (the same whether just posted or found posted before)."""

    shipment_id: str
    order_id: str
    customer_id: str
    customer_po: str
    order_date: date
    warehouse: str
    carrier: str | None
    tracking: str | None
    ship_date: date
    invoice_number: str
    invoice_total: Decimal
    order_status: str
    invoice_lines: tuple[ArInvoiceLineDraft, ...]


@dataclass(slots=True)
class ShipmentPosting:
    created: bool  # False: posted before (replay), or nothing to post
    shipments: list[PostedShipment]
    rows: int = 0


class ErpGateway(Protocol):
    """Every post_* is idempotent on `source_document`: a document posted before is returned as
    the ERP holds it (created=False). With `reconsider=True` the document was recorded on hold and
    is judged again now: in the same transaction, before that replay check, its HOLD records are
    withdrawn (a held record changed no stock or quantity, so nothing else is reversed), then it is
    posted afresh; a record not on hold is replayed as always."""

    def reference_data(self) -> ReferenceData: ...

    def open_order_total(self, customer_id: str) -> Decimal:
        """Total of the customer's orders BOOKED or SHIPPED and not yet invoiced."""

    def customer_po_exists(self, customer_id: str, customer_po: str, except_source: str) -> bool: ...

    def find_posted(self, source_document: str) -> str | None:
        """The ERP reference a document was posted as, or None."""

    def post_sales_order(
        self,
        draft: SalesOrderDraft,
        allocate: Allocator | None,
        on_attempt: Callable[[PostingAttempt], None] | None = None,
        *,
        reconsider: bool = False,
    ) -> PostingResult:
        """Write the order in one transaction; allocate (only when BOOKED) under row locks.

        Transient failures are retried with bounded exponential backoff; every attempt is
        reported to `on_attempt`. Idempotent: a draft whose source_document is already posted
        returns the existing order with created=False. A reconsidered order that was on hold
        keeps its order id. Raises PermanentError (hub.errors) when it will never succeed,
        TransientError when retries ran out."""

    def post_inbound_asn(
        self,
        source_document: str,
        supplier_id: str,
        asn_number: str,
        po_numbers: list[str],
        decide: AsnDecider,
        on_attempt: Callable[[PostingAttempt], None] | None = None,
        *,
        reconsider: bool = False,
    ) -> SupplierPosting:
        """Lock the POs' lines, let `decide` judge the ASN on them, write its drafts in one
        transaction. Retries, replay, reconsider and errors as post_sales_order."""

    def post_supplier_invoice(
        self,
        source_document: str,
        supplier_id: str,
        invoice_number: str,
        po_number: str,
        decide: ApInvoiceDecider,
        on_attempt: Callable[[PostingAttempt], None] | None = None,
        *,
        reconsider: bool = False,
    ) -> SupplierPosting:
        """Lock the PO's lines, let `decide` match the invoice on them, write its draft."""

    def post_ship_confirmation(
        self,
        source_document: str,
        warehouse: str,
        partner_reference: str,
        order_ids: list[str],
        decide: ShipmentDecider,
        on_attempt: Callable[[PostingAttempt], None] | None = None,
        *,
        reconsider: bool = False,
    ) -> ShipmentPosting:
        """Lock the orders, their lines and inventory at `warehouse`; let `decide` judge the
        confirmation; write shipments, inventory, order status and AR invoices in one transaction.
        A held confirmation recorded nothing, so reconsidering one simply posts it."""

    def cancel_held(self, source_document: str) -> list[str]:
        """Cancel what a held document recorded, in one transaction: its HOLD sales order becomes
        CANCELLED, its HOLD ASN rows and invoice REJECTED (hold codes kept). Returns the references
        changed (order id, ASN or invoice numbers); [] when the document recorded nothing. Raises
        PermanentError when what it recorded is not on hold (booked, accepted, shipped, cancelled)."""

    def batch(self, one_by_one: bool = False) -> AbstractContextManager[ErpGateway]:
        """A gateway whose postings and reads share one transaction, committed when the block ends
        well: reads see what the batch posted; a posting that fails for good (PermanentError) is
        undone alone. Postings are not retried one by one: when the transaction is lost (or a
        posting fails in passing), ErpUnavailable ends the block and nothing of it was committed.
        A gateway may hold postings' writes and make them together; if the ERP then refuses them,
        BatchRefused ends the block, and the caller runs the batch again `one_by_one`, each
        posting written as it is made."""

    def books(self) -> ErpBooks:
        """What finance's reports read from the ERP (hub.reports)."""

    def rehearsal(self) -> ErpGateway:
        """A gateway over the same data whose postings run as real ones (judges, locks, writes)
        in a transaction that is then rolled back, returning what a real posting would have:
        for dry runs. Its postings always reconsider held records; reads are the real ones."""
