"""Database engines for the ledger and the reference ERP (SQLite embedded, or PostgreSQL).

SQLite runs in WAL mode with one writer: every write transaction starts with BEGIN IMMEDIATE,
so two processes queue for the write lock instead of failing half-way through a transaction.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_one_writer(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_one_writer(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
