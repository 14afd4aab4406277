"""The seller's fixes in a real browser (Chromium through Playwright, the whole stack in-process,
the harness of `test_dashboard_browser`): Vista previa and the switch that goes live; the sales
of one unknown SKU fixed together and a buyer without fiscal data fixed on the sale; sales
marked "facturadas por fuera" by date after confirming their count; alerts that link to pages
that exist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from playwright.async_api import Page, async_playwright
from sqlalchemy import func, select

from conexapi.sales.clock import colombia_today
from conexapi.sandbox.constants import SIIGO_ACCESS_KEY, SIIGO_USERNAME
from conexapi.sync.models import Sale
from conexapi.sync.sweep import sweep_due_integrations
from tests.e2e import test_dashboard_browser as harness
from tests.e2e.test_dashboard_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EMAIL,
    PASSWORD,
    Stack,
    _require_chromium,
    _wait_for_text,
)

pytestmark = pytest.mark.browser
stack = harness.stack  # the shared fixture: simulators, API + dashboard, worker


@asynccontextmanager
async def _browser() -> AsyncIterator[Page]:
    _require_chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport={"width": 1366, "height": 768},
            locale="es-CO",
            timezone_id="America/Bogota",
        )
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


async def _connected(p: Page, stack: Stack, *, preview: bool = False) -> None:
    """Signed in, Siigo and MercadoLibre connected, the integration created (proposed
    settings), in Vista previa when asked."""
    base = stack.base_url
    await p.goto(f"{base}/app")
    await p.fill("#email", EMAIL)
    await p.fill("#password", PASSWORD)
    await p.click("button[type=submit]")
    await p.wait_for_url(f"{base}/app")
    await p.goto(f"{base}/app/connections")
    await p.fill("#siigo-user", SIIGO_USERNAME)
    await p.fill("#siigo-key", SIIGO_ACCESS_KEY)
    await p.click("#connect-siigo")
    await p.wait_for_selector("text=Siigo Nube conectado")
    await p.click("#connect-ml")
    await p.wait_for_url("**/app/connections?connected=mercadolibre")
    await p.goto(f"{base}/app/integration")
    await p.check("#c-ship")
    await p.click("#create-integration")
    await p.wait_for_selector("text=Integración creada")
    if preview:
        await p.click("#start-preview")
        await p.wait_for_selector("text=Vista previa activada")


async def _wait_until_read(stack: Stack, count: int, timeout: float = 30.0) -> None:
    """Until `count` sales have their sale date (read from MercadoLibre) and no worker holds
    any of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with stack.runtime.sessions() as session:
            read = await session.scalar(
                select(func.count(Sale.id)).where(
                    Sale.sale_date.is_not(None), Sale.lease_owner.is_(None)
                )
            )
        if read == count:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{read} of {count} sales read"
        await asyncio.sleep(0.2)


async def _sales(stack: Stack, kinds: list[str], seed: int = 5) -> None:
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=30) as sandbox:
        r = await sandbox.post(
            "/_sandbox/scenarios/generate",
            json={"count": len(kinds), "kinds": kinds, "seed": seed},
        )
        assert r.status_code == 200, r.text
    await sweep_due_integrations(stack.runtime, force=True)
    stack.worker.wake()


async def _siigo_invoices(stack: Stack) -> list[object]:
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=30) as sandbox:
        data = (await sandbox.get("/_sandbox/siigo/invoices")).json()
    return list(data if isinstance(data, list) else data.get("items") or [])


async def test_preview_then_go_live_in_the_browser(stack: Stack) -> None:
    async with _browser() as p:
        base = stack.base_url
        await _connected(p, stack, preview=True)
        await _sales(stack, ["single", "shipping_buyer"])
        await _wait_for_text(p, f"{base}/app/integration", "2 ventas en vista previa")
        await p.goto(f"{base}/app/sales?state=waiting")
        await p.click("tbody tr td a")
        await p.wait_for_selector("text=Vista previa: lo que se enviaría a Siigo")
        html = await p.content()
        assert "Forma de pago" in html
        assert "Total factura" in html
        assert await _siigo_invoices(stack) == []
        # One switch, from today: both sales are invoiced.
        await p.goto(f"{base}/app/integration")
        await p.fill("#live-from", colombia_today().isoformat())
        await p.click("#go-live")
        await p.wait_for_selector("text=Facturación real activada")
        stack.worker.wake()
        await _wait_for_text(p, f"{base}/app/sales?state=invoiced", "2 ventas")
        assert len(await _siigo_invoices(stack)) == 2


