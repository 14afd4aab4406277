"""What a process builds once from the settings and shares: engine, sessions, crypto, HTTP clients,
and the process's bounded memories.

The API (`app.create_app`) and the worker (`sync.worker`) both start from a `Runtime`; nothing is
built at import time. The parts owned by higher packages (the token keepers, the Siigo limiter,
the webhook's intake batcher, the product-check and token memories) are typed attributes, built on
first use by their owner's accessor (`connections.renewal.keeper_for`,
`erps.siigo.client.siigo_limiter`, `marketplaces.mercadolibre.client.meli_app_limiter`,
`marketplaces.mercadolibre.webhooks.intake_batcher`,
`connections.known_products.product_checks`, `connections.token_memo.token_memo`,
`connections.catalogs.load_tax_rates`) with sizes from the settings, and closed by `aclose`.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conexapi import __version__
from conexapi.core.clock import Clock, SystemClock
from conexapi.core.signals import WorkSignal
from conexapi.db import create_engine, create_sessionmaker
from conexapi.security.encryption import SecretBox
from conexapi.security.keys import KeyMaterial, load_keys
from conexapi.security.passwords import configure_hashing
from conexapi.security.tokens import TokenService
from conexapi.settings import Settings

if TYPE_CHECKING:  # only for the attributes' types: their modules import this one
    from cachetools import TTLCache

    from conexapi.connections.known_products import ProductChecks
    from conexapi.connections.rate_limit import RateLimiter
    from conexapi.connections.renewal import TokenKeeper
    from conexapi.connections.token_memo import TokenMemo
    from conexapi.core.outbound import Resolver
    from conexapi.erps.siigo.documents.taxes import TaxRate
    from conexapi.inbox.batcher import IntakeBatcher

USER_AGENT = f"ConexAPI/{__version__}"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs), built once per process: loading the CA
    bundle costs ~20 ms of CPU, and every runtime builds two vendor clients."""
    return httpx.create_ssl_context()


def build_http_client(
    base_url: str, *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client per vendor, shared by every tenant; credentials go per request."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=5.0),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        # Connect errors only: nothing was sent, so a retry cannot duplicate anything.
        transport=transport or httpx.AsyncHTTPTransport(retries=2, verify=tls_context()),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secrets: SecretBox
    tokens: TokenService
    meli_http: httpx.AsyncClient
    siigo_http: httpx.AsyncClient
    # Where the signing and encryption keys came from (configured, or the data directory's file).
    keys: KeyMaterial | None = None
    # Built on first use by the package that owns each (see the module docstring).
    token_keepers: dict[str, TokenKeeper] = field(default_factory=dict)  # by vendor
    token_memo: TokenMemo | None = None
    product_checks: ProductChecks | None = None
    tax_catalogs: TTLCache[int, dict[int, TaxRate]] | None = None  # by connection id
    siigo_limiter: RateLimiter | None = None
    # The MercadoLibre application's request budget (`mercadolibre.client.meli_app_limiter`).
    meli_limiter: RateLimiter | None = None
    # What rate limits and per-call retries read and sleep on, and what ages the product checks
    # (`connections.known_products`); tests inject a `ManualClock`.
    clock: Clock = field(default_factory=SystemClock)
    intake: IntakeBatcher | None = None
    # Wakes this process's workers when a notification is stored (`core.signals`).
    work_signal: WorkSignal = field(default_factory=WorkSignal)
    # How names of URLs called on a tenant's behalf resolve (None: the system's resolver;
    # tests put one that resolves without DNS).
    url_resolver: Resolver | None = None
    # The application id MercadoLibre notifications must carry (None: not checked).
    meli_application_id: str | None = field(init=False)

    def __post_init__(self) -> None:
        meli = self.settings.mercadolibre
        self.meli_application_id = meli.application_id or (
            meli.client_id if meli.client_id and meli.client_id.isdigit() else None
        )

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        # Every table must be known to SQLAlchemy before the first flush (foreign keys), in
        # every kind of process: API, worker, CLI.
        import conexapi.models  # noqa: F401

        configure_hashing(
            time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
        )
        keys = load_keys(settings)
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            secrets=SecretBox(keys.fernet_keys),
            tokens=TokenService(
                keys.jwt_secret,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.jwt_ttl_seconds,
            ),
            meli_http=build_http_client(settings.mercadolibre.api_url, timeout=30.0),
            # Siigo asks clients to wait up to 120 s for document creation before giving up.
            siigo_http=build_http_client(settings.siigo.api_url, timeout=120.0),
            keys=keys,
        )

    async def aclose(self) -> None:
        for keeper in self.token_keepers.values():
            await keeper.aclose()
        if self.intake is not None:
            await self.intake.aclose()
        await self.meli_http.aclose()
        await self.siigo_http.aclose()
        await self.engine.dispose()
