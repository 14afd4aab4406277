"""The sweep under MercadoLibre failures: retried pages, resumed windows, skipped re-checks.

Faults come from the simulator's fault controls, or from respx in front of it when a test needs
a given page to fail (respx answers those, every other request passes through to the simulator).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select

from conexapi.core.errors import RateLimitedError, TransientError
from conexapi.integrations.models import Integration
from conexapi.sync.models import Job, Sale, SaleOrder
from conexapi.sync.sweep import sweep_integration
from conexapi.sync.sweep_window import SWEEP_JOB, PageRetry, next_offset
from tests.stack import SANDBOX, Stack, running_stack, stack_settings

SEARCH = f"{SANDBOX}/mercadolibre/orders/search"
FEEDS = f"{SANDBOX}/mercadolibre/missed_feeds"


@pytest.fixture
async def stack(db_url: str) -> Any:
    # The sweep's own page retries are under test: no quick retries of the call underneath.
    settings = stack_settings(db_url, sweep_retry_base_seconds=0.01, vendor_call_retries=0)
    async with running_stack(settings) as s:
        await s.connect()
        yield s


class Sleeps:
    """An injected sleep: records the waits, never sleeps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class PageFaults:
    """respx side effect on one endpoint: counts calls per `offset`, fails the chosen ones."""

    def __init__(self) -> None:
        self.calls: Counter[int] = Counter()
        self.by_status: Counter[str] = Counter()
        self.queued: dict[int, list[httpx.Response]] = {}
        self.always: dict[int, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response | None:
        if "order.status" in request.url.params:
            self.by_status[request.url.params["order.status"]] += 1
            return None  # the walk of cancelled orders: counted apart, never failed
        offset = int(request.url.params.get("offset", "0"))
        self.calls[offset] += 1
        if offset in self.always:
            return self.always[offset]
        if self.queued.get(offset):
            return self.queued[offset].pop(0)
        return None  # not answered here: on to the simulator


def ml_error(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"message": "boom", "error": "internal_error", "status": status, "cause": []}
    return httpx.Response(status, json=body, headers=headers)


@contextmanager
def faults_on(url: str) -> Iterator[PageFaults]:
    faults = PageFaults()
    with respx.mock(using="httpx", assert_all_called=False) as router:
        router.get(url__startswith=url).mock(side_effect=faults)
        router.route().pass_through()
        yield faults


async def _quiet_seller(stack: Stack, count: int) -> list[str]:
    """`count` single-order sales whose notifications are all lost: only a sweep finds them."""
    r = await stack.control.put("/_sandbox/faults", json={"notifications": {"drop_rate": 1.0}})
    assert r.status_code == 200
    generated = await stack.generate(count, mix={"single": 1})
    await asyncio.sleep(0.01)  # a window ends when its sweep starts (to the millisecond)
    return [str(oid) for g in generated for oid in g["order_ids"]]


async def _known_orders(stack: Stack) -> set[str]:
    async with stack.runtime.sessions() as session:
        return set((await session.execute(select(SaleOrder.order_id))).scalars())


async def _sweep_job(stack: Stack) -> Job:
    async with stack.runtime.sessions() as session:
        job = (await session.execute(select(Job).where(Job.kind == SWEEP_JOB))).scalar_one()
        session.expunge(job)
        return job


async def _watermark(stack: Stack) -> datetime | None:
    async with stack.runtime.sessions() as session:
        integration = await session.get(Integration, stack.integration_id)
        assert integration is not None
        return integration.sweep_watermark


async def test_a_sweep_completes_while_mercadolibre_fails_some_calls(stack: Stack) -> None:
    orders = await _quiet_seller(stack, 150)  # 3 pages
    r = await stack.control.put(
        "/_sandbox/faults",
        json={
            "notifications": {"drop_rate": 1.0},
            "mercadolibre": {"error_rate": 0.2, "rate_limit_rate": 0.1},
        },
    )
    assert r.status_code == 200
    sleeps = Sleeps()
    seen = await sweep_integration(
        stack.runtime, stack.integration_id, retry=PageRetry(base_seconds=0.5, sleep=sleeps)
    )
    stats = (await stack.control.get("/_sandbox/mercadolibre/stats")).json()
    assert stats["calls"]["GET /orders/search"] > 3  # some pages failed and were asked again
    assert sleeps.waits  # ... after a wait (no Retry-After from the simulator: the backoff)
    assert set(sleeps.waits) <= {0.5, 1.0, 2.0}
    assert seen >= 150
    assert await _known_orders(stack) >= set(orders)
    job = await _sweep_job(stack)
    assert job.state == "done"
    assert await _watermark(stack) == datetime.fromisoformat(job.params["until"])


async def test_a_failed_page_is_asked_again_after_the_vendors_retry_after(stack: Stack) -> None:
    orders = await _quiet_seller(stack, 120)  # pages at offsets 0, 50, 100
    sleeps = Sleeps()
    with faults_on(SEARCH) as search:
        search.queued[50] = [ml_error(503), ml_error(429, retry_after="2")]
        await sweep_integration(
            stack.runtime,
            stack.integration_id,
            retry=PageRetry(retries=3, base_seconds=0.5, max_wait_seconds=5, sleep=sleeps),
        )
    assert search.calls == {0: 1, 50: 3, 100: 1}
    assert sleeps.waits == [0.5, 2.0]  # the backoff, then what the 429 asked for
    assert await _known_orders(stack) == set(orders)
    assert (await _sweep_job(stack)).state == "done"


async def test_an_interrupted_sweep_resumes_at_the_page_where_it_stopped(stack: Stack) -> None:
    orders = await _quiet_seller(stack, 150)  # pages at offsets 0, 50, 100
    sleeps = Sleeps()
    retry = PageRetry(retries=3, base_seconds=0.1, sleep=sleeps)
    with faults_on(SEARCH) as search:
        search.always[100] = ml_error(500)
        with pytest.raises(TransientError):
            await sweep_integration(stack.runtime, stack.integration_id, retry=retry)
        assert search.calls == {0: 1, 50: 1, 100: 4}  # the third page: tried, retried 3 times
        assert sleeps.waits == [0.1, 0.2, 0.4]
        stopped = await _sweep_job(stack)
        assert stopped.state == "running"
        assert stopped.cursor == {"offset": 100, "total": 150}
        assert stopped.done == 100
        assert "TransientError" in (stopped.error or "")
        assert await _watermark(stack) is None  # the window is not complete
        assert len(await _known_orders(stack)) == 100

        del search.always[100]  # MercadoLibre is back
        await sweep_integration(stack.runtime, stack.integration_id, retry=retry)
        assert search.calls == {0: 1, 50: 1, 100: 5}  # only the page it stopped at
    done = await _sweep_job(stack)
    assert done.state == "done"
    assert done.error is None
    assert done.params == stopped.params  # the same window, finished
    assert done.done == 150
    assert await _watermark(stack) == datetime.fromisoformat(stopped.params["until"])
    assert await _known_orders(stack) == set(orders)

    # The next sweep opens a new window from there, from its first page.
    with faults_on(SEARCH) as search:
        await sweep_integration(stack.runtime, stack.integration_id, retry=retry)
        assert search.calls == {0: 1, 50: 1, 100: 1}  # the overlap still covers these orders
    assert datetime.fromisoformat(
        (await _sweep_job(stack)).params["since"]
    ) < datetime.fromisoformat(done.params["until"])


async def test_orders_leaving_the_window_meanwhile_do_not_hide_the_next_ones(stack: Stack) -> None:
    orders = await _quiet_seller(stack, 150)
    sleeps = Sleeps()
    retry = PageRetry(retries=3, base_seconds=0.1, max_wait_seconds=30, sleep=sleeps)
    with faults_on(SEARCH) as search:
        # MercadoLibre asks for an hour: the sweep does not hold the worker, it stops there.
        search.queued[100] = [ml_error(429, retry_after="3600")]
        with pytest.raises(RateLimitedError):
            await sweep_integration(stack.runtime, stack.integration_id, retry=retry)
        assert sleeps.waits == []
        assert (await _sweep_job(stack)).cursor == {"offset": 100, "total": 150}
        # Meanwhile three orders of the first page change (their notifications are lost too):
        # they leave the window, and the orders behind them move up three places.
        seller = int(stack.sandbox.ml.orders[int(orders[0])].seller_id)
        first = stack.sandbox.ml.search(seller, None, {}, False)[:3]
        for order in first:
            r = await stack.control.post(f"/_sandbox/mercadolibre/orders/{order.id}/cancel")
            assert r.status_code == 200, r.text
        await sweep_integration(stack.runtime, stack.integration_id, retry=retry)
        # Page 100 of 147 starts at what was the 104th order: the sweep steps back three.
        assert search.calls == {0: 1, 50: 1, 100: 2, 97: 1}
    assert await _known_orders(stack) == set(orders)
    assert (await _sweep_job(stack)).state == "done"


async def test_missed_feeds_failing_does_not_hold_the_window_back(stack: Stack) -> None:
    orders = await _quiet_seller(stack, 10)
    sleeps = Sleeps()
    with faults_on(FEEDS) as feeds:
        feeds.always[0] = ml_error(500)
        await sweep_integration(
            stack.runtime, stack.integration_id, retry=PageRetry(retries=2, sleep=sleeps)
        )
    assert feeds.calls == {0: 3}
    assert (await _sweep_job(stack)).state == "done"
    assert await _watermark(stack) is not None
    assert await _known_orders(stack) == set(orders)


async def _due_sales(stack: Stack) -> int:
    async with stack.runtime.sessions() as session:
        return int(
            (
                await session.execute(
                    select(func.count(Sale.id)).where(Sale.next_attempt_at.is_not(None))
                )
            ).scalar_one()
        )


async def test_the_sweep_leaves_unchanged_invoiced_sales_alone(stack: Stack) -> None:
    generated = await stack.generate(3, mix={"single": 1})
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    assert await _due_sales(stack) == 0
    fetched = stack.sandbox.ml.calls["GET /orders/{order_id}"]

    assert await sweep_integration(stack.runtime, stack.integration_id) >= 3
    assert await _due_sales(stack) == 0  # all three seen, at the version already invoiced
    await stack.settle()
    assert stack.sandbox.ml.calls["GET /orders/{order_id}"] == fetched

    # A change the notifications miss: the sweep sees a newer `last_updated` and re-checks it.
    r = await stack.control.put("/_sandbox/faults", json={"notifications": {"drop_rate": 1.0}})
    assert r.status_code == 200
    refunded = generated[0]["order_ids"][0]
    r = await stack.control.post(
        f"/_sandbox/mercadolibre/orders/{refunded}/refund", json={"amount": 10000}
    )
    assert r.status_code == 200, r.text
    await asyncio.sleep(0.01)  # a window ends when its sweep starts (to the millisecond)
    await sweep_integration(stack.runtime, stack.integration_id)
    assert await _due_sales(stack) == 1  # the refunded one only
    await stack.settle()
    assert len(await stack.siigo("credit-notes")) == 1

    # A sale processed before versions were recorded is re-checked (once, then recorded).
    async with stack.runtime.sessions() as session:
        sale = (
            await session.execute(
                select(Sale).where(Sale.external_id == str(generated[1]["external_id"]))
            )
        ).scalar_one()
        sale.facts = {k: v for k, v in sale.facts.items() if k != "order_versions"}
        await session.commit()
    await sweep_integration(stack.runtime, stack.integration_id)
    assert await _due_sales(stack) == 1
    await stack.settle()
    await sweep_integration(stack.runtime, stack.integration_id)
    assert await _due_sales(stack) == 0


# -- the pure parts ------------------------------------------------------------------------------


def test_next_offset_walks_pages_and_steps_back_when_the_window_shrinks() -> None:
    assert next_offset(0, got=50, total=120, previous_total=None) == 50
    assert next_offset(100, got=20, total=120, previous_total=120) is None
    assert next_offset(0, got=0, total=0, previous_total=None) is None
    # Three orders left the window since the previous page: three unseen ones moved up.
    assert next_offset(100, got=47, total=147, previous_total=150) == 97
    # 60 left: the 50 not yet read may now start anywhere from 40 on.
    assert next_offset(100, got=0, total=90, previous_total=150) == 40
    assert next_offset(100, got=0, total=100, previous_total=100) is None
    # A window that grew (it cannot, but MercadoLibre is eventually consistent): read on.
    assert next_offset(50, got=50, total=160, previous_total=150) == 100


def test_page_retry_waits_back_off_or_what_the_vendor_asked() -> None:
    retry = PageRetry(retries=3, base_seconds=1.0, max_wait_seconds=30)
    boom = TransientError("boom", vendor="mercadolibre", status_code=500)
    assert [retry.wait_before(n, boom) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, None]
    slow = RateLimitedError("slow", vendor="mercadolibre", status_code=429, retry_after=7)
    assert retry.wait_before(1, slow) == 7
    too_slow = RateLimitedError("slow", vendor="mercadolibre", status_code=429, retry_after=300)
    assert retry.wait_before(1, too_slow) is None
    assert PageRetry(retries=5, base_seconds=10, max_wait_seconds=30).wait_before(4, boom) == 30
