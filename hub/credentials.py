"""What partners authenticate with, stored so that a copy of the ledger gives nothing away.

- SFTP password: a scrypt hash (salted); the password itself is never stored.
- SFTP public keys: OpenSSH `authorized_keys` lines; public by nature, kept as given, named by
  their SHA256 fingerprint (the one `ssh-keygen -l` prints).
- Webhook secret: HMAC needs the secret itself, so it is encrypted (Fernet) with the hub's key:
  `HUB_SECRET_KEY`, or `<data dir>/hub.key`, made on first use and readable by its owner only.
  Every node of one hub needs the same key.

Each change takes an optional `audit(conn, change)`, called inside the change's transaction with
what changed (never a secret), so the caller records it (hub.audit) in the same commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from sqlalchemy import Connection, Engine, delete, insert, select

from hub.db import writer
from hub.errors import ConfigurationError, HubError
from hub.keyfiles import made_once
from hub.ledger import tables as t
from hub.ledger.store import now

MIN_PASSWORD_LENGTH = 12
MAX_KEY_COMMENT_LENGTH = 200  # partner_credentials.comment
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 16 MB and 50 ms per check


Audit = Callable[[Connection, dict[str, Any]], None]


class CredentialError(HubError):
    """A credential cannot be set as given (unknown partner, weak password, unreadable key)."""


@dataclass(frozen=True)
class CredentialSummary:
    """What `hub partner show` prints: what is set, never a secret."""

    password_set_at: datetime | None
    keys: list[tuple[str, str | None, datetime]]  # (fingerprint, comment, added)
    secret_set_at: datetime | None


class CredentialStore:
    @classmethod
    def for_settings(cls, settings, engine: Engine) -> "CredentialStore":
        return cls(engine, settings.secret_key, settings.data_dir / "hub.key")

    def __init__(self, engine: Engine, secret_key: str | None, key_file: Path):
        self.engine = engine
        self.writer = writer(engine)
        self._secret_key = secret_key
        self._key_file = key_file

    # -- SFTP password ----------------------------------------------------------------------------

    def set_password(self, partner_id: str, password: str, audit: Audit | None = None) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CredentialError(f"the password is {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}")
        salt = os.urandom(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
        value = f"scrypt:{_SCRYPT['n']}:{_SCRYPT['r']}:{_SCRYPT['p']}:{_b64(salt)}:{_b64(digest)}"
        self._replace(partner_id, "password", value, audit, {"password": "set"})

    def verify_password(self, partner_id: str, password: str) -> bool:
        stored = self._values(partner_id, "password")
        if not stored:
            return False
        _, n, r, p, salt, digest = stored[0].split(":")
        candidate = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p))
        return hmac.compare_digest(candidate, _unb64(digest))

    # -- SFTP public keys ---------------------------------------------------------------------------

    def add_key(self, partner_id: str, line: str, audit: Audit | None = None) -> str:
        """Authorize an OpenSSH public key line; returns its fingerprint. `audit` is called only
        when the key is new."""
        fields = line.strip().split(None, 2)
        if len(fields) < 2:
            raise CredentialError("not an OpenSSH public key: expected 'TYPE BASE64 [COMMENT]' on one line")
        try:
            load_ssh_public_key(f"{fields[0]} {fields[1]}".encode())
            blob = base64.b64decode(fields[1], validate=True)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CredentialError(f"not an OpenSSH public key ({fields[0]}): {exc}") from exc
        fingerprint = "SHA256:" + _b64(hashlib.sha256(blob).digest())
        comment = fields[2] if len(fields) > 2 else None
        if comment and len(comment) > MAX_KEY_COMMENT_LENGTH:
            raise CredentialError(f"the key's comment is {len(comment)} characters; at most {MAX_KEY_COMMENT_LENGTH} are kept")
        self._check_partner(partner_id)
        with self.writer.begin() as conn:
            c = t.partner_credentials.c
            taken = select(c.id).where(c.partner_id == partner_id, c.kind == "ssh-key", c.fingerprint == fingerprint)
            if conn.execute(taken).first() is None:
                conn.execute(insert(t.partner_credentials).values(
                    partner_id=partner_id, kind="ssh-key", value=f"{fields[0]} {fields[1]}", fingerprint=fingerprint,
                    comment=comment, created_at=now()))
                if audit:
                    audit(conn, {"fingerprint": fingerprint, "comment": comment})
        return fingerprint

    def remove_key(self, partner_id: str, fingerprint: str, audit: Audit | None = None) -> bool:
        """Stop accepting a key; whether the partner had it (`audit` is called only if so)."""
        c = t.partner_credentials.c
        with self.writer.begin() as conn:
            gone = conn.execute(delete(t.partner_credentials).where(
                c.partner_id == partner_id, c.kind == "ssh-key", c.fingerprint == fingerprint)).rowcount > 0
            if gone and audit:
                audit(conn, {"fingerprint": fingerprint})
        return gone

    def authorized_keys(self, partner_id: str) -> list[str]:
        return self._values(partner_id, "ssh-key")

    # -- webhook secret -----------------------------------------------------------------------------

    def rotate_secret(self, partner_id: str, audit: Audit | None = None) -> str:
        """Make a new webhook secret (the old one stops working at once) and return it."""
        secret = "whsec_" + secrets.token_urlsafe(32)
        self._replace(partner_id, "webhook-secret", self._fernet().encrypt(secret.encode()).decode(), audit, {"webhook_secret": "rotated"})
        return secret

    def webhook_secret(self, partner_id: str) -> str | None:
        stored = self._values(partner_id, "webhook-secret")
        if not stored:
            return None
        try:
            return self._fernet().decrypt(stored[0].encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                f"the webhook secret of {partner_id} was encrypted with another key than this hub's "
                "(HUB_SECRET_KEY or hub.key in the data dir); rotate it with `hub partner secret`") from None

    # -- reading for people ---------------------------------------------------------------------------

    def summary(self, partner_id: str) -> CredentialSummary:
        c = t.partner_credentials.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.kind, c.fingerprint, c.comment, c.created_at)
                                .where(c.partner_id == partner_id).order_by(c.id)).all()
        first = {row.kind: row.created_at for row in reversed(rows)}
        return CredentialSummary(
            password_set_at=first.get("password"),
            keys=[(r.fingerprint, r.comment, r.created_at) for r in rows if r.kind == "ssh-key"],
            secret_set_at=first.get("webhook-secret"),
        )

    # -- storage ----------------------------------------------------------------------------------------

    def _values(self, partner_id: str, kind: str) -> list[str]:
        c = t.partner_credentials.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(c.value).where(c.partner_id == partner_id, c.kind == kind).order_by(c.id)).scalars())

    def _replace(self, partner_id: str, kind: str, value: str, audit: Audit | None = None, change: dict[str, Any] | None = None) -> None:
        """Set the one credential of this kind (password, webhook secret) a partner has."""
        self._check_partner(partner_id)
        c = t.partner_credentials.c
        with self.writer.begin() as conn:
            conn.execute(delete(t.partner_credentials).where(c.partner_id == partner_id, c.kind == kind))
            conn.execute(insert(t.partner_credentials).values(
                partner_id=partner_id, kind=kind, value=value, fingerprint=kind, created_at=now()))
            if audit:
                audit(conn, change or {})

    def _check_partner(self, partner_id: str) -> None:
        with self.engine.connect() as conn:
            known = list(conn.execute(select(t.partners.c.id).order_by(t.partners.c.id)).scalars())
        if partner_id not in known:
            raise CredentialError(f"no partner {partner_id}; partners are: {', '.join(known) or 'none (run hub init --seed)'}")

    def _fernet(self) -> Fernet:
        key = self._secret_key or made_once(self._key_file, lambda: Fernet.generate_key() + b"\n").decode().strip()
        try:
            return Fernet(key)
        except ValueError:
            raise ConfigurationError("HUB_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes); "
                                     "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'") from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))
