"""Database engines for the ledger and the reference ERP (SQLite embedded, or PostgreSQL).

SQLite runs in WAL mode with one writer. Its driver's own BEGIN comes too late (at the first
write) to lock anything, so we issue BEGIN ourselves (SQLAlchemy's documented pysqlite recipe):
deferred for reads, which never wait for a writer, and IMMEDIATE for connections taken from
`writer(engine)`, which take the write lock before they read what they will change.

JSON columns (a document's canonical form, decisions, events ...) are written and read with
orjson rather than the standard library's json: a worker spent about 6% of its time there.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from psycopg.types.json import Json
from sqlalchemy import JSON, Connection, Engine, Table, create_engine, event
from sqlalchemy import exc as sa_exc

IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for `url`; on PostgreSQL a pool of `pool_size` connections (and as many again
    when busy), each checked before use so a restarted server costs a reconnect, not an error."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=json_text, json_deserializer=json_value)
        sqlite_one_writer(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                         json_serializer=json_bytes, json_deserializer=json_value)


def json_bytes(value: Any) -> bytes:
    """A JSON column's value as JSON. orjson refuses a few things the standard library writes
    (integers beyond 64 bits); those are written by the standard library, as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def json_text(value: Any) -> str:
    """`json_bytes` as text (SQLite keeps JSON in a text column)."""
    return json_bytes(value).decode()


def json_value(data: str | bytes) -> Any:
    """A JSON column's value read back; what orjson refuses (NaN, written by the standard library
    before) is read by the standard library."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def writer(engine: Engine) -> Engine:
    """The engine for transactions that write: on SQLite they begin IMMEDIATE."""
    return engine.execution_options(**IMMEDIATE)


def sqlite_one_writer(engine: Engine) -> None:
    """Install the BEGIN hooks on a SQLite engine (once; other dialects are left alone)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "begin", _begin):
        event.listen(engine, "connect", _connect)
        event.listen(engine, "begin", _begin)


def _connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # the driver stops issuing BEGIN / COMMIT by itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".rstrip())


def copy_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """Insert many rows alike (each giving the same columns) at once: on PostgreSQL with COPY,
    several times faster than an executemany (a batch's order lines, a step's ledger events);
    elsewhere an executemany. Values are of the columns' Python types: on PostgreSQL no
    SQLAlchemy conversion runs, so JSON columns are wrapped here (None as JSON null, as
    SQLAlchemy stores it)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    first = rows[0].keys()
    columns = list(first)
    as_json = {name for name in columns if isinstance(table.c[name].type, JSON)}
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()  # the psycopg connection of this transaction
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                if row.keys() != first:
                    raise ValueError(f"rows for {table.name} give different columns: {sorted(row)} against {sorted(columns)}")
                copy.write_row([Json(row[name]) if name in as_json else row[name] for name in columns])
    except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError ...)
        raise sa_exc.DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc
