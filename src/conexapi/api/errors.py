"""Every error leaves as JSON `{"code", "message"}` (plus `details` when useful), never a trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from conexapi.core.errors import AppError, IntegrationError

log = structlog.get_logger("conexapi.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _json(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = None
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        if (
            exc.status_code == 429
            and isinstance(exc.details, dict)
            and "retry_after" in exc.details
        ):
            headers = {"Retry-After": str(exc.details["retry_after"])}
        return _json(exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return _json(422, "validation_error", f"Invalid {where}: {first['message']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _json(exc.status_code, code, message)

    @app.exception_handler(IntegrationError)
    async def integration_error(_: Request, exc: IntegrationError) -> JSONResponse:
        log.warning(
            "integration.error",
            vendor=exc.vendor,
            status=exc.status_code,
            vendor_code=exc.vendor_code,
        )
        return _json(
            502,
            "upstream_error",
            f"{exc.vendor} answered: {exc.message}",
            {"vendor": exc.vendor, "vendor_code": exc.vendor_code},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled", path=request.url.path)
        return _json(
            500,
            "internal_error",
            "Something went wrong on our side; it was logged. Please try again.",
        )
