"""Judge a supplier's ship notice against Harbor's POs (scenario policy "Supplier ship notice").

The ERP gateway calls the judge inside its posting transaction with the POs locked as they stand,
so "cumulative across ASNs" counts every ASN accepted before this one, whatever runs beside it.
A notice with any hold is recorded as HOLD against each PO it can name (and changes no quantity);
an order level whose PO is unknown or another supplier's cannot be recorded at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from hub.canonical import ShipNotice, ShipNoticeItem
from hub.erp import AsnDraft, AsnLineDraft, PurchaseOrderLine, PurchaseOrderState, ReferenceData
from hub.holds import Hold, codes, holds_from, waive
from hub.rules.engine import Decision, RuleEngine
from hub.supply.matching import base_units, describe_ids, item_sku, match_po_line, percent_over

RULESET = "ship-notice-checks"
# An order level held for these cannot be recorded at all (no PO of the sender to record it
# against, or recorded already), so waiving them would only drop it silently: they stay.
HARD_STOPS = frozenset({"UNKNOWN_PO", "WRONG_SUPPLIER", "DUPLICATE_ASN"})


@dataclass(frozen=True, slots=True)
class _OrderLevel:
    po_number: str
    po: PurchaseOrderState | None


@dataclass(frozen=True, slots=True)
class _Item:
    po: PurchaseOrderState
    line: PurchaseOrderLine | None
    item: ShipNoticeItem
    qty: int  # base units on this notice
    cumulative: int  # shipped on the PO line with this notice (line matched)


class AsnJudge:
    """The AsnDecider for one notice. Holds an operator `waived` (e.g. OVER_SHIPMENT) do not hold
    it: a notice whose every hold is waived is ACCEPTED. HARD_STOPS cannot be waived."""

    def __init__(self, notice: ShipNotice, supplier_id: str, ref: ReferenceData, rules: RuleEngine, *,
                 waived: frozenset[str] = frozenset()):
        self.notice, self.supplier_id, self.ref, self.rules = notice, supplier_id, ref, rules
        self.waived = waived - HARD_STOPS
        self.po_numbers = list(dict.fromkeys(order.po_number for order in notice.orders))
        self.holds: list[Hold] = []
        self.trace: list[Decision] = []

    def __call__(self, pos: dict[str, PurchaseOrderState | None], recorded: set[str]) -> list[AsnDraft]:
        facts: list[dict] = []
        about: list[_OrderLevel | _Item] = []  # what each fact is about, for the hold's words
        lines: dict[str, list[AsnLineDraft]] = defaultdict(list)
        shipped: dict[tuple[str, int], int] = {}  # (po, line) -> shipped so far, this notice included
        for order in self.notice.orders:
            po = pos.get(order.po_number)
            ours = po is not None and po.supplier_id == self.supplier_id
            facts.append({"kind": "order", "id": len(facts), "po_known": po is not None, "po_of_sender": ours,
                          "asn_recorded": order.po_number in recorded})
            about.append(_OrderLevel(order.po_number, po))
            if not ours or order.po_number in recorded:
                continue
            for item in order.items:
                line = match_po_line(po, item.item, self.ref)
                sku = line.sku if line else item_sku(item.item, self.ref)
                qty = base_units(item.quantity, item.uom, sku, self.ref)
                drafts = lines[po.po_number]
                drafts.append(AsnLineDraft(len(drafts) + 1, line.line_no if line else None, sku, item.item.vendor_part, qty))
                cumulative, over = 0, 0.0
                if line is not None:
                    key = (po.po_number, line.line_no)
                    cumulative = shipped[key] = shipped.get(key, line.qty_shipped) + qty
                    over = percent_over(Decimal(cumulative), Decimal(line.qty_ordered))
                facts.append({"kind": "line", "id": len(facts), "on_po": line is not None, "over_pct": over})
                about.append(_Item(po, line, item, qty, cumulative))
        self.trace = self.rules.evaluate(RULESET, facts)
        self.holds = waive(holds_from(self.trace, lambda d: self._words(d, about[d.fact["id"]])), self.waived)
        status, hold_codes = ("HOLD", codes(self.holds)) if self.holds else ("ACCEPTED", [])
        n = self.notice
        return [
            AsnDraft(self.supplier_id, n.shipment_id, number, n.ship_date, n.carrier, n.tracking, status, hold_codes, lines[number])
            for number in self.po_numbers
            if number in lines and number not in recorded
        ]

    def _words(self, d: Decision, about: _OrderLevel | _Item) -> str:
        asn, code, rule = self.notice.shipment_id, d.action.args[0], f"rule {d.rule} of {d.ruleset}@{d.version}"
        if isinstance(about, _OrderLevel):
            if code == "UNKNOWN_PO":
                return f"ASN {asn} ships against PO {about.po_number}, which is not one of our purchase orders"
            if code == "WRONG_SUPPLIER":
                return f"ASN {asn} ships against PO {about.po_number}, which is supplier {about.po.supplier_id}'s, not {self.supplier_id}'s"
            if code == "DUPLICATE_ASN":
                return f"ASN {asn} was already recorded against PO {about.po_number}"
            return f"ASN {asn}, PO {about.po_number}: {code} ({rule})"
        if about.line is None:
            return f"ASN {asn}: item ({describe_ids(about.item.item)}) is not on PO {about.po.po_number}"
        line = about.line
        return (
            f"ASN {asn}, PO {about.po.po_number} line {line.line_no} ({line.sku}): {about.cumulative - about.qty} shipped before"
            f" + {about.qty} on this ASN = {about.cumulative} against {line.qty_ordered} ordered, {d.fact['over_pct']:g}% over ({rule})"
        )
