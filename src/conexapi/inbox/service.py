"""MercadoLibre notifications: their shape, their dedupe key, the seller they belong to.

Storing them is `inbox.batcher`'s job. Intake never calls an external API: MercadoLibre wants a
200 within 500 ms, and the notification is only a pointer; the worker re-fetches everything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conexapi.connections.models import Connection, Provider
from conexapi.integrations.models import Integration

ORDER_RESOURCE = re.compile(r"^/orders/(\d{1,20})$")
RESOURCE = re.compile(r"^/[A-Za-z0-9_\-./]{1,200}$")


class MeliNotification(BaseModel):
    """MercadoLibre's payload (docs/vendors/mercadolibre.md §2.2): `_id` or `id` may be absent,
    `user_id` may be a string."""

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


# What is kept of a notification's body: the fields MercadoLibre documents and ConexAPI reads
# (docs/vendors/mercadolibre.md §2.2). Anything else a sender adds is dropped, so a notification
# can never store more than a few hundred bytes.
STORED_FIELDS = (
    "_id",
    "id",
    "resource",
    "user_id",
    "topic",
    "application_id",
    "attempts",
    "sent",
    "received",
)
_STORED_VALUE_CHARS = 255


def stored_body(raw: dict[str, Any]) -> dict[str, Any]:
    """The part of a notification's body worth keeping: known fields with scalar values."""
    kept: dict[str, Any] = {}
    for name in STORED_FIELDS:
        value = raw.get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            kept[name] = value
        elif isinstance(value, str):
            kept[name] = value[:_STORED_VALUE_CHARS]
    return kept


def dedupe_key(n: MeliNotification) -> str:
    if n.event_id:
        return f"ml:{n.event_id}"
    raw = f"{n.topic}|{n.resource}|{n.user_id}|{n.sent or ''}"
    return "ml:h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


async def find_targets(
    session: AsyncSession | AsyncConnection, user_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """The (tenant, integration) of each connected MercadoLibre seller among `user_ids`."""
    rows = await session.execute(
        select(Connection.external_account_id, Integration.tenant_id, Integration.id)
        .join(Connection, Connection.id == Integration.ml_connection_id)
        .where(
            Connection.provider == Provider.MERCADOLIBRE.value,
            Connection.external_account_id.in_(user_ids),
            Integration.active.is_(True),
        )
    )
    return {str(uid): (int(tenant), int(integration)) for uid, tenant, integration in rows.all()}
