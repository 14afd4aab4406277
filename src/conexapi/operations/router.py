"""The operations API: sales (list, detail, retry) and backfill jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.core.errors import Conflict
from conexapi.db import DbDate, DbId
from conexapi.operations import service
from conexapi.operations.schemas import (
    BackfillRequest,
    BreakerRead,
    BulkMarkResult,
    BuyerChoice,
    InvoicedElsewhere,
    InvoicedElsewhereBulk,
    JobRead,
    RetryAll,
    RetryResult,
    SaleDetail,
    SaleFilter,
    SalePage,
    SaleRead,
)
from conexapi.sales.states import SaleState
from conexapi.sync import manual

router = APIRouter(prefix="/api/v1/sales", tags=["sales"])
jobs_router = APIRouter(prefix="/api/v1", tags=["backfill"])


@router.get("", response_model=SalePage)
async def list_sales(
    claims: ClaimsDep,
    session: SessionDep,
    state: SaleState | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    date_from: DbDate | None = None,
    date_to: DbDate | None = None,
    integration_id: DbId | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SalePage:
    """`cursor` (the previous answer's `next_cursor`) pages by keyset and costs the same on
    any page; `page` still works."""
    filters = SaleFilter(
        state=state, q=q, date_from=date_from, date_to=date_to, integration_id=integration_id
    )
    return await service.list_sales(
        session,
        tenant_id=claims.tenant_id,
        filters=filters,
        page=page,
        page_size=page_size,
        cursor=cursor,
    )


@router.get("/{sale_id}", response_model=SaleDetail)
async def get_sale(sale_id: DbId, claims: ClaimsDep, session: SessionDep) -> SaleDetail:
    return await service.get_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


@router.post("/{sale_id}/retry", response_model=SaleRead)
async def retry_sale(sale_id: DbId, claims: AdminDep, session: SessionDep) -> SaleRead:
    return await service.retry_sale(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )


@router.post("/{sale_id}/correction")
async def request_correction(
    sale_id: DbId, claims: AdminDep, session: SessionDep
) -> dict[str, Any]:
    """Corrects an invoice the fiscal review found wrong: a credit note annuls it and the
    corrected invoice follows, each exactly once (asking again changes nothing). Never done
    without this request."""
    return await service.request_correction(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )


@router.post("/invoiced-elsewhere", response_model=BulkMarkResult)
async def mark_range_invoiced_elsewhere(
    body: InvoicedElsewhereBulk, claims: AdminDep, session: SessionDep
) -> BulkMarkResult:
    """Marks "facturada por fuera / no facturar" every sale of the date range that has no
    document (state `skipped`, reason `invoiced_elsewhere`). Ask with `dry_run` first and send
    the count back as `expected_count`: the seller confirms the number they saw."""
    if body.dry_run:
        count = await manual.count_markable(
            session,
            tenant_id=claims.tenant_id,
            date_from=body.date_from,
            date_to=body.date_to,
            integration_id=body.integration_id,
        )
        return BulkMarkResult(count=count, dry_run=True)
    count = await manual.mark_invoiced_elsewhere(
        session,
        tenant_id=claims.tenant_id,
        user=f"usuario {claims.user_id}",
        reason=body.reason,
        date_from=body.date_from,
        date_to=body.date_to,
        integration_id=body.integration_id,
        expected=body.expected_count,
    )
    return BulkMarkResult(count=count, dry_run=False)


@router.post("/{sale_id}/invoiced-elsewhere", response_model=SaleRead)
async def mark_invoiced_elsewhere(
    sale_id: DbId, body: InvoicedElsewhere, claims: AdminDep, session: SessionDep
) -> SaleRead:
    """ "Facturada por fuera / no facturar": the sale is `skipped` with the reason
    `invoiced_elsewhere` and never gets a document from ConexAPI (409 `sale_not_markable` when
    it already has one)."""
    marked = await manual.mark_invoiced_elsewhere(
        session,
        tenant_id=claims.tenant_id,
        user=f"usuario {claims.user_id}",
        reason=body.reason,
        sale_ids=[sale_id],
    )
    if not marked:
        await service.get_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)  # 404
        raise Conflict(
            "Only a sale without documents that is not marked yet can be marked.",
            code="sale_not_markable",
        )
    return await service.read_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


@router.delete("/{sale_id}/invoiced-elsewhere", response_model=SaleRead)
async def unmark_invoiced_elsewhere(
    sale_id: DbId, claims: AdminDep, session: SessionDep
) -> SaleRead:
    """Undoes the mark: the sale is processed again (and invoiced if it should be)."""
    await manual.unmark_invoiced_elsewhere(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )
    return await service.read_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


@router.post("/{sale_id}/refund-acknowledged", response_model=SaleRead)
async def acknowledge_refund(sale_id: DbId, claims: AdminDep, session: SessionDep) -> SaleRead:
    """The seller handled the refund of a sale invoiced elsewhere (their own credit note)."""
    await manual.acknowledge_refund(
        session, tenant_id=claims.tenant_id, sale_id=sale_id, user=f"usuario {claims.user_id}"
    )
    return await service.read_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


@router.put("/{sale_id}/buyer", response_model=SaleRead)
async def set_buyer(
    sale_id: DbId, body: BuyerChoice, claims: AdminDep, session: SessionDep
) -> SaleRead:
    """Who the sale's invoice goes to: `consumer_final`, or a CC/NIT/CE/passport with the
    buyer's name (validated; a NIT's check digit must verify). The sale is retried now."""
    buyer = manual.clean_buyer(
        consumer_final=body.consumer_final,
        id_type=body.id_type,
        identification=body.identification,
        name=body.name,
    )
    await manual.set_buyer(
        session,
        tenant_id=claims.tenant_id,
        sale_id=sale_id,
        user=f"usuario {claims.user_id}",
        buyer=buyer,
    )
    return await service.read_sale(session, tenant_id=claims.tenant_id, sale_id=sale_id)


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
    integration_id: DbId, body: BackfillRequest, claims: AdminDep, session: SessionDep
) -> JobRead:
    job = await service.start_backfill(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, request=body
    )
    return JobRead.model_validate(job)


@jobs_router.get("/jobs/{job_id}", response_model=JobRead)
async def job_status(job_id: DbId, claims: ClaimsDep, session: SessionDep) -> JobRead:
    job = await service.get_job(session, tenant_id=claims.tenant_id, job_id=job_id)
    return JobRead.model_validate(job)


@jobs_router.get(
    "/connections/{connection_id}/breaker", response_model=BreakerRead, tags=["connections"]
)
async def breaker_status(
    connection_id: DbId, claims: ClaimsDep, session: SessionDep, runtime: RuntimeDep
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
    connection_id: DbId, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> BreakerRead:
    """Resumes sending to a Siigo company the breaker paused; its waiting sales are due now."""
    return await service.resume_sending(
        session,
        tenant_id=claims.tenant_id,
        connection_id=connection_id,
        window_hours=runtime.settings.worker.breaker_window_hours,
    )
