"""Checks that a scenario sample ended exactly as expected.yaml says: ERP rows, holds, exceptions
and the files in the partners' outboxes. Shared by the tests that bring the samples in by every
channel (CLI, SFTP, webhook)."""

from __future__ import annotations

from decimal import Decimal

import yaml
from sqlalchemy import select

from hub.document_run import DocumentReport
from tests.conftest import DOCUMENTS, rows, segments

EXPECTED = yaml.safe_load((DOCUMENTS / "expected.yaml").read_text())
PARTNER_FOR_FILE = {".csv": "P-METRO", ".json": "P-CASCADE"}  # cXML and X12 name their sender
SETTLED = {"BOOKED": {"posted", "answered"}, "HOLD": {"held"}, "APPROVED": {"posted"}, "SHIPPED": {"posted", "answered"}}


def report_for(hub, interchange_id: int) -> DocumentReport:
    """The one document of a received file, as `hub ingest` would have reported it."""
    from hub.ledger import tables as t

    with hub.ledger.engine.connect() as conn:
        file = conn.execute(select(t.interchanges).where(t.interchanges.c.id == interchange_id)).one()
        docs = conn.execute(select(t.documents).where(t.documents.c.interchange_id == interchange_id)).all()
    assert len(docs) == 1, (file.status, file.problems, [d.state for d in docs])
    doc = docs[0]
    return DocumentReport(file.filename, doc.partner_id, doc.doc_type, doc.state, doc.holds or [], doc.erp_ref, [],
                          interchange_id, doc.id, doc.reference)


def check_outcome(sample: str, report: DocumentReport, hub, erp, settings) -> None:
    expected = EXPECTED[sample]
    if expected["type"] in ("850", "order"):
        check_order(expected, report, hub, erp, settings)
    else:
        check_supply(expected, report, hub, erp, settings)


def check_order(expected: dict, report: DocumentReport, hub, erp, settings) -> None:
    assert report.partner == expected["partner"]
    assert report.state in SETTLED[expected["status"]], report.to_dict()
    assert report.holds == expected["holds"]

    source = f"hub:{report.interchange_id}:1"
    orders = rows(erp, "SELECT * FROM sales_orders WHERE source_document = :s", s=source)
    assert len(orders) == 1
    order = orders[0]
    assert report.erp_ref == order["order_id"]
    for key, value in expected["erp"]["sales_order"].items():
        actual = order[key]
        assert (f"{Decimal(actual):.2f}" if key == "total" else actual) == value, key
    assert (order["hold_codes"] or "") == ",".join(expected["holds"])

    if "lines" in expected["erp"]:
        lines = rows(erp, "SELECT * FROM sales_order_lines WHERE order_id = :o ORDER BY line_no", o=order["order_id"])
        assert len(lines) == len(expected["erp"]["lines"])
        for line, want in zip(lines, expected["erp"]["lines"]):
            for key, value in want.items():
                got = line[key]
                assert (f"{Decimal(got):.2f}" if "price" in key else got) == value, (line["line_no"], key)

    allocations = rows(erp, "SELECT line_no, warehouse, qty FROM allocations WHERE order_id = :o", o=order["order_id"])
    assert sorted((a["line_no"], a["warehouse"], a["qty"]) for a in allocations) == sorted(
        (a["line_no"], a["warehouse"], a["qty"]) for a in expected["erp"]["allocations"]
    )
    for inv in expected["erp"].get("inventory_after", []):
        row = rows(erp, "SELECT on_hand, allocated FROM inventory WHERE warehouse = :w AND sku = :s", w=inv["warehouse"], s=inv["sku"])[0]
        assert (row["on_hand"], row["allocated"]) == (inv["on_hand"], inv["allocated"])

    with hub.ledger.engine.connect() as ledger:
        exceptions = rows(ledger, "SELECT code, queue FROM exceptions WHERE document_id = :d AND status = 'open'", d=report.document_id)
    assert sorted((e["code"], e["queue"]) for e in exceptions) == sorted((e["code"], e["queue"]) for e in expected.get("exceptions", []))

    outbox = settings.outbox_dir / expected["partner"]
    files = sorted(outbox.glob("*.x12")) if outbox.exists() else []
    assert len(files) == len(expected["outbound"]), [f.name for f in files]
    by_kind = {f.name.split("-")[-2]: f for f in files}
    for out in expected["outbound"]:
        assert out["to"] == expected["partner"]
        found = segments(by_kind[out["type"]].read_bytes())
        assert found["ST"][0][0] == out["type"]
        isa = found["ISA"][0]
        assert (isa[4], isa[5].strip()) == ("ZZ", "HARBORSUPPLY")  # we are the sender
        if "ak5" in out:
            assert [s[0] for s in found["AK5"]] == [out["ak5"]]
        if "ik5" in out:
            assert [s[0] for s in found["IK5"]] == [out["ik5"]]
        if "ak9" in out:
            assert found["AK9"][0][0] == out["ak9"]
        if "bak02" in out:
            assert found["BAK"][0][1] == out["bak02"]
            assert found["BAK"][0][2] == expected["erp"]["sales_order"]["customer_po"]


