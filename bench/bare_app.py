"""The reference of the intake benchmark: a bare FastAPI endpoint that only answers 200.

Served by the same uvicorn command as ConexAPI's API (`bench.common.uvicorn_cmd`), so the ratio
between the two is the cost of ConexAPI's intake (validation, durable dedup, making the sale due).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/mercadolibre")
    async def notification() -> dict[str, Any]:
        return {"status": "accepted"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
