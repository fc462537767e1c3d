"""Small helpers every posting of the reference ERP uses: numbers, batched inserts, hold codes."""

from __future__ import annotations

from sqlalchemy import Connection, Table, bindparam

from adapters.erp.schema import NUMBERING, erp_sequences
from hub.errors import PermanentError

_TAKE_NUMBER = (
    erp_sequences.update()
    .where(erp_sequences.c.name == bindparam("sequence"))
    .values(next_value=erp_sequences.c.next_value + 1)
    .returning(erp_sequences.c.next_value - 1)
)


def next_number(conn: Connection, sequence: str) -> str:
    """The next ERP number of `sequence` (NUMBERING), under the sequence row's lock."""
    taken = conn.scalar(_TAKE_NUMBER, {"sequence": sequence})
    if taken is None:
        raise PermanentError(f"the reference ERP has no {sequence} sequence (run create_schema)")
    return NUMBERING[sequence].format(taken)


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> int:
    if rows:
        conn.execute(table.insert(), rows)
    return len(rows)


def join_codes(codes: list[str]) -> str:
    """Hold codes as stored: one comma-separated string, "" for none."""
    return ",".join(codes)


def split_codes(stored: str | None) -> list[str]:
    return [code for code in (stored or "").split(",") if code]
