"""The signed webhook, against the running service on loopback: every scenario sample posted by
its partner ends as expected.yaml says with its acknowledgments ready for pickup; every refusal
(signature, replay, size, content, idempotency, partner) says why and leaves the ledger as it was."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from hub.credentials import CredentialStore
from hub.ledger import tables as t
from hub.signing import signed_headers
from tests.conftest import DOCUMENTS, token_for
from tests.live import interchange_count, running, wait_until
from tests.scenario_checks import EXPECTED, PARTNER_FOR_FILE, check_outcome, report_for

CONTENT_TYPE = {".edi": "application/edi-x12", ".csv": "text/csv", ".json": "application/json", ".xml": "application/xml"}


def secret_for(hub, partner_id: str) -> str:
    return CredentialStore.for_settings(hub.settings, hub.ledger.engine).rotate_secret(partner_id)


def post(service, partner_id: str, body: bytes, secret: str | None, headers: dict | None = None, **params) -> httpx.Response:
    signed = signed_headers(secret, body) if secret else {}
    return httpx.post(f"http://127.0.0.1:{service.http_port}/v1/inbound/{partner_id}", content=body,
                      headers={**signed, **(headers or {})}, params=params, timeout=60)


def outbox_settled(hub) -> bool:
    with hub.ledger.engine.connect() as conn:
        return conn.execute(select(t.outbox.c.id).where(t.outbox.c.status == "pending")).first() is None


def document_states(hub, interchange_id: int) -> list[str]:
    with hub.ledger.engine.connect() as conn:
        return list(conn.execute(select(t.documents.c.state).where(t.documents.c.interchange_id == interchange_id)).scalars())


def sender_of(sample: str) -> str:
    path = DOCUMENTS / sample
    return PARTNER_FOR_FILE.get(path.suffix) or EXPECTED[sample]["partner"]


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_each_scenario_sample_posted_by_webhook_ends_as_expected(sample, hub, erp, settings):
    partner = sender_of(sample)
    secret = secret_for(hub, partner)
    body = (DOCUMENTS / sample).read_bytes()
    with running(settings) as service:
        answer = post(service, partner, body, secret, {"Content-Type": CONTENT_TYPE[(DOCUMENTS / sample).suffix], "X-Hub-Filename": sample}, wait=20)
        assert answer.status_code == 202, answer.text
        found = answer.json()
        assert answer.headers["location"] == f"/v1/interchanges/{found['interchange_id']}"
        assert found["status"] == "processed" and len(found["documents"]) == 1, found
        wait_until(lambda: outbox_settled(hub), what="the outbox to be delivered")
        status = httpx.get(f"http://127.0.0.1:{service.http_port}/v1/interchanges/{found['interchange_id']}",
                           headers=token_for(settings, "partner", partner=partner)).json()
    assert (status["channel"], status["filename"], status["partner_id"]) == ("webhook", sample, partner)
    assert status["documents"][0]["id"] == found["documents"][0]["id"]
    check_outcome(sample, report_for(hub, found["interchange_id"]), hub, erp, settings)


@pytest.fixture
def live(hub, settings):
    """The running service, Summit's webhook secret, and the summit 850 to send."""
    secret = secret_for(hub, "P-SUMMIT")
    with running(settings) as service:
        yield service, secret, (DOCUMENTS / "summit-850-booked.edi").read_bytes()


