"""The dashboard in a real browser (Playwright driving Debian's Chromium) against the whole
stack in-process: the simulators, the API + dashboard served by uvicorn, and the worker.

Walks what a seller does on day one: sign in, connect Siigo (form) and MercadoLibre (OAuth
consent), create the integration with the proposed settings, watch a sale become an invoice, fix
an unmapped SKU and retry, open the reports and export the CSV. Screenshots of the main pages go
to a temporary folder, or to $CONEXAPI_SCREENSHOTS_DIR (docs/screenshots/ for the README).

Needs /usr/bin/chromium: `scripts/ensure-browser.sh` installs it (apt-get) when missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Page, async_playwright

from conexapi.accounts.service import create_user
from conexapi.app import create_app
from conexapi.db import transaction
from conexapi.migrations import upgrade_async
from conexapi.runtime import Runtime
from conexapi.sandbox import SandboxConfig, start_sandbox_in_thread
from conexapi.sandbox.constants import (
    ML_CLIENT_ID,
    ML_CLIENT_SECRET,
    SANDBOX_APPLICATION_ID,
    SIIGO_ACCESS_KEY,
    SIIGO_USERNAME,
)
from conexapi.settings import Settings
from conexapi.sync.sweep import sweep_due_integrations
from conexapi.sync.worker import Worker

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots go to a temporary folder; to refresh the README's pictures run
# `CONEXAPI_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest tests/e2e/test_dashboard_browser.py`.
SHOTS = Path(
    os.environ.get("CONEXAPI_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="conexapi-shots-")
)
EMAIL, PASSWORD = "vendedor@tienda.co", "clave-segura-1"


def _require_chromium() -> None:
    # Not a skip: without the browser this test cannot vouch for the dashboard, so it fails.
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: run `sh scripts/ensure-browser.sh` (make test does it as root)."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    base_url: str
    sandbox_url: str
    runtime: Runtime
    worker: Worker


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox_in_thread(
        SandboxConfig(seed=11, initial_sales=0, notify_url=f"{base}/webhooks/mercadolibre")
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        public_url=base,
        meli_client_id=ML_CLIENT_ID,
        meli_client_secret=ML_CLIENT_SECRET,
        meli_application_id=str(SANDBOX_APPLICATION_ID),
        meli_auth_url=f"{sandbox.base_url}/mercadolibre-auth",
        meli_api_url=f"{sandbox.base_url}/mercadolibre",
        siigo_api_url=f"{sandbox.base_url}/siigo",
        worker_poll_interval_seconds=0.2,
        stamp_poll_interval_seconds=1,
        sweep_interval_seconds=3600,
        log_json=False,
        log_level="WARNING",
    )
    await upgrade_async(settings.database_url)
    runtime = Runtime.build(settings)
    async with transaction(runtime.sessions) as session:
        await create_user(session, email=EMAIL, password=PASSWORD, tenant_name="Tienda E2E")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime=runtime),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
        await asyncio.sleep(0.02)
    worker = Worker(runtime)
    working = asyncio.create_task(worker.run())
    try:
        yield Stack(base, sandbox.base_url, runtime, worker)
    finally:
        worker.stop()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(working, 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
        await runtime.aclose()
        sandbox.stop()


async def _wait_for_text(page: Page, url: str, text: str, timeout: float = 25.0) -> None:
    """Reloads `url` until `text` shows (the worker runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(url)
        if text in await page.content():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not appear on {url}")
        await asyncio.sleep(0.7)


async def test_seller_day_one_in_the_browser(stack: Stack) -> None:
    _require_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, locale="es-CO", accept_downloads=True
        )
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            await _walk(page, stack)
        finally:
            await context.close()
            await browser.close()


