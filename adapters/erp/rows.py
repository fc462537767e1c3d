"""Small helpers every posting of the reference ERP uses: numbers, batched inserts, hold codes,
and the records of held documents (withdrawn to judge them again, or closed when cancelled)."""

from __future__ import annotations

from sqlalchemy import Connection, Table, and_, bindparam, select

from adapters.erp.schema import NUMBERING, erp_sequences
from hub.errors import PermanentError

_TAKE_NUMBER = (
    erp_sequences.update()
    .where(erp_sequences.c.name == bindparam("sequence"))
    .values(next_value=erp_sequences.c.next_value + 1)
    .returning(erp_sequences.c.next_value - 1)
)


def take_number(conn: Connection, sequence: str) -> int:
    """The next value of `sequence`, taken under the sequence row's lock (held to the transaction's end)."""
    taken = conn.scalar(_TAKE_NUMBER, {"sequence": sequence})
    if taken is None:
        raise PermanentError(f"the reference ERP has no {sequence} sequence (run create_schema)")
    return taken


def next_number(conn: Connection, sequence: str) -> str:
    """The next ERP number of `sequence` (NUMBERING), under the sequence row's lock."""
    return NUMBERING[sequence].format(take_number(conn, sequence))


def set_next_number(conn: Connection, sequence: str, value: int) -> None:
    """Where `sequence` goes on, after numbers taken past `take_number` while holding its row."""
    conn.execute(erp_sequences.update().where(erp_sequences.c.name == sequence).values(next_value=value))


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> int:
    if rows:
        conn.execute(table.insert(), rows)
    return len(rows)


def join_codes(codes: list[str]) -> str:
    """Hold codes as stored: one comma-separated string, "" for none."""
    return ",".join(codes)


def split_codes(stored: str | None) -> list[str]:
    return [code for code in (stored or "").split(",") if code]


def withdraw_held(conn: Connection, table: Table, details: tuple[Table, ...], ref: str, source_document: str) -> list[str]:
    """Delete `table`'s HOLD rows for `source_document` with their `details` (rows keyed by the
    parent's primary key); the `ref` (a key column) of each withdrawn, in order. A held record changed nothing
    else, so nothing else needs undoing."""
    held = _held_rows(conn, table, source_document)
    key = [column.name for column in table.primary_key.columns]
    for detail in details:
        for row in held:
            conn.execute(detail.delete().where(and_(*(detail.c[k] == row._mapping[k] for k in key))))
    if held:
        conn.execute(table.delete().where(table.c.source_document == source_document, table.c.status == "HOLD"))
    return list(dict.fromkeys(row._mapping[ref] for row in held))


def close_held(conn: Connection, table: Table, ref: str, source_document: str, status: str) -> list[str]:
    """Set `status` on every row `source_document` recorded in `table`, all of which must be on
    hold; the `ref` of each, in order. Raises PermanentError naming one that is not on hold."""
    found = conn.execute(
        select(table.c[ref], table.c.status).where(table.c.source_document == source_document)
        .order_by(table.c[ref]).with_for_update()
    ).all()
    for number, current in found:
        if current != "HOLD":
            raise PermanentError(f"cannot cancel {number}: it is {current}, not on hold")
    if found:
        conn.execute(table.update().where(table.c.source_document == source_document).values(status=status))
    return list(dict.fromkeys(number for number, _ in found))


def _held_rows(conn: Connection, table: Table, source_document: str) -> list:
    query = (
        select(*table.primary_key.columns)
        .where(table.c.source_document == source_document, table.c.status == "HOLD")
        .order_by(*table.primary_key.columns)
        .with_for_update()
    )
    return conn.execute(query).all()
