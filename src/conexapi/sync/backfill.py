"""Backfill: bring in every sale of a date range (paged, throttled, resumable)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.api.deps import AdminDep, ClaimsDep, SessionDep
from conexapi.core.errors import NotFound, Unprocessable
from conexapi.integrations.models import Integration
from conexapi.sync.clock import colombia_today
from conexapi.sync.models import Job

# MercadoLibre keeps orders for 12 months (§3.3).
MAX_HISTORY = timedelta(days=366)


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date_from: date
    date_to: date

    @model_validator(mode="after")
    def _range(self) -> BackfillRequest:
        if self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")
        if self.date_to > colombia_today():
            raise ValueError("date_to cannot be in the future")
        if colombia_today() - self.date_from > MAX_HISTORY:
            raise ValueError("MercadoLibre keeps orders for 12 months: date_from is too old")
        return self


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    integration_id: int
    kind: str
    state: str
    params: dict[str, Any]
    done: int
    error: str | None


async def start_backfill(
    session: AsyncSession, *, tenant_id: int, integration_id: int, request: BackfillRequest
) -> Job:
    integration = (
        await session.execute(
            select(Integration).where(
                Integration.id == integration_id, Integration.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if integration is None:
        raise NotFound("Integration not found.", code="integration_not_found")
    if not integration.active:
        raise Unprocessable("The integration is paused.", code="integration_inactive")
    job = Job(
        tenant_id=tenant_id,
        integration_id=integration_id,
        kind="backfill",
        state="pending",
        params={"date_from": request.date_from.isoformat(), "date_to": request.date_to.isoformat()},
        cursor={},
        done=0,
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, *, tenant_id: int, job_id: int) -> Job:
    job = (
        await session.execute(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if job is None:
        raise NotFound("Job not found.", code="job_not_found")
    return job


router = APIRouter(prefix="/api/v1", tags=["backfill"])


@router.post("/integrations/{integration_id}/backfill", response_model=JobRead, status_code=202)
async def backfill(
    integration_id: int, body: BackfillRequest, claims: AdminDep, session: SessionDep
) -> JobRead:
    job = await start_backfill(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, request=body
    )
    return JobRead.model_validate(job)


@router.get("/jobs/{job_id}", response_model=JobRead)
async def job_status(job_id: int, claims: ClaimsDep, session: SessionDep) -> JobRead:
    return JobRead.model_validate(await get_job(session, tenant_id=claims.tenant_id, job_id=job_id))
