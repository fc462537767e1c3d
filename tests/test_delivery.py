"""Outbound delivery: pushes to a partner's URL with retry and dead-lettering, pickup folders,
redelivery, one partner's outage never delaying another, and `hub outbox`.

Outbound files come from ingesting the scenario's orders (Summit's 850 -> 997 + 855; Lakeside's
5010 850 -> 999 + 855). Partners' endpoints are real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from hub.cli import main
from hub.credentials import CredentialStore
from hub.delivery import Dispatcher, OutboxError
from hub.partners import Delivery
from hub.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_matches
from tests.conftest import DOCUMENTS, hub_command

SUMMIT_850 = DOCUMENTS / "summit-850-booked.edi"
LAKESIDE_850 = DOCUMENTS / "lakeside-850-5010-booked.edi"
QUICK = {"delivery_attempts": 4, "delivery_backoff_seconds": 0.01, "delivery_backoff_max_seconds": 0.02, "delivery_timeout_seconds": 5}


class Receiver:
    """A partner's endpoint: answers each POST with the next status of its script (the last one
    repeats) and keeps every request (headers, body)."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/edi"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        made.append(Receiver(*statuses))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def push_to(hub, settings, partner_id: str, url: str, attempts: int | None = None, secret: bool = True) -> str | None:
    """Make `partner_id` take its files by https at `url`; return its new webhook secret."""
    partner = hub.ledger.partner_directory().get(partner_id)
    hub.ledger.save_partner(partner.model_copy(update={"delivery": Delivery(method="https", url=url, attempts=attempts)}))
    return CredentialStore.for_settings(settings, hub.ledger.engine).rotate_secret(partner_id) if secret else None


def dispatcher(hub, settings, **changes) -> Dispatcher:
    return Dispatcher(settings.model_copy(update={**QUICK, **changes}), hub.ledger, hub.registry)


def outbox(hub, partner_id: str) -> list:
    return sorted(hub.ledger.outbox_files(partner_id), key=lambda row: row.id)


def attempts(hub, outbox_id: int) -> list[tuple]:
    return [(a.attempt, a.method, a.outcome, a.status_code) for a in hub.ledger.delivery_attempts(outbox_id)]


def content(hub, outbox_id: int) -> bytes:
    with hub.ledger.engine.connect() as conn:
        return conn.execute(text("SELECT content FROM outbox WHERE id = :i"), {"i": outbox_id}).scalar()


# -- pushes ---------------------------------------------------------------------------------------


