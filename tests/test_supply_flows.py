"""Supplier ASNs, supplier invoices and 3PL ship confirmations beyond the scenario samples:
cumulative over-shipment, three-way match holds, partial then final shipments, duplicates, bad
input, and a crash in the middle of a shipment. Each document is a scenario sample edited."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from hub.failpoints import EXIT_CODE
from tests.conftest import DOCUMENTS, hub_command, rows, segments


APEX = (DOCUMENTS / "apex-856-over-shipment.edi").read_text("latin-1")
DELTA = (DOCUMENTS / "delta-810-5010-matched.edi").read_text("latin-1")
BAYOU = (DOCUMENTS / "bayou-856-ship-confirm.edi").read_text("latin-1")


def variant(sample: str, control: int, *edits: tuple[str, str | None]) -> bytes:
    """`sample` with whole segments replaced (old -> new; None drops it), ISA13 set to `control`
    (a new interchange), and SE01 recounted."""
    segments_ = sample.split("~\n")
    for old, new in edits:
        assert old in segments_, old
        segments_ = [new if s == old else s for s in segments_ if not (s == old and new is None)]
    text = "~\n".join(segments_)
    text = re.sub(r"\*\d{9}\*0\*P\*", f"*{control:09d}*0*P*", text, count=1)
    text = re.sub(r"IEA\*1\*\d{9}", f"IEA*1*{control:09d}", text)
    body = text[text.index("\nST*") + 1:text.index("\nSE*")]
    return re.sub(r"\nSE\*\d+\*", f"\nSE*{body.count('~') + 1}*", text).encode("latin-1")


def ingest(hub, raw: bytes, name: str):
    reports = hub.ingest_bytes(raw, name, None)
    assert len(reports) == 1, [r.to_dict() for r in reports]
    return reports[0]


def exceptions(hub, report) -> list[tuple[str, str]]:
    with hub.ledger.engine.connect() as ledger:
        found = rows(ledger, "SELECT code, queue FROM exceptions WHERE document_id = :d", d=report.document_id)
    return sorted((e["code"], e["queue"]) for e in found)


def outbox(settings, partner: str, kind: str) -> list:
    folder = settings.outbox_dir / partner
    return sorted(folder.glob(f"*-{kind}-*.x12")) if folder.exists() else []


def ack(settings, partner: str, kind: str = "997"):
    files = outbox(settings, partner, kind)
    return segments(files[-1].read_bytes())


def po_shipped(erp, po: str = "4500012") -> dict[int, int]:
    return {r["line_no"]: r["qty_shipped"] for r in rows(erp, "SELECT line_no, qty_shipped FROM purchase_order_lines WHERE po_number = :p", p=po)}


# --- supplier ASNs ---------------------------------------------------------------------------------


def test_over_shipment_is_cumulative_across_asns(hub, erp, settings):
    exactly_ordered = variant(APEX, 11, ("SN1**320*EA", "SN1**300*EA"))
    first = ingest(hub, exactly_ordered, "first.edi")
    assert (first.state, first.holds) == ("posted", [])
    assert po_shipped(erp) == {1: 200, 2: 100, 3: 300}
    assert rows(erp, "SELECT status FROM inbound_asns WHERE asn_number = 'ASN-77001'") == [{"status": "ACCEPTED"}]

    five_percent_more = variant(APEX, 12, ("BSN*00*ASN-77001*20261118*1400*0001", "BSN*00*ASN-77002*20261120*1400*0001"),
                                ("HL*3*2*I", None), ("LIN**VP*APX-HB12*UP*012345000010", None), ("SN1**200*EA", None),
                                ("HL*4*2*I", None), ("LIN**VP*APX-HN12", None), ("SN1**100*EA", None),
                                ("HL*5*2*I", "HL*3*2*I"), ("SN1**320*EA", "SN1**15*EA"))
    second = ingest(hub, five_percent_more, "second.edi")
    assert (second.state, second.holds) == ("posted", [])  # 315 of 300: exactly 5% over is allowed
    assert po_shipped(erp)[3] == 315

    one_more = variant(APEX, 13, ("BSN*00*ASN-77001*20261118*1400*0001", "BSN*00*ASN-77003*20261121*1400*0001"),
                       ("HL*3*2*I", None), ("LIN**VP*APX-HB12*UP*012345000010", None), ("SN1**200*EA", None),
                       ("HL*4*2*I", None), ("LIN**VP*APX-HN12", None), ("SN1**100*EA", None),
                       ("HL*5*2*I", "HL*3*2*I"), ("SN1**320*EA", "SN1**1*EA"))
    third = ingest(hub, one_more, "third.edi")
    assert (third.state, third.holds) == ("held", ["OVER_SHIPMENT"])
    assert exceptions(hub, third) == [("OVER_SHIPMENT", "purchasing")]
    assert "315 shipped before + 1 on this ASN = 316 against 300 ordered" in third.errors[0]
    assert po_shipped(erp)[3] == 315  # the held ASN changed nothing
    assert rows(erp, "SELECT status, hold_codes FROM inbound_asns WHERE asn_number = 'ASN-77003'") == [
        {"status": "HOLD", "hold_codes": "OVER_SHIPMENT"}]


def test_asn_for_an_unknown_po_is_held_and_records_nothing(hub, erp, settings):
    report = ingest(hub, variant(APEX, 21, ("PRF*4500012***20261102", "PRF*4599999***20261102")), "unknown.edi")
    assert (report.state, report.holds) == ("held", ["UNKNOWN_PO"])
    assert exceptions(hub, report) == [("UNKNOWN_PO", "purchasing")]
    assert "PO 4599999, which is not one of our purchase orders" in report.errors[0]
    assert rows(erp, "SELECT * FROM inbound_asns") == []
    assert po_shipped(erp) == {1: 0, 2: 0, 3: 0}
    assert ack(settings, "P-APEX")["AK5"] == [["A"]]  # syntactically fine: accepted, then held


def test_asn_for_another_suppliers_po_is_held(hub, erp, settings):
    report = ingest(hub, variant(APEX, 22, ("PRF*4500012***20261102", "PRF*4500013***20261102")), "other.edi")
    assert (report.state, report.holds) == ("held", ["WRONG_SUPPLIER"])
    assert "PO 4500013, which is supplier V20's, not V10's" in report.errors[0]
    assert rows(erp, "SELECT * FROM inbound_asns") == []
    assert po_shipped(erp, "4500013") == {1: 24, 2: 48}


def test_asn_item_not_on_the_po_is_held(hub, erp):
    report = ingest(hub, variant(APEX, 23, ("LIN**VP*APX-HN12", "LIN**VP*APX-WGL")), "item.edi")
    assert report.holds == ["ITEM_NOT_ON_PO", "OVER_SHIPMENT"]
    assert any("item (vendor_part=APX-WGL) is not on PO 4500012" in e for e in report.errors)


def test_the_same_asn_number_again_is_a_duplicate(hub, erp):
    fine = variant(APEX, 24, ("SN1**320*EA", "SN1**300*EA"))
    assert ingest(hub, fine, "a.edi").state == "posted"
    again = ingest(hub, variant(APEX, 25, ("SN1**320*EA", "SN1**300*EA")), "b.edi")
    assert (again.state, again.holds) == ("held", ["DUPLICATE_ASN"])
    assert po_shipped(erp)[3] == 300


def test_856_hl_parent_pointing_nowhere_is_rejected_with_a_located_997(hub, erp, settings):
    report = ingest(hub, variant(APEX, 26, ("HL*4*2*I", "HL*4*9*I")), "parent.edi")
    assert report.state == "rejected"
    assert "HL02" in report.errors[0] and "line 17" in report.errors[0], report.errors
    found = ack(settings, "P-APEX")
    assert found["AK5"][0][0] == "R" and found["AK9"][0][0] == "R"
    assert found["AK3"][0][:2] == ["HL", "15"] and found["AK3"][0][3] == "8"  # as pyx12: on the segment (hierarchy.py)
    assert rows(erp, "SELECT * FROM inbound_asns") == []


def test_856_quantity_that_is_not_a_number_is_rejected(hub, erp, settings):
    report = ingest(hub, variant(APEX, 27, ("SN1**100*EA", "SN1**ten*EA")), "qty.edi")
    assert report.state == "rejected"
    assert "SN102" in report.errors[0], report.errors
    assert ack(settings, "P-APEX")["AK4"][0][0] == "2"
    assert po_shipped(erp) == {1: 0, 2: 0, 3: 0}


# --- supplier invoices -----------------------------------------------------------------------------


def ap_invoice(erp, number: str = "DT-INV-88001") -> dict:
    return rows(erp, "SELECT * FROM ap_invoices WHERE invoice_number = :n", n=number)[0]


def po_invoiced(erp) -> dict[int, int]:
    return {r["line_no"]: r["qty_invoiced"] for r in rows(erp, "SELECT line_no, qty_invoiced FROM purchase_order_lines WHERE po_number = '4500013'")}


@pytest.mark.parametrize(
    ("edits", "code", "words"),
    [
        ((("IT1*1*24*EA*78.00**VP*DT-CD18", "IT1*1*24*EA*79.60**VP*DT-CD18"), ("TDS*364200", "TDS*368040")),
         "PRICE_VARIANCE", "invoiced at 79.6 per EA, PO 4500013 line 1 says 78.00: 2.0513% above"),
        ((("IT1*2*40*EA*44.25**VP*DT-BP184", "IT1*2*48*EA*44.25**VP*DT-BP184"), ("TDS*364200", "TDS*399600")),
         "QTY_NOT_RECEIVED", "48 EA invoiced in all on PO 4500013 line 2, only 40 received"),
        ((("TDS*364200", "TDS*364300"),), "TOTAL_MISMATCH", "lines 3642.00 + charges 0.00 - allowances 0.00 + taxes 0.00 = 3642.00, but the invoice total (TDS) is 3643.00"),
    ],
    ids=["price", "quantity", "total"],
)
def test_three_way_match_holds(hub, erp, settings, edits, code, words):
    report = ingest(hub, variant(DELTA, 31, *edits), "inv.edi")
    assert (report.state, report.holds) == ("held", [code])
    assert exceptions(hub, report) == [(code, "payables")]
    assert words in report.errors[0], report.errors
    row = ap_invoice(erp)
    assert (row["status"], row["hold_codes"]) == ("HOLD", code)
    assert po_invoiced(erp) == {1: 0, 2: 0}  # a held invoice raises nothing
    assert ack(settings, "P-DELTA", "999")["IK5"] == [["A"]]


def test_charges_allowances_and_taxes_count_in_the_total_and_are_kept(hub, erp):
    # lines 3642.00 + freight 25.00 - promotion 42.00 + tax 10.50 = 3635.50
    raw = variant(DELTA, 32, ("TDS*364200", "TDS*363550~\nTXI*ST*10.50~\nSAC*C*D240***2500~\nSAC*A*C310***4200"))
    report = ingest(hub, raw, "charges.edi")
    assert (report.state, report.holds) == ("posted", []), report.errors
    row = ap_invoice(erp)
    assert (row["lines_total"], row["charges_total"], row["allowances_total"], row["tax_total"], row["total"]) == (
        Decimal("3642.00"), Decimal("25.00"), Decimal("42.00"), Decimal("10.50"), Decimal("3635.50"))
    kept = rows(erp, "SELECT kind, code, amount FROM ap_invoice_charges ORDER BY seq")
    assert sorted((k["kind"], k["code"], k["amount"]) for k in kept) == [
        ("allowance", "C310", Decimal("42.00")), ("charge", "D240", Decimal("25.00")), ("tax", "ST", Decimal("10.50"))]
    assert po_invoiced(erp) == {1: 24, 2: 40}


def test_the_same_invoice_number_again_is_held_as_duplicate(hub, erp):
    assert ingest(hub, variant(DELTA, 33), "a.edi").state == "posted"
    again = ingest(hub, variant(DELTA, 34), "b.edi")
    assert (again.state, again.holds) == ("held", ["DUPLICATE_INVOICE"])
    assert len(rows(erp, "SELECT * FROM ap_invoices")) == 1
    assert po_invoiced(erp) == {1: 24, 2: 40}  # not twice


def test_810_without_any_it1_is_rejected_with_a_located_999(hub, erp, settings):
    raw = variant(DELTA, 35, ("IT1*1*24*EA*78.00**VP*DT-CD18", None), ("IT1*2*40*EA*44.25**VP*DT-BP184", None))
    report = ingest(hub, raw, "noit1.edi")
    assert report.state == "rejected"
    assert "IT1" in report.errors[0], report.errors
    assert ack(settings, "P-DELTA", "999")["IK5"][0][0] == "R"
    assert rows(erp, "SELECT * FROM ap_invoices") == []


def test_810_amount_that_is_not_a_number_is_rejected(hub, erp, settings):
    report = ingest(hub, variant(DELTA, 36, ("TDS*364200", "TDS*36X200")), "tds.edi")
    assert report.state == "rejected"
    assert "TDS01" in report.errors[0], report.errors
    assert rows(erp, "SELECT * FROM ap_invoices") == []


# --- 3PL ship confirmations ------------------------------------------------------------------------


def order_state(erp) -> tuple:
    order = rows(erp, "SELECT status FROM sales_orders WHERE order_id = 'SO-900001'")[0]["status"]
    line = rows(erp, "SELECT qty_shipped, qty_allocated FROM sales_order_lines WHERE order_id = 'SO-900001'")[0]
    stock = rows(erp, "SELECT on_hand, allocated FROM inventory WHERE warehouse = 'ATL' AND sku = 'HS-2003'")[0]
    return order, line["qty_shipped"], line["qty_allocated"], stock["on_hand"], stock["allocated"]


def test_partial_then_final_ship_confirmation(hub, erp, settings):
    partial = ingest(hub, variant(BAYOU, 41, ("SN1*1*10*EA", "SN1*1*4*EA")), "partial.edi")
    assert partial.state == "answered", partial.errors
    assert order_state(erp) == ("BOOKED", 4, 6, 21, 6)  # the rest stays allocated and open
    assert [r["qty"] for r in rows(erp, "SELECT qty FROM allocations WHERE order_id = 'SO-900001'")] == [6]

    final = ingest(hub, variant(BAYOU, 42, ("BSN*00*BAYOU-SC-3301*20261119*1630*0001", "BSN*00*BAYOU-SC-3302*20261120*0900*0001"),
                                ("SN1*1*10*EA", "SN1*1*6*EA")), "final.edi")
    assert final.state == "answered", final.errors
    assert order_state(erp) == ("INVOICED", 10, 0, 15, 0)
    assert rows(erp, "SELECT * FROM allocations WHERE order_id = 'SO-900001'") == []
    invoices = rows(erp, "SELECT invoice_number, total FROM ar_invoices ORDER BY invoice_number")
    assert [f"{i['total']:.2f}" for i in invoices] == ["300.20", "450.30"]

    notices, bills = outbox(settings, "P-SUMMIT", "856"), outbox(settings, "P-SUMMIT", "810")
    assert len(notices) == len(bills) == 2
    sent = [segments(f.read_bytes()) for f in notices + bills]
    assert len({s["ISA"][0][12] for s in sent}) == 4  # never-repeating control numbers
    assert len({s["GS"][0][5] for s in sent}) == 4
    assert sorted(s["TDS"][0][0] for s in sent if "TDS" in s) == ["30020", "45030"]


def test_a_second_confirmation_of_the_same_shipment_is_a_duplicate(hub, erp, settings):
    assert ingest(hub, variant(BAYOU, 43), "first.edi").state == "answered"
    again = ingest(hub, variant(BAYOU, 44), "again.edi")
    assert again.state == "duplicate", again.to_dict()
    assert "BAYOU-SC-3301 was recorded before for SO-900001" in again.errors[0]
    assert order_state(erp) == ("INVOICED", 10, 0, 15, 0)
    assert len(rows(erp, "SELECT * FROM shipments")) == 1
    assert len(outbox(settings, "P-SUMMIT", "856")) == 1  # the customer is not told twice
    assert len(outbox(settings, "P-BAYOU", "997")) == 2  # each interchange is acknowledged


@pytest.mark.parametrize(
    ("edits", "code", "words"),
    [
        ((("SN1*1*10*EA", "SN1*1*12*EA"),), "NOT_ALLOCATED", "12 EA of HS-2003 shipped on sales order SO-900001 line 1, but 10 are allocated at ATL"),
        ((("LIN*1*SK*HS-2003", "LIN*1*SK*HS-2001"),), "ITEM_NOT_ON_ORDER", "item (sku=HS-2001) is not on sales order SO-900001"),
        ((("REF*VN*SO-900001", "REF*VN*SO-999999"),), "UNKNOWN_ORDER", "names sales order SO-999999, which we do not have"),
        ((("PRF*SUM-PO-0950", "PRF*SUM-PO-0951"),), "PO_MISMATCH", "is for customer PO SUM-PO-0950, the confirmation says SUM-PO-0951"),
    ],
    ids=["over-allocation", "item", "order", "po"],
)
def test_bad_ship_confirmation_is_held_and_changes_nothing(hub, erp, settings, edits, code, words):
    report = ingest(hub, variant(BAYOU, 45, *edits), "bad.edi")
    assert (report.state, report.holds) == ("held", [code])
    assert exceptions(hub, report) == [(code, "fulfillment")]
    assert words in report.errors[0], report.errors
    assert order_state(erp) == ("BOOKED", 0, 10, 25, 10)
    assert rows(erp, "SELECT * FROM shipments") == [] and rows(erp, "SELECT * FROM ar_invoices") == []
    assert outbox(settings, "P-SUMMIT", "856") == []


def test_ship_confirmation_for_an_order_allocated_elsewhere_is_held(hub, erp, settings):
    booked = hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")[0]
    assert booked.state == "answered"
    order_id = booked.erp_ref  # allocated at DAL, not at the 3PL's ATL
    report = ingest(hub, variant(BAYOU, 46, ("REF*VN*SO-900001", f"REF*VN*{order_id}"), ("PRF*SUM-PO-0950", "PRF*SUM-PO-1001"),
                                 ("LIN*1*SK*HS-2003", "LIN*1*SK*HS-2001")), "elsewhere.edi")
    assert (report.state, report.holds) == ("held", ["NOT_ALLOCATED"])
    assert "but 0 are allocated at ATL" in report.errors[0]


def test_crash_in_the_middle_of_a_shipment_posts_nothing_then_resume_ships_once(hub, erp, settings):
    sample = DOCUMENTS / "bayou-856-ship-confirm.edi"
    crashed = hub_command(settings, "ingest", str(sample), HUB_FAILPOINT="erp-shipment-before-invoice")
    assert crashed.returncode == EXIT_CODE, crashed.stderr
    assert order_state(erp) == ("BOOKED", 0, 10, 25, 10)  # the half-written shipment rolled back
    assert rows(erp, "SELECT * FROM shipments") == []

    crashed = hub_command(settings, "resume", HUB_FAILPOINT="after-erp-post")
    assert crashed.returncode == EXIT_CODE, crashed.stderr
    assert order_state(erp) == ("INVOICED", 10, 0, 15, 0)

    resumed = hub_command(settings, "resume", "--json")
    assert '"state": "answered"' in resumed.stdout, resumed.stdout + resumed.stderr
    assert order_state(erp) == ("INVOICED", 10, 0, 15, 0)  # shipped once
    assert len(rows(erp, "SELECT * FROM ar_invoices")) == 1
    assert len(outbox(settings, "P-SUMMIT", "856")) == len(outbox(settings, "P-SUMMIT", "810")) == 1
    with hub.ledger.engine.connect() as ledger:
        assert rows(ledger, "SELECT outcome FROM postings ORDER BY id") == [{"outcome": "replayed"}]


@pytest.mark.parametrize("shape", ["S O I I", "S O P I P I O P I", "S O T P I P I T P I"], ids=["S-O-I", "S-O-P-I", "S-O-T-P-I"])
def test_the_standard_856_mapping_reads_every_hierarchy(shape):
    """Items are found wherever they sit under their order; tare and pack SSCCs are kept per order."""
    from adapters.x12.reader import X12Reader
    from hub.canonical import Source
    from hub.mapping import MappingEngine, load_mapping
    from tests.conftest import ROOT
    from tests.test_x12_ship_notice_invoice import sscc, ship_notice

    parsed = X12Reader().read(ship_notice(shape)).documents[0]
    notice, problems = MappingEngine().map(parsed, load_mapping(ROOT / "mappings", "P-APEX", "856"), Source(partner_id="P-APEX"))
    assert problems == [], [p.describe() for p in problems]
    levels = shape.split()
    orders = [n for n, level in enumerate(levels, 1) if level == "O"]
    assert [o.po_number for o in notice.orders] == [f"PO-{n}" for n in orders]
    bounds = orders + [len(levels) + 1]
    for order, start, end in zip(notice.orders, bounds, bounds[1:]):
        below = list(enumerate(levels, 1))[start:end - 1]
        assert [i.item.vendor_part for i in order.items] == [f"ITEM-{n}" for n, level in below if level == "I"]
        assert order.containers == [sscc(n) for n, level in below if level in "TP"]
    assert (notice.carrier, notice.ship_date.isoformat()) == ("UPSN", "2026-11-18")
