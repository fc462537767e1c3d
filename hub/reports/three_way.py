"""AP three-way match: each supplier invoice line beside its PO line (ordered, price) and what was
received, with the variance amounts, the invoice's status and, when held, why.

Quantities are in the item's base unit (an invoiced case counts its case quantity) and prices per
base unit, as the match itself judges them (hub.supply.invoice). Variances are amounts:
price variance = line amount - invoiced base units x PO price; not received = the base units
invoiced beyond what the PO line received, at the PO price. Invoices are taken by invoice date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from itertools import groupby

from hub.erp import ReferenceData
from hub.orders.pricing import to_cents
from hub.reports.erp_books import ApInvoiceLine
from hub.reports.model import Column, Figure, Period, Report, Section, column_sums
from hub.reports.sources import Sources, open_exceptions, volume_by_day
from hub.supply.matching import base_units

ZERO = Decimal("0.00")
PRICE = Decimal("0.0001")

LINES = (
    Column("supplier", "Supplier"), Column("invoice", "Invoice"), Column("invoice_date", "Invoice date", "date"),
    Column("po", "PO"), Column("line", "Line", "int"), Column("po_line", "PO line", "int"), Column("sku", "SKU"),
    Column("ordered", "Ordered (PO)", "int"), Column("received", "Received", "int"), Column("invoiced", "Invoiced", "int", True),
    Column("po_price", "PO price", "money"), Column("invoiced_price", "Invoiced price", "money"),
    Column("amount", "Line amount", "money", True), Column("price_variance", "Price variance", "money", True),
    Column("not_received", "Not received amount", "money", True), Column("status", "Status"), Column("why", "Why held"),
)

SUPPLIERS = (
    Column("supplier", "Supplier"), Column("invoices", "Invoices", "int", True), Column("approved", "Approved", "int", True),
    Column("held", "Held", "int", True), Column("rejected", "Rejected", "int", True),
    Column("invoiced_total", "Invoiced total", "money", True), Column("price_variance", "Price variance", "money", True),
    Column("not_received", "Not received amount", "money", True),
)
STATUS_COLUMN = {"APPROVED": "approved", "HOLD": "held", "REJECTED": "rejected"}


def _line_values(line: ApInvoiceLine, ref: ReferenceData, why: str | None) -> tuple:
    invoiced = base_units(line.qty_invoiced, line.uom, line.sku, ref)
    invoiced_price = (line.amount / invoiced).quantize(PRICE) if invoiced else None
    price_variance = not_received = None
    if line.po_unit_price is not None:
        price_variance = line.amount - to_cents(invoiced * line.po_unit_price)
        not_received = to_cents(max(0, invoiced - (line.qty_received or 0)) * line.po_unit_price)
    return (line.supplier_id, line.invoice_number, line.invoice_date, line.po_number, line.line_no, line.po_line_no, line.sku,
            line.qty_ordered, line.qty_received, invoiced, line.po_unit_price, invoiced_price, line.amount, price_variance,
            not_received, line.status, why)


def _why(sources: Sources, line: ApInvoiceLine) -> str | None:
    """Why a held invoice is held: what the hub's exceptions say, else its hold codes."""
    if line.status != "HOLD":
        return None
    messages = [f"{x.code}: {x.message}" for x in open_exceptions(sources, line.source_document)]
    return "; ".join(messages) or ", ".join(line.hold_codes) or "on hold"


def _lines(sources: Sources, period: Period) -> Iterator[tuple]:
    ref = sources.reference()
    supplier = sources.erp_ref(period, "supplier", "three-way match")
    for _, lines in groupby(sources.books.ap_invoice_lines(period.start, period.end, supplier),
                            key=lambda line: (line.supplier_id, line.invoice_number)):
        why = None
        for n, line in enumerate(lines):
            if n == 0:
                why = _why(sources, line)
            yield _line_values(line, ref, why)


def _supplier_rows(sources: Sources, period: Period) -> list[tuple]:
    suppliers: dict[str, dict] = defaultdict(lambda: {"invoices": 0, "approved": 0, "held": 0, "rejected": 0,
                                                      "invoiced_total": ZERO, "price_variance": ZERO, "not_received": ZERO})
    ref = sources.reference()
    supplier = sources.erp_ref(period, "supplier", "three-way match")
    for (supplier_id, _), lines in groupby(sources.books.ap_invoice_lines(period.start, period.end, supplier),
                                           key=lambda line: (line.supplier_id, line.invoice_number)):
        totals = suppliers[supplier_id]
        for n, line in enumerate(lines):
            if n == 0:
                totals["invoices"] += 1
                totals[STATUS_COLUMN.get(line.status, "held")] += 1
                totals["invoiced_total"] += line.invoice_total
            values = dict(zip((c.key for c in LINES), _line_values(line, ref, None)))
            totals["price_variance"] += values["price_variance"] or ZERO
            totals["not_received"] += values["not_received"] or ZERO
    return [(name, *(values[c.key] for c in SUPPLIERS[1:])) for name, values in sorted(suppliers.items())]


def build(sources: Sources, period: Period) -> Report:
    suppliers = _supplier_rows(sources, period)
    sums = column_sums(SUPPLIERS, suppliers)
    summary = [
        Figure("Supplier invoices", sums["invoices"]),
        Figure("Approved", sums["approved"]),
        Figure("Held", sums["held"], alarm=bool(sums["held"])),
        Figure("Rejected", sums["rejected"]),
        Figure("Invoiced total", sums["invoiced_total"], "money"),
        Figure("Price variance", sums["price_variance"], "money"),
        Figure("Invoiced but not received", sums["not_received"], "money"),
    ]
    return Report("three-way-match", "AP three-way match", period, sources.now, summary, [
        Section("suppliers", "Per supplier", SUPPLIERS, lambda: suppliers,
                "Supplier invoices dated in the period: how many were approved or held, and their variances."),
        Section("lines", "Invoice lines", LINES, lambda: _lines(sources, period),
                "Each invoice line beside its PO line and what was received (base units; prices per base unit)."),
    ], volume_by_day(sources, period))
