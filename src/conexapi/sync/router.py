from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from conexapi.api.deps import AdminDep, ClaimsDep, SessionDep
from conexapi.sync import service
from conexapi.sync.models import SaleState
from conexapi.sync.schemas import RetryAll, RetryResult, SaleDetail, SaleFilter, SalePage, SaleRead

router = APIRouter(prefix="/api/v1/sales", tags=["sales"])


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


@router.post("/retry", response_model=RetryResult)
async def retry_matching(body: RetryAll, claims: AdminDep, session: SessionDep) -> RetryResult:
    count = await service.retry_matching(
        session, tenant_id=claims.tenant_id, filters=body, user=f"usuario {claims.user_id}"
    )
    return RetryResult(retried=count)
