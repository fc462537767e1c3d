"""`hub serve` and `hub worker` as the processes a user starts: what they log, a file taken in by
one and run by the other, and the server killed while partners upload: every upload a partner was
told succeeded is in the ledger, byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import socket
import threading
import time

import httpx
import paramiko
import pytest
from sqlalchemy import select

from hub.credentials import CredentialStore
from hub.ledger import tables as t
from hub.signing import signed_headers
from tests.conftest import DOCUMENTS, hub_command, token_for
from tests.live import HubProcess, wait_until

PASSWORD = "summit sftp password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def summit(hub):
    store = CredentialStore.for_settings(hub.settings, hub.ledger.engine)
    store.set_password("P-SUMMIT", PASSWORD)
    return store.rotate_secret("P-SUMMIT")


def received(hub) -> dict[str, list[tuple[str, str]]]:
    """filename -> [(sha256, status)] of every file in the ledger."""
    i = t.interchanges.c
    found: dict[str, list[tuple[str, str]]] = {}
    with hub.ledger.engine.connect() as conn:
        for name, sha, status in conn.execute(select(i.filename, i.sha256, i.status)):
            found.setdefault(name, []).append((sha, status))
    return found


def wait_for_answers(pickup) -> None:
    """Until the 997 and the 855 of summit-850-booked.edi are in Summit's pickup folder."""
    wait_until(lambda: pickup.exists() and len(list(pickup.glob("*.x12"))) == 2, what="the 997 and 855 in Summit's outbox")


def test_serve_takes_files_in_and_a_separate_worker_runs_them(hub, settings, summit):
    http_port, sftp_port = free_port(), free_port()
    serve = HubProcess(settings, "serve", "--port", str(http_port), "--sftp-port", str(sftp_port), "--no-workers")
    try:
        serve.wait_for_log(f"HTTP API listening on http://127.0.0.1:{http_port}")
        assert f"SFTP listening on 127.0.0.1:{sftp_port} (host key SHA256:" in serve.output()
        body = (DOCUMENTS / "summit-850-booked.edi").read_bytes()
        answer = httpx.post(f"http://127.0.0.1:{http_port}/v1/inbound/P-SUMMIT", content=body, headers=signed_headers(summit, body))
        assert answer.status_code == 202 and answer.json()["status"] == "received"
        time.sleep(1.5)  # no worker in this process: the file waits
        status = httpx.get(f"http://127.0.0.1:{http_port}/v1/interchanges/{answer.json()['interchange_id']}",
                           headers=token_for(settings, "operations")).json()
        assert (status["status"], status["documents"]) == ("received", [])

        worker = HubProcess(settings, "worker")
        try:
            worker.wait_for_log("worker started")
            pickup = settings.outbox_dir / "P-SUMMIT"
            wait_for_answers(pickup)
            assert "settled 1 document(s) from P-SUMMIT: 1 answered" in worker.output()
        finally:
            assert worker.stop() == 0
    finally:
        assert serve.stop() == 0
    assert "stopping" in serve.output()


