"""Reportes: profit per sale, day and platform with a chart; reconciliation; CSV exports."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.core.errors import Unprocessable
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
from conexapi.web.templating import render

router = APIRouter(prefix="/app/reports", route_class=WebRoute)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable("Fecha no válida (use AAAA-MM-DD).", code="invalid_date") from exc


@router.get("", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    period = reports.resolve_range(_date(date_from), _date(date_to))
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
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    period = reports.resolve_range(_date(date_from), _date(date_to))
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
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    only_gaps: bool = False,
) -> Response:
    period = reports.resolve_range(_date(date_from), _date(date_to))
    result = await reports.reconciliation(session, tenant_id=user.tenant_id, period=period)
    return csv_response(
        f"conciliacion_{period.date_from}_{period.date_to}.csv",
        RECONCILIATION_CSV_HEADER,
        reconciliation_csv_rows(result, only_gaps=only_gaps),
    )
