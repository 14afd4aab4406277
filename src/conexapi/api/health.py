from __future__ import annotations

import time

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from conexapi.api.deps import RuntimeDep
from conexapi.api.outage import outage_response
from conexapi.core.metrics import REGISTRY

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
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
