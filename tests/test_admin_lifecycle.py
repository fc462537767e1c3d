"""Issue 5 through the real app: mapping and ruleset versions from creation to rollback, exceptions
resolved with actions, reprocessing after a mapping fix, and the audit trail of it all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from tests.conftest import DOCUMENTS, ROOT, rows, token_for

YAML = {"Content-Type": "application/yaml"}
PRICING = (ROOT / "rules" / "pricing.yaml").read_text()
LENIENT_PRICING = PRICING.replace("contract_deviation_pct: 1}", "contract_deviation_pct: 5}").replace("tier_deviation_pct: 1}", "tier_deviation_pct: 5}")


@pytest.fixture
def api(hub, settings):
    """Clients for each staff role, on a fresh seeded hub."""
    app = create_app(settings)
    clients = {role: TestClient(app, headers=token_for(settings, role, name=role)) for role in ("admin", "integration", "operations", "finance")}
    yield clients
    app.state.context.hub().ledger.engine.dispose() if app.state.context._hub else None
    app.state.engine.dispose()


def another_summit_order(po: str, control: str) -> bytes:
    """The price-mismatch sample as a new order (its own ISA13 and PO number)."""
    raw = (DOCUMENTS / "summit-850-price-mismatch.edi").read_bytes()
    return raw.replace(b"000000102", control.encode()).replace(b"SUM-PO-1002", po.encode())


def document_of(api, reference: str) -> dict:
    [found] = [d for d in api["finance"].get("/v1/documents", params={"limit": 1000}).json() if d["reference"] == reference]
    return api["finance"].get(f"/v1/documents/{found['id']}").json()


def test_a_pricing_ruleset_from_creation_to_rollback(hub, api, erp):
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    integration = api["integration"]

    refused = integration.post("/v1/rulesets/pricing/versions", content=PRICING.replace("run: set_price(tier)", "run: exec(rm)"), headers=YAML)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "rule 'tier_price': 'exec' is not an allowed action" in refused.json()["detail"]
    assert integration.get("/v1/rulesets/pricing/versions").json()[-1]["version"] == 1  # nothing stored

    created = integration.post("/v1/rulesets/pricing/versions", content=LENIENT_PRICING, headers=YAML)
    assert created.status_code == 201 and created.json() == {"version": 2, "active": False}

    tried = integration.post("/v1/rulesets/pricing/versions/2/test", params={"partner": "P-SUMMIT"},
                             content=another_summit_order("SUM-PO-7001", "000000701"))
    [sample] = tried.json()["documents"]
    assert (sample["state"], sample["holds"]) == ("answered", [])
    assert {d["version"] for d in sample["decisions"] if d["ruleset"] == "pricing"} == {2}

    before = rows(erp, "SELECT order_id, status, total FROM sales_orders ORDER BY order_id")
    dry = integration.post("/v1/rulesets/pricing/versions/2/dry-run", json={"partner": "P-SUMMIT"}).json()
    assert (dry["documents"], dry["changed"]) == (2, 1)
    [changed] = [r for r in dry["results"] if r["changes"]]
    assert changed["reference"] == "SUM-PO-1002" and changed["stored_state"] == "held"
    assert {c["what"]: (c["active"], c["candidate"]) for c in changed["changes"]}["holds"] == (["PRICE_MISMATCH"], [])
    assert rows(erp, "SELECT order_id, status, total FROM sales_orders ORDER BY order_id") == before  # the ERP is untouched
    assert document_of(api, "SUM-PO-1002")["state"] == "held"

    assert integration.post("/v1/rulesets/pricing/versions/2/activate").json() == {"before": 1, "after": 2}
    [report] = hub.ingest_bytes(another_summit_order("SUM-PO-7002", "000000702"), "next.edi", None)
    assert (report.state, report.holds) == ("answered", [])
    decided = document_of(api, "SUM-PO-7002")["decisions"]
    assert {d["version"] for d in decided if d["ruleset"] == "pricing"} == {2}

    assert integration.post("/v1/rulesets/pricing/rollback", json={}).json() == {"before": 2, "after": 1}
    [report] = hub.ingest_bytes(another_summit_order("SUM-PO-7003", "000000703"), "after-rollback.edi", None)
    assert (report.state, report.holds) == ("held", ["PRICE_MISMATCH"])
    assert {d["version"] for d in document_of(api, "SUM-PO-7003")["decisions"] if d["ruleset"] == "pricing"} == {1}

    trail = api["admin"].get("/v1/audit", params={"target": "ruleset:pricing"}).json()
    assert [(a["actor"], a["action"], a["before"], a["after"]) for a in reversed(trail)] == [
        ("integration", "ruleset.create", None, {"version": 2, "sha256": trail[-1]["after"]["sha256"]}),
        ("integration", "ruleset.activate", {"active": 1}, {"active": 2}),
        ("integration", "ruleset.rollback", {"active": 2}, {"active": 1}),
    ]


def test_a_mapping_from_creation_to_rollback(hub, api):
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    integration = api["integration"]
    broken = "extends: _base/x12-850.yaml\nfields:\n  currency: {expr: 'CUR[0].[CUR02', optional: true}\n"
    refused = integration.post("/v1/mappings/P-SUMMIT/850/versions", content=broken, headers=YAML)
    assert refused.status_code == 422 and "currency" in refused.json()["detail"]
    assert integration.get("/v1/mappings/P-SUMMIT/850/versions").status_code == 404  # nothing stored

    canadian = "extends: _base/x12-850.yaml\nfields:\n  currency: {value: CAD}\n"
    assert integration.post("/v1/mappings/P-SUMMIT/850/versions", content=canadian, headers=YAML).json() == {"version": 2, "active": False}
    listed = integration.get("/v1/mappings/P-SUMMIT/850/versions").json()
    assert [(v["version"], v["active"], v["created_by"]) for v in listed] == [(1, True, None), (2, False, "integration")]

    tried = integration.post("/v1/mappings/P-SUMMIT/850/versions/2/test", content=another_summit_order("SUM-PO-7101", "000000711")).json()
    assert tried["documents"][0]["canonical"]["currency"] == "CAD"

    dry = integration.post("/v1/mappings/P-SUMMIT/850/versions/2/dry-run", json={}).json()
    assert dry["changed"] == 1
    assert {"what": "field currency", "active": "USD", "candidate": "CAD"} in dry["results"][0]["changes"]

    integration.post("/v1/mappings/P-SUMMIT/850/versions/2/activate").raise_for_status()
    hub.ingest_bytes(another_summit_order("SUM-PO-7102", "000000712"), "next.edi", None)
    mapped = document_of(api, "SUM-PO-7102")
    assert mapped["canonical"]["currency"] == "CAD"
    assert [e["detail"]["mapping"] for e in mapped["events"] if e["to_state"] == "mapped"] == ["P-SUMMIT/850 v2 extends _base/x12-850.yaml"]

    assert integration.post("/v1/mappings/P-SUMMIT/850/rollback", json={"to": 1}).json() == {"before": 2, "after": 1}
    hub.ingest_bytes(another_summit_order("SUM-PO-7103", "000000713"), "after.edi", None)
    assert document_of(api, "SUM-PO-7103")["canonical"]["currency"] == "USD"


def test_reprocess_after_a_mapping_fix_books_each_order_once(hub, api, erp):
    integration, operations = api["integration"], api["operations"]
    good = (ROOT / "mappings" / "P-METRO" / "order.yaml").read_text()
    typo = good.replace("order_date: {expr: header.order_date", "order_date: {expr: header.orderdate")
    assert integration.post("/v1/mappings/P-METRO/order/versions", content=typo, headers=YAML).json()["version"] == 2
    integration.post("/v1/mappings/P-METRO/order/versions/2/activate").raise_for_status()
    [report] = hub.ingest_file(DOCUMENTS / "metro-order.csv", "P-METRO")
    assert report.state == "rejected" and "order_date" in report.errors[0]

    assert integration.post("/v1/mappings/P-METRO/order/rollback", json={}).status_code == 200
    assert operations.post("/v1/documents/reprocess", json={"partner": "P-METRO", "state": "rejected"}).status_code == 200
    again = operations.post("/v1/documents/reprocess", json={"document_ids": [report.document_id]}).json()
    assert "only held or rejected documents are reprocessed" in again["results"][0]["error"]  # posted now: not run twice
    document = document_of(api, "MFS-3301")
    assert document["state"] == "posted"
    assert [e["to_state"] for e in document["events"]][-5:] == ["rejected", "parsed", "mapped", "decided", "posted"]
    assert document["events"][-4]["detail"] == {"rerun": "reprocess", "by": "operations"}
    orders = rows(erp, "SELECT order_id, status FROM sales_orders WHERE customer_po = 'MFS-3301'")
    assert [o["status"] for o in orders] == ["BOOKED"]


def test_a_credit_hold_released_after_the_limit_is_raised_is_booked(hub, api, erp, settings):
    hub.ingest_file(DOCUMENTS / "lakeside-850-5010-credit-limit.edi")
    operations = api["operations"]
    [held] = operations.get("/v1/exceptions", params={"queue": "credit"}).json()
    assert (held["code"], held["priority"], held["overdue"], held["reference"]) == ("CREDIT_LIMIT", 2, False, "LR-55002")
    assert operations.post(f"/v1/exceptions/{held['id']}/assign", json={"assignee": "carol"}).json()["assignee"] == "carol"

    still = operations.post(f"/v1/exceptions/{held['id']}/resolve", json={"action": "release"}).json()
    assert (still["document"]["state"], still["exception"]["status"]) == ("held", "open")  # the limit is still exceeded

    erp.exec_driver_sql("UPDATE customers SET credit_limit = 50000 WHERE customer_id = 'C200'")
    erp.commit()
    done = operations.post(f"/v1/exceptions/{held['id']}/resolve", json={"action": "release", "note": "limit raised to 50k"}).json()
    assert done["document"]["state"] == "answered"
    assert (done["exception"]["status"], done["exception"]["action"], done["exception"]["resolved_by"]) == ("resolved", "release", "operations")
    [order] = rows(erp, "SELECT order_id, status FROM sales_orders WHERE customer_po = 'LR-55002'")
    assert (order["order_id"], order["status"]) == (held_order_id(hub), "BOOKED")
    assert rows(erp, "SELECT COUNT(*) AS n FROM allocations WHERE order_id = :o", o=order["order_id"])[0]["n"] > 0
    assert any(p.name.startswith("P-LAKESIDE-855-") for p in (settings.outbox_dir / "P-LAKESIDE").iterdir())

    trail = api["admin"].get("/v1/audit", params={"target": f"exception:{held['id']}"}).json()
    assert [(a["action"], a["after"].get("state")) for a in reversed(trail)] == [
        ("exception.assign", None), ("exception.release", "held"), ("exception.release", "answered")]
    assert trail[0]["after"]["note"] == "limit raised to 50k"


def held_order_id(hub) -> str:
    from sqlalchemy import text

    with hub.ledger.engine.connect() as conn:
        return conn.execute(text("SELECT erp_ref FROM documents WHERE reference = 'LR-55002'")).scalar()


def test_override_price_books_at_the_customers_price(hub, api, erp):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    [held] = api["operations"].get("/v1/exceptions", params={"queue": "pricing"}).json()
    done = api["operations"].post(f"/v1/exceptions/{held['id']}/resolve", json={"action": "override_price"}).json()
    assert done["document"]["state"] == "answered"
    lines = rows(erp, "SELECT line_no, unit_price FROM sales_order_lines l JOIN sales_orders o ON o.order_id = l.order_id "
                      "WHERE o.customer_po = 'SUM-PO-1002' ORDER BY line_no")
    assert [(l["line_no"], Decimal(str(l["unit_price"]))) for l in lines] == [(1, Decimal("140.00")), (2, Decimal("4.51"))]


def test_reject_cancels_the_order_and_answers_855_rj(hub, api, erp, settings):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    [held] = api["operations"].get("/v1/exceptions").json()
    done = api["operations"].post(f"/v1/exceptions/{held['id']}/resolve", json={"action": "reject", "note": "customer cancelled"}).json()
    assert done["document"]["state"] == "rejected"
    assert [o["status"] for o in rows(erp, "SELECT status FROM sales_orders WHERE customer_po = 'SUM-PO-1002'")] == ["CANCELLED"]
    [answer] = [p for p in (settings.outbox_dir / "P-SUMMIT").iterdir() if "-855-" in p.name]
    assert b"BAK*00*RJ*SUM-PO-1002" in answer.read_bytes()


@pytest.mark.parametrize("bad, status, words", [
    ({"action": "approve_invoice"}, 409, "approve_invoice resolves"),
    ({"action": "fly"}, 422, "action"),
    ({"action": "release", "prices": {"1": "x"}}, 422, "prices"),
])
def test_an_action_that_does_not_fit_changes_nothing(hub, api, bad, status, words):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    [held] = api["operations"].get("/v1/exceptions").json()
    answer = api["operations"].post(f"/v1/exceptions/{held['id']}/resolve", json=bad)
    assert answer.status_code == status and words in answer.json()["detail"]
    assert api["operations"].get("/v1/exceptions").json()[0]["status"] == "open"


def test_roles_allow_and_refuse(hub, api, settings):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    [held] = api["operations"].get("/v1/exceptions").json()
    anonymous = TestClient(api["admin"].app)
    assert anonymous.get("/v1/exceptions").status_code == 401
    assert anonymous.get("/v1/exceptions", headers={"Authorization": "Bearer hub_wrong"}).status_code == 401
    partner = TestClient(api["admin"].app, headers=token_for(settings, "partner", partner="P-SUMMIT"))
    assert partner.get("/v1/exceptions").status_code == 403
    for role in ("admin", "integration", "operations", "finance"):
        assert api[role].get("/v1/rulesets").status_code == 200
    for role in ("operations", "finance"):
        refused = api[role].post("/v1/rulesets/pricing/versions", content=LENIENT_PRICING, headers=YAML)
        assert refused.status_code == 403 and "needs one of: admin, integration" in refused.json()["detail"]
    for role in ("integration", "finance"):
        assert api[role].post(f"/v1/exceptions/{held['id']}/assign", json={"assignee": "x"}).status_code == 403
    assert api["admin"].post(f"/v1/exceptions/{held['id']}/assign", json={"assignee": "x"}).status_code == 200
    assert api["finance"].get("/v1/audit").status_code == 200
    assert api["operations"].get("/v1/audit").status_code == 403


def test_a_yaml_bomb_and_an_oversized_body_are_refused(hub, api):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                                                          for p, c in zip("abcdefgh", "bcdefghi"))
    refused = api["integration"].post("/v1/rulesets/pricing/versions", content=bomb, headers=YAML)
    assert refused.status_code == 422 and "alias" in refused.json()["detail"]
    huge = "rules:\n" + "  # padding\n" * 1_000_000
    assert api["integration"].post("/v1/rulesets/pricing/versions", content=huge, headers=YAML).status_code == 413
    assert [v["version"] for v in api["integration"].get("/v1/rulesets/pricing/versions").json()] == [1]


def test_an_accepted_over_shipment_is_recorded_and_raises_the_po(hub, api, erp):
    hub.ingest_file(DOCUMENTS / "apex-856-over-shipment.edi")
    [held] = api["operations"].get("/v1/exceptions", params={"queue": "purchasing"}).json()
    assert held["code"] == "OVER_SHIPMENT"
    done = api["operations"].post(f"/v1/exceptions/{held['id']}/resolve", json={"action": "accept_over_shipment"}).json()
    assert done["document"]["state"] == "posted" and done["exception"]["action"] == "accept_over_shipment"
    assert [r["status"] for r in rows(erp, "SELECT status FROM inbound_asns WHERE asn_number = 'ASN-77001'")] == ["ACCEPTED"]
    shipped = rows(erp, "SELECT line_no, qty_shipped FROM purchase_order_lines WHERE po_number = '4500012' ORDER BY line_no")
    assert {r["line_no"]: r["qty_shipped"] for r in shipped}[3] == 320
    document = api["finance"].get(f"/v1/documents/{done['document']['document_id']}").json()
    assert document["overrides"]["waived"] == ["OVER_SHIPMENT"]  # kept for any later run of it


def test_a_dry_run_takes_only_the_documents_asked_for(hub, api):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    integration = api["integration"]
    integration.post("/v1/rulesets/pricing/versions", content=LENIENT_PRICING, headers=YAML).raise_for_status()
    for ask, count in (({"partner": "P-SUMMIT"}, 1), ({"partner": "P-LAKESIDE"}, 0), ({"received_to": "2001-01-01T00:00:00Z"}, 0),
                       ({"doc_type": "850", "received_from": "2001-01-01T00:00:00Z"}, 1)):
        assert integration.post("/v1/rulesets/pricing/versions/2/dry-run", json=ask).json()["documents"] == count, ask
    assert integration.post("/v1/rulesets/pricing/versions/9/dry-run", json={}).status_code == 404
    assert integration.post("/v1/rulesets/pricing/versions/2/dry-run", json={"limit": 0}).status_code == 422
