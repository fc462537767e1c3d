"""The SFTP listener `hub serve` starts: partners log in as themselves and see `inbox/` and
`outbox/` only (see `login` and `session`).

The host key is an ed25519 key at `settings.host_key_path`, made there (owner-only) on the first
start and reused after, so partners can pin its fingerprint. One listener per data directory: on
start it deletes the unfinished uploads in `<data dir>/sftp-staging/` (left by a crash).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncssh

from adapters.sftp.lockout import LoginLockout
from adapters.sftp.login import Gate, PartnerLogin
from adapters.sftp.session import HubSide
from adapters.sftp.staging import clear_staging, staging_folder
from hub.config import Settings
from hub.credentials import CredentialStore
from hub.intake import Intake
from hub.keyfiles import made_once
from hub.ledger.store import Ledger

log = logging.getLogger("hub.sftp")


class SftpListener:
    failure_delay_seconds = 0.5  # added to every failed password login

    def __init__(self, settings: Settings, intake: Intake, credentials: CredentialStore, ledger: Ledger):
        self.settings = settings
        self.port = 0
        self.host_key_fingerprint = ""
        self._hub = HubSide(intake, ledger, settings.outbox_dir, staging_folder(settings.data_dir), settings.max_file_bytes)
        self._credentials = credentials
        self._lockout = LoginLockout(settings.sftp_max_auth_failures, settings.sftp_lockout_seconds)
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0: any free port, then in `self.port`)."""
        key = await asyncio.to_thread(host_key, self.settings.host_key_path)
        self.host_key_fingerprint = key.get_fingerprint("sha256")
        gate = Gate(self._credentials, self._hub.ledger, self._lockout, self.failure_delay_seconds)
        self._acceptor = await asyncssh.create_server(
            lambda: PartnerLogin(gate, self._hub, self._connections), host, port,
            server_host_keys=[key], agent_forwarding=False, x11_forwarding=False, allow_scp=False)
        self.port = self._acceptor.get_port()
        left = clear_staging(self._hub.staging_dir)  # after binding: another listener on this port would have failed it
        if left:
            log.warning("SFTP: removed %d unfinished uploads an earlier run left behind (none of them was answered OK)", left)
        log.info("SFTP listening on %s:%s (host key %s)", host, self.port, self.host_key_fingerprint)

    async def close(self) -> None:
        """Stop listening and end every open session (an upload not closed yet is discarded)."""
        if self._acceptor is None:
            return
        self._acceptor.close()
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        for conn in connections:
            await conn.wait_closed()
        await self._acceptor.wait_closed()
        self._acceptor = None


def host_key(path: Path) -> asyncssh.SSHKey:
    """The ed25519 host key at `path`, made there once (owner-only) and kept for every restart."""
    return asyncssh.import_private_key(made_once(path, lambda: asyncssh.generate_private_key("ssh-ed25519").export_private_key()))
