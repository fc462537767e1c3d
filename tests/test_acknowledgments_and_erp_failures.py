"""Acknowledgment codes beyond the scenario's (partial acceptance, accepted with changes), control
numbers that never repeat, and an ERP that refuses a posting for good."""

from __future__ import annotations

from sqlalchemy import text

from adapters.x12.envelope import parse_interchange
from tests.conftest import DOCUMENTS

SUMMIT = (DOCUMENTS / "summit-850-booked.edi").read_text()


def _segments(path) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    interchange = parse_interchange(path.read_bytes())
    found["ISA"] = [interchange.isa.elements]
    for group in interchange.groups:
        found.setdefault("GS", []).append(group.gs.elements)
        for ts in group.sets:
            for seg in ts.segments:
                found.setdefault(seg.id, []).append(seg.elements)
    return found


def _two_sets(second_set_body: str) -> str:
    header, rest = SUMMIT.split("ST*850*0001~\n", 1)
    first, trailer = rest.split("GE*1*1011~\n")
    second = ("ST*850*0002~\n" + first).replace("SE*14*0001", "SE*14*0002")
    second = second_set_body(second)
    return header + "ST*850*0001~\n" + first + second + "GE*2*1011~\n" + trailer


def test_one_good_one_bad_set_is_partially_accepted(hub, settings, tmp_path):
    path = tmp_path / "two.edi"
    path.write_text(_two_sets(lambda s: s.replace("SUM-PO-1001", "SUM-PO-1003").replace("BEG*00*SA", "BEG*99*SA")))
    reports = hub.ingest_file(path)
    assert [r.state for r in reports] == ["answered", "rejected"]
    assert any("BEG01" in e for e in reports[1].errors), reports[1].errors
    [ack] = sorted((settings.outbox_dir / "P-SUMMIT").glob("*-997-*.x12"))
    segments = _segments(ack)
    assert [s[:2] for s in segments["AK2"]] == [["850", "0001"], ["850", "0002"]]
    assert [s[0] for s in segments["AK5"]] == ["A", "R"]
    assert segments["AK3"][0][:2] == ["BEG", "2"]
    assert segments["AK4"][0][0] == "1" and segments["AK4"][0][2] == "7"  # element 1, invalid code
    assert segments["AK9"][0][:4] == ["P", "2", "2", "1"]


def test_a_price_we_changed_is_acknowledged_as_ac_and_numbers_never_repeat(hub, settings, tmp_path):
    path = tmp_path / "changed.edi"
    path.write_text(SUMMIT.replace("PO1*1*12*EA*115.00", "PO1*1*12*EA*114.50").replace("000000101", "000000111").replace("SUM-PO-1001", "SUM-PO-1005"))
    [report] = hub.ingest_file(path)
    assert report.state == "answered"  # 0.43% off: within tolerance, booked at our price
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    folder = settings.outbox_dir / "P-SUMMIT"
    responses = sorted(folder.glob("*-855-*.x12"))
    first = _segments(responses[0])
    assert first["BAK"][0][1] == "AC"
    assert first["ACK"][0][:2] == ["IP", "12"] and first["PO1"][0][3] == "115.00"
    controls = [_segments(f)["ISA"][0][12] for f in sorted(folder.glob("*.x12"))]
    assert len(controls) == 4 and len(set(controls)) == 4  # two 997s, two 855s, every ISA13 new
    group_numbers = [_segments(f)["GS"][0][5] for f in sorted(folder.glob("*.x12"))]
    assert len(set(group_numbers)) == 4


def test_an_erp_that_refuses_the_posting_sends_the_order_to_the_erp_queue(hub, tmp_path):
    with hub.erp_engine.begin() as erp:
        erp.execute(text("ALTER TABLE sales_order_lines RENAME TO sales_order_lines_moved"))
    [report] = hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    assert report.state == "held" and report.holds == ["ERP_REJECTED"]
    with hub.ledger.engine.connect() as ledger:
        queue = ledger.execute(text("SELECT queue FROM exceptions WHERE document_id = :d"), {"d": report.document_id}).scalar()
        outcomes = ledger.execute(text("SELECT outcome FROM postings WHERE document_id = :d"), {"d": report.document_id}).scalars().all()
    assert queue == "erp"
    assert outcomes == ["failed"]
    with hub.erp_engine.connect() as erp:
        assert erp.execute(text("SELECT count(*) FROM sales_orders WHERE customer_po = 'SUM-PO-1001'")).scalar() == 0
