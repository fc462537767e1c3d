"""The supplier and 3PL samples of the reference scenario end exactly as expected.yaml says, each
processed alone on a freshly seeded ERP: ERP rows, holds, exceptions, and the files in the
partners' outboxes (the 997/999 to the sender; the 856 and 810 to the customer). SQLite and
PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from tests.conftest import DOCUMENTS, rows, segments

EXPECTED = yaml.safe_load((DOCUMENTS / "expected.yaml").read_text())
SUPPLY_SAMPLES = [name for name, e in EXPECTED.items() if e["type"] in ("856", "810")]
SETTLED = {"HOLD": {"held"}, "APPROVED": {"posted"}, "SHIPPED": {"posted", "answered"}}


def test_all_three_supply_samples_are_covered():
    assert sorted(SUPPLY_SAMPLES) == ["apex-856-over-shipment.edi", "bayou-856-ship-confirm.edi", "delta-810-5010-matched.edi"]


def _matches(row: dict, want: dict) -> None:
    for key, value in want.items():
        got = row[key]
        if key in ("total",):
            got = f"{Decimal(got):.2f}"
        elif key.endswith("date"):
            got = got.isoformat() if hasattr(got, "isoformat") else str(got)
        assert got == value, (key, row)


@pytest.mark.parametrize("sample", SUPPLY_SAMPLES)
def test_supply_sample_outcome(sample, hub, erp, settings):
    expected = EXPECTED[sample]
    reports = hub.ingest_file(DOCUMENTS / sample)

    assert len(reports) == 1, [r.to_dict() for r in reports]
    report = reports[0]
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


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_the_856_and_810_we_write_read_back_clean(hub, settings, version):
    """Round trip: our own reader, pyx12 with our maps, and the standard mappings all take them."""
    from adapters.x12.oracle import run_pyx12
    from adapters.x12.reader import X12Reader
    from hub.canonical import Source
    from hub.mapping import MappingEngine, load_mapping

    directory = hub.ledger.partner_directory()
    directory.get("P-SUMMIT").x12_version = version  # the customer's own X12 version
    hub.ledger.save_partners(directory)
    assert hub.ingest_file(DOCUMENTS / "bayou-856-ship-confirm.edi")[0].state == "answered"
    for kind, doctype in (("856", "856"), ("810", "810")):
        [path] = sorted((settings.outbox_dir / "P-SUMMIT").glob(f"*-{kind}-*.x12"))
        raw = path.read_bytes()
        result = X12Reader().read(raw)
        assert not result.problems and len(result.documents) == 1
        parsed = result.documents[0]
        assert (parsed.doc_type, parsed.control["version"], parsed.problems) == (doctype, version, [])
        oracle = run_pyx12(raw)
        assert oracle.skipped is None and [s.accepted for s in oracle.sets] == [True], oracle
        mapping = load_mapping(settings.mappings_dir, "P-APEX", doctype)  # the standard supplier mapping
        canonical, problems = MappingEngine().map(parsed, mapping, Source(partner_id="P-SUMMIT"))
        assert problems == []
        if kind == "856":
            assert canonical.carrier == "UPSN" and canonical.tracking == "1Z999AA10123456784"
            assert [(o.po_number, o.vendor_order) for o in canonical.orders] == [("SUM-PO-0950", "SO-900001")]
            assert [(i.quantity, i.item.vendor_part, i.item.upc) for i in canonical.orders[0].items] == [(10, "HS-2003", "012345000065")]
        else:
            assert (canonical.po_number, canonical.stated_total) == ("SUM-PO-0950", Decimal("750.50"))
            assert [(l.quantity, l.unit_price) for l in canonical.lines] == [(10, Decimal("75.05"))]
