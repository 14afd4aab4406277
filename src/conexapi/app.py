"""create_app(): the HTTP API and the dashboard, built from settings, with nothing global."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from conexapi import __version__
from conexapi.accounts.router import router as accounts_router
from conexapi.alerts.router import router as alerts_router
from conexapi.api.errors import install_error_handlers
from conexapi.api.health import router as health_router
from conexapi.api.outage import install_outage_handlers
from conexapi.connections.router import router as connections_router
from conexapi.core.heap import freeze_startup_heap
from conexapi.core.logging import configure_logging
from conexapi.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from conexapi.core.security_headers import SecurityHeadersMiddleware
from conexapi.integrations.router import router as integrations_router
from conexapi.marketplaces.mercadolibre.webhooks import NotificationFastPath
from conexapi.marketplaces.mercadolibre.webhooks import router as webhooks_router
from conexapi.operations.router import jobs_router
from conexapi.operations.router import router as sales_router
from conexapi.reports.router import router as reports_router
from conexapi.runtime import Runtime
from conexapi.settings import Settings, load_settings
from conexapi.sync.stats import QueueStatsCache
from conexapi.web.router import STATIC_DIR, web_router


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    multiprocess_metrics: Path | None = None,
) -> FastAPI:
    """Builds the app. Pass a `runtime` to share one (tests, the demo); else it is built here.
    `multiprocess_metrics`: the directory where the processes of one `conexapi serve` share their
    metrics (`/metrics` then answers for all of them)."""
    settings = settings or (runtime.settings if runtime else load_settings())
    configure_logging(settings.log_level, json=settings.log_json)
    owns_runtime = runtime is None
    rt = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        freeze_startup_heap()
        yield
        if owns_runtime:
            await rt.aclose()

    # The API's map is for integrators, not for anyone on the internet: in production it is
    # served only when CONEXAPI_DOCS_ENABLED=true.
    docs = not settings.is_production or settings.docs_enabled
    app = FastAPI(
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="ConexAPI",
        version=__version__,
        description="MercadoLibre Colombia → Siigo Nube: every paid sale, exactly one invoice.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.multiprocess_metrics = multiprocess_metrics
    app.state.queue_stats = QueueStatsCache(rt.sessions, settings.metrics_queue_cache_seconds)
    install_error_handlers(app)
    install_outage_handlers(app)
    app.include_router(health_router)
    app.include_router(accounts_router)
    app.include_router(connections_router)
    app.include_router(integrations_router)
    app.include_router(webhooks_router)
    app.include_router(sales_router)
    app.include_router(jobs_router)
    app.include_router(reports_router)
    app.include_router(alerts_router)
    app.include_router(web_router)
    app.mount("/app/static", StaticFiles(directory=STATIC_DIR), name="web-static")
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    # Every response carries the security headers, errors included.
    app.add_middleware(SecurityHeadersMiddleware, https=settings.public_url.startswith("https://"))
    # Outermost: the webhook skips the framework (see NotificationFastPath); it sends the same
    # security headers itself, precomputed.
    app.add_middleware(NotificationFastPath, runtime=rt)
    return app
