"""The ledger's work queue (hub.ledger.queue) on both databases: leases that run out, lanes that
keep a customer's documents and an item's in received order, a claim taken over that does
nothing, a document that keeps killing its worker set aside, and `hub status`."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from hub.ledger.queue import SMALL_FILE_BYTES, WorkQueue, ready_in_order
from tests.conftest import DOCUMENTS, hub_command, rows

ELSEWHERE = "another-machine:4242:abcdef/1"  # a worker on another host: only its lease can free its claims


def received(hub, *names: str) -> list[int]:
    return [hub.ledger.receive((DOCUMENTS / name).read_bytes(), "sftp", name, None)[0] for name in names]


def test_documents_sharing_a_lane_are_taken_in_received_order_the_rest_in_parallel():
    doc = lambda i, lanes: SimpleNamespace(id=i, lanes=lanes)  # noqa: E731
    window = [doc(1, "customer:A item:X"), doc(2, "customer:B item:Y"), doc(3, "customer:A item:Z"), doc(4, "customer:C item:X"),
              doc(5, "customer:D item:W")]
    everything = ready_in_order(window, 10, lambda row: True)
    assert everything == [1, 2, 3, 4, 5]  # one worker may take a lane's documents together, in order
    held_elsewhere = {1}
    assert ready_in_order(window, 10, lambda row: row.id not in held_elsewhere) == [2, 5]  # 3 waits for A, 4 for X
    assert ready_in_order(window, 1, lambda row: row.id not in held_elsewhere) == [2]


def test_a_dead_workers_claim_returns_when_its_lease_runs_out(hub):
    first, second = received(hub, "pioneer-850-credit-hold.edi", "summit-850-booked.edi")
    queue = WorkQueue(hub.ledger, lease_seconds=1)
    assert queue.claim_file(ELSEWHERE) == first
    assert queue.claim_file("here:1:a/1", first) is None  # held
    assert queue.release_orphans() == []  # another machine's claims wait for their lease
    assert queue.claim_file("here:1:a/1") == second  # the next file meanwhile
    [queued] = hub._split([second], "here:1:a/1")
    assert queued.state == "mapped"  # not decided yet: the earlier file may hold orders ahead of it
    time.sleep(1.2)
    assert queue.claim_file("here:1:a/1") == first  # run out: taken over
    [report] = hub._split([first], "here:1:a/1")
    assert report.state == "held"  # a small file with nothing ahead of it is decided as it is split

    [document_id] = queue.claim_documents(ELSEWHERE, 10)
    assert document_id == queued.document_id
    assert queue.claim_documents("here:1:a/1", 10) == []
    time.sleep(1.2)
    assert queue.claim_documents("here:1:a/1", 10) == [document_id]
    assert hub._decide([document_id], ELSEWHERE) == []  # the first claimer, back too late, does nothing
    [report] = hub._decide([document_id], "here:1:a/1")
    assert (report.state, report.reference) == ("answered", "SUM-PO-1001")
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT state, attempts, lease_owner FROM documents ORDER BY interchange_id") == [
            {"state": "held", "attempts": 0, "lease_owner": None},
            {"state": "answered", "attempts": 2, "lease_owner": "here:1:a/1"}]


def test_a_later_order_of_the_same_customer_waits_for_the_earlier_one(hub):
    ahead, first, second = received(hub, "pioneer-850-credit-hold.edi", "summit-850-booked.edi", "summit-850-price-mismatch.edi")
    queue = WorkQueue(hub.ledger, lease_seconds=60)
    assert queue.claim_documents("w:1:a/1", 10) == []  # nothing split yet
    for worker, file_id in (("w:1:a/2", second), ("w:1:a/1", first)):
        assert queue.claim_file(worker, file_id) == file_id
        [report] = hub._split([file_id], worker)
        assert report.state == "mapped"  # an earlier file is still to be split
    assert queue.claim_documents("w:1:a/2", 10) == []  # an earlier file is not split: its documents and lanes are not known
    assert queue.claim_file("w:1:a/3") == ahead
    [report] = hub._split([ahead], "w:1:a/3")
    assert report.state == "held"  # nothing ahead of it: decided as it was split
    with hub.ledger.engine.connect() as conn:
        documents = {r["interchange_id"]: r for r in rows(conn, "SELECT id, interchange_id, lanes FROM documents")}
    lanes = documents[first]["lanes"].split()
    assert lanes[0] == "customer:C100" and "item:HS-2001" in lanes
    assert queue.claim_documents("w:1:a/1", 1) == [documents[first]["id"]]  # received first, decided first
    assert queue.claim_documents("w:1:a/2", 10) == []  # Summit's next order waits for its first
    hub._decide([documents[first]["id"]], "w:1:a/1")
    assert queue.claim_documents("w:1:a/2", 10) == [documents[second]["id"]]


def test_small_files_are_claimed_together_and_split_in_one_step_as_they_would_be_one_by_one(hub):
    names = ("pioneer-850-credit-hold.edi", "summit-850-booked.edi", "summit-850-price-mismatch.edi", "lakeside-850-5010-booked.edi")
    ids = received(hub, *names)
    assert hub.queue.claim_files("w:1:a/1", 10) == ids
    reports = hub._split(ids, "w:1:a/1")
    assert [(r.reference, r.state, r.holds) for r in reports] == [
        ("PB-7001", "held", ["CREDIT_HOLD"]), ("SUM-PO-1001", "answered", []), ("SUM-PO-1002", "held", ["PRICE_MISMATCH"]),
        ("LR-55001", "answered", [])]
    with hub.ledger.engine.connect() as conn:
        assert {(r["status"], r["attempts"]) for r in rows(conn, "SELECT status, attempts FROM interchanges")} == {("processed", 1)}
        assert rows(conn, "SELECT count(*) AS n FROM outbox WHERE kind IN ('997', '999')") == [{"n": 4}]
    with hub.erp_engine.connect() as conn:
        orders = rows(conn, "SELECT order_id, customer_po, status FROM sales_orders WHERE source_document LIKE 'hub:%' ORDER BY order_id")
    assert [(o["customer_po"], o["status"]) for o in orders] == [("PB-7001", "HOLD"), ("SUM-PO-1001", "BOOKED"),
                                                                 ("SUM-PO-1002", "HOLD"), ("LR-55001", "BOOKED")]
    assert [o["order_id"] for o in orders] == ["SO-900002", "SO-900003", "SO-900004", "SO-900005"]  # numbered in received order


def test_a_file_tried_before_or_a_large_one_is_claimed_alone(hub):
    order = json.loads((DOCUMENTS / "cascade-order.json").read_bytes())
    big = json.dumps(order | {"items": order["items"] * 1000}).encode()
    assert len(big) > SMALL_FILE_BYTES
    tried, small = received(hub, "summit-850-booked.edi", "pioneer-850-credit-hold.edi")
    large = hub.ledger.receive(big, "webhook", "big.json", "P-CASCADE")[0]
    [after] = received(hub, "summit-850-price-mismatch.edi")
    with hub.ledger.writer.begin() as conn:  # its step failed once (a worker died in it)
        conn.execute(text("UPDATE interchanges SET attempts = 1 WHERE id = :id"), {"id": tried})
    assert hub.queue.claim_files("w:1:a/1", 10) == [tried]
    assert hub.queue.claim_files("w:1:a/2", 10) == [small]  # the large file after it is split alone
    assert hub.queue.claim_files("w:1:a/3", 10) == [large]
    assert hub.queue.claim_files("w:1:a/4", 10) == [after]


def test_a_step_settles_at_most_a_batch_of_documents_and_gives_the_other_files_back_untried(hub, settings):
    from hub.pipeline import Hub

    small = Hub(settings.model_copy(update={"worker_batch": 2}))
    ids = received(small, "pioneer-850-credit-hold.edi", "summit-850-booked.edi", "summit-850-price-mismatch.edi")
    assert small.queue.claim_files("w:1:a/1", 3) == ids
    assert [r.reference for r in small._split(ids, "w:1:a/1")] == ["PB-7001", "SUM-PO-1001"]
    with small.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT status, attempts FROM interchanges ORDER BY id") == [
            {"status": "processed", "attempts": 1}, {"status": "processed", "attempts": 1}, {"status": "received", "attempts": 0}]
        assert rows(conn, "SELECT lease_until FROM interchanges WHERE id = :id", id=ids[2]) == [{"lease_until": None}]  # free for anyone
    [report] = small.resume()
    assert (report.reference, report.state, report.holds) == ("SUM-PO-1002", "held", ["PRICE_MISMATCH"])
    small.ledger.engine.dispose()


def summit_orders(count: int) -> bytes:
    """Summit's booked 850, `count` times in one interchange, as SUM-PO-2001, SUM-PO-2002 ..."""
    segments = (DOCUMENTS / "summit-850-booked.edi").read_text().split("~\n")
    head, body, tail = segments[:2], segments[2:16], segments[16:]
    sets = [[segment.replace("SUM-PO-1001", f"SUM-PO-{2000 + n}").replace("0001", f"{n:04d}") for segment in body] for n in range(1, count + 1)]
    group = [head[0], head[1], *(segment for one in sets for segment in one), f"GE*{count}*1011", *tail[1:]]
    return "~\n".join(group).encode()


