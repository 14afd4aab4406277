"""`/api/v1/reports/...`: profit and reconciliation as JSON and as CSV (UTF-8 with BOM, `,`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.db import DbDate, DbId
from conexapi.reports import service
from conexapi.reports.csvout import csv_stream_response
from conexapi.reports.days import ReconciliationSummary
from conexapi.reports.fiscal_review import review_json
from conexapi.reports.profit import PROFIT_CSV_HEADER, ProfitReport
from conexapi.reports.reconciliation import RECONCILIATION_CSV_HEADER

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def profit_json(report: ProfitReport) -> dict[str, Any]:
    return {
        "totals": report.totals.as_dict(),
        "by_day": [{"date": d.isoformat(), **a.as_dict()} for d, a in report.by_day.items()],
        "by_platform": [{"platform": p, **a.as_dict()} for p, a in report.by_platform.items()],
        "sales": [
            {
                "sale_id": s.sale_id,
                "external_id": s.external_id,
                "date": s.day.isoformat(),
                "platform": s.marketplace,
                "buyer": s.buyer,
                "state": s.state,
                "invoice_number": s.invoice_number,
                "anulada": s.annulled,
                **s.amounts.as_dict(),
            }
            for s in report.sales
        ],
    }


def reconciliation_json(result: ReconciliationSummary) -> dict[str, Any]:
    return {
        "summary": {
            "sales": result.sales,
            "ml_paid": result.ml_paid,
            "invoiced": result.invoiced,
            "dian_accepted": result.dian_accepted,
            "gaps": result.gap_counts,
        },
        "gaps": [
            {
                "sale_id": r.sale_id,
                "external_id": r.external_id,
                "date": r.day,
                "state": r.state,
                "ml_status": r.ml_status,
                "ml_total": None if r.ml_total is None else str(r.ml_total),
                "invoice_number": r.invoice_number,
                "invoice_total": None if r.invoice_total is None else str(r.invoice_total),
                "dian_status": r.dian_status,
                "credit_note_number": r.credit_note_number,
                "gaps": r.gaps,
                "messages": r.gap_messages,
                "detail": r.detail,
            }
            for r in result.gaps
        ],
    }


@dataclass(frozen=True)
class ReportQuery:
    """What every report endpoint reads from the request: whose sales, which days, which link."""

    tenant_id: int
    period: service.DateRange
    integration_id: DbId | None


async def report_query(
    claims: ClaimsDep,
    date_from: DbDate | None = None,
    date_to: DbDate | None = None,
    integration_id: DbId | None = None,
) -> ReportQuery:
    return ReportQuery(claims.tenant_id, service.resolve_range(date_from, date_to), integration_id)


ReportQueryDep = Annotated[ReportQuery, Depends(report_query)]


async def _profit(session: AsyncSession, q: ReportQuery) -> ProfitReport:
    return await service.profit(
        session, tenant_id=q.tenant_id, period=q.period, integration_id=q.integration_id
    )


async def _reconciliation(session: AsyncSession, q: ReportQuery) -> ReconciliationSummary:
    return await service.reconciliation(
        session, tenant_id=q.tenant_id, period=q.period, integration_id=q.integration_id
    )


def _period_json(period: service.DateRange) -> dict[str, Any]:
    return {"date_from": period.date_from.isoformat(), "date_to": period.date_to.isoformat()}


@router.get("/profit")
async def profit(q: ReportQueryDep, session: SessionDep) -> dict[str, Any]:
    return {**_period_json(q.period), **profit_json(await _profit(session, q))}


@router.get("/profit.csv", response_class=Response)
async def profit_csv(q: ReportQueryDep, runtime: RuntimeDep) -> Response:
    """Every sale of the period, streamed."""
    name = f"ganancias_{q.period.date_from}_{q.period.date_to}.csv"
    batches = service.profit_csv_batches(
        runtime.sessions, tenant_id=q.tenant_id, period=q.period, integration_id=q.integration_id
    )
    return csv_stream_response(name, PROFIT_CSV_HEADER, batches)


@router.get("/reconciliation")
async def reconciliation(q: ReportQueryDep, session: SessionDep) -> dict[str, Any]:
    return {**_period_json(q.period), **reconciliation_json(await _reconciliation(session, q))}


@router.get("/reconciliation.csv", response_class=Response)
async def reconciliation_csv(
    q: ReportQueryDep, runtime: RuntimeDep, only_gaps: bool = False
) -> Response:
    """Every sale of the period (or only those with differences), streamed."""
    name = f"conciliacion_{q.period.date_from}_{q.period.date_to}.csv"
    batches = service.reconciliation_csv_batches(
        runtime.sessions,
        tenant_id=q.tenant_id,
        period=q.period,
        integration_id=q.integration_id,
        only_gaps=only_gaps,
    )
    return csv_stream_response(name, RECONCILIATION_CSV_HEADER, batches)


@router.get("/fiscal-review")
async def fiscal_review(q: ReportQueryDep, session: SessionDep) -> dict[str, Any]:
    """Invoices already issued whose line taxes differ from their products' taxes, or whose
    discounts were deducted twice, with the difference and where their correction stands."""
    result = await service.review(
        session, tenant_id=q.tenant_id, period=q.period, integration_id=q.integration_id
    )
    return {**_period_json(q.period), **review_json(result)}


@router.post("/fiscal-review/refresh")
async def refresh_fiscal_review(
    q: ReportQueryDep, session: SessionDep, _admin: AdminDep
) -> dict[str, Any]:
    """Audits again every invoice of the period against Siigo's products as they are now (the
    worker does it, a few seconds later); the report then shows what it found."""
    queued = await service.refresh_review(
        session, tenant_id=q.tenant_id, period=q.period, integration_id=q.integration_id
    )
    return {**_period_json(q.period), "queued": queued}
