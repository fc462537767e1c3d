"""Creating the reference ERP's tables and loading its seed from CSV.

`load_seed` reads DIR/<table>.csv for every table (header row = column names; values converted by
the column's type; booleans are "true"/"false"; an empty cell is NULL, or the column's default when
it is NOT NULL). Everything loads in one transaction, tables in foreign-key order. A table that
already has rows is left alone, so seeding twice changes nothing.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, Engine, Integer, Numeric, Table, func, select
from sqlalchemy.exc import IntegrityError

from adapters.erp import statement_keys
from adapters.erp.schema import NUMBERING, erp_sequences, metadata, sales_orders
from hub.errors import ConfigurationError, Location


def create_schema(engine: Engine) -> None:
    """Create the tables, indexes and number sequences that are missing, and on PostgreSQL the
    per-statement checks of the busiest foreign keys (adapters.erp.statement_keys); idempotent."""
    metadata.create_all(engine)
    for table in metadata.sorted_tables:  # create_all adds indexes only with a new table
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    with engine.begin() as conn:
        statement_keys.install(conn)
        present = set(conn.scalars(select(erp_sequences.c.name)))
        for name in NUMBERING.keys() - present:
            conn.execute(erp_sequences.insert().values(name=name, next_value=1))


def load_seed(engine: Engine, erp_dir: Path) -> dict[str, int]:
    """Load DIR/*.csv into the empty tables; returns rows loaded per table."""
    erp_dir = Path(erp_dir)
    tables = {t.name: t for t in metadata.sorted_tables}
    unknown = sorted(p.name for p in erp_dir.glob("*.csv") if p.stem not in tables)
    if unknown:
        raise ConfigurationError(f"{erp_dir}: no ERP table for {', '.join(unknown)}")
    loaded: dict[str, int] = {}
    with engine.begin() as conn:
        for table in tables.values():
            path = erp_dir / f"{table.name}.csv"
            if path.exists() and not conn.scalar(select(func.count()).select_from(table)):
                loaded[table.name] = _load_table(conn, table, path)
        if loaded.get(sales_orders.name):
            _advance_order_sequence(conn)
    return loaded


def _load_table(conn: Connection, table: Table, path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        bad = [name for name in reader.fieldnames or [] if name not in table.c]
        if bad:
            raise ConfigurationError(f"{path.name}: {table.name} has no column {', '.join(bad)}", Location(line=1))
        count = 0
        for raw in reader:
            if None in raw:  # DictReader's key for values beyond the header
                raise ConfigurationError(f"{path.name}: more values than columns", Location(line=reader.line_num))
            row = {name: _convert(table.c[name], value, path, reader.line_num) for name, value in raw.items()}
            try:
                conn.execute(table.insert().values(row))
            except IntegrityError as exc:
                raise ConfigurationError(
                    f"{path.name}: row rejected by {table.name}: {exc.orig}", Location(line=reader.line_num)
                ) from exc
            count += 1
    return count


def _convert(column: Column, value: str | None, path: Path, line: int) -> Any:
    """The CSV cell as the column's Python type; a clear error naming file, line and column."""
    value = (value or "").strip()
    if value == "":
        if column.nullable:
            return None
        if column.default is not None and column.default.is_scalar:
            return column.default.arg
        raise ConfigurationError(f"{path.name}: {column.name} is required", Location(line=line, element=column.name))
    try:
        return _parse(column.type, value)
    except (ValueError, InvalidOperation) as exc:
        raise ConfigurationError(
            f"{path.name}: {value!r} is not a valid {column.type} for {column.table.name}.{column.name}",
            Location(line=line, element=column.name),
        ) from exc


def _parse(type_: Any, value: str) -> Any:
    if isinstance(type_, Boolean):
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise ValueError(value)
        return lowered == "true"
    if isinstance(type_, Integer):
        return int(value)
    if isinstance(type_, Numeric):
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidOperation(value)
        return amount
    if isinstance(type_, Date):
        return date.fromisoformat(value)
    return value


def _advance_order_sequence(conn: Connection) -> None:
    """Make the next order id follow the seed's highest (SO-900001 -> SO-900002)."""
    ids = conn.scalars(select(sales_orders.c.order_id))
    numbers = [int(m.group(1)) for oid in ids if (m := re.fullmatch(r"SO-(\d+)", oid))]
    if numbers:
        seq = erp_sequences.c
        conn.execute(
            erp_sequences.update()
            .where(seq.name == "sales_order", seq.next_value <= max(numbers))
            .values(next_value=max(numbers) + 1)
        )