def test_documents_a_worker_queued_are_decided_from_what_it_mapped_as_from_the_ledger(hub, settings):
    """A file larger than a step is split and its documents queued. The worker that split it
    decides them from the canonical documents it kept in memory (hub.recently_mapped), another
    worker from the ledger; each order ends the same, under its own PO."""
    from hub.pipeline import Hub

    splitter, other = (Hub(settings.model_copy(update={"worker_batch": 2})) for _ in range(2))
    splitter.ledger.receive(summit_orders(5), "sftp", "five.edi", None)
    assert [r.state for r in splitter.work_next("w:1:a/1")] == ["mapped"] * 5
    assert len(splitter.recently_mapped) == 5
    assert [r.reference for r in splitter.work_next("w:1:a/1")] == ["SUM-PO-2001", "SUM-PO-2002"]
    assert len(splitter.recently_mapped) == 3  # taken as used
    while other.work_next("w:2:b/1") is not None:  # the rest, read from the ledger
        pass
    with hub.ledger.engine.connect() as conn:
        documents = rows(conn, "SELECT interchange_id, position, reference, state FROM documents ORDER BY position")
    assert [(d["reference"], d["state"]) for d in documents] == [(f"SUM-PO-{2000 + n}", "answered") for n in range(1, 6)]
    with hub.erp_engine.connect() as conn:
        orders = {o["source_document"]: o for o in rows(conn, "SELECT source_document, customer_po, status, total FROM sales_orders")}
    for d in documents:
        order = orders[f"hub:{d['interchange_id']}:{d['position']}"]
        assert (order["customer_po"], order["status"], float(order["total"])) == (d["reference"], "BOOKED", 1830.0)
    for worker in (splitter, other):
        worker.ledger.engine.dispose()
        worker.erp_engine.dispose()


