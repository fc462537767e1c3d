"""Shared fixtures: a freshly seeded hub per test, on SQLite and (when the test command started
one, HUB_TEST_PG_URL) on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from adapters.x12.envelope import parse_interchange

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "samples" / "scenario"
DOCUMENTS = SCENARIO / "documents"
SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("HUB_TEST_PG_URL")

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


def _pg_database(base_url: str, prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop():
        admin = create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{base_url}/{name}", drop


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path, monkeypatch):
    """Settings for a fresh data dir; ledger and ERP on the parametrized backend."""
    from hub.config import Settings

    for var in ("HUB_DATABASE_URL", "HUB_ERP_DATABASE_URL", "HUB_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    values = {"data_dir": tmp_path / "var"}
    drops = []
    if request.param == "postgres":
        values["database_url"], drop_ledger = _pg_database(PG_URL, "ledger")
        values["erp_database_url"], drop_erp = _pg_database(PG_URL, "erp")
        drops += [drop_ledger, drop_erp]
    yield Settings(**values)
    for drop in drops:
        drop()


@pytest.fixture
def hub(settings):
    """A hub initialised and seeded with the reference scenario."""
    from hub.bootstrap import initialise
    from hub.pipeline import Hub

    initialise(settings, SCENARIO)
    instance = Hub(settings)
    yield instance
    instance.ledger.engine.dispose()
    instance.erp_engine.dispose()


@pytest.fixture
def erp(hub):
    """A connection to the hub's ERP database, for asserting rows."""
    with hub.erp_engine.connect() as conn:
        yield conn


def rows(conn, sql: str, **params) -> list[dict]:
    """The rows of `sql` as dicts. Ends the read transaction, so the next call sees later commits
    (a SQLite reader otherwise keeps its snapshot)."""
    found = [dict(r._mapping) for r in conn.execute(text(sql), params)]
    conn.rollback()
    return found


def segments(content: bytes) -> dict[str, list[list[str]]]:
    """An outbound interchange's segments by id (ISA and GS included), after a clean envelope read."""
    interchange = parse_interchange(content)
    assert not interchange.problems, [p.describe() for p in interchange.problems]
    found: dict[str, list[list[str]]] = {}
    for group in interchange.groups:
        for ts in group.sets:
            for seg in ts.segments:
                found.setdefault(seg.id, []).append(seg.elements)
        found.setdefault("GS", []).append(group.gs.elements)
    found["ISA"] = [interchange.isa.elements]
    return found


def hub_command(settings, *args, stdin: str | None = None, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    """Run `hub ARGS...` as a user would, against `settings`' data dir and databases."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment.update({"HUB_DATA_DIR": str(settings.data_dir), **env})
    if settings.database_url:
        environment["HUB_DATABASE_URL"] = settings.database_url
        environment["HUB_ERP_DATABASE_URL"] = settings.erp_database_url
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=environment, input=stdin, capture_output=True, text=True, timeout=timeout)


def token_for(settings, role: str = "admin", name: str | None = None, partner: str | None = None) -> dict[str, str]:
    """The Authorization header of a fresh API token with `role` (made as `hub token create` does)."""
    from hub.auth import create_token
    from hub.db import make_engine

    engine = make_engine(settings.ledger_url)
    try:
        token = create_token(engine, name or f"{role}-{uuid.uuid4().hex[:6]}", role, partner)
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}
