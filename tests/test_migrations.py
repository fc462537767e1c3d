"""The Alembic migrations build exactly the tables hub/ledger/tables.py describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.db import make_engine
from hub.ledger import schema
from hub.ledger.tables import metadata


def test_the_migrations_match_the_table_definitions(settings):
    engine = make_engine(settings.ledger_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schema.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []
