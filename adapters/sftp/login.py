"""Who may log in: each partner as itself (the SSH username is the partner id), by password or by
one of its authorized public keys. Unknown and disabled partners cannot log in.

Wrong passwords are counted per (client address, username) and locked out after too many (see
`lockout`); every failed password waits `failure_delay_seconds` before it is answered, so
guessing is slow. Public keys cannot be guessed and are not counted. The session a login gets
offers SFTP only (`session.SftpOnlySession`); port forwarding, agent and X11 forwarding are
refused (asyncssh's defaults, and the listener's options).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

import asyncssh

from adapters.sftp.lockout import LoginLockout
from adapters.sftp.session import HubSide, SftpOnlySession
from hub.credentials import CredentialStore
from hub.ledger.store import Ledger

log = logging.getLogger("hub.sftp")


@dataclass
class Gate:
    """What every connection of one listener checks logins against."""

    credentials: CredentialStore
    ledger: Ledger
    lockout: LoginLockout
    failure_delay_seconds: float


class PartnerLogin(asyncssh.SSHServer):
    """One connection: its login, and the SFTP session it then gets."""

    def __init__(self, gate: Gate, hub: HubSide, connections: set):
        self._gate = gate
        self._hub = hub
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None
        self._address = "?"
        self._refusal: str | None = None  # why this username cannot log in at all
        self._keys: set[bytes] = set()
        self._method = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._address = (conn.get_extra_info("peername") or ("?",))[0]
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._conn)

    async def begin_auth(self, username: str) -> bool:
        self._refusal, self._keys = await asyncio.to_thread(self._account, username)
        return True  # every login authenticates

    def _account(self, username: str) -> tuple[str | None, set[bytes]]:
        partner = self._gate.ledger.partner_directory().get(username)
        if partner is None:
            return "no partner has this id", set()
        if not partner.enabled:
            return "the partner is disabled", set()
        keys = set()
        for line in self._gate.credentials.authorized_keys(username):
            try:
                keys.add(asyncssh.import_public_key(line).public_data)
            except (asyncssh.KeyImportError, ValueError) as exc:
                log.warning("SFTP: an authorized key of %s cannot be used (%s): %s", username, exc, line[:40])
        return None, keys

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._refusal:
            log.warning("SFTP login refused for %s from %s: %s", username, self._address, self._refusal)
            return False
        known = key.public_data in self._keys  # asyncssh then checks that the client holds the private key
        if known:
            self._method = "public key"
        return known

    async def validate_password(self, username: str, password: str) -> bool:
        gate, address = self._gate, self._address
        locked = gate.lockout.seconds_left(address, username)
        if locked:
            log.warning("SFTP login refused for %s from %s: locked out for %d more seconds after %d wrong passwords",
                        username, address, math.ceil(locked), gate.lockout.max_failures)
            await asyncio.sleep(gate.failure_delay_seconds)
            return False
        reason = self._refusal
        if reason is None:
            if await asyncio.to_thread(gate.credentials.verify_password, username, password):
                gate.lockout.succeeded(address, username)
                self._method = "password"
                return True
            reason = "wrong password"
        failures = gate.lockout.failed(address, username)
        log.warning("SFTP login failed for %s from %s: %s (%d of %d)", username, address, reason, failures, gate.lockout.max_failures)
        if failures >= gate.lockout.max_failures:
            log.warning("SFTP logins for %s from %s are locked out for %d seconds after %d failures",
                        username, address, gate.lockout.window_seconds, failures)
        await asyncio.sleep(gate.failure_delay_seconds)
        return False

    def auth_completed(self) -> None:
        log.info("SFTP login: %s from %s (%s)", self._conn.get_extra_info("username"), self._address, self._method)

    def session_requested(self) -> SftpOnlySession:
        return SftpOnlySession(self._hub)