def refused(answer: httpx.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and words in problem["detail"], problem


def test_the_answer_comes_once_the_bytes_are_committed(live, hub):
    service, secret, body = live
    answer = post(service, "P-SUMMIT", body, secret)
    assert answer.status_code == 202
    interchange_id = answer.json()["interchange_id"]
    with hub.ledger.engine.connect() as conn:
        raw = conn.execute(select(t.interchanges.c.raw).where(t.interchanges.c.id == interchange_id)).scalar_one()
    assert raw == body
    wait_until(lambda: document_states(hub, interchange_id) == ["answered"], what="the order to be booked")


def test_unsigned_forged_stale_and_secretless_posts_are_refused(live, hub):
    service, secret, body = live
    before = interchange_count(hub.ledger)
    refused(post(service, "P-SUMMIT", body, None), 401, "not signed")
    refused(post(service, "P-SUMMIT", body, "whsec_not-the-secret"), 401, "does not match")
    tampered = signed_headers(secret, body)
    refused(post(service, "P-SUMMIT", body + b"\n", None, tampered), 401, "does not match")
    stale = signed_headers(secret, body, at=time.time() - 301)
    refused(post(service, "P-SUMMIT", body, None, stale), 401, "in the past")
    future = signed_headers(secret, body, at=time.time() + 600)
    refused(post(service, "P-SUMMIT", body, None, future), 401, "in the future")
    refused(post(service, "P-SUMMIT", body, None, {"X-Hub-Timestamp": "yesterday", "X-Hub-Signature": "sha256=00"}), 401, "unix seconds")
    refused(post(service, "P-APEX", body, secret), 401, "no webhook secret")
    assert interchange_count(hub.ledger) == before


def test_a_replayed_request_is_refused_and_leaves_no_trace(live, hub):
    service, secret, body = live
    headers = signed_headers(secret, body)
    assert post(service, "P-SUMMIT", body, None, headers).status_code == 202
    after_first = interchange_count(hub.ledger)
    refused(post(service, "P-SUMMIT", body, None, headers), 401, "replay")
    assert interchange_count(hub.ledger) == after_first


def test_an_idempotency_key_gives_the_first_answer_back_and_refuses_other_bytes(live, hub):
    service, secret, body = live
    first = post(service, "P-SUMMIT", body, secret, {"Idempotency-Key": "po-4500012345"}, wait=20)
    assert first.status_code == 202
    count = interchange_count(hub.ledger)
    again = post(service, "P-SUMMIT", body, secret, {"Idempotency-Key": "po-4500012345"})
    assert again.status_code == 202
    assert again.json()["interchange_id"] == first.json()["interchange_id"] and again.json()["replayed"] is True
    assert again.json()["documents"] == first.json()["documents"]
    other = (DOCUMENTS / "summit-850-price-mismatch.edi").read_bytes()
    refused(post(service, "P-SUMMIT", other, secret, {"Idempotency-Key": "po-4500012345"}), 409, "used for other bytes")
    refused(post(service, "P-SUMMIT", other, secret, {"Idempotency-Key": "x" * 201}), 400, "Idempotency-Key")
    assert interchange_count(hub.ledger) == count


def test_the_same_bytes_signed_anew_are_received_as_a_duplicate(live, hub):
    service, secret, body = live
    first = post(service, "P-SUMMIT", body, secret).json()
    time.sleep(1.1)  # a new timestamp, so a new signature
    second = post(service, "P-SUMMIT", body, secret)
    assert second.status_code == 202
    assert second.json()["status"] == "duplicate" and second.json()["duplicate_of"] == first["interchange_id"]


def test_a_request_sent_eight_times_at_once_is_taken_once(live, hub):
    service, secret, body = live
    replayed = signed_headers(secret, body)
    anew = [signed_headers(secret, body, at=time.time() - n) for n in range(1, 9)]  # the same bytes, each signed at its own second
    before = interchange_count(hub.ledger)
    with ThreadPoolExecutor(8) as pool:
        same_request = list(pool.map(lambda _: post(service, "P-SUMMIT", body, None, replayed), range(8)))
        same_bytes = list(pool.map(lambda headers: post(service, "P-SUMMIT", body, None, headers), anew))
    assert sorted(answer.status_code for answer in same_request) == [202] + [401] * 7
    for answer in same_request:
        if answer.status_code == 401:
            refused(answer, 401, "replay")
    [first] = [answer.json()["interchange_id"] for answer in same_request if answer.status_code == 202]
    assert {(answer.status_code, answer.json()["status"], answer.json()["duplicate_of"]) for answer in same_bytes} == {(202, "duplicate", first)}
    assert interchange_count(hub.ledger) == before + 9


def test_unknown_and_disabled_partners(live, hub):
    service, secret, body = live
    before = interchange_count(hub.ledger)
    refused(post(service, "P-NOBODY", body, secret), 404, "no trading partner P-NOBODY")
    directory = hub.ledger.partner_directory()
    hub.ledger.save_partner(directory.get("P-SUMMIT").model_copy(update={"enabled": False}))
    refused(post(service, "P-SUMMIT", body, secret), 403, "disabled")
    assert interchange_count(hub.ledger) == before


def test_a_100_mb_body_is_refused_without_being_stored(live, hub):
    service, secret, _ = live
    before = interchange_count(hub.ledger)
    huge = b"ISA" + b"*" * (100 * 1024 * 1024)
    refused(post(service, "P-SUMMIT", huge, None, {"X-Hub-Timestamp": "0", "X-Hub-Signature": "sha256=0"}), 413, "over the limit")
    assert interchange_count(hub.ledger) == before


def test_a_body_just_over_a_small_limit_is_refused(hub, settings):
    small = settings.model_copy(update={"max_file_bytes": 500})
    secret = secret_for(hub, "P-SUMMIT")
    body = (DOCUMENTS / "summit-850-booked.edi").read_bytes()
    assert len(body) == 522
    with running(small) as service:
        refused(post(service, "P-SUMMIT", body, secret), 413, "limit of 500 bytes")
        # a sender that announces 5 GB is answered at once, before it sends them
        with socket.create_connection(("127.0.0.1", service.http_port)) as raw:
            raw.sendall(b"POST /v1/inbound/P-SUMMIT HTTP/1.1\r\nHost: hub\r\nContent-Length: 5000000000\r\n\r\nISA*00*")
            answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"application/problem+json" in answer
    assert interchange_count(hub.ledger) == 0


def test_content_the_partner_does_not_send_is_refused(live, hub):
    service, secret, body = live
    before = interchange_count(hub.ledger)
    refused(post(service, "P-SUMMIT", b"\x89PNG\r\n\x1a\n", secret, {"Content-Type": "image/png"}), 415, "image/png is not taken")
    refused(post(service, "P-SUMMIT", b'{"order": 1}', secret, {"Content-Type": "application/json"}), 415, "the body is JSON")
    refused(post(service, "P-SUMMIT", b"\x00\x01binary", secret), 415, "not in a format P-SUMMIT sends")
    assert interchange_count(hub.ledger) == before
