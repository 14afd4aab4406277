"""While the database is away (a restart, a failover) every endpoint answers 503
`{"code": "database_unavailable", "message": ...}` with `Retry-After`, and keeps the connection.

The handlers are registered for SQLAlchemy's own error classes, so Starlette's exception layer
answers them: a handler for `Exception` runs in the outermost layer, which re-raises after
answering, and uvicorn then closes the client's connection (a reset for a keep-alive client).
A database error that is not an outage is still logged and answered 500 here, connection kept.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from conexapi.db import is_database_unavailable

log = structlog.get_logger("conexapi.outage")

# A restart takes seconds; clients (and MercadoLibre's notifier) come back after this many.
RETRY_AFTER_SECONDS = 5
CODE = "database_unavailable"
MESSAGE = (
    "The database is not answering right now (a restart or a failover); nothing was changed. "
    "Try again in a few seconds."
)
DATABASE_ERRORS = (DBAPIError, PoolTimeoutError, DisconnectionError)


def outage_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def outage_response() -> JSONResponse:
    return JSONResponse(
        {"code": CODE, "message": MESSAGE}, status_code=503, headers=outage_headers()
    )


def install_outage_handlers(app: FastAPI) -> None:
    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            log.warning("http.database_unavailable", path=request.url.path)
            return outage_response()
        log.error("http.database_error", path=request.url.path, exc_info=exc)
        return JSONResponse(
            {
                "code": "internal_error",
                "message": "Something went wrong on our side; it was logged. Please try again.",
            },
            status_code=500,
        )

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, database_error)
