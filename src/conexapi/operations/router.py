"""The operations API: sales (list, detail, retry) and backfill jobs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.operations import service
from conexapi.operations.schemas import (
    BackfillRequest,
    BreakerRead,
    JobRead,
    RetryAll,
    RetryResult,
    SaleDetail,
    SaleFilter,
    SalePage,
    SaleRead,
)
from conexapi.sales.states import SaleState

router = APIRouter(prefix="/api/v1/sales", tags=["sales"])
jobs_router = APIRouter(prefix="/api/v1", tags=["backfill"])


@router.get("", response_model=SalePage)
async def list_sales(
    claims: ClaimsDep,
    session: SessionDep,
    state: SaleState | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SalePage:
    filters = SaleFilter(
        state=state, q=q, date_from=date_from, date_to=date_to, integration_id=integration_id
    )
    return await service.list_sales(
        session, tenant_id=claims.tenant_id, filters=filters, page=page, page_size=page_size
    )


@router.get("/{sale_id}", response_model=SaleDetail)
async def get_sale(sale_id: int, claims: ClaimsDep, session: SessionDep) -> SaleDetail:
    return await service.get_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


@router.post("/{sale_id}/retry", response_model=SaleRead)
async def retry_sale(sale_id: int, claims: AdminDep, session: SessionDep) -> SaleRead:
    return await service.retry_sale(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )


@router.post("/{sale_id}/correction")
async def request_correction(sale_id: int, claims: AdminDep, session: SessionDep) -> dict[str, Any]:
    """Corrects an invoice the fiscal review found wrong: a credit note annuls it and the
    corrected invoice follows, each exactly once (asking again changes nothing). Never done
    without this request."""
    return await service.request_correction(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )


@router.post("/retry", response_model=RetryResult)
async def retry_matching(body: RetryAll, claims: AdminDep, session: SessionDep) -> RetryResult:
    count = await service.retry_matching(
        session, tenant_id=claims.tenant_id, filters=body, user=f"usuario {claims.user_id}"
    )
    return RetryResult(retried=count)


@jobs_router.post(
    "/integrations/{integration_id}/backfill", response_model=JobRead, status_code=202
)
async def backfill(
    integration_id: int, body: BackfillRequest, claims: AdminDep, session: SessionDep
) -> JobRead:
    job = await service.start_backfill(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, request=body
    )
    return JobRead.model_validate(job)


@jobs_router.get("/jobs/{job_id}", response_model=JobRead)
async def job_status(job_id: int, claims: ClaimsDep, session: SessionDep) -> JobRead:
    job = await service.get_job(session, tenant_id=claims.tenant_id, job_id=job_id)
    return JobRead.model_validate(job)


@jobs_router.get(
    "/connections/{connection_id}/breaker", response_model=BreakerRead, tags=["connections"]
)
async def breaker_status(
    connection_id: int, claims: ClaimsDep, session: SessionDep, runtime: RuntimeDep
) -> BreakerRead:
    """The breaker of a Siigo company: paused or not, why, and what Siigo refused lately."""
    return await service.get_breaker(
        session,
        tenant_id=claims.tenant_id,
        connection_id=connection_id,
        window_hours=runtime.settings.worker.breaker_window_hours,
    )


@jobs_router.post(
    "/connections/{connection_id}/resume", response_model=BreakerRead, tags=["connections"]
)
async def resume_sending(
    connection_id: int, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> BreakerRead:
    """Resumes sending to a Siigo company the breaker paused; its waiting sales are due now."""
    return await service.resume_sending(
        session,
        tenant_id=claims.tenant_id,
        connection_id=connection_id,
        window_hours=runtime.settings.worker.breaker_window_hours,
    )
