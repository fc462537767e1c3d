"""Exceptions aging: the exceptions open as the report is made (raised up to the period's last
day), by queue and age bucket, against each queue's SLA (HUB_QUEUE_SLA_HOURS)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from hub.ledger import tables as t
from hub.reports.model import Column, Figure, Period, Report, Section, column_sums
from hub.reports.sources import Sources, volume_by_day
from hub.timespan import utc

# (key, title, upper bound of the age): the last bucket has none
BUCKETS = (("under_4h", "Under 4 hours", timedelta(hours=4)), ("under_1d", "4 to 24 hours", timedelta(days=1)),
           ("under_3d", "1 to 3 days", timedelta(days=3)), ("under_7d", "3 to 7 days", timedelta(days=7)),
           ("older", "Over 7 days", None))

QUEUES = (
    Column("queue", "Queue"), Column("sla_hours", "SLA (hours)", "measure"), Column("open", "Open", "int", True),
    Column("within_sla", "Within SLA", "int", True), Column("overdue", "Overdue", "int", True),
    *(Column(key, title, "int", True) for key, title, _ in BUCKETS), Column("oldest_hours", "Oldest (hours)", "measure"),
)

OPEN = (
    Column("exception", "Exception", "int"), Column("queue", "Queue"), Column("code", "Code"), Column("priority", "Priority", "int"),
    Column("partner", "Partner"), Column("document", "Document", "int"), Column("type", "Type"), Column("reference", "Reference"),
    Column("raised_at", "Raised at", "datetime"), Column("age_hours", "Age (hours)", "measure"), Column("due_at", "Due at", "datetime"),
    Column("overdue", "Overdue"), Column("assignee", "Assignee"), Column("message", "Message"),
)


def _query(period: Period):
    x, d = t.exceptions, t.documents
    query = (select(x.c.id, x.c.queue, x.c.code, x.c.priority, d.c.partner_id, x.c.document_id, d.c.doc_type, d.c.reference,
                    x.c.created_at, x.c.due_at, x.c.assignee, x.c.message)
             .join(d, d.c.id == x.c.document_id)
             .where(x.c.status == "open", x.c.created_at < utc(period.end, end=True))
             .order_by(x.c.priority, x.c.due_at, x.c.id))
    return query.where(d.c.partner_id == period.partner) if period.partner else query


def _bucket(age: timedelta) -> str:
    return next(key for key, _, limit in BUCKETS if limit is None or age < limit)


def _hours(age: timedelta) -> float:
    return round(age.total_seconds() / 3600, 1)


def _open(sources: Sources, period: Period) -> Iterator[tuple]:
    for r in sources.stream(_query(period)):
        raised, due = utc(r.created_at), utc(r.due_at)
        yield (r.id, r.queue, r.code, r.priority, r.partner_id, r.document_id, r.doc_type, r.reference, raised,
               _hours(sources.now - raised), due, "yes" if due < sources.now else "no", r.assignee, r.message)


def _queues(sources: Sources, period: Period) -> list[tuple]:
    queues: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for r in sources.stream(_query(period)):
        age = sources.now - utc(r.created_at)
        queue = queues[r.queue]
        queue["open"] += 1
        queue["overdue" if utc(r.due_at) < sources.now else "within_sla"] += 1
        queue[_bucket(age)] += 1
        queue["oldest_hours"] = max(queue["oldest_hours"], _hours(age))
    return [(name, sources.settings.queue_policy(name)[0], *(queue[c.key] for c in QUEUES[2:]))
            for name, queue in sorted(queues.items())]


def build(sources: Sources, period: Period) -> Report:
    queues = _queues(sources, period)
    sums = column_sums(QUEUES, queues)
    summary = [
        Figure("Open exceptions", sums["open"]),
        Figure("Within SLA", sums["within_sla"]),
        Figure("Overdue", sums["overdue"], alarm=bool(sums["overdue"])),
        Figure("Open over 7 days", sums["older"], alarm=bool(sums["older"])),
    ]
    return Report("exceptions-aging", "Exceptions aging", period, sources.now, summary, [
        Section("queues", "By queue and age", QUEUES, lambda: queues,
                "Open exceptions per queue: within or past the queue's SLA, and how old they are.", "No exception is open."),
        Section("open", "Open exceptions", OPEN, lambda: _open(sources, period),
                "Every open exception, most urgent first (priority, then due time).", "No exception is open."),
    ], volume_by_day(sources, period))
