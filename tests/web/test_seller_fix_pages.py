"""The dashboard's fixes, as a seller uses them (forms posted like the browser does, against the
simulators): one fix per SKU for all its sales, a buyer without fiscal data, every integration
setting, Vista previa and going live, "facturadas por fuera" with the count confirmed, and alerts
that tell the truth."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from conexapi.alerts.models import Alert
from conexapi.alerts.service import raise_alert
from conexapi.db import transaction
from conexapi.sales.clock import colombia_today
from tests.stack import Stack, running_stack, stack_settings
from tests.web.conftest import csrf_of, web_login


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def test_sales_of_one_sku_are_grouped_and_fixed_together(stack: Stack) -> None:
    await stack.generate(8, kinds=["unknown_sku"] * 8)
    await stack.settle()
    csrf = await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/sales?state=needs_attention")
    assert page.status_code == 200
    assert "Por causa" in page.text
    assert "· 8 ventas" in page.text
    assert "Asociar y reintentar las 8" in page.text
    # The rows point to the group instead of repeating the same form eight times.
    assert "/map-products" not in page.text
    assert page.text.count("Corregir en «Por causa»") == 8
    sku = re.search(r'data-sku-group="([^"]+)"', page.text)
    assert sku is not None
    # Every sale lists what was sold: title, SKU, quantity, price.
    one = (await stack.sales())[0]
    sale_page = await stack.api.get(f"/app/sales/{one['id']}")
    assert "Productos de la venta" in sale_page.text
    assert sku.group(1) in sale_page.text
    integration = re.search(r'name="integration_id" value="(\d+)"', page.text)
    assert integration is not None
    # A code Siigo does not have is refused, nothing saved, nothing retried.
    refused = await stack.api.post(
        "/app/sales/bulk/map-sku",
        data={
            "csrf_token": csrf,
            "integration_id": integration.group(1),
            "sku": sku.group(1),
            "erp_code": "NO-EXISTE",
        },
    )
    after = await stack.api.get(refused.headers["location"])
    assert "No existe en Siigo un producto con ese código." in after.text
    assert {s["state"] for s in await stack.sales()} == {"needs_attention"}
    mapped = await stack.api.post(
        "/app/sales/bulk/map-sku",
        data={
            "csrf_token": csrf,
            "integration_id": integration.group(1),
            "sku": sku.group(1),
            "erp_code": "SOPCEL-CARRO",
        },
    )
    assert mapped.status_code == 303
    after = await stack.api.get(mapped.headers["location"])
    assert "8 venta(s) en cola para reintentar" in after.text
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["invoiced"] * 8


async def test_a_buyer_without_fiscal_data_is_fixed_on_the_sale(stack: Stack) -> None:
    csrf = await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/integration")
    assert 'name="consumer_fallback"' in page.text
    assert "upload_invoice_to_marketplace" in page.text
    # Every setting stays as it is except consumidor final, turned off, and the upload, on.
    form = {
        "csrf_token": csrf_of(page.text),
        "_booleans": "1",
        "stamp": "on",
        "credit_notes_auto": "on",
        "prices_include_iva": "on",
        "upload_invoice_to_marketplace": "on",
    }
    saved = await stack.api.post(f"/app/integration/{stack.integration_id}/settings", data=form)
    assert saved.status_code == 303
    read = await stack.api.get(
        f"/api/v1/integrations/{stack.integration_id}", headers=stack.headers
    )
    settings = read.json()["settings"]
    assert settings["consumer_fallback"] is None
    assert settings["upload_invoice_to_marketplace"] is True
    assert "consumer_fallback" not in read.json()["proposals"]  # chosen by a person now

    await stack.generate(1, kinds=["missing_billing"])
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["error"]["code"] == "missing_fiscal_data"
    page = await stack.api.get(f"/app/sales/{sale['id']}")
    assert "Facturar a consumidor final" in page.text
    assert "Ingresar CC/NIT" in page.text
    bad = await stack.api.post(
        f"/app/sales/{sale['id']}/buyer",
        data={
            "csrf_token": csrf,
            "id_type": "NIT",
            "identification": "900123456-1",
            "name": "X SAS",
        },
    )
    shown = await stack.api.get(bad.headers["location"])
    assert "dígito de verificación" in shown.text
    ok = await stack.api.post(
        f"/app/sales/{sale['id']}/buyer", data={"csrf_token": csrf, "consumer_final": "1"}
    )
    assert ok.status_code == 303
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    [invoice] = await stack.siigo("invoices")
    assert invoice["customer"]["identification"] == "222222222222"


async def test_preview_shows_the_invoice_and_one_switch_goes_live(stack: Stack) -> None:
    csrf = await web_login(stack.api, stack.owner.email)
    r = await stack.api.post(
        f"/app/integration/{stack.integration_id}/preview", data={"csrf_token": csrf}
    )
    assert r.status_code == 303
    await stack.generate(2, kinds=["single", "shipping_buyer"])
    await stack.settle()
    page = await stack.api.get("/app/integration")
    assert "Pasar a facturación real" in page.text
    assert "2 ventas en vista previa" in page.text
    for sale in await stack.sales():
        detail = await stack.api.get(f"/app/sales/{sale['id']}")
        assert "Vista previa: lo que se enviaría a Siigo" in detail.text
        assert "Forma de pago" in detail.text
        assert "Total factura" in detail.text
    assert await stack.siigo("invoices") == []
    live = await stack.api.post(
        f"/app/integration/{stack.integration_id}/go-live",
        data={"csrf_token": csrf, "invoice_from": colombia_today().isoformat()},
    )
    shown = await stack.api.get(live.headers["location"])
    assert "Facturación real activada: 2 venta(s) se facturan ahora" in shown.text
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    assert len(await stack.siigo("invoices")) == 2


async def test_bulk_actions_confirm_the_count(stack: Stack) -> None:
    csrf = await web_login(stack.api, stack.owner.email)
    # Brought in while previewing: read from MercadoLibre (their sale date known), not invoiced.
    await stack.api.post(
        f"/app/integration/{stack.integration_id}/preview", data={"csrf_token": csrf}
    )
    await stack.generate(2, kinds=["single", "company_buyer"])
    await stack.settle()
    today = colombia_today().isoformat()
    page = await stack.api.get(
        f"/app/sales/bulk?action=elsewhere&date_from={today}&date_to={today}"
    )
    assert page.status_code == 200
    assert 'data-count="2"' in page.text
    assert "Marcar las 2" in page.text
    # Counted 2, but the seller confirms 3: nothing changes, the page asks again.
    stale = await stack.api.post(
        "/app/sales/bulk/elsewhere",
        data={"csrf_token": csrf, "expected_count": "3", "date_from": today, "date_to": today},
    )
    again = await stack.api.get(stale.headers["location"])
    assert "El número de ventas cambió" in again.text
    done = await stack.api.post(
        "/app/sales/bulk/elsewhere",
        data={
            "csrf_token": csrf,
            "expected_count": "2",
            "date_from": today,
            "date_to": today,
            "reason": "Facturadas a mano",
        },
    )
    assert done.status_code == 303
    await stack.settle()
    sales = await stack.sales()
    assert {s["state"] for s in sales} == {"skipped"}
    assert await stack.siigo("invoices") == []
    detail = await stack.api.get(f"/app/sales/{sales[0]['id']}")
    assert "Facturadas a mano" in detail.text
    assert stack.owner.email in detail.text
    # Retrying everything asks with the number first.
    confirm = await stack.api.get("/app/sales/bulk?action=retry")
    assert 'data-count="0"' in confirm.text


async def test_alerts_end_with_their_condition_and_link_to_real_pages(stack: Stack) -> None:
    await stack.generate(1, kinds=["unknown_sku"])
    await stack.settle()
    tenant_id = stack.owner.tenant_id
    async with transaction(stack.runtime.sessions) as session:
        # What an older version left: a reconnected account's alert, and Spanish paths.
        await raise_alert(
            session,
            tenant_id=tenant_id,
            kind="connection_needs_reauth",
            subject="connection:1",
            message="La conexión con MercadoLibre necesita volver a autorizarse.",
            data={"path": "/app/conexiones"},
        )
        await raise_alert(
            session,
            tenant_id=tenant_id,
            kind="sales_need_attention",
            subject="sales",
            message="7 ventas requieren atención",
            data={"count": 7, "path": "/app/ventas?state=needs_attention"},
        )
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/sales")
    assert "necesita volver a autorizarse" not in page.text  # the account is connected
    assert "1 venta requiere atención" in page.text  # counted now, not 7
    assert "/app/ventas" not in page.text
    assert "/app/conexiones" not in page.text
    assert 'href="/app/sales?state=needs_attention"' in page.text
    async with stack.runtime.sessions() as session:
        kinds = {a.kind for a in (await session.execute(select(Alert))).scalars()}
    assert "connection_needs_reauth" in kinds


async def test_every_buyer_without_data_to_consumidor_final_at_once(stack: Stack) -> None:
    r = await stack.api.patch(
        f"/api/v1/integrations/{stack.integration_id}",
        json={"settings": {"consumer_fallback": None}},
        headers=stack.headers,
    )
    assert r.status_code == 200, r.text
    await stack.generate(1, kinds=["missing_billing"], seed=5)
    await stack.generate(1, kinds=["missing_billing"], seed=6)
    await stack.settle()
    csrf = await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/sales")
    assert "Facturar las 2 a consumidor final" in page.text
    confirm = await stack.api.get("/app/sales/bulk?action=consumer")
    assert 'data-count="2"' in confirm.text
    done = await stack.api.post(
        "/app/sales/bulk/consumer", data={"csrf_token": csrf, "expected_count": "2"}
    )
    assert done.status_code == 303
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    customers = {i["customer"]["identification"] for i in await stack.siigo("invoices")}
    assert customers == {"222222222222"}


async def test_turning_consumidor_final_on_invoices_the_sales_that_waited(stack: Stack) -> None:
    """A setting a sale waited for, saved on the dashboard, sends it again by itself."""
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/integration")
    form = {
        "csrf_token": csrf_of(page.text),
        "_booleans": "1",
        "stamp": "on",
        "credit_notes_auto": "on",
        "prices_include_iva": "on",
    }
    saved = await stack.api.post(f"/app/integration/{stack.integration_id}/settings", data=form)
    assert saved.status_code == 303
    await stack.generate(2, kinds=["missing_billing"] * 2)
    await stack.settle()
    assert {s["error"]["code"] for s in await stack.sales()} == {"missing_fiscal_data"}
    page = await stack.api.get("/app/integration")
    saved = await stack.api.post(
        f"/app/integration/{stack.integration_id}/settings",
        data={**form, "csrf_token": csrf_of(page.text), "consumer_fallback": "on"},
    )
    assert saved.status_code == 303
    assert "Configuración guardada" in (await stack.api.get(saved.headers["location"])).text
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["invoiced"] * 2
    invoices = await stack.siigo("invoices")
    assert {i["customer"]["identification"] for i in invoices} == {"222222222222"}
    one = (await stack.sales())[0]
    timeline = await stack.api.get(f"/app/sales/{one['id']}")
    assert "Se guardó la configuración de la integración" in timeline.text
