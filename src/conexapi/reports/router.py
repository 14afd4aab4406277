"""`/api/v1/reports/...`: profit and reconciliation as JSON and as CSV (UTF-8 with BOM, `,`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from conexapi.api.deps import ClaimsDep, SessionDep
from conexapi.reports import service
from conexapi.reports.csvout import csv_response
from conexapi.reports.profit import PROFIT_CSV_HEADER, ProfitReport, profit_csv_rows
from conexapi.reports.reconciliation import (
    RECONCILIATION_CSV_HEADER,
    Reconciliation,
    reconciliation_csv_rows,
)

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
                **s.amounts.as_dict(),
            }
            for s in report.sales
        ],
    }


def reconciliation_json(result: Reconciliation) -> dict[str, Any]:
    return {
        "summary": {
            "sales": len(result.rows),
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


@router.get("/profit")
async def profit(
    claims: ClaimsDep,
    session: SessionDep,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
) -> dict[str, Any]:
    period = service.resolve_range(date_from, date_to)
    report = await service.profit(
        session, tenant_id=claims.tenant_id, period=period, integration_id=integration_id
    )
    return {
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
        **profit_json(report),
    }


@router.get("/profit.csv", response_class=Response)
async def profit_csv(
    claims: ClaimsDep,
    session: SessionDep,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
) -> Response:
    period = service.resolve_range(date_from, date_to)
    report = await service.profit(
        session, tenant_id=claims.tenant_id, period=period, integration_id=integration_id
    )
    name = f"ganancias_{period.date_from}_{period.date_to}.csv"
    return csv_response(name, PROFIT_CSV_HEADER, profit_csv_rows(report))


@router.get("/reconciliation")
async def reconciliation(
    claims: ClaimsDep,
    session: SessionDep,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
) -> dict[str, Any]:
    period = service.resolve_range(date_from, date_to)
    result = await service.reconciliation(
        session, tenant_id=claims.tenant_id, period=period, integration_id=integration_id
    )
    return {
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
        **reconciliation_json(result),
    }


@router.get("/reconciliation.csv", response_class=Response)
async def reconciliation_csv(
    claims: ClaimsDep,
    session: SessionDep,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
    only_gaps: bool = False,
) -> Response:
    period = service.resolve_range(date_from, date_to)
    result = await service.reconciliation(
        session, tenant_id=claims.tenant_id, period=period, integration_id=integration_id
    )
    name = f"conciliacion_{period.date_from}_{period.date_to}.csv"
    return csv_response(
        name, RECONCILIATION_CSV_HEADER, reconciliation_csv_rows(result, only_gaps=only_gaps)
    )
