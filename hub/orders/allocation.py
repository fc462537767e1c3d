"""Allocation plans, and the allocator the ERP gateway calls with stock read under lock.

The allocation ruleset chooses a strategy from facts about the locked stock; the plans here
carry it out. Quantities are base units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hub.erp import AllocationLine, AllocationOutcome, Availability, Customer, Warehouse
from hub.rules.engine import Decision, RuleEngine


@dataclass(frozen=True, slots=True)
class Need:
    line_no: int
    sku: str
    qty: int  # base units


def _fills_all(warehouse: str, needs: list[Need], available: Availability) -> bool:
    per_sku = Counter()
    for need in needs:
        per_sku[need.sku] += need.qty
    return all(available.get((warehouse, sku), 0) >= qty for sku, qty in per_sku.items())


def _from_one(warehouse: str, needs: list[Need]) -> AllocationOutcome:
    return AllocationOutcome(allocations=[AllocationLine(n.line_no, warehouse, n.qty) for n in needs if n.qty])


def _split(order: list[str], needs: list[Need], available: Availability) -> AllocationOutcome:
    """Each line from the first warehouse in `order` that has stock, then the next ..."""
    left = dict(available)
    outcome = AllocationOutcome()
    for need in needs:
        wanted = need.qty
        for warehouse in order:
            take = min(wanted, max(left.get((warehouse, need.sku), 0), 0))
            if take:
                outcome.allocations.append(AllocationLine(need.line_no, warehouse, take))
                left[(warehouse, need.sku)] -= take
                wanted -= take
        if wanted:
            outcome.backordered[need.line_no] = wanted
    return outcome


UNDECIDED = "ALLOCATION_UNDECIDED"


class OrderAllocator:
    """Decides one order's allocation; called by the ERP gateway inside its transaction."""

    def __init__(self, engine: RuleEngine, customer: Customer, warehouses: list[Warehouse], needs: list[Need]):
        self.engine = engine
        self.customer = customer
        self.priority = [w.code for w in warehouses]
        self.needs = needs
        self.decisions: list[Decision] = []

    def __call__(self, available: Availability) -> AllocationOutcome:
        default = self.customer.default_warehouse
        split_order = [default] + [w for w in self.priority if w != default]
        split = _split(split_order, self.needs, available)
        full = next((w for w in self.priority if _fills_all(w, self.needs, available)), None)
        fact = {
            "kind": "order",
            "id": "order",
            "default_fills_all": _fills_all(default, self.needs, available),
            "allow_split": self.customer.allow_split,
            "allow_backorder": self.customer.allow_backorder,
            "split_short": bool(split.backordered),
            "full_warehouse": full is not None,
        }
        self.decisions = self.engine.evaluate("allocation", [fact])
        outcome = AllocationOutcome(hold_codes=[UNDECIDED])  # a ruleset that decides nothing holds the order
        for decision in self.decisions:
            action = decision.action
            if action.name == "hold":
                return AllocationOutcome(hold_codes=[action.args[0]])
            if action.name == "allocate":
                strategy = action.args[0]
                if strategy == "default":
                    outcome = _from_one(default, self.needs)
                elif strategy == "split":
                    outcome = split
                elif strategy == "first_full" and full:
                    outcome = _from_one(full, self.needs)
                else:  # none: everything waits for stock
                    outcome = AllocationOutcome(backordered={n.line_no: n.qty for n in self.needs if n.qty})
        return outcome
