"""hub.erp.ErpGateway over the reference ERP's tables, for any SQLAlchemy engine (SQLite, PostgreSQL).

Units: `sales_order_lines.qty_ordered`, `unit_price` and `customer_unit_price` are in the line's
`uom`; `allocations.qty`, `inventory` and the line's `qty_allocated` / `qty_backordered` /
`qty_shipped` are in the item's base unit (SalesOrderLineDraft.base_qty).

Hold codes are stored as one comma-separated string: "PRICE_MISMATCH,CREDIT_LIMIT" ("" = none).

Supplier ASNs and invoices post in adapters/erp/purchasing.py, 3PL ship confirmations in
adapters/erp/fulfilment.py, each through the same retried, replay-checked transaction as orders.

Posting an order is one transaction: replay check on source_document; for a BOOKED order with
an allocator, the order's inventory rows are locked and the allocator decides on what they hold;
then the next order id (an UPDATE on erp_sequences, taken late so its row lock is held briefly),
the order, its lines and allocations are inserted and `inventory.allocated` is raised by guarded
UPDATEs. Locks are always taken inventory rows first, then the sequence row.

A batch (ReferenceErp.batch) runs the postings of several documents in one transaction, begun at
its first read and committed when the batch ends: one commit instead of one per document, and
reads (open orders, customer POs) that see what the batch posted so far. Its sales orders are held
and written together before the commit (adapters/erp/order_writes.py); any other posting writes
the held orders first and runs in a savepoint of its own. A posting that fails for good is undone
alone (its savepoint, or its held rows never held); anything that loses the transaction (a lost
connection, a deadlock, a lock not granted) ends the batch with ErpUnavailable, and the caller
records none of it. Held orders the database refuses end it with BatchRefused: the caller runs the
batch again one posting at a time (batch(one_by_one=True)), a savepoint each. Postings in a batch
are not retried one by one: the batch is.

Reconsidering a held document (reconsider=True, and every posting of a rehearsal) first deletes
its HOLD records in the same transaction, locking them before anything else (a sales order
before inventory, as a ship confirmation locks them), then posts as above; a reconsidered
order takes the withdrawn order's id instead of a new number. A rehearsal (ReferenceErp.rehearsal)
runs the very same transaction and rolls it back.

PostgreSQL locks with `SELECT ... FOR UPDATE` ordered by (warehouse, sku), so two posters lock in
the same order and cannot deadlock. SQLite has no row locks: posting transactions start with
BEGIN IMMEDIATE, one writer at a time (see hub.db). It waits for the lock
as long as the engine's busy timeout (`connect_args={"timeout": seconds}`), then fails with
"database is locked", which is retried here like any transient failure.

SQLAlchemy errors are translated once, here, into hub TransientError / PermanentError.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from dataclasses import fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, func, or_, select, union_all
from sqlalchemy import exc as sa_exc
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from adapters.erp.books import ReferenceBooks
from adapters.erp.fulfilment import post_shipments, posted_shipments
from adapters.erp.purchasing import (
    post_ap_invoice,
    post_asn,
    posted_supplier_document,
    withdraw_held_asn,
    withdraw_held_invoice,
)
from adapters.erp.order_writes import DirectOrderWrites, HeldOrderWrites
from adapters.erp.rows import close_held, join_codes, split_codes, withdraw_held
from adapters.erp.schema import (
    allocations,
    ap_invoices,
    ar_invoices,
    contract_prices,
    customer_items,
    customers,
    inbound_asns,
    items,
    sales_order_lines,
    sales_orders,
    shipments,
    tiers,
    warehouses,
)
from hub.erp import (
    Allocator,
    AllocationLine,
    AllocationOutcome,
    ApInvoiceDecider,
    AsnDecider,
    Availability,
    OPEN_ORDER_STATUSES,
    ContractPrice,
    Customer,
    Item,
    PostingAttempt,
    PostingResult,
    ReferenceData,
    SalesOrderDraft,
    ShipmentDecider,
    ShipmentPosting,
    SupplierPosting,
    Warehouse,
)
from hub.db import sqlite_one_writer, writer
from hub.errors import BatchRefused, ErpUnavailable, HubError, PermanentError, TransientError
from hub.failpoints import failpoint

ATTEMPTS = 6
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0

# serialization failure, deadlock detected, lock not available: the database asks us to retry
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}
# what a document is posted as, per table that records source documents
_POSTED_AS = (
    (sales_orders, "order_id"),
    (shipments, "shipment_id"),
    (ar_invoices, "invoice_number"),
    (inbound_asns, "asn_number"),
    (ap_invoices, "invoice_number"),
)


_so = sales_orders.c
_INVOICED_SO_FAR = (
    select(func.coalesce(func.sum(ar_invoices.c.total), 0)).where(ar_invoices.c.order_id == _so.order_id).scalar_subquery()
)
# a partly shipped order counts only its part not yet invoiced: the invoiced part is in open_ar
_OPEN_ORDER_TOTAL = select(func.coalesce(func.sum(_so.total - _INVOICED_SO_FAR), 0)).where(
    _so.customer_id == bindparam("customer_id"), _so.status.in_(OPEN_ORDER_STATUSES)
)
_CUSTOMER_PO = (
    select(_so.order_id)
    .where(
        _so.customer_id == bindparam("customer_id"),
        _so.customer_po == bindparam("customer_po"),
        _so.status != "CANCELLED",
        or_(_so.source_document.is_(None), _so.source_document != bindparam("except_source")),
    )
    .limit(1)
)
# what cancelling a held document does, per table that records one: (table, reference, new status)
_CANCELLED_AS = ((sales_orders, "order_id", "CANCELLED"), (inbound_asns, "asn_number", "REJECTED"),
                 (ap_invoices, "invoice_number", "REJECTED"))
_POSTED_ORDER = select(_so.order_id, _so.status, _so.hold_codes).where(_so.source_document == bindparam("source"))
class _SharedTransaction:
    """The one write transaction of a batch of postings, begun at its first use; the orders it
    holds to write together (`held`, None when the batch writes each posting as it is made)."""

    def __init__(self, engine: Engine, one_by_one: bool):
        self._engine = engine
        self._one_by_one = one_by_one
        self._conn: Connection | None = None
        self.held: HeldOrderWrites | None = None
        self.posted = False  # whether a posting ran in it (committing a batch of reads only is no posting)
        # customer -> open order total as of now in the transaction: read once, then raised by
        # each order the batch books (a ship confirmation, which invoices orders, forgets them all)
        self.open_orders: dict[str, Decimal] = {}

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
            self._conn.begin()
            self.held = None if self._one_by_one else HeldOrderWrites(self._conn)
        return self._conn

    def write_held(self) -> None:
        """Write the orders held so far (before anything else reads or writes what they change)."""
        if self.held is None:
            return
        try:
            self.held.flush()
        except sa_exc.SQLAlchemyError as exc:
            if _is_transient(exc):
                raise _batch_lost(exc) from exc
            raise BatchRefused(f"the ERP refused the batch's orders: {_translate(exc)}") from exc
        except TransientError as exc:
            raise _batch_lost(exc) from exc

    @property
    def holds_writes(self) -> bool:
        return not self._one_by_one

    def intact(self) -> bool:
        """Whether everything posted so far can still be committed."""
        conn = self._conn
        return conn is None or (not conn.invalidated and conn.in_transaction() and conn.get_transaction().is_active)

    def commit(self) -> None:
        if self._conn is not None:
            self.write_held()
            self._conn.commit()
            self._conn.close()
            if self.posted:
                failpoint("after-erp-post")

    def abandon(self) -> None:
        """Roll back and let go of the connection; a connection already lost is simply dropped."""
        if self._conn is not None:
            try:
                self._conn.close()
            except sa_exc.SQLAlchemyError:
                pass


class ReferenceErp:
    def __init__(self, engine: Engine, *, rehearsal: bool = False, shared: _SharedTransaction | None = None):
        self._engine = engine
        sqlite_one_writer(engine)
        self._writer = writer(engine)
        self._rehearsal = rehearsal  # every posting rolled back (see rehearsal())
        self._shared = shared  # the transaction of a batch (see batch())

    # --- reads ---------------------------------------------------------------------------------

    def reference_data(self) -> ReferenceData:
        with self._reading() as conn:
            item_list = _load(conn, items, Item, items.c.sku)
            prices: dict[tuple[str, str], list[ContractPrice]] = defaultdict(list)
            order = (contract_prices.c.customer_id, contract_prices.c.sku, contract_prices.c.min_qty)
            for price in _load(conn, contract_prices, ContractPrice, *order):
                prices[(price.customer_id, price.sku)].append(price)
            return ReferenceData(
                customers={c.customer_id: c for c in _load(conn, customers, Customer, customers.c.customer_id)},
                items={i.sku: i for i in item_list},
                items_by_upc={i.upc: i.sku for i in item_list if i.upc},
                items_by_vendor_part={i.vendor_part: i.sku for i in item_list if i.vendor_part},
                customer_items={
                    (r.customer_id, r.customer_part): r.sku for r in conn.execute(select(customer_items))
                },
                contract_prices=dict(prices),
                tier_discounts=dict(conn.execute(select(tiers.c.tier, tiers.c.discount_pct)).all()),
                warehouses=_load(conn, warehouses, Warehouse, warehouses.c.priority, warehouses.c.code),
            )

    def open_order_total(self, customer_id: str) -> Decimal:
        known = self._shared.open_orders if self._shared is not None else {}
        if customer_id not in known:
            with self._reading(write_held=False) as conn:
                total = Decimal(conn.scalar(_OPEN_ORDER_TOTAL, {"customer_id": customer_id}))
                known[customer_id] = total + (self._held.open_total(customer_id) if self._held else 0)
        return known[customer_id]

    def customer_po_exists(self, customer_id: str, customer_po: str, except_source: str) -> bool:
        """True when another document already gave this customer PO (cancelled orders do not count)."""
        params = {"customer_id": customer_id, "customer_po": customer_po, "except_source": except_source}
        with self._reading(write_held=False) as conn:
            if self._held is not None:  # checked against the ERP when the held orders are written
                return self._held.customer_po_given(customer_id, customer_po, except_source)
            return conn.execute(_CUSTOMER_PO, params).first() is not None

    @property
    def _held(self) -> HeldOrderWrites | None:
        """The orders the batch holds to write (once its transaction has begun)."""
        return self._shared.held if self._shared is not None else None

    def find_posted(self, source_document: str) -> str | None:
        """The order id, shipment id, invoice or ASN number the document was posted as."""
        query = union_all(
            *(select(table.c[key]).where(table.c.source_document == source_document) for table, key in _POSTED_AS)
        )
        with self._reading() as conn:
            return conn.scalar(query)

    # --- posting -------------------------------------------------------------------------------

    def post_sales_order(
        self,
        draft: SalesOrderDraft,
        allocate: Allocator | None,
        on_attempt: Callable[[PostingAttempt], None] | None = None,
        *,
        reconsider: bool = False,
    ) -> PostingResult:
        if draft.status not in ("BOOKED", "HOLD"):
            raise PermanentError(f"{draft.source_document}: cannot post an order as {draft.status!r}")
        source = draft.source_document
        held = self._shared is not None and self._shared.holds_writes and not reconsider

        def post(conn: Connection, withdrawn: list[str]) -> PostingResult:
            writes = self._held if held else DirectOrderWrites(conn)
            return _post_order(writes, draft, allocate, withdrawn[0] if withdrawn else None)

        posted = self._posting(post, partial(_posted_order, source_document=source),
                               partial(_withdraw_held_order, source_document=source), reconsider, on_attempt, held)
        if self._shared is not None and posted.created and posted.status in OPEN_ORDER_STATUSES and draft.customer_id in self._shared.open_orders:
            self._shared.open_orders[draft.customer_id] += draft.total
        return posted

    def post_inbound_asn(self, source_document, supplier_id, asn_number, po_numbers, decide: AsnDecider, on_attempt=None,
                         *, reconsider: bool = False) -> SupplierPosting:
        post = _fresh(post_asn, source_document=source_document, supplier_id=supplier_id, asn_number=asn_number,
                      po_numbers=po_numbers, decide=decide)
        return self._posting(post, partial(posted_supplier_document, inbound_asns, source_document),
                             partial(withdraw_held_asn, source_document=source_document), reconsider, on_attempt)

    def post_supplier_invoice(self, source_document, supplier_id, invoice_number, po_number, decide: ApInvoiceDecider,
                              on_attempt=None, *, reconsider: bool = False) -> SupplierPosting:
        post = _fresh(post_ap_invoice, source_document=source_document, supplier_id=supplier_id,
                      invoice_number=invoice_number, po_number=po_number, decide=decide)
        return self._posting(post, partial(posted_supplier_document, ap_invoices, source_document),
                             partial(withdraw_held_invoice, source_document=source_document), reconsider, on_attempt)

    def post_ship_confirmation(self, source_document, warehouse, partner_reference, order_ids, decide: ShipmentDecider,
                               on_attempt=None, *, reconsider: bool = False) -> ShipmentPosting:
        # A held confirmation recorded nothing: there is nothing to withdraw, reconsidering posts it.
        post = _fresh(post_shipments, source_document=source_document, warehouse=warehouse,
                      partner_reference=partner_reference, order_ids=order_ids, decide=decide)
        if self._shared is not None:
            self._shared.open_orders.clear()
        return self._posting(post, partial(posted_shipments, source_document=source_document), None, reconsider, on_attempt)

    # --- held documents ------------------------------------------------------------------------

    def cancel_held(self, source_document: str) -> list[str]:
        """Cancel what a held document recorded: a HOLD order becomes CANCELLED, HOLD ASN rows and
        invoice REJECTED; their references, [] when it recorded nothing. Raises PermanentError
        (nothing changed) when a record is not on hold."""
        try:
            with self._transaction() as conn:
                shipped = conn.scalars(select(shipments.c.shipment_id).where(shipments.c.source_document == source_document)).all()
                if shipped:
                    raise PermanentError(f"cannot cancel {', '.join(shipped)}: shipped, not on hold")
                return [number for table, key, status in _CANCELLED_AS
                        for number in close_held(conn, table, key, source_document, status)]
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc) from exc

    def books(self) -> ReferenceBooks:
        return ReferenceBooks(self._engine)

    @contextmanager
    def batch(self, one_by_one: bool = False) -> Iterator[ReferenceErp]:
        """This ERP with the postings and reads of the block in one transaction, committed when the
        block ends well (see the module's docstring). Raises ErpUnavailable when the transaction
        is lost, at any posting or read in the block or at its commit; BatchRefused when the orders
        it held are refused (`one_by_one` writes each posting as it is made)."""
        shared = _SharedTransaction(self._writer, one_by_one)
        try:
            yield ReferenceErp(self._engine, shared=shared)
            shared.commit()
        except sa_exc.SQLAlchemyError as exc:
            shared.abandon()
            raise _batch_lost(exc) from exc
        except BaseException:
            shared.abandon()
            raise

    def rehearsal(self) -> ReferenceErp:
        """This ERP with every posting rolled back (see hub.erp.ErpGateway.rehearsal): one attempt,
        held records always reconsidered."""
        return ReferenceErp(self._engine, rehearsal=True)

    # --- the posting transaction ---------------------------------------------------------------

    def _posting(self, post: Callable[[Connection, list[str]], Any], replay: Callable[[Connection], Any],
                 withdraw: Callable[[Connection], list[str]] | None, reconsider: bool, on_attempt, held: bool = False) -> Any:
        """Run `post` in one write transaction, unless `replay` finds the document posted already;
        when reconsidering, `withdraw` first deletes its held records and `post` gets their references.
        `held`: `post` holds its writes in the batch (HeldOrderWrites) and needs no savepoint.

        Transient failures are retried with bounded exponential backoff (not in a rehearsal); every
        attempt is reported to `on_attempt` whatever happens; SQLAlchemy errors leave as hub errors."""
        if not (reconsider or self._rehearsal):
            withdraw = None
        report = on_attempt or (lambda attempt: None)
        run = partial(self._post_or_replay, post, replay, withdraw, held)
        if self._shared is not None:
            return self._in_batch(run, report, held)
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(1 if self._rehearsal else ATTEMPTS),
            wait=wait_exponential_jitter(multiplier=BACKOFF_FIRST_S, max=BACKOFF_MAX_S, jitter=BACKOFF_FIRST_S),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                result = self._attempt(run, attempt.retry_state.attempt_number, report)
        return result

    def _in_batch(self, run: Callable[[], tuple[Any, str]], report, held: bool) -> Any:
        """One attempt in the batch's transaction: a permanent failure that left the transaction
        intact is the document's alone; anything else ends the batch. A database error in a
        posting that holds its writes (no savepoint of its own to roll back to) ends it too."""
        try:
            return self._attempt(run, 1, report)
        except PermanentError as error:
            if self._shared.intact() and not (held and isinstance(error.__cause__, sa_exc.SQLAlchemyError)):
                raise
            raise _batch_lost(error) from error
        except TransientError as error:
            raise ErpUnavailable(f"the ERP could not take the batch's postings: {error}") from error

    def _attempt(self, run: Callable[[], tuple[Any, str]], number: int, report) -> Any:
        started = time.perf_counter()
        try:
            result, outcome = run()
        except Exception as exc:
            error = _translate(exc) if isinstance(exc, sa_exc.SQLAlchemyError) else exc
            outcome = "transient" if isinstance(error, TransientError) else "failed"
            report(PostingAttempt(number, outcome, str(error), _ms_since(started), 0))
            if error is exc:
                raise
            raise error from exc
        report(PostingAttempt(number, outcome, None, _ms_since(started), result.rows))
        return result

    def _post_or_replay(self, post, replay, withdraw, held: bool) -> tuple[Any, str]:
        """The result and the attempt's outcome: posted, replayed (posted before) or not-posted.
        A `held` posting skips the replay check: its document's unique source_document refuses
        it when the held orders are written (BatchRefused), and the batch runs again one posting
        at a time, checked (a document is posted before only when a run stopped after the ERP
        committed: a crash, a lost claim)."""
        try:
            with self._transaction(held) as conn:
                withdrawn = withdraw(conn) if withdraw is not None else []
                existing = None if held else replay(conn)
                if existing is not None:
                    return existing, "replayed"
                result = post(conn, withdrawn)
                return result, "posted" if result.created else "not-posted"
        except sa_exc.IntegrityError:
            # A racing worker committed the same source_document after our replay check.
            with self._reading() as conn:
                existing = replay(conn)
            if existing is None:
                raise
            return existing, "replayed"

    @contextmanager
    def _transaction(self, held: bool = False) -> Iterator[Connection]:
        """A write transaction, committed when its block ends well; in a rehearsal always rolled
        back; in a batch a savepoint of the batch's transaction, after the orders the batch holds
        are written. A posting whose writes are `held` only reads and locks: it needs no savepoint."""
        if self._shared is not None:
            conn = self._shared.connection()
            self._shared.posted = True
            if held:
                yield conn
                return
            self._shared.write_held()
            with conn.begin_nested():
                yield conn
            return
        if not self._rehearsal:
            with self._writer.begin() as conn:
                yield conn
            failpoint("after-erp-post")
            return
        with self._writer.connect() as conn:
            conn.begin()
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def _reading(self, write_held: bool = True) -> Iterator[Connection]:
        """A connection to read on: in a batch its transaction (which sees what the batch posted,
        the orders it holds written first unless the reader counts them itself: not `write_held`)."""
        if self._shared is not None:
            try:
                conn = self._shared.connection()
                if write_held:
                    self._shared.write_held()
                yield conn
            except sa_exc.SQLAlchemyError as exc:
                raise _batch_lost(exc) from exc
            return
        try:
            with self._engine.connect() as conn:
                yield conn
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc) from exc


# --- the steps of a posting --------------------------------------------------------------------


def _posted_order(conn: Connection, source_document: str) -> PostingResult | None:
    """The order already posted for this document (allocation rebuilt unless it is on hold)."""
    row = conn.execute(_POSTED_ORDER, {"source": source_document}).first()
    if row is None:
        return None
    allocation = None
    if row.status != "HOLD":
        al, sol = allocations.c, sales_order_lines.c
        placed = conn.execute(
            select(al.line_no, al.warehouse, al.qty)
            .where(al.order_id == row.order_id)
            .order_by(al.line_no, al.warehouse)
        )
        backordered = conn.execute(
            select(sol.line_no, sol.qty_backordered).where(sol.order_id == row.order_id, sol.qty_backordered > 0)
        )
        allocation = AllocationOutcome([AllocationLine(*r) for r in placed], dict(backordered.all()))
    return PostingResult(row.order_id, False, row.status, split_codes(row.hold_codes), allocation)


def _withdraw_held_order(conn: Connection, source_document: str) -> list[str]:
    """Delete the document's HOLD order with its lines (a held order allocated nothing); its id."""
    return withdraw_held(conn, sales_orders, (allocations, sales_order_lines), "order_id", source_document)


def _post_order(writes: DirectOrderWrites | HeldOrderWrites, draft: SalesOrderDraft, allocate: Allocator | None,
                order_id: str | None) -> PostingResult:
    """Allocate (a BOOKED draft) and write the order; as `order_id` (a held order reconsidered) or the next number."""
    status, hold_codes, outcome = draft.status, list(draft.hold_codes), None
    if draft.status == "BOOKED" and allocate is not None:
        availability = writes.availability({line.sku for line in draft.lines})
        outcome = allocate(availability)
        if outcome.hold_codes:
            status = "HOLD"
            hold_codes += [code for code in outcome.hold_codes if code not in hold_codes]
        else:
            _check_allocation(draft, outcome, availability)
    placed = outcome if outcome is not None and not outcome.hold_codes else AllocationOutcome()
    order_id = order_id or writes.number()
    rows = writes.write(*_order_rows(order_id, draft, status, hold_codes, placed))
    return PostingResult(order_id, True, status, hold_codes, outcome, rows)


def _check_allocation(draft: SalesOrderDraft, outcome: AllocationOutcome, availability: Availability) -> None:
    """Refuse an allocation that names unknown lines or takes more than there is (a core bug)."""
    lines = {line.line_no: line for line in draft.lines}
    per_stock: dict[tuple[str, str], int] = defaultdict(int)
    per_line: dict[int, int] = defaultdict(int)
    for placed in outcome.allocations:
        line = lines.get(placed.line_no)
        if line is None or placed.qty < 0:
            raise PermanentError(f"{draft.source_document}: allocator returned {placed} for lines {sorted(lines)}")
        per_stock[(placed.warehouse, line.sku)] += placed.qty
        per_line[placed.line_no] += placed.qty
    short = [key for key, qty in per_stock.items() if qty > availability.get(key, 0)]
    over = [n for n, qty in per_line.items() if qty > lines[n].base_qty]
    if short or over:
        raise PermanentError(
            f"{draft.source_document}: allocator took more than available {short} or ordered (lines {over})"
        )


def _order_rows(order_id: str, draft: SalesOrderDraft, status: str, hold_codes: list[str],
                placed: AllocationOutcome) -> tuple[dict[str, Any], list[dict], list[dict], dict[tuple[str, str], int]]:
    """The order's row, its lines' and allocations' rows, and the stock it takes ((warehouse, sku) -> base units)."""
    order = {"order_id": order_id, "customer_id": draft.customer_id, "customer_po": draft.customer_po, "order_date": draft.order_date,
             "status": status, "hold_codes": join_codes(hold_codes), "total": draft.total, "source_document": draft.source_document}
    per_line_warehouse: dict[tuple[int, str], int] = defaultdict(int)
    for a in placed.allocations:
        if a.qty:
            per_line_warehouse[(a.line_no, a.warehouse)] += a.qty
    allocated: dict[int, int] = defaultdict(int)
    for (line_no, _), qty in per_line_warehouse.items():
        allocated[line_no] += qty
    line_rows = [
        {
            "order_id": order_id,
            "line_no": line.line_no,
            "sku": line.sku,
            "uom": line.uom,
            "qty_ordered": line.qty_ordered,
            "unit_price": line.unit_price,
            "customer_unit_price": line.customer_unit_price,
            "qty_allocated": allocated[line.line_no],
            "qty_backordered": placed.backordered.get(line.line_no, 0),
            "qty_shipped": 0,
        }
        for line in draft.lines
    ]
    allocation_rows = [
        {"order_id": order_id, "line_no": line_no, "warehouse": warehouse, "qty": qty}
        for (line_no, warehouse), qty in sorted(per_line_warehouse.items())
    ]
    sku_of = {line.line_no: line.sku for line in draft.lines}
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for a in placed.allocations:
        taken[(a.warehouse, sku_of[a.line_no])] += a.qty
    return order, line_rows, allocation_rows, dict(taken)


# --- helpers -----------------------------------------------------------------------------------


def _fresh(post: Callable[..., Any], **arguments) -> Callable[[Connection, list[str]], Any]:
    """A posting step that does not depend on what was withdrawn before it."""
    return lambda conn, _withdrawn: post(conn, **arguments)


def _load(conn: Connection, table: Table, cls: type, *order_by) -> list:
    """Rows of `table` as `cls`, whose fields are named like the table's columns."""
    names = [f.name for f in fields(cls)]
    rows = conn.execute(select(*(table.c[n] for n in names)).order_by(*order_by))
    return [cls(*row) for row in rows]


def _translate(exc: sa_exc.SQLAlchemyError) -> HubError:
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    message = f"reference ERP: {type(cause).__name__}: {str(cause).strip()}"
    return TransientError(message) if _is_transient(exc) else PermanentError(message)


def _batch_lost(cause: Exception) -> ErpUnavailable:
    reason = _translate(cause) if isinstance(cause, sa_exc.SQLAlchemyError) else cause
    return ErpUnavailable(f"the ERP transaction of the batch was lost: {reason}")


def _is_transient(exc: sa_exc.SQLAlchemyError) -> bool:
    """Locked / busy SQLite, and on PostgreSQL a lost connection, serialization failure or deadlock."""
    if isinstance(exc, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):  # pool exhausted, connection lost
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    if isinstance(exc.orig, sqlite3.OperationalError):
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text
    return isinstance(exc, sa_exc.OperationalError)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
