"""The reference ERP gateway against real databases: a SQLite file always, PostgreSQL when
HUB_TEST_PG_URL names a server (the base URL `tests/pg.sh start DIR` prints)."""

from __future__ import annotations

import csv
import dataclasses
import multiprocessing
import os
import sqlite3
import threading
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy import exc as sa_exc

from adapters.erp import gateway
from adapters.erp.gateway import ReferenceErp, _translate
from adapters.erp.schema import allocations, inventory, metadata, sales_order_lines, sales_orders
from adapters.erp.seed import create_schema, load_seed
from hub.erp import AllocationLine, AllocationOutcome, SalesOrderDraft, SalesOrderLineDraft
from hub.errors import BatchRefused, ConfigurationError, ErpUnavailable, PermanentError, TransientError

SEED = Path(__file__).resolve().parents[1] / "samples" / "scenario" / "erp"
PG_URL = os.environ.get("HUB_TEST_PG_URL")


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_database():
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    if not PG_URL:
        pytest.skip("HUB_TEST_PG_URL is not set (tests/pg.sh start DIR prints it)")
    name = f"erp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield f"{PG_URL}/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'erp.db'}"
    url = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    metadata.drop_all(engine)  # each test starts from an empty ERP
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url):
    engine = create_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def erp(engine):
    load_seed(engine, SEED)
    return ReferenceErp(engine)


# --- helpers -----------------------------------------------------------------------------------


def make_draft(source, lines, status="BOOKED", hold_codes=(), customer="C100"):
    """lines: (sku, uom, qty, base_qty)"""
    drafts = [
        SalesOrderLineDraft(n, sku, uom, qty, Decimal("10.00"), None, base)
        for n, (sku, uom, qty, base) in enumerate(lines, 1)
    ]
    total = sum((d.unit_price * d.qty_ordered for d in drafts), Decimal("0.00"))
    po = f"PO-{source}"
    return SalesOrderDraft(source, customer, po, date(2026, 11, 20), status, list(hold_codes), total, drafts)


def take_what_is_there(lines, pause=0.0):
    """An allocator that takes each line from any warehouse that has stock, backordering the rest."""

    def allocate(availability):
        time.sleep(pause)  # widen the window in which another worker could interfere
        left = dict(availability)
        outcome = AllocationOutcome()
        for line in lines:
            need = line.base_qty
            for (warehouse, sku), available in sorted(left.items()):
                take = min(available, need) if sku == line.sku else 0
                if take:
                    outcome.allocations.append(AllocationLine(line.line_no, warehouse, take))
                    left[(warehouse, sku)] -= take
                    need -= take
            if need:
                outcome.backordered[line.line_no] = need
        return outcome

    return allocate


def must_not_allocate(availability):
    raise AssertionError("the allocator must not be called")


