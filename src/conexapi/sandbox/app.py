"""create_sandbox_app: both simulators and the control API in one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from email.utils import format_datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conexapi.sandbox import control, mercadolibre, siigo
from conexapi.sandbox.config import SandboxConfig
from conexapi.sandbox.ml_errors import MLHTTPError
from conexapi.sandbox.siigo_errors import SiigoHTTPError, siigo_error
from conexapi.sandbox.state import SandboxState


class VendorDate:
    """Both vendors send `Date` with their clock (here the sandbox's, which `PUT /_sandbox/clock`
    shifts): what a client compares its own clock with. Pure ASGI: the benchmarks go through it."""

    def __init__(self, app: ASGIApp, now: Callable[[], datetime]) -> None:
        self.app = app
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = format_datetime(self.now(), usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, with_date)


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

    # The state's clock is rebuilt on reset: read it at each answer.
    app.add_middleware(VendorDate, now=lambda: sandbox.clock.now())
    app.include_router(mercadolibre.auth_router)
    app.include_router(mercadolibre.api_router)
    app.include_router(siigo.router)
    app.include_router(control.router)
    return app
