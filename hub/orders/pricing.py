"""Prices and units for customer orders (scenario policies "Item resolution", "Units", "Pricing").

Money is exact decimal; every computed price is rounded half-up to cents.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hub.canonical import ItemIds
from hub.erp import Customer, Item, ReferenceData

CENT = Decimal("0.01")
CASE_UNITS = frozenset({"CA", "CS"})
KNOWN_UNITS = frozenset({"EA"}) | CASE_UNITS


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def resolve_sku(ref: ReferenceData, customer_id: str, ids: ItemIds) -> str | None:
    """Buyer part through the customer's cross-reference, else our SKU, else the UPC."""
    if ids.buyer_part and (sku := ref.customer_items.get((customer_id, ids.buyer_part))):
        return sku
    if ids.vendor_part and ids.vendor_part in ref.items:
        return ids.vendor_part
    if ids.upc and (sku := ref.items_by_upc.get(ids.upc)):
        return sku
    return None


def units_per(item: Item, uom: str) -> int:
    """Base units (EA) in one `uom`."""
    return item.case_qty if uom in CASE_UNITS else 1


def contract_price(ref: ReferenceData, customer_id: str, sku: str, base_qty: int, on: date) -> Decimal | None:
    """EA price of the contract in force on `on` with the largest min_qty <= base_qty."""
    best = None
    for price in ref.contract_prices.get((customer_id, sku), ()):
        if price.effective_from <= on <= price.effective_to and price.min_qty <= base_qty:
            if best is None or price.min_qty > best.min_qty:
                best = price
    return best.price if best else None


def tier_price(ref: ReferenceData, customer: Customer, item: Item) -> Decimal:
    discount = ref.tier_discounts.get(customer.tier, Decimal(0))
    return to_cents(item.list_price * (1 - discount / 100))


def deviation_pct(stated: Decimal | None, ours: Decimal) -> float:
    """How far the customer's price is from ours, in percent of ours (0 when none is stated)."""
    if stated is None or ours == 0:
        return 0.0
    return float(abs(stated - ours) / ours * 100)
