"""Resolving held documents in the ERP: reconsidering a held record (it is withdrawn and judged
again in one transaction), waivers and price overrides, cancelling what a held document recorded,
rehearsals that leave the ERP untouched, and the 855 that rejects an order.

Each document is a scenario sample ingested by the hub as usual (and held); the test then drives
the gateway and the judges directly, as the admin API's actions do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from adapters.erp.schema import customers, metadata
from adapters.x12.order_response import X12OrderResponseWriter
from hub.canonical import Invoice, PurchaseOrder, ShipNotice
from hub.errors import PermanentError
from hub.fulfilment.ship_confirm import ShipConfirmJudge
from hub.ledger import tables as t
from hub.orders.allocation import OrderAllocator
from hub.orders.booking import rejection
from hub.orders.decide import decide_order
from hub.supply.asn import AsnJudge
from hub.supply.invoice import InvoiceJudge
from tests.conftest import DOCUMENTS, rows, segments
from tests.test_supply_flows import BAYOU, DELTA, variant

CREDIT_LIMIT = "lakeside-850-5010-credit-limit.edi"
OVER_SHIPMENT = "apex-856-over-shipment.edi"


# --- helpers -----------------------------------------------------------------------------------


def ingest(hub, name: str, raw: bytes | None = None):
    """The one document of a sample (or `raw`), as the hub settled it, and its source_document."""
    reports = hub.ingest_bytes(raw if raw is not None else (DOCUMENTS / name).read_bytes(), name, None)
    assert len(reports) == 1, [r.to_dict() for r in reports]
    return reports[0], f"hub:{reports[0].interchange_id}:1"


def canonical(hub, report, model):
    with hub.ledger.engine.connect() as conn:
        found = conn.scalar(select(t.documents.c.canonical).where(t.documents.c.id == report.document_id))
    return model.model_validate(found)


def decide(hub, order: PurchaseOrder, source: str, **resolution):
    """Lakeside's (C200) order decided on the ERP as it stands now, and the allocator for a BOOKED draft."""
    ref = hub.erp.reference_data()
    decision = decide_order(order, "C200", source, ref, hub.erp, hub.rules, **resolution)
    allocator = None
    if decision.draft.status == "BOOKED":
        allocator = OrderAllocator(hub.rules, ref.customers["C200"], ref.warehouses, decision.needs)
    return decision, allocator


def held_order(hub):
    """The credit-limit sample, held: (its PurchaseOrder, source_document, the held order's id)."""
    report, source = ingest(hub, CREDIT_LIMIT)
    assert (report.state, report.holds) == ("held", ["CREDIT_LIMIT"])
    return canonical(hub, report, PurchaseOrder), source, report.erp_ref


def raise_credit_limit(hub, limit: str = "50000.00") -> None:
    with hub.erp_engine.begin() as conn:
        conn.execute(customers.update().where(customers.c.customer_id == "C200").values(credit_limit=Decimal(limit)))


def money(value) -> str:
    """A money column as 2-place text (SQLite hands raw SQL results back as floats)."""
    return f"{Decimal(str(value)):.2f}"


def orders_of(erp, source: str) -> list[dict]:
    found = rows(erp, "SELECT order_id, status, hold_codes, total FROM sales_orders WHERE source_document = :s", s=source)
    return [{**r, "total": money(r["total"])} for r in found]


def allocated(erp, sku: str = "HS-2002") -> dict[str, int]:
    return {r["warehouse"]: r["allocated"] for r in rows(erp, "SELECT warehouse, allocated FROM inventory WHERE sku = :s", s=sku)}


def next_order_number(erp) -> int:
    return rows(erp, "SELECT next_value FROM erp_sequences WHERE name = 'sales_order'")[0]["next_value"]


def po_lines(erp, po: str, column: str) -> dict[int, int]:
    found = rows(erp, f"SELECT line_no, {column} FROM purchase_order_lines WHERE po_number = :p ORDER BY line_no", p=po)
    return {r["line_no"]: r[column] for r in found}


