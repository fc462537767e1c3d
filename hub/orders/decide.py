"""Decide a customer order: resolve items, run the order-checks, pricing and credit rulesets,
and produce the sales order draft the ERP gateway posts (allocation is decided at posting time,
under lock, by hub.orders.allocation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hub.canonical import PurchaseOrder
from hub.erp import ErpGateway, ReferenceData, SalesOrderDraft, SalesOrderLineDraft
from hub.errors import Location, Problem
from hub.holds import Hold, codes, holds_from, waive
from hub.orders.allocation import Need
from hub.orders.pricing import (
    KNOWN_UNITS,
    contract_price,
    deviation_pct,
    resolve_sku,
    tier_price,
    to_cents,
    units_per,
)
from hub.rules.engine import Decision, RuleEngine


@dataclass(slots=True)
class OrderDecision:
    customer_id: str
    holds: list[Hold] = field(default_factory=list)
    trace: list[Decision] = field(default_factory=list)
    draft: SalesOrderDraft | None = None  # None: cannot be posted (e.g. an unknown item)
    needs: list[Need] = field(default_factory=list)
    changed_lines: set[int] = field(default_factory=set)  # lines booked at a price other than stated
    problems: list[Problem] = field(default_factory=list)  # the order cannot be processed at all

    def hold_codes(self) -> list[str]:
        return codes(self.holds)


def decide_order(
    order: PurchaseOrder,
    customer_id: str,
    source_document: str,
    ref: ReferenceData,
    erp: ErpGateway,
    rules: RuleEngine,
    *,
    waived: frozenset[str] = frozenset(),
    price_overrides: dict[int, Decimal] | None = None,
) -> OrderDecision:
    """An operator's resolution of a held order: hold codes in `waived` (DUPLICATE_PO, PRICE_MISMATCH,
    CREDIT_LIMIT, ...) no longer hold it, and a line in `price_overrides` (line_no -> unit price per
    the line's uom, rounded to cents) is booked at that price with no pricing hold of its own. An
    order with an unknown item or unit cannot be booked whatever is waived, and SHORTAGE is decided
    when posting (hub.orders.allocation), not here."""
    overrides = price_overrides or {}
    decision = OrderDecision(customer_id=customer_id)
    customer = ref.customers.get(customer_id)
    if customer is None:
        decision.problems.append(Problem("unknown-customer", f"customer {customer_id} is not in the ERP"))
        return decision
    if order.customer_account and order.customer_account != customer_id:
        decision.problems.append(
            Problem(
                "wrong-account",
                f"the order names customer account {order.customer_account}, but its sender is customer {customer_id}",
                Location(element="customer_account"),
            )
        )
        return decision

    skus = [resolve_sku(ref, customer_id, line.item) for line in order.lines]
    check_facts = [
        {"kind": "line", "id": line.line_no, "item_resolved": sku is not None, "unit_known": line.uom in KNOWN_UNITS}
        for line, sku in zip(order.lines, skus)
    ]
    check_facts.append(
        {"kind": "order", "id": "order", "duplicate_po": erp.customer_po_exists(customer_id, order.po_number, source_document)}
    )
    checks = rules.evaluate("order-checks", check_facts)
    decision.trace += checks
    decision.holds += holds_from(checks, lambda d: _describe_check(d, order))
    if any(sku is None for sku in skus) or any(line.uom not in KNOWN_UNITS for line in order.lines):
        if not decision.holds:  # a ruleset that lets an unresolvable line through still cannot book it
            decision.holds.append(Hold("UNKNOWN_ITEM", "customer-service", "a line names an item or unit we cannot book"))
        return decision

    price_facts, candidates = [], {}
    for line, sku in zip(order.lines, skus):
        item = ref.items[sku]
        per = units_per(item, line.uom)
        contract = contract_price(ref, customer_id, sku, line.quantity * per, order.order_date)
        tier = tier_price(ref, customer, item)
        contract_uom = to_cents(contract * per) if contract is not None else None
        tier_uom = to_cents(tier * per)
        candidates[line.line_no] = {"contract": contract_uom, "tier": tier_uom}
        price_facts.append(
            {
                "kind": "line",
                "id": line.line_no,
                "has_contract": contract is not None,
                "stated_price": line.unit_price is not None,
                "contract_deviation_pct": deviation_pct(line.unit_price, contract_uom) if contract_uom else 0.0,
                "tier_deviation_pct": deviation_pct(line.unit_price, tier_uom),
            }
        )
    pricing = rules.evaluate("pricing", price_facts)
    decision.trace += pricing
    prices: dict[int, Decimal] = {}
    for d in pricing:
        if d.action.name == "set_price":
            prices[d.fact["id"]] = candidates[d.fact["id"]][d.action.args[0]]
    prices.update((line_no, to_cents(price)) for line_no, price in overrides.items())
    ruled = [d for d in pricing if d.fact["id"] not in overrides]  # an overridden line's price is settled
    decision.holds += holds_from(ruled, lambda d: _describe_price(d, order, prices))

    lines = []
    for line, sku in zip(order.lines, skus):
        price = prices.get(line.line_no)
        if price is None:
            decision.holds.append(Hold("PRICE_UNDECIDED", "pricing", f"no pricing rule priced line {line.line_no}"))
            price = candidates[line.line_no]["tier"]
        if line.unit_price is not None and line.unit_price != price:
            decision.changed_lines.add(line.line_no)
        base_qty = line.quantity * units_per(ref.items[sku], line.uom)
        lines.append(SalesOrderLineDraft(line.line_no, sku, line.uom, line.quantity, price, line.unit_price, base_qty))
        decision.needs.append(Need(line.line_no, sku, base_qty))
    total = sum((to_cents(l.unit_price * l.qty_ordered) for l in lines), Decimal("0.00"))

    exposure = customer.open_ar + erp.open_order_total(customer_id) + total
    credit = rules.evaluate(
        "credit",
        [{"kind": "order", "id": "order", "credit_hold": customer.credit_hold, "headroom": float(customer.credit_limit - exposure)}],
    )
    decision.trace += credit
    decision.holds += holds_from(
        credit,
        lambda d: (
            f"customer {customer_id} is on credit hold"
            if d.action.args[0] == "CREDIT_HOLD"
            else f"open AR {customer.open_ar} + open orders + this order {total} = {exposure} exceeds the credit limit {customer.credit_limit}"
        ),
    )
    decision.holds = waive(decision.holds, waived)
    decision.draft = SalesOrderDraft(
        source_document=source_document,
        customer_id=customer_id,
        customer_po=order.po_number,
        order_date=order.order_date,
        status="HOLD" if decision.holds else "BOOKED",
        hold_codes=decision.hold_codes(),
        total=total,
        lines=lines,
    )
    return decision


def _describe_check(d: Decision, order: PurchaseOrder) -> str:
    if d.fact["kind"] == "order":
        return f"customer PO {order.po_number} was already received from this customer"
    line = next(l for l in order.lines if l.line_no == d.fact["id"])
    ids = ", ".join(f"{k}={v}" for k, v in line.item.model_dump(exclude_none=True).items()) or "no item id"
    return f"line {line.line_no}: item ({ids}) is not known for this customer" if not d.fact["item_resolved"] else f"line {line.line_no}: unit {line.uom} is not one we sell in"


def _describe_price(d: Decision, order: PurchaseOrder, prices) -> str:
    line_no = d.fact["id"]
    stated = next(l.unit_price for l in order.lines if l.line_no == line_no)
    ours = prices.get(line_no)
    off = deviation_pct(stated, ours) if ours else 0.0
    return f"line {line_no}: customer price {stated} is {off:.2f}% off our price {ours} (rule {d.rule} of {d.ruleset}@{d.version})"
