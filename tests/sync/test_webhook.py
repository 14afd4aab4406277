from __future__ import annotations

import httpx
from sqlalchemy import func, select

from conexapi.inbox.apply import apply_pending
from conexapi.inbox.models import Notification, NotificationStatus
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sync import queue
from conexapi.sync.models import Sale
from tests.builders import create_integration, create_tenant

APP_ID = 5503910054141466


def notification(order_id: int = 2000010733434062, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "_id": f"evt-{order_id}",
        "resource": f"/orders/{order_id}",
        "user_id": 779432305,
        "topic": "orders_v2",
        "application_id": APP_ID,
        "attempts": 1,
        "sent": "2026-09-24T15:19:20.129Z",
        "received": "2026-09-24T15:19:20.106Z",
    }
    body.update(overrides)
    return body


async def _connected(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        tenant = await create_tenant(session)
        integration = await create_integration(session, tenant.id)
        await session.commit()
        return integration.id


async def _counts(runtime: Runtime) -> tuple[int, int]:
    """Notifications stored and sales made due, once the workers applied the inbox."""
    await apply_pending(runtime.sessions)
    async with runtime.sessions() as session:
        n = (await session.execute(select(func.count(Notification.id)))).scalar_one()
        s = (await session.execute(select(func.count(Sale.id)))).scalar_one()
        return int(n), int(s)


async def test_a_notification_is_stored_and_its_sale_made_due(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    integration_id = await _connected(runtime)
    r = await client.post("/webhooks/mercadolibre", json=notification())
    assert r.status_code == 200
    assert r.json() == {"status": "accepted"}
    assert r.headers["x-request-id"]
    # Intake only stores: the notification waits in the inbox, no sale yet.
    async with runtime.sessions() as session:
        stored = (await session.execute(select(Notification))).scalar_one()
        assert stored.status == NotificationStatus.PENDING.value
        assert stored.integration_id == integration_id
        assert (await session.execute(select(func.count(Sale.id)))).scalar_one() == 0
    # The next worker applies it: the sale exists and is due.
    assert await apply_pending(runtime.sessions) == 1
    assert await apply_pending(runtime.sessions) == 0
    async with runtime.sessions() as session:
        stored = (await session.execute(select(Notification))).scalar_one()
        assert stored.status == NotificationStatus.ACCEPTED.value
        sale = (await session.execute(select(Sale))).scalar_one()
        assert sale.integration_id == integration_id
        assert sale.external_id == "2000010733434062"
        assert sale.state == SaleState.PENDING.value
        assert sale.next_attempt_at is not None


async def test_duplicates_are_acknowledged_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    for _ in range(3):
        r = await client.post("/webhooks/mercadolibre", json=notification())
        assert r.status_code == 200
    # The same order under another event id (ML sends several per sale): one sale still.
    r = await client.post("/webhooks/mercadolibre", json=notification(_id="other-event"))
    assert r.json() == {"status": "accepted"}
    assert await _counts(runtime) == (2, 1)


async def test_string_user_id_and_missing_event_id_are_accepted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    body = notification(user_id="779432305")
    del body["_id"]
    r = await client.post("/webhooks/mercadolibre", json=body)
    assert r.json() == {"status": "accepted"}
    r = await client.post("/webhooks/mercadolibre", json=body)
    assert r.json() == {"status": "duplicate"}


async def test_unknown_accounts_and_foreign_apps_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    r = await client.post("/webhooks/mercadolibre", json=notification(user_id=123))
    assert r.json() == {"status": "ignored", "reason": "unknown_account"}
    r = await client.post("/webhooks/mercadolibre", json=notification(application_id=42))
    assert r.json() == {"status": "ignored", "reason": "foreign_application"}
    assert await _counts(runtime) == (0, 0)  # an unknown account is not stored, no sale
    metrics = (await client.get("/metrics")).text
    assert 'conexapi_notifications_total{outcome="ignored_unknown_account"}' in metrics


async def test_other_topics_are_stored_without_a_sale(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    r = await client.post(
        "/webhooks/mercadolibre",
        json=notification(topic="shipments", resource="/shipments/44028792542", _id="s1"),
    )
    assert r.json() == {"status": "accepted", "reason": "topic_not_acted_on"}
    assert await _counts(runtime) == (1, 0)


async def test_malformed_or_oversized_bodies_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    bad = [
        b"{not json",
        b"[1, 2]",
        b'{"resource": "/orders/1"}',
        b'{"resource": "orders 1; drop", "user_id": 1, "topic": "orders_v2", "application_id": 1}',
        b'{"resource": "/orders/1", "user_id": "abc", "topic": "orders_v2", "application_id": 1}',
    ]
    for body in bad:
        r = await client.post(
            "/webhooks/mercadolibre", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400, body
        assert r.json()["code"] == "invalid_notification"
    big = notification()
    big["padding"] = "x" * 20_000
    r = await client.post("/webhooks/mercadolibre", json=big)
    assert r.status_code == 413
    assert await _counts(runtime) == (0, 0)


async def test_concurrent_notifications_are_stored_in_batches_each_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    import asyncio

    await _connected(runtime)
    bodies = [notification(order_id=2000000000 + n % 25, _id=f"evt-{n % 40}") for n in range(80)]
    responses = await asyncio.gather(
        *(client.post("/webhooks/mercadolibre", json=b) for b in bodies)
    )
    assert {r.status_code for r in responses} == {200}
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("accepted") == 40
    assert statuses.count("duplicate") == 40
    assert await _counts(runtime) == (40, 25)
    async with runtime.sessions() as session:
        due = await queue.pending_count(session)
    assert due == 25


async def test_the_webhook_is_served_ahead_of_the_framework_and_documented(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from conexapi.app import create_app
    from conexapi.marketplaces.mercadolibre.webhooks import NotificationFastPath

    app = create_app(runtime=runtime)
    # The outermost middleware: a notification never walks FastAPI's routing and dependencies.
    outermost: object = app.user_middleware[0].cls
    assert outermost is NotificationFastPath
    # Still documented, and other routes pass through untouched.
    schema = (await client.get("/openapi.json")).json()
    assert "post" in schema["paths"]["/webhooks/mercadolibre"]
    await _connected(runtime)
    r = await client.post(
        "/webhooks/mercadolibre", json=notification(), headers={"X-Request-ID": "abc123"}
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "abc123"
    metrics = (await client.get("/metrics")).text
    assert 'route="/webhooks/mercadolibre",status="200"' in metrics
