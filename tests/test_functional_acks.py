"""Partners' functional acknowledgments (997/999) of what we send, and what the ledger keeps for
finance's reconciliation: what a file says it holds (interchanges.contents), the units a document
carries (documents.quantity), and for each file we send its group and when its acknowledgment is
due (outbox group_control, ack_due_at, ack_status, acknowledged_at, ack_document_id)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select

from adapters.x12.oracle import findings_of, run_pyx12
from adapters.x12.reader import X12Reader
from hub.auth import Actor
from hub.document_actions import reprocess
from hub.ledger import tables as t
from hub.mapping import load_mapping
from tests.conftest import DOCUMENTS, ROOT, SCENARIO, segments

PARTNERS = {p["id"]: p for p in yaml.safe_load((SCENARIO / "partners.yaml").read_text())["partners"]}
SUMMIT = (DOCUMENTS / "summit-850-booked.edi").read_bytes()
LAKESIDE = (DOCUMENTS / "lakeside-850-5010-booked.edi").read_bytes()


def functional_ack(partner_id: str, group: str, sets: list[tuple[str, str, str]], status: str, isa13: int = 901) -> bytes:
    """The 997 (004010 partner) or 999 (005010) `partner_id` sends us for our group `group`: one
    AK2 and AK5/IK5 per (set id, control number, status), AK9 `status`."""
    partner = PARTNERS[partner_id]
    is_999 = partner["x12_version"].startswith("005")
    isa = ["ISA", "00", " " * 10, "00", " " * 10, partner["isa"]["qualifier"], partner["isa"]["id"].ljust(15),
           "ZZ", "HARBORSUPPLY".ljust(15), "261116", "1000", "^" if is_999 else "U", "00501" if is_999 else "00401",
           f"{isa13:09d}", "0", "P", ">"]
    gs = ["GS", "FA", partner["gs"], "HARBORSUPPLY", "20261116", "1000", str(isa13), "X", "005010X231A1" if is_999 else "004010"]
    body = [["ST", "999", "0001", "005010X231A1"] if is_999 else ["ST", "997", "0001"],
            ["AK1", "PR", group, *(["005010"] if is_999 else [])]]
    for set_id, control, set_status in sets:
        body += [["AK2", set_id, control], ["IK5" if is_999 else "AK5", set_status]]
    accepted = sum(s[2] in "AE" for s in sets)
    body += [["AK9", status, str(len(sets)), str(len(sets)), str(accepted)], ["SE", str(len(body) + 2), "0001"]]
    envelope = [isa, gs, *body, ["GE", "1", str(isa13)], ["IEA", "1", f"{isa13:09d}"]]
    return "".join("*".join(segment) + "~\n" for segment in envelope).encode()


def fetch(hub, query) -> list[dict]:
    """Ledger rows, typed by the table definitions (times and JSON read back on SQLite too)."""
    with hub.ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def outbox(hub, partner_id: str) -> list[dict]:
    return fetch(hub, select(t.outbox).where(t.outbox.c.partner_id == partner_id).order_by(t.outbox.c.id))


def document(hub, document_id: int) -> dict:
    [row] = fetch(hub, select(t.documents).where(t.documents.c.id == document_id))
    return row


def exceptions(hub, document_id: int) -> list[dict]:
    return fetch(hub, select(t.exceptions).where(t.exceptions.c.document_id == document_id))


def order_answered(hub, raw: bytes, partner_id: str) -> dict:
    """Ingest a customer's order; the outbox row of the 855 we answer it with."""
    [report] = hub.ingest_bytes(raw, "order.edi", None)
    assert report.state == "answered", report.errors
    [response] = [o for o in outbox(hub, partner_id) if o["kind"] == "855"]
    return response


def gs_and_st(content: bytes) -> tuple[str, str]:
    found = segments(content)
    return found["GS"][0][5], found["ST"][0][1]


# -- what we send ---------------------------------------------------------------------------------