def upload_until_killed(port: int, files: list[tuple[str, bytes]], told_ok: list[str], errors: list[str]) -> None:
    """One partner session uploading files one after another, noting which ones the server confirmed."""
    try:
        transport = paramiko.Transport(("127.0.0.1", port))
        transport.connect(username="P-SUMMIT", password=PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(transport)
        for name, body in files:
            sftp.putfo(io.BytesIO(body), f"inbox/{name}")  # confirm=True: stat after close, as paramiko does
            told_ok.append(name)
    except Exception as exc:  # the server went away: this upload and the rest were not confirmed
        errors.append(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kill_after", [0.1, 0.6])
def test_killing_the_server_during_uploads_loses_no_confirmed_file(hub, settings, summit, kill_after):
    """The server is killed `kill_after` seconds after it confirmed its first upload (counted from
    then, not from the start, so a slow machine still gets some uploads in before the kill)."""
    sample = (DOCUMENTS / "summit-850-booked.edi").read_bytes()
    rng = random.Random(kill_after)
    # files of different sizes (up to ~4 MB) so the kill lands in the middle of some upload
    files = [(f"drop-{n}.edi", sample + b"\n" * rng.choice([0, 1000, 300_000, 4_000_000]) + f"{n}".encode()) for n in range(60)]
    port = free_port()
    serve = HubProcess(settings, "serve", "--port", str(free_port()), "--sftp-port", str(port))
    serve.wait_for_log("SFTP listening")
    told_ok: list[str] = []
    errors: list[str] = []
    clients = [threading.Thread(target=upload_until_killed, args=(port, files[i::3], told_ok, errors)) for i in range(3)]
    for client in clients:
        client.start()
    wait_until(lambda: told_ok or errors, 60, "the first upload to be confirmed")
    time.sleep(kill_after)
    serve.stop(signal.SIGKILL)
    for client in clients:
        client.join(60)

    assert errors, "the uploads should have been cut off by the kill"
    assert told_ok, "some uploads should have been confirmed before the kill"
    in_ledger = received(hub)
    sent = dict(files)
    for name in told_ok:
        assert name in in_ledger, f"{name} was confirmed to the partner but is not in the ledger"
        assert hashlib.sha256(sent[name]).hexdigest() in {sha for sha, _ in in_ledger[name]}
    # nothing half-written reached the ledger: every stored file is one of ours, whole
    whole = {hashlib.sha256(body).hexdigest() for _, body in files}
    assert all(sha in whole for versions in in_ledger.values() for sha, _ in versions)

    # a restart runs what was received and not yet settled
    restarted = HubProcess(settings, "worker")
    try:
        wait_until(lambda: all(status != "received" for versions in received(hub).values() for _, status in versions),
                   60, "every received file to be run")
    finally:
        restarted.stop()


def test_a_worker_without_delivery_leaves_the_outbox_to_hub_deliver(hub, settings):
    """`hub worker --no-delivery` decides and leaves the answers pending; `hub status` says nothing
    delivers them; `hub deliver` puts them in the partner's pickup folder."""
    hub.ledger.receive((DOCUMENTS / "summit-850-booked.edi").read_bytes(), "sftp", "summit-850-booked.edi", None)
    pickup = settings.outbox_dir / "P-SUMMIT"
    worker = HubProcess(settings, "worker", "--no-delivery")
    try:
        worker.wait_for_log("settled 1 document(s) from P-SUMMIT: 1 answered")
        assert "leaves the outbox to `hub deliver`" in worker.output() and "delivery started" not in worker.output()
        shown = hub_command(settings, "status")
        assert ": 1 thread(s), up " in shown.stdout
        assert "outbox: 2 file(s) to deliver; the oldest was made " in shown.stdout
        assert "(nothing delivers them until `hub serve`, `hub worker` or `hub deliver` runs)" in shown.stdout
        assert not pickup.exists() or not list(pickup.glob("*.x12"))

        deliver = HubProcess(settings, "deliver")
        try:
            wait_for_answers(pickup)
            shown = hub_command(settings, "status")
            assert ": delivers only, up " in shown.stdout and "outbox: 0 file(s) to deliver\n" in shown.stdout
            assert "worker started" not in deliver.output()
        finally:
            assert deliver.stop() == 0
    finally:
        assert worker.stop() == 0


STARTED_DELIVERY = "started `hub deliver` beside this worker, in process "


def delivery_processes(worker: HubProcess) -> list[int]:
    """The pids of the delivery processes the worker started, in the order it started them."""
    return [int(part.split()[0]) for part in worker.output().split(STARTED_DELIVERY)[1:]]


def alive(pid: int) -> bool:
    """The process runs (a zombie nobody has reaped yet has ended)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("end", [signal.SIGTERM, signal.SIGKILL])
def test_a_worker_on_postgresql_delivers_from_a_process_beside_it_that_ends_with_it(hub, settings, end):
    """On PostgreSQL `hub worker` starts its delivery as a child process (so delivery does not slow
    its threads): the answers reach the pickup folder, `hub status` lists both processes, and the
    child ends when the worker stops, and also when the worker is killed and cannot stop it."""
    if not settings.database_url:
        pytest.skip("on SQLite, which has no notices between processes, delivery stays in the worker process")
    hub.ledger.receive((DOCUMENTS / "summit-850-booked.edi").read_bytes(), "sftp", "summit-850-booked.edi", None)
    pickup = settings.outbox_dir / "P-SUMMIT"
    worker = HubProcess(settings, "worker")
    try:
        worker.wait_for_log(STARTED_DELIVERY)
        [child] = delivery_processes(worker)
        wait_for_answers(pickup)
        shown = hub_command(settings, "status")
        assert ": 1 thread(s), up " in shown.stdout and f":{child}:" in shown.stdout and ": delivers only, up " in shown.stdout, shown.stdout
        assert "outbox: 0 file(s) to deliver\n" in shown.stdout
        assert alive(child)
    finally:
        code = worker.stop(end)
    assert code == (0 if end == signal.SIGTERM else -signal.SIGKILL)
    wait_until(lambda: not alive(child), 15, "the delivery process to end with its worker")
    if end == signal.SIGKILL:
        assert "the worker process" in worker.output() and "delivery stops too" in worker.output()


def test_a_delivery_process_that_dies_is_started_again_by_its_worker(hub, settings):
    """The worker notices its delivery process ended on its own and starts another, which delivers
    what came in meanwhile."""
    if not settings.database_url:
        pytest.skip("on SQLite delivery stays in the worker process")
    worker = HubProcess(settings, "worker")
    try:
        worker.wait_for_log("delivery started")
        [first] = delivery_processes(worker)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(delivery_processes(worker)) == 2, 30, "a second delivery process")
        assert f"the delivery process {first} ended (exit status -9); another starts in 5.0s" in worker.output()
        hub.ledger.receive((DOCUMENTS / "summit-850-booked.edi").read_bytes(), "sftp", "summit-850-booked.edi", None)
        pickup = settings.outbox_dir / "P-SUMMIT"
        wait_for_answers(pickup)
    finally:
        assert worker.stop() == 0
