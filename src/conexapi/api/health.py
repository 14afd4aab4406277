from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from conexapi.api.deps import RuntimeDep
from conexapi.core.errors import AppError
from conexapi.core.metrics import metrics_authorized, render
from conexapi.sync.stats import QueueStats, QueueStatsCache, render_stats

log = structlog.get_logger("conexapi.metrics")

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> dict[str, str]:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise AppError(
            "The database does not answer.", code="database_unavailable", status_code=503
        ) from exc
    return {"status": "ready", "database": "ok"}


@router.get("/metrics")
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Every API process's counters (one `conexapi serve`), then the queue gauges."""
    settings = runtime.settings
    if not metrics_authorized(settings.metrics_token, request.headers.get("authorization")):
        return Response(
            b'{"code":"unauthorized","message":"Send Authorization: Bearer <metrics token>."}',
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache: QueueStatsCache = request.app.state.queue_stats
    stats: QueueStats | None = None
    try:
        stats = await cache.get()
    except Exception:  # the process's own metrics are still worth answering
        log.warning("metrics.queue_stats_failed", exc_info=True)
    return Response(
        render(request.app.state.multiprocess_metrics) + render_stats(stats),
        media_type=CONTENT_TYPE_LATEST,
    )
