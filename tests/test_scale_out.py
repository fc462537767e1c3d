"""Several `hub worker` processes against one PostgreSQL: 2,000 orders from 40 customers competing
for scarce stock end exactly as one worker deciding them in the order received would decide them,
also when workers are killed with SIGKILL in the middle of their work and when PostgreSQL restarts
under them. Nothing is lost and nothing is posted twice.

The reference is the same files ingested one by one, in the same order, by one in-process hub on
a database pair of its own.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from hub.config import Settings
from tests.conftest import PG_URL, ROOT, _pg_database, rows
from tests.live import HubProcess, wait_until
from tests.synthetic_customers import customer_ids, make_orders, make_seed

pytestmark = pytest.mark.skipif(not PG_URL, reason="several workers need PostgreSQL (tests/run.sh starts one: HUB_TEST_PG_URL)")

ORDERS, CUSTOMERS, WORKERS = 2000, 40, 4
ON_HAND = 250  # per warehouse and item: orders for about twice that much stock come in


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    rng = random.Random(7)
    seed, mappings = make_seed(folder, CUSTOMERS, rng, ON_HAND)
    return seed, mappings, make_orders(ORDERS, customer_ids(CUSTOMERS), rng)


@pytest.fixture(scope="module")
def single_worker_outcome(synthetic, tmp_path_factory):
    """How one worker, deciding the orders in the order received, leaves them."""
    from hub.pipeline import Hub

    seed, mappings, orders = synthetic
    with fresh_databases(tmp_path_factory.mktemp("reference"), mappings, seed) as settings:
        hub = Hub(settings)
        for n, (partner, body) in enumerate(orders):
            hub.ingest_bytes(body, f"order-{n}.json", partner, "webhook")
        hub.ledger.engine.dispose()
        hub.erp_engine.dispose()
        yield outcome(settings)


class fresh_databases:
    """A seeded ledger and ERP on the test PostgreSQL, dropped afterwards."""

    def __init__(self, folder: Path, mappings: Path, seed: Path):
        from hub.bootstrap import initialise

        self.drops = []
        ledger, drop = _pg_database(PG_URL, "ledger")
        self.drops.append(drop)
        erp, drop = _pg_database(PG_URL, "erp")
        self.drops.append(drop)
        self.settings = Settings(data_dir=folder / "var", database_url=ledger, erp_database_url=erp, mappings_dir=mappings,
                                 lease_seconds=3, worker_poll_seconds=0.2)
        initialise(self.settings, seed)

    def __enter__(self) -> Settings:
        return self.settings

    def __exit__(self, *exc) -> None:
        for drop in self.drops:
            drop()


def outcome(settings: Settings) -> dict[str, tuple]:
    """Per purchase order: the document's state and holds, its ERP order's status and holds, and
    per line what was allocated and backordered."""
    documents = query(settings.ledger_url, "SELECT reference, state, holds FROM documents")
    orders = {r["customer_po"]: r for r in query(settings.erp_url, "SELECT order_id, customer_po, status, hold_codes FROM sales_orders")}
    lines: dict[str, list] = {}
    for r in query(settings.erp_url, "SELECT order_id, line_no, qty_allocated, qty_backordered FROM sales_order_lines ORDER BY order_id, line_no"):
        lines.setdefault(r["order_id"], []).append((r["line_no"], r["qty_allocated"], r["qty_backordered"]))
    found = {}
    for d in documents:
        order = orders.get(d["reference"])
        found[d["reference"]] = (d["state"], tuple(d["holds"] or ()), order and order["status"], order and order["hold_codes"],
                                 tuple(lines.get(order["order_id"], ())) if order else ())
    return found


def query(url: str, sql: str) -> list[dict]:
    from hub.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return rows(conn, sql)
    finally:
        engine.dispose()


def receive_all(settings: Settings, orders) -> None:
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    ledger = Ledger(make_engine(settings.ledger_url))
    for n, (partner, body) in enumerate(orders):
        ledger.receive(body, "webhook", f"order-{n}.json", partner)
    ledger.engine.dispose()


def start_worker(settings: Settings, concurrency: int = 1) -> HubProcess:
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_ERP_DATABASE_URL": settings.erp_database_url,
           "HUB_MAPPINGS_DIR": str(settings.mappings_dir), "HUB_LEASE_SECONDS": "3", "HUB_WORKER_POLL_SECONDS": "0.2"}
    return HubProcess(settings, "worker", "--concurrency", str(concurrency), env=env)


def work_left(settings: Settings) -> int | None:
    """Files to split and documents to decide; None while the database cannot be reached."""
    try:
        [left] = query(settings.ledger_url, "SELECT (SELECT count(*) FROM interchanges WHERE status = 'received')"
                                            " + (SELECT count(*) FROM documents WHERE state = 'mapped') AS n")
    except OperationalError:
        return None
    return left["n"]


def finish(settings: Settings, workers: list[HubProcess]) -> None:
    try:
        wait_until(lambda: work_left(settings) == 0, 300, "the workers to settle every order")
    finally:
        for worker in workers:
            worker.stop()


def assert_nothing_lost_or_posted_twice(settings: Settings, expected: dict[str, tuple]) -> None:
    found = outcome(settings)
    assert len(found) == ORDERS
    differences = {po: (found.get(po), want) for po, want in expected.items() if found.get(po) != want}
    assert not differences, f"{len(differences)} orders differ from one worker in received order, e.g. {list(differences.items())[:3]}"
    ledger, erp = settings.ledger_url, settings.erp_url
    assert query(ledger, "SELECT status, count(*) AS n FROM interchanges GROUP BY status") == [{"status": "processed", "n": ORDERS}]
    assert query(ledger, "SELECT document_id FROM postings WHERE outcome = 'posted' GROUP BY document_id HAVING count(*) > 1") == []
    assert query(erp, "SELECT source_document FROM sales_orders GROUP BY source_document HAVING count(*) > 1") == []
    assert query(erp, "SELECT warehouse, sku FROM inventory WHERE allocated > on_hand") == []
    assert query(erp, "SELECT i.warehouse, i.sku FROM inventory i LEFT JOIN (SELECT a.warehouse, l.sku, sum(a.qty) AS qty FROM allocations a"
                      " JOIN sales_order_lines l ON l.order_id = a.order_id AND l.line_no = a.line_no GROUP BY a.warehouse, l.sku) placed"
                      " ON placed.warehouse = i.warehouse AND placed.sku = i.sku WHERE i.allocated <> coalesce(placed.qty, 0)") == []


def test_the_reference_run_is_a_real_mix_of_outcomes(single_worker_outcome):
    states = [state for state, *_ in single_worker_outcome.values()]
    statuses = [status for _, _, status, *_ in single_worker_outcome.values()]
    backordered = [po for po, (*_, lines) in single_worker_outcome.items() if any(back for _, _, back in lines)]
    assert len(states) == ORDERS
    assert states.count("posted") > 200 and states.count("held") > 200, states
    assert len(backordered) > 100 and statuses.count("HOLD") > 100


def test_four_workers_decide_as_one_worker_in_received_order(synthetic, single_worker_outcome, tmp_path):
    seed, mappings, orders = synthetic
    with fresh_databases(tmp_path, mappings, seed) as settings:
        receive_all(settings, orders)
        workers = [start_worker(settings) for _ in range(WORKERS)]
        finish(settings, workers)
        assert_nothing_lost_or_posted_twice(settings, single_worker_outcome)
        done = query(settings.ledger_url, "SELECT id, done FROM workers WHERE stopped_at IS NOT NULL AND concurrency > 0")
        assert len(done) == WORKERS and sum(r["done"] for r in done) == ORDERS
        # each worker's delivery process (hub.delivery_process) stopped with it
        delivered_by = query(settings.ledger_url, "SELECT id FROM workers WHERE stopped_at IS NOT NULL AND concurrency = 0 AND delivers")
        assert len(delivered_by) == WORKERS, delivered_by
        # the work was shared: files split (their last claim) or documents settled by more than one
        # process. Under a backlog one worker often decides while the others split: every batch
        # holds orders of all 40 customers, so decisions go one batch at a time (lanes).
        split_by = query(settings.ledger_url, "SELECT DISTINCT split_part(lease_owner, '/', 1) AS id FROM interchanges")
        assert len({r["id"] for r in split_by} | {r["id"] for r in done if r["done"]}) >= 2, (split_by, done)


def test_workers_killed_in_the_middle_lose_nothing_and_post_nothing_twice(synthetic, single_worker_outcome, tmp_path):
    seed, mappings, orders = synthetic
    rng = random.Random(11)
    with fresh_databases(tmp_path, mappings, seed) as settings:
        receive_all(settings, orders)
        workers = [start_worker(settings) for _ in range(WORKERS)]
        killed_with_work_left = 0
        for _ in range(3):
            time.sleep(rng.uniform(0.8, 2.5))
            victim = workers.pop(rng.randrange(len(workers)))
            killed_with_work_left += (work_left(settings) or 0) > 0
            victim.stop(signal.SIGKILL)
            workers.append(start_worker(settings, concurrency=2))  # replacements run two threads each
        finish(settings, workers)
        assert killed_with_work_left >= 2, "the kills should land while there is work"
        assert_nothing_lost_or_posted_twice(settings, single_worker_outcome)


@pytest.mark.skipif(not os.environ.get("HUB_TEST_PG_DIR"), reason="restarting PostgreSQL needs HUB_TEST_PG_DIR (tests/run.sh)")
def test_workers_wait_out_a_postgresql_restart_and_continue(synthetic, single_worker_outcome, tmp_path):
    seed, mappings, orders = synthetic
    with fresh_databases(tmp_path, mappings, seed) as settings:
        receive_all(settings, orders)
        workers = [start_worker(settings) for _ in range(WORKERS)]
        for worker in workers:
            worker.wait_for_log("worker started")
        time.sleep(1)
        assert work_left(settings) > 0
        subprocess.run(["bash", str(ROOT / "tests" / "pg.sh"), "restart", os.environ["HUB_TEST_PG_DIR"]], check=True, capture_output=True, timeout=120)
        finish(settings, workers)
        assert_nothing_lost_or_posted_twice(settings, single_worker_outcome)
        assert any("heartbeat failed" in w.output() or "given back" in w.output() for w in workers)
