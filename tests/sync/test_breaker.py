"""The breaker per Siigo company (issue 14, build 9): when Siigo refuses too large a share of what
a company is sent, ConexAPI pauses sending to it, alerts the seller with the reasons, and resumes
only when a person acts; it never walks an API user into Siigo's block (> 80 % failed)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from conexapi.alerts.models import Alert
from conexapi.alerts.service import scan_tenant_alerts
from conexapi.connections.models import Connection, Provider
from conexapi.core.errors import PermanentError
from conexapi.sync.breaker import refusal_code
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    settings = stack_settings(
        db_url, breaker_min_requests=6, breaker_refused_share=0.4, worker_concurrency=1
    )
    async with running_stack(settings) as s:
        await s.connect()
        yield s


async def _siigo(stack: Stack) -> Connection:
    async with stack.runtime.sessions() as session:
        return (
            await session.execute(
                select(Connection).where(Connection.provider == Provider.SIIGO.value)
            )
        ).scalar_one()


def _invoice_posts(stats: Any) -> int:
    return sum(int(v) for k, v in stats["calls"].items() if str(k).startswith("POST /v1/invoices"))


async def test_refusals_pause_sending_until_a_person_resumes_it(stack: Stack) -> None:
    await stack.generate(12, mix={"single": 1})
    # Siigo's clock runs two days ahead: it refuses every invoice's date (a validation error).
    r = await stack.control.put("/_sandbox/clock", json={"offset_days": 2})
    assert r.status_code == 200, r.text
    await stack.settle()

    conn = await _siigo(stack)
    assert conn.paused_at is not None
    assert conn.pause_reason
    assert "invalid_date" in conn.pause_reason
    assert "80 %" in conn.pause_reason
    sales = await stack.sales()
    codes = [s["error"]["code"] for s in sales]
    refused = codes.count("siigo_invalid_date")
    held = codes.count("siigo_paused")
    assert refused + held == 12
    assert held > 0  # sending stopped: these were never sent
    stats = (await stack.control.get("/_sandbox/siigo/stats")).json()
    assert _invoice_posts(stats) == refused
    paused = [s for s in sales if s["error"]["code"] == "siigo_paused"]
    assert {s["state"] for s in paused} == {"pending"}
    assert all("reanude" in s["error"]["message"] for s in paused)

    # The seller is alerted, in Spanish, with the reasons.
    async with stack.runtime.sessions() as session:
        await scan_tenant_alerts(session)
        await session.commit()
        alerts = (
            (await session.execute(select(Alert).where(Alert.kind == "siigo_paused")))
            .scalars()
            .all()
        )
    assert len(alerts) == 1
    assert "invalid_date" in alerts[0].message
    assert "pausa" in alerts[0].message

    r = await stack.api.get(f"/api/v1/connections/{conn.id}/breaker", headers=stack.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["paused"] is True
    assert body["waiting_sales"] == held
    assert body["refused"] == refused

    # Nothing moves while paused, however often the workers look.
    await stack.settle()
    assert _invoice_posts((await stack.control.get("/_sandbox/siigo/stats")).json()) == refused

    # The person fixes the cause and resumes: the held sales go out.
    await stack.control.put("/_sandbox/clock", json={"offset_days": 0})
    r = await stack.api.post(f"/api/v1/connections/{conn.id}/resume", headers=stack.headers)
    assert r.status_code == 200, r.text
    assert r.json()["resumed"] == held
    assert r.json()["paused"] is False
    await stack.settle()
    after = {s["id"]: s for s in await stack.sales()}
    assert all(after[s["id"]]["state"] == "invoiced" for s in paused)
    assert (await _siigo(stack)).paused_at is None
    async with stack.runtime.sessions() as session:
        await scan_tenant_alerts(session)
        await session.commit()
        still = (
            (
                await session.execute(
                    select(Alert).where(Alert.kind == "siigo_paused", Alert.status == "open")
                )
            )
            .scalars()
            .all()
        )
    assert still == []


async def test_resume_of_another_tenants_connection_is_not_found(stack: Stack) -> None:
    r = await stack.api.post("/api/v1/connections/999999/resume", headers=stack.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "connection_not_found" or "connection_not_found" in r.text


def test_only_siigo_refusals_count_against_the_api_user() -> None:
    refused = PermanentError("bad", vendor="siigo", status_code=400, vendor_code="invalid_date")
    assert refusal_code(refused) == "invalid_date"
    passing = PermanentError(
        "busy", vendor="siigo", status_code=400, vendor_code="documents_service"
    )
    assert refusal_code(passing) is None
    assert refusal_code(RuntimeError("x")) is None
    ml = PermanentError("bad", vendor="mercadolibre", status_code=400, vendor_code="x")
    assert refusal_code(ml) is None
