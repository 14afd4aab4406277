"""The queue as an operator sees it, counted in the database: the gauges of `/metrics`.

Counters in each process tell what happened; these tell where things stand, the same answer from
any process: open sales by state (dead ones included), how many are due and how long the oldest
has waited (the queue's lag), each integration's backlog (by id, never by tenant name),
connections by status (`needs_reauth` ones stop a seller), notifications not applied yet.
Counted at most once per `CONEXAPI_METRICS_QUEUE_CACHE_SECONDS` per process, whatever the scrape
rate. Terminal states (invoiced, credited, skipped) are left out: they only grow, and
`conexapi_sale_transitions_total` already counts them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.connections.models import Connection
from conexapi.db import naive_utc, utcnow
from conexapi.inbox.models import Notification, NotificationStatus
from conexapi.sales.states import SaleState
from conexapi.sync.models import Sale

OPEN_STATES = (
    SaleState.PENDING.value,
    SaleState.WAITING.value,
    SaleState.RETRYING.value,
    SaleState.NEEDS_ATTENTION.value,
    SaleState.DEAD.value,
)


@dataclass(frozen=True)
class QueueStats:
    open_sales: dict[str, int]  # state -> count, every open state present
    due: int
    oldest_due_age_seconds: float
    backlog: dict[int, int]  # integration id -> due sales (only integrations with some)
    connections: dict[tuple[str, str], int]  # (provider, status) -> count
    notifications_pending: int
    oldest_pending_notification_age_seconds: float


def _age(now: datetime, then: datetime | None) -> float:
    """Seconds from `then` to the naive-UTC `now` (0 when there is nothing)."""
    then = naive_utc(then)
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


async def queue_stats(session: AsyncSession) -> QueueStats:
    now = utcnow()
    by_state = dict.fromkeys(OPEN_STATES, 0)
    for state, count in await session.execute(
        select(Sale.state, func.count()).where(Sale.state.in_(OPEN_STATES)).group_by(Sale.state)
    ):
        by_state[state] = int(count)
    due_now = Sale.next_attempt_at <= now
    backlog = {
        int(integration_id): int(count)
        for integration_id, count in await session.execute(
            select(Sale.integration_id, func.count()).where(due_now).group_by(Sale.integration_id)
        )
    }
    oldest_due = (
        await session.execute(select(func.min(Sale.next_attempt_at)).where(due_now))
    ).scalar_one()
    connections = {
        (str(provider), str(status)): int(count)
        for provider, status, count in await session.execute(
            select(Connection.provider, Connection.status, func.count()).group_by(
                Connection.provider, Connection.status
            )
        )
    }
    pending_count, oldest_pending = (
        await session.execute(
            select(func.count(), func.min(Notification.received_at)).where(
                Notification.status == NotificationStatus.PENDING.value
            )
        )
    ).one()
    return QueueStats(
        open_sales=by_state,
        due=sum(backlog.values()),
        oldest_due_age_seconds=_age(now, oldest_due),
        backlog=backlog,
        connections=connections,
        notifications_pending=int(pending_count),
        oldest_pending_notification_age_seconds=_age(now, oldest_pending),
    )


def _families(s: QueueStats) -> Iterator[GaugeMetricFamily]:
    sales = GaugeMetricFamily("conexapi_sales", "Open sales by state", labels=["state"])
    for state, count in s.open_sales.items():
        sales.add_metric([state], count)
    yield sales
    yield GaugeMetricFamily("conexapi_sales_due", "Sales due for processing now", value=s.due)
    yield GaugeMetricFamily(
        "conexapi_queue_oldest_due_age_seconds",
        "How long the longest-waiting due sale has been due (queue lag)",
        value=s.oldest_due_age_seconds,
    )
    backlog = GaugeMetricFamily(
        "conexapi_integration_backlog",
        "Sales due now per integration (integrations with none are left out)",
        labels=["integration_id"],
    )
    for integration_id, count in sorted(s.backlog.items()):
        backlog.add_metric([str(integration_id)], count)
    yield backlog
    connections = GaugeMetricFamily(
        "conexapi_connections",
        "Vendor connections by provider and status (needs_reauth: the seller must reconnect)",
        labels=["provider", "status"],
    )
    for (provider, status), count in sorted(s.connections.items()):
        connections.add_metric([provider, status], count)
    yield connections
    yield GaugeMetricFamily(
        "conexapi_notifications_pending",
        "Order notifications stored but not applied by a worker yet",
        value=s.notifications_pending,
    )
    yield GaugeMetricFamily(
        "conexapi_notifications_oldest_pending_age_seconds",
        "How long the oldest notification not applied yet has waited",
        value=s.oldest_pending_notification_age_seconds,
    )


def render_stats(stats: QueueStats | None) -> bytes:
    """The gauges, and `conexapi_queue_stats_up` (0 when the database could not be counted)."""
    up = GaugeMetricFamily(
        "conexapi_queue_stats_up",
        "1 when the queue gauges were counted in the database, 0 when it did not answer",
        value=0 if stats is None else 1,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed([up, *(_families(stats) if stats is not None else ())]))
    return generate_latest(registry)


class _Fixed(Collector):
    """One scrape's families, built beforehand."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families)


class QueueStatsCache:
    """Counts at most once per `ttl` seconds; concurrent scrapes share one count."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._stats: QueueStats | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> QueueStats:
        async with self._lock:
            if self._stats is None or time.monotonic() - self._at >= self.ttl:
                async with self.sessions() as session:
                    self._stats = await queue_stats(session)
                self._at = time.monotonic()
            return self._stats
