"""While the database is away every endpoint answers 503 `database_unavailable` with
`Retry-After` (the webhook too, so MercadoLibre delivers again), and everything answers again
the moment the database does. The real restart, with uvicorn and keep-alive clients, is
tests/e2e/test_db_restart.py."""

from __future__ import annotations

import httpx

from conexapi.runtime import Runtime
from tests.conftest import SignedIn
from tests.outage import DatabaseOutage
from tests.web.conftest import web_login

NOTIFICATION = {
    "resource": "/orders/2000009000000001",
    "user_id": 123456789,
    "topic": "orders_v2",
    "application_id": 5503910054141466,
    "attempts": 1,
    "sent": "2026-11-30T12:00:00.000Z",
    "received": "2026-11-30T12:00:00.000Z",
}


def _is_outage(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"


async def test_every_endpoint_answers_503_while_the_database_is_away(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    await web_login(client, owner.email)
    outage = DatabaseOutage(runtime.engine)
    outage.begin()

    for response in (
        await client.get("/api/v1/sales", headers=owner.headers),
        await client.get("/api/v1/me", headers=owner.headers),
        await client.post("/webhooks/mercadolibre", json=NOTIFICATION),
        await client.get("/readyz"),
    ):
        _is_outage(response)
        body = response.json()
        assert body["code"] == "database_unavailable"
        assert "database" in body["message"]
    page = await client.get("/app/sales", headers={"Accept": "text/html"})
    _is_outage(page)
    assert "text/html" in page.headers["content-type"]
    assert "unos segundos" in page.text
    assert (await client.get("/healthz")).status_code == 200  # the process itself is fine
    assert outage.failed_statements > 0

    outage.end()
    assert (await client.get("/api/v1/sales", headers=owner.headers)).status_code == 200
    stored = await client.post("/webhooks/mercadolibre", json=NOTIFICATION)
    assert stored.status_code == 200, stored.text
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert (await client.get("/app/sales")).status_code == 200