async def _walk(page: Page, stack: Stack) -> None:
    p = page
    base = stack.base_url

    # 1. Sign in.
    await p.goto(f"{base}/app")
    assert "/app/login" in p.url
    await p.screenshot(path=str(SHOTS / "sign-in.png"))
    await p.fill("#email", EMAIL)
    await p.fill("#password", PASSWORD)
    await p.click("button[type=submit]")
    await p.wait_for_url(f"{base}/app")
    assert "Primeros pasos" in await p.content()

    # 2. Connect Siigo with the credentials form (a wrong key first: a clear message).
    await p.goto(f"{base}/app/connections")
    await p.fill("#siigo-user", SIIGO_USERNAME)
    await p.fill("#siigo-key", "wrong-key")
    await p.click("#connect-siigo")
    assert "Siigo no aceptó" in await p.content()
    await p.fill("#siigo-key", SIIGO_ACCESS_KEY)
    await p.click("#connect-siigo")
    await p.wait_for_selector("text=Siigo Nube conectado")

    # 3. Connect MercadoLibre: consent page (auto-approves) → callback → back here.
    await p.click("#connect-ml")
    await p.wait_for_url("**/app/connections?connected=mercadolibre")
    html = await p.content()
    assert "MercadoLibre quedó conectado" in html
    assert 'data-connection="mercadolibre" data-status="active"' in html
    await p.screenshot(path=str(SHOTS / "conexiones.png"), full_page=True)

    # 4. Create the integration with the proposed settings (and the shipping product).
    await p.goto(f"{base}/app/integration")
    await p.check("#c-ship")
    await p.click("#create-integration")
    await p.wait_for_selector("text=Integración creada")
    assert "Propuesto:" in await p.content()
    await p.screenshot(path=str(SHOTS / "integracion.png"), full_page=True)

    # 5. Sales happen in MercadoLibre: two ordinary ones and one with an unknown SKU.
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=30) as sandbox:
        generated = await sandbox.post(
            "/_sandbox/scenarios/generate",
            json={"count": 3, "kinds": ["single", "shipping_buyer", "unknown_sku"], "seed": 5},
        )
        assert generated.status_code == 200, generated.text
        products = (await sandbox.get("/_sandbox/siigo/products")).json()
    # Notifications arrive on the webhook; a sweep is the backstop (deterministic here).
    await sweep_due_integrations(stack.runtime, force=True)
    stack.worker.wake()

    # 6. A sale becomes an invoice with its number.
    await _wait_for_text(p, f"{base}/app/sales?state=invoiced", "Aceptada por la DIAN")
    assert "FV-" in await p.content() or "Facturada" in await p.content()
    await _wait_for_text(p, f"{base}/app/sales", "Asociar y reintentar")
    await p.screenshot(path=str(SHOTS / "ventas.png"), full_page=True)

    # 7. Open the needs_attention sale, map the SKU to an existing Siigo product, retry.
    await _wait_for_text(p, f"{base}/app/sales?state=needs_attention", "Asociar y reintentar")
    await p.click("tbody tr td a")
    await p.wait_for_selector("text=asocie el SKU a un producto de Siigo")
    sale_url = p.url
    # An existing, active Siigo product that is not the shipping service.
    code = next(x["code"] for x in products if x.get("active", True) and x.get("type") == "Product")
    await p.fill("input[name=erp_code]", code)
    await p.click("text=Asociar y reintentar")
    await p.wait_for_selector("text=se reintenta ahora")
    await _wait_for_text(p, sale_url, 'tone-ok">Facturada<')
    html = await p.content()
    assert "Desglose de la factura" in html
    assert "Ver documento" in html
    await p.screenshot(path=str(SHOTS / "venta.png"), full_page=True)

    # 8. Reports: profit with its chart, reconciliation, CSV export.
    await p.goto(f"{base}/app/reports")
    await p.wait_for_selector("svg[role=img]")
    await p.screenshot(path=str(SHOTS / "reportes.png"), full_page=True)
    async with p.expect_download() as info:
        await p.click("#export-profit")
    download = await info.value
    content = Path(await download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("venta_id,referencia_ml,fecha")
    assert len(text.splitlines()) >= 3  # header + the invoiced sales
