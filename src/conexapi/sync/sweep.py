"""No sale left behind: the periodic sweep of `/orders/search` and `missed_feeds`.

Webhooks are an accelerator; this is the guarantee. Every order found here goes through the same
idempotent path as a notification (`queue.make_order_due`). How a sweep pages, retries and
resumes is in `sync.sweep_window`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from sqlalchemy import or_, select, update

from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.core.errors import IntegrationError
from conexapi.db import utcnow
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient, meli_client
from conexapi.runtime import Runtime
from conexapi.sync.sweep_window import (
    PAGE,
    PageRetry,
    Window,
    close_window,
    interrupt_window,
    make_found_orders_due,
    ml_datetime,
    next_offset,
    open_window,
    save_progress,
)

log = structlog.get_logger("conexapi.sweep")

OVERLAP = timedelta(minutes=10)


async def sweep_due_integrations(runtime: Runtime, *, force: bool = False) -> int:
    """Sweeps every integration whose last sweep is older than the interval. Returns orders seen.

    One seller's failed sweep (logged, resumed next time) does not hold the others back.
    """
    interval = timedelta(seconds=runtime.settings.worker.sweep_interval_seconds)
    now = utcnow()
    async with runtime.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(Integration.id)
                    .join(Connection, Connection.id == Integration.ml_connection_id)
                    .where(
                        Integration.active.is_(True),
                        Connection.status == ConnectionStatus.ACTIVE.value,
                        or_(
                            Integration.last_sweep_at.is_(None),
                            Integration.last_sweep_at
                            <= now - (timedelta(0) if force else interval),
                        ),
                    )
                )
            )
            .scalars()
            .all()
        )
    seen = 0
    for integration_id in rows:
        try:
            seen += await sweep_integration(
                runtime, integration_id, claim_before=None if force else now - interval
            )
        except IntegrationError:
            continue  # logged as sweep.interrupted; the next sweep resumes at the failed page
        except Exception:
            log.exception("sweep.failed", integration_id=integration_id)
    return seen


async def sweep_integration(
    runtime: Runtime,
    integration_id: int,
    *,
    claim_before: datetime | None = None,
    retry: PageRetry | None = None,
) -> int:
    """One sweep of one seller: the orders updated in its window, then missed feeds.

    Claimed with a conditional UPDATE of `last_sweep_at`, so two workers never sweep the same
    seller at once. The window is [watermark - overlap, now]; a failed page is retried
    (`PageRetry`), and the position is committed after every page, so a sweep that still fails
    raises and the next one resumes at that page, on the same window. The watermark moves to the
    window's end only once all its pages were read. Returns the orders found.
    """
    started = utcnow()
    async with runtime.sessions() as session:
        claim = update(Integration).where(Integration.id == integration_id)
        if claim_before is not None:
            claim = claim.where(
                or_(Integration.last_sweep_at.is_(None), Integration.last_sweep_at <= claim_before)
            )
        result = await session.execute(claim.values(last_sweep_at=started))
        await session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            return 0
        integration = await session.get(Integration, integration_id)
        assert integration is not None
        conn = await session.get(Connection, integration.ml_connection_id)
        assert conn is not None
        window = await open_window(
            session,
            integration,
            since=(integration.sweep_watermark or integration.created_at) - OVERLAP,
            # MercadoLibre's filter has milliseconds: the window ends at the one we started in.
            until=started.replace(tzinfo=UTC, microsecond=started.microsecond // 1000 * 1000),
        )
        await session.commit()
        seller_id, tenant_id, ml_conn_id = conn.external_account_id, integration.tenant_id, conn.id
    retry = retry or PageRetry.from_settings(runtime.settings.worker)
    ml = meli_client(runtime, ml_conn_id)
    if window.resumed:
        log.info("sweep.resumed", integration_id=integration_id, offset=window.offset)
    try:
        seen = await _walk(runtime, ml, retry, window, tenant_id, integration_id, seller_id)
        seen += await _walk_cancelled(
            runtime, ml, retry, window, tenant_id, integration_id, seller_id
        )
    except Exception as exc:
        await interrupt_window(runtime.sessions, window, exc)
        log.warning(
            "sweep.interrupted", integration_id=integration_id, offset=window.offset, error=str(exc)
        )
        raise
    await close_window(runtime.sessions, integration_id, window)
    seen += await _missed_feeds(runtime, ml, retry, tenant_id, integration_id, seller_id)
    log.info("sweep.done", integration_id=integration_id, orders=seen)
    return seen


async def _walk(
    runtime: Runtime,
    ml: MercadoLibreClient,
    retry: PageRetry,
    window: Window,
    tenant_id: int,
    integration_id: int,
    seller_id: str,
) -> int:
    """Reads the window's pages from its saved position, saving it after each page."""
    seen = due = 0
    offset: int | None = window.offset
    while offset is not None:
        page = await retry.call(
            partial(
                ml.search_orders,
                seller_id,
                last_updated_from=ml_datetime(window.since),
                last_updated_to=ml_datetime(window.until),
                offset=offset,
                limit=PAGE,
            ),
            integration_id=integration_id,
            offset=offset,
        )
        results = page.get("results") or []
        total = int((page.get("paging") or {}).get("total") or 0)
        seen += len(results)
        due += await make_found_orders_due(
            runtime.sessions, tenant_id, integration_id, results, "sweep", skip_unchanged=True
        )
        following = next_offset(offset, got=len(results), total=total, previous_total=window.total)
        window.offset, window.total = (offset if following is None else following), total
        await save_progress(runtime.sessions, window, found=len(results))
        offset = following
    log.info("sweep.window_done", integration_id=integration_id, orders=seen, made_due=due)
    return seen


