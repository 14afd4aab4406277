"""What a process builds once from the settings and shares: engine, sessions, crypto, HTTP clients.

The API (`app.create_app`) and the worker (`sync.worker`) both start from a `Runtime`; nothing is
built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conexapi import __version__
from conexapi.core.clock import Clock, SystemClock
from conexapi.db import create_engine, create_sessionmaker
from conexapi.security.encryption import SecretBox
from conexapi.security.tokens import TokenService
from conexapi.settings import Settings

USER_AGENT = f"ConexAPI/{__version__}"


def build_http_client(
    base_url: str, *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client per vendor, shared by every tenant; credentials go per request."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=5.0),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        # Connect errors only: nothing was sent, so a retry cannot duplicate anything.
        transport=transport or httpx.AsyncHTTPTransport(retries=2),
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
    extras: dict[str, object] = field(default_factory=dict)
    # What rate limits and per-call retries read and sleep on (tests inject a `ManualClock`).
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        # Every table must be known to SQLAlchemy before the first flush (foreign keys), in
        # every kind of process: API, worker, CLI.
        import conexapi.models  # noqa: F401

        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            secrets=SecretBox(settings.fernet_keys),
            tokens=TokenService(
                settings.jwt_secret,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.jwt_ttl_seconds,
            ),
            meli_http=build_http_client(settings.mercadolibre.api_url, timeout=30.0),
            # Siigo asks clients to wait up to 120 s for document creation before giving up.
            siigo_http=build_http_client(settings.siigo.api_url, timeout=120.0),
        )

    async def aclose(self) -> None:
        for extra in self.extras.values():
            closer = getattr(extra, "aclose", None)
            if closer is not None:
                await closer()
        await self.meli_http.aclose()
        await self.siigo_http.aclose()
        await self.engine.dispose()