def stock(engine, sku=None):
    query = select(inventory.c.warehouse, inventory.c.sku, inventory.c.on_hand, inventory.c.allocated)
    if sku:
        query = query.where(inventory.c.sku == sku)
    with engine.connect() as conn:
        return {(w, s): (on_hand, allocated) for w, s, on_hand, allocated in conn.execute(query)}


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def csv_rows(name):
    with (SEED / f"{name}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


# --- seed --------------------------------------------------------------------------------------


def test_seed_loads_every_csv(engine):
    loaded = load_seed(engine, SEED)
    for path in SEED.glob("*.csv"):
        expected = len(csv_rows(path.stem))
        assert loaded[path.stem] == expected
        assert count(engine, metadata.tables[path.stem]) == expected


def test_seed_twice_changes_nothing(engine):
    load_seed(engine, SEED)
    before = {name: count(engine, table) for name, table in metadata.tables.items()}
    assert load_seed(engine, SEED) == {}
    create_schema(engine)
    assert {name: count(engine, table) for name, table in metadata.tables.items()} == before


def test_seed_names_file_line_and_column_of_a_bad_value(engine, tmp_path):
    bad = tmp_path / "seed"
    bad.mkdir()
    (bad / "warehouses.csv").write_text("code,name,priority,operated_by\nDAL,Dallas,1,\nCHI,Chicago,second,\n")
    with pytest.raises(ConfigurationError) as caught:
        load_seed(engine, bad)
    message = str(caught.value)
    assert "warehouses.csv" in message and "'second'" in message and "line 3" in message and "priority" in message
    assert count(engine, metadata.tables["warehouses"]) == 0  # one transaction: nothing stays


# --- reads -------------------------------------------------------------------------------------


def test_reference_data(erp):
    ref = erp.reference_data()
    assert [w.code for w in ref.warehouses] == ["DAL", "CHI", "ATL"]
    assert ref.warehouses[2].operated_by == "P-BAYOU" and ref.warehouses[0].operated_by is None
    summit = ref.customers["C100"]
    assert (summit.tier, summit.credit_limit, summit.open_ar) == ("gold", Decimal("50000.00"), Decimal("12000.00"))
    assert (summit.credit_hold, summit.allow_split, summit.allow_backorder) == (False, True, True)
    assert ref.customers["C300"].credit_hold is True
    drill = ref.items["HS-2001"]
    assert (drill.case_qty, drill.list_price, drill.upc) == (4, Decimal("129.00"), "012345000041")
    assert ref.items_by_upc["012345000041"] == "HS-2001"
    assert ref.items_by_vendor_part["DT-CD18"] == "HS-2001"
    assert ref.customer_items[("C500", "CO-GLOVE-L")] == "HS-3002"
    prices = ref.contract_prices[("C100", "HS-2001")]
    assert [(p.min_qty, p.price) for p in prices] == [(1, Decimal("119.00")), (10, Decimal("115.00"))]
    assert prices[0].effective_to == date(2026, 12, 31)
    assert ref.tier_discounts == {"gold": Decimal("5"), "silver": Decimal("2"), "standard": Decimal("0")}


def test_open_orders_customer_po_and_find_posted(erp):
    assert erp.open_order_total("C100") == Decimal("750.50")
    assert erp.open_order_total("C200") == Decimal("0")
    assert erp.customer_po_exists("C100", "SUM-PO-0950", except_source="doc-x")
    assert not erp.customer_po_exists("C200", "SUM-PO-0950", except_source="doc-x")
    erp.post_sales_order(make_draft("doc-1", [("HS-1001", "EA", 5, 5)]), take_what_is_there([]))
    assert not erp.customer_po_exists("C100", "PO-doc-1", except_source="doc-1")  # itself
    assert erp.customer_po_exists("C100", "PO-doc-1", except_source="doc-2")
    assert erp.find_posted("doc-1") == "SO-900002"
    assert erp.find_posted("doc-unknown") is None


# --- posting -----------------------------------------------------------------------------------


def test_booked_order_is_allocated(erp, engine):
    draft = make_draft("doc-1", [("HS-2001", "EA", 25, 25), ("HS-1001", "CA", 2, 20)])
    attempts = []
    result = erp.post_sales_order(draft, take_what_is_there(draft.lines), attempts.append)

    assert (result.order_id, result.created, result.status, result.hold_codes) == ("SO-900002", True, "BOOKED", [])
    assert [(a.outcome, a.attempt, a.rows) for a in attempts] == [("posted", 1, result.rows)]
    with engine.connect() as conn:
        order = conn.execute(select(sales_orders).where(sales_orders.c.order_id == "SO-900002")).one()
        lines = conn.execute(select(sales_order_lines).where(sales_order_lines.c.order_id == "SO-900002")).all()
        placed = conn.execute(select(allocations).where(allocations.c.order_id == "SO-900002")).all()
    assert (order.status, order.hold_codes, order.total, order.source_document) == ("BOOKED", "", draft.total, "doc-1")
    by_line = {line.line_no: line for line in lines}
    assert (by_line[2].uom, by_line[2].qty_ordered, by_line[2].qty_allocated) == ("CA", 2, 20)  # base units
    assert by_line[1].qty_allocated == 25
    assert sorted((a.line_no, a.warehouse, a.qty) for a in placed) == [
        (1, "ATL", 12),
        (1, "CHI", 5),
        (1, "DAL", 8),
        (2, "CHI", 20),
    ]
    drills = stock(engine, "HS-2001")
    assert drills[("ATL", "HS-2001")] == (12, 12) and drills[("DAL", "HS-2001")] == (20, 8)
    assert stock(engine, "HS-1001")[("CHI", "HS-1001")] == (100, 20)
    assert result.rows == 1 + 2 + 4 + 4


def test_posting_twice_is_one_order(erp, engine):
    draft = make_draft("doc-1", [("HS-2001", "EA", 40, 40)])
    first = erp.post_sales_order(draft, take_what_is_there(draft.lines))
    attempts = []
    second = erp.post_sales_order(draft, must_not_allocate, attempts.append)

    assert first.created and not second.created
    assert second.order_id == first.order_id and second.status == "BOOKED"
    assert sorted(second.allocation.allocations, key=str) == sorted(first.allocation.allocations, key=str)
    assert second.allocation.backordered == {1: 3}
    assert [a.outcome for a in attempts] == ["replayed"]
    assert count(engine, sales_orders, sales_orders.c.source_document == "doc-1") == 1
    assert sum(allocated for _, allocated in stock(engine, "HS-2001").values()) == 37


def test_document_posted_by_a_racing_worker_is_a_replay(erp, engine, monkeypatch):
    """The other worker commits between our replay check and our insert: the unique
    source_document refuses our insert, and we answer with its order."""
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    first = erp.post_sales_order(draft, take_what_is_there(draft.lines))
    real_check = gateway._posted_order
    calls = []

    def check_missing_the_other_worker(conn, source_document):
        calls.append(source_document)
        return None if len(calls) == 1 else real_check(conn, source_document)

    monkeypatch.setattr(gateway, "_posted_order", check_missing_the_other_worker)
    attempts = []
    second = erp.post_sales_order(draft, take_what_is_there(draft.lines), attempts.append)

    assert (second.order_id, second.created) == (first.order_id, False)
    assert [a.outcome for a in attempts] == ["replayed"] and len(calls) == 2
    assert count(engine, sales_orders) == 2
    assert stock(engine, "HS-2001")[("ATL", "HS-2001")] == (12, 2)  # allocated once


def test_hold_draft_allocates_nothing(erp, engine):
    before = stock(engine)
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)], status="HOLD", hold_codes=["PRICE_MISMATCH", "CREDIT_LIMIT"])
    result = erp.post_sales_order(draft, must_not_allocate)

    assert (result.status, result.hold_codes, result.allocation) == ("HOLD", ["PRICE_MISMATCH", "CREDIT_LIMIT"], None)
    with engine.connect() as conn:
        assert conn.scalar(select(sales_orders.c.hold_codes).where(sales_orders.c.order_id == result.order_id)) == (
            "PRICE_MISMATCH,CREDIT_LIMIT"
        )
    assert count(engine, allocations, allocations.c.order_id == result.order_id) == 0
    assert stock(engine) == before
    replay = erp.post_sales_order(draft, must_not_allocate)
    assert (replay.created, replay.hold_codes) == (False, ["PRICE_MISMATCH", "CREDIT_LIMIT"])


