"""The reports there are (importing this is cheap: `hub --help` lists them), and making one:
`Reports(settings, ledger_engine, erp).make("intake", "2026-11-01", "2026-11-30")`.

A made report holds only small aggregates; its long sections read the ledger and the ERP again
when they are written (hub.reports.render), so writing one is where the time goes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from hub.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hub.config import Settings
    from hub.erp import ErpGateway
    from hub.reports.model import Report


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    title: str
    about: str  # one line for `hub report --help` and GET /v1/reports
    module: str  # the module whose build(sources, period) makes it; imported when one is made

    def build(self, sources, period) -> Report:
        return importlib.import_module(f"hub.reports.{self.module}").build(sources, period)


REPORTS = {k.name: k for k in (
    Kind("intake", "Intake reconciliation", "nothing lost: per partner, day and type, received = posted + held + rejected"
         " + duplicate + in flight, with amounts; acknowledgments sent, received and overdue", "intake"),
    Kind("ledger-vs-erp", "Ledger vs ERP", "the hub's posted documents against the ERP rows that carry them, per table;"
         " every difference listed", "erp_match"),
    Kind("three-way-match", "AP three-way match", "supplier invoice lines against PO and receipts: variances, approved"
         " or held and why, totals per supplier", "three_way"),
    Kind("order-to-cash", "Order to cash", "orders booked, shipped, invoiced; shipped not invoiced; invoiced not"
         " shipped; held orders by hold code with age", "order_to_cash"),
    Kind("posting-log", "Posting log", "every ERP posting attempt with outcome, retries, error and duration", "posting_log"),
    Kind("exceptions-aging", "Exceptions aging", "open exceptions by queue and age against their SLA", "exceptions_aging"),
)}


class Reports:
    """Makes reports from the hub's ledger and the ERP."""

    def __init__(self, settings: Settings, ledger: Engine, erp: ErpGateway):
        self.settings, self.ledger, self.erp = settings, ledger, erp

    def make(self, name: str, start: date | str | None = None, end: date | str | None = None, partner: str | None = None,
             now: datetime | None = None) -> Report:
        from hub.ledger.store import Ledger
        from hub.reports.period import period
        from hub.reports.sources import Sources

        kind = REPORTS.get(name)
        if kind is None:
            raise NotFound(f"no report {name!r}; the reports are: {', '.join(REPORTS)}")
        now = now or datetime.now(UTC)
        partners = Ledger(self.ledger).partner_directory()
        covered = period(start, end, partner, {p.id for p in partners.partners}, now.date())
        sources = Sources(self.ledger, self.erp.books(), partners, self.settings, now, self.erp.reference_data)
        return kind.build(sources, covered)
