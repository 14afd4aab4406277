"""The periodic jobs a worker runs besides sales: sweeps, backfills, connections, tokens.

`run_upkeep` calls each job in turn every tick; a job that fails is logged with its name and
never stops the others (nor the worker). The engine's own jobs are `ENGINE_JOBS`; a worker
process adds the jobs of the packages above the engine (alerts: see `conexapi.worker_process`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import aliased

from conexapi.connections.health import (
    PERMISSION_CHECKED_AT,
    PERMISSION_PROBE,
    mark_permission_granted,
)
from conexapi.connections.models import Connection, ConnectionStatus, Provider
from conexapi.core.errors import PermissionMissingError
from conexapi.core.processes import gone_on_this_host
from conexapi.db import is_database_unavailable, naive_utc, utcnow
from conexapi.erps.siigo.auth import siigo_keeper
from conexapi.inbox.models import Notification, NotificationStatus
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import meli_client
from conexapi.marketplaces.mercadolibre.tokens import MeliTokenManager, meli_keeper
from conexapi.runtime import Runtime
from conexapi.sync.backfill import run_backfill_jobs
from conexapi.sync.models import Sale
from conexapi.sync.queue import release_leases_of_gone_workers
from conexapi.sync.sweep import sweep_due_integrations
from conexapi.sync.unblock import resume_all_mapped

log = structlog.get_logger("conexapi.upkeep")

UpkeepJob = Callable[[Runtime], Awaitable[object]]

# Error codes of sales that wait for a connection to work again (`sync.pipeline`): to be
# re-authorized, or for its MercadoLibre application to be granted a permission.
REAUTH_CODES = (
    "mercadolibre_needs_reauth",
    "siigo_needs_reauth",
    "mercadolibre_needs_permission",
)


async def run_upkeep(runtime: Runtime, stop: asyncio.Event, jobs: Sequence[UpkeepJob]) -> None:
    """Runs `jobs` every tick (at most the sweep interval, at least every 30 s) until `stop`."""
    tick = min(30.0, float(runtime.settings.worker.sweep_interval_seconds))
    while not stop.is_set():
        for job in jobs:
            try:
                await job(runtime)
            except Exception as exc:
                if is_database_unavailable(exc):
                    log.warning("upkeep.database_unavailable", job=job.__name__)
                    break  # the next tick tries again
                log.exception("upkeep.failed", job=job.__name__)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


async def resume_reauthorized(runtime: Runtime) -> int:
    """Sales that waited for a connection (re-authorization, a permission) become due once
    both connections are active."""
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
                # Not due (waiting for a re-authorization), or re-checked later on a schedule
                # (waiting for a permission): due now.
                or_(Sale.next_attempt_at.is_(None), Sale.next_attempt_at > utcnow()),
                Sale.integration_id.in_(ready),
            )
            .values(next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


async def recheck_missing_permissions(runtime: Runtime) -> int:
    """MercadoLibre connections whose application lacked a permission: asks MercadoLibre again
    (at most every `permission_check_seconds`), and marks the connection active once it answers.
    Granting a functional permission in DevCenter works for sellers already connected, without
    re-authorizing (docs/vendors/mercadolibre.md §1.1), so nobody has to tell ConexAPI. Returns how
    many connections work again; their sales resume with `resume_reauthorized`."""
    every = timedelta(seconds=runtime.settings.worker.permission_check_seconds)
    now = utcnow()
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Connection.id, Connection.meta).where(
                    Connection.provider == Provider.MERCADOLIBRE.value,
                    Connection.status == ConnectionStatus.NEEDS_PERMISSION.value,
                )
            )
        ).all()
    granted = 0
    for connection_id, meta in rows:
        meta = meta or {}
        checked = _parse_time(meta.get(PERMISSION_CHECKED_AT))
        if checked is not None and now - checked < every:
            continue
        probe = meta.get(PERMISSION_PROBE)
        try:
            if isinstance(probe, dict) and probe.get("order_id"):
                await meli_client(runtime, connection_id).check_billing_permission(probe)
        except PermissionMissingError:
            await _touch_permission_check(runtime, connection_id, now)
            continue
        except Exception as exc:
            log.warning(
                "upkeep.permission_check_failed",
                connection_id=connection_id,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            await _touch_permission_check(runtime, connection_id, now)
            continue
        async with runtime.sessions() as session:
            conn = await session.get(Connection, connection_id, with_for_update=True)
            if conn is not None:
                mark_permission_granted(conn)
                await session.commit()
        log.info("connection.permission_granted", connection_id=connection_id)
        granted += 1
    if granted:
        await resume_reauthorized(runtime)
    return granted


async def _touch_permission_check(runtime: Runtime, connection_id: int, now: datetime) -> None:
    async with runtime.sessions() as session:
        conn = await session.get(Connection, connection_id, with_for_update=True)
        if conn is not None:
            conn.meta = {**(conn.meta or {}), PERMISSION_CHECKED_AT: now.isoformat()}
            await session.commit()


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return naive_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


async def refresh_expiring_tokens(
    runtime: Runtime, *, within: timedelta = timedelta(minutes=30)
) -> int:
    """Refreshes MercadoLibre tokens before they expire (a connection unused for months dies).

    One connection's failure is logged with its id and does not hold the others back; a revoked
    grant has already marked its connection `needs_reauth` (`MeliTokenManager`)."""
    soon = utcnow() + within
    async with runtime.sessions() as session:
        ids = (
            (
                await session.execute(
                    select(Connection.id).where(
                        Connection.provider == Provider.MERCADOLIBRE.value,
                        # A connection waiting for a permission still needs live tokens.
                        Connection.status.in_(
                            (ConnectionStatus.ACTIVE.value, ConnectionStatus.NEEDS_PERMISSION.value)
                        ),
                        Connection.token_expires_at.is_not(None),
                        Connection.token_expires_at <= soon,
                    )
                )
            )
            .scalars()
            .all()
        )
    manager = MeliTokenManager(runtime)
    refreshed = 0
    for connection_id in ids:
        try:
            await manager.access_token(connection_id)
        except Exception as exc:
            log.warning(
                "upkeep.token_refresh_failed",
                connection_id=connection_id,
                error=str(exc),
                error_type=type(exc).__name__,
            )
        else:
            refreshed += 1
    return refreshed


async def release_gone_workers(runtime: Runtime) -> int:
    """The sales of a worker of this machine that was killed go back to the queue now, not when
    their leases expire (its supervisor has started a new one: this is usually that one)."""
    async with runtime.sessions() as session:
        released = await release_leases_of_gone_workers(session, gone_on_this_host)
        await session.commit()
    if released:
        log.warning("upkeep.released_gone_workers", sales=released)
    return released


async def recover_spooled_tokens(runtime: Runtime) -> int:
    """Stores the renewed tokens this machine's spool still holds (a process that stopped
    before the database took them, or a database that was away); see `connections.renewal`."""
    stored = 0
    for keeper in (meli_keeper(runtime), siigo_keeper(runtime)):
        stored += await keeper.recover_all()
    return stored


# Notifications deleted per statement: short transactions, never a long lock on the inbox.
PRUNE_BATCH = 500
# At most this many batches per tick: a large backlog is worked off over a few ticks.
PRUNE_MAX_BATCHES = 20


async def prune_notifications(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Deletes applied notifications (accepted or ignored; never pending ones) received more
    than `CONEXAPI_NOTIFICATION_RETENTION_DAYS` ago, in small batches, each its own short
    transaction. The default (3 days) is beyond MercadoLibre's 2-day missed-feeds window, so a
    notification is never pruned while MercadoLibre could still deliver it again. Returns how
    many were deleted."""
    keep = timedelta(days=runtime.settings.worker.notification_retention_days)
    before = (now or utcnow()) - keep
    deleted = 0
    for _ in range(PRUNE_MAX_BATCHES):
        async with runtime.sessions() as session:
            ids = (
                (
                    await session.execute(
                        select(Notification.id)
                        .where(
                            Notification.received_at < before,
                            Notification.status != NotificationStatus.PENDING.value,
                        )
                        .order_by(Notification.received_at)
                        .limit(PRUNE_BATCH)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                break
            await session.execute(delete(Notification).where(Notification.id.in_(list(ids))))
            await session.commit()
        deleted += len(ids)
        if len(ids) < PRUNE_BATCH:
            break
    if deleted:
        log.info("upkeep.notifications_pruned", deleted=deleted)
    return deleted


ENGINE_JOBS: tuple[UpkeepJob, ...] = (
    recover_spooled_tokens,
    release_gone_workers,
    recheck_missing_permissions,
    resume_reauthorized,
    resume_all_mapped,
    sweep_due_integrations,
    run_backfill_jobs,
    refresh_expiring_tokens,
    prune_notifications,
)