def check_supply(expected: dict, report: DocumentReport, hub, erp, settings) -> None:
    assert (report.partner, report.type) == (expected["partner"], expected["type"])
    assert report.state in SETTLED[expected["status"]], report.to_dict()
    assert report.holds == expected["holds"]
    source = f"hub:{report.interchange_id}:1"
    want = expected["erp"]

    if "inbound_asn" in want:
        asns = rows(erp, "SELECT * FROM inbound_asns WHERE source_document = :s", s=source)
        assert len(asns) == 1
        _matches(asns[0], want["inbound_asn"])
        assert asns[0]["hold_codes"] == ",".join(expected["holds"])
        lines = rows(erp, "SELECT * FROM inbound_asn_lines WHERE asn_number = :a ORDER BY line_no", a=asns[0]["asn_number"])
        assert [(l["po_line_no"], l["qty_shipped"]) for l in lines] == [(1, 200), (2, 100), (3, 320)]
    for line in want.get("purchase_order_lines_after", []):
        got = rows(erp, "SELECT * FROM purchase_order_lines WHERE po_number = :p AND line_no = :l", p=line["po_number"], l=line["line_no"])
        _matches(got[0], line)
    if "ap_invoice" in want:
        invoices = rows(erp, "SELECT * FROM ap_invoices WHERE source_document = :s", s=source)
        assert len(invoices) == 1
        _matches(invoices[0], want["ap_invoice"])
        assert invoices[0]["terms"] == "2% 10 days, net 30"
        assert (invoices[0]["terms_discount_pct"], invoices[0]["terms_net_days"]) == (Decimal("2.00"), 30)
        lines = rows(erp, "SELECT * FROM ap_invoice_lines WHERE invoice_number = :n ORDER BY line_no", n=invoices[0]["invoice_number"])
        assert [(l["po_line_no"], l["sku"], l["qty_invoiced"]) for l in lines] == [(1, "HS-2001", 24), (2, "HS-2003", 40)]
        po_lines = rows(erp, "SELECT line_no, qty_invoiced FROM purchase_order_lines WHERE po_number = '4500013' ORDER BY line_no")
        assert [(l["line_no"], l["qty_invoiced"]) for l in po_lines] == [(1, 24), (2, 40)]
    if "shipment" in want:
        shipments = rows(erp, "SELECT * FROM shipments WHERE source_document = :s", s=source)
        assert len(shipments) == 1
        _matches(shipments[0], want["shipment"])
        assert report.erp_ref == shipments[0]["shipment_id"]
        lines = rows(erp, "SELECT order_line_no, sku, qty FROM shipment_lines WHERE shipment_id = :i", i=shipments[0]["shipment_id"])
        assert lines == [{"order_line_no": 1, "sku": "HS-2003", "qty": 10}]
    if "sales_order" in want:
        order = rows(erp, "SELECT * FROM sales_orders WHERE order_id = :o", o=want["sales_order"]["order_id"])[0]
        _matches(order, want["sales_order"])
        line = rows(erp, "SELECT qty_shipped, qty_allocated FROM sales_order_lines WHERE order_id = :o", o=order["order_id"])[0]
        assert (line["qty_shipped"], line["qty_allocated"]) == (10, 0)
        assert rows(erp, "SELECT * FROM allocations WHERE order_id = :o", o=order["order_id"]) == []
    for inv in want.get("inventory_after", []):
        row = rows(erp, "SELECT on_hand, allocated FROM inventory WHERE warehouse = :w AND sku = :s", w=inv["warehouse"], s=inv["sku"])[0]
        assert (row["on_hand"], row["allocated"]) == (inv["on_hand"], inv["allocated"])
    if "ar_invoice" in want:
        invoices = rows(erp, "SELECT * FROM ar_invoices WHERE source_document = :s", s=source)
        assert len(invoices) == 1
        _matches(invoices[0], want["ar_invoice"])
        lines = rows(erp, "SELECT sku, uom, qty, unit_price, amount FROM ar_invoice_lines WHERE invoice_number = :n", n=invoices[0]["invoice_number"])
        assert [(l["sku"], l["uom"], l["qty"], f"{l['unit_price']:.2f}", f"{l['amount']:.2f}") for l in lines] == [("HS-2003", "EA", 10, "75.05", "750.50")]
        customer = rows(erp, "SELECT open_ar FROM customers WHERE customer_id = 'C100'")[0]
        assert customer["open_ar"] == Decimal("12000.00") + Decimal("750.50")

    with hub.ledger.engine.connect() as ledger:
        exceptions = rows(ledger, "SELECT code, queue FROM exceptions WHERE document_id = :d AND status = 'open'", d=report.document_id)
    assert sorted((e["code"], e["queue"]) for e in exceptions) == sorted((e["code"], e["queue"]) for e in expected.get("exceptions", []))

    sent = {}
    for out in expected["outbound"]:
        files = sorted((settings.outbox_dir / out["to"]).glob(f"*-{out['type']}-*.x12"))
        assert len(files) == 1, (out, [f.name for f in files])
        found = sent[out["type"]] = segments(files[0].read_bytes())
        assert found["ST"][0][0] == out["type"]
        assert (found["ISA"][0][4], found["ISA"][0][5].strip()) == ("ZZ", "HARBORSUPPLY")
        for code, segment in (("ak5", "AK5"), ("ik5", "IK5")):
            if code in out:
                assert [s[0] for s in found[segment]] == [out[code]]
        if "ak9" in out:
            assert found["AK9"][0][0] == out["ak9"]
        if "tds" in out:
            assert found["TDS"][0][0] == out["tds"]
    every = sorted(p.name for p in settings.outbox_dir.rglob("*.x12"))
    assert len(every) == len(expected["outbound"]), every
    if "856" in sent:
        _check_customer_ship_notice(sent["856"])
        _check_customer_invoice(sent["810"])