def test_shortage_outcome_puts_the_order_on_hold(erp, engine):
    before = stock(engine)

    def shortage(availability):
        return AllocationOutcome([AllocationLine(1, "DAL", 20)], {}, ["SHORTAGE"])

    result = erp.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 50, 50)]), shortage)

    assert (result.status, result.hold_codes) == ("HOLD", ["SHORTAGE"])
    assert count(engine, allocations, allocations.c.order_id == result.order_id) == 0
    with engine.connect() as conn:
        line = conn.execute(select(sales_order_lines).where(sales_order_lines.c.order_id == result.order_id)).one()
    assert (line.qty_allocated, line.qty_backordered) == (0, 0)
    assert stock(engine) == before


def test_allocator_taking_too_much_is_a_permanent_failure(erp, engine):
    before = stock(engine)

    def greedy(availability):
        return AllocationOutcome([AllocationLine(1, "CHI", 6)])  # CHI has 5

    attempts = []
    with pytest.raises(PermanentError):
        erp.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 6, 6)]), greedy, attempts.append)
    assert [a.outcome for a in attempts] == ["failed"]
    assert erp.find_posted("doc-1") is None
    assert stock(engine) == before


def test_locked_sqlite_is_retried(tmp_path):
    path = tmp_path / "erp.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})  # short busy wait
    create_schema(engine)
    load_seed(engine, SEED)
    erp = ReferenceErp(engine)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock ...
    release = threading.Timer(0.3, blocker.execute, ["ROLLBACK"])  # ... for 0.3 s
    release.start()
    attempts = []
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    try:
        result = erp.post_sales_order(draft, take_what_is_there(draft.lines), attempts.append)
    finally:
        release.join()
        blocker.close()
        engine.dispose()

    assert result.created
    outcomes = [a.outcome for a in attempts]
    assert outcomes[0] == "transient" and outcomes[-1] == "posted", outcomes
    assert "locked" in attempts[0].error
    assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))


