"""Every customer-order sample of the reference scenario ends exactly as expected.yaml says,
each processed alone on a freshly seeded ERP: ERP rows, holds, exceptions and the bytes of the
acknowledgments in the partner's outbox. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from tests.conftest import DOCUMENTS, rows, segments

EXPECTED = yaml.safe_load((DOCUMENTS / "expected.yaml").read_text())
ORDER_SAMPLES = [name for name, e in EXPECTED.items() if e["type"] in ("850", "order")]
PARTNER_FOR_FILE = {".csv": "P-METRO", ".json": "P-CASCADE"}  # cXML and X12 name their sender
SETTLED = {"BOOKED": {"posted", "answered"}, "HOLD": {"held"}}


def test_all_eight_order_samples_are_covered():
    assert len(ORDER_SAMPLES) == 8


@pytest.mark.parametrize("sample", ORDER_SAMPLES)
def test_order_sample_outcome(sample, hub, erp, settings):
    expected = EXPECTED[sample]
    path = DOCUMENTS / sample
    reports = hub.ingest_file(path, partner_id=PARTNER_FOR_FILE.get(path.suffix))

    assert len(reports) == 1, [r.to_dict() for r in reports]
    report = reports[0]
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
