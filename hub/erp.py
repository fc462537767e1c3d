"""What the core needs from an ERP, in the core's own words.

The ERP gateway (adapters/erp implements the reference ERP) hands out reference data for the rules,
and posts a decided document in one transaction, idempotently on `source_document`. Allocation
happens inside that transaction: the gateway locks the inventory rows the order touches, asks the
core's allocator what to take from where, writes it, and commits; so `allocated` can never exceed
`on_hand`, whatever other workers do at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


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


class ErpGateway(Protocol):
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
    ) -> PostingResult:
        """Write the order in one transaction; allocate (only when BOOKED) under row locks.

        Transient failures are retried with bounded exponential backoff; every attempt is
        reported to `on_attempt`. Idempotent: a draft whose source_document is already posted
        returns the existing order with created=False. Raises PermanentError (hub.errors) when
        it will never succeed, TransientError when retries ran out."""
