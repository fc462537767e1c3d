"""The operations side of the API through the real app on a seeded hub: the outbox (list, one file,
its bytes, redelivery, audited), the audit log, Prometheus metrics that match the ledger, and
reading documents (filters, the raw file, canonical form, trace, timeline)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.api.metrics import escape
from hub.audit import entries
from hub.delivery import Dispatcher
from hub.partners import Delivery
from tests.conftest import DOCUMENTS, rows, token_for

SUMMIT_850 = DOCUMENTS / "summit-850-booked.edi"


@pytest.fixture
def api(hub, settings):
    """`api(role)`: a client of the real app holding a token of that role (named after the role);
    `api(None)` carries no token."""
    app = create_app(settings)
    clients: dict[str | None, TestClient] = {}

    def client(role: str | None = "operations") -> TestClient:
        if role not in clients:
            headers = token_for(settings, role, name=role, partner="P-SUMMIT" if role == "partner" else None) if role else {}
            clients[role] = TestClient(app, headers=headers)
        return clients[role]

    yield client
    app.state.engine.dispose()


def ledger_rows(hub, sql: str, **params) -> list[dict]:
    with hub.ledger.engine.connect() as conn:
        return rows(conn, sql, **params)


def is_problem(response, status: int, *words: str) -> bool:
    body = response.json()
    return (response.status_code == status and response.headers["content-type"] == "application/problem+json"
            and all(w in body["detail"] for w in words))


# -- outbox ---------------------------------------------------------------------------------------------


def test_outbox_lists_shows_and_serves_the_bytes_the_ledger_holds(api, hub, settings):
    hub.ingest_file(SUMMIT_850)
    hub.ingest_file(DOCUMENTS / "lakeside-850-5010-booked.edi")
    listed = api("finance").get("/v1/outbox", params={"partner": "P-SUMMIT"})
    assert listed.status_code == 200
    ack, response = sorted(listed.json(), key=lambda f: f["id"])
    assert [(f["kind"], f["status"], f["partner_id"]) for f in (ack, response)] == [("997", "ready", "P-SUMMIT"), ("855", "ready", "P-SUMMIT")]
    assert len(api().get("/v1/outbox").json()) == 4
    assert [f["kind"] for f in api().get("/v1/outbox", params={"status": "ready", "limit": 1}).json()] == ["855"]  # newest first
    assert api().get("/v1/outbox", params={"status": "dead"}).json() == []

    shown = api().get(f"/v1/outbox/{ack['id']}").json()
    assert "content" not in shown and shown["size"] == ack["size"]
    assert [(a["attempt"], a["method"], a["outcome"]) for a in shown["delivery_attempts"]] == [(1, "pickup", "ready")]

    content = api("integration").get(f"/v1/outbox/{ack['id']}/content")
    [stored] = ledger_rows(hub, "SELECT content, filename FROM outbox WHERE id = :i", i=ack["id"])
    assert content.status_code == 200 and content.content == stored["content"] and len(content.content) == ack["size"]
    assert content.headers["content-type"] == "application/edi-x12"
    assert content.headers["content-disposition"] == f"attachment; filename=\"{stored['filename']}\"; filename*=UTF-8''{stored['filename']}"
    assert content.content == (settings.outbox_dir / "P-SUMMIT" / stored["filename"]).read_bytes()

    for path in ("/v1/outbox/999999", "/v1/outbox/999999/content"):
        assert is_problem(api().get(path), 404, "no outbound file 999999")
    for params, field in (({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit"),
                          ({"partner": "../x"}, "partner")):
        assert is_problem(api().get("/v1/outbox", params=params), 422, field)
    assert is_problem(api().get("/v1/outbox/abc"), 422, "outbox_id")
    assert is_problem(api().get("/v1/outbox/99999999999999999999"), 422, "outbox_id")


def test_dead_files_are_sent_again_as_hub_outbox_redeliver_does_and_audited(api, hub, settings):
    summit = hub.ledger.partner_directory().get("P-SUMMIT")
    hub.ledger.save_partner(summit.model_copy(update={"delivery": Delivery(method="https", url="https://edi.summit.example/in")}))
    hub.ingest_file(SUMMIT_850)
    asyncio.run(Dispatcher(settings, hub.ledger, hub.registry).drain())  # no webhook secret to sign with: dead at once
    dead = sorted(f["id"] for f in api().get("/v1/outbox", params={"status": "dead"}).json())
    assert len(dead) == 2

    assert api("integration").put("/v1/partners/P-SUMMIT/delivery", json={"method": "pickup"}).status_code == 200
    sent = api().post("/v1/outbox/redeliver", json={"partner": "P-SUMMIT", "dead": True})
    assert sent.status_code == 200, sent.text
    assert [(f["id"], f["status"], f["attempts"]) for f in sent.json()] == [(i, "ready", 1) for i in dead]
    assert ledger_rows(hub, "SELECT status FROM outbox ORDER BY id") == [{"status": "ready"}] * 2
    assert sorted(p.name for p in (settings.outbox_dir / "P-SUMMIT").iterdir()) == sorted(f["filename"] for f in sent.json())
    attempts = api().get(f"/v1/outbox/{dead[0]}").json()["delivery_attempts"]
    assert [(a["attempt"], a["method"], a["outcome"]) for a in attempts] == [(1, "https", "dead"), (1, "pickup", "ready")]

    audited = list(reversed(entries(hub.ledger.engine, action="outbox.redeliver")))
    assert [(e["actor"], e["role"], e["target"], e["before"]["status"], e["after"]) for e in audited] == [
        ("operations", "operations", f"outbox:{i}", "dead", {"status": "pending", "attempts": 0}) for i in dead]
    assert "no webhook secret" in audited[0]["before"]["last_error"]

    again = api("admin").post("/v1/outbox/redeliver", json={"ids": [dead[0]]})
    assert [(f["id"], f["status"]) for f in again.json()] == [(dead[0], "ready")]
    assert len(entries(hub.ledger.engine, action="outbox.redeliver")) == 3
    assert api().post("/v1/outbox/redeliver", json={"partner": "P-LAKESIDE", "dead": True}).json() == []


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"ids": [999999]}, 404, "no outbound file 999999"),
    ({"partner": "P-NOBODY", "dead": True}, 404, "P-NOBODY"),
    ({}, 422, "name the files to send again"),
    ({"partner": "P-SUMMIT"}, 422, "name the files to send again"),
    ({"ids": [1], "partner": "P-SUMMIT", "dead": True}, 422, "name the files to send again"),
    ({"ids": []}, 422, "body.ids"),
    ({"ids": ["one"]}, 422, "body.ids.0"),
    ({"ids": [1], "force": True}, 422, "body.force"),
])
def test_a_redelivery_that_names_nothing_sendable_is_refused(api, hub, body, status, words):
    hub.ingest_file(SUMMIT_850)
    refused = api().post("/v1/outbox/redeliver", json=body)
    assert is_problem(refused, status, words), refused.text
    assert entries(hub.ledger.engine, action="outbox.redeliver") == []


def test_outbox_roles(api, hub):
    hub.ingest_file(SUMMIT_850)
    outbox_id = api().get("/v1/outbox").json()[0]["id"]
    for role in ("admin", "integration", "operations", "finance"):
        for path in ("/v1/outbox", f"/v1/outbox/{outbox_id}", f"/v1/outbox/{outbox_id}/content"):
            assert api(role).get(path).status_code == 200, (role, path)
    for role in ("integration", "finance", "partner"):
        assert is_problem(api(role).post("/v1/outbox/redeliver", json={"ids": [outbox_id]}), 403, f"role {role}",
                          "needs one of: admin, operations")
    assert is_problem(api(None).post("/v1/outbox/redeliver", json={"ids": [outbox_id]}), 401, "needs a bearer token")
    assert is_problem(api(None).get("/v1/outbox"), 401, "needs a bearer token")
    assert is_problem(api("partner").get(f"/v1/outbox/{outbox_id}/content"), 403, "role partner")
    assert entries(hub.ledger.engine, action="outbox.redeliver") == []


# -- audit -----------------------------------------------------------------------------------------------


def test_the_audit_log_is_read_by_admin_and_finance_with_filters(api, hub):
    api("integration").post("/v1/partners/P-METRO/disable")
    api("admin").put("/v1/partners/P-SUMMIT/delivery", json={"method": "https", "url": "https://edi.summit.example/in"})
    everything = api("finance").get("/v1/audit")
    assert everything.status_code == 200
    assert [(e["actor"], e["action"], e["target"]) for e in everything.json()] == [
        ("admin", "partner.delivery", "partner:P-SUMMIT"), ("integration", "partner.disable", "partner:P-METRO")]
    assert everything.json()[1]["before"] == {"enabled": True} and everything.json()[1]["after"] == {"enabled": False}
    assert [e["action"] for e in api("admin").get("/v1/audit", params={"actor": "integration"}).json()] == ["partner.disable"]
    assert [e["target"] for e in api("admin").get("/v1/audit", params={"target": "partner:P-S"}).json()] == ["partner:P-SUMMIT"]
    assert [e["actor"] for e in api("admin").get("/v1/audit", params={"action": "partner.delivery"}).json()] == ["admin"]
    assert len(api("admin").get("/v1/audit", params={"limit": 1}).json()) == 1
    today, tomorrow = datetime.now(UTC).date(), datetime.now(UTC).date() + timedelta(days=1)
    assert len(api("admin").get("/v1/audit", params={"since": today.isoformat()}).json()) == 2
    assert api("admin").get("/v1/audit", params={"since": tomorrow.isoformat()}).json() == []
    assert api("admin").get("/v1/audit", params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}).json() == []
    for role in ("operations", "integration", "partner"):
        assert is_problem(api(role).get("/v1/audit"), 403, f"role {role}", "needs one of: admin, finance")
    assert is_problem(api(None).get("/v1/audit"), 401, "needs a bearer token")
    for params, field in (({"since": "yesterday"}, "since"), ({"limit": 0}, "limit"), ({"actor": "a\x00b"}, "actor")):
        assert is_problem(api("admin").get("/v1/audit", params=params), 422, field)


# -- metrics -----------------------------------------------------------------------------------------------


def samples(exposition: str) -> dict[str, float]:
    """`name{labels}` -> value, after checking each family has HELP and TYPE before its samples."""
    found, typed = {}, set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif not line.startswith("# HELP "):
            name, value = line.rsplit(" ", 1)
            assert re.sub(r"(_bucket|_sum|_count)?(\{.*\})?$", "", name) in typed, line
            found[name] = float(value)
    return found


def test_metrics_are_open_and_match_the_ledger(api, hub):
    for sample in ("summit-850-booked.edi", "summit-850-price-mismatch.edi", "pioneer-850-credit-hold.edi", "apex-856-over-shipment.edi"):
        hub.ingest_file(DOCUMENTS / sample)
    hub.ingest_file(SUMMIT_850)  # the same bytes again: a duplicate file
    answer = api(None).get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE hub_posting_duration_ms histogram" in answer.text and "# HELP hub_documents " in answer.text
    got = samples(answer.text)

    states = {r["state"]: r["n"] for r in ledger_rows(hub, "SELECT state, count(*) AS n FROM documents GROUP BY state")}
    for state in ("received", "parsed", "mapped", "decided", "posted", "answered", "held", "rejected", "duplicate"):
        assert got[f'hub_documents{{state="{state}"}}'] == states.get(state, 0), state
    assert states["held"] == 3 and states["answered"] == 1
    queues = {r["queue"]: r["n"] for r in ledger_rows(hub, "SELECT queue, count(*) AS n FROM exceptions WHERE status = 'open' GROUP BY queue")}
    assert queues and all(got[f'hub_exceptions_open{{queue="{q}"}}'] == n for q, n in queues.items())
    assert got['hub_exceptions_open{queue="payables"}'] == queues.get("payables", 0)
    outcomes = {r["outcome"]: r["n"] for r in ledger_rows(hub, "SELECT outcome, count(*) AS n FROM postings GROUP BY outcome")}
    assert outcomes and all(got[f'hub_posting_attempts_total{{outcome="{o}"}}'] == n for o, n in outcomes.items())
    assert got['hub_posting_attempts_total{outcome="failed"}'] == outcomes.get("failed", 0)

    durations = [r["duration_ms"] for r in ledger_rows(hub, "SELECT duration_ms FROM postings")]
    assert got["hub_posting_duration_ms_count"] == len(durations) == got['hub_posting_duration_ms_bucket{le="+Inf"}']
    assert got["hub_posting_duration_ms_sum"] == pytest.approx(sum(durations))
    for le in (5, 10, 25, 50, 100, 250, 500, 1000, 2500):
        assert got[f'hub_posting_duration_ms_bucket{{le="{le}"}}'] == sum(1 for d in durations if d <= le), le

    assert (got["hub_workers_alive"], got["hub_queue_files"], got["hub_queue_documents"], got["hub_queue_oldest_seconds"]) == (0, 0, 0, 0)
    outbox = {r["status"]: r["n"] for r in ledger_rows(hub, "SELECT status, count(*) AS n FROM outbox GROUP BY status")}
    assert outbox["ready"] >= 4 and all(got[f'hub_outbox_files{{status="{s}"}}'] == outbox.get(s, 0) for s in ("pending", "ready", "delivered", "dead"))
    files = {r["status"]: r["n"] for r in ledger_rows(hub, "SELECT status, count(*) AS n FROM interchanges GROUP BY status")}
    assert files["duplicate"] == 1
    assert all(got[f'hub_interchanges_total{{status="{s}"}}'] == files.get(s, 0) for s in ("received", "processed", "rejected", "duplicate"))


def test_metrics_label_values_are_escaped():
    assert escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


# -- documents -----------------------------------------------------------------------------------------------


def test_documents_are_found_by_type_reference_date_and_page(api, hub):
    for sample in ("summit-850-booked.edi", "summit-850-price-mismatch.edi", "apex-856-over-shipment.edi"):
        hub.ingest_file(DOCUMENTS / sample)
    client = api("finance")
    everything = client.get("/v1/documents").json()
    assert len(everything) == 3 and all("created_at" in d for d in everything)
    assert [d["reference"] for d in client.get("/v1/documents", params={"type": "850"}).json()] == ["SUM-PO-1002", "SUM-PO-1001"]
    [found] = client.get("/v1/documents", params={"reference": "SUM-PO-1001"}).json()
    assert (found["doc_type"], found["state"]) == ("850", "answered")
    assert client.get("/v1/documents", params={"reference": "SUM-PO-100"}).json() == []  # exact, not a prefix
    assert [d["id"] for d in client.get("/v1/documents", params={"limit": 2, "offset": 1}).json()] == [d["id"] for d in everything[1:3]]

    today = datetime.now(UTC).date()
    assert len(client.get("/v1/documents", params={"received_from": today.isoformat(), "received_to": today.isoformat()}).json()) == 3
    assert client.get("/v1/documents", params={"received_to": (today - timedelta(days=1)).isoformat()}).json() == []
    assert client.get("/v1/documents", params={"received_from": (today + timedelta(days=1)).isoformat()}).json() == []
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert len(client.get("/v1/documents", params={"received_from": an_hour_ago}).json()) == 3
    assert client.get("/v1/documents", params={"received_to": an_hour_ago}).json() == []
    assert len(client.get("/v1/documents", params={"received_from": "0001-01-01", "received_to": "9999-12-31T23:59:59-05:00"}).json()) == 3
    assert client.get("/v1/documents", params={"received_from": "9999-12-31T23:00:00-05:00"}).json() == []  # past the last moment
    for params, field in (({"received_from": "last week"}, "received_from"), ({"offset": -1}, "offset"),
                          ({"type": "8\x0050"}, "type"), ({"state": "lost"}, "state")):
        assert is_problem(client.get("/v1/documents", params=params), 422, field)


def test_a_documents_raw_file_canonical_form_trace_and_timeline(api, hub):
    [report] = hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    client = api("integration")
    doc_id = report.document_id
    raw = client.get(f"/v1/documents/{doc_id}/raw")
    assert raw.status_code == 200 and raw.content == (DOCUMENTS / "summit-850-price-mismatch.edi").read_bytes()
    assert raw.headers["content-type"] == "application/edi-x12"
    assert raw.headers["content-disposition"].startswith('attachment; filename="summit-850-price-mismatch.edi"')

    [stored] = ledger_rows(hub, "SELECT canonical, decisions FROM documents WHERE id = :i", i=doc_id)
    canonical = client.get(f"/v1/documents/{doc_id}/canonical").json()
    assert canonical["po_number"] == "SUM-PO-1002" and canonical == _json(stored["canonical"])
    trace = client.get(f"/v1/documents/{doc_id}/trace").json()
    assert trace == _json(stored["decisions"]) and trace
    events = client.get(f"/v1/documents/{doc_id}/events").json()
    assert [e["to_state"] for e in events] == ["received", "parsed", "mapped", "decided", "held"]
    assert events == client.get(f"/v1/documents/{doc_id}").json()["events"]

    for part in ("", "/raw", "/canonical", "/trace", "/events"):
        assert is_problem(client.get(f"/v1/documents/999999{part}"), 404, "no document 999999")
        assert is_problem(client.get(f"/v1/documents/0{part}"), 422, "document_id")
        assert is_problem(api(None).get(f"/v1/documents/{doc_id}{part}"), 401, "needs a bearer token")
        assert is_problem(api("partner").get(f"/v1/documents/{doc_id}{part}"), 403, "role partner")


def test_a_document_rejected_before_mapping_has_no_canonical_form(api, hub, tmp_path):
    bad = tmp_path / "bad-850.edi"
    bad.write_bytes(SUMMIT_850.read_bytes().replace(b"BEG*00*SA*", b"BEG*00*ZZZZ*"))
    [report] = hub.ingest_file(bad)
    assert report.state == "rejected" and report.document_id
    client = api("operations")
    assert is_problem(client.get(f"/v1/documents/{report.document_id}/canonical"), 404, "no canonical form", "rejected")
    assert client.get(f"/v1/documents/{report.document_id}/trace").json() == []
    assert client.get(f"/v1/documents/{report.document_id}/raw").content == bad.read_bytes()


def _json(value):
    """A JSON column as a raw SQL read gives it back (text on SQLite, parsed on PostgreSQL)."""
    import json

    return json.loads(value) if isinstance(value, str) else value

