"""create_sandbox_app: both simulators and the control API in one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from conexapi.sandbox import control, mercadolibre, siigo
from conexapi.sandbox.config import SandboxConfig
from conexapi.sandbox.ml_errors import MLHTTPError
from conexapi.sandbox.siigo_errors import SiigoHTTPError, siigo_error
from conexapi.sandbox.state import SandboxState


def create_sandbox_app(
    config: SandboxConfig | None = None, state: SandboxState | None = None
) -> FastAPI:
    sandbox = state or SandboxState(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.stop()

    app = FastAPI(
        title="ConexAPI sandbox (MercadoLibre + Siigo simulators)",
        lifespan=lifespan,
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sandbox

    @app.exception_handler(MLHTTPError)
    async def ml_error(request: Request, exc: MLHTTPError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(SiigoHTTPError)
    async def siigo_error_handler(request: Request, exc: SiigoHTTPError) -> JSONResponse:
        return JSONResponse(exc.body(sandbox.siigo_lowercase_error()), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        path = request.url.path
        if path.startswith("/siigo"):
            params = [".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()]
            error = SiigoHTTPError(400, [siigo_error("invalid_type", "Invalid value", params)])
            return JSONResponse(error.body(sandbox.siigo_lowercase_error()), status_code=400)
        if path.startswith("/mercadolibre"):
            err = MLHTTPError(400, "bad_request", "Invalid request parameters")
            return JSONResponse(err.body(), status_code=400)
        return JSONResponse({"detail": exc.errors()}, status_code=422)

    app.include_router(mercadolibre.auth_router)
    app.include_router(mercadolibre.api_router)
    app.include_router(siigo.router)
    app.include_router(control.router)
    return app
