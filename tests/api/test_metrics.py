"""`/metrics`: this process's counters plus the queue gauges an operator alerts on, counted in the
database (open sales by state, queue lag, per-integration backlog by id, connections needing
re-authorization, notifications not applied), behind `CONEXAPI_METRICS_TOKEN` when it is set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from conexapi.app import create_app
from conexapi.connections.models import Connection
from conexapi.db import transaction, utcnow
from conexapi.inbox.models import Notification
from conexapi.runtime import Runtime
from conexapi.sync.models import Sale
from tests.builders import create_integration, create_tenant
from tests.conftest import make_settings

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@asynccontextmanager
async def serving(
    db_url: str, **settings: object
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The API on `db_url` with these settings, and a client for it."""
    runtime = Runtime.build(make_settings(db_url, **settings))
    app = create_app(runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield runtime, client
    finally:
        await runtime.aclose()


@pytest.fixture
async def metrics_client(db_url: str) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with serving(db_url, metrics_queue_cache_seconds=0) as served:
        yield served


async def _seed(runtime: Runtime) -> int:
    """Two due sales (one due for 10 minutes), one dead, one invoiced; a connection that needs
    re-authorization; a notification not applied yet."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, name="Tienda Secreta S.A.S.")
        integration = await create_integration(session, tenant.id)

        def sale(ref: str, state: str, due_minutes_ago: float | None) -> Sale:
            due = None if due_minutes_ago is None else now - timedelta(minutes=due_minutes_ago)
            return Sale(
                tenant_id=tenant.id,
                integration_id=integration.id,
                external_id=ref,
                order_ids=[ref],
                state=state,
                next_attempt_at=due,
                buyer_name="",
            )

        session.add_all(
            [
                sale("1", "pending", 10),
                sale("2", "retrying", 1),
                sale("3", "dead", None),
                sale("4", "invoiced", None),
            ]
        )
        await session.execute(
            update(Connection)
            .where(Connection.provider == "mercadolibre")
            .values(status="needs_reauth")
        )
        session.add(
            Notification(
                source="mercadolibre",
                dedupe_key="k1",
                topic="orders_v2",
                resource="/orders/1",
                account_id="779432305",
                tenant_id=tenant.id,
                integration_id=integration.id,
                status="pending",
                body={},
                received_at=now - timedelta(seconds=90),
            )
        )
        return integration.id


async def test_queue_gauges_answer_the_operators_questions(
    metrics_client: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = metrics_client
    integration_id = await _seed(runtime)
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    assert got[("conexapi_queue_stats_up", ())] == 1
    sales = {labels[0][1]: v for (name, labels), v in got.items() if name == "conexapi_sales"}
    assert sales == {"pending": 1, "waiting": 0, "retrying": 1, "needs_attention": 0, "dead": 1}
    assert got[("conexapi_sales_due", ())] == 2
    assert got[("conexapi_queue_oldest_due_age_seconds", ())] >= 600
    assert got[("conexapi_integration_backlog", (("integration_id", str(integration_id)),))] == 2
    reauth = (("provider", "mercadolibre"), ("status", "needs_reauth"))
    assert got[("conexapi_connections", reauth)] == 1
    assert got[("conexapi_notifications_pending", ())] == 1
    assert got[("conexapi_notifications_oldest_pending_age_seconds", ())] >= 90
    # Labels never carry a tenant's name.
    assert "Tienda Secreta" not in r.text


async def test_the_queue_is_counted_at_most_once_per_cache_period(db_url: str) -> None:
    async with serving(db_url, metrics_queue_cache_seconds=3600) as (runtime, client):
        first = samples((await client.get("/metrics")).text)
        await _seed(runtime)
        cached = samples((await client.get("/metrics")).text)
    assert first[("conexapi_sales_due", ())] == 0
    assert cached[("conexapi_sales_due", ())] == 0  # the count of the first scrape, reused


async def test_metrics_need_the_token_when_one_is_set(db_url: str) -> None:
    async with serving(db_url, metrics_token="s3cr3t-scrape-token") as (_, client):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get(
            "/metrics", headers={"Authorization": "Bearer s3cr3t-scrape-token"}
        )
    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "conexapi_http_requests_total" in right.text


async def test_metrics_still_answer_when_the_database_does_not() -> None:
    # Nothing listens on port 1: every connection is refused at once.
    async with serving("mysql+aiomysql://root@127.0.0.1:1/conexapi") as (_, client):
        r = await client.get("/metrics")
    assert r.status_code == 200
    got = samples(r.text)
    assert got[("conexapi_queue_stats_up", ())] == 0
    assert not any(name == "conexapi_sales" for name, _ in got)
