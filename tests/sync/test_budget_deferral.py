"""No slot waits on one company: a sale whose Siigo company's budget has no token within a second
is deferred to the moment it has one (no attempt counted, reason recorded, no vendor call made),
and its integration's other sales are not claimed meanwhile. Vendor calls that fail with a 5xx
are retried at once, a couple of times, before the attempt counts as failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from conexapi.db import naive_utc, utcnow
from conexapi.erps.siigo.client import siigo_client
from conexapi.erps.siigo.rate_limit import build_limiter
from conexapi.integrations.models import Integration
from conexapi.sales.states import SaleState
from conexapi.sync.models import Sale, SaleEvent
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    settings = stack_settings(db_url, vendor_call_retry_base_seconds=0)
    async with running_stack(settings) as s:
        # The catalogs load without a budget (at 60 a minute they waited ~10 s of real time);
        # from here on every Siigo company has 60 requests a minute, as
        # `CONEXAPI_SIIGO_REQUESTS_PER_MINUTE=60` gives it to a runtime.
        await s.connect()
        s.runtime.siigo_limiter = build_limiter(s.runtime, requests_per_minute=60)
        yield s


async def _integration(stack: Stack) -> Integration:
    async with stack.runtime.sessions() as session:
        integration = await session.get(Integration, stack.integration_id)
        assert integration is not None
        return integration


async def test_a_sale_its_company_cannot_serve_now_is_deferred_not_waited_for(
    stack: Stack,
) -> None:
    integration = await _integration(stack)
    client = siigo_client(stack.runtime, integration.siigo_connection_id)
    # Another application of the merchant (or a burst of ours) spent the company's minute.
    assert client.limiter is not None
    await client.limiter.notice_429(client.bucket, 30.0)
    orders_before = stack.sandbox.ml.calls["GET /orders/{order_id}"]
    await stack.generate(2, kinds=["single"])
    await stack.worker().run_once()
    async with stack.runtime.sessions() as session:
        sales = (await session.execute(select(Sale))).scalars().all()
        events = (await session.execute(select(SaleEvent.kind, SaleEvent.message))).all()
        paused = await session.get(Integration, stack.integration_id)
    deferred = [s for s in sales if s.deferred_reason == "siigo_budget_wait"]
    assert deferred, [(s.state, s.error_code, s.deferred_reason) for s in sales]
    for sale in deferred:
        assert sale.state == SaleState.PENDING.value
        assert sale.attempts == 0
        assert sale.error_code is None
        assert sale.lease_owner is None
        assert sale.deferred_until is not None
        wait = naive_utc(sale.deferred_until) - utcnow()  # type: ignore[operator]
        assert timedelta(seconds=25) < wait <= timedelta(seconds=32)
        assert sale.next_attempt_at == sale.deferred_until
    # Deferred before any MercadoLibre call.
    assert stack.sandbox.ml.calls["GET /orders/{order_id}"] == orders_before
    messages = [m for kind, m in events if kind == "deferred"]
    assert messages
    assert all("límite de peticiones de Siigo" in m for m in messages)
    # The integration's other sales are not claimed before the token is there.
    assert paused is not None
    assert paused.claims_paused_reason == "siigo_budget_wait"
    assert paused.claims_paused_until is not None
    assert naive_utc(paused.claims_paused_until) > utcnow() + timedelta(seconds=25)  # type: ignore[operator]


async def test_mercadolibre_5xx_is_retried_within_the_attempt(stack: Stack) -> None:
    await stack.generate(3, kinds=["single"])
    r = await stack.control.put("/_sandbox/faults", json={"mercadolibre": {"error_rate": 0.3}})
    assert r.status_code == 200
    await stack.settle(rounds=40)
    async with stack.runtime.sessions() as session:
        sales = (await session.execute(select(Sale))).scalars().all()
    assert sales
    # Injected 500s were absorbed by the quick retries: no attempt failed for them.
    assert stack.sandbox.faults.injected.get("mercadolibre.error", 0) > 0
    assert all(s.state == SaleState.INVOICED.value for s in sales), [
        (s.state, s.error_code) for s in sales
    ]
    assert all(s.attempts == 0 for s in sales)
