"""The dashboard shows the schedule (issue 14, build 8) and the breaker's pause with its resume
button (build 9)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from conexapi.sync.policy import RetryPolicy
from tests.stack import Stack, running_stack, stack_settings
from tests.web.conftest import csrf_of, web_login


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    settings = stack_settings(
        db_url, breaker_min_requests=2, breaker_refused_share=0.4, worker_concurrency=1
    )
    async with running_stack(settings) as s:
        await s.connect()
        yield s


async def test_a_deferred_sale_says_why_and_until_when(stack: Stack) -> None:
    await stack.generate(1, mix={"single": 1})
    await stack.control.put("/_sandbox/faults", json={"siigo": {"rate_limit_rate": 1.0}})
    worker = stack.worker(
        policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.2, rate_limit_default_seconds=240)
    )
    assert await worker.run_once() == 1
    [sale] = await stack.sales()
    await web_login(stack.api, stack.owner.email)
    listing = await stack.api.get("/app/sales")
    assert listing.status_code == 200
    assert "esperando el límite de Siigo, ~" in listing.text
    page = await stack.api.get(f"/app/sales/{sale['id']}")
    assert page.status_code == 200
    assert "esperando el límite de Siigo, ~" in page.text
    assert "esperando el límite de Siigo, hasta " in page.text  # the timeline entry


async def test_a_paused_siigo_company_is_resumed_from_conexiones(stack: Stack) -> None:
    await stack.generate(4, mix={"single": 1})
    await stack.control.put("/_sandbox/clock", json={"offset_days": 2})
    await stack.settle()
    codes = {s["error"]["code"] for s in await stack.sales()}
    assert "siigo_paused" in codes
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/connections")
    assert 'data-breaker="paused"' in page.text
    assert "Reanudar el envío a Siigo" in page.text
    assert "80 %" in page.text
    await stack.control.put("/_sandbox/clock", json={"offset_days": 0})
    [connection_id] = re.findall(r'action="/app/connections/(\d+)/resume"', page.text)
    r = await stack.api.post(
        f"/app/connections/{connection_id}/resume", data={"csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303
    after = await stack.api.get(r.headers["location"])
    assert "Se reanudó el envío a Siigo" in after.text
    assert 'data-breaker="paused"' not in after.text
    await stack.settle()
    paused_before = [s for s in await stack.sales() if s["state"] == "invoiced"]
    assert paused_before