def test_what_we_send_names_its_group_and_when_its_acknowledgment_is_due(hub, settings):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    [ack] = [o for o in outbox(hub, "P-SUMMIT") if o["kind"] == "997"]
    assert response["group_control"] == gs_and_st(response["content"])[0]
    assert response["ack_due_at"] - response["created_at"] == timedelta(hours=settings.ack_due_hours) == timedelta(hours=24)
    assert (response["ack_status"], response["acknowledged_at"], response["ack_document_id"]) == (None, None, None)
    assert ack["group_control"] == gs_and_st(ack["content"])[0] != response["group_control"]
    assert ack["ack_due_at"] is None  # nobody acknowledges an acknowledgment


# -- what partners send back --------------------------------------------------------------------------

def test_a_997_accepting_our_855_is_recorded_on_it_and_not_acknowledged(hub):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    group, st02 = gs_and_st(response["content"])
    sent_before = len(outbox(hub, "P-SUMMIT"))
    [report] = hub.ingest_bytes(functional_ack("P-SUMMIT", group, [("855", st02, "A")], "A"), "ack.edi", None)
    assert (report.type, report.state, report.holds, report.reference) == ("997", "posted", [], group)
    [recorded] = [o for o in outbox(hub, "P-SUMMIT") if o["id"] == response["id"]]
    assert (recorded["ack_status"], recorded["ack_document_id"]) == ("accepted", report.document_id)
    assert recorded["acknowledged_at"] is not None
    assert len(outbox(hub, "P-SUMMIT")) == sent_before  # no 997 back for a group of acknowledgments
    ack = document(hub, report.document_id)
    assert (ack["state"], ack["reference"], ack["quantity"]) == ("posted", group, None)
    assert ack["canonical"]["sets"] == [{"set_id": "855", "set_control": st02, "status": "A"}]


def test_a_997_rejecting_our_855_is_recorded_and_held_for_a_resend(hub):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    group, st02 = gs_and_st(response["content"])
    [report] = hub.ingest_bytes(functional_ack("P-SUMMIT", group, [("855", st02, "R")], "R"), "ack.edi", None)
    assert (report.state, report.holds) == ("held", ["ACK_REJECTED"])
    [recorded] = [o for o in outbox(hub, "P-SUMMIT") if o["id"] == response["id"]]
    assert (recorded["ack_status"], recorded["ack_document_id"]) == ("rejected", report.document_id)
    [exception] = exceptions(hub, report.document_id)
    assert (exception["code"], exception["queue"], exception["status"]) == ("ACK_REJECTED", "integration", "open")
    assert exception["message"] == (f"997 from P-SUMMIT rejects group {group} ({response['filename']}); sets rejected: "
                                    f"855 {st02}: correct what we sent and send it again")


def test_a_partial_acceptance_is_recorded_and_held(hub):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    group, st02 = gs_and_st(response["content"])
    [report] = hub.ingest_bytes(functional_ack("P-SUMMIT", group, [("855", st02, "R"), ("855", "9999", "A")], "P"), "ack.edi", None)
    assert (report.state, report.holds) == ("held", ["ACK_REJECTED"])
    assert "partially accepts" in report.errors[0] and f"855 {st02}" in report.errors[0]
    [recorded] = [o for o in outbox(hub, "P-SUMMIT") if o["id"] == response["id"]]
    assert recorded["ack_status"] == "partially-accepted"


def test_a_997_for_a_group_we_never_sent_is_held_unmatched(hub):
    order_answered(hub, SUMMIT, "P-SUMMIT")
    [report] = hub.ingest_bytes(functional_ack("P-SUMMIT", "777", [("855", "0001", "A")], "A"), "ack.edi", None)
    assert (report.state, report.holds) == ("held", ["UNMATCHED_ACK"])
    assert report.errors == ["UNMATCHED_ACK: 997 from P-SUMMIT acknowledges group 777, which we never sent to P-SUMMIT"]
    [exception] = exceptions(hub, report.document_id)
    assert exception["queue"] == "integration"
    assert [o["ack_status"] for o in outbox(hub, "P-SUMMIT")] == [None, None]


