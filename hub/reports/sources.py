"""What every report reads from: the ledger, the ERP's books, the partners, the settings (SLAs,
acknowledgment due times) and the moment it is made; and the few ways of reading them that every
report shares (a streamed query, a UTC day, the chart of volume by day)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, select

from hub.config import Settings
from hub.document_run import source_place
from hub.erp import ReferenceData
from hub.errors import InputError
from hub.ledger import tables as t
from hub.partners import PartnerDirectory
from hub.reports.erp_books import ErpBooks
from hub.reports.model import DayVolume, Period
from hub.timespan import utc, within

STREAM = {"yield_per": 1000}  # rows fetched at a time from a streamed query


@dataclass(frozen=True, slots=True)
class Sources:
    ledger: Engine
    books: ErpBooks
    partners: PartnerDirectory
    settings: Settings
    now: datetime  # aware UTC: ages and overdue times are measured to it
    reference: Callable[[], ReferenceData]  # the ERP's master data (units of measure), read when needed

    def stream(self, query: Select) -> Iterator[Any]:
        """The rows of `query`, fetched a thousand at a time."""
        with self.ledger.connect() as conn:
            yield from conn.execution_options(**STREAM).execute(query)

    def erp_ref(self, period: Period, role: str, report: str) -> str | None:
        """The ERP id (customer or supplier) of the period's partner; InputError when its role is not `role`."""
        if period.partner is None:
            return None
        partner = self.partners.get(period.partner)
        if partner.role != role or not partner.erp_ref:
            raise InputError(f"the {report} report is by {role}; {partner.id} is a {partner.role}"
                             + ("" if partner.erp_ref else " with no ERP id"))
        return partner.erp_ref


def open_exceptions(sources: Sources, source: str | None) -> list:
    """The open exceptions (code, message, created_at) of the hub document an ERP row came from."""
    place = source_place(source) if source else None
    if place is None:
        return []
    x, d = t.exceptions, t.documents
    query = (select(x.c.code, x.c.message, x.c.created_at).join(d, d.c.id == x.c.document_id)
             .where(d.c.interchange_id == place[0], d.c.position == place[1], x.c.status == "open").order_by(x.c.id))
    with sources.ledger.connect() as conn:
        return conn.execute(query).all()


def received_in(period: Period) -> list[ColumnElement]:
    """Conditions on the interchanges table: received in the period, from its partner."""
    conditions = within(t.interchanges.c.received_at, period.start, period.end)
    if period.partner is not None:
        conditions.append(t.interchanges.c.partner_id == period.partner)
    return conditions


def day(moment: datetime) -> date:
    """The UTC day of a ledger time (SQLite keeps them without a zone: they are UTC)."""
    return utc(moment).date()


def money(text: str | None) -> Decimal | None:
    """An amount as the ledger keeps it (exact decimal text)."""
    return None if text is None else Decimal(text)


def utc_day(engine: Engine, column) -> ColumnElement:
    """SQL for the UTC day of a time column, in the database's own words."""
    if engine.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def volume_by_day(sources: Sources, period: Period) -> Callable[[], Iterator[DayVolume]]:
    """The HTML chart's data: documents received and exceptions raised per day of the period."""

    def days() -> Iterator[DayVolume]:
        i, d, x = t.interchanges, t.documents, t.exceptions
        received_day = utc_day(sources.ledger, i.c.received_at).label("day")
        documents = (select(received_day, func.count(d.c.id)).join(d, d.c.interchange_id == i.c.id)
                     .where(*received_in(period)).group_by(received_day))
        raised_day = utc_day(sources.ledger, x.c.created_at).label("day")
        exceptions = (select(raised_day, func.count(x.c.id)).join(d, d.c.id == x.c.document_id)
                      .where(*within(x.c.created_at, period.start, period.end)).group_by(raised_day))
        if period.partner is not None:
            exceptions = exceptions.where(d.c.partner_id == period.partner)
        with sources.ledger.connect() as conn:
            received = Counter({_as_date(k): n for k, n in conn.execute(documents)})
            raised = Counter({_as_date(k): n for k, n in conn.execute(exceptions)})
        for when in sorted(received.keys() | raised.keys()):
            yield DayVolume(when, received[when], raised[when])

    return days


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
