"""What a document competes on with other documents: its lanes. Documents that share a lane are
decided in the order they were received (hub.ledger.queue); documents with none in common are
decided in parallel by as many workers as there are.

    a customer's order     customer:<ERP id>  (its credit exposure depends on the orders before it)
                           item:<SKU> per item (the stock it allocates is what earlier orders left)
    anything else          <role>:<ERP id>     (a supplier's ASNs before its invoices, a 3PL's
                                                confirmations in order, a partner's 997s in order)
"""

from __future__ import annotations

from typing import Any

from hub.erp import ReferenceData
from hub.orders.pricing import resolve_sku
from hub.partners import Partner


def lanes(canonical: Any, partner: Partner, ref: ReferenceData | None) -> str:
    """The lanes of a mapped document, space separated (as `documents.lanes` keeps them)."""
    account = partner.erp_ref or partner.id
    if canonical.doc_type != "purchase_order" or partner.role != "customer":
        return f"{partner.role}:{account}"
    skus = {resolve_sku(ref, account, line.item) for line in canonical.lines} if ref is not None else set()
    return " ".join([f"customer:{account}", *sorted(f"item:{sku}" for sku in skus if sku)])
