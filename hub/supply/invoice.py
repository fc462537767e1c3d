"""Three-way match of a supplier invoice (scenario policy "Supplier invoice").

Line by line against the PO (price) and what was received (quantity, cumulative over the
supplier's approved invoices); the invoice as a whole against its own TDS: lines + charges -
allowances + taxes. The ERP gateway calls the judge under lock on the PO's lines, so two invoices
for the same goods can never both be approved. An invoice with any hold is recorded as HOLD and
raises nothing; one that cannot be attached to a PO of its sender (or repeats an invoice number)
is not recorded at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hub.canonical import Charge, Invoice, InvoiceLine
from hub.erp import ApChargeDraft, ApInvoiceDraft, ApInvoiceLineDraft, PurchaseOrderLine, PurchaseOrderState, ReferenceData
from hub.holds import Hold, codes, holds_from, waive
from hub.orders.pricing import to_cents
from hub.rules.engine import Decision, RuleEngine
from hub.supply.matching import base_units, describe_ids, item_sku, match_po_line, percent_over

RULESET = "invoice-checks"
# An invoice held for these cannot be recorded at all (no PO of the sender, or the number was
# received before), so they cannot be waived.
HARD_STOPS = frozenset({"UNKNOWN_PO", "WRONG_SUPPLIER", "DUPLICATE_INVOICE"})
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class _Line:
    line: InvoiceLine
    po_line: PurchaseOrderLine | None
    unit_cost: Decimal  # invoiced price per base unit
    invoiced: int  # base units invoiced on the PO line with this invoice


@dataclass(frozen=True, slots=True)
class _Totals:
    lines: Decimal
    charges: Decimal
    allowances: Decimal
    taxes: Decimal
    stated: Decimal

    @property
    def expected(self) -> Decimal:
        return self.lines + self.charges - self.allowances + self.taxes


class InvoiceJudge:
    """The ApInvoiceDecider for one invoice. Holds an operator `waived` do not hold it: an invoice
    whose every hold is waived is APPROVED. HARD_STOPS cannot be waived."""

    def __init__(self, invoice: Invoice, supplier_id: str, ref: ReferenceData, rules: RuleEngine, *,
                 waived: frozenset[str] = frozenset()):
        self.invoice, self.supplier_id, self.ref, self.rules = invoice, supplier_id, ref, rules
        self.waived = waived - HARD_STOPS
        self.holds: list[Hold] = []
        self.trace: list[Decision] = []
        self.totals: _Totals | None = None

    def __call__(self, po: PurchaseOrderState | None, duplicate: bool) -> ApInvoiceDraft | None:
        inv = self.invoice
        ours = po is not None and po.supplier_id == self.supplier_id
        drafts, about = [], []
        invoiced: dict[int, int] = {}  # PO line -> base units invoiced, this invoice included
        for line in inv.lines:
            po_line = match_po_line(po, line.item, self.ref) if ours else None
            sku = po_line.sku if po_line else item_sku(line.item, self.ref)
            qty = base_units(line.quantity, line.uom, sku, self.ref)
            if po_line is not None:
                invoiced[po_line.line_no] = invoiced.get(po_line.line_no, po_line.qty_invoiced) + qty
            unit_cost = line.unit_price * line.quantity / qty if qty else line.unit_price
            about.append(_Line(line, po_line, unit_cost, invoiced.get(po_line.line_no, 0) if po_line else 0))
            drafts.append(ApInvoiceLineDraft(line.line_no, po_line.line_no if po_line else None, sku, line.item.vendor_part,
                                             line.uom, line.quantity, qty, line.unit_price, to_cents(line.quantity * line.unit_price)))
        self.totals = totals = _totals(inv, sum((d.amount for d in drafts), ZERO))
        facts = [{"kind": "invoice", "id": 0, "po_known": po is not None, "po_of_sender": ours, "duplicate": duplicate,
                  "total_difference": int(abs(totals.expected - totals.stated) * 100)}]
        if ours and not duplicate:
            facts += [
                {"kind": "line", "id": n, "on_po": a.po_line is not None,
                 "price_over_pct": percent_over(a.unit_cost, a.po_line.unit_price) if a.po_line else 0.0,
                 "qty_over_received": a.invoiced - a.po_line.qty_received if a.po_line else 0}
                for n, a in enumerate(about, 1)
            ]
        self.trace = self.rules.evaluate(RULESET, facts)
        self.holds = waive(holds_from(self.trace, lambda d: self._words(d, about[d.fact["id"] - 1] if d.fact["id"] else None, po)),
                           self.waived)
        if not ours or duplicate:
            return None
        terms = inv.terms
        return ApInvoiceDraft(
            self.supplier_id, inv.invoice_number, po.po_number, inv.invoice_date,
            "HOLD" if self.holds else "APPROVED", codes(self.holds),
            totals.lines, totals.charges, totals.allowances, totals.taxes, totals.stated,
            (terms.words() or None) if terms else None,
            terms.discount_pct if terms else None, terms.discount_days if terms else None, terms.net_days if terms else None,
            drafts, [ApChargeDraft(c.kind, c.code, c.description, abs(c.amount)) for c in inv.charges + inv.taxes],
        )

    def _words(self, d: Decision, line: _Line | None, po: PurchaseOrderState | None) -> str:
        number, code, rule = self.invoice.invoice_number, d.action.args[0], f"rule {d.rule} of {d.ruleset}@{d.version}"
        po_number = self.invoice.po_number
        if line is None:
            t = self.totals
            return {
                "UNKNOWN_PO": f"invoice {number} names PO {po_number}, which is not one of our purchase orders",
                "WRONG_SUPPLIER": f"invoice {number} names PO {po_number}, which is supplier {po.supplier_id if po else '?'}'s, not {self.supplier_id}'s",
                "DUPLICATE_INVOICE": f"invoice {number} was already received from supplier {self.supplier_id}",
                "TOTAL_MISMATCH": f"invoice {number}: lines {t.lines} + charges {t.charges} - allowances {t.allowances} + taxes {t.taxes}"
                                  f" = {t.expected}, but the invoice total (TDS) is {t.stated}",
            }.get(code, f"invoice {number}: {code} ({rule})")
        n = line.line.line_no
        if line.po_line is None:
            return f"invoice {number} line {n}: item ({describe_ids(line.line.item)}) is not on PO {po_number}"
        p = line.po_line
        if code == "PRICE_VARIANCE":
            return (f"invoice {number} line {n} ({p.sku}): invoiced at {line.unit_cost.normalize():f} per EA, PO {po_number} line {p.line_no}"
                    f" says {p.unit_price}: {d.fact['price_over_pct']:g}% above ({rule})")
        if code == "QTY_NOT_RECEIVED":
            return (f"invoice {number} line {n} ({p.sku}): {line.invoiced} EA invoiced in all on PO {po_number} line {p.line_no},"
                    f" only {p.qty_received} received ({rule})")
        return f"invoice {number} line {n}: {code} ({rule})"


def _totals(invoice: Invoice, lines_total: Decimal) -> _Totals:
    def total(charges: list[Charge], kind: str) -> Decimal:
        return sum((abs(c.amount) for c in charges if c.kind == kind), ZERO)

    charges, allowances, taxes = total(invoice.charges, "charge"), total(invoice.charges, "allowance"), total(invoice.taxes, "tax")
    expected = lines_total + charges - allowances + taxes
    stated = invoice.stated_total if invoice.stated_total is not None else expected
    return _Totals(lines_total, charges, allowances, taxes, stated)
