"""No sale left behind: the periodic sweep, `missed_feeds`, backfills, and token upkeep.

Webhooks are an accelerator; this is the guarantee. Every order found here goes through the same
idempotent path as a notification (`queue.make_order_due`).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update

from conexapi.alerts.service import deliver_pending_alerts, scan_for_alerts
from conexapi.connections.models import Connection, ConnectionStatus, Provider
from conexapi.db import utcnow
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import meli_client
from conexapi.runtime import Runtime
from conexapi.sync import queue
from conexapi.sync.clock import COLOMBIA
from conexapi.sync.models import Job

log = structlog.get_logger("conexapi.sweep")

OVERLAP = timedelta(minutes=10)


def ml_datetime(moment: datetime) -> str:
    """MercadoLibre's date filter format: ISO-8601, milliseconds, Colombian offset."""
    local = moment.astimezone(COLOMBIA) if moment.tzinfo else moment.replace(tzinfo=COLOMBIA)
    return local.isoformat(timespec="milliseconds")


PAGE = 50
# MercadoLibre pages poorly past a few thousand offsets (§3.3): backfills walk day windows.
BACKFILL_WINDOW = timedelta(days=1)
JOB_LEASE = timedelta(minutes=5)


async def run_periodic_upkeep(runtime: Runtime, stop: asyncio.Event) -> None:
    tick = min(30.0, float(runtime.settings.worker.sweep_interval_seconds))
    while not stop.is_set():
        for task in (
            resume_reauthorized,
            sweep_due_integrations,
            run_backfill_jobs,
            refresh_expiring_tokens,
            scan_for_alerts,
            deliver_pending_alerts,
        ):
            try:
                await task(runtime)
            except Exception:
                log.exception("upkeep.failed", task=task.__name__)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


async def sweep_due_integrations(runtime: Runtime, *, force: bool = False) -> int:
    """Sweeps every integration whose last sweep is older than the interval. Returns orders seen."""
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
        seen += await sweep_integration(
            runtime, integration_id, claim_before=None if force else now - interval
        )
    return seen


async def sweep_integration(
    runtime: Runtime, integration_id: int, *, claim_before: datetime | None = None
) -> int:
    """One sweep of one seller: orders updated since the watermark (with overlap) + missed feeds.

    Claimed with a conditional UPDATE of `last_sweep_at`, so two workers never sweep the same
    seller at once.
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
        since = (integration.sweep_watermark or integration.created_at) - OVERLAP
        seller_id, tenant_id, ml_conn_id = conn.external_account_id, integration.tenant_id, conn.id
    ml = meli_client(runtime, ml_conn_id)
    seen = 0
    offset = 0
    while True:
        page = await ml.search_orders(
            seller_id,
            last_updated_from=ml_datetime(since),
            last_updated_to=ml_datetime(started + timedelta(minutes=1)),
            offset=offset,
            limit=PAGE,
        )
        seen += await _make_due(
            runtime, tenant_id, integration_id, page.get("results") or [], "sweep"
        )
        total = int((page.get("paging") or {}).get("total") or 0)
        offset += PAGE
        if offset >= total or not page.get("results"):
            break
    seen += await _missed_feeds(runtime, ml, tenant_id, integration_id, seller_id)
    async with runtime.sessions() as session:
        await session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(sweep_watermark=started)
        )
        await session.commit()
    log.info("sweep.done", integration_id=integration_id, orders=seen)
    return seen


async def _missed_feeds(
    runtime: Runtime, ml: Any, tenant_id: int, integration_id: int, seller_id: str
) -> int:
    app_id = runtime.settings.mercadolibre.application_id or runtime.settings.mercadolibre.client_id
    if not app_id:
        return 0
    seen, offset = 0, 0
    while offset < 1000:
        feed = await ml.get_missed_feeds(app_id, topic="orders_v2", offset=offset, limit=50)
        messages = feed.get("messages") or []
        orders = [
            {"id": str(m["resource"]).rsplit("/", 1)[-1]}
            for m in messages
            if str(m.get("user_id")) == seller_id
            and str(m.get("resource", "")).startswith("/orders/")
        ]
        seen += await _make_due(runtime, tenant_id, integration_id, orders, "sweep")
        if len(messages) < 50:
            break
        offset += 50
    return seen


async def _make_due(
    runtime: Runtime, tenant_id: int, integration_id: int, orders: list[dict[str, Any]], source: str
) -> int:
    if not orders:
        return 0
    async with runtime.sessions() as session:
        for order in orders:
            await queue.make_order_due(
                session,
                tenant_id=tenant_id,
                integration_id=integration_id,
                order_id=str(order["id"]),
                source=source,
            )
        await session.commit()
    return len(orders)


# -- backfill ---------------------------------------------------------------------------------


async def run_backfill_jobs(runtime: Runtime) -> int:
    """Advances every backfill job that nobody holds (resumable: the cursor is committed)."""
    now = utcnow()
    async with runtime.sessions() as session:
        ids = (
            (
                await session.execute(
                    select(Job.id).where(
                        Job.kind == "backfill",
                        Job.state.in_(("pending", "running")),
                        or_(Job.lease_until.is_(None), Job.lease_until < now),
                    )
                )
            )
            .scalars()
            .all()
        )
    done = 0
    for job_id in ids:
        done += await run_backfill(runtime, job_id)
    return done


async def run_backfill(runtime: Runtime, job_id: int, *, max_pages: int | None = None) -> int:
    """Walks the job's date range window by window, page by page, from its saved cursor."""
    now = utcnow()
    async with runtime.sessions() as session:
        claimed = await session.execute(
            update(Job)
            .where(Job.id == job_id, or_(Job.lease_until.is_(None), Job.lease_until < now))
            .values(lease_until=now + JOB_LEASE, state="running")
        )
        await session.commit()
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return 0
        job = await session.get(Job, job_id)
        assert job is not None
        integration = await session.get(Integration, job.integration_id)
        assert integration is not None
        conn = await session.get(Connection, integration.ml_connection_id)
        assert conn is not None
        assert conn.provider == Provider.MERCADOLIBRE.value
        params, cursor = dict(job.params), dict(job.cursor)
        tenant_id, integration_id, seller_id = (
            job.tenant_id,
            integration.id,
            conn.external_account_id,
        )
        ml_conn_id = conn.id
    ml = meli_client(runtime, ml_conn_id)
    start = datetime.fromisoformat(params["date_from"]).replace(tzinfo=COLOMBIA)
    end = datetime.fromisoformat(params["date_to"]).replace(tzinfo=COLOMBIA) + timedelta(days=1)
    window = datetime.fromisoformat(cursor["window"]) if "window" in cursor else start
    offset = int(cursor.get("offset", 0))
    pages = 0
    processed = 0
    try:
        while window < end and (max_pages is None or pages < max_pages):
            window_end = min(window + BACKFILL_WINDOW, end)
            page = await ml.search_orders(
                seller_id,
                created_from=ml_datetime(window),
                created_to=ml_datetime(window_end - timedelta(milliseconds=1)),
                offset=offset,
                limit=PAGE,
            )
            results = page.get("results") or []
            await _make_due(runtime, tenant_id, integration_id, results, "backfill")
            processed += len(results)
            pages += 1
            total = int((page.get("paging") or {}).get("total") or 0)
            offset += PAGE
            if offset >= total or not results:
                window, offset = window_end, 0
            await _save_progress(runtime, job_id, window, offset, len(results), window >= end)
    except Exception as exc:
        async with runtime.sessions() as session:
            job = await session.get(Job, job_id)
            if job is not None:
                job.error = f"{type(exc).__name__}: {exc}"
                job.lease_until = None
                await session.commit()
        raise
    return processed


