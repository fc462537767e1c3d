"""The user-facing surfaces: `hub ingest --json`, `hub demo`, and the HTTP API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fastapi.testclient import TestClient

from hub.api import create_app
from tests.conftest import DOCUMENTS, token_for


def _run(*args, data_dir, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment.update(HUB_DATA_DIR=str(data_dir), **env)
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=environment, capture_output=True, text=True, timeout=300)


def test_init_then_ingest_json_prints_one_object_per_document(tmp_path):
    data = tmp_path / "var"
    init = _run("init", "--seed", str(DOCUMENTS.parent), data_dir=data)
    assert init.returncode == 0, init.stderr
    assert "9 partners" in init.stdout
    done = _run("ingest", "--json", str(DOCUMENTS / "summit-850-booked.edi"), str(DOCUMENTS / "pioneer-850-credit-hold.edi"), data_dir=data)
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["partner"], o["type"], o["state"], o["holds"]) for o in objects] == [
        ("P-SUMMIT", "850", "answered", []),
        ("P-PIONEER", "850", "held", ["CREDIT_HOLD"]),
    ]
    assert objects[0]["erp_ref"].startswith("SO-") and objects[0]["file"].endswith("summit-850-booked.edi")
    csv = _run("ingest", "--partner", "P-METRO", str(DOCUMENTS / "metro-order.csv"), data_dir=data)
    assert csv.returncode == 0 and "MFS-3301 -> posted as SO-" in csv.stdout, csv.stdout + csv.stderr


def test_ingest_of_a_bad_file_says_what_and_where_and_exits_nonzero(tmp_path):
    data = tmp_path / "var"
    _run("init", "--seed", str(DOCUMENTS.parent), data_dir=data)
    bad = tmp_path / "bad.edi"
    bad.write_text((DOCUMENTS / "summit-850-booked.edi").read_text().replace("SE*14*0001", "SE*99*0001"))
    done = _run("ingest", str(bad), data_dir=data)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "-> rejected" in done.stdout and "SE" in done.stdout


def test_demo_runs_every_sample_and_prints_a_summary(tmp_path):
    done = _run("demo", data_dir=tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    assert "SUM-PO-1001 -> answered as SO-" in done.stdout
    assert "documents:" in done.stdout and "open exceptions:" in done.stdout
    assert any((tmp_path / "demo" / "outbox" / "P-SUMMIT").glob("P-SUMMIT-855-*.x12"))


def test_api_lists_documents_with_their_timeline(hub, settings):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    app = create_app(settings)
    client = TestClient(app, headers=token_for(settings, "finance"))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    [doc] = client.get("/v1/documents", params={"partner": "P-SUMMIT"}).json()
    assert (doc["state"], doc["holds"], doc["reference"]) == ("held", ["PRICE_MISMATCH"], "SUM-PO-1002")
    detail = client.get(f"/v1/documents/{doc['id']}").json()
    assert [e["to_state"] for e in detail["events"]] == ["received", "parsed", "mapped", "decided", "held"]
    assert detail["decisions"][0]["ruleset"] == "order-checks" or detail["decisions"]
    assert [x["queue"] for x in client.get("/v1/exceptions").json()] == ["pricing"]
    missing = client.get("/v1/documents/999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/documents", params={"state": "nonsense"}).status_code == 422
    app.state.engine.dispose()


def test_reads_do_not_wait_for_a_writer(hub, settings):
    """A long ingest holds the ledger's write lock; the API still answers at once."""
    import time

    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    app = create_app(settings)
    client = TestClient(app, headers=token_for(settings, "operations"))
    with hub.ledger.writer.begin() as busy:
        busy.exec_driver_sql("UPDATE settings SET key = key")  # the write lock is ours until the block ends
        started = time.perf_counter()
        response = client.get("/v1/documents")
        waited = time.perf_counter() - started
    assert response.status_code == 200 and len(response.json()) == 1
    assert waited < 5  # the busy timeout is 30 s: a blocked read would take that long and fail
    app.state.engine.dispose()


def test_a_database_that_cannot_be_reached_is_a_clear_error_not_a_traceback(tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://hub@127.0.0.1:{port}"
    for command in (["status"], ["worker"]):
        done = _run(*command, data_dir=tmp_path / "var", HUB_DATABASE_URL=f"{url}/ledger", HUB_ERP_DATABASE_URL=f"{url}/erp")
        assert done.returncode == 3, done.stderr
        assert "error: the database cannot be reached" in done.stderr and "HUB_DATABASE_URL" in done.stderr
        assert "Traceback" not in done.stderr
