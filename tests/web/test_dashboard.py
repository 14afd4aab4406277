"""The dashboard over HTTP: sign-in, CSRF, roles, tenant isolation, retries, CSV exports."""

from __future__ import annotations

import csv
import io

import httpx

from conexapi.alerts.service import scan_for_alerts
from conexapi.runtime import Runtime
from tests.conftest import SignedIn, sign_up
from tests.web.conftest import csrf_of, seed_sales, web_login

PAGES = [
    "/app",
    "/app/sales",
    "/app/reports",
    "/app/connections",
    "/app/integration",
    "/app/alerts",
]


async def test_root_redirects_and_pages_need_sign_in(client: httpx.AsyncClient) -> None:
    root = await client.get("/")
    assert root.status_code == 307
    assert root.headers["location"] == "/app"
    page = await client.get("/app/sales?state=dead")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/app/login?next=%2Fapp%2Fsales")
    job = await client.get("/app/jobs/1.json")
    assert job.status_code == 401


async def test_sign_in_sets_httponly_cookie_and_wrong_password_is_refused(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    page = await client.get("/app/login")
    assert 'lang="es-CO"' in page.text
    assert "Content-Security-Policy" in page.headers
    bad = await client.post(
        "/app/login",
        data={"email": owner.email, "password": "nope", "csrf_token": csrf_of(page.text)},
    )
    assert bad.status_code == 401
    assert "Correo o contraseña incorrectos" in bad.text
    ok = await client.post(
        "/app/login",
        data={
            "email": owner.email,
            "password": "s3cret-pass",
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/x",
        },
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/app"  # never an open redirect
    cookie = next(v for k, v in ok.headers.multi_items() if k == "set-cookie")
    assert "conexapi_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()


async def test_post_without_csrf_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    missing = await client.post(f"/app/sales/{ids['dead']}/retry", data={})
    assert missing.status_code == 403
    assert "formulario caducó" in missing.text
    forged = await client.post(f"/app/sales/{ids['dead']}/retry", data={"csrf_token": "x.y.z"})
    assert forged.status_code == 403
    # A token from another browser (another nonce cookie) does not pass either.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        foreign = csrf_of((await other.get("/app/login")).text)
    stolen = await client.post(f"/app/sales/{ids['dead']}/retry", data={"csrf_token": foreign})
    assert stolen.status_code == 403


async def test_every_page_renders_for_each_role(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await seed_sales(runtime, owner.tenant_id)
    await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    await sign_up(runtime, client, email="viewer@tienda.co", tenant="Tienda A", role="viewer")
    for email, can_edit in (
        (owner.email, True),
        ("admin@tienda.co", True),
        ("viewer@tienda.co", False),
    ):
        client.cookies.clear()
        await web_login(client, email)
        for path in PAGES:
            page = await client.get(path)
            assert page.status_code == 200, (email, path, page.text[:500])
        sales = await client.get("/app/sales")
        assert ("Reintentar" in sales.text) is can_edit
        assert "Requiere atención" in sales.text
        users = await client.get("/app/users")
        assert users.status_code == (200 if email == owner.email else 403)


async def test_viewer_cannot_retry(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await sign_up(runtime, client, email="viewer@tienda.co", tenant="Tienda A", role="viewer")
    csrf = await web_login(client, "viewer@tienda.co")
    response = await client.post(f"/app/sales/{ids['dead']}/retry", data={"csrf_token": csrf})
    assert response.status_code == 403
    assert "rol administrador" in response.text


async def test_sales_list_and_sale_page(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    page = await client.get("/app/sales")
    text = page.text
    # needs_attention first, with its reason and the one-click fix
    assert text.index("2000002") < text.index("2000001")
    assert "asocie el SKU a un producto de Siigo" in text
    assert 'value="ZZ-404"' in text
    assert "$ 129.700" in text
    filtered = await client.get("/app/sales?state=invoiced&q=Ana")
    assert "2000001" in filtered.text
    assert "2000002" not in filtered.text
    detail = await client.get(f"/app/sales/{ids['invoiced']}")
    assert detail.status_code == 200
    for expected in (
        "FV-1-77",
        "Aceptada por la DIAN",
        "https://siigo.example/fv/77",
        "ENVIOML",
        "Diferencia por redondeo",
        "$ 83.927,60",
        "Facturada",
    ):
        assert expected in detail.text, expected


async def test_another_tenants_sale_is_404(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn, other_owner: SignedIn
) -> None:
    theirs = await seed_sales(runtime, other_owner.tenant_id)
    csrf = await web_login(client, owner.email)
    page = await client.get(f"/app/sales/{theirs['invoiced']}")
    assert page.status_code == 404
    assert "No encontrado" in page.text
    retry = await client.post(f"/app/sales/{theirs['dead']}/retry", data={"csrf_token": csrf})
    assert retry.status_code == 404
    listing = await client.get("/app/sales")
    assert "2000001" not in listing.text


async def test_retry_one_and_all(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    csrf = await web_login(client, owner.email)
    one = await client.post(
        f"/app/sales/{ids['dead']}/retry",
        data={"csrf_token": csrf},
        headers={"referer": "http://testserver/app/sales?state=dead"},
    )
    assert one.status_code == 303
    assert one.headers["location"] == "/app/sales?state=dead"
    after = await client.get(one.headers["location"])
    assert "en cola para reintentar" in after.text
    assert "En cola · puesto 1" in after.text  # the row says where it is, not the old error
    detail = await client.get(f"/app/sales/{ids['dead']}")
    assert "Reintento pedido por owner@tienda.co" in detail.text
    all_ = await client.post("/app/sales/retry-all", data={"csrf_token": csrf, "state": ""})
    assert all_.status_code == 303
    assert "2 ventas en cola" in (await client.get("/app/sales")).text
    not_retryable = await client.post(
        f"/app/sales/{ids['invoiced']}/retry", data={"csrf_token": csrf}
    )
    assert not_retryable.status_code == 409


async def _map_unmapped_sku(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn, erp_code: str
) -> tuple[dict[str, int], httpx.Response]:
    """Seeds the sales, signs in and maps the attention sale's SKU ZZ-404 to `erp_code` from its
    page; returns the seeded ids and the page the form redirects to."""
    ids = await seed_sales(runtime, owner.tenant_id)
    csrf = await web_login(client, owner.email)
    response = await client.post(
        f"/app/sales/{ids['attention']}/map-products",
        data={"csrf_token": csrf, "sku": "ZZ-404", "erp_code": erp_code},
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    return ids, page


async def test_csv_exports(client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn) -> None:
    await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    reports = await client.get("/app/reports")
    assert reports.status_code == 200
    assert "<svg" in reports.text
    assert "$ 83.927,60" in reports.text
    assert "Pagada en MercadoLibre y sin factura" in reports.text
    profit = await client.get("/app/reports/profit.csv")
    assert profit.headers["content-type"].startswith("text/csv")
    assert "attachment" in profit.headers["content-disposition"]
    assert profit.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(profit.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["venta_id", "referencia_ml", "fecha"]
    assert rows[1][1] == "2000001"
    assert rows[1][-1] == "83927.60"
    recon = await client.get("/app/reports/reconciliation.csv")
    lines = list(csv.reader(io.StringIO(recon.content.decode("utf-8-sig"))))
    by_ref = {r[1]: r for r in lines[1:]}
    assert "Requiere atención" in by_ref["2000002"][10]
    assert "Pagada en MercadoLibre y sin factura" in by_ref["2000003"][10]
    api = await client.get("/api/v1/reports/reconciliation", headers=owner.headers)
    assert api.status_code == 200
    assert api.json()["summary"]["gaps"]["dead"] == 1
    api_csv = await client.get("/api/v1/reports/profit.csv", headers=owner.headers)
    assert api_csv.status_code == 200


async def test_alerts_are_raised_shown_and_resolved(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await seed_sales(runtime, owner.tenant_id)
    assert await scan_for_alerts(runtime) == 2
    assert await scan_for_alerts(runtime) == 2  # deduplicated while open
    await web_login(client, owner.email)
    home = await client.get("/app")
    assert "1 venta requiere atención" in home.text
    alerts = await client.get("/app/alerts")
    assert alerts.text.count("Abierta") >= 2


async def test_map_sku_with_invalid_code_explains_in_spanish(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    _, page = await _map_unmapped_sku(client, runtime, owner, "con espacios")
    assert "sin espacios ni comillas" in page.text
    assert "Requiere atención" in page.text
