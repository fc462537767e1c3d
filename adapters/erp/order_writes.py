"""Where a sales order's posting reads its stock and order number and writes its rows: at once
(`DirectOrderWrites`), or held and written with the rest of a batch (`HeldOrderWrites`).

A batch (ReferenceErp.batch) holds its orders' rows and writes them together, one statement per
table, before it commits, and before anything else in the batch reads or posts in the ERP. That is
a few statements per batch instead of ten per order (a savepoint, the replay and customer-PO
checks, the order number, the order, its lines, its allocations, the inventory, the savepoint's
release). What is held stays true until
it is written because the batch's transaction keeps the row locks it took: the inventory rows of
the SKUs it allocated (their availability, less what held orders take) and the sales-order
sequence row (the next number).

Two checks of a held order are made when it is written rather than one by one: whether its
document was posted before (its unique source_document refuses it) and whether its customer PO was
given by an earlier order (one query for all the POs the batch asked about; the batch's own held
orders are answered at once). Either finds something only after a crash or with a duplicate PO;
the batch then ends with BatchRefused and runs again one posting at a time, checked one by one.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select

from adapters.erp.rows import insert_many, next_number, set_next_number, take_number
from adapters.erp.schema import NUMBERING, allocations, inventory, sales_order_lines, sales_orders
from hub.db import copy_many
from hub.erp import OPEN_ORDER_STATUSES, Availability
from hub.errors import BatchRefused, TransientError

# Built once: a posting runs these for every order, and building a statement costs more than running it.
_LOCK_INVENTORY = (
    select(inventory.c.warehouse, inventory.c.sku, inventory.c.on_hand - inventory.c.allocated)
    .where(inventory.c.sku.in_(bindparam("skus", expanding=True)))
    .order_by(inventory.c.warehouse, inventory.c.sku)
    .with_for_update()  # PostgreSQL row locks, taken in this order; SQLite holds the write lock already
)
_TAKE_INVENTORY = (
    inventory.update()
    .where(
        inventory.c.warehouse == bindparam("w"),
        inventory.c.sku == bindparam("s"),
        inventory.c.on_hand - inventory.c.allocated >= bindparam("q"),
    )
    .values(allocated=inventory.c.allocated + bindparam("q"))
)


def _lock_inventory(conn: Connection, skus: set[str]) -> Availability:
    rows = conn.execute(_LOCK_INVENTORY, {"skus": sorted(skus)})
    return {(warehouse, sku): available for warehouse, sku, available in rows}


def _take_inventory(conn: Connection, taken: dict[tuple[str, str], int], what: str) -> int:
    """Raise inventory.allocated by `taken` ((warehouse, sku) -> base units); the WHERE refuses to
    go past on_hand even if our lock failed us."""
    params = [{"w": w, "s": sku, "q": qty} for (w, sku), qty in sorted(taken.items()) if qty]
    if params and conn.execute(_TAKE_INVENTORY, params).rowcount != len(params):
        raise TransientError(f"{what}: inventory changed while allocating")
    return len(params)


class DirectOrderWrites:
    """An order's reads and writes in its own transaction (or a batch's savepoint)."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def availability(self, skus: set[str]) -> Availability:
        return _lock_inventory(self._conn, skus)

    def number(self) -> str:
        return next_number(self._conn, "sales_order")

    def write(self, order: dict[str, Any], lines: list[dict], placed: list[dict], taken: dict[tuple[str, str], int]) -> int:
        """Insert the order, its lines and allocations and take its stock; the rows written."""
        self._conn.execute(sales_orders.insert(), order)
        rows = 1 + insert_many(self._conn, sales_order_lines, lines) + insert_many(self._conn, allocations, placed)
        return rows + _take_inventory(self._conn, taken, order["source_document"])


class HeldOrderWrites:
    """The orders a batch posted, held until `flush` writes them (see the module's docstring)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._forget()

    def _forget(self) -> None:
        self._available: Availability = {}  # of inventory rows locked by this transaction, less what held orders take
        self._locked_skus: set[str] = set()
        self._next_number: int | None = None  # of sales_order, once this transaction holds its row
        self._orders: list[dict[str, Any]] = []
        self._lines: list[dict] = []
        self._placed: list[dict] = []
        self._taken: dict[tuple[str, str], int] = defaultdict(int)
        self._pos_asked: set[tuple[str, str, str]] = set()  # (customer, PO, asking source) answered "not given", to check

    def availability(self, skus: set[str]) -> Availability:
        new = skus - self._locked_skus
        if new:
            self._available.update(_lock_inventory(self._conn, new))
            self._locked_skus |= new
        return {key: available for key, available in self._available.items() if key[1] in skus}

    def number(self) -> str:
        if self._next_number is None:
            self._next_number = take_number(self._conn, "sales_order")
        taken, self._next_number = self._next_number, self._next_number + 1
        return NUMBERING["sales_order"].format(taken)

    def write(self, order: dict[str, Any], lines: list[dict], placed: list[dict], taken: dict[tuple[str, str], int]) -> int:
        """Hold the order's rows; the rows it will write."""
        self._orders.append(order)
        self._lines += lines
        self._placed += placed
        for key, qty in taken.items():
            self._available[key] -= qty
            self._taken[key] += qty
        return 1 + len(lines) + len(placed) + sum(1 for qty in taken.values() if qty)

    def customer_po_given(self, customer_id: str, customer_po: str, except_source: str) -> bool:
        """Whether another document gave this customer PO: True when a held order did; otherwise
        False, checked against the ERP's orders when the held orders are written."""
        if any(o["customer_id"] == customer_id and o["customer_po"] == customer_po and o["source_document"] != except_source
               for o in self._orders):
            return True
        self._pos_asked.add((customer_id, customer_po, except_source))
        return False

    def open_total(self, customer_id: str) -> Decimal:
        """What the held orders add to the customer's open order total."""
        return sum((o["total"] for o in self._orders if o["customer_id"] == customer_id and o["status"] in OPEN_ORDER_STATUSES), Decimal(0))

    def flush(self) -> None:
        """Write what is held, and forget what was read: what runs next in the batch may change it."""
        self._check_pos_asked()
        if self._orders:
            for table, rows in ((sales_orders, self._orders), (sales_order_lines, self._lines), (allocations, self._placed)):
                copy_many(self._conn, table, rows)
            _take_inventory(self._conn, self._taken, f"the batch's {len(self._orders)} orders")
        if self._next_number is not None:
            set_next_number(self._conn, "sales_order", self._next_number)
        self._forget()

    def _check_pos_asked(self) -> None:
        """Refuse the batch if a customer PO it counted as new was given by an order already in the ERP."""
        if not self._pos_asked:
            return
        so = sales_orders.c
        found = self._conn.execute(select(so.customer_id, so.customer_po, so.source_document)
                                   .where(so.customer_po.in_({po for _, po, _ in self._pos_asked}), so.status != "CANCELLED")).all()
        for customer, po, source in found:
            if any((customer, po) == (c, p) and source != asking for c, p, asking in self._pos_asked):
                raise BatchRefused(f"customer {customer} gave PO {po} on an earlier order, which the batch took for new")