def test_a_997_naming_our_group_as_another_functional_group_is_unmatched(hub):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    group, st02 = gs_and_st(response["content"])
    raw = functional_ack("P-SUMMIT", group, [("855", st02, "A")], "A").replace(b"AK1*PR*", b"AK1*SH*")
    [report] = hub.ingest_bytes(raw, "ack.edi", None)
    assert (report.state, report.holds) == ("held", ["UNMATCHED_ACK"])
    assert f"as functional group SH, but our group {group} to P-SUMMIT was an 855 ({response['filename']})" in report.errors[0]


def test_another_partners_997_does_not_touch_our_files_to_summit(hub):
    response = order_answered(hub, SUMMIT, "P-SUMMIT")
    group, st02 = gs_and_st(response["content"])
    [report] = hub.ingest_bytes(functional_ack("P-PIONEER", group, [("855", st02, "A")], "A"), "ack.edi", None)
    assert (report.state, report.holds) == ("held", ["UNMATCHED_ACK"])
    assert [o["ack_status"] for o in outbox(hub, "P-SUMMIT")] == [None, None]


def test_a_999_from_lakeside_acknowledges_our_855(hub):
    response = order_answered(hub, LAKESIDE, "P-LAKESIDE")
    group, st02 = gs_and_st(response["content"])
    assert response["ack_due_at"] is not None
    sent_before = len(outbox(hub, "P-LAKESIDE"))
    [report] = hub.ingest_bytes(functional_ack("P-LAKESIDE", group, [("855", st02, "A")], "A"), "ack.edi", None)
    assert (report.type, report.state, report.reference) == ("999", "posted", group)
    [recorded] = [o for o in outbox(hub, "P-LAKESIDE") if o["id"] == response["id"]]
    assert (recorded["ack_status"], recorded["ack_document_id"]) == ("accepted", report.document_id)
    assert len(outbox(hub, "P-LAKESIDE")) == sent_before


def test_a_partners_own_acknowledgment_mapping_wins_over_the_base(tmp_path):
    mappings = tmp_path / "mappings"
    (mappings / "_base").mkdir(parents=True)
    for name in ("x12-997.yaml", "x12-999.yaml"):
        (mappings / "_base" / name).write_text((ROOT / "mappings" / "_base" / name).read_text())
    assert load_mapping(mappings, "P-X", "997").name == "_base/x12-997.yaml"
    assert load_mapping(mappings, "P-X", "999").name == "_base/x12-999.yaml extends _base/x12-997.yaml"
    (mappings / "P-X").mkdir()
    (mappings / "P-X" / "997.yaml").write_text("extends: _base/x12-997.yaml\nfields:\n  functional_id: {value: PR}\n")
    assert load_mapping(mappings, "P-X", "997").name == "P-X/997.yaml extends _base/x12-997.yaml"


@pytest.mark.parametrize("partner_id", ["P-SUMMIT", "P-LAKESIDE"])
def test_the_acknowledgment_maps_agree_with_pyx12(partner_id):
    raw = functional_ack(partner_id, "17", [("855", "0001", "A"), ("855", "0002", "Z")], "P")
    oracle = run_pyx12(raw)
    ours = [findings_of(ts, group.version) for interchange in X12Reader().read(raw).envelope
            for group in interchange.groups for ts in group.sets]
    assert ours == oracle.sets and not ours[0].accepted  # Z is no acknowledgment code
    assert ours[0].locations == {(6, 1, None)}  # the second AK5 / IK5


# -- what a file says it holds; what a document carries ----------------------------------------

def contents(hub, interchange_id: int):
    [row] = fetch(hub, select(t.interchanges.c.contents).where(t.interchanges.c.id == interchange_id))
    return row["contents"]