def test_queued_documents_are_decided_before_later_files_are_split(hub, settings):
    """Under a steady stream of files a worker first decides what waits in the queue. Splitting
    the new files first would queue their documents behind it as well (nothing may pass an earlier
    document in its lane), and all of them would wait until the stream ends."""
    from hub.pipeline import Hub

    worker = Hub(settings.model_copy(update={"worker_batch": 2}))
    worker.ledger.receive(summit_orders(3), "sftp", "three.edi", None)
    assert [r.state for r in worker.work_next("w:1:a/1")] == ["mapped"] * 3  # more than a step: queued
    received(worker, "pioneer-850-credit-hold.edi")
    assert [r.reference for r in worker.work_next("w:1:a/1")] == ["SUM-PO-2001", "SUM-PO-2002"]
    assert [r.reference for r in worker.work_next("w:1:a/1")] == ["SUM-PO-2003"]
    # then the later file, with nothing ahead of it: split and decided in one step
    assert [(r.reference, r.state) for r in worker.work_next("w:1:a/1")] == [("PB-7001", "held")]
    assert worker.work_next("w:1:a/1") is None
    worker.ledger.engine.dispose()
    worker.erp_engine.dispose()


def test_what_a_worker_keeps_of_what_it_mapped_is_bounded():
    from hub.recently_mapped import RecentlyMapped

    kept = RecentlyMapped(limit=3)
    kept.keep({1: "a", 2: "b"})
    kept.keep({3: "c", 4: "d"})  # the oldest makes room
    assert (kept.take(1), kept.take(2), kept.take(3)) == (None, "b", "c")
    assert kept.take(3) is None  # taken once
    kept.keep({n: str(n) for n in range(10, 20)})  # of a larger step, the first ones: decided first
    assert [kept.take(n) for n in (4, 10, 11, 12, 13)] == [None, "10", "11", "12", None]


