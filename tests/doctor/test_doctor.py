"""`conexapi doctor` and "Verificar configuración": real calls, each check ok or a problem with
its fix, in English or Spanish; exit code 1 on any problem."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from conexapi.app import create_app
from conexapi.cli import app as cli
from conexapi.demo import write_env_file
from conexapi.doctor import Finding, problems, run_checks
from conexapi.migrations import upgrade_async
from conexapi.runtime import Runtime
from conexapi.sandbox import SandboxConfig, start_sandbox_in_thread
from conexapi.sandbox.constants import (
    DEFAULT_SELLER_ID,
    FV_ELECTRONIC_ID,
    SIIGO_ACCESS_KEY,
    SIIGO_USERNAME,
)
from tests.conftest import make_settings, sign_up
from tests.stack import Stack, running_stack, stack_settings
from tests.web.conftest import web_login


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        # The application as DevCenter would have it for this ConexAPI (the simulator delivers
        # in-process whatever the host).
        public = s.runtime.settings.public_url
        r = await s.control.put(
            "/_sandbox/mercadolibre/application",
            json={"notify_url": f"{public}/webhooks/mercadolibre"},
        )
        assert r.status_code == 200
        yield s


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def test_a_working_setup_passes_every_check(stack: Stack) -> None:
    await stack.generate(1, kinds=["single"])
    findings = await run_checks(stack.runtime)
    assert problems(findings) == [], [(f.check, f.message("en")) for f in problems(findings)]
    checks = {f.check for f in findings}
    assert {
        "database",
        "settings",
        "keys",
        "meli_redirect",
        "meli_notifications",
        "meli_topics",
        "meli_token",
        "meli_orders",
        "meli_billing",
        "siigo",
        "catalog_fv",
        "catalog_nc",
        "catalog_tax",
        "catalog_payment_fv",
        "catalog_payment_nc",
        "catalog_seller",
        "catalog_shipping",
        "clock",
    } <= checks
    clock = _by_check(findings)["clock"]
    assert clock.reason == "ok"  # the simulators send their Date, as the vendors do


async def test_each_problem_is_named_with_its_fix(stack: Stack) -> None:
    await stack.control.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"billing": False}
    )
    await stack.control.put(
        "/_sandbox/mercadolibre/application",
        json={"redirect_uri": "https://otra.example/callback", "notification_topics": ["items"]},
    )
    await stack.control.put("/_sandbox/clock", json={"offset_days": 1})
    company = stack.sandbox.siigo.default
    company.document_types[FV_ELECTRONIC_ID]["active"] = False
    findings = _by_check(await run_checks(stack.runtime))
    billing = findings["meli_billing"]
    assert not billing.ok
    assert "Facturación" in billing.message("es")
    assert "Permisos funcionales" in billing.fix("es")
    assert "Permisos funcionales" in billing.fix("en")
    assert not findings["meli_redirect"].ok
    assert "https://otra.example/callback" in findings["meli_redirect"].message("en")
    assert "/api/v1/connections/mercadolibre/callback" in findings["meli_redirect"].fix("en")
    assert not findings["meli_topics"].ok
    assert "orders_v2" in findings["meli_topics"].fix("es")
    assert not findings["clock"].ok
    assert findings["clock"].params["seconds"].startswith("86")
    assert findings["catalog_fv"].reason == "inactive"
    assert findings["meli_orders"].ok  # only the missing permission is named

    company.access_key = "otra-clave"
    findings = _by_check(await run_checks(stack.runtime))
    assert findings["siigo"].reason == "rejected"
    assert "Mi credencial API" in findings["siigo"].fix("es")


async def test_stored_secrets_that_do_not_decrypt_are_a_problem(stack: Stack) -> None:
    other = make_settings(stack.runtime.settings.database_url, encryption_key=_other_key())
    runtime = Runtime.build(other)
    try:
        findings = _by_check(await run_checks(runtime))
    finally:
        await runtime.aclose()
    assert findings["keys"].reason == "undecryptable"
    assert "CONEXAPI_OLD_ENCRYPTION_KEYS" in findings["keys"].fix("en")
    # The checks that need those secrets say so instead of stopping the report.
    assert findings["meli_token"].reason == "failed"
    assert "decrypt" in findings["meli_token"].message("en")
    assert "clock" in findings


def _other_key() -> str:
    from conexapi.security.encryption import SecretBox

    return SecretBox.generate_key()


async def test_the_verificar_configuracion_page_speaks_spanish(stack: Stack) -> None:
    await stack.control.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"billing": False}
    )
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/doctor")
    assert page.status_code == 200
    assert "Verificar configuración" in page.text
    assert 'data-check="meli_billing" data-ok="false"' in page.text
    assert "Cómo corregirlo" in page.text
    assert "Permisos funcionales" in page.text


# --- the command, against a sandbox over HTTP -------------------------------------------------


def test_the_command_passes_a_working_setup_and_names_a_missing_permission(
    tmp_path: Path,
) -> None:
    public = "http://127.0.0.1:18531"
    sandbox = start_sandbox_in_thread(
        SandboxConfig(
            seed=3,
            initial_sales=2,
            notify_url=f"{public}/webhooks/mercadolibre",
            redirect_uri=f"{public}/api/v1/connections/mercadolibre/callback",
        )
    )
    try:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'doctor.db'}",
            public_url=public,
            meli_auth_url=f"{sandbox.base_url}/mercadolibre-auth",
            meli_api_url=f"{sandbox.base_url}/mercadolibre",
            siigo_api_url=f"{sandbox.base_url}/siigo",
        )
        asyncio.run(_connect(settings))
        env = tmp_path / "doctor.env"
        write_env_file(env, settings)
        runner = CliRunner()
        ok = runner.invoke(cli, ["doctor", "--env-file", str(env)])
        assert ok.exit_code == 0, ok.output
        assert "[FAIL]" not in ok.output
        httpx.put(
            f"{sandbox.base_url}/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions",
            json={"billing": False},
        ).raise_for_status()
        failed = runner.invoke(cli, ["doctor", "--env-file", str(env), "--lang", "es"])
        assert failed.exit_code == 1, failed.output
        assert "[FAIL] Permiso: Facturación" in failed.output
        assert "Permisos funcionales, active «Facturación»" in failed.output
    finally:
        sandbox.stop()


async def _connect(settings: object) -> None:
    """Sign up and connect both accounts through the API, as a seller would."""
    from conexapi.settings import Settings

    assert isinstance(settings, Settings)
    await upgrade_async(settings.database_url)
    runtime = Runtime.build(settings)
    app = create_app(runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        ) as api:
            owner = await sign_up(runtime, api, email="dueno@tienda.co", tenant="Tienda Doctor")
            siigo = await api.post(
                "/api/v1/connections/siigo",
                json={"username": SIIGO_USERNAME, "access_key": SIIGO_ACCESS_KEY},
                headers=owner.headers,
            )
            assert siigo.status_code == 201, siigo.text
            authorize = await api.get(
                "/api/v1/connections/mercadolibre/authorize", headers=owner.headers
            )
            async with httpx.AsyncClient() as browser:
                consent = await browser.get(authorize.json()["authorization_url"])
            location = urlsplit(consent.headers["location"])
            callback = await api.get(f"{location.path}?{location.query}")
            assert callback.status_code == 200, callback.text
            created = await api.post(
                "/api/v1/integrations",
                json={
                    "mercadolibre_connection_id": callback.json()["id"],
                    "siigo_connection_id": siigo.json()["id"],
                    "create_shipping_product": True,
                },
                headers=owner.headers,
            )
            assert created.status_code == 201, created.text
    finally:
        await runtime.aclose()
