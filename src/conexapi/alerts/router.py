"""Alerts API: where the tenant's alerts go (`GET/PUT /api/v1/alerts/settings`)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from conexapi.alerts import service
from conexapi.alerts.delivery import url_resolver
from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.api.responses import error_responses

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertSettingsBody(BaseModel):
    """`webhook_url`: https, resolving only to public addresses; `email_to`: one or more
    addresses separated by commas. Empty or null turns the channel off."""

    webhook_url: str | None = Field(default=None, max_length=500)
    email_to: str | None = Field(default=None, max_length=500)


@router.get("/settings", response_model=AlertSettingsBody)
async def get_alert_settings(claims: ClaimsDep, session: SessionDep) -> AlertSettingsBody:
    row = await service.get_settings(session, tenant_id=claims.tenant_id)
    if row is None:
        return AlertSettingsBody()
    return AlertSettingsBody(webhook_url=row.webhook_url, email_to=row.email_to)


@router.put(
    "/settings",
    response_model=AlertSettingsBody,
    responses=error_responses({422: "A URL that is not https or resolves to an internal address"}),
)
async def put_alert_settings(
    body: AlertSettingsBody, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> AlertSettingsBody:
    row = await service.save_settings(
        session,
        tenant_id=claims.tenant_id,
        webhook_url=body.webhook_url,
        email_to=body.email_to,
        allow_private_urls=runtime.settings.allow_private_urls,
        resolver=url_resolver(runtime),
    )
    return AlertSettingsBody(webhook_url=row.webhook_url, email_to=row.email_to)