def test_the_heartbeat_renews_claims_without_waiting_for_the_files_a_step_holds(hub, settings):
    if not settings.ledger_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: there the heartbeat waits for the step's commit")
    held, waiting = received(hub, "summit-850-booked.edi", "pioneer-850-credit-hold.edi")
    queue = WorkQueue(hub.ledger, lease_seconds=60)
    assert queue.claim_files("w:1:a/1", 1) == [held] and queue.claim_files("w:1:a/2", 1) == [waiting]
    with hub.ledger.engine.connect() as conn:
        leases = dict(conn.execute(text("SELECT id, lease_until FROM interchanges")).all())
    with hub.ledger.writer.begin() as step:  # a step of w:1:a/1 at work on its file
        assert list(WorkQueue.hold_files(step, [held], "w:1:a/1")) == [held]
        heartbeat = threading.Thread(target=queue.renew, args=(["w:1:a/1", "w:1:a/2"],))
        heartbeat.start()
        heartbeat.join(10)
        assert not heartbeat.is_alive()  # it did not wait for the step
    with hub.ledger.engine.connect() as conn:
        renewed = dict(conn.execute(text("SELECT id, lease_until FROM interchanges")).all())
    assert renewed[held] == leases[held] and renewed[waiting] > leases[waiting]


def test_an_idle_worker_hears_at_once_of_a_file_another_process_received(hub, settings):
    """On PostgreSQL a receipt wakes the workers of every process (LISTEN/NOTIFY) rather than
    leaving the file until their next look, here two minutes away."""
    if not settings.ledger_url.startswith("postgresql"):
        pytest.skip("SQLite has no notices: there a worker looks every HUB_WORKER_POLL_SECONDS")
    from hub.pipeline import Hub
    from hub.worker import WorkerPool

    pool = WorkerPool(Hub(settings.model_copy(update={"worker_poll_seconds": 120})), 1)
    pool.start()
    try:
        assert pool.listener.listening.wait(10)
        time.sleep(0.5)  # its thread has looked, found nothing and sleeps
        [file_id] = received(hub, "summit-850-booked.edi")  # by another process's ledger
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pool.settled == 0:
            time.sleep(0.1)
    finally:
        pool.stop()
    with hub.ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM documents WHERE interchange_id = :i"), {"i": file_id}).scalars().all() == ["answered"]


def test_a_document_that_keeps_killing_its_worker_is_set_aside(hub, settings):
    [file_id] = received(hub, "summit-850-booked.edi")
    hub.process_interchange(file_id)  # settles it
    with hub.ledger.writer.begin() as conn:  # as if five workers had died on the next one
        conn.execute(text("UPDATE documents SET state = 'mapped', attempts = :n"), {"n": settings.max_attempts})
    [report] = hub.resume()
    assert report.state == "held" and report.holds == ["INTERNAL_ERROR"]
    assert "stopped 5 times" in report.errors[0]


