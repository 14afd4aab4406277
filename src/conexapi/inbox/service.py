"""Intake of MercadoLibre notifications: validate, store durably once, make the sale due.

Never calls an external API: MercadoLibre wants a 200 within 500 ms, and the notification is only
a pointer; the worker re-fetches everything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import Connection, ConnectionStatus, Provider
from conexapi.core.metrics import NOTIFICATIONS
from conexapi.db import insert_ignore, utcnow
from conexapi.inbox.models import Notification
from conexapi.integrations.models import Integration
from conexapi.sync import queue

ORDER_RESOURCE = re.compile(r"^/orders/(\d{1,20})$")
RESOURCE = re.compile(r"^/[A-Za-z0-9_\-./]{1,200}$")


class MeliNotification(BaseModel):
    """MercadoLibre's payload (§2.2): `_id` or `id` may be absent, `user_id` may be a string."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id_: str | None = Field(default=None, alias="_id", max_length=120)
    alt_id: str | None = Field(default=None, alias="id", max_length=120)
    resource: str = Field(max_length=255)
    user_id: int
    topic: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_\-]+$")
    application_id: int
    attempts: int | None = None
    sent: str | None = Field(default=None, max_length=40)

    @field_validator("resource")
    @classmethod
    def _resource_shape(cls, value: str) -> str:
        if not RESOURCE.match(value):
            raise ValueError("resource must be an API path like /orders/123")
        return value

    @property
    def event_id(self) -> str | None:
        return self.id_ or self.alt_id


@dataclass(frozen=True)
class IntakeResult:
    status: str  # accepted | duplicate | ignored
    reason: str | None = None


@dataclass(frozen=True)
class _Target:
    tenant_id: int
    integration_id: int


def _dedupe_key(n: MeliNotification) -> str:
    if n.event_id:
        return f"ml:{n.event_id}"
    raw = f"{n.topic}|{n.resource}|{n.user_id}|{n.sent or ''}"
    return "ml:h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


async def _target(session: AsyncSession, user_id: int) -> _Target | None:
    row = (
        await session.execute(
            select(Integration.tenant_id, Integration.id)
            .join(Connection, Connection.id == Integration.ml_connection_id)
            .where(
                Connection.provider == Provider.MERCADOLIBRE.value,
                Connection.external_account_id == str(user_id),
                Integration.active.is_(True),
            )
        )
    ).first()
    return _Target(tenant_id=row[0], integration_id=row[1]) if row else None


async def record_notification(
    session: AsyncSession,
    payload: MeliNotification,
    raw: dict[str, Any],
    *,
    application_id: str | None,
) -> IntakeResult:
    """Stores the notification once and makes its sale due. The caller commits before the 200."""
    if application_id is not None and str(payload.application_id) != application_id:
        NOTIFICATIONS.labels("ignored_foreign_application").inc()
        return IntakeResult("ignored", "foreign_application")
    target = await _target(session, payload.user_id)
    status, reason = "accepted", None
    if target is None:
        status, reason = "ignored", "unknown_account"
    is_new = await insert_ignore(
        session,
        Notification,
        {
            "source": "mercadolibre",
            "dedupe_key": _dedupe_key(payload),
            "topic": payload.topic,
            "resource": payload.resource,
            "account_id": str(payload.user_id),
            "tenant_id": target.tenant_id if target else None,
            "integration_id": target.integration_id if target else None,
            "status": status,
            "reason": reason,
            "body": raw,
            "received_at": utcnow(),
        },
    )
    if not is_new:
        NOTIFICATIONS.labels("duplicate").inc()
        return IntakeResult("duplicate")
    if target is None:
        NOTIFICATIONS.labels("ignored_unknown_account").inc()
        return IntakeResult("ignored", "unknown_account")
    match = ORDER_RESOURCE.match(payload.resource)
    if payload.topic in ("orders_v2", "orders") and match:
        await queue.make_order_due(
            session,
            tenant_id=target.tenant_id,
            integration_id=target.integration_id,
            order_id=match.group(1),
            source="notification",
        )
        NOTIFICATIONS.labels("accepted").inc()
        return IntakeResult("accepted")
    # Other topics (shipments, payments, claims) change the order too, and MercadoLibre sends an
    # orders_v2 notification for that change; the sweep is the backstop. Stored for audit.
    NOTIFICATIONS.labels("stored_other_topic").inc()
    return IntakeResult("accepted", "topic_not_acted_on")


async def connection_is_active(session: AsyncSession, connection_id: int) -> bool:
    conn = await session.get(Connection, connection_id)
    return conn is not None and conn.status == ConnectionStatus.ACTIVE.value