def _matches(row: dict, want: dict) -> None:
    for key, value in want.items():
        got = row[key]
        if key in ("total",):
            got = f"{Decimal(got):.2f}"
        elif key.endswith("date"):
            got = got.isoformat() if hasattr(got, "isoformat") else str(got)
        assert got == value, (key, row)


def _check_customer_ship_notice(found) -> None:
    """S-O-I with the customer's PO, our item with its UPC, carrier and tracking."""
    assert [hl[2] for hl in found["HL"]] == ["S", "O", "I"]
    assert [hl[1] for hl in found["HL"]] == ["", "1", "2"]
    assert found["TD5"][0][2] == "UPSN"
    assert ["CN", "1Z999AA10123456784"] in [r[:2] for r in found["REF"]]
    assert found["DTM"][0][:2] == ["011", "20261119"]
    assert found["PRF"][0][0] == "SUM-PO-0950"
    assert found["LIN"][0][1:] == ["VP", "HS-2003", "UP", "012345000065"]
    assert found["SN1"][0][1:3] == ["10", "EA"]
    assert found["ISA"][0][6:8] == ["01", "123456789      "]  # to Summit's own X12 identity


def _check_customer_invoice(found) -> None:
    big = found["BIG"][0]
    assert (big[1].startswith("INV-"), big[3]) == (True, "SUM-PO-0950")
    assert found["IT1"] == [["1", "10", "EA", "75.05", "", "VP", "HS-2003", "UP", "012345000065"]]
    assert found["CTT"][0][0] == "1"
