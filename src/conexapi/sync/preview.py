"""Vista previa: an integration that builds every invoice and sends none.

While `Integration.preview` is on, a sale that would be invoiced gets its invoice built exactly as
it would go to Siigo (customer, lines, taxes, totals, payment: `Invoicer.preview`), kept on the
sale (`Sale.preview`), and waits in `waiting` with the reason `preview`. Siigo is only read
(catalogs, products, taxes): no customer, invoice or credit note is created, and nothing is
uploaded to MercadoLibre. A previewed sale never produces a document by itself.

Going live (`go_live`) is one switch that asks from which date the previewed sales are invoiced:
those from that date are due at once (and invoiced like any new sale); the earlier ones are
`skipped` with the reason `before_go_live` (the seller invoiced them some other way).
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.core.errors import Conflict, NotFound
from conexapi.db import utcnow
from conexapi.integrations.models import Integration
from conexapi.messages import text
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.states import SaleState
from conexapi.sales.step import EventKind
from conexapi.sync import queue
from conexapi.sync.invoicing import PREVIEW
from conexapi.sync.models import Document, Sale

__all__ = [
    "BEFORE_GO_LIVE",
    "PREVIEW",
    "go_live",
    "previewed_count",
    "set_preview",
    "still_previewing",
]

BEFORE_GO_LIVE = "before_go_live"
# The previewed sales a go-live decides about: built and waiting, or stopped before (a setting
# missing, an unknown SKU...; those are retried from the date too).
_PREVIEWED_STATES = (
    SaleState.WAITING.value,
    SaleState.NEEDS_ATTENTION.value,
    SaleState.RETRYING.value,
    SaleState.DEAD.value,
    SaleState.PENDING.value,
)


async def still_previewing(session: AsyncSession, integration_id: int) -> bool:
    return bool(
        (
            await session.execute(
                select(Integration.preview).where(Integration.id == integration_id)
            )
        ).scalar_one_or_none()
    )


async def previewed_count(session: AsyncSession, integration_id: int) -> int:
    """Sales of the integration built in Vista previa and waiting for the go-live."""
    return int(
        (
            await session.execute(
                select(func.count(Sale.id)).where(
                    Sale.integration_id == integration_id,
                    Sale.state == SaleState.WAITING.value,
                    Sale.error_code == PREVIEW,
                )
            )
        ).scalar_one()
    )


async def _integration(session: AsyncSession, tenant_id: int, integration_id: int) -> Integration:
    integration = (
        await session.execute(
            select(Integration)
            .where(Integration.id == integration_id, Integration.tenant_id == tenant_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if integration is None:
        raise NotFound("Integration not found.", code="integration_not_found")
    return integration


async def set_preview(session: AsyncSession, *, tenant_id: int, integration_id: int) -> Integration:
    """Puts the integration in Vista previa: from now on, no invoice is sent. Only before its
    first document: an integration that invoiced already has invoices to follow (DIAN status,
    credit notes for refunds), which a preview would leave without their credit notes."""
    integration = await _integration(session, tenant_id, integration_id)
    if integration.preview:
        return integration
    issued = (
        await session.execute(
            select(Document.id)
            .join(Sale, Sale.id == Document.sale_id)
            .where(Sale.integration_id == integration_id)
            .limit(1)
        )
    ).first()
    if issued is not None:
        raise Conflict(
            "The integration has documents already: preview is for a new integration.",
            code="preview_after_documents",
        )
    integration.preview = True
    await session.flush()
    return integration


async def go_live(
    session: AsyncSession,
    *,
    tenant_id: int,
    integration_id: int,
    invoice_from: date,
    user: str,
) -> dict[str, int]:
    """Leaves Vista previa. Previewed sales dated `invoice_from` (Colombia) or later are due now;
    earlier ones are skipped (`before_go_live`). Returns both counts."""
    integration = await _integration(session, tenant_id, integration_id)
    integration.preview = False
    start = datetime.combine(invoice_from, time(0), tzinfo=COLOMBIA)
    previewed = select(Sale.id, Sale.sale_date, Sale.created_at).where(
        Sale.integration_id == integration_id,
        Sale.state.in_(_PREVIEWED_STATES),
        Sale.preview.is_not(None) | (Sale.error_code == PREVIEW),
    )
    due: list[int] = []
    skipped: list[int] = []
    for sale_id, sale_date, created_at in (await session.execute(previewed)).all():
        when = sale_date or created_at
        (due if when >= start else skipped).append(sale_id)
    now = utcnow()
    if due:
        await session.execute(
            update(Sale)
            .where(Sale.id.in_(due))
            .values(next_attempt_at=now, attempts=0)
            .execution_options(synchronize_session=False)
        )
    if skipped:
        await session.execute(
            update(Sale)
            .where(Sale.id.in_(skipped))
            .values(
                state=SaleState.SKIPPED.value,
                error_code=None,
                error_message=None,
                next_attempt_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    day = invoice_from.strftime("%d/%m/%Y")
    for sale_id in due:
        queue.add_event(
            session,
            sale_id=sale_id,
            tenant_id=tenant_id,
            kind=EventKind.RETRY_REQUESTED,
            message=text("preview.live_invoice", user=user, day=day),
        )
    for sale_id in skipped:
        queue.add_event(
            session,
            sale_id=sale_id,
            tenant_id=tenant_id,
            kind=EventKind.SKIPPED,
            message=text("preview.live_skipped", user=user, day=day),
            data={"reason": BEFORE_GO_LIVE},
        )
    await session.flush()
    return {"invoiced": len(due), "skipped": len(skipped)}
