"""Connections API: Siigo credentials, MercadoLibre OAuth (state checks), tenancy, catalogs."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from conexapi.connections.models import Connection, OAuthState
from conexapi.db import transaction, utcnow
from conexapi.runtime import Runtime
from conexapi.sandbox import DEFAULT_SELLER_ID, SIIGO_USERNAME
from tests.clients.support import connect_meli, connect_siigo, consent, state_of
from tests.conftest import SignedIn, sign_up

AUTHORIZE = "/api/v1/connections/mercadolibre/authorize"
CALLBACK = "/api/v1/connections/mercadolibre/callback"


async def _count_connections(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(Connection))).scalar_one()
        )


async def test_siigo_bad_credentials_answer_400_and_store_nothing(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    response = await connect_siigo(client, owner, access_key="not-the-key")
    assert response.status_code == 400
    assert response.json()["code"] == "siigo_invalid_credentials"
    assert "not-the-key" not in response.text
    assert await _count_connections(runtime) == 0
    listed = await client.get("/api/v1/connections", headers=owner.headers)
    assert listed.json() == []


async def test_siigo_connect_and_reconnect_same_company(
    client: httpx.AsyncClient, owner: SignedIn, other_owner: SignedIn, runtime: Runtime
) -> None:
    first = await connect_siigo(client, owner)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["provider"] == "siigo"
    assert body["status"] == "active"
    assert body["account_name"] == SIIGO_USERNAME
    again = await connect_siigo(client, owner)
    assert again.status_code == 201
    assert again.json()["id"] == body["id"]
    assert await _count_connections(runtime) == 1
    taken = await connect_siigo(client, other_owner)
    assert taken.status_code == 409
    assert taken.json()["code"] == "connection_taken"


async def test_siigo_connect_needs_admin(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    viewer = await sign_up(
        runtime, client, email="viewer@tienda.co", tenant="Tienda A", role="viewer"
    )
    response = await connect_siigo(client, viewer)
    assert response.status_code == 403


async def test_meli_oauth_flow_creates_connection(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    assert authorize.status_code == 200
    url = authorize.json()["authorization_url"]
    assert "code_challenge=" in url
    assert "code_challenge_method=S256" in url
    query = await consent(sandbox, url)
    response = await client.get(CALLBACK, params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "mercadolibre"
    assert body["status"] == "active"
    assert body["external_account_id"] == str(DEFAULT_SELLER_ID)
    assert body["account_name"]
    assert body["token_expires_at"] is not None
    async with runtime.sessions() as session:
        connection = await session.get(Connection, body["id"])
        assert connection is not None
        assert connection.access_token_enc is not None
        assert not connection.access_token_enc.startswith("APP_USR")
        assert connection.refresh_token_enc is not None
    listed = await client.get("/api/v1/connections", headers=owner.headers)
    assert [c["id"] for c in listed.json()] == [body["id"]]


async def test_callback_redirects_browsers(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    response = await client.get(CALLBACK, params=query, headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/app/connections?connected=mercadolibre"


async def test_replayed_state_is_refused(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    assert (await client.get(CALLBACK, params=query)).status_code == 200
    replay = await client.get(CALLBACK, params=query)
    assert replay.status_code == 400
    assert replay.json()["code"] == "oauth_state_used"


async def test_forged_state_is_refused(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    for forged in ("abc", query["state"][:-3] + "xyz"):
        response = await client.get(CALLBACK, params={"code": query["code"], "state": forged})
        assert response.status_code == 400
        assert response.json()["code"] == "oauth_state_invalid"
    # Signed by us but for an unknown state id (e.g. from another install).
    fake = runtime.tokens.sign("ml_oauth", {"sid": "nope", "tid": owner.tenant_id}, 600)
    response = await client.get(CALLBACK, params={"code": query["code"], "state": fake})
    assert response.json()["code"] == "oauth_state_invalid"
    # Signed for another purpose.
    other = runtime.tokens.sign("password_reset", {"sid": "x"}, 600)
    response = await client.get(CALLBACK, params={"code": query["code"], "state": other})
    assert response.json()["code"] == "oauth_state_invalid"
    assert state_of(sandbox).ml.token_calls["authorization_code"] == 0


async def test_expired_state_is_refused(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    async with transaction(runtime.sessions) as session:
        await session.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await client.get(CALLBACK, params=query)
    assert response.status_code == 400
    assert response.json()["code"] == "oauth_state_expired"
    signed_expired = runtime.tokens.sign("ml_oauth", {"sid": "x", "tid": 1}, -5)
    response = await client.get(CALLBACK, params={"code": "c", "state": signed_expired})
    assert response.json()["code"] == "oauth_state_expired"


async def test_same_ml_account_reconnects_and_other_tenant_gets_409(
    client: httpx.AsyncClient, owner: SignedIn, other_owner: SignedIn, sandbox: FastAPI
) -> None:
    first = await connect_meli(client, owner, sandbox)
    again = await connect_meli(client, owner, sandbox)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    stolen = await connect_meli(client, other_owner, sandbox)
    assert stolen.status_code == 409
    assert stolen.json()["code"] == "connection_taken"


async def test_other_tenant_gets_404(
    client: httpx.AsyncClient, owner: SignedIn, other_owner: SignedIn, sandbox: FastAPI
) -> None:
    siigo = (await connect_siigo(client, owner)).json()["id"]
    meli = (await connect_meli(client, owner, sandbox)).json()["id"]
    for cid in (siigo, meli, 999999):
        got = await client.get(f"/api/v1/connections/{cid}", headers=other_owner.headers)
        assert got.status_code == 404
        assert got.json()["code"] == "connection_not_found"
        refreshed = await client.post(
            f"/api/v1/connections/{cid}/refresh-catalogs", headers=other_owner.headers
        )
        assert refreshed.status_code == 404
    listed = await client.get("/api/v1/connections", headers=other_owner.headers)
    assert listed.json() == []


async def test_refresh_catalogs(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    siigo = (await connect_siigo(client, owner)).json()["id"]
    response = await client.post(
        f"/api/v1/connections/{siigo}/refresh-catalogs", headers=owner.headers
    )
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert counts["document_types_fv"] >= 2
    assert counts["taxes"] >= 1
    meli = (await connect_meli(client, owner, sandbox)).json()["id"]
    wrong = await client.post(f"/api/v1/connections/{meli}/refresh-catalogs", headers=owner.headers)
    assert wrong.status_code == 422


async def test_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/connections")).status_code == 401
    assert (await client.get(AUTHORIZE)).status_code == 401
    assert (
        await client.post(
            "/api/v1/connections/siigo", json={"username": "a@b.c", "access_key": "k"}
        )
    ).status_code == 401


async def _other_browser(runtime: Runtime) -> httpx.AsyncClient:
    from conexapi.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_the_authorize_answer_sets_an_httponly_lax_nonce_cookie(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    cookie = authorize.headers["set-cookie"]
    assert cookie.startswith("conexapi_oauth_nonce=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    # The nonce itself is never in the URL that travels through MercadoLibre.
    nonce = cookie.split(";")[0].split("=", 1)[1]
    assert nonce not in authorize.json()["authorization_url"]


async def test_a_link_completed_in_another_browser_is_refused(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    """A tenant sends its "Conectar MercadoLibre" link to a seller, who completes it in their own
    browser: their MercadoLibre account must not land in that tenant."""
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    async with await _other_browser(runtime) as victim:
        page = await victim.get(CALLBACK, params=query, headers={"Accept": "text/html"})
        assert page.status_code == 400
        assert "mismo navegador" in page.text
        assert "No se pudo conectar MercadoLibre" in page.text
        api = await victim.get(CALLBACK, params=query)
        assert api.status_code == 400
        assert api.json()["code"] == "oauth_browser_mismatch"
    assert await _count_connections(runtime) == 0
    assert state_of(sandbox).ml.token_calls["authorization_code"] == 0
    # The initiator's own browser still completes it.
    assert (await client.get(CALLBACK, params=query)).status_code == 200


async def test_a_dashboard_session_of_another_user_is_refused(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    colleague = await sign_up(
        runtime, client, email="colega@tienda.co", tenant="Tienda A", role="admin"
    )
    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    client.cookies.set("conexapi_session", colleague.token)
    try:
        response = await client.get(CALLBACK, params=query)
    finally:
        client.cookies.delete("conexapi_session")
    assert response.status_code == 400
    assert response.json()["code"] == "oauth_browser_mismatch"
    assert await _count_connections(runtime) == 0


async def test_the_initiator_must_still_be_active(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    from conexapi.accounts.models import User

    authorize = await client.get(AUTHORIZE, headers=owner.headers)
    query = await consent(sandbox, authorize.json()["authorization_url"])
    async with transaction(runtime.sessions) as session:
        await session.execute(update(User).where(User.id == owner.user_id).values(is_active=False))
    response = await client.get(CALLBACK, params=query)
    assert response.status_code == 400
    assert response.json()["code"] == "oauth_user_inactive"
    assert await _count_connections(runtime) == 0