def test_gateway_over_the_hubs_sqlite_engine(tmp_path):
    """hub.db.make_engine has its own BEGIN IMMEDIATE hook (and foreign keys on): both coexist."""
    from hub.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    create_schema(engine)
    load_seed(engine, SEED)
    erp = ReferenceErp(engine)
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    assert erp.post_sales_order(draft, take_what_is_there(draft.lines)).order_id == "SO-900002"
    assert erp.reference_data().customers["C100"].name == "Summit Hardware"
    with pytest.raises(PermanentError):  # foreign key: no such customer
        erp.post_sales_order(make_draft("doc-2", [("HS-2001", "EA", 2, 2)], customer="C999"), None)
    engine.dispose()


def test_the_erp_refuses_rows_that_refer_to_nothing_and_keeps_rows_referred_to(erp, engine):
    """Orders, their lines and allocations keep their foreign keys (on PostgreSQL checked once per
    statement, adapters.erp.statement_keys; SQLite checks them on the hub's engines): each change
    below is refused, with the ERP's words."""
    from hub.db import make_engine

    engine = make_engine(engine.url.render_as_string(hide_password=False))
    erp = ReferenceErp(engine)
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    order_id = erp.post_sales_order(draft, take_what_is_there(draft.lines)).order_id
    line = {"order_id": order_id, "line_no": 2, "sku": "HS-2001", "uom": "EA", "qty_ordered": 1, "unit_price": Decimal("1.00")}
    with engine.connect() as conn:
        [warehouse] = conn.execute(select(allocations.c.warehouse).where(allocations.c.order_id == order_id)).scalars().all()
    refused = {
        "a line of no order": sales_order_lines.insert().values(line | {"order_id": "SO-NONE"}),
        "a line of no item": sales_order_lines.insert().values(line | {"sku": "NO-SUCH-SKU"}),
        "an allocation of no line": allocations.insert().values(order_id=order_id, line_no=9, warehouse=warehouse, qty=1),
        "an allocation from no warehouse": allocations.insert().values(order_id=order_id, line_no=1, warehouse="NOWHERE", qty=1),
        "a line moved to no order": sales_order_lines.update().where(sales_order_lines.c.order_id == order_id).values(order_id="SO-NONE"),
        "the lines of allocations": sales_order_lines.delete().where(sales_order_lines.c.order_id == order_id),
        "the order of lines": sales_orders.delete().where(sales_orders.c.order_id == order_id),
        "an order renumbered under its lines": sales_orders.update().where(sales_orders.c.order_id == order_id).values(order_id="SO-OTHER"),
    }
    for what, statement in refused.items():
        with pytest.raises(sa_exc.IntegrityError, match="(?i)foreign key"), engine.begin() as conn:
            conn.execute(statement)
        assert what  # named for the failure report
    with engine.begin() as conn:  # in order, children first, it is all allowed
        conn.execute(sales_order_lines.insert().values(line))
        conn.execute(allocations.delete().where(allocations.c.order_id == order_id))
        conn.execute(sales_order_lines.delete().where(sales_order_lines.c.order_id == order_id))
        conn.execute(sales_orders.delete().where(sales_orders.c.order_id == order_id))
    engine.dispose()


