"""`POST /webhooks/mercadolibre`: validate, record once, make the sale due, answer 200 at once.

MercadoLibre may send hundreds of notifications a second and wants a 200 within 500 ms, so the
webhook is served by `NotificationFastPath`, a pure-ASGI layer in front of the FastAPI stack (no
routing through ~100 routes, no dependency injection, no request object); the FastAPI route below
runs the same `take_notification` and documents the endpoint in OpenAPI. Both answer the same
JSON, errors included (`{code, message}`), and a 200 always means "committed".
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from conexapi.api import outage
from conexapi.api.deps import RuntimeDep
from conexapi.core.errors import AppError
from conexapi.core.metrics import HTTP_LATENCY, HTTP_REQUESTS, NOTIFICATIONS
from conexapi.core.security_headers import security_headers
from conexapi.db import is_database_unavailable
from conexapi.inbox.batcher import IntakeBatcher
from conexapi.inbox.service import MeliNotification
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.webhooks")

router = APIRouter(tags=["webhooks"])

PATH = "/webhooks/mercadolibre"
MAX_NOTIFICATION_BYTES = 16_384


def intake_batcher(runtime: Runtime) -> IntakeBatcher:
    """The runtime's batcher (built on first use; closed, flushing, with the runtime)."""
    if runtime.intake is None:
        settings = runtime.settings
        runtime.intake = IntakeBatcher(
            runtime.engine,
            target_seconds=settings.intake_target_seconds,
            max_targets=settings.cache_connections,
            on_pending=runtime.work_signal.notify,
        )
    return runtime.intake


def _too_large() -> AppError:
    NOTIFICATIONS.labels("rejected_too_large").inc()
    return AppError("Notification body too large.", code="payload_too_large", status_code=413)


async def take_notification(runtime: Runtime, body: bytes) -> dict[str, Any]:
    """Validates one notification and returns once it is stored (or known to be a duplicate)."""
    if len(body) > MAX_NOTIFICATION_BYTES:
        raise _too_large()
    try:
        raw = json.loads(body)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        payload = MeliNotification.model_validate(raw)
    except (ValueError, ValidationError, RecursionError) as exc:  # 5,000 nested `[`: 400
        NOTIFICATIONS.labels("rejected_malformed").inc()
        raise AppError(
            "Not a MercadoLibre notification: expected JSON with resource, user_id, topic and "
            "application_id.",
            code="invalid_notification",
            status_code=400,
        ) from exc
    expected_app = runtime.meli_application_id
    if expected_app is not None and str(payload.application_id) != expected_app:
        NOTIFICATIONS.labels("ignored_foreign_application").inc()
        return {"status": "ignored", "reason": "foreign_application"}
    # Answered only after the batch holding this notification is committed: a 200 means stored.
    result = await intake_batcher(runtime).submit(payload, raw)
    return {"status": result.status, **({"reason": result.reason} if result.reason else {})}


@router.post("/webhooks/mercadolibre")
async def mercadolibre_notification(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    return await take_notification(runtime, await request.body())


_ACCEPTED_CONTENT = {"status": "accepted"}
_ACCEPTED = json.dumps(_ACCEPTED_CONTENT).encode()


class NotificationFastPath:
    """Serves `POST /webhooks/mercadolibre` ahead of the FastAPI stack; the rest passes through.

    It does what the generic middleware does for other routes (request id, metrics, body size
    limit, the `{code, message}` error body), in a few microseconds instead of the framework's
    tens: at 500+ notifications/s the framework's own overhead is most of the CPU.
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self._requests: dict[int, Any] = {}
        self._latency = HTTP_LATENCY.labels("POST", PATH)
        # The headers every response carries (core.security_headers), computed once.
        self._security = security_headers(https=runtime.settings.public_url.startswith("https://"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 200
        extra_headers: list[tuple[bytes, bytes]] = []
        try:
            body = await _read_body(receive)
            if body is None:
                return  # the client went away: nothing was taken, MercadoLibre will retry
            content: dict[str, Any] = await take_notification(self.runtime, body)
        except AppError as exc:
            status, content = exc.status_code, {"code": exc.code, "message": exc.message}
        except Exception as exc:
            if is_database_unavailable(exc):
                # Not stored, so not acknowledged: MercadoLibre delivers it again.
                log.warning("webhook.database_unavailable", request_id=request_id)
                status, content = 503, {"code": outage.CODE, "message": outage.MESSAGE}
                extra_headers = [(b"retry-after", str(outage.RETRY_AFTER_SECONDS).encode())]
            else:
                log.exception("http.unhandled", path=PATH, request_id=request_id)
                status = 500
                content = {
                    "code": "internal_error",
                    "message": "Something went wrong on our side; it was logged. Please try again.",
                }
        data = _ACCEPTED if content == _ACCEPTED_CONTENT else json.dumps(content).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *extra_headers,
                    *self._security,
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})
        counter = self._requests.get(status)
        if counter is None:
            counter = self._requests[status] = HTTP_REQUESTS.labels("POST", PATH, str(status))
        counter.inc()
        self._latency.observe(time.perf_counter() - started)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_NOTIFICATION_BYTES:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


# Request ids for notifications: a random per-process prefix and a counter (unique, and far
# cheaper than a uuid4 per request at thousands of requests a second).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers") or ():
        if key == b"x-request-id":
            return str(value.decode("latin-1"))[:128]
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
