"""Finance's reconciliation reports over HTTP (finance and admin): the same reports as `hub report`,
streamed as they are written."""

from __future__ import annotations

import threading
from datetime import date
from itertools import chain
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from hub.api.context import ApiContext
from hub.api.params import PARTNER_ID, WORDS, attachment, problems
from hub.api.security import allow
from hub.reports.catalog import REPORTS, Reports
from hub.reports.render import MEDIA_TYPES, SUFFIXES, chunks


class ReportKind(BaseModel):
    name: str
    title: str
    about: str


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["reports"], dependencies=[Depends(allow("finance"))])
    made: list[Reports] = []
    lock = threading.Lock()

    def reports() -> Reports:
        """Made on first use: most API nodes never make a report."""
        with lock:
            if not made:
                from hub.db import make_engine

                erp = context.registry.erp("reference", make_engine(context.settings.erp_url))
                made.append(Reports(context.settings, context.engine, erp))
            return made[0]

    @routes.get("/v1/reports", responses=problems(401, 403), summary="The reports there are")
    def kinds() -> list[ReportKind]:
        return [ReportKind(name=k.name, title=k.title, about=k.about) for k in REPORTS.values()]

    @routes.get("/v1/reports/{name}", responses={**problems(401, 403, 404, 422), 200: {
        "description": "The report, streamed", "content": {media: {} for media in MEDIA_TYPES.values()}}},
        response_class=StreamingResponse, summary="One report for a period (days UTC, both included)")
    def report(
        name: str = Path(max_length=40, pattern=WORDS, description="one of GET /v1/reports"),
        start: date | None = Query(None, alias="from", description="first day (default: 29 days before `to`)"),
        end: date | None = Query(None, alias="to", description="last day (default: today)"),
        partner: str | None = Query(None, max_length=64, pattern=PARTNER_ID, description="only this partner's documents"),
        format: Literal["json", "csv", "html", "xlsx"] = Query("json"),
        section: str | None = Query(None, max_length=40, pattern=WORDS, description="csv and json: only this table"),
    ) -> StreamingResponse:
        made_report = reports().make(name, start, end, partner)
        stream = chunks(made_report, format, section)
        first = next(stream, b"")  # a bad section is refused here, before the answer starts
        headers = {"Cache-Control": "no-store"}
        if format in ("csv", "xlsx"):
            period = made_report.period
            headers["Content-Disposition"] = attachment(f"{name}-{period.start}-{period.end}{SUFFIXES[format]}")
        return StreamingResponse(chain([first], stream), media_type=MEDIA_TYPES[format], headers=headers)

    return routes
