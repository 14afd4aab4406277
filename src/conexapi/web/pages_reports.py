"""Reportes: profit per sale, day and platform with a chart; reconciliation; CSV exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.reports import service as reports
from conexapi.reports.csvout import csv_response
from conexapi.reports.profit import PROFIT_CSV_HEADER, profit_csv_rows
from conexapi.reports.reconciliation import (
    GAP_MESSAGES,
    RECONCILIATION_CSV_HEADER,
    reconciliation_csv_rows,
)
from conexapi.web.auth import WebRoute, WebUserDep
from conexapi.web.charts import Bar, bar_chart, day_label
from conexapi.web.params import optional_date
from conexapi.web.templating import render

router = APIRouter(prefix="/app/reports", route_class=WebRoute)


async def _period(
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
) -> reports.DateRange:
    return reports.resolve_range(optional_date(date_from), optional_date(date_to))


PeriodDep = Annotated[reports.DateRange, Depends(_period)]


@router.get("", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    period: PeriodDep,
) -> HTMLResponse:
    profit = await reports.profit(session, tenant_id=user.tenant_id, period=period)
    recon = await reports.reconciliation(session, tenant_id=user.tenant_id, period=period)
    chart = bar_chart(
        [Bar(day_label(d), a.total, a.neto) for d, a in profit.by_day.items()],
        title="Ventas y ganancia neta por día",
    )
    query = f"date_from={period.date_from}&date_to={period.date_to}"
    return render(
        request,
        runtime,
        "reports.html",
        {
            "title": "Reportes",
            "period": period,
            "profit": profit,
            "recon": recon,
            "chart": chart,
            "gap_messages": GAP_MESSAGES,
            "query": query,
        },
        user=user,
        nav="reports",
    )


@router.get("/profit.csv", response_class=Response)
async def profit_csv(
    user: WebUserDep,
    session: SessionDep,
    period: PeriodDep,
) -> Response:
    report = await reports.profit(session, tenant_id=user.tenant_id, period=period)
    return csv_response(
        f"ganancias_{period.date_from}_{period.date_to}.csv",
        PROFIT_CSV_HEADER,
        profit_csv_rows(report),
    )


@router.get("/reconciliation.csv", response_class=Response)
async def reconciliation_csv(
    user: WebUserDep,
    session: SessionDep,
    period: PeriodDep,
    only_gaps: bool = False,
) -> Response:
    result = await reports.reconciliation(session, tenant_id=user.tenant_id, period=period)
    return csv_response(
        f"conciliacion_{period.date_from}_{period.date_to}.csv",
        RECONCILIATION_CSV_HEADER,
        reconciliation_csv_rows(result, only_gaps=only_gaps),
    )
