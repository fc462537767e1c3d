"""The SFTP server on loopback with real clients (paramiko, OpenSSH's sftp): each partner logs in as
itself, uploads into inbox/, picks its answers up from outbox/, and cannot reach anything else.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

import paramiko
import pytest

from adapters.sftp.server import SftpListener
from adapters.sftp.staging import staging_folder
from hub.credentials import CredentialStore
from hub.db import make_engine
from hub.intake import Intake
from hub.ledger.store import Ledger
from tests.conftest import DOCUMENTS, rows
from tests.scenario_checks import EXPECTED, check_outcome

PASSWORD = "correct horse battery"
LIMITS = {"max_file_bytes": 4096, "sftp_max_auth_failures": 3, "sftp_lockout_seconds": 1}
X12_SAMPLES = [name for name in EXPECTED if name.endswith(".edi")]


@dataclass
class Running:
    listener: SftpListener
    credentials: CredentialStore
    ledger: Ledger
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.listener.port

    def call(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@pytest.fixture
def server(hub, settings):
    """The SFTP listener on a free loopback port, in its own thread and event loop, with small limits."""
    limited = settings.model_copy(update=LIMITS)
    ledger = Ledger(make_engine(limited.ledger_url))
    credentials = CredentialStore.for_settings(limited, ledger.engine)
    listener = SftpListener(limited, Intake(ledger), credentials, ledger)
    listener.failure_delay_seconds = 0.01
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = Running(listener, credentials, ledger, loop)
    running.call(listener.start("127.0.0.1", 0))
    yield running
    running.call(listener.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    ledger.engine.dispose()


@contextlib.contextmanager
def login(server: Running, partner: str, password: str = PASSWORD):
    transport = paramiko.Transport(("127.0.0.1", server.port))
    try:
        transport.connect(username=partner, password=password)
        sftp = paramiko.SFTPClient.from_transport(transport)
        yield sftp
        sftp.close()
    finally:
        transport.close()


def interchanges(hub) -> list[dict]:
    with hub.ledger.engine.connect() as conn:
        return rows(conn, "SELECT id, partner_id, channel, filename, status, duplicate_of, size FROM interchanges ORDER BY id")


# -- the scenario over SFTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("sample", X12_SAMPLES)
def test_partner_uploads_its_file_and_picks_its_answers_up(sample, server, hub, erp, settings):
    expected = EXPECTED[sample]
    partner = expected["partner"]
    server.credentials.set_password(partner, PASSWORD)
    local = DOCUMENTS / sample
    with login(server, partner) as sftp:
        assert sftp.put(str(local), f"inbox/{sample}").st_size == local.stat().st_size  # put stats after close

        reports = hub.resume()
        assert len(reports) == 1, [r.to_dict() for r in reports]
        check_outcome(sample, reports[0], hub, erp, settings)
        assert [(i["partner_id"], i["channel"], i["filename"]) for i in interchanges(hub)] == [(partner, "sftp", sample)]

        with hub.ledger.engine.connect() as conn:
            waiting = rows(conn, "SELECT filename, kind FROM outbox WHERE partner_id = :p ORDER BY filename", p=partner)
        assert sorted(w["kind"] for w in waiting) == sorted(o["type"] for o in expected["outbound"] if o["to"] == partner)
        assert sorted(sftp.listdir("outbox")) == [w["filename"] for w in waiting]
        name = waiting[0]["filename"]
        with sftp.open(f"/outbox/{name}") as remote:
            assert remote.read() == (settings.outbox_dir / partner / name).read_bytes()
        sftp.remove(f"outbox/{name}")
        assert name not in sftp.listdir("outbox")
    assert not (settings.outbox_dir / partner / name).exists()
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT status FROM outbox WHERE filename = :f", f=name) == [{"status": "delivered"}]


def test_openssh_sftp_with_a_key(server, hub, settings, tmp_path):
    if not (shutil.which("sftp") and shutil.which("ssh-keygen")):
        pytest.skip("OpenSSH's sftp and ssh-keygen are not installed")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "summit-edi", "-f", str(key)], check=True)
    server.credentials.add_key("P-SUMMIT", (tmp_path / "id_ed25519.pub").read_text())

    def sftp(*commands: str) -> str:
        batch = tmp_path / "batch"
        batch.write_text("\n".join(commands) + "\n")
        done = subprocess.run(
            ["sftp", "-b", str(batch), "-P", str(server.port), "-i", str(key), "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "LogLevel=ERROR", "P-SUMMIT@127.0.0.1"],
            capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    sample = DOCUMENTS / "summit-850-booked.edi"
    sftp("cd inbox", f"put {sample}")
    assert [(i["partner_id"], i["filename"]) for i in interchanges(hub)] == [("P-SUMMIT", sample.name)]
    hub.resume()

    [ack] = sorted(p.name for p in (settings.outbox_dir / "P-SUMMIT").glob("*-997-*"))
    listing = sftp("ls outbox", f"get outbox/{ack} {tmp_path / ack}")
    assert ack in listing
    assert (tmp_path / ack).read_bytes() == (settings.outbox_dir / "P-SUMMIT" / ack).read_bytes()


# -- what a partner cannot do ---------------------------------------------------------------------------


def test_a_partner_cannot_leave_its_folders(server, hub, settings):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    theirs = settings.outbox_dir / "P-APEX"
    theirs.mkdir(parents=True)
    (theirs / "apex-997.x12").write_bytes(b"ISA*apex's own")
    mine = settings.outbox_dir / "P-SUMMIT"
    mine.mkdir(parents=True)
    (mine / "evil.x12").symlink_to(theirs / "apex-997.x12")
    (mine / ".half-written.x12.part").write_bytes(b"ISA*")
    sample = str(DOCUMENTS / "summit-850-booked.edi")

    refused = {
        "../ traversal": (lambda s: s.open("../P-APEX/outbox/apex-997.x12"), "outside your folders"),
        "../ from inbox": (lambda s: s.put(sample, "inbox/../../etc/x.edi"), "outside your folders"),
        "absolute path": (lambda s: s.open("/etc/passwd"), "no such folder"),
        "a real path": (lambda s: s.open(str(theirs / "apex-997.x12")), "no such folder"),
        "another partner": (lambda s: s.listdir("/P-APEX/outbox"), "no such folder"),
        "upload into outbox/": (lambda s: s.put(sample, "outbox/order.edi"), "outbox/ is for pickup; upload into inbox/"),
        "upload into the root": (lambda s: s.put(sample, "order.edi"), "upload into inbox/"),
        "symlink": (lambda s: s.symlink("/etc/passwd", "inbox/passwd"), "links cannot be made here"),
        "mkdir": (lambda s: s.mkdir("inbox/sub"), "folders cannot be made here"),
        "mkdir in outbox/": (lambda s: s.mkdir("outbox/sub"), "outbox/ is for pickup"),
        "rmdir": (lambda s: s.rmdir("outbox"), "folders cannot be removed"),
        "rename into outbox/": (lambda s: s.rename("inbox/a.edi", "outbox/a.edi"), "outbox/ is for pickup"),
        "chmod in outbox/": (lambda s: s.chmod("outbox/apex-997.x12", 0o777), "outbox/ is for pickup"),
        "chmod a folder": (lambda s: s.chmod("outbox", 0o777), "attributes cannot be changed here"),
        "read from inbox/": (lambda s: s.open("inbox/x.edi"), "inbox/ is for upload only"),
        "a link in outbox/": (lambda s: s.open("outbox/evil.x12"), "no file /outbox/evil.x12"),
        "a hidden file": (lambda s: s.open("outbox/.half-written.x12.part"), "names starting with '.'"),
    }
    failed = []
    with login(server, "P-SUMMIT") as sftp:
        for what, (attempt, message) in refused.items():
            with pytest.raises(IOError) as caught:
                attempt(sftp)
            if message not in str(caught.value):
                failed.append((what, str(caught.value)))
        assert sftp.listdir("/") == ["inbox", "outbox"]
        assert sftp.listdir("outbox") == []  # the link and the half-written file are not there
        assert sftp.normalize(".") == "/" and sftp.normalize("inbox/..") == "/"
        assert sftp.normalize("outbox/x.x12") == "/outbox/x.x12"
    assert failed == []
    assert interchanges(hub) == []
    assert (theirs / "apex-997.x12").read_bytes() == b"ISA*apex's own"


def test_a_file_over_the_limit_is_refused_and_nothing_reaches_the_ledger(server, hub, settings):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    with login(server, "P-SUMMIT") as sftp:
        with sftp.open("inbox/big.edi", "wb") as big:
            big.write(b"x" * 4000)
            with pytest.raises(IOError, match="inbox/big.edi: the file is over the limit of 4096 bytes"):
                big.write(b"x" * 1000)
                big.flush()
        # paramiko's put pipelines its writes and ignores the answer to close: its size check after
        # the upload is what tells it the file was not taken in
        with pytest.raises(IOError, match="no file /inbox/big.edi"):
            sftp.putfo(io.BytesIO(b"x" * 5000), "inbox/big.edi")
    assert interchanges(hub) == []
    assert list(staging_folder(settings.data_dir).iterdir()) == []


@pytest.mark.parametrize("drop", ["eof", "disconnect"])
def test_an_upload_the_client_never_closed_is_discarded(drop, server, hub, settings):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    staging = staging_folder(settings.data_dir)
    transport = paramiko.Transport(("127.0.0.1", server.port))
    transport.connect(username="P-SUMMIT", password=PASSWORD)
    sftp = paramiko.SFTPClient.from_transport(transport)
    half = sftp.open("inbox/half.edi", "wb")
    half.write((DOCUMENTS / "summit-850-booked.edi").read_bytes()[:200])
    half.flush()
    assert len(list(staging.iterdir())) == 1
    if drop == "eof":
        sftp.get_channel().shutdown_write()  # the client stops sending but keeps the connection
    else:
        transport.close()
    deadline = time.monotonic() + 10
    while list(staging.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    transport.close()
    assert list(staging.iterdir()) == []
    assert interchanges(hub) == []


def test_wrong_passwords_lock_the_account_out_from_that_address(server, hub, caplog):
    caplog.set_level(logging.INFO, logger="hub.sftp")
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    for _ in range(3):
        with pytest.raises(paramiko.AuthenticationException):
            with login(server, "P-SUMMIT", "not the password"):
                pass
    with pytest.raises(paramiko.AuthenticationException):  # locked: even the right password
        with login(server, "P-SUMMIT"):
            pass
    time.sleep(LIMITS["sftp_lockout_seconds"])
    with login(server, "P-SUMMIT") as sftp:
        assert sftp.listdir() == ["inbox", "outbox"]

    messages = [r.getMessage() for r in caplog.records if r.name == "hub.sftp"]
    assert "SFTP login failed for P-SUMMIT from 127.0.0.1: wrong password (3 of 3)" in messages
    assert any(m.startswith("SFTP logins for P-SUMMIT from 127.0.0.1 are locked out for 1 seconds") for m in messages)
    assert any(m.startswith("SFTP login refused for P-SUMMIT from 127.0.0.1: locked out") for m in messages)
    assert "SFTP login: P-SUMMIT from 127.0.0.1 (password)" in messages
    assert interchanges(hub) == []


def test_unknown_and_disabled_partners_cannot_log_in(server, hub, caplog):
    caplog.set_level(logging.WARNING, logger="hub.sftp")
    partner = hub.ledger.partner_directory().get("P-PIONEER")
    server.credentials.set_password("P-PIONEER", PASSWORD)
    partner.enabled = False
    hub.ledger.save_partner(partner)
    for username in ("P-NOBODY", "P-PIONEER"):
        with pytest.raises(paramiko.AuthenticationException):
            with login(server, username):
                pass
    messages = [r.getMessage() for r in caplog.records]
    assert "SFTP login failed for P-NOBODY from 127.0.0.1: no partner has this id (1 of 3)" in messages
    assert "SFTP login failed for P-PIONEER from 127.0.0.1: the partner is disabled (1 of 3)" in messages


def test_only_sftp_is_offered(server):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    transport = paramiko.Transport(("127.0.0.1", server.port))
    try:
        transport.connect(username="P-SUMMIT", password=PASSWORD)
        with pytest.raises(paramiko.SSHException):
            transport.open_session().exec_command("cat /etc/passwd")
        with pytest.raises(paramiko.SSHException):
            transport.open_session().invoke_shell()
        with pytest.raises(paramiko.SSHException):
            transport.open_channel("direct-tcpip", ("127.0.0.1", server.port), ("127.0.0.1", 0))
    finally:
        transport.close()


# -- uploads --------------------------------------------------------------------------------------------


def test_an_upload_is_confirmed_and_a_second_copy_is_a_duplicate(server, hub):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    local = DOCUMENTS / "summit-850-booked.edi"
    size = local.stat().st_size
    with login(server, "P-SUMMIT") as sftp:
        assert sftp.put(str(local), "inbox/first.edi").st_size == size
        assert sftp.stat("inbox/first.edi").st_size == size
        assert sftp.put(str(local), "inbox/again.edi").st_size == size  # answered OK all the same
        assert sorted(sftp.listdir("inbox")) == ["again.edi", "first.edi"]
        with pytest.raises(IOError, match="taken in as soon as they are closed"):
            sftp.remove("inbox/first.edi")
    first, again = interchanges(hub)
    assert (first["filename"], first["status"], first["size"]) == ("first.edi", "received", size)
    assert (again["filename"], again["status"], again["duplicate_of"]) == ("again.edi", "duplicate", first["id"])


def test_an_empty_upload_is_taken_in_and_rejected_by_the_pipeline(server, hub):
    server.credentials.set_password("P-SUMMIT", PASSWORD)
    with login(server, "P-SUMMIT") as sftp:
        assert sftp.putfo(io.BytesIO(b""), "inbox/empty.edi").st_size == 0
    [report] = hub.resume()
    assert report.state == "rejected" and report.errors, report.to_dict()


def test_the_host_key_is_made_once_and_leftover_uploads_are_cleared(server, settings):
    key_file = settings.host_key_path
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert server.listener.host_key_fingerprint.startswith("SHA256:")
    leftover = staging_folder(settings.data_dir) / "P-SUMMIT-crashed.upload"
    leftover.write_bytes(b"half a file")
    again = SftpListener(settings, Intake(server.ledger), server.credentials, server.ledger)
    server.call(again.start("127.0.0.1", 0))
    try:
        assert again.host_key_fingerprint == server.listener.host_key_fingerprint
        assert not leftover.exists()
    finally:
        server.call(again.close())
