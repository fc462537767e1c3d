"""`POST /v1/inbound/{partner_id}`: a partner posts one file, signed with its webhook secret (or
sent with the partner's own API token, `hub token create --role partner --partner ID`).

Checks run cheapest first and nothing reaches the ledger until all pass: the partner exists
(404), the body fits the size limit (413, counted while it streams in, never held whole),
the signature is ours and fresh (401), the content is a format the partner sends (415), an
`Idempotency-Key` is not reused for other bytes (409). Then the bytes are committed and the
answer is 202 with the interchange id; a worker runs the file after that. `?wait=SECONDS`
waits (up to 30 s) for the worker to settle the file, so the answer lists its documents.

A signature is accepted once: it is claimed in the same transaction as the bytes, so a replay
inside the time window is refused (401) and leaves no trace; a sender that retries should send
an `Idempotency-Key` and gets the first answer back.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from hub.api import ApiContext, problem
from hub.api.params import read_body
from hub.auth import actor_for
from hub.errors import TooLarge
from hub.ledger.store import AlreadyClaimed, Ledger
from hub.ledger.tables import IN_FLIGHT_STATES
from hub.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_matches

MAX_WAIT_SECONDS = 30
MAX_KEY_LENGTH = 200
# Content-Type -> the reader that takes it; types that say nothing (text/plain, octet-stream) are sniffed
CONTENT_TYPES = {
    "application/edi-x12": "x12", "application/edi": "x12", "application/x12": "x12",
    "text/csv": "csv", "application/csv": "csv",
    "application/json": "json",
    "application/xml": "xml", "text/xml": "xml",
    "text/plain": None, "application/octet-stream": None,
}


class _Refused(Exception):
    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail


def webhook_router(context: ApiContext) -> APIRouter:
    router = APIRouter()
    settings = context.settings

    @router.post(
        "/v1/inbound/{partner_id}",
        status_code=202,
        summary="Receive one file from a partner (signed)",
        responses={s: {"description": d, "content": {"application/problem+json": {}}} for s, d in (
            (401, "missing, forged, stale or replayed signature; unknown token"), (403, "another's token; partner disabled"),
            (404, "unknown partner"),
            (409, "Idempotency-Key reused with other bytes"), (413, "body over the size limit"),
            (415, "content the partner does not send"))},
    )
    async def inbound(partner_id: str, request: Request,
                      wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for the file to be processed")):
        try:
            partner = await asyncio.to_thread(_partner, context.ledger, partner_id)
            try:
                body = await read_body(request, settings.max_file_bytes, "split the file or send it by SFTP")
            except TooLarge as too_big:
                raise _Refused(413, str(too_big)) from None
            signed_by = await asyncio.to_thread(_check_sender, context, partner_id, request.headers, body)
            _check_content(context, partner, request.headers.get("content-type"), body)
            key = _idempotency_key(request.headers.get("idempotency-key"))
            answer = await asyncio.to_thread(_receive, context, partner_id, body, signed_by, key, request.headers.get("x-hub-filename"))
        except _Refused as refused:
            return problem(refused.status, refused.detail)
        if wait and answer["status"] == "received":
            answer = await _settled(context, answer, wait)
        return JSONResponse(answer, status_code=202, headers={"Location": f"/v1/interchanges/{answer['interchange_id']}"})

    return router


def _partner(ledger: Ledger, partner_id: str):
    partner = ledger.partner_directory().get(partner_id)
    if partner is None:
        raise _Refused(404, f"no trading partner {partner_id}; the URL names the partner that sends, e.g. /v1/inbound/P-CASCADE")
    if not partner.enabled:
        raise _Refused(403, f"partner {partner_id} is disabled; nothing is taken in from it")
    return partner


def _check_sender(context: ApiContext, partner_id: str, headers, body: bytes) -> str | None:
    """The signature the request was signed with; None when the partner's own API token sent it."""
    authorization = headers.get("authorization")
    if authorization is None:
        return _check_signature(context, partner_id, headers, body)
    scheme, _, token = authorization.partition(" ")
    actor = actor_for(context.engine, token.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        raise _Refused(401, "the bearer token is unknown or revoked (or sign the request instead of sending a token)")
    if actor.role != "partner" or actor.partner_id != partner_id:
        raise _Refused(403, f"token {actor.name!r} may not post files for {partner_id}; only {partner_id}'s own partner token may")
    return None


def _check_signature(context: ApiContext, partner_id: str, headers, body: bytes) -> str:
    timestamp, given = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not given:
        raise _Refused(401, f"the request is not signed: send {TIMESTAMP_HEADER} (unix seconds) and "
                            f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of \"timestamp.body\" with your webhook secret>")
    if not timestamp.isdigit():
        raise _Refused(401, f"{TIMESTAMP_HEADER} {timestamp!r} is not unix seconds")
    window = context.settings.webhook_window_seconds
    skew = int(timestamp) - int(time.time())
    if abs(skew) > window:
        raise _Refused(401, f"{TIMESTAMP_HEADER} is {abs(skew)} s in the {'future' if skew > 0 else 'past'}; "
                            f"signatures are good for {window} s: sign each request when you send it")
    secret = context.credentials.webhook_secret(partner_id)
    if secret is None:
        raise _Refused(401, f"{partner_id} has no webhook secret yet; ask the hub's integration team for one")
    if not signature_matches(secret, timestamp, body, given):
        raise _Refused(401, f"{SIGNATURE_HEADER} does not match the body: sign \"{timestamp}.\" followed by the exact "
                            "bytes you send, with your current webhook secret")
    return given


def _check_content(context: ApiContext, partner, content_type: str | None, body: bytes) -> None:
    takes = {name for name in partner.readers() if name}
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in CONTENT_TYPES:
        raise _Refused(415, f"Content-Type {media} is not taken; send {', '.join(sorted(k for k, v in CONTENT_TYPES.items() if v in takes))} "
                            f"for what {partner.id} sends ({', '.join(partner.inbound)})")
    declared = CONTENT_TYPES.get(media)
    sniffed = context.registry.sniff(body)
    found = sniffed.name if sniffed else declared
    if found is None and takes - {"csv"}:  # only CSV has no mark of its own; anything else must show its format
        raise _Refused(415, f"the body is not in a format {partner.id} sends ({', '.join(partner.inbound)})")
    if found is not None and found not in takes and not (found == "csv" and declared in takes):
        raise _Refused(415, f"the body is {found.upper()}, but {partner.id} is set up to send {', '.join(partner.inbound)}")


def _idempotency_key(value: str | None) -> str | None:
    if value is not None and not (0 < len(value) <= MAX_KEY_LENGTH and value.isprintable()):
        raise _Refused(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return value


def _receive(context: ApiContext, partner_id: str, body: bytes, signed_by: str | None, key: str | None, filename: str | None) -> dict[str, Any]:
    idempotency = f"idem:{partner_id}:{key}" if key else None
    if idempotency and (earlier := _earlier_answer(context, idempotency, body)):
        return earlier
    try:
        receipt = context.intake.receive(body, partner_id, "webhook", filename,
                                         claims=((f"sig:{signed_by}",) if signed_by else ()) + ((idempotency,) if idempotency else ()))
    except AlreadyClaimed as claimed:
        if claimed.key == idempotency and (earlier := _earlier_answer(context, idempotency, body)):
            return earlier  # the same request raced itself
        raise _Refused(401, "this signature was used before (a replay); sign each request anew") from None
    status = "duplicate" if receipt.duplicate_of else "received"
    return {"interchange_id": receipt.interchange_id, "status": status, "duplicate_of": receipt.duplicate_of, "documents": []}


def _earlier_answer(context: ApiContext, key: str, body: bytes) -> dict[str, Any] | None:
    """The answer first given for this Idempotency-Key; 409 if it came with other bytes."""
    with context.engine.connect() as conn:
        held = Ledger.holder(conn, key)
    if held is None:
        return None
    if held.sha256 != hashlib.sha256(body).hexdigest():
        raise _Refused(409, f"Idempotency-Key {key.split(':', 2)[2]!r} was used for other bytes (interchange {held.id}); use a new key for a new file")
    answer = _interchange_answer(context, held.id)
    answer["replayed"] = True
    return answer


def _interchange_answer(context: ApiContext, interchange_id: int) -> dict[str, Any]:
    [file] = context.ledger.received_files(interchange_id=interchange_id)
    documents = [{key: doc[key] for key in ("id", "doc_type", "reference", "state")} for doc in file["documents"]]
    return {"interchange_id": interchange_id, "status": file["status"], "duplicate_of": file["duplicate_of"], "documents": documents}


async def _settled(context: ApiContext, answer: dict[str, Any], wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        current = await asyncio.to_thread(_interchange_answer, context, answer["interchange_id"])
        settled = current["status"] != "received" and all(doc["state"] not in IN_FLIGHT_STATES for doc in current["documents"])
        if settled or time.monotonic() >= deadline:
            return current
        await asyncio.sleep(0.02)
