"""What a browser-borne attacker could do to the dashboard: forms posted from another site or
with another session's token, framing, sniffing, `javascript:` links, cookies a sibling domain
could plant; and what the public surfaces reveal (API docs in production, users for viewers,
vendor calls for viewers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update

from conexapi.app import create_app
from conexapi.db import transaction
from conexapi.runtime import Runtime
from conexapi.settings import Settings
from conexapi.sync.models import Document
from conexapi.web.auth import verify_csrf
from tests.conftest import SignedIn, make_settings, sign_up
from tests.web.conftest import csrf_of, seed_sales, web_login

SECURE_URL = "https://conexapi.example"


def _depends_on(dependant: object, call: object) -> bool:
    for dep in getattr(dependant, "dependencies", []):
        if dep.call is call or _depends_on(dep, call):
            return True
    return False


def _all_routes(routes: list[object]) -> list[object]:
    found: list[object] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        found += _all_routes(included.routes) if included is not None else [route]
    return found


async def test_every_unsafe_dashboard_route_checks_csrf(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    unsafe = [
        r
        for r in _all_routes(list(app.routes))
        if isinstance(r, APIRoute)
        and r.path.startswith("/app")
        and set(r.methods or ()) - {"GET", "HEAD", "OPTIONS"}
    ]
    assert len(unsafe) > 10
    missing = [r.path for r in unsafe if not _depends_on(r.dependant, verify_csrf)]
    assert missing == []


async def test_a_token_from_another_session_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    colleague = await sign_up(runtime, client, email="otra@tienda.co", tenant="Tienda A")
    login_page = csrf_of((await client.get("/app/login")).text)  # before signing in
    csrf = await web_login(client, owner.email)
    retry = f"/app/sales/{ids['dead']}/retry"
    # The sign-in form's token (bound to no session) does not work once signed in.
    assert (await client.post(retry, data={"csrf_token": login_page})).status_code == 403
    # Same browser, same nonce cookie, but now another session: the owner's token is refused.
    client.cookies.set("conexapi_session", colleague.token)
    refused = await client.post(retry, data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "formulario caducó" in refused.text
    # The colleague's own page gives a token that works for them.
    fresh = csrf_of((await client.get("/app/alerts")).text)
    assert (await client.post(retry, data={"csrf_token": fresh})).status_code == 303


async def test_origin_and_referer_are_checked(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    csrf = await web_login(client, owner.email)
    retry = f"/app/sales/{ids['dead']}/retry"
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null", "Referer": "https://evil.example/x"},
    ):
        r = await client.post(retry, data={"csrf_token": csrf}, headers=headers)
        assert r.status_code == 403, headers
    # Neither header (not a browser's POST): refused.
    bare = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    bare.cookies = client.cookies
    async with bare:
        assert (await bare.post(retry, data={"csrf_token": csrf})).status_code == 403
        # A same-origin Referer without Origin passes (older browsers).
        ok = await bare.post(
            retry,
            data={"csrf_token": csrf},
            headers={"Referer": "http://testserver/app/sales"},
        )
        assert ok.status_code == 303


async def _headers_everywhere(client: httpx.AsyncClient, *, https: bool) -> None:
    answers = [
        await client.get("/app/login"),
        await client.get("/app/sales"),  # redirect to sign-in
        await client.get("/nope"),  # 404 from routing
        await client.get("/api/v1/me"),  # 401
        await client.get("/api/v1/sales/abc", headers={"Authorization": "Bearer x"}),
        await client.post("/webhooks/mercadolibre", content=b"{"),  # 400 from the fast path
        await client.get("/healthz"),
        await client.post("/app/login", data={}),  # 403 page (no CSRF)
    ]
    for r in answers:
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, (r.request.url, r.status_code)
        assert "script-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert ("strict-transport-security" in r.headers) is https
    assert {r.status_code for r in answers} >= {200, 303, 400, 401, 403, 404}


async def test_security_headers_on_every_response_errors_included(
    client: httpx.AsyncClient,
) -> None:
    await _headers_everywhere(client, https=False)


@pytest.fixture
async def secure(db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    runtime = Runtime.build(make_settings(db_url, public_url=SECURE_URL))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url=SECURE_URL, headers={"Origin": SECURE_URL}
    ) as c:
        yield c, runtime
    await runtime.aclose()


async def test_under_https_cookies_are_host_prefixed_and_hsts_is_sent(
    secure: tuple[httpx.AsyncClient, Runtime],
) -> None:
    client, runtime = secure
    owner = await sign_up(runtime, client, email="owner@tienda.co", tenant="Tienda A")
    page = await client.get("/app/login")
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("__Host-conexapi_csrf=")
    assert "Secure" in csrf_cookie
    assert "Path=/" in csrf_cookie
    assert "Domain" not in csrf_cookie
    signed_in = await client.post(
        "/app/login",
        data={"email": owner.email, "password": "s3cret-pass", "csrf_token": csrf_of(page.text)},
    )
    assert signed_in.status_code == 303
    session_cookie = signed_in.headers["set-cookie"]
    assert session_cookie.startswith("__Host-conexapi_session=")
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert (await client.get("/app")).status_code == 200
    # The OAuth nonce too.
    authorize = await client.get(
        "/api/v1/connections/mercadolibre/authorize", headers=owner.headers
    )
    assert authorize.headers["set-cookie"].startswith("__Host-conexapi_oauth_nonce=")
    await _headers_everywhere(client, https=True)


async def test_only_http_links_are_rendered(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    for evil in ("javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,x"):
        async with transaction(runtime.sessions) as session:
            await session.execute(update(Document).values(public_url=evil))
        page = await client.get(f"/app/sales/{ids['invoiced']}")
        assert page.status_code == 200
        assert "Ver documento" not in page.text
        squeezed = page.text.lower().replace(" ", "")
        assert 'href="javascript' not in squeezed
        assert 'href="data:text' not in squeezed
    async with transaction(runtime.sessions) as session:
        await session.execute(update(Document).values(public_url="https://siigo.example/fv/77"))
    page = await client.get(f"/app/sales/{ids['invoiced']}")
    assert 'href="https://siigo.example/fv/77"' in page.text


def _production(db_url: str, **extra: object) -> Settings:
    return make_settings(
        db_url,
        env="production",
        secret_key="k" * 64,
        encryption_key="8Xq2u1mF3m0Jb3o0q6Yc3Qz6m0m4d7yq0a5o8mH1pKQ=",
        **extra,
    )


async def test_api_docs_are_off_in_production_unless_enabled(db_url: str) -> None:
    for settings, served in (
        (_production(db_url), False),
        (_production(db_url, docs_enabled=True), True),
        (make_settings(db_url), True),
    ):
        runtime = Runtime.build(settings)
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for path in ("/docs", "/redoc", "/openapi.json"):
                r = await c.get(path)
                assert (r.status_code == 200) is served, (path, r.status_code, settings.env)
        await runtime.aclose()


async def test_viewers_cannot_list_users_nor_run_the_checks(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    viewer = await sign_up(runtime, client, email="ver@tienda.co", tenant="Tienda A", role="viewer")
    assert (await client.get("/api/v1/users", headers=viewer.headers)).status_code == 403
    r = await client.get(f"/api/v1/users/{owner.user_id}", headers=viewer.headers)
    assert r.status_code == 403
    assert (await client.get("/api/v1/users", headers=owner.headers)).status_code == 200
    # "Verificar configuración" calls MercadoLibre and Siigo: not for viewers.
    await web_login(client, viewer.email)
    page = await client.get("/app/doctor")
    assert page.status_code == 403
    assert "Verificar configuración" not in (await client.get("/app/connections")).text
