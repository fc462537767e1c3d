"""Ledger tables (SQLAlchemy Core). Alembic migrations in hub/migrations create them.

States of a document (the same words everywhere: CLI, API, reports):
    in flight: received -> parsed -> mapped -> decided
    settled:   posted (booked in the ERP), answered (booked, and an acknowledgment sent),
               held (open exceptions), rejected (cannot be processed as sent), duplicate
For a partner's functional acknowledgment (997/999), posted means matched to what we sent (there is
no ERP row; the outbox rows it acknowledges carry its answer).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

metadata = MetaData()


def lease_columns() -> list[Column]:
    """A worker's claim on a file or document (hub.ledger.queue): who holds it, until when, and
    how many claims it has had (a file or document that kills its worker every time stops at
    HUB_MAX_ATTEMPTS)."""
    return [Column("lease_owner", String(100), nullable=True), Column("lease_until", DateTime(timezone=True), nullable=True),
            Column("attempts", Integer, nullable=False, default=0, server_default="0")]

IN_FLIGHT_STATES = ("received", "parsed", "mapped", "decided")
OUTBOX_STATUSES = ("pending", "ready", "delivered", "dead")  # of an outbound file (the outbox table)
SETTLED_STATES = ("posted", "answered", "held", "rejected", "duplicate")

partners = Table(
    "partners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("config", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

interchanges = Table(
    "interchanges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), nullable=True, index=True),
    Column("channel", String(32), nullable=False),
    Column("filename", String(500), nullable=True),
    Column("format", String(16), nullable=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # received, processed, rejected, duplicate
    Column("control_number", String(32), nullable=True),  # ISA13
    Column("sender", String(64), nullable=True),
    Column("problems", JSON, nullable=True),
    Column("duplicate_of", Integer, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    # what the file says it holds, from its own control counts (ReadResult.contents): for X12
    # {"groups": sum of IEA01, "documents": {"850": sum of GE01, ...}, "segments": sum of SE01};
    # None until it is read (or when nothing in it can be read)
    Column("contents", JSON, nullable=True),
    *lease_columns(),
)

# One row per identity an interchange claims ("sha:<hex>", "isa:<partner>:<ISA13>"): a second
# interchange that claims the same key is a duplicate, even when two workers race.
interchange_keys = Table(
    "interchange_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("interchange_id", Integer, ForeignKey("interchanges.id"), nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interchange_id", Integer, ForeignKey("interchanges.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),  # 1-based position in the file
    Column("partner_id", String(64), nullable=True, index=True),
    Column("doc_type", String(16), nullable=False),
    Column("group_control", String(32), nullable=True),  # GS06
    Column("set_control", String(32), nullable=True),  # ST02
    Column("reference", String(100), nullable=True, index=True),  # PO / invoice / shipment number
    Column("state", String(16), nullable=False, index=True),
    Column("canonical", JSON, nullable=True),
    Column("decisions", JSON, nullable=True),  # the decision trace
    Column("holds", JSON, nullable=True),
    Column("problems", JSON, nullable=True),
    Column("erp_ref", String(64), nullable=True),
    Column("total", String(32), nullable=True),  # exact decimal as text
    Column("quantity", Integer, nullable=True),  # units on the document (ordered, shipped or invoiced)
    # what people decided for this document, kept for every later run of it (hub.document_rerun)
    Column("overrides", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # what a queued document competes on ("customer:C100 item:HS-1001 ..."): documents sharing a
    # lane are decided in the order received (hub.flows.lanes, hub.ledger.queue)
    Column("lanes", Text, nullable=True),
    *lease_columns(),
    UniqueConstraint("interchange_id", "position", name="uq_documents_position"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interchange_id", Integer, nullable=False, index=True),
    Column("document_id", Integer, nullable=True, index=True),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("detail", JSON, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("code", String(32), nullable=False),
    Column("queue", String(32), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # open, resolved
    Column("message", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("resolution", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("assignee", String(100), nullable=True),
    Column("resolved_by", String(100), nullable=True),
    Column("action", String(32), nullable=True),  # how it was resolved: release, override_price ...
)

postings = Table(
    "postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, nullable=False, index=True),
    Column("target", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),  # posted, replayed, transient, failed
    Column("erp_ref", String(64), nullable=True),
    Column("rows", Integer, nullable=False, default=0),
    Column("amount", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # 997, 999, 855 ...
    Column("interchange_id", Integer, nullable=True, index=True),  # the inbound file it answers
    Column("document_id", Integer, nullable=True, index=True),
    Column("filename", String(200), nullable=False, unique=True),
    Column("content", LargeBinary, nullable=False),
    Column("control_number", String(32), nullable=True),  # our ISA13
    # pending (to deliver), ready (in the partner's pickup folder), delivered (pushed, or picked up:
    # the partner deleted it), dead (every attempt failed; `hub outbox redeliver` sends it again)
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),  # attempts in the current round
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    # the partner's functional acknowledgment (997/999) of what we sent: the group it names (our
    # GS06), when one is due (None: none expected, e.g. for an acknowledgment itself), and what came
    Column("group_control", String(32), nullable=True),
    Column("ack_due_at", DateTime(timezone=True), nullable=True),
    Column("ack_status", String(24), nullable=True),  # accepted, accepted-with-errors, partially-accepted, rejected
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("ack_document_id", Integer, nullable=True),  # the partner's 997/999 in documents
    # the delivery process at work on the file (hub.delivery: one process at a time per file)
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
)

# One row per attempt to deliver an outbound file (kept when a file is redelivered).
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("method", String(16), nullable=False),  # pickup, https
    Column("outcome", String(16), nullable=False),  # delivered, ready, failed, dead
    Column("status_code", Integer, nullable=True),  # the partner's HTTP answer
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# What a partner authenticates with: an SFTP password (scrypt hash), SFTP public keys (OpenSSH
# lines; public, kept as sent) and the webhook secret (encrypted with the hub's key).
partner_credentials = Table(
    "partner_credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # password, ssh-key, webhook-secret
    Column("value", Text, nullable=False),
    Column("fingerprint", String(100), nullable=False),  # SHA256:... for keys; the kind otherwise
    Column("comment", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("partner_id", "kind", "fingerprint", name="uq_partner_credential"),
)

control_numbers = Table(
    "control_numbers",
    metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # isa, gs, st
    Column("last_value", Integer, nullable=False),
)

ruleset_versions = Table(
    "ruleset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=True),  # None: loaded from rules/ by `hub init`
    UniqueConstraint("name", "version", name="uq_ruleset_version"),
)

mapping_versions = Table(
    "mapping_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), nullable=False),
    Column("doc_type", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=True),  # None: the file under mappings/
    UniqueConstraint("partner_id", "doc_type", "version", name="uq_mapping_version"),
)

# Bearer tokens for the HTTP API: only the SHA-256 of a token is stored; `hub token create` shows
# the token itself once.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # admin, integration, operations, finance, partner
    Column("partner_id", String(64), nullable=True),  # the partner a `partner` token speaks for
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Who changed what, when, with the value before and after (append-only).
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(100), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),  # partner.update, ruleset.activate, exception.resolve ...
    Column("target", String(200), nullable=False, index=True),  # partner:P-SUMMIT, ruleset:pricing@3 ...
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
)

# Worker and delivery processes (`hub worker`, `hub serve`, `hub deliver`): each says it is alive every few seconds (`hub status`).
workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),  # host:pid:random
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("concurrency", Integer, nullable=False),  # worker threads; 0 for a process that only delivers (`hub deliver`)
    Column("delivers", Boolean, nullable=False, default=True, server_default=true()),  # runs outbound delivery
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
    Column("done", Integer, nullable=False, default=0, server_default="0"),  # documents it settled
)

Index("ix_documents_queue", documents.c.state, documents.c.interchange_id, documents.c.position)
Index("ix_interchanges_status", interchanges.c.status, interchanges.c.id)
Index("ix_documents_partner_reference", documents.c.partner_id, documents.c.reference)
Index("ix_outbox_partner_group", outbox.c.partner_id, outbox.c.group_control)
