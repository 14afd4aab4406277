"""`conexapi demo`: the whole product on one machine, with nothing to configure.

Starts the MercadoLibre and Siigo simulators, the API and a worker on a fresh SQLite database,
signs up the demo seller, connects both accounts through the real flows (OAuth consent, Siigo
credentials), accepts the proposed integration settings, backfills today's sales and keeps new
sales coming. Invoices appear within seconds; a few sales wait for attention on purpose: among
them 8 whose SKU Siigo has under another code, mapped with one action in "Productos por asociar".
The settings are written to `conexapi-demo.env` so that `conexapi doctor --env-file
conexapi-demo.env` checks the running demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from conexapi.app import create_app
from conexapi.migrations import upgrade_async
from conexapi.runtime import Runtime
from conexapi.sales.clock import colombia_today
from conexapi.sandbox import SandboxConfig, start_sandbox_in_thread
from conexapi.sandbox.constants import (
    ML_CLIENT_ID,
    ML_CLIENT_SECRET,
    SANDBOX_APPLICATION_ID,
    SIIGO_ACCESS_KEY,
    SIIGO_USERNAME,
)
from conexapi.settings import Settings, load_settings
from conexapi.sync.backfill import run_backfill
from conexapi.worker_process import build_worker

DEMO_EMAIL = "demo@conexapi.dev"
DEMO_PASSWORD = "demo1234"
DEMO_TENANT = "Tienda Demo"
DEMO_DB = "conexapi-demo.db"
DEMO_ENV = "conexapi-demo.env"
# Sales whose SKU Siigo has under another code: mapped with one action in Productos por asociar.
DEMO_UNMAPPED_SALES = 8


@dataclass
class DemoAccounts:
    token: str
    integration_id: int
    siigo_connection_id: int
    ml_connection_id: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_settings(port: int, sandbox_base: str, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_url": f"http://127.0.0.1:{port}",
        "meli_client_id": ML_CLIENT_ID,
        "meli_client_secret": ML_CLIENT_SECRET,
        "meli_application_id": str(SANDBOX_APPLICATION_ID),
        "meli_auth_url": f"{sandbox_base}/mercadolibre-auth",
        "meli_api_url": f"{sandbox_base}/mercadolibre",
        "siigo_api_url": f"{sandbox_base}/siigo",
        "worker_poll_interval_seconds": 0.5,
        "sweep_interval_seconds": 60,
        "stamp_poll_interval_seconds": 5,
        "log_json": False,
        "log_level": "WARNING",
    }
    values.update(extra)
    return load_settings(**values)


async def connect_everything(api: httpx.AsyncClient) -> DemoAccounts:
    """Signs in as the demo seller and connects both accounts through the public API."""
    login = await api.post(
        "/api/v1/auth/token", data={"username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    siigo = await api.post(
        "/api/v1/connections/siigo",
        json={"username": SIIGO_USERNAME, "access_key": SIIGO_ACCESS_KEY},
        headers=headers,
    )
    siigo.raise_for_status()
    authorize = await api.get("/api/v1/connections/mercadolibre/authorize", headers=headers)
    authorize.raise_for_status()
    # The sandbox consent page approves at once and redirects back to our callback, which wants
    # the nonce cookie the authorize answer set (the same "browser" completes what it started).
    async with httpx.AsyncClient(follow_redirects=True, timeout=30, cookies=api.cookies) as browser:
        callback = await browser.get(
            authorize.json()["authorization_url"], headers={"Accept": "application/json"}
        )
        callback.raise_for_status()
    connections = (await api.get("/api/v1/connections", headers=headers)).json()
    ml_id = next(c["id"] for c in connections if c["provider"] == "mercadolibre")
    integration = await api.post(
        "/api/v1/integrations",
        json={
            "mercadolibre_connection_id": ml_id,
            "siigo_connection_id": siigo.json()["id"],
            "create_shipping_product": True,
        },
        headers=headers,
    )
    integration.raise_for_status()
    return DemoAccounts(
        token=login.json()["access_token"],
        integration_id=integration.json()["id"],
        siigo_connection_id=siigo.json()["id"],
        ml_connection_id=ml_id,
    )


async def create_demo_user(runtime: Runtime) -> None:
    from conexapi.accounts.service import create_user
    from conexapi.db import transaction

    async with transaction(runtime.sessions) as session:
        await create_user(
            session, email=DEMO_EMAIL, password=DEMO_PASSWORD, tenant_name=DEMO_TENANT
        )


async def run_demo(
    *, port: int = 8000, sales: int = 12, stream_seconds: float = 5.0, seed: int | None = None
) -> None:
    """`seed` defaults to `CONEXAPI_DEMO_SEED` (the same sales every run)."""
    db_path = Path(DEMO_DB)
    _fresh_database(db_path)
    public = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox_in_thread(
        SandboxConfig(
            seed=load_settings().demo_seed if seed is None else seed,
            initial_sales=sales,
            notify_url=f"{public}/webhooks/mercadolibre",
            # The MercadoLibre application as DevCenter would have it for this ConexAPI.
            redirect_uri=f"{public}/api/v1/connections/mercadolibre/callback",
            notification_retry_interval_seconds=2.0,
        )
    )
    settings = demo_settings(port, sandbox.base_url, f"sqlite+aiosqlite:///./{db_path}")
    write_env_file(Path(DEMO_ENV), settings)
    await upgrade_async(settings.database_url)
    runtime = Runtime.build(settings)
    await create_demo_user(runtime)
    app = create_app(runtime=runtime)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    serve = asyncio.create_task(server.serve())
    while not server.started:
        if serve.done():
            await serve  # re-raises why it could not start (port in use...)
        await asyncio.sleep(0.05)
    worker = build_worker(runtime, shutdown_timeout=5.0)  # Ctrl+C stops the demo promptly
    work = asyncio.create_task(worker.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as api:
            accounts = await connect_everything(api)
            async with httpx.AsyncClient(base_url=sandbox.base_url) as control:
                # A SKU Siigo has under another code, on several sales: one action maps them all.
                await control.post(
                    "/_sandbox/scenarios/generate",
                    json={"kinds": ["unknown_sku"] * DEMO_UNMAPPED_SALES},
                )
            today = colombia_today().isoformat()
            job = await api.post(
                f"/api/v1/integrations/{accounts.integration_id}/backfill",
                json={"date_from": today, "date_to": today},
                headers={"Authorization": f"Bearer {accounts.token}"},
            )
            job.raise_for_status()
        # Bring today's sales in now rather than at the worker's next upkeep tick.
        await run_backfill(runtime, int(job.json()["id"]))
        worker.wake()
        async with httpx.AsyncClient(base_url=sandbox.base_url) as control:
            await control.post("/_sandbox/stream", json={"interval_seconds": stream_seconds})
        _banner(port, sandbox.base_url)
        await serve
    finally:
        worker.stop()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await work
        await runtime.aclose()
        sandbox.stop()


def write_env_file(path: Path, settings: Settings) -> None:
    """The demo's settings as `CONEXAPI_*` lines, for `conexapi doctor --env-file` (sandbox
    credentials only: the simulators' test keys, no real secret)."""
    values = {
        "CONEXAPI_DATABASE_URL": settings.database_url,
        "CONEXAPI_PUBLIC_URL": settings.public_url,
        "CONEXAPI_MELI_CLIENT_ID": settings.meli_client_id,
        "CONEXAPI_MELI_CLIENT_SECRET": ML_CLIENT_SECRET,
        "CONEXAPI_MELI_APPLICATION_ID": settings.meli_application_id,
        "CONEXAPI_MELI_AUTH_URL": settings.meli_auth_url,
        "CONEXAPI_MELI_API_URL": settings.meli_api_url,
        "CONEXAPI_SIIGO_API_URL": settings.siigo_api_url,
        "CONEXAPI_LOG_LEVEL": "WARNING",
    }
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items() if v is not None))


def _fresh_database(path: Path) -> None:
    """The demo starts clean each time: the simulators keep nothing between runs either."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _banner(port: int, sandbox_base: str) -> None:
    line = "=" * 64
    print(line)  # noqa: T201
    print(f"  ConexAPI demo is running: http://localhost:{port}/app")  # noqa: T201
    print(f"  Sign in with {DEMO_EMAIL} / {DEMO_PASSWORD}")  # noqa: T201
    print(f"  API docs: http://localhost:{port}/docs")  # noqa: T201
    print(f"  Simulators: {sandbox_base}/_sandbox/docs")  # noqa: T201
    print(f"  Check the setup: conexapi doctor --env-file {DEMO_ENV}")  # noqa: T201
    print("  New MercadoLibre sales arrive every few seconds; Ctrl+C stops.")  # noqa: T201
    print(line, flush=True)  # noqa: T201
