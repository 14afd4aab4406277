from __future__ import annotations

import time

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from conexapi.api.deps import RuntimeDep
from conexapi.api.outage import outage_response
from conexapi.core.metrics import metrics_authorized, render
from conexapi.sync.stats import QueueStats, QueueStatsCache, render_stats

log = structlog.get_logger("conexapi.health")

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> dict[str, object] | JSONResponse:
    """Ready when the database answers: `{"status": "ready", "database": "ok",
    "database_ms": ...}`; else 503 `database_unavailable` with `Retry-After` (a load balancer
    takes this replica out while the database is away)."""
    started = time.perf_counter()
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readyz.database_unavailable", error=type(exc).__name__)
        return outage_response()
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "ready", "database": "ok", "database_ms": elapsed}


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
