"""The whole product in one process for integration tests: our app, a worker, the simulators.

Everything talks over in-process ASGI transports: ConexAPI's MercadoLibre and Siigo clients call
the simulators, and the MercadoLibre simulator delivers its notifications to our webhook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from conexapi.app import create_app
from conexapi.runtime import Runtime, build_http_client
from conexapi.sales.states import SaleState
from conexapi.sandbox import SandboxConfig, SandboxState, create_sandbox_app
from conexapi.sandbox.constants import SIIGO_ACCESS_KEY, SIIGO_USERNAME
from conexapi.settings import Settings
from conexapi.sync.policy import RetryPolicy
from conexapi.sync.worker import Worker
from tests.conftest import SignedIn, make_settings, sign_up

SANDBOX = "http://sandbox"
TERMINAL = {
    SaleState.INVOICED.value,
    SaleState.CREDITED.value,
    SaleState.SKIPPED.value,
    SaleState.NEEDS_ATTENTION.value,
    SaleState.DEAD.value,
    SaleState.WAITING.value,
}


def stack_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "meli_auth_url": f"{SANDBOX}/mercadolibre-auth",
        "meli_api_url": f"{SANDBOX}/mercadolibre",
        "siigo_api_url": f"{SANDBOX}/siigo",
        "siigo_requests_per_minute": 0,
        "stamp_poll_interval_seconds": 1,
        "data_recheck_seconds": 1,
        # The scenarios change orders faster than any real seller: no coalescing window, so a
        # change notified right after a sale was read is read at once (tests/sync/
        # test_forged_notifications.py sets one to test it).
        "notification_refetch_seconds": 0,
        # Nor a debounce: a notified sale is due at once (tests/sync/test_queue.py tests it).
        "notification_debounce_seconds": 0,
        "worker_concurrency": 4,
        # One seller per stack: its tests count claims per round, not fairness between sellers
        # (tests/sync/test_fair_claims.py, test_fairness.py).
        "worker_max_in_flight_per_integration": 256,
        "public_url": "http://127.0.0.1:8000",
        # Quick retries and sweep page retries still happen, on short real-time waits (the
        # defaults, 0.25 s and 1 s doubling, made every faulty call cost a test ~0.5-7 s).
        "vendor_call_retry_base_seconds": 0.01,
        "sweep_retry_base_seconds": 0.01,
    }
    values.update(overrides)
    return make_settings(db_url, **values)


@dataclass
class Stack:
    runtime: Runtime
    api: httpx.AsyncClient
    control: httpx.AsyncClient
    sandbox: SandboxState
    owner: SignedIn
    api_app: Any = None
    integration_id: int = 0
    workers: list[Worker] = field(default_factory=list)
    transport: httpx.AsyncBaseTransport | None = None

    @property
    def headers(self) -> dict[str, str]:
        return self.owner.headers

    def api_paths(self) -> list[tuple[str, list[str]]]:
        schema = self.api_app.openapi()
        return [(path, sorted(ops)) for path, ops in schema["paths"].items()]

    @asynccontextmanager
    async def other_process(self) -> AsyncIterator[Runtime]:
        """What another worker process has: its own runtime (engine, token memory, product
        checks...) on the same database and simulators."""
        runtime = await wired_runtime(self.runtime.settings, self.transport)
        try:
            yield runtime
        finally:
            await runtime.aclose()

    def worker(self, runtime: Runtime | None = None, **kw: Any) -> Worker:
        policy = kw.pop(
            "policy",
            RetryPolicy(base_seconds=0.05, cap_seconds=0.2, rate_limit_default_seconds=0.05),
        )
        w = Worker(runtime or self.runtime, policy=policy, **kw)
        self.workers.append(w)
        return w

    async def connect(
        self, *, settings: dict[str, Any] | None = None, create_shipping_product: bool = True
    ) -> dict[str, Any]:
        siigo = await self.api.post(
            "/api/v1/connections/siigo",
            json={"username": SIIGO_USERNAME, "access_key": SIIGO_ACCESS_KEY},
            headers=self.headers,
        )
        assert siigo.status_code == 201, siigo.text
        ml_id = await self.connect_mercadolibre()
        body: dict[str, Any] = {
            "mercadolibre_connection_id": ml_id,
            "siigo_connection_id": siigo.json()["id"],
            "create_shipping_product": create_shipping_product,
        }
        if settings is not None:
            body["settings"] = settings
        integration = await self.api.post("/api/v1/integrations", json=body, headers=self.headers)
        assert integration.status_code == 201, integration.text
        self.integration_id = integration.json()["id"]
        return dict(integration.json())

    async def connect_mercadolibre(self) -> int:
        authorize = await self.api.get(
            "/api/v1/connections/mercadolibre/authorize", headers=self.headers
        )
        assert authorize.status_code == 200, authorize.text
        consent = await self.control.get(authorize.json()["authorization_url"])
        assert consent.status_code in (302, 303), consent.text
        location = urlsplit(consent.headers["location"])
        callback = await self.api.get(f"{location.path}?{location.query}")
        assert callback.status_code == 200, callback.text
        return int(callback.json()["id"])

    async def generate(self, count: int, **kw: Any) -> list[dict[str, Any]]:
        r = await self.control.post("/_sandbox/scenarios/generate", json={"count": count, **kw})
        assert r.status_code == 200, r.text
        await self.sandbox.notifier.drain()
        sales: list[dict[str, Any]] = r.json()["sales"] if isinstance(r.json(), dict) else r.json()
        return sales

    async def advance(self) -> None:
        r = await self.control.post("/_sandbox/scenarios/advance")
        assert r.status_code == 200, r.text
        await self.sandbox.notifier.drain()

    async def settle(
        self, *, rounds: int = 60, workers: int = 1, runtime: Runtime | None = None
    ) -> None:
        """Runs workers (of `runtime`, by default the stack's) until no sale is due any more
        (retries included)."""
        pool = [self.worker(runtime) for _ in range(workers)]
        idle = 0
        for _ in range(rounds):
            done = sum(await asyncio.gather(*(w.run_once() for w in pool)))
            if done == 0:
                idle += 1
                if idle > 3 and not await self._anything_due_soon():
                    return
                await asyncio.sleep(0.1)
            else:
                idle = 0

    async def _anything_due_soon(self) -> bool:
        from datetime import timedelta

        from sqlalchemy import func, select

        from conexapi.db import utcnow
        from conexapi.sync.models import Sale

        async with self.runtime.sessions() as session:
            n = (
                await session.execute(
                    select(func.count(Sale.id)).where(
                        Sale.next_attempt_at.is_not(None),
                        Sale.next_attempt_at <= utcnow() + timedelta(seconds=2),
                    )
                )
            ).scalar_one()
        return bool(n)

    async def siigo(self, what: str) -> list[dict[str, Any]]:
        r = await self.control.get(f"/_sandbox/siigo/{what}")
        assert r.status_code == 200, r.text
        data = r.json()
        return list(data if isinstance(data, list) else data.get("items") or data.get(what) or [])

    async def sales(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.api.get(
            "/api/v1/sales", params={"page_size": 200, **params}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


async def wired_runtime(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> Runtime:
    """A runtime whose MercadoLibre and Siigo clients call the in-process simulators."""
    runtime = Runtime.build(settings)
    await runtime.meli_http.aclose()
    await runtime.siigo_http.aclose()
    runtime.meli_http = build_http_client(settings.mercadolibre.api_url, transport=transport)
    runtime.siigo_http = build_http_client(settings.siigo.api_url, transport=transport)
    return runtime


@asynccontextmanager
async def running_stack(
    settings: Settings, *, sandbox_config: SandboxConfig | None = None
) -> AsyncIterator[Stack]:
    config = sandbox_config or SandboxConfig(
        seed=11,
        initial_sales=0,
        notification_retry_interval_seconds=0.01,
        siigo_requests_per_minute=0,
    )
    config = config.model_copy(update={"notify_url": "http://testserver/webhooks/mercadolibre"})
    sandbox_app = create_sandbox_app(config)
    state: SandboxState = sandbox_app.state.sandbox
    transport = httpx.ASGITransport(app=sandbox_app)
    runtime = await wired_runtime(settings, transport)
    app = create_app(runtime=runtime)
    state.notifier.transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Origin": "http://testserver"},
        ) as api,
        httpx.AsyncClient(transport=transport, base_url=SANDBOX) as control,
    ):
        owner = await sign_up(runtime, api, email="vendedor@tienda.co", tenant="Tienda Stack")
        stack = Stack(
            runtime=runtime,
            api=api,
            control=control,
            sandbox=state,
            owner=owner,
            api_app=app,
            transport=transport,
        )
        try:
            yield stack
        finally:
            for w in stack.workers:
                w.stop()
            await runtime.aclose()
