"""Bad input is a clear 4xx with a stable code, never a 500 (issue 15, finding 8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conexapi.runtime import Runtime
from tests.conftest import SignedIn
from tests.web.conftest import web_login

HUGE = str(2**70)  # beyond 64 bits
BIG = str(2**31)  # beyond the INT id columns


async def test_ids_beyond_the_column_range_are_422_on_every_route(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    spec = (await client.get("/openapi.json")).json()
    probed = 0
    for path, operations in spec["paths"].items():
        if "{" not in path:
            continue
        for method in operations:
            for value in (HUGE, BIG, "0", "-1"):
                url = path
                for name in ("user_id", "connection_id", "integration_id", "sale_id", "job_id"):
                    url = url.replace("{" + name + "}", value)
                url = url.replace("{sku}", "X")
                r = await client.request(method.upper(), url, headers=owner.headers, json={})
                assert r.status_code < 500, f"{method.upper()} {url}: {r.status_code} {r.text}"
                if "{" in path.replace("{sku}", ""):
                    assert r.status_code in (404, 422), f"{method.upper()} {url}: {r.text}"
                probed += 1
    assert probed > 40


@pytest.mark.parametrize(
    "query",
    [
        f"integration_id={HUGE}",
        f"integration_id={BIG}",
        "date_from=0001-01-01",
        "date_to=9999-12-31",
        "date_from=0001-01-01&date_to=9999-12-31",
    ],
)
async def test_out_of_range_query_values_are_422(
    client: httpx.AsyncClient, owner: SignedIn, query: str
) -> None:
    for path in (
        "/api/v1/sales",
        "/api/v1/reports/profit",
        "/api/v1/reports/profit.csv",
        "/api/v1/reports/reconciliation",
        "/api/v1/reports/fiscal-review",
    ):
        r = await client.get(f"{path}?{query}", headers=owner.headers)
        if path != "/api/v1/sales" and "page" in query:
            continue
        assert r.status_code == 422, f"{path}?{query}: {r.status_code} {r.text[:300]}"
        assert r.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
        {"date_from": "9999-12-30", "date_to": "9999-12-31"},
    ],
)
async def test_out_of_range_dates_in_bodies_are_422(
    client: httpx.AsyncClient, owner: SignedIn, body: dict[str, Any]
) -> None:
    r = await client.post("/api/v1/integrations/1/backfill", json=body, headers=owner.headers)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", str(2**70)])
async def test_non_finite_or_huge_numbers_in_json_are_refused(
    client: httpx.AsyncClient, owner: SignedIn, number: str
) -> None:
    raw = f'{{"settings": {{"iva_rate": {number}, "fv_document_id": {number}}}}}'
    r = await client.patch(
        "/api/v1/integrations/1",
        content=raw.encode(),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 404, 422), r.text


async def test_deeply_nested_json_is_400(client: httpx.AsyncClient, owner: SignedIn) -> None:
    deep = b"[" * 5000
    r = await client.post(
        "/webhooks/mercadolibre", content=deep, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    r = await client.patch(
        "/api/v1/integrations/1",
        content=b'{"settings": ' + deep,
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text


async def test_dashboard_pages_answer_4xx_for_out_of_range_values(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await web_login(client, owner.email)
    for url in (
        f"/app/sales/{HUGE}",
        f"/app/sales/{BIG}",
        f"/app/connections/{HUGE}",
        "/app/sales?date_from=0001-01-01",
        "/app/sales?date_to=9999-12-31",
        "/app/reports?date_from=0001-01-01&date_to=9999-12-31",
        f"/app/integration?id={HUGE}",
        "/app/integration?page=99999999999999999999",
        f"/app/sales?page={HUGE}",
    ):
        r = await client.get(url)
        assert 400 <= r.status_code < 500, f"{url}: {r.status_code} {r.text[:500]}"


async def test_a_long_username_when_creating_a_user_is_422(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    r = await client.post(
        "/api/v1/users",
        json={"email": "a" * 300 + "@x.co", "password": "12345678"},
        headers=owner.headers,
    )
    assert r.status_code == 422