def test_a_push_that_fails_twice_is_delivered_on_the_third_attempt_signed_with_the_partners_secret(hub, settings, receivers):
    receiver = receivers(500, 500, 200)
    secret = push_to(hub, settings, "P-SUMMIT", receiver.url)
    hub.ingest_file(SUMMIT_850)
    assert not (settings.outbox_dir / "P-SUMMIT").exists()  # a push partner's files are not left for pickup
    assert [row.status for row in outbox(hub, "P-SUMMIT")] == ["pending", "pending"]

    results = asyncio.run(dispatcher(hub, settings).drain())

    ack, response = outbox(hub, "P-SUMMIT")
    assert [(r.outbox_id, r.status, r.attempts) for r in results] == [(ack.id, "delivered", 3), (response.id, "delivered", 1)]
    assert (ack.kind, ack.status, ack.attempts, ack.last_error) == ("997", "delivered", 3, None) and ack.delivered_at
    assert attempts(hub, ack.id) == [(1, "https", "failed", 500), (2, "https", "failed", 500), (3, "https", "delivered", 200)]
    assert attempts(hub, response.id) == [(1, "https", "delivered", 200)]
    assert [a.error for a in hub.ledger.delivery_attempts(ack.id)][0].startswith(f"{receiver.url} answered 500")
    assert [headers["X-Hub-Delivery"] for headers, _ in receiver.requests] == [str(ack.id)] * 3 + [str(response.id)]
    for headers, body in receiver.requests:
        assert signature_matches(secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert headers["Content-Type"] == "application/edi-x12"
    assert receiver.requests[0][1] == content(hub, ack.id) and receiver.requests[-1][1] == content(hub, response.id)


def test_two_worker_processes_never_push_the_same_file_and_keep_the_partners_order(hub, settings, receivers):
    receiver = receivers(200)
    push_to(hub, settings, "P-SUMMIT", receiver.url)
    hub.ingest_file(SUMMIT_850)
    ack, response = outbox(hub, "P-SUMMIT")
    one, other = dispatcher(hub, settings), dispatcher(hub, settings)  # as in two `hub worker` processes
    assert hub.ledger.claim_outbox(ack.id, one.owner, 60)  # the first is busy with the 997

    assert asyncio.run(other.drain()) == []  # leaves the partner to it: not the 997, nor the 855 before it
    assert receiver.requests == []
    results = asyncio.run(one.drain())
    assert [(r.outbox_id, r.status) for r in results] == [(ack.id, "delivered"), (response.id, "delivered")]
    assert [headers["X-Hub-Delivery"] for headers, _ in receiver.requests] == [str(ack.id), str(response.id)]
    assert asyncio.run(other.drain()) == [] and len(receiver.requests) == 2


def test_a_push_that_always_fails_is_dead_after_the_partners_attempts_and_redelivery_sends_it(hub, settings, receivers):
    receiver = receivers(503)
    push_to(hub, settings, "P-SUMMIT", receiver.url, attempts=3)
    hub.ingest_file(SUMMIT_850)
    results = asyncio.run(dispatcher(hub, settings).drain())
    assert [(r.status, r.attempts) for r in results] == [("dead", 3), ("dead", 3)]
    ack, response = outbox(hub, "P-SUMMIT")
    assert (ack.status, ack.attempts) == ("dead", 3) and "answered 503 Service Unavailable" in ack.last_error
    assert attempts(hub, ack.id) == [(1, "https", "failed", 503), (2, "https", "failed", 503), (3, "https", "dead", 503)]
    assert len(receiver.requests) == 6

    receiver.statuses = [200]  # the partner fixed its server
    deliver = dispatcher(hub, settings)
    assert deliver.redeliver(dead_of_partner="P-SUMMIT") == [ack.id, response.id]
    assert [(row.status, row.attempts, row.last_error) for row in outbox(hub, "P-SUMMIT")] == [("pending", 0, None)] * 2
    assert [r.status for r in asyncio.run(deliver.drain())] == ["delivered", "delivered"]
    assert attempts(hub, ack.id)[3:] == [(1, "https", "delivered", 200)]  # the first round stays on record
    assert deliver.redeliver(dead_of_partner="P-SUMMIT") == []
    with pytest.raises(OutboxError, match="no outbound file 999"):
        deliver.redeliver([ack.id, 999])


def test_a_refused_push_is_dead_at_once(hub, settings, receivers):
    receiver = receivers(400)
    push_to(hub, settings, "P-SUMMIT", receiver.url)
    hub.ingest_file(SUMMIT_850)
    asyncio.run(dispatcher(hub, settings).drain())
    ack, _ = outbox(hub, "P-SUMMIT")
    assert (ack.status, ack.attempts) == ("dead", 1) and "answered 400 Bad Request: no" in ack.last_error
    assert attempts(hub, ack.id) == [(1, "https", "dead", 400)]


def test_a_push_with_no_secret_to_sign_with_is_dead_at_once(hub, settings, receivers):
    receiver = receivers(200)
    push_to(hub, settings, "P-SUMMIT", receiver.url, secret=False)
    hub.ingest_file(SUMMIT_850)
    asyncio.run(dispatcher(hub, settings).drain())
    assert [(row.status, row.attempts, row.last_error) for row in outbox(hub, "P-SUMMIT")] == [
        ("dead", 1, "P-SUMMIT has no webhook secret to sign with; run hub partner secret P-SUMMIT")] * 2
    assert receiver.requests == []


def test_a_restart_continues_the_count_of_attempts(hub, settings):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}/edi"
    closed.close()  # nothing listens there: every attempt is refused
    push_to(hub, settings, "P-SUMMIT", url)
    hub.ingest_file(SUMMIT_850)
    ack, _ = outbox(hub, "P-SUMMIT")
    with hub.ledger.writer.begin() as conn:  # two attempts were made before the hub stopped
        conn.execute(text("UPDATE outbox SET attempts = 2 WHERE id = :i"), {"i": ack.id})
    asyncio.run(dispatcher(hub, settings).drain())
    ack, response = outbox(hub, "P-SUMMIT")
    assert (ack.status, ack.attempts) == ("dead", QUICK["delivery_attempts"]) and "could not reach" in ack.last_error
    assert [a[:3] for a in attempts(hub, ack.id)] == [(3, "https", "failed"), (4, "https", "dead")]
    assert (response.status, response.attempts) == ("dead", QUICK["delivery_attempts"])


