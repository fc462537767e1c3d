"""The HMAC signature on webhook bodies, the same both ways (partner -> hub, hub -> partner).

    X-Hub-Timestamp: <unix seconds>
    X-Hub-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the partner's secret>
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Hub-Timestamp"
SIGNATURE_HEADER = "X-Hub-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    """The two headers that sign `body` now (or at `at`)."""
    timestamp = str(int(time.time() if at is None else at))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def signature_matches(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), given)
