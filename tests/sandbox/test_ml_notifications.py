"""Notification delivery (docs/vendors/mercadolibre.md §2): POST, retries, missed_feeds,
drop/duplicate faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from conexapi.sandbox import (
    DEFAULT_SELLER_ID,
    SANDBOX_APPLICATION_ID,
    FaultConfig,
    SandboxConfig,
    SandboxState,
    create_sandbox_app,
)
from conexapi.sandbox.config import FaultsState, NotificationFaults

from .conftest import consent, exchange


class Receiver:
    """A callback endpoint answering a configurable status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append(await request.json())
            return Response(status_code=self.status)


async def make(
    receiver: Receiver, faults: FaultsState | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, SandboxState]]:
    cfg = SandboxConfig(
        initial_sales=0,
        notify_url="http://receiver/hook",
        notification_retry_interval_seconds=0.001,
        faults=faults or FaultsState(),
    )
    app = create_sandbox_app(cfg)
    state: SandboxState = app.state.sandbox
    state.notifier.transport = httpx.ASGITransport(app=receiver.app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield client, state


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


async def test_delivery_payload(receiver: Receiver) -> None:
    async for _client, state in make(receiver):
        sale = state.generate(kinds=["single"])[0]
        await state.notifier.drain()
        msg = receiver.received[-1]
        assert msg["resource"] == f"/orders/{sale.order_ids[0]}"
        assert msg["topic"] == "orders_v2"
        assert msg["user_id"] == DEFAULT_SELLER_ID
        assert msg["application_id"] == SANDBOX_APPLICATION_ID
        assert msg["attempts"] == 1
        assert msg["sent"].endswith("Z")
        assert msg["received"].endswith("Z")
        assert state.notifier.delivered == len(receiver.received)


async def test_failing_callback_retries_then_missed_feeds() -> None:
    failing = Receiver(status=500)
    async for client, state in make(failing):
        state.generate(kinds=["cancelled_unpaid"])  # created + cancelled = 2 events
        await state.notifier.drain()
        first = failing.received[0]["_id"]
        attempts = [m["attempts"] for m in failing.received if m["_id"] == first]
        assert attempts == list(range(1, 9))
        assert state.notifier.failed == 2
        code = await consent(client)
        token = (await exchange(client, code)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        params: dict[str, str | int] = {
            "app_id": SANDBOX_APPLICATION_ID,
            "topic": "orders_v2",
            "limit": 1,
        }
        page = await client.get("/mercadolibre/missed_feeds", params=params, headers=headers)
        messages = page.json()["messages"]
        assert len(messages) == 1
        assert messages[0]["attempts"] == 8
        assert messages[0]["response"]["http_code"] == 500
        assert messages[0]["request"]["url"] == "http://receiver/hook"
        # Reading does not consume.
        again = await client.get(
            "/mercadolibre/missed_feeds",
            params={"app_id": SANDBOX_APPLICATION_ID},
            headers=headers,
        )
        assert len(again.json()["messages"]) == 2


async def test_drop_fault_loses_notification_entirely(receiver: Receiver) -> None:
    faults = FaultsState(notifications=NotificationFaults(drop_rate=1.0))
    async for _client, state in make(receiver, faults):
        state.generate(kinds=["single"])
        await state.notifier.drain()
        assert receiver.received == []
        assert state.ml.missed_feeds == []
        assert state.notifier.dropped == 2


async def test_duplicate_fault_delivers_twice(receiver: Receiver) -> None:
    faults = FaultsState(notifications=NotificationFaults(duplicate_rate=1.0))
    async for _client, state in make(receiver, faults):
        state.generate(kinds=["pending_then_paid"])
        await state.notifier.drain()
        assert len(receiver.received) == 2
        assert receiver.received[0]["_id"] == receiver.received[1]["_id"]
        assert state.notifier.duplicated == 1


async def test_slow_callback_times_out(receiver: Receiver) -> None:
    import asyncio

    slow = FastAPI()

    @slow.post("/hook")
    async def hook() -> Response:
        await asyncio.sleep(0.2)
        return Response(status_code=200)

    receiver.app = slow
    async for _client, state in make(receiver):
        state.config.notification_timeout_seconds = 0.05
        state.config.notification_max_attempts = 2
        state.generate(kinds=["pending_then_paid"])
        await state.notifier.drain()
        assert state.notifier.failed == 1
        assert state.ml.missed_feeds[0]["attempts"] == 2


def test_fault_config_defaults() -> None:
    assert FaultConfig().error_rate == 0