def test_a_partner_whose_endpoint_hangs_delays_no_one_else(hub, settings, receivers):
    hanging = socket.socket()  # accepts connections, never answers
    hanging.bind(("127.0.0.1", 0))
    hanging.listen()
    healthy = receivers(200)
    push_to(hub, settings, "P-SUMMIT", f"http://127.0.0.1:{hanging.getsockname()[1]}/edi")
    push_to(hub, settings, "P-LAKESIDE", healthy.url)
    deliver = dispatcher(hub, settings, delivery_timeout_seconds=0.5, delivery_backoff_seconds=30, delivery_backoff_max_seconds=30)
    deliver.poll_seconds = 60  # only wake() brings delivery in time

    def ingest_and_wake():  # as a worker thread does
        hub.ingest_file(SUMMIT_850)
        hub.ingest_file(LAKESIDE_850)
        deliver.wake()

    async def scenario() -> float:
        stop = asyncio.Event()
        service = asyncio.create_task(deliver.run(stop))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await asyncio.to_thread(ingest_and_wake)
        while len(healthy.requests) < 2 and time.monotonic() - started < 10:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        await asyncio.sleep(0.7)  # the hanging partner's first attempt times out meanwhile
        stop.set()
        await service
        return took

    try:
        took = asyncio.run(scenario())
    finally:
        hanging.close()
    assert took < 3, f"Lakeside waited {took:.1f} s behind Summit"
    assert [row.status for row in outbox(hub, "P-LAKESIDE")] == ["delivered", "delivered"]
    ack, response = outbox(hub, "P-SUMMIT")
    assert (ack.status, ack.attempts) == ("pending", 1) and "did not answer within 0.5 s" in ack.last_error
    assert (response.status, response.attempts) == ("pending", 0)  # in order: waits behind the 997


def test_delivery_hears_at_once_of_files_another_process_made(hub, settings, receivers):
    """On PostgreSQL new outbound files wake the delivery of every process (LISTEN/NOTIFY), so a
    `hub deliver` apart from the workers sends them at once, not at its next look."""
    if not settings.ledger_url.startswith("postgresql"):
        pytest.skip("SQLite has no notices: there delivery looks every few seconds and when a worker in its process settles a file")
    healthy = receivers(200)
    push_to(hub, settings, "P-SUMMIT", healthy.url)
    deliver = dispatcher(hub, settings)
    deliver.poll_seconds = 120  # its next look is far away

    async def scenario() -> float:
        stop = asyncio.Event()
        service = asyncio.create_task(deliver.run(stop))
        await asyncio.sleep(1)  # it has looked, found nothing and listens
        started = time.monotonic()
        await asyncio.to_thread(hub.ingest_file, SUMMIT_850)  # as in another process: no wake()
        while len(healthy.requests) < 2 and time.monotonic() - started < 15:
            await asyncio.sleep(0.02)
        stop.set()
        await service
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert [row.status for row in outbox(hub, "P-SUMMIT")] == ["delivered", "delivered"], f"after {took:.1f} s"


# -- pickup and the CLI -----------------------------------------------------------------------------


def test_pickup_files_wait_in_the_partners_folder_and_the_cli_lists_shows_and_redelivers_them(hub, settings):
    hub.ingest_file(SUMMIT_850)
    ack, response = outbox(hub, "P-SUMMIT")
    folder = settings.outbox_dir / "P-SUMMIT"
    assert sorted(p.name for p in folder.iterdir()) == sorted([ack.filename, response.filename])
    assert (folder / ack.filename).read_bytes() == content(hub, ack.id)
    assert (ack.status, ack.attempts) == ("ready", 1) and attempts(hub, ack.id) == [(1, "pickup", "ready", None)]

    listing = hub_command(settings, "outbox", "list", "--partner", "P-SUMMIT")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].split()[:5] == ["ID", "PARTNER", "KIND", "FILE", "STATUS"]
    rows = {line.split()[0]: line.split()[:6] for line in listing.stdout.splitlines()[1:]}
    assert rows[str(response.id)] == [str(response.id), "P-SUMMIT", "855", response.filename, "ready", "1"]
    assert rows[str(ack.id)][2:5] == ["997", ack.filename, "ready"]

    (folder / ack.filename).unlink()  # the partner took it over SFTP
    assert hub.ledger.picked_up("P-SUMMIT", ack.filename)
    as_json = hub_command(settings, "outbox", "list", "--json", "--status", "delivered")
    assert [(o["id"], o["kind"], o["status"]) for o in map(json.loads, as_json.stdout.splitlines())] == [(ack.id, "997", "delivered")]

    again = hub_command(settings, "outbox", "redeliver", str(ack.id))
    assert again.returncode == 0, again.stderr
    assert f"{ack.id} {ack.filename} (P-SUMMIT): back in P-SUMMIT's pickup folder" in again.stdout
    assert (folder / ack.filename).read_bytes() == content(hub, ack.id)
    shown = hub_command(settings, "outbox", "show", str(ack.id))
    assert "status:     ready (in the partner's pickup folder, not yet taken)" in shown.stdout
    assert shown.stdout.count("pickup  ready") == 2  # the first placement, and the one after redelivery

    nothing = hub_command(settings, "outbox", "deliver")
    assert (nothing.returncode, nothing.stdout.strip()) == (0, "nothing to deliver: no file is pending")