def dump(hub) -> dict[str, list[tuple]]:
    """Every row of every ERP table, in key order."""
    with hub.erp_engine.connect() as conn:
        return {table.name: [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in metadata.sorted_tables}


def post_asn(hub, gateway, notice: ShipNotice, source: str, waived: frozenset[str] = frozenset(), reconsider: bool = False):
    """Apex's notice judged (with `waived`) and posted through `gateway`: (the judge, the posting)."""
    judge = AsnJudge(notice, "V10", gateway.reference_data(), hub.rules, waived=waived)
    return judge, gateway.post_inbound_asn(source, "V10", notice.shipment_id, judge.po_numbers, judge, reconsider=reconsider)


# --- sales orders ------------------------------------------------------------------------------


def test_held_credit_limit_order_is_booked_under_its_id_once_the_limit_is_raised(hub, erp):
    order, source, order_id = held_order(hub)
    before, number_before = allocated(erp), next_order_number(erp)
    raise_credit_limit(hub)

    decision, allocator = decide(hub, order, source)
    assert (decision.draft.status, decision.hold_codes()) == ("BOOKED", [])
    attempts = []
    result = hub.erp.post_sales_order(decision.draft, allocator, attempts.append, reconsider=True)

    assert (result.order_id, result.created, result.status, result.hold_codes) == (order_id, True, "BOOKED", [])
    assert [a.outcome for a in attempts] == ["posted"]
    assert orders_of(erp, source) == [{"order_id": order_id, "status": "BOOKED", "hold_codes": "", "total": "1752.24"}]
    placed = rows(erp, "SELECT warehouse, qty FROM allocations WHERE order_id = :o", o=order_id)
    assert sum(a["qty"] for a in placed) == 12
    after = allocated(erp)
    assert {w: after[w] - before[w] for w in after if after[w] != before[w]} == {a["warehouse"]: a["qty"] for a in placed}
    assert rows(erp, "SELECT qty_allocated FROM sales_order_lines WHERE order_id = :o", o=order_id) == [{"qty_allocated": 12}]
    assert next_order_number(erp) == number_before  # no new number taken

    again = hub.erp.post_sales_order(decision.draft, allocator, reconsider=True)  # booked: replayed, not redone
    assert (again.order_id, again.created, again.status) == (order_id, False, "BOOKED")
    assert allocated(erp) == after and len(orders_of(erp, source)) == 1


def test_reconsidered_while_still_over_the_limit_it_stays_on_hold_under_its_id(hub, erp):
    order, source, order_id = held_order(hub)
    decision, allocator = decide(hub, order, source)
    assert (decision.draft.status, decision.hold_codes()) == ("HOLD", ["CREDIT_LIMIT"])

    result = hub.erp.post_sales_order(decision.draft, allocator, reconsider=True)
    assert (result.order_id, result.created, result.status, result.hold_codes) == (order_id, True, "HOLD", ["CREDIT_LIMIT"])
    assert orders_of(erp, source) == [{"order_id": order_id, "status": "HOLD", "hold_codes": "CREDIT_LIMIT", "total": "1752.24"}]
    assert rows(erp, "SELECT count(*) AS n FROM sales_order_lines WHERE order_id = :o", o=order_id) == [{"n": 1}]

    replayed = hub.erp.post_sales_order(decision.draft, allocator)  # without reconsider: as it was
    assert (replayed.order_id, replayed.created, replayed.status) == (order_id, False, "HOLD")


def test_waived_credit_limit_and_overridden_price_book_the_order(hub, erp):
    order, source, order_id = held_order(hub)
    decision, allocator = decide(hub, order, source, waived=frozenset({"CREDIT_LIMIT"}),
                                 price_overrides={1: Decimal("140.00")})
    assert (decision.draft.status, decision.hold_codes()) == ("BOOKED", [])
    assert decision.draft.lines[0].unit_price == Decimal("140.00") and decision.draft.total == Decimal("1680.00")
    assert decision.changed_lines == {1}  # the customer stated 146.02

    result = hub.erp.post_sales_order(decision.draft, allocator, reconsider=True)
    assert (result.order_id, result.status) == (order_id, "BOOKED")
    line = rows(erp, "SELECT unit_price, customer_unit_price FROM sales_order_lines WHERE order_id = :o", o=order_id)[0]
    assert (money(line["unit_price"]), money(line["customer_unit_price"])) == ("140.00", "146.02")


def test_a_price_override_settles_a_price_mismatch(hub, erp):
    report, source = ingest(hub, "summit-850-price-mismatch.edi")
    assert report.holds == ["PRICE_MISMATCH"]
    order = canonical(hub, report, PurchaseOrder)
    ref = hub.erp.reference_data()
    held = decide_order(order, "C100", source, ref, hub.erp, hub.rules)
    assert held.hold_codes() == ["PRICE_MISMATCH"]
    settled = decide_order(order, "C100", source, ref, hub.erp, hub.rules, price_overrides={1: Decimal("140")})
    assert (settled.draft.status, settled.draft.lines[0].unit_price) == ("BOOKED", Decimal("140.00"))
    assert not settled.changed_lines  # booked at the customer's own price
    waived = decide_order(order, "C100", source, ref, hub.erp, hub.rules, waived=frozenset({"PRICE_MISMATCH"}))
    assert (waived.draft.status, waived.draft.lines[0].unit_price) == ("BOOKED", Decimal("141.55"))  # at our price


# --- supplier documents ------------------------------------------------------------------------


def test_waived_over_shipment_accepts_the_asn_and_raises_qty_shipped(hub, erp):
    report, source = ingest(hub, OVER_SHIPMENT)
    assert (report.state, report.holds) == ("held", ["OVER_SHIPMENT"])
    notice = canonical(hub, report, ShipNotice)

    judge, still = post_asn(hub, hub.erp, notice, source, reconsider=True)  # not waived: held again, nothing raised
    assert (still.created, still.statuses, still.hold_codes) == (True, {"4500012": "HOLD"}, ["OVER_SHIPMENT"])
    assert po_lines(erp, "4500012", "qty_shipped") == {1: 0, 2: 0, 3: 0}

    judge, posted = post_asn(hub, hub.erp, notice, source, reconsider=True, waived=frozenset({"OVER_SHIPMENT"}))
    assert (posted.created, posted.statuses, posted.hold_codes, judge.holds) == (True, {"4500012": "ACCEPTED"}, [], [])
    assert po_lines(erp, "4500012", "qty_shipped") == {1: 200, 2: 100, 3: 320}
    assert rows(erp, "SELECT asn_number, status, hold_codes, source_document FROM inbound_asns") == [
        {"asn_number": "ASN-77001", "status": "ACCEPTED", "hold_codes": "", "source_document": source}]
    assert rows(erp, "SELECT count(*) AS n FROM inbound_asn_lines") == [{"n": 3}]

    _, replayed = post_asn(hub, hub.erp, notice, source, reconsider=True, waived=frozenset({"OVER_SHIPMENT"}))
    assert (replayed.created, replayed.statuses) == (False, {"4500012": "ACCEPTED"})
    assert po_lines(erp, "4500012", "qty_shipped") == {1: 200, 2: 100, 3: 320}


def test_hard_stops_cannot_be_waived(hub, erp):
    report, source = ingest(hub, OVER_SHIPMENT)
    notice = canonical(hub, report, ShipNotice)
    elsewhere = notice.model_copy(update={"orders": [notice.orders[0].model_copy(update={"po_number": "4599999"})]})
    judge, posted = post_asn(hub, hub.erp, elsewhere, "test:unknown-po", waived=frozenset({"UNKNOWN_PO"}))
    assert ([h.code for h in judge.holds], posted.statuses) == (["UNKNOWN_PO"], {})


def test_waived_price_variance_approves_the_invoice_and_raises_qty_invoiced(hub, erp):
    dearer = variant(DELTA, 41, ("IT1*1*24*EA*78.00**VP*DT-CD18", "IT1*1*24*EA*79.60**VP*DT-CD18"), ("TDS*364200", "TDS*368040"))
    report, source = ingest(hub, "inv.edi", dearer)
    assert (report.state, report.holds) == ("held", ["PRICE_VARIANCE"])
    invoice = canonical(hub, report, Invoice)
    judge = InvoiceJudge(invoice, "V20", hub.erp.reference_data(), hub.rules, waived=frozenset({"PRICE_VARIANCE"}))
    posted = hub.erp.post_supplier_invoice(source, "V20", invoice.invoice_number, invoice.po_number, judge, reconsider=True)
    assert (posted.created, posted.statuses, posted.hold_codes) == (True, {"4500013": "APPROVED"}, [])
    assert po_lines(erp, "4500013", "qty_invoiced") == {1: 24, 2: 40}
    [invoice_row] = rows(erp, "SELECT status, hold_codes, total FROM ap_invoices")
    assert (invoice_row["status"], invoice_row["hold_codes"], money(invoice_row["total"])) == ("APPROVED", "", "3680.40")
    assert rows(erp, "SELECT count(*) AS n FROM ap_invoice_lines") == [{"n": 2}]


def test_waived_po_mismatch_ships_the_confirmation_but_a_lone_item_off_the_order_stays_held(hub, erp):
    def reconsider(raw: bytes, name: str, code: str):
        report, source = ingest(hub, name, raw)
        assert (report.state, report.holds) == ("held", [code])
        notice = canonical(hub, report, ShipNotice)
        judge = ShipConfirmJudge(notice, "ATL", hub.erp.reference_data(), hub.rules, waived=frozenset({code}))
        return judge, hub.erp.post_ship_confirmation(source, "ATL", notice.shipment_id, judge.order_ids, judge, reconsider=True)

    judge, posted = reconsider(variant(BAYOU, 51, ("LIN*1*SK*HS-2003", "LIN*1*SK*HS-2001")), "item.edi", "ITEM_NOT_ON_ORDER")
    assert (posted.shipments, [h.code for h in judge.holds]) == ([], ["ITEM_NOT_ON_ORDER"])  # nothing else to ship

    judge, posted = reconsider(variant(BAYOU, 52, ("PRF*SUM-PO-0950", "PRF*SUM-PO-0951")), "po.edi", "PO_MISMATCH")
    assert [(s.order_id, s.order_status) for s in posted.shipments] == [("SO-900001", "INVOICED")] and judge.holds == []


# --- cancelling --------------------------------------------------------------------------------


def test_cancel_held_order_keeps_its_codes_and_a_booked_one_cannot_be_cancelled(hub, erp):
    _, source, order_id = held_order(hub)
    assert hub.erp.cancel_held(source) == [order_id]
    assert orders_of(erp, source) == [{"order_id": order_id, "status": "CANCELLED", "hold_codes": "CREDIT_LIMIT", "total": "1752.24"}]
    with pytest.raises(PermanentError, match=f"cannot cancel {order_id}: it is CANCELLED, not on hold"):
        hub.erp.cancel_held(source)

    booked, booked_source = ingest(hub, "lakeside-850-5010-booked.edi")
    assert booked.state == "answered"
    with pytest.raises(PermanentError, match=f"cannot cancel {booked.erp_ref}: it is BOOKED, not on hold"):
        hub.erp.cancel_held(booked_source)
    assert orders_of(erp, booked_source)[0]["status"] == "BOOKED"
    assert hub.erp.cancel_held("hub:999:1") == []  # recorded nothing


def test_cancel_held_asn_rejects_it_and_raises_nothing(hub, erp):
    _, source = ingest(hub, OVER_SHIPMENT)
    assert hub.erp.cancel_held(source) == ["ASN-77001"]
    assert rows(erp, "SELECT status, hold_codes FROM inbound_asns") == [{"status": "REJECTED", "hold_codes": "OVER_SHIPMENT"}]
    assert po_lines(erp, "4500012", "qty_shipped") == {1: 0, 2: 0, 3: 0}


# --- rehearsals --------------------------------------------------------------------------------


def test_rehearsal_returns_what_a_posting_would_and_changes_nothing(hub, erp):
    order, source, order_id = held_order(hub)
    raise_credit_limit(hub)
    asn_report, asn_source = ingest(hub, OVER_SHIPMENT)
    booked, booked_source = ingest(hub, "lakeside-850-5010-booked.edi")
    before = dump(hub)
    rehearsal = hub.erp.rehearsal()

    decision, allocator = decide(hub, order, source)
    attempts = []
    result = rehearsal.post_sales_order(decision.draft, allocator, attempts.append)  # reconsiders without being told
    assert (result.order_id, result.created, result.status) == (order_id, True, "BOOKED")
    assert sum(a.qty for a in result.allocation.allocations) == 12
    assert [a.outcome for a in attempts] == ["posted"]

    _, accepted = post_asn(hub, rehearsal, canonical(hub, asn_report, ShipNotice), asn_source, waived=frozenset({"OVER_SHIPMENT"}))
    assert accepted.statuses == {"4500012": "ACCEPTED"}
    assert rehearsal.cancel_held(source) == [order_id]

    booked_decision, booked_allocator = decide(hub, canonical(hub, booked, PurchaseOrder), booked_source)
    replayed = rehearsal.post_sales_order(booked_decision.draft, booked_allocator)
    assert (replayed.order_id, replayed.created, replayed.status) == (booked.erp_ref, False, "BOOKED")

    assert dump(hub) == before
    assert rehearsal.reference_data().customers["C200"].credit_limit == Decimal("50000.00")  # reads are real
    real = hub.erp.post_sales_order(decision.draft, allocator, reconsider=True)  # and the real thing still works
    assert (real.order_id, real.status) == (order_id, "BOOKED")


# --- the 855 that rejects an order -------------------------------------------------------------


class _Numbers:
    def next(self, partner_id: str, kind: str) -> int:
        return 42


def test_rejection_855(hub, erp):
    order, _, order_id = held_order(hub)
    booking = rejection(order, order_id)
    assert booking.rejected and booking.version == "005010"
    partners = hub.ledger.partner_directory()
    message = X12OrderResponseWriter().write(booking, partners.get("P-LAKESIDE"), partners.self_, _Numbers())

    assert segments(message.content)["GS"][0][7] == "005010"
    body = message.content.decode("ascii")
    start = body.index("ST*855*")
    lines = [s.strip() for s in body[start:body.index("SE*", start)].split("~") if s.strip()]
    assert lines[1].startswith(f"BAK*00*RJ*LR-55002*20261116****{order_id}*")
    assert lines[2:] == ["PO1*1*12*EA*146.02**VP*HS-2002", "ACK*IR*12*EA", "CTT*1"]
