"""Alerts: raised once per cause while open, resolved when the cause clears, delivered by
webhook and e-mail with every attempt recorded and failures retried."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select, update

from conexapi.alerts.delivery import deliver_pending_alerts
from conexapi.alerts.models import Alert
from conexapi.alerts.service import (
    raise_alert,
    save_settings,
    scan_for_alerts,
)
from conexapi.connections.models import Connection
from conexapi.db import transaction
from conexapi.runtime import Runtime
from conexapi.sync.models import Sale
from tests.conftest import SignedIn
from tests.web.conftest import seed_sales


async def _alerts(runtime: Runtime) -> list[Alert]:
    async with runtime.sessions() as session:
        return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def test_scan_raises_dedupes_and_resolves(runtime: Runtime, owner: SignedIn) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(Connection)
            .where(Connection.tenant_id == owner.tenant_id, Connection.provider == "mercadolibre")
            .values(status="needs_reauth")
        )
    assert await scan_for_alerts(runtime) == 3
    assert await scan_for_alerts(runtime) == 3
    kinds = sorted(a.kind for a in await _alerts(runtime))
    assert kinds == ["connection_needs_reauth", "sales_dead", "sales_need_attention"]
    async with transaction(runtime.sessions) as session:
        await session.execute(update(Connection).values(status="active"))
        await session.execute(
            update(Sale)
            .where(Sale.id.in_([ids["attention"], ids["dead"]]))
            .values(state="invoiced")
        )
    assert await scan_for_alerts(runtime) == 0
    assert {a.status for a in await _alerts(runtime)} == {"resolved"}
    # A cause that comes back opens a new alert (and a new delivery).
    async with transaction(runtime.sessions) as session:
        await session.execute(update(Sale).where(Sale.id == ids["dead"]).values(state="dead"))
    assert await scan_for_alerts(runtime) == 1
    assert len(await _alerts(runtime)) == 4


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


async def test_delivery_by_webhook_and_email_with_retries(
    runtime: Runtime, owner: SignedIn
) -> None:
    runtime.url_resolver = public_resolver
    calls: list[dict[str, object]] = []
    fail = {"webhook": True}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(500 if fail["webhook"] else 204)

    mails: list[tuple[str, str, str]] = []

    async def send_mail(to: str, subject: str, body: str) -> None:
        mails.append((to, subject, body))

    async with transaction(runtime.sessions) as session:
        await save_settings(
            session,
            tenant_id=owner.tenant_id,
            webhook_url="https://hooks.tienda.co/conexapi",
            email_to="conta@tienda.co; dueno@tienda.co",
            resolver=public_resolver,
        )
        await raise_alert(
            session,
            tenant_id=owner.tenant_id,
            kind="sales_need_attention",
            subject="sales",
            message="2 ventas requieren atención",
            data={"count": 2, "path": "/app/sales?state=needs_attention"},
        )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert await deliver_pending_alerts(runtime, http=http, email=send_mail) == 0
        [alert] = await _alerts(runtime)
        assert alert.delivery_state == "pending"
        assert alert.delivery_attempts == 1
        assert [(e["channel"], e["ok"]) for e in alert.delivery_log] == [
            ("webhook", False),
            ("email", True),
        ]
        assert mails[0][0] == "conta@tienda.co, dueno@tienda.co"
        assert "http://testserver/app/sales?state=needs_attention" in mails[0][2]
        # Not due yet: nothing is sent again before the backoff.
        assert await deliver_pending_alerts(runtime, http=http, email=send_mail) == 0
        assert len(calls) == 1
        async with transaction(runtime.sessions) as session:
            await session.execute(update(Alert).values(next_delivery_at=None))
        fail["webhook"] = False
        assert await deliver_pending_alerts(runtime, http=http, email=send_mail) == 1
    [alert] = await _alerts(runtime)
    assert alert.delivery_state == "delivered"
    assert len(mails) == 1  # the e-mail already went out: not sent twice
    assert calls[-1]["kind"] == "sales_need_attention"
    assert calls[-1]["url"] == "http://testserver/app/sales?state=needs_attention"


async def test_alerts_without_destination_are_skipped(runtime: Runtime, owner: SignedIn) -> None:
    async with transaction(runtime.sessions) as session:
        await raise_alert(
            session,
            tenant_id=owner.tenant_id,
            kind="sales_dead",
            subject="sales",
            message="x",
            data={},
        )
    assert await deliver_pending_alerts(runtime) == 0
    [alert] = await _alerts(runtime)
    assert alert.delivery_state == "skipped"