def test_pickup_files_the_service_finds_pending_are_placed_together_and_one_that_cannot_be_placed_is_retried_until_dead(hub, settings):
    folder = settings.outbox_dir / "P-SUMMIT"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("in the way")  # the partner's folder cannot be made: `hub ingest` cannot place the files
    hub.ingest_file(SUMMIT_850)
    assert [(row.status, row.attempts) for row in outbox(hub, "P-SUMMIT")] == [("pending", 1), ("pending", 1)]
    with hub.ledger.writer.begin() as conn:  # the leases of `hub ingest`'s attempts ran out
        conn.execute(text("UPDATE outbox SET lease_until = NULL"))

    asyncio.run(dispatcher(hub, settings).drain())  # still in the way: each file is tried until it is dead
    dead = outbox(hub, "P-SUMMIT")
    assert [(row.status, row.attempts) for row in dead] == [("dead", QUICK["delivery_attempts"])] * 2
    assert "could not put" in dead[0].last_error
    assert [a[2] for a in attempts(hub, dead[0].id)] == ["failed"] * (QUICK["delivery_attempts"] - 1) + ["dead"]

    folder.unlink()
    hub.ledger.reopen_outbox([row.id for row in dead])
    asyncio.run(dispatcher(hub, settings).drain())
    placed = outbox(hub, "P-SUMMIT")
    assert [(row.status, row.attempts) for row in placed] == [("ready", 1), ("ready", 1)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(row.filename for row in placed)
    assert all((folder / row.filename).read_bytes() == content(hub, row.id) for row in placed)


def test_hub_outbox_deliver_pushes_dead_letters_and_redelivers(hub, settings, receivers):
    receiver = receivers(503)
    push_to(hub, settings, "P-SUMMIT", receiver.url, attempts=2)
    hub.ingest_file(SUMMIT_850)
    ack, response = outbox(hub, "P-SUMMIT")
    quick = {"HUB_DELIVERY_BACKOFF_SECONDS": "0.01", "HUB_DELIVERY_BACKOFF_MAX_SECONDS": "0.02"}

    failed = hub_command(settings, "outbox", "deliver", **quick)
    assert failed.returncode == 1, failed.stderr
    assert f"{ack.id} {ack.filename} (P-SUMMIT): dead after 2 attempts: {receiver.url} answered 503" in failed.stdout
    assert failed.stdout.strip().endswith("2 dead")

    receiver.statuses = [200]
    queued = hub_command(settings, "outbox", "redeliver", "--partner", "P-SUMMIT", "--dead")
    assert queued.returncode == 0, queued.stderr
    assert f"{response.id} {response.filename} (P-SUMMIT): queued to send again by https" in queued.stdout
    delivered = hub_command(settings, "outbox", "deliver", **quick)
    assert delivered.returncode == 0, delivered.stderr
    assert f"{ack.id} {ack.filename} (P-SUMMIT): delivered (HTTP 200) after 1 attempt" in delivered.stdout
    shown = json.loads(hub_command(settings, "outbox", "show", "--json", str(ack.id)).stdout)
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in shown["delivery_attempts"]] == [(1, "failed", 503), (2, "dead", 503), (1, "delivered", 200)]


def test_hub_outbox_says_what_is_wrong_with_what_it_was_asked(hub, settings, monkeypatch, capsys):
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    assert main(["outbox", "show", "999"]) == 2
    assert "error: there is no outbound file 999" in capsys.readouterr().err
    assert main(["outbox", "redeliver", "--dead"]) == 2
    assert "error: name the files to send again" in capsys.readouterr().err
    assert main(["outbox", "redeliver", "999"]) == 2
    assert "error: there is no outbound file 999; nothing was sent again" in capsys.readouterr().err
