"""Posting log: every attempt to post a document to the ERP in the period, with its outcome
(posted, replayed: found posted before, transient: retried, failed), retries, error and duration."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import case, distinct, func, select

from hub.ledger import tables as t
from hub.reports.model import Column, Figure, Period, Report, Section, column_sums
from hub.reports.sources import Sources, money, volume_by_day
from hub.timespan import utc, within

ATTEMPTS = (
    Column("at", "At", "datetime"), Column("document", "Document", "int"), Column("partner", "Partner"), Column("type", "Type"),
    Column("reference", "Reference"), Column("target", "ERP"), Column("attempt", "Attempt", "int"), Column("outcome", "Outcome"),
    Column("erp_ref", "ERP reference"), Column("rows", "Rows", "int", True), Column("amount", "Amount", "money"),
    Column("duration_ms", "Duration (ms)", "measure"), Column("error", "Error"),
)

OUTCOMES = (
    Column("outcome", "Outcome"), Column("attempts", "Attempts", "int", True), Column("documents", "Documents", "int", True),
    Column("retries", "Retries", "int", True), Column("rows", "Rows", "int", True),
    Column("average_ms", "Average (ms)", "measure"), Column("slowest_ms", "Slowest (ms)", "measure"),
)


def _query(period: Period):
    p, d = t.postings, t.documents
    query = (select(p.c.at, p.c.document_id, d.c.partner_id, d.c.doc_type, d.c.reference, p.c.target, p.c.attempt, p.c.outcome,
                    p.c.erp_ref, p.c.rows, p.c.amount, p.c.duration_ms, p.c.error)
             .join(d, d.c.id == p.c.document_id).where(*within(p.c.at, period.start, period.end)).order_by(p.c.at, p.c.id))
    return query.where(d.c.partner_id == period.partner) if period.partner else query


def _attempts(sources: Sources, period: Period) -> Iterator[tuple]:
    for r in sources.stream(_query(period)):
        yield (utc(r.at), r.document_id, r.partner_id, r.doc_type, r.reference, r.target, r.attempt, r.outcome, r.erp_ref,
               r.rows, money(r.amount), round(r.duration_ms, 1), r.error)


def _outcomes(sources: Sources, period: Period) -> list[tuple]:
    p, d = t.postings, t.documents
    query = (select(p.c.outcome, func.count(), func.count(distinct(p.c.document_id)), func.sum(case((p.c.attempt > 1, 1), else_=0)),
                    func.sum(p.c.rows), func.avg(p.c.duration_ms), func.max(p.c.duration_ms))
             .join(d, d.c.id == p.c.document_id).where(*within(p.c.at, period.start, period.end))
             .group_by(p.c.outcome).order_by(p.c.outcome))
    if period.partner:
        query = query.where(d.c.partner_id == period.partner)
    with sources.ledger.connect() as conn:
        return [(outcome, attempts, documents, int(retries), int(rows), round(float(average), 1), round(float(slowest), 1))
                for outcome, attempts, documents, retries, rows, average, slowest in conn.execute(query)]


def build(sources: Sources, period: Period) -> Report:
    outcomes = _outcomes(sources, period)
    sums = column_sums(OUTCOMES, outcomes)
    failed = sum(row[1] for row in outcomes if row[0] == "failed")
    summary = [
        Figure("Posting attempts", sums["attempts"]),
        Figure("Retries", sums["retries"]),
        Figure("Failed attempts", failed, alarm=bool(failed)),
        Figure("ERP rows written", sums["rows"]),
    ]
    return Report("posting-log", "Posting log", period, sources.now, summary, [
        Section("outcomes", "Attempts by outcome", OUTCOMES, lambda: outcomes,
                "Posting attempts in the period by outcome; a retry is any attempt after a document's first."),
        Section("attempts", "Every attempt", ATTEMPTS, lambda: _attempts(sources, period),
                "Every attempt to post a document to the ERP, oldest first."),
    ], volume_by_day(sources, period))
