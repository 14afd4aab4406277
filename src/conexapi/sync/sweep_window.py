"""How the sweep walks MercadoLibre's `orders/search` pages without losing its place.

- `PageRetry`: a failed page (5xx, timeout, 429) is asked again a few times after a short wait,
  the vendor's `Retry-After` when it gave one.
- `Window`: the span of `last_updated` one sweep covers and how far its pages have been read,
  kept in the integration's `sweep` job row (the same `Job` table backfills keep their cursor
  in), so a sweep that stops half-way resumes at that page, on the same window.
- `next_offset`: where the next page starts, stepping back when orders left the window meanwhile.
- `make_found_orders_due`: what the sweep and backfills do with the orders they find; with
  `unchanged_orders`, orders whose settled sale (invoiced, needs attention, retrying, waiting
  on a schedule) was already read at that version are left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.core.errors import TransientError
from conexapi.db import retry_on_lock_conflict
from conexapi.integrations.models import Integration
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.states import SaleState
from conexapi.sync import queue
from conexapi.sync.models import Job, Sale, SaleOrder

if TYPE_CHECKING:
    from conexapi.settings import WorkerSection

log = structlog.get_logger("conexapi.sweep")

T = TypeVar("T")

SWEEP_JOB = "sweep"
PAGE = 50  # the orders/search `limit` MercadoLibre documents (docs/vendors/mercadolibre.md §3.3)


def ml_datetime(moment: datetime) -> str:
    """MercadoLibre's date filter format: ISO-8601, milliseconds, Colombian offset."""
    local = moment.astimezone(COLOMBIA) if moment.tzinfo else moment.replace(tzinfo=COLOMBIA)
    return local.isoformat(timespec="milliseconds")


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class PageRetry:
    """Retries one page call on a transient failure, `retries` times at most.

    Waits `base_seconds`, then twice that, four times... (capped at `max_wait_seconds`), or the
    `Retry-After` the vendor sent. When the vendor asks for a longer wait than `max_wait_seconds`
    the call gives up at once: the sweep keeps its place and the next sweep resumes there,
    instead of holding the worker's upkeep loop. `sleep` is injectable for tests.
    """

    retries: int = 3
    base_seconds: float = 1.0
    max_wait_seconds: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=_sleep, compare=False)

    @classmethod
    def from_settings(cls, worker: WorkerSection) -> PageRetry:
        return cls(
            retries=worker.sweep_page_retries,
            base_seconds=worker.sweep_retry_base_seconds,
            max_wait_seconds=worker.sweep_retry_max_wait_seconds,
        )

    def wait_before(self, retry: int, exc: TransientError) -> float | None:
        """Seconds to wait before retry number `retry` (1-based); None to give up now."""
        if retry > self.retries:
            return None
        if exc.retry_after is not None:
            wait = float(exc.retry_after)
            return wait if wait <= self.max_wait_seconds else None
        return min(self.base_seconds * 2.0 ** (retry - 1), self.max_wait_seconds)

    async def call(self, fetch: Callable[[], Awaitable[T]], **context: Any) -> T:
        retry = 0
        while True:
            try:
                return await fetch()
            except TransientError as exc:
                retry += 1
                wait = self.wait_before(retry, exc)
                if wait is None:
                    raise
                log.info("sweep.page_retry", retry=retry, wait_s=wait, error=str(exc), **context)
                await self.sleep(wait)


def next_offset(offset: int, *, got: int, total: int, previous_total: int | None) -> int | None:
    """Where the page after the one read at `offset` starts; None when the window is done.

    MercadoLibre pages by item offset over a result set that changes while it is walked (the
    more so when a sweep resumes minutes later): an order of the window updated again after the
    window's end leaves it, and every order behind it moves one place up, so `offset + got` would
    step over one of them. The window ends when the sweep started, so no order can enter it any
    more and the set only shrinks: when `paging.total` fell by `d` since the previous page, at
    most `d` orders not yet read moved in front of `offset`. Step back `d` then (the orders read
    twice are harmless: making a sale due is idempotent). This assumes the results are sorted by
    something updates do not change (`date_asc` sorts a seller's orders by `date_closed`, set once;
    docs/vendors/mercadolibre.md §3.3) and that MercadoLibre's clock and search index are not
    behind by more than an instant (an order entering late could hide one leaving).
    """
    shrunk = previous_total - total if previous_total is not None else 0
    if shrunk > 0:
        following = max(0, offset - shrunk)
    elif got == 0:
        return None
    else:
        following = offset + got
    return following if following < total else None


