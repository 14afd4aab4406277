"""Backfill: bring in every sale of a date range (paged, throttled, resumable).

The worker's upkeep (`sync.upkeep`) runs the jobs; `run_backfill` walks one. They are started
through the operations API (`operations.service.start_backfill`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select, update

from conexapi.connections.models import Connection, Provider
from conexapi.db import utcnow
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import meli_client
from conexapi.runtime import Runtime
from conexapi.sales.clock import COLOMBIA
from conexapi.sync.models import Job
from conexapi.sync.sweep_window import (
    PAGE,
    PageRetry,
    make_found_orders_due,
    ml_datetime,
    ml_moment,
)

# MercadoLibre keeps orders for 12 months (docs/vendors/mercadolibre.md §3.3).
MAX_HISTORY = timedelta(days=366)
# MercadoLibre pages poorly past a few thousand offsets (docs/vendors/mercadolibre.md §3.3):
# backfills walk day windows.
BACKFILL_WINDOW = timedelta(days=1)
JOB_LEASE = timedelta(minutes=5)


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


async def run_backfill(
    runtime: Runtime, job_id: int, *, max_pages: int | None = None, retry: PageRetry | None = None
) -> int:
    """Walks the job's date range window by window, page by page, from its saved cursor; a
    failed page is retried like the sweep's (`PageRetry`)."""
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
    retry = retry or PageRetry.from_settings(runtime.settings.worker)
    start = datetime.fromisoformat(params["date_from"]).replace(tzinfo=COLOMBIA)
    end = datetime.fromisoformat(params["date_to"]).replace(tzinfo=COLOMBIA) + timedelta(days=1)
    window = datetime.fromisoformat(cursor["window"]) if "window" in cursor else start
    offset = int(cursor.get("offset", 0))
    pages = 0
    processed = 0
    try:
        while window < end and (max_pages is None or pages < max_pages):
            window_end = min(window + BACKFILL_WINDOW, end)
            page = await retry.call(
                partial(
                    ml.search_orders,
                    seller_id,
                    # The next window's start as the bound, and only the orders created before
                    # it kept: MercadoLibre may cut date filters to the hour (§3.3), which would
                    # drop a day's last hour with 23:59:59.999 and make windows overlap with an
                    # inclusive hour.
                    created_from=ml_datetime(window),
                    created_to=ml_datetime(window_end),
                    offset=offset,
                    limit=PAGE,
                ),
                job_id=job_id,
                offset=offset,
            )
            results = page.get("results") or []
            await make_found_orders_due(
                runtime.sessions,
                tenant_id,
                integration_id,
                [o for o in results if created_in(o, window, window_end)],
                "backfill",
                skip_unchanged=True,
            )
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


def created_in(order: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether the order was created in [start, end) (an order without a readable
    `date_created` is kept: better found twice than never)."""
    created = ml_moment(order.get("date_created"))
    return created is None or start <= created < end


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
