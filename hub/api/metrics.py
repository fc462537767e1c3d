"""`GET /metrics`: the ledger's numbers in Prometheus' text exposition format (0.0.4), open to
anyone (scrapers do not carry tokens), written by hand from a few grouped queries.

Every known label value is present (0 when there is none), so a series never vanishes between
scrapes. `hub_interchanges_total` counts received files by their current status: the sum only
grows, but a file moves from `received` to its final status, so each series is a gauge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import Engine, case, func, select

from hub.api.context import ApiContext
from hub.ledger import tables as t
from hub.ledger.tables import IN_FLIGHT_STATES, OUTBOX_STATUSES, SETTLED_STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500)
POSTING_OUTCOMES = ("posted", "replayed", "transient", "failed")  # hub.erp.PostingResult.outcome
INTERCHANGE_STATUSES = ("received", "processed", "rejected", "duplicate")  # interchanges.status


def escape(value: str) -> str:
    """A label value as the text format needs it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def family(name: str, kind: str, help_text: str, label: str, counts: dict[str, Any], known: Iterable[str] = ()) -> list[str]:
    """HELP, TYPE and one sample per label value: the known ones (0 if absent), then any others."""
    values = {**{k: 0 for k in known}, **{k: v for k, v in counts.items() if k is not None}}
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}",
            *(f'{name}{{{label}="{escape(str(k))}"}} {number(v)}' for k, v in values.items())]


def gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {number(value)}"]


def queue_gauges(context: ApiContext) -> list[str]:
    """Workers and delivery processes alive, and the work queue (what `hub status` shows; the
    outbox is in `hub_outbox_files`)."""
    from hub.ledger.presence import Presence, heartbeat_seconds
    from hub.ledger.queue import WorkQueue

    settings = context.settings
    depth = WorkQueue(context.ledger, settings.lease_seconds).depth()
    processes = Presence(context.ledger, heartbeat_seconds(settings.lease_seconds)).alive()
    return [*gauge("hub_workers_alive", "Worker processes seen within three heartbeats.", sum(1 for p in processes if p.concurrency)),
            *gauge("hub_delivery_processes_alive", "Processes that deliver the outbox, seen within three heartbeats.",
                   sum(1 for p in processes if p.delivers)),
            *gauge("hub_queue_files", "Received files still to split.", depth["files"]),
            *gauge("hub_queue_documents", "Documents split and waiting to be decided.", depth["documents"]),
            *gauge("hub_queue_oldest_seconds", "Seconds since the oldest waiting file or document was received (0: none waits).", round(depth["waited_seconds"], 3))]


def grouped(engine: Engine, column, where=None) -> dict[str, int]:
    query = select(column, func.count()).group_by(column)
    with engine.connect() as conn:
        return dict(conn.execute(query if where is None else query.where(where)).all())


def posting_durations(engine: Engine) -> list[str]:
    """The histogram of ERP posting attempts' durations: cumulative buckets, sum and count, in SQL."""
    duration = t.postings.c.duration_ms
    buckets = [func.coalesce(func.sum(case((duration <= le, 1), else_=0)), 0) for le in DURATION_BUCKETS_MS]
    with engine.connect() as conn:
        *counts, total, count = conn.execute(select(*buckets, func.coalesce(func.sum(duration), 0), func.count())).one()
    name = "hub_posting_duration_ms"
    return [f"# HELP {name} How long ERP posting attempts took, in milliseconds.", f"# TYPE {name} histogram",
            *(f'{name}_bucket{{le="{le}"}} {number(n)}' for le, n in zip(DURATION_BUCKETS_MS, counts)),
            f'{name}_bucket{{le="+Inf"}} {number(count)}', f"{name}_sum {number(total)}", f"{name}_count {number(count)}"]


def exposition(context: ApiContext) -> str:
    engine = context.engine
    x = t.exceptions.c
    queues = [q for q in context.settings.queue_sla_hours if q != "default"]
    lines = [
        *family("hub_documents", "gauge", "Documents by state.", "state", context.ledger.state_counts(), IN_FLIGHT_STATES + SETTLED_STATES),
        *family("hub_exceptions_open", "gauge", "Open exceptions by queue.", "queue", grouped(engine, x.queue, x.status == "open"), queues),
        *family("hub_posting_attempts_total", "counter", "ERP posting attempts by outcome.", "outcome",
                grouped(engine, t.postings.c.outcome), POSTING_OUTCOMES),
        *posting_durations(engine),
        *family("hub_outbox_files", "gauge", "Outbound files by delivery status.", "status", grouped(engine, t.outbox.c.status), OUTBOX_STATUSES),
        *family("hub_interchanges_total", "gauge", "Received files (interchanges) by current status.", "status",
                grouped(engine, t.interchanges.c.status), INTERCHANGE_STATUSES),
        *queue_gauges(context),
    ]
    return "\n".join(lines) + "\n"


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["metrics"])

    @routes.get("/metrics", response_class=Response, summary="The ledger's numbers for Prometheus (text format 0.0.4)",
                responses={200: {"description": "Prometheus text exposition format 0.0.4", "content": {"text/plain": {}}}})
    def metrics() -> Response:
        return Response(exposition(context), media_type=CONTENT_TYPE)

    return routes