@dataclass
class Window:
    """One sweep's span of `last_updated` (aware UTC) and how far its pages were read."""

    job_id: int
    since: datetime
    until: datetime
    offset: int = 0
    total: int | None = None  # `paging.total` of the last page read
    resumed: bool = False


async def open_window(
    session: AsyncSession, integration: Integration, *, since: datetime, until: datetime
) -> Window:
    """The window a sweep that stopped half-way left (to resume), else a new one [since, until].

    A new window always starts from the watermark, which only moves once a window is complete,
    so starting afresh (an unreadable saved window) can never leave a gap.
    """
    job = (
        await session.execute(
            select(Job)
            .where(Job.integration_id == integration.id, Job.kind == SWEEP_JOB)
            .order_by(Job.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if job is not None and job.state == "running":
        saved = _saved(job)
        if saved is not None:
            return saved
    if job is None:
        job = Job(tenant_id=integration.tenant_id, integration_id=integration.id, kind=SWEEP_JOB)
        session.add(job)
    job.state = "running"
    job.params = {"since": since.isoformat(), "until": until.isoformat()}
    job.cursor = {"offset": 0, "total": None}
    job.done = 0
    job.total = None
    job.error = None
    job.lease_until = None
    await session.flush()
    return Window(job.id, since, until)


def _saved(job: Job) -> Window | None:
    try:
        since = datetime.fromisoformat(str(job.params["since"]))
        until = datetime.fromisoformat(str(job.params["until"]))
        offset = int((job.cursor or {}).get("offset") or 0)
        raw_total = (job.cursor or {}).get("total")
        total = int(raw_total) if raw_total is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    if since.tzinfo is None or until.tzinfo is None or offset < 0:
        return None
    return Window(job.id, since, until, offset, total, resumed=True)


async def save_progress(
    sessions: async_sessionmaker[AsyncSession], window: Window, *, found: int
) -> None:
    """Commits the position reached (after every page): a later sweep resumes from here."""
    async with sessions() as session:
        await session.execute(
            update(Job)
            .where(Job.id == window.job_id)
            .values(
                cursor={"offset": window.offset, "total": window.total},
                total=window.total,
                done=Job.done + found,
                error=None,
            )
        )
        await session.commit()


async def interrupt_window(
    sessions: async_sessionmaker[AsyncSession], window: Window, exc: BaseException
) -> None:
    """Records why the sweep stopped; the window stays `running` with its saved position."""
    async with sessions() as session:
        await session.execute(
            update(Job)
            .where(Job.id == window.job_id)
            .values(error=f"{type(exc).__name__}: {exc}"[:2000])
        )
        await session.commit()


async def close_window(
    sessions: async_sessionmaker[AsyncSession], integration_id: int, window: Window
) -> None:
    """Every page of the window was read: the watermark moves to its end (never backwards)."""
    async with sessions() as session:
        await session.execute(
            update(Job).where(Job.id == window.job_id).values(state="done", cursor={}, error=None)
        )
        await session.execute(
            update(Integration)
            .where(
                Integration.id == integration_id,
                or_(
                    Integration.sweep_watermark.is_(None),
                    Integration.sweep_watermark < window.until,
                ),
            )
            .values(sweep_watermark=window.until)
        )
        await session.commit()


def ml_moment(value: Any) -> datetime | None:
    """A MercadoLibre timestamp as an aware datetime; None when absent, naive or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# Sales that settled or wait on a schedule: the sweep and backfills make them due only when their
# order changed since ConexAPI last read it, so a backoff, a scheduled re-check and a reason a
# person must act on are honoured. `waiting` sales only when their wait has its own schedule
# (other waits — not paid, not delivered — are re-read every sweep as before).
SETTLED_STATES = (
    SaleState.INVOICED.value,
    SaleState.NEEDS_ATTENTION.value,
    SaleState.RETRYING.value,
)
SCHEDULED_WAITS = ("billing_processing", "shipping_unknown", "mercadolibre_needs_permission")


async def unchanged_orders(
    session: AsyncSession, integration_id: int, orders: list[dict[str, Any]]
) -> set[str]:
    """Ids of the orders the sweep can leave alone: their sale is settled (`invoiced`,
    `needs_attention`, `retrying`, or `waiting` on a schedule) and has not changed since ConexAPI
    last read it:

    - an order from `orders/search` carries its `last_updated`: unchanged when the sale's facts
      were fetched from this version or a newer one (any change moves `last_updated` forward,
      so a newer change is never taken for this one);
    - a missed-feed entry carries when MercadoLibre `received` the change: unchanged when the
      sale's facts were read after it, so an entry (kept two days, read every sweep) is a
      change once.

    A settled sale holding those facts has finished processing them, or is still due (a
    re-check that fails or crashes keeps `next_attempt_at`), or follows its own timers (DIAN
    status, backoff, scheduled re-check). Orders without a readable time, or whose sale has no
    recorded version, are due.
    """
    versions: dict[str, tuple[str, datetime]] = {}
    for o in orders:
        if (moment := ml_moment(o.get("last_updated"))) is not None:
            versions[str(o["id"])] = ("version", moment)
        elif (moment := ml_moment(o.get("received"))) is not None:
            versions[str(o["id"])] = ("received", moment)
    if not versions:
        return set()
    rows = await session.execute(
        select(SaleOrder.order_id, Sale.state, Sale.error_code, Sale.facts)
        .join(Sale, Sale.id == SaleOrder.sale_id)
        .where(SaleOrder.integration_id == integration_id, SaleOrder.order_id.in_(list(versions)))
    )
    unchanged: set[str] = set()
    for order_id, state, code, facts in rows:
        settled = state in SETTLED_STATES or (
            state == SaleState.WAITING.value and code in SCHEDULED_WAITS
        )
        if not settled or not isinstance(facts, dict):
            continue
        kind, moment = versions[order_id]
        if kind == "version":
            processed = facts.get("order_versions")
            seen = ml_moment(processed.get(order_id)) if isinstance(processed, dict) else None
        else:
            seen = ml_moment(facts.get("read_at"))
        if seen is not None and moment <= seen:
            unchanged.add(order_id)
    return unchanged


async def make_found_orders_due(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: int,
    integration_id: int,
    orders: list[dict[str, Any]],
    source: str,
    *,
    skip_unchanged: bool = False,
) -> int:
    """Makes the orders' sales due (creating provisional ones); returns how many were.

    With `skip_unchanged`, orders `unchanged_orders` names are left alone.
    """
    if not orders:
        return 0

    async def once() -> int:
        async with sessions() as session:
            unchanged = (
                await unchanged_orders(session, integration_id, orders) if skip_unchanged else set()
            )
            due = {
                (integration_id, str(order["id"])): tenant_id
                for order in orders
                if str(order["id"]) not in unchanged
            }
            if due:
                sales = await queue.make_orders_due(session, due, source=source)
                await _prefetch(session, integration_id, orders, sales)
            await session.commit()
        return len(orders) - len(unchanged)

    # Workers write the same sales meanwhile: a page that loses a deadlock runs again instead
    # of interrupting the sweep (which would walk the same pages again later).
    return await retry_on_lock_conflict(once)


def _full_order(order: dict[str, Any]) -> bool:
    """An order as `orders/search` returns it (the whole order, as `GET /orders/{id}` would),
    not a reference (a missed-feed entry)."""
    return "status" in order and "order_items" in order and "last_updated" in order


async def _prefetch(
    session: AsyncSession,
    integration_id: int,
    orders: list[dict[str, Any]],
    sales: dict[tuple[int, str], int],
) -> None:
    """Keeps the full orders the search returned on their sales (`Sale.prefetched`), so the
    worker does not ask MercadoLibre for each again (one executemany)."""
    full = [o for o in orders if _full_order(o)]
    # The orders of one pack found on this page go to each of their sales: whichever is
    # processed first becomes the pack's sale and reads no order again.
    packs: dict[str, dict[str, Any]] = {}
    for order in full:
        if order.get("pack_id"):
            packs.setdefault(str(order["pack_id"]), {})[str(order["id"])] = order
    by_sale: dict[int, dict[str, Any]] = {}
    for order in full:
        sale_id = sales.get((integration_id, str(order["id"])))
        if sale_id is None:
            continue
        found = by_sale.setdefault(sale_id, {})
        found.update(packs.get(str(order.get("pack_id")), {}) or {str(order["id"]): order})
    if by_sale:
        # A plain executemany, not the ORM's update by primary key: a sale merged into its pack
        # meanwhile is gone, and its orders simply go unused (the ORM would fail the whole page).
        table: Any = Sale.__table__
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("sale_id"))
            .values(prefetched=bindparam("found")),
            [{"sale_id": sale_id, "found": found} for sale_id, found in by_sale.items()],
        )