async def test_unknown_sku_and_buyer_fixes_in_the_browser(stack: Stack) -> None:
    async with _browser() as p:
        base = stack.base_url
        await _connected(p, stack)
        # Consumidor final off: a buyer without fiscal data waits for the seller's choice.
        await p.goto(f"{base}/app/integration")
        await p.uncheck("#s-consumer")
        await p.click("#save-settings")
        await p.wait_for_selector("text=Configuración guardada")
        await _sales(stack, ["unknown_sku", "unknown_sku", "missing_billing"], seed=7)
        await _wait_for_text(p, f"{base}/app/sales?state=needs_attention", "Por causa")
        await _wait_for_text(p, f"{base}/app/sales?state=needs_attention", "· 2 ventas")
        # One form for both sales of the SKU, its code picked among Siigo's products.
        await p.fill("[data-sku-group] input[name=erp_code]", "SOPCEL-CARRO")
        await p.click("text=Asociar y reintentar las 2")
        await p.wait_for_selector("text=2 venta(s) en cola para reintentar")
        # The buyer without data: consumidor final, from its sale page.
        await _wait_for_text(p, f"{base}/app/sales?state=needs_attention", "no dio datos")
        await p.click("tbody tr:has-text('no dio datos') td a")
        await p.wait_for_selector("text=Productos de la venta")
        await p.click("text=Ingresar CC/NIT del comprador")
        await p.select_option("select[name=id_type]", "NIT")
        await p.fill("input[name=identification]", "900123456-1")
        await p.fill("input[name=name]", "Comercial Andina SAS")
        await p.click("text=Guardar y reintentar")
        await p.wait_for_selector("text=dígito de verificación")
        await p.click("button:has-text('Facturar a consumidor final')")
        await p.wait_for_selector("text=comprador guardado")
        stack.worker.wake()
        await _wait_for_text(p, f"{base}/app/sales?state=invoiced", "3 ventas")


async def test_invoiced_elsewhere_by_date_and_alert_links_in_the_browser(stack: Stack) -> None:
    async with _browser() as p:
        base = stack.base_url
        await _connected(p, stack, preview=True)
        await _sales(stack, ["single", "company_buyer", "unknown_sku"], seed=9)
        # All three read from MercadoLibre: two previewed, the unknown SKU waiting for a fix.
        await _wait_for_text(p, f"{base}/app/integration", "2 ventas en vista previa")
        await _wait_for_text(p, f"{base}/app/sales?state=needs_attention", "1 venta")
        # The count goes by sale date: every sale read and none in the middle of an attempt.
        await _wait_until_read(stack, 3)
        today = colombia_today().isoformat()
        await p.goto(f"{base}/app/sales")
        await p.click("text=Marcar ventas como facturadas por fuera (por fechas)")
        await p.fill("#bf-from", today)
        await p.fill("#bf-to", today)
        await p.click("text=Contar y confirmar")
        heading = await p.text_content("#h-confirm")
        assert heading is not None
        assert "Se marcarán 3 venta(s)" in heading
        await p.fill("#e-reason", "Facturadas a mano en noviembre")
        await p.click("#confirm-bulk")
        await p.wait_for_selector("text=3 venta(s) marcada(s)")
        await p.click("tbody tr td a")
        await p.wait_for_selector("text=Facturadas a mano en noviembre")
        # Every link an alert shows leads to a page that exists.
        await p.goto(f"{base}/app/alerts")
        for href in await p.eval_on_selector_all(
            "main a[href^='/app']", "els => els.map(e => e.getAttribute('href'))"
        ):
            async with httpx.AsyncClient(base_url=base) as client:
                cookies = {c["name"]: c["value"] for c in await p.context.cookies()}
                r = await client.get(href, cookies=cookies)
            assert r.status_code == 200, href
