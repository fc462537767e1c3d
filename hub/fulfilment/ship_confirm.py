"""Judge a 3PL's ship confirmation against Harbor's sales orders (scenario policy "3PL ship
confirmation") and draft the shipments and the AR invoices that bill them.

The ERP gateway calls the judge inside its posting transaction, with the orders, their lines and
what each line has allocated at the 3PL's warehouse locked as they stand. A confirmation with any
hold posts nothing. An order level the 3PL confirmed before under the same shipment id is a
duplicate, not a second shipment: it is skipped (`duplicates`), and the rest proceeds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hub.canonical import ShipNotice, ShipNoticeItem, ShipNoticeOrder
from hub.erp import (
    OPEN_ORDER_STATUSES,
    ArInvoiceLineDraft,
    ReferenceData,
    SalesOrderLineState,
    SalesOrderState,
    ShipmentDraft,
    ShipmentLineDraft,
)
from hub.holds import Hold, holds_from, waive
from hub.orders.pricing import to_cents, units_per
from hub.rules.engine import Decision, RuleEngine
from hub.supply.matching import base_units, describe_ids, item_sku

RULESET = "ship-confirm-checks"
# Cannot be shipped whatever an operator says: no such order, an order not open, or more than is
# allocated at the warehouse (the ERP would refuse it). These cannot be waived.
HARD_STOPS = frozenset({"UNKNOWN_ORDER", "ORDER_NOT_OPEN", "NOT_ALLOCATED"})


@dataclass(frozen=True, slots=True)
class _OrderLevel:
    level: ShipNoticeOrder
    order: SalesOrderState | None


@dataclass(frozen=True, slots=True)
class _Item:
    order: SalesOrderState
    line: SalesOrderLineState | None
    item: ShipNoticeItem
    shipping: int  # base units of the line on this confirmation so far


class ShipConfirmJudge:
    """The ShipmentDecider for one confirmation. Holds an operator `waived` do not hold it (e.g.
    PO_MISMATCH; a waived ITEM_NOT_ON_ORDER ships the rest). HARD_STOPS cannot be waived."""

    def __init__(self, notice: ShipNotice, warehouse: str, ref: ReferenceData, rules: RuleEngine, *,
                 waived: frozenset[str] = frozenset()):
        self.notice, self.warehouse, self.ref, self.rules = notice, warehouse, ref, rules
        self.waived = waived - HARD_STOPS
        self.order_ids = [level.vendor_order or "" for level in notice.orders]
        self.holds: list[Hold] = []
        self.trace: list[Decision] = []
        self.duplicates: list[str] = []  # orders confirmed before under this shipment id

    def __call__(self, orders: dict[str, SalesOrderState | None], shipped_before: set[str]) -> list[ShipmentDraft]:
        facts: list[dict] = []
        about: list[_OrderLevel | _Item] = []
        shipping: dict[str, dict[int, int]] = defaultdict(dict)  # order -> line -> base units on this notice
        self.duplicates = [oid for oid in self.order_ids if oid in shipped_before]
        for level in self.notice.orders:
            order = orders.get(level.vendor_order or "")
            if order is not None and order.order_id in shipped_before:
                continue
            facts.append({"kind": "order", "id": len(facts), "order_known": order is not None,
                          "order_open": order is not None and order.status in OPEN_ORDER_STATUSES,
                          "po_matches": order is not None and order.customer_po == level.po_number})
            about.append(_OrderLevel(level, order))
            if order is None:
                continue
            for item in level.items:
                line = self._order_line(order, item)
                fact = {"kind": "line", "id": len(facts), "on_order": line is not None, "over_allocated": 0}
                total = 0
                if line is not None:
                    qty = base_units(item.quantity, item.uom, line.sku, self.ref)
                    total = shipping[order.order_id][line.line_no] = shipping[order.order_id].get(line.line_no, 0) + qty
                    fact["over_allocated"] = total - line.allocated_here
                facts.append(fact)
                about.append(_Item(order, line, item, total))
        self.trace = self.rules.evaluate(RULESET, facts)
        self.holds = holds_from(self.trace, lambda d: self._words(d, about[d.fact["id"]]))
        if shipping:  # a waiver lets the rest ship; with nothing left to ship the holds stand
            self.holds = waive(self.holds, self.waived)
        if self.holds:
            return []
        return [self._draft(orders[oid], shipping[oid]) for oid in shipping]

    def _order_line(self, order: SalesOrderState, item: ShipNoticeItem) -> SalesOrderLineState | None:
        """The order line the item ships: same SKU, the stated line number first when several have it."""
        sku = item_sku(item.item, self.ref)
        candidates = [line for line in order.lines if line.sku == sku]
        return next((line for line in candidates if line.line_no == item.line_no), candidates[0] if candidates else None)

    def _draft(self, order: SalesOrderState, shipping: dict[int, int]) -> ShipmentDraft:
        n = self.notice
        lines = {line.line_no: line for line in order.lines}
        complete = all(line.qty_shipped + shipping.get(line.line_no, 0) >= self._ordered(line) for line in order.lines)
        return ShipmentDraft(
            order.order_id, order.customer_id, self.warehouse, n.carrier, n.tracking, n.ship_date, n.shipment_id,
            [ShipmentLineDraft(no, lines[no].sku, qty) for no, qty in sorted(shipping.items())],
            complete,
            [self._billed(lines[no], qty) for no, qty in sorted(shipping.items())],
        )

    def _ordered(self, line: SalesOrderLineState) -> int:
        return line.qty_ordered * units_per(self.ref.items[line.sku], line.uom)

    def _billed(self, line: SalesOrderLineState, qty: int) -> ArInvoiceLineDraft:
        """Bill `qty` base units at the booked price: in the line's unit when they make whole units."""
        per = units_per(self.ref.items[line.sku], line.uom)
        if qty % per == 0:
            uom, count, price = line.uom, qty // per, line.unit_price
        else:
            uom, count, price = "EA", qty, to_cents(line.unit_price / per)
        return ArInvoiceLineDraft(line.line_no, line.sku, uom, count, price, to_cents(count * price))

    def _words(self, d: Decision, about: _OrderLevel | _Item) -> str:
        ref, code, rule = self.notice.shipment_id, d.action.args[0], f"rule {d.rule} of {d.ruleset}@{d.version}"
        if isinstance(about, _OrderLevel):
            level, order = about.level, about.order
            if code == "UNKNOWN_ORDER":
                named = f"sales order {level.vendor_order}" if level.vendor_order else "no sales order (REF*VN)"
                return f"ship confirmation {ref} for customer PO {level.po_number} names {named}, which we do not have"
            if code == "ORDER_NOT_OPEN":
                return f"ship confirmation {ref}: sales order {order.order_id} is {order.status}, not open for shipping"
            if code == "PO_MISMATCH":
                return (f"ship confirmation {ref}: sales order {order.order_id} is for customer PO {order.customer_po},"
                        f" the confirmation says {level.po_number}")
            return f"ship confirmation {ref}: {code} ({rule})"
        if about.line is None:
            return f"ship confirmation {ref}: item ({describe_ids(about.item.item)}) is not on sales order {about.order.order_id}"
        line = about.line
        return (f"ship confirmation {ref}: {about.shipping} EA of {line.sku} shipped on sales order {about.order.order_id}"
                f" line {line.line_no}, but {line.allocated_here} are allocated at {self.warehouse} ({rule})")