async def _walk_cancelled(
    runtime: Runtime,
    ml: MercadoLibreClient,
    retry: PageRetry,
    window: Window,
    tenant_id: int,
    integration_id: int,
    seller_id: str,
) -> int:
    """The window's cancelled orders, asked for by status: a seller's search may leave them out
    otherwise (docs/vendors/mercadolibre.md §3.3), and a cancellation of an invoiced sale needs
    its credit note. Read from the first page each time the window is walked (the main walk
    keeps the saved position); orders already read at that version are left alone, so a
    cancellation costs one read of its sale."""
    seen = 0
    offset: int | None = 0
    while offset is not None:
        page = await retry.call(
            partial(
                ml.search_orders,
                seller_id,
                last_updated_from=ml_datetime(window.since),
                last_updated_to=ml_datetime(window.until),
                statuses=["cancelled"],
                offset=offset,
                limit=PAGE,
            ),
            integration_id=integration_id,
            cancelled_offset=offset,
        )
        results = page.get("results") or []
        total = int((page.get("paging") or {}).get("total") or 0)
        seen += len(results)
        await make_found_orders_due(
            runtime.sessions, tenant_id, integration_id, results, "sweep", skip_unchanged=True
        )
        offset = offset + PAGE if results and offset + PAGE < total else None
    return seen


async def _missed_feeds(
    runtime: Runtime,
    ml: MercadoLibreClient,
    retry: PageRetry,
    tenant_id: int,
    integration_id: int,
    seller_id: str,
) -> int:
    """Orders of the notifications MercadoLibre could not deliver (kept 2 days, reading does not
    consume them). Best effort: every change they report has a `last_updated` that some sweep
    window covers, so a failure here is logged and does not hold the sweep back."""
    app_id = runtime.settings.mercadolibre.application_id or runtime.settings.mercadolibre.client_id
    if not app_id:
        return 0
    seen, offset = 0, 0
    try:
        while offset < 1000:
            feed = await retry.call(
                partial(ml.get_missed_feeds, app_id, topic="orders_v2", offset=offset, limit=50),
                integration_id=integration_id,
                missed_feeds_offset=offset,
            )
            messages = feed.get("messages") or []
            # When MercadoLibre received the change: an entry is a change once (a sale read
            # after it is left alone; `sweep_window.unchanged_orders`).
            orders = [
                {"id": str(m["resource"]).rsplit("/", 1)[-1], "received": m.get("received")}
                for m in messages
                if str(m.get("user_id")) == seller_id
                and str(m.get("resource", "")).startswith("/orders/")
            ]
            seen += await make_found_orders_due(
                runtime.sessions, tenant_id, integration_id, orders, "sweep", skip_unchanged=True
            )
            if len(messages) < 50:
                break
            offset += 50
    except IntegrationError as exc:
        log.warning("sweep.missed_feeds_failed", integration_id=integration_id, error=str(exc))
    return seen
