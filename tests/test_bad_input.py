"""Bad input settles in a clear state, with a located error and, where the envelope is readable,
a negative acknowledgment; nothing crashes and no other document in the same run is affected."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adapters.x12.envelope import parse_interchange
from tests.conftest import DOCUMENTS

SUMMIT = (DOCUMENTS / "summit-850-booked.edi").read_text()
LAKESIDE = (DOCUMENTS / "lakeside-850-5010-booked.edi").read_text()
METRO = (DOCUMENTS / "metro-order.csv").read_text()


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1") if isinstance(content, str) else content)
    return path


def _ack(settings, partner: str) -> dict[str, list[list[str]]]:
    files = sorted((settings.outbox_dir / partner).glob(f"{partner}-99*.x12"))
    assert len(files) == 1, files
    found: dict[str, list[list[str]]] = {}
    for group in parse_interchange(files[0].read_bytes()).groups:
        for ts in group.sets:
            for seg in ts.segments:
                found.setdefault(seg.id, []).append(seg.elements)
    return found


def _count(hub, sql: str) -> int:
    with hub.erp_engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_truncated_file_is_rejected_with_a_negative_997(hub, settings, tmp_path):
    cut = SUMMIT[: SUMMIT.index("PO1*2")]
    [report] = hub.ingest_file(_write(tmp_path, "truncated.edi", cut))
    assert report.state == "rejected"
    assert report.errors and any("missing" in e.lower() for e in report.errors), report.errors
    ack = _ack(settings, "P-SUMMIT")
    assert ack["AK9"][0][0] == "R"
    assert _count(hub, "SELECT count(*) FROM sales_orders") == 1  # only the seed's order


@pytest.mark.parametrize("width", [105, 107])
def test_isa_not_106_characters_is_rejected(hub, tmp_path, width):
    isa, rest = SUMMIT.split("~", 1)
    isa = isa.replace("HARBORSUPPLY   ", "HARBORSUPPLY" + " " * (3 + width - 106))
    [report] = hub.ingest_file(_write(tmp_path, "isa.edi", isa + "~" + rest))
    assert report.state == "rejected"
    assert any("ISA" in e and "106" in e for e in report.errors), report.errors


def test_wrong_se_count_rejects_the_set_and_says_where(hub, settings, tmp_path):
    [report] = hub.ingest_file(_write(tmp_path, "se.edi", SUMMIT.replace("SE*14*0001", "SE*15*0001")))
    assert report.state == "rejected"
    assert any("SE" in e for e in report.errors), report.errors
    ack = _ack(settings, "P-SUMMIT")
    assert ack["AK5"][0][:2] == ["R", "4"]
    assert ack["AK9"][0][0] == "R"


def test_wrong_ge_count_rejects_the_group(hub, settings, tmp_path):
    [report] = hub.ingest_file(_write(tmp_path, "ge.edi", SUMMIT.replace("GE*1*1011", "GE*2*1011")))
    assert report.state == "rejected"
    ack = _ack(settings, "P-SUMMIT")
    assert ack["AK9"][0][0] == "R" and "5" in ack["AK9"][0][4:]


def test_wrong_iea_count_rejects_the_interchange(hub, settings, tmp_path):
    reports = hub.ingest_file(_write(tmp_path, "iea.edi", SUMMIT.replace("IEA*1*", "IEA*3*")))
    assert {r.state for r in reports} == {"rejected"}
    assert any("IEA" in e for r in reports for e in r.errors)
    assert _ack(settings, "P-SUMMIT")["AK9"][0][0] == "R"


def test_5010_error_is_located_in_a_999(hub, settings, tmp_path):
    bad = LAKESIDE.replace("BEG*00*SA*LR-55001**20261116", "BEG*00*SA*LR-55001**20261350")
    [report] = hub.ingest_file(_write(tmp_path, "date.edi", bad))
    assert report.state == "rejected"
    assert any("BEG05" in e for e in report.errors), report.errors
    ack = _ack(settings, "P-LAKESIDE")
    assert ack["IK3"][0][:2] == ["BEG", "2"]
    assert ack["IK4"][0][0] == "5" and ack["IK4"][0][2] == "8"  # element 5, invalid date
    assert ack["IK5"][0][0] == "R"


def test_unknown_sender_is_rejected_without_an_acknowledgment(hub, settings, tmp_path):
    stranger = SUMMIT.replace("*01*123456789      *", "*ZZ*NOBODY         *")
    [report] = hub.ingest_file(_write(tmp_path, "stranger.edi", stranger))
    assert report.state == "rejected"
    assert any("NOBODY" in e and "not a trading partner" in e for e in report.errors)
    assert not settings.outbox_dir.exists() or not any(settings.outbox_dir.rglob("*.x12"))


@pytest.mark.parametrize("content", [b"hello, this is not EDI\n", b"%PDF-1.4\n\x00\x01\x02binary", b""])
def test_bytes_that_are_not_x12_are_rejected(hub, tmp_path, content):
    [report] = hub.ingest_file(_write(tmp_path, "junk.bin", content))
    assert report.state == "rejected"
    assert report.errors


def test_csv_with_a_missing_column(hub, tmp_path):
    header, *rows = METRO.splitlines()
    columns = header.split(",")
    drop = columns.index("quantity")
    cut = lambda line: ",".join(v for i, v in enumerate(line.split(",")) if i != drop)  # noqa: E731
    broken = "\n".join([cut(header)] + [cut(r) for r in rows]) + "\n"
    [report] = hub.ingest_file(_write(tmp_path, "metro.csv", broken), partner_id="P-METRO")
    assert report.state == "rejected"
    assert any("quantity" in e for e in report.errors), report.errors


def test_csv_with_a_non_numeric_quantity(hub, tmp_path):
    broken = METRO.replace(",HS-3002,24,", ",HS-3002,twenty-four,")
    [report] = hub.ingest_file(_write(tmp_path, "metro.csv", broken), partner_id="P-METRO")
    assert report.state == "rejected"
    assert any("twenty-four" in e and "line 2" in e for e in report.errors), report.errors


def test_json_that_is_not_an_object(hub, tmp_path):
    [report] = hub.ingest_file(_write(tmp_path, "order.json", '"just a string"'), partner_id="P-CASCADE")
    assert report.state == "rejected"
    assert report.errors


def test_xml_that_is_not_well_formed(hub, tmp_path):
    [report] = hub.ingest_file(_write(tmp_path, "order.xml", "<cXML><Request></cXML>"), partner_id="P-MERIDIAN")
    assert report.state == "rejected"
    assert any("line" in e for e in report.errors), report.errors


def test_xml_that_declares_entities(hub, tmp_path):
    bomb = '<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><cXML>&b;</cXML>'
    [report] = hub.ingest_file(_write(tmp_path, "bomb.xml", bomb), partner_id="P-MERIDIAN")
    assert report.state == "rejected"
    assert any("entit" in e.lower() for e in report.errors), report.errors


def test_unknown_item_is_held_for_customer_service(hub, tmp_path):
    unknown = SUMMIT.replace("BP*SUM-10012", "BP*NOSUCHPART")
    [report] = hub.ingest_file(_write(tmp_path, "unknown.edi", unknown))
    assert report.state == "held"
    assert report.holds == ["UNKNOWN_ITEM"]
    assert report.erp_ref is None
    with hub.ledger.engine.connect() as conn:
        queue = conn.execute(text("SELECT queue FROM exceptions WHERE document_id = :d"), {"d": report.document_id}).scalar()
    assert queue == "customer-service"
    assert _count(hub, "SELECT count(*) FROM sales_orders") == 1


def test_bad_files_do_not_affect_good_ones_in_the_same_run(hub, tmp_path):
    files = [
        _write(tmp_path, "a-junk.bin", b"\x00\xff\xfe garbage"),
        DOCUMENTS / "summit-850-booked.edi",
        _write(tmp_path, "c-truncated.edi", SUMMIT.replace("000000101", "000000177")[:200]),
        DOCUMENTS / "lakeside-850-5010-booked.edi",
    ]
    states = [r.state for f in files for r in hub.ingest_file(f)]
    assert states == ["rejected", "answered", "rejected", "answered"]
    assert _count(hub, "SELECT count(*) FROM sales_orders WHERE status = 'BOOKED'") == 3


def test_same_bytes_twice_is_a_duplicate(hub, tmp_path):
    first = hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    second = hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    assert first[0].state == "answered"
    assert second[0].state == "duplicate"
    assert _count(hub, "SELECT count(*) FROM sales_orders WHERE customer_po = 'SUM-PO-1001'") == 1


def test_same_interchange_number_twice_is_a_duplicate(hub, tmp_path):
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    resent = SUMMIT.replace("\n", "\r\n")  # other bytes, same ISA13
    [report] = hub.ingest_file(_write(tmp_path, "resent.edi", resent))
    assert report.state == "duplicate"
    assert "000000101" in report.errors[0]
    assert _count(hub, "SELECT count(*) FROM sales_orders WHERE customer_po = 'SUM-PO-1001'") == 1


def test_same_po_number_again_is_held_as_duplicate_po(hub, tmp_path):
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    again = SUMMIT.replace("000000101", "000000199")
    [report] = hub.ingest_file(_write(tmp_path, "again.edi", again))
    assert report.state == "held"
    assert "DUPLICATE_PO" in report.holds
    assert _count(hub, "SELECT count(*) FROM sales_orders WHERE customer_po = 'SUM-PO-1001' AND status = 'BOOKED'") == 1
