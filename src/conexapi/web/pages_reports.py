"""Reportes: profit per sale, day and platform with a chart; reconciliation; CSV exports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.core.errors import AppError
from conexapi.messages import error_text, text
from conexapi.reports import service as reports
from conexapi.reports.csvout import csv_stream_response
from conexapi.reports.profit import PROFIT_CSV_HEADER
from conexapi.reports.reconciliation import GAP_MESSAGES, RECONCILIATION_CSV_HEADER
from conexapi.web.auth import WebRoute, WebUserDep, redirect, verify_csrf
from conexapi.web.charts import Bar, bar_chart, day_label
from conexapi.web.excel import (
    PROFIT_COLUMNS,
    RECONCILIATION_COLUMNS,
    Cell,
    profit_cells,
    reconciliation_cells,
    stream_workbook,
    xlsx_file_response,
)
from conexapi.web.params import optional_date
from conexapi.web.templating import render

router = APIRouter(prefix="/app/reports", route_class=WebRoute)
T = TypeVar("T")
ROWS = 50  # rows per page of each per-sale list (sales, differences, explained differences)


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
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    dif: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    exp: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    # A reversed or unreadable range is said on this page, next to the fields, with the last
    # 30 days shown meanwhile: never a bare error page.
    form_error = None
    try:
        period = reports.resolve_range(optional_date(date_from), optional_date(date_to))
    except AppError as exc:
        form_error = error_text(exc)
        period = reports.resolve_range(None, None)
    # Totals, the chart and the reconciliation counts come from the daily figures; the rows
    # (sales, differences) are pages of ROWS: the page costs the same for a month or a year.
    result = await reports.overview(
        session,
        tenant_id=user.tenant_id,
        period=period,
        latest_sales=0,
        gap_rows=ROWS,
        gap_start=dif,
        explained_start=exp,
    )
    sales_page = await reports.profit_page(
        session, tenant_id=user.tenant_id, period=period, limit=ROWS, cursor=cursor or None
    )
    profit, recon = result.profit, result.recon
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
            "sales_page": sales_page,
            "first_page": not cursor,
            "gaps_window": _window(dif, len(recon.gaps), recon.gap_total),
            "explained_window": _window(exp, len(recon.explained), recon.explained_total),
            "chart": chart,
            "gap_messages": GAP_MESSAGES,
            "query": query,
            "form_error": form_error,
            "asked": {"date_from": date_from or "", "date_to": date_to or ""},
        },
        user=user,
        nav="reports",
        status_code=422 if form_error else 200,
    )


@dataclass(frozen=True)
class Window:
    """Which rows of a paged list are shown: from `first` to `last` (1-based) of `total`, and
    the offsets of the previous and next pages (None where there is none)."""

    first: int
    last: int
    total: int
    previous: int | None
    following: int | None


def _window(start: int, shown: int, total: int) -> Window:
    return Window(
        first=start + 1 if shown else 0,
        last=start + shown,
        total=total,
        previous=max(0, start - ROWS) if start > 0 else None,
        following=start + ROWS if start + shown < total else None,
    )


@router.get("/profit.csv", response_class=Response)
async def profit_csv(
    user: WebUserDep,
    runtime: RuntimeDep,
    period: PeriodDep,
) -> Response:
    return csv_stream_response(
        f"ganancias_{period.date_from}_{period.date_to}.csv",
        PROFIT_CSV_HEADER,
        reports.profit_csv_batches(runtime.sessions, tenant_id=user.tenant_id, period=period),
    )


@router.get("/profit.xlsx", response_class=Response)
async def profit_xlsx(user: WebUserDep, session: SessionDep, period: PeriodDep) -> Response:
    """Every counted sale of the period, streamed from the database into the workbook."""
    rows = reports.profit_rows(session, tenant_id=user.tenant_id, period=period)
    path = await stream_workbook("Ganancias", PROFIT_COLUMNS, _cells(rows, profit_cells))
    return xlsx_file_response(
        f"ganancias_{period.date_from:%d-%m-%Y}_{period.date_to:%d-%m-%Y}.xlsx", path
    )


@router.get("/reconciliation.xlsx", response_class=Response)
async def reconciliation_xlsx(
    user: WebUserDep, session: SessionDep, period: PeriodDep, only_gaps: bool = False
) -> Response:
    """Every sale of the period (or only those with differences), streamed from the database
    into the workbook a batch at a time."""
    rows = reports.reconciliation_rows(
        session, tenant_id=user.tenant_id, period=period, only_gaps=only_gaps
    )
    path = await stream_workbook(
        "Conciliación", RECONCILIATION_COLUMNS, _cells(rows, reconciliation_cells)
    )
    return xlsx_file_response(
        f"conciliacion_{period.date_from:%d-%m-%Y}_{period.date_to:%d-%m-%Y}.xlsx", path
    )


async def _cells(
    batches: AsyncIterator[list[T]], convert: Callable[[list[T]], list[list[Cell]]]
) -> AsyncIterator[list[list[Cell]]]:
    async for batch in batches:
        yield convert(batch)


@router.get("/reconciliation.csv", response_class=Response)
async def reconciliation_csv(
    user: WebUserDep,
    runtime: RuntimeDep,
    period: PeriodDep,
    only_gaps: bool = False,
) -> Response:
    return csv_stream_response(
        f"conciliacion_{period.date_from}_{period.date_to}.csv",
        RECONCILIATION_CSV_HEADER,
        reports.reconciliation_csv_batches(
            runtime.sessions, tenant_id=user.tenant_id, period=period, only_gaps=only_gaps
        ),
    )


@router.get("/fiscal-review", response_class=HTMLResponse)
async def fiscal_review_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    period: PeriodDep,
) -> HTMLResponse:
    """Invoices already issued wrong (a line taxed unlike its product, a discount deducted twice),
    with the difference and a button to correct each one: never corrected without it."""
    review = await reports.review(session, tenant_id=user.tenant_id, period=period)
    return render(
        request,
        runtime,
        "fiscal_review.html",
        {
            "title": "Revisión fiscal",
            "period": period,
            "review": review,
            "query": f"date_from={period.date_from}&date_to={period.date_to}",
        },
        user=user,
        nav="reports",
    )


@router.post("/fiscal-review/refresh", dependencies=[Depends(verify_csrf)])
async def refresh_fiscal_review(
    user: WebUserDep, session: SessionDep, runtime: RuntimeDep, period: PeriodDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    queued = await reports.refresh_review(session, tenant_id=user.tenant_id, period=period)
    target = f"/app/reports/fiscal-review?date_from={period.date_from}&date_to={period.date_to}"
    return redirect(target, runtime, ok=text("web.review_queued", count=queued))
