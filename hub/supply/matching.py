"""Which PO line a supplier's item is, and how many base units a quantity is.

Suppliers name items by their own part (VP = `items.vendor_part`), by ours (BP, SK) or by UPC.
"""

from __future__ import annotations

from decimal import Decimal

from hub.canonical import ItemIds
from hub.erp import PurchaseOrderLine, PurchaseOrderState, ReferenceData
from hub.orders.pricing import units_per


def item_sku(ids: ItemIds, ref: ReferenceData) -> str | None:
    """Our SKU for a supplier's item ids, or None."""
    if ids.vendor_part and (sku := ref.items_by_vendor_part.get(ids.vendor_part)):
        return sku
    for ours in (ids.sku, ids.buyer_part):
        if ours and ours in ref.items:
            return ours
    return ref.items_by_upc.get(ids.upc) if ids.upc else None


def match_po_line(po: PurchaseOrderState, ids: ItemIds, ref: ReferenceData) -> PurchaseOrderLine | None:
    """The PO line the item names: the same vendor part, else the same SKU; None when not on the PO."""
    if ids.vendor_part:
        for line in po.lines:
            if line.vendor_part == ids.vendor_part:
                return line
    sku = item_sku(ids, ref)
    return next((line for line in po.lines if line.sku == sku), None) if sku else None


def base_units(quantity: int, uom: str, sku: str | None, ref: ReferenceData) -> int:
    """`quantity` in `uom` as base units (EA); an unknown item counts as sent."""
    item = ref.items.get(sku) if sku else None
    return quantity * units_per(item, uom) if item else quantity


def percent_over(value: Decimal, limit: Decimal) -> float:
    """How far `value` is above `limit`, in % of `limit` (0 when not above); exact to 4 places."""
    if value <= limit:
        return 0.0
    if limit <= 0:  # anything at all against nothing
        return 100.0
    return float(((value - limit) * 100 / limit).quantize(Decimal("0.0001")))


def describe_ids(ids: ItemIds) -> str:
    return ", ".join(f"{k}={v}" for k, v in ids.model_dump(exclude_none=True).items()) or "no item id"
