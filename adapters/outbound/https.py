"""Delivery by push: the file is POSTed to the partner's URL, signed with the partner's webhook
secret (hub.signing: X-Hub-Timestamp, X-Hub-Signature), with `X-Hub-Delivery` (our outbox id; the
same on every attempt, so the partner can tell a file it has already taken).

A 2xx answer delivers the file. No answer, a 5xx, 408 or 429 is transient (tried again); any other
answer is the partner refusing the file, which sending it again unchanged will not fix.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath

import httpx

from hub.credentials import CredentialStore
from hub.delivery import DeliveryFailed, Handover, Parcel
from hub.errors import ConfigurationError
from hub.signing import signed_headers

CONTENT_TYPES = {".x12": "application/edi-x12", ".edi": "application/edi-x12", ".xml": "application/xml", ".json": "application/json"}
TRANSIENT_STATUS = (408, 429)  # and every 5xx


class HttpsChannel:
    def __init__(self, settings, ledger):
        self.timeout = settings.delivery_timeout_seconds
        self.credentials = CredentialStore.for_settings(settings, ledger.engine)

    async def send(self, parcel: Parcel) -> Handover:
        secret = await asyncio.to_thread(self._secret, parcel.partner_id)
        url = parcel.delivery.url
        headers = {
            **signed_headers(secret, parcel.content),
            "Content-Type": CONTENT_TYPES.get(PurePath(parcel.filename).suffix.lower(), "application/octet-stream"),
            "X-Hub-Delivery": str(parcel.outbox_id),
            "X-Hub-Filename": parcel.filename,
        }
        try:
            async with asyncio.timeout(self.timeout), httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, content=parcel.content, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryFailed(f"{url} did not answer within {self.timeout:g} s", transient=True) from None
        except httpx.TransportError as exc:
            raise DeliveryFailed(f"could not reach {url}: {str(exc) or type(exc).__name__}", transient=True) from None
        code = response.status_code
        if response.is_success:
            return Handover("delivered", code)
        said = " ".join(response.text.split())[:200]
        message = f"{url} answered {code} {response.reason_phrase}" + (f": {said}" if said else "")
        raise DeliveryFailed(message, transient=code >= 500 or code in TRANSIENT_STATUS, status_code=code)

    def _secret(self, partner_id: str) -> str:
        try:
            secret = self.credentials.webhook_secret(partner_id)
        except ConfigurationError as exc:
            raise DeliveryFailed(str(exc), transient=False) from None
        if secret is None:
            raise DeliveryFailed(f"{partner_id} has no webhook secret to sign with; run hub partner secret {partner_id}", transient=False)
        return secret
