"""What the pages' forms do besides rendering: a service call whose failure becomes the seller's
words, and saving product mappings then retrying every sale that waited for them."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.core.errors import AppError, IntegrationError
from conexapi.integrations import mappings as product_mappings
from conexapi.messages import error_text, text, vendor_text
from conexapi.runtime import Runtime
from conexapi.sync.unblock import resume_mapped_sales

T = TypeVar("T")


async def attempt(session: AsyncSession, action: Awaitable[T]) -> tuple[T | None, str | None]:
    """The action's result, or nothing (its changes rolled back) and why, in Spanish."""
    try:
        return await action, None
    except IntegrationError as exc:
        await session.rollback()
        return None, vendor_text(exc)
    except AppError as exc:
        await session.rollback()
        return None, error_text(exc)


@dataclass
class Mapped:
    saved: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # one sentence per SKU not mapped
    retried: int = 0
    error: str | None = None  # nothing was saved


async def map_and_retry(
    session: AsyncSession,
    runtime: Runtime,
    *,
    tenant_id: int,
    integration_id: int,
    pairs: Sequence[tuple[str, str]],
    all_or_nothing: bool = False,
) -> Mapped:
    """Saves the SKU → code mappings Siigo can take (each checked against it), then makes due
    every sale that waited for them. With `all_or_nothing`, one refused code saves nothing."""
    result, error = await attempt(
        session,
        product_mappings.put_mappings(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            integration_id=integration_id,
            pairs=pairs,
        ),
    )
    if result is None:
        return Mapped(error=error)
    refused = [
        text("products.refused", sku=r.sku, code=r.erp_code) + " " + text(r.code)
        for r in result.rejected
    ]
    if refused and all_or_nothing:
        await session.rollback()
        return Mapped(refused=refused, error=" ".join(refused))
    retried = await resume_mapped_sales(session, tenant_id=tenant_id, integration_id=integration_id)
    return Mapped(saved=result.saved, refused=refused, retried=retried)
