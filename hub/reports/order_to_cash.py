"""Order to cash: sales orders dated in the period from booking to invoice, and what is stuck as
the report is made: shipments no invoice bills, invoices that bill no shipment, and orders on hold
by hold code with their age (since the hub held them; since the order date for an order the hub
did not receive). The open lists cover everything dated up to the period's last day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

from hub.reports.erp_books import OrderProgress
from hub.reports.model import Column, Figure, Period, Report, Section
from hub.reports.sources import Sources, open_exceptions, volume_by_day
from hub.timespan import utc

ZERO = Decimal("0.00")
STATUSES = ("BOOKED", "SHIPPED", "INVOICED", "HOLD", "CANCELLED")

BY_STATUS = (Column("status", "Status"), Column("orders", "Orders", "int", True), Column("amount", "Amount", "money", True))

ORDERS = (
    Column("order", "Order"), Column("customer", "Customer"), Column("customer_po", "Customer PO"),
    Column("order_date", "Order date", "date"), Column("status", "Status"), Column("holds", "Hold codes"),
    Column("total", "Total", "money", True), Column("shipped_on", "Shipped on", "date"), Column("shipments", "Shipments"),
    Column("invoices", "Invoices"), Column("invoiced", "Invoiced amount", "money", True),
)

UNBILLED = (
    Column("shipment", "Shipment"), Column("order", "Order"), Column("customer", "Customer"), Column("warehouse", "Warehouse"),
    Column("ship_date", "Ship date", "date"), Column("days", "Days since shipped", "int"), Column("units", "Units", "int", True),
)

UNSHIPPED = (
    Column("invoice", "Invoice"), Column("order", "Order"), Column("customer", "Customer"),
    Column("invoice_date", "Invoice date", "date"), Column("total", "Total", "money", True),
)

HELD = (
    Column("code", "Hold code"), Column("order", "Order"), Column("customer", "Customer"), Column("customer_po", "Customer PO"),
    Column("order_date", "Order date", "date"), Column("held_since", "Held since", "datetime"),
    Column("age_days", "Age (days)", "measure"), Column("total", "Total", "money", True),
)

HOLD_CODES = (
    Column("code", "Hold code"), Column("orders", "Orders", "int", True), Column("amount", "Amount", "money", True),
    Column("oldest_days", "Oldest (days)", "measure"),
)


def _orders(sources: Sources, period: Period) -> Iterator[tuple]:
    customer = sources.erp_ref(period, "customer", "order-to-cash")
    for o in sources.books.sales_orders(period.start, period.end, customer):
        yield (o.order_id, o.customer_id, o.customer_po, o.order_date, o.status, ", ".join(o.hold_codes), o.total,
               o.first_ship_date, ", ".join(o.shipments), ", ".join(o.invoices), o.invoiced_total)


def _by_status(sources: Sources, period: Period) -> list[tuple]:
    counts, amounts = Counter(), defaultdict(lambda: ZERO)
    for row in _orders(sources, period):
        counts[row[4]] += 1
        amounts[row[4]] += row[6]
    return [(status, counts[status], amounts[status]) for status in (*STATUSES, *sorted(counts.keys() - set(STATUSES)))]


def _held(sources: Sources, period: Period) -> Iterator[tuple]:
    """One row per held order and hold code, with how long it has been held."""
    customer = sources.erp_ref(period, "customer", "order-to-cash")
    for order in sources.books.held_orders(period.end, customer):
        since = {x.code: utc(x.created_at) for x in reversed(open_exceptions(sources, order.source_document))}
        for code in order.hold_codes or ("",):
            held_since = since.get(code)
            yield (code, order.order_id, order.customer_id, order.customer_po, order.order_date, held_since,
                   _age_days(sources, order, held_since), order.total)


def _age_days(sources: Sources, order: OrderProgress, held_since) -> Decimal:
    start = held_since or utc(order.order_date)
    return Decimal(max(0.0, (sources.now - start).total_seconds() / 86400)).quantize(Decimal("0.1"))


def _hold_codes(sources: Sources, period: Period) -> tuple[list[tuple], int, Decimal]:
    """Held orders per hold code; and the held orders and their amount, each order once (an order
    held for two codes is in two rows)."""
    codes: dict[str, dict] = {}
    orders, amount, last = 0, ZERO, None
    for code, order_id, *_, age, total in _held(sources, period):
        found = codes.setdefault(code, {"orders": 0, "amount": ZERO, "oldest": Decimal(0)})
        found["orders"] += 1
        found["amount"] += total
        found["oldest"] = max(found["oldest"], age)
        if order_id != last:  # an order's rows come together
            orders, amount, last = orders + 1, amount + total, order_id
    return [(code, v["orders"], v["amount"], v["oldest"]) for code, v in sorted(codes.items())], orders, amount


def _unbilled(sources: Sources, period: Period) -> Iterator[tuple]:
    customer = sources.erp_ref(period, "customer", "order-to-cash")
    for s in sources.books.shipped_not_invoiced(period.end, customer):
        yield (s.shipment_id, s.order_id, s.customer_id, s.warehouse, s.ship_date, (sources.now.date() - s.ship_date).days, s.units)


def _unshipped(sources: Sources, period: Period) -> Iterator[tuple]:
    customer = sources.erp_ref(period, "customer", "order-to-cash")
    for i in sources.books.invoiced_not_shipped(period.end, customer):
        yield (i.invoice_number, i.order_id, i.customer_id, i.invoice_date, i.total)


def build(sources: Sources, period: Period) -> Report:
    statuses = {row[0]: row for row in _by_status(sources, period)}
    hold_codes, held_orders, held_amount = _hold_codes(sources, period)
    unbilled = sum(1 for _ in _unbilled(sources, period))
    unshipped = sum(1 for _ in _unshipped(sources, period))
    summary = [
        *(Figure(f"Orders {status.lower()}", statuses[status][1]) for status in ("BOOKED", "SHIPPED", "INVOICED")),
        Figure("Booked amount (still open)", statuses["BOOKED"][2], "money"),
        Figure("Invoiced amount", statuses["INVOICED"][2], "money"),
        Figure("Shipped, not invoiced", unbilled, alarm=bool(unbilled)),
        Figure("Invoiced, not shipped", unshipped, alarm=bool(unshipped)),
        Figure("Orders on hold", held_orders, alarm=bool(held_orders)),
        Figure("Amount on hold", held_amount, "money"),
    ]
    return Report("order-to-cash", "Order to cash", period, sources.now, summary, [
        Section("statuses", "Orders by status", BY_STATUS, lambda: list(statuses.values()),
                "Sales orders dated in the period, by where they stand now."),
        Section("orders", "Orders", ORDERS, lambda: _orders(sources, period),
                "Each sales order dated in the period: booked, shipped, invoiced."),
        Section("unbilled", "Shipped, not invoiced", UNBILLED, lambda: _unbilled(sources, period),
                "Shipments made up to the period's end that no AR invoice bills.", "Every shipment is invoiced."),
        Section("unshipped", "Invoiced, not shipped", UNSHIPPED, lambda: _unshipped(sources, period),
                "AR invoices dated up to the period's end that bill no shipment.", "Every invoice bills a shipment."),
        Section("held", "Held orders", HELD, lambda: _held(sources, period),
                "Orders on hold now, one row per hold code, with how long they have been held.", "No order is on hold."),
        Section("hold_codes", "Held orders by hold code", HOLD_CODES, lambda: hold_codes,
                "Orders on hold now, by hold code.", "No order is on hold."),
    ], volume_by_day(sources, period))