def test_a_file_holds_what_its_control_counts_say(hub):
    [first] = hub.ingest_bytes(SUMMIT, "summit.edi", None)
    assert contents(hub, first.interchange_id) == {"groups": 1, "documents": {"850": 1}, "segments": 14}
    [again] = hub.ingest_bytes(SUMMIT, "summit-again.edi", None)
    assert again.state == "duplicate"
    assert contents(hub, again.interchange_id) == {"groups": 1, "documents": {"850": 1}, "segments": 14}
    [resent] = hub.ingest_bytes(SUMMIT.replace(b"CUR*BY*USD", b"CUR*BY*USD*1.0000"), "summit-resent.edi", None)
    assert resent.state == "duplicate"  # the same ISA13
    assert contents(hub, resent.interchange_id) == {"groups": 1, "documents": {"850": 1}, "segments": 14}
    [order] = hub.ingest_file(DOCUMENTS / "metro-order.csv", "P-METRO")
    assert contents(hub, order.interchange_id) == {"documents": {"order": 1}}


def test_a_copy_received_before_the_file_was_read_gets_its_contents_when_it_is(hub):
    first, _ = hub.ledger.receive(SUMMIT, "sftp", "summit.edi", None)
    copy, earlier = hub.ledger.receive(SUMMIT, "sftp", "summit-again.edi", None)
    assert earlier == first and contents(hub, copy) is None
    hub.resume()
    assert contents(hub, copy) == contents(hub, first) == {"groups": 1, "documents": {"850": 1}, "segments": 14}


def two_sets(group_count: str) -> bytes:
    header, rest = SUMMIT.split(b"ST*850*0001~\n", 1)
    body, trailer = rest.split(b"GE*1*1011~\n")
    second = (b"ST*850*0002~\n" + body).replace(b"SE*14*0001", b"SE*14*0002").replace(b"SUM-PO-1001", b"SUM-PO-1002")
    return header + b"ST*850*0001~\n" + body + second + b"GE*" + group_count.encode() + b"*1011~\n" + trailer


def test_a_group_counts_the_sets_it_says_it_holds(hub):
    reports = hub.ingest_bytes(two_sets("2"), "two.edi", None)
    assert contents(hub, reports[0].interchange_id) == {"groups": 1, "documents": {"850": 2}, "segments": 28}
    reports = hub.ingest_bytes(two_sets("3").replace(b"000000101", b"000000102"), "three.edi", None)
    assert [r.state for r in reports] == ["rejected", "rejected"]  # GE01 says 3 sets; there are 2
    assert contents(hub, reports[0].interchange_id) == {"groups": 1, "documents": {"850": 3}, "segments": 28}


@pytest.mark.parametrize(("raw", "partner_id"), [
    (b"%PDF-1.4 not an order", None),  # no reader for it
    (b"this is not an order\n", "P-METRO"),  # read as Metro's CSV: no order in it
    (SUMMIT.replace(b"*00*          *01*", b"*00*     *01*"), None),  # an ISA too short to find the delimiters
])
def test_a_file_nothing_can_be_read_in_holds_nothing_known(hub, raw, partner_id):
    [report] = hub.ingest_bytes(raw, "order", partner_id)
    assert report.state == "rejected" and contents(hub, report.interchange_id) is None


@pytest.mark.parametrize(("name", "units"), [
    ("summit-850-booked.edi", 52),  # PO1 quantities 12 + 40
    ("apex-856-over-shipment.edi", 620),  # SN1 quantities 200 + 100 + 320
    ("delta-810-5010-matched.edi", 64),  # IT1 quantities 24 + 40
])
def test_a_document_carries_the_units_on_its_lines(hub, name, units):
    [report] = hub.ingest_file(DOCUMENTS / name)
    assert document(hub, report.document_id)["quantity"] == units


def test_a_rerun_sets_the_units_again(hub):
    [report] = hub.ingest_file(DOCUMENTS / "pioneer-850-credit-hold.edi")
    assert report.state == "held"
    assert document(hub, report.document_id)["quantity"] == 2  # PO1 quantity 2
    [result] = reprocess(hub, [report.document_id], Actor("analyst", "integration"))
    assert (result["state"], document(hub, report.document_id)["quantity"]) == ("held", 2)