def test_status_shows_workers_the_queue_and_the_oldest_waiting(hub, settings):
    received(hub, "summit-850-booked.edi", "pioneer-850-credit-hold.edi")
    from hub.ledger.presence import Presence

    Presence(hub.ledger, 5).arrive("box-1:123:abcdef", 4)
    shown = hub_command(settings, "status")
    assert shown.returncode == 0, shown.stderr
    assert "workers alive: 1" in shown.stdout and "box-1:123:abcdef: 4 thread(s)" in shown.stdout
    assert "queue: 2 file(s) to split, 0 document(s) to decide; the oldest waiting arrived" in shown.stdout
    hub.resume()
    shown = hub_command(settings, "status")
    assert "queue: 0 file(s) to split, 0 document(s) to decide\n" in shown.stdout
    assert "documents: answered 1, held 1" in shown.stdout


def hub_without_erp(settings, tmp_path):
    """A hub whose ERP cannot be reached (its database cannot even be opened)."""
    from hub.pipeline import Hub

    return Hub(type(settings)(**settings.model_dump() | {"erp_database_url": f"sqlite:///{tmp_path / 'no-such-folder' / 'erp.db'}"}))


def test_a_file_waits_in_the_queue_while_the_erp_cannot_be_reached(hub, settings, tmp_path):
    down = hub_without_erp(settings, tmp_path)
    [report] = down.ingest_bytes((DOCUMENTS / "summit-850-booked.edi").read_bytes(), "summit-850-booked.edi", None, "sftp")
    assert report.state == "received" and "the ERP" in report.errors[0] and "waits in the queue" in report.errors[0]
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT status, attempts, lease_until FROM interchanges") == [{"status": "received", "attempts": 0, "lease_until": None}]
        assert rows(conn, "SELECT id FROM documents") == []  # nothing of the split was kept
    [report] = hub.resume()  # the ERP is back
    assert (report.state, report.reference) == ("answered", "SUM-PO-1001")


def test_queued_documents_wait_while_the_erp_cannot_be_reached_and_it_does_not_count_as_a_failure(hub, settings, tmp_path):
    ahead, queued = received(hub, "pioneer-850-credit-hold.edi", "summit-850-booked.edi")
    for file_id in (queued, ahead):  # the later file first: its order waits in the queue
        assert hub.queue.claim_file(hub.owner, file_id) == file_id
        hub._split([file_id], hub.owner)
    down = hub_without_erp(settings, tmp_path)
    for _ in range(settings.max_attempts + 1):
        assert down.resume() == []
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT state, attempts, lease_until FROM documents WHERE interchange_id = :id", id=queued) == [
            {"state": "mapped", "attempts": 0, "lease_until": None}]
    [report] = hub.resume()
    assert (report.state, report.reference) == ("answered", "SUM-PO-1001")


def test_an_order_the_erp_refuses_in_a_batch_is_held_alone_and_the_batch_goes_on(hub, settings):
    if not settings.erp_url.startswith("postgresql"):
        pytest.skip("SQLite does not enforce column lengths, so it takes the order")
    order = json.loads((DOCUMENTS / "cascade-order.json").read_bytes())
    order["items"][0]["quantity"] = 2  # stock for all three
    files = [json.dumps(order | {"id": po_number}).encode() for po_number in ("CO-1", "CO-" + "9" * 40, "CO-3")]  # customer_po is 40 long
    ids = [hub.ledger.receive(raw, "webhook", f"order-{n}.json", "P-CASCADE")[0] for n, raw in enumerate(files, 1)]
    for file_id in reversed(ids):  # the later files first: their orders wait in the queue, to be decided in one batch
        assert hub.queue.claim_file(hub.owner, file_id) == file_id
        hub._split([file_id], hub.owner)
    reports = hub.resume()
    assert sorted((r.reference, r.state, r.holds) for r in reports) == [("CO-3", "posted", []), ("CO-" + "9" * 40, "held", ["ERP_REJECTED"])]
    with hub.erp_engine.connect() as conn:
        assert [r["customer_po"] for r in rows(conn, "SELECT customer_po FROM sales_orders WHERE customer_id = 'C500' ORDER BY order_id")] == ["CO-1", "CO-3"]