async def _save_progress(
    runtime: Runtime, job_id: int, window: datetime, offset: int, found: int, finished: bool
) -> None:
    async with runtime.sessions() as session:
        job = await session.get(Job, job_id)
        if job is None:
            return
        job.cursor = {"window": window.isoformat(), "offset": offset}
        job.done = (job.done or 0) + found
        job.error = None
        if finished:
            job.state = "done"
            job.lease_until = None
        else:
            job.lease_until = utcnow() + JOB_LEASE
        await session.commit()


# -- connections --------------------------------------------------------------------------------

REAUTH_CODES = ("mercadolibre_needs_reauth", "siigo_needs_reauth")


async def resume_reauthorized(runtime: Runtime) -> int:
    """Sales that waited for a re-authorization become due once both connections are active."""
    from sqlalchemy.orm import aliased

    from conexapi.sync.models import Sale

    ml, siigo = aliased(Connection), aliased(Connection)
    async with runtime.sessions() as session:
        ready = (
            select(Integration.id)
            .join(ml, ml.id == Integration.ml_connection_id)
            .join(siigo, siigo.id == Integration.siigo_connection_id)
            .where(
                ml.status == ConnectionStatus.ACTIVE.value,
                siigo.status == ConnectionStatus.ACTIVE.value,
            )
        )
        result = await session.execute(
            update(Sale)
            .where(
                Sale.error_code.in_(REAUTH_CODES),
                Sale.next_attempt_at.is_(None),
                Sale.integration_id.in_(ready),
            )
            .values(next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


# -- tokens -----------------------------------------------------------------------------------


async def refresh_expiring_tokens(
    runtime: Runtime, *, within: timedelta = timedelta(minutes=30)
) -> int:
    """Refreshes MercadoLibre tokens before they expire (a connection unused for months dies)."""
    from conexapi.marketplaces.mercadolibre.tokens import MeliTokenManager

    soon = utcnow() + within
    async with runtime.sessions() as session:
        ids = (
            (
                await session.execute(
                    select(Connection.id).where(
                        Connection.provider == Provider.MERCADOLIBRE.value,
                        Connection.status == ConnectionStatus.ACTIVE.value,
                        Connection.token_expires_at.is_not(None),
                        Connection.token_expires_at <= soon,
                    )
                )
            )
            .scalars()
            .all()
        )
    manager = MeliTokenManager(runtime)
    for connection_id in ids:
        with suppress(Exception):
            await manager.access_token(connection_id)
    return len(ids)