def test_an_order_cannot_be_deleted_while_another_transaction_adds_a_line_to_it(erp, engine):
    """The per-statement check locks the orders its lines refer to, as a foreign key does: a delete
    of one waits for the transaction adding the line, then finds it and is refused."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with engine.begin() as conn:
        conn.execute(sales_orders.insert().values(order_id="SO-LONE", customer_id="C100", customer_po="PO-LONE", order_date=date(2026, 11, 20),
                                                  status="BOOKED", hold_codes="", total=Decimal("1.00")))
    delete = sales_orders.delete().where(sales_orders.c.order_id == "SO-LONE")
    with engine.connect() as adding:
        adding.begin()
        adding.execute(sales_order_lines.insert().values(order_id="SO-LONE", line_no=1, sku="HS-2001", uom="EA", qty_ordered=1, unit_price=Decimal("1.00")))
        with pytest.raises(sa_exc.OperationalError, match="lock"), engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '500ms'"))
            conn.execute(delete)
        adding.commit()
    with pytest.raises(sa_exc.IntegrityError, match="still referred to"), engine.begin() as conn:
        conn.execute(delete)


def test_creating_the_schema_again_changes_nothing(engine):
    create_schema(engine)
    create_schema(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            keys = conn.execute(text("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY("
                                     "CAST(ARRAY['sales_orders', 'sales_order_lines', 'allocations'] AS regclass[]))")).scalar()
            triggers = conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'erp_key_%'")).scalar()
        assert (keys, triggers) == (0, 5 * 4)


# --- a batch: the postings of several documents in one transaction ---------------------------


def test_a_batch_commits_its_postings_together_and_its_reads_see_them(erp, engine):
    open_before = erp.open_order_total("C100")
    with erp.batch() as batch:
        first = batch.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 2, 2)]), take_what_is_there([]))
        assert batch.customer_po_exists("C100", "PO-doc-1", except_source="doc-2")  # the batch's own order
        assert batch.open_order_total("C100") == open_before + Decimal("20.00")
        second = batch.post_sales_order(make_draft("doc-2", [("HS-1001", "EA", 3, 3)]), take_what_is_there([]))
        assert batch.open_order_total("C100") == open_before + Decimal("50.00")
    assert (first.order_id, second.order_id) == ("SO-900002", "SO-900003")
    assert erp.find_posted("doc-1") == "SO-900002" and erp.find_posted("doc-2") == "SO-900003"
    assert erp.open_order_total("C100") == open_before + Decimal("50.00")


def test_a_document_that_fails_for_good_is_undone_alone_in_a_batch(erp, engine):
    attempts = []
    with erp.batch() as batch:
        first = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
        batch.post_sales_order(first, take_what_is_there(first.lines))
        with pytest.raises(PermanentError):  # CHI has 5
            batch.post_sales_order(make_draft("doc-2", [("HS-2001", "EA", 6, 6)]), lambda availability: AllocationOutcome([AllocationLine(1, "CHI", 6)]),
                                   attempts.append)
        third = batch.post_sales_order(make_draft("doc-3", [("HS-1001", "EA", 1, 1)]), None)
    assert [a.outcome for a in attempts] == ["failed"]
    assert erp.find_posted("doc-1") == "SO-900002" and erp.find_posted("doc-2") is None and third.order_id == "SO-900003"
    assert sum(allocated for _, allocated in stock(engine, "HS-2001").values()) == 2  # doc-1's, none of doc-2's


def test_held_orders_the_erp_refuses_refuse_the_batch_and_one_by_one_only_that_order_fails(erp, engine):
    before = stock(engine, "HS-2001")
    good = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    refused = dataclasses.replace(make_draft("doc-2", [("HS-1001", "EA", 1, 1)]), customer_po=None)  # sales_orders.customer_po is NOT NULL
    with pytest.raises(BatchRefused, match="refused the batch's orders"), erp.batch() as batch:
        assert batch.post_sales_order(good, take_what_is_there(good.lines)).order_id == "SO-900002"  # held, not written yet
        batch.post_sales_order(refused, None)
    assert erp.find_posted("doc-1") is None and stock(engine, "HS-2001") == before  # nothing of the batch was kept
    attempts = []
    with erp.batch(one_by_one=True) as batch:
        assert batch.post_sales_order(good, take_what_is_there(good.lines)).order_id == "SO-900002"
        with pytest.raises(PermanentError):
            batch.post_sales_order(refused, None, attempts.append)
    assert [a.outcome for a in attempts] == ["failed"]
    assert erp.find_posted("doc-1") == "SO-900002" and erp.find_posted("doc-2") is None
    assert sum(allocated for _, allocated in stock(engine, "HS-2001").values()) == 2


def test_an_order_posted_before_refuses_the_held_batch_and_one_by_one_replays_it(erp, engine):
    draft = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
    before = erp.post_sales_order(draft, take_what_is_there(draft.lines))  # by a run that stopped before the ledger knew
    with pytest.raises(BatchRefused), erp.batch() as batch:
        batch.post_sales_order(draft, take_what_is_there(draft.lines))
    with erp.batch(one_by_one=True) as batch:
        again = batch.post_sales_order(draft, take_what_is_there(draft.lines))
    assert (again.order_id, again.created) == (before.order_id, False)
    assert sum(allocated for _, allocated in stock(engine, "HS-2001").values()) == 2  # taken once


def test_a_batch_writes_its_held_orders_before_anything_else_reads_them(erp, engine):
    with erp.batch() as batch:
        first = make_draft("doc-1", [("HS-2001", "EA", 2, 2)])
        posted = batch.post_sales_order(first, take_what_is_there(first.lines))
        assert batch.find_posted("doc-1") == posted.order_id  # a read the held orders do not answer writes them first
        second = make_draft("doc-2", [("HS-2001", "EA", 3, 3)])
        assert batch.post_sales_order(second, take_what_is_there(second.lines)).order_id == "SO-900003"
    with engine.connect() as conn:
        numbers = conn.execute(text("SELECT next_value FROM erp_sequences WHERE name = 'sales_order'")).scalar()
    assert numbers == 900004 and sum(allocated for _, allocated in stock(engine, "HS-2001").values()) == 5


def test_a_batch_that_ends_badly_leaves_nothing(erp, engine):
    before = stock(engine)
    with pytest.raises(RuntimeError), erp.batch() as batch:
        batch.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 2, 2)]), take_what_is_there([]))
        raise RuntimeError("the ledger could not record it")
    assert erp.find_posted("doc-1") is None and stock(engine) == before
    assert erp.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 2, 2)]), None).order_id == "SO-900002"  # the number not spent


@pytest.mark.postgres
def test_a_batch_whose_connection_is_lost_is_lost_as_a_whole(pg_database):
    url = pg_database
    engine = create_engine(url)
    metadata.drop_all(engine)
    create_schema(engine)
    load_seed(engine, SEED)
    erp = ReferenceErp(engine)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    attempts = []
    try:
        with pytest.raises(ErpUnavailable, match="lost|could not"), erp.batch() as batch:
            batch.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 2, 2)]), take_what_is_there([]))
            with admin.connect() as conn:  # an administrator, or a restart, cuts the batch's session
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            # it locks HS-1001's stock, the batch's first use of the database since the cut
            batch.post_sales_order(make_draft("doc-2", [("HS-1001", "EA", 2, 2)]), take_what_is_there([]), attempts.append)
        assert [a.outcome for a in attempts] == ["transient"]
        assert erp.find_posted("doc-1") is None and erp.find_posted("doc-2") is None
        assert erp.post_sales_order(make_draft("doc-1", [("HS-2001", "EA", 2, 2)]), None).created  # the ERP is usable again
    finally:
        admin.dispose()
        engine.dispose()


@pytest.mark.parametrize(
    "orig, expected",
    [
        (sqlite3.OperationalError("database is locked"), TransientError),
        (sqlite3.OperationalError("no such table: sales_orders"), PermanentError),
        (psycopg.errors.SerializationFailure("could not serialize access"), TransientError),
        (psycopg.errors.DeadlockDetected("deadlock detected"), TransientError),
        (psycopg.OperationalError("server closed the connection unexpectedly"), TransientError),
        (psycopg.errors.UniqueViolation("duplicate key"), PermanentError),
    ],
)
def test_database_errors_are_translated(orig, expected):
    wrapped = sa_exc.DBAPIError.instance("INSERT ...", {}, orig, Exception)
    assert isinstance(_translate(wrapped), expected)


# --- two processes competing for scarce stock --------------------------------------------------

WORKERS = 2
ORDERS_PER_WORKER = 12
SHARED_DOCUMENTS = 8


def post_many(url: str, worker: int) -> list[tuple[str, str, bool]]:
    """One worker process: its own engine, its own orders, plus documents every worker posts."""
    engine = create_engine(url)
    erp = ReferenceErp(engine)
    posted = []
    for i in range(ORDERS_PER_WORKER):
        sources = [f"w{worker}-{i}"] + ([f"shared-{i}"] if i < SHARED_DOCUMENTS else [])
        for source in sources:
            draft = make_draft(source, [("HS-2001", "EA", 3, 3)])
            result = erp.post_sales_order(draft, take_what_is_there(draft.lines, pause=0.002))
            posted.append((source, result.order_id, result.created))
    engine.dispose()
    return posted


def test_concurrent_workers_never_over_allocate(erp, engine, db_url):
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        results = [row for rows in pool.starmap(post_many, [(db_url, w) for w in range(WORKERS)]) for row in rows]

    orders = WORKERS * ORDERS_PER_WORKER + SHARED_DOCUMENTS
    assert sum(created for _, _, created in results) == orders
    assert count(engine, sales_orders) == 1 + orders  # plus the seed's
    shared: dict[str, set[str]] = {}
    for source, order_id, _ in results:
        if source.startswith("shared"):
            shared.setdefault(source, set()).add(order_id)
    assert len(shared) == SHARED_DOCUMENTS and all(len(ids) == 1 for ids in shared.values())

    line = sales_order_lines.c
    per_stock = (
        select(allocations.c.warehouse, line.sku, func.sum(allocations.c.qty))
        .join(sales_order_lines, (line.order_id == allocations.c.order_id) & (line.line_no == allocations.c.line_no))
        .group_by(allocations.c.warehouse, line.sku)
    )
    with engine.connect() as conn:
        placed = {(warehouse, sku): qty for warehouse, sku, qty in conn.execute(per_stock)}
        unbalanced = conn.execute(
            text("SELECT count(*) FROM sales_order_lines WHERE qty_allocated + qty_backordered <> qty_ordered")
        ).scalar()
    for key, (on_hand, allocated) in stock(engine).items():
        assert 0 <= allocated <= on_hand, key
        assert placed.get(key, 0) == allocated, key
    drills = stock(engine, "HS-2001")
    assert drills == {("DAL", "HS-2001"): (20, 20), ("CHI", "HS-2001"): (5, 5), ("ATL", "HS-2001"): (12, 12)}
    assert unbalanced == 0
