"""One mapping from httpx outcomes to the `IntegrationError` tree, shared by every client.

`send()` performs one request (no retries: retries belong to the job layer, where each attempt is
recorded) and either returns a 2xx/3xx response or raises:

- `TransientError`: timeout, network failure, 5xx, 408 (safe to retry later);
- `RateLimitedError`: 429, with `retry_after` from `Retry-After` (or the vendor's message);
- `AuthError`: 401 (the auth flows already tried one renewal before this surfaces);
- `NotFoundError`: 404;
- `PermanentError`: any other 4xx, with the vendor's error code and message.

Each call is logged (method, path, status, duration; never headers or bodies) and counted in
`EXTERNAL_CALLS{vendor, outcome}` and `EXTERNAL_LATENCY{vendor, outcome}`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from conexapi.core.errors import (
    AuthError,
    IntegrationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from conexapi.core.metrics import EXTERNAL_CALLS, EXTERNAL_LATENCY

log = structlog.get_logger("conexapi.http")

ErrorParser = Callable[[httpx.Response], tuple[str | None, str]]
"""Reads a vendor's error body: (vendor error code or None, human message)."""

_RETRY_IN = re.compile(r"(?:try again|retry)[^0-9]{0,20}(\d{1,4})\s*(?:s\b|sec|seg)", re.I)
_BODY_EXCERPT = 500


def retry_after_seconds(response: httpx.Response, message: str = "") -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), else a "try again in N seconds" message."""
    raw = response.headers.get("Retry-After")
    if raw:
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                pass
    match = _RETRY_IN.search(message)
    if match:
        return float(match.group(1))
    return None


def body_excerpt(response: httpx.Response) -> Any:
    """The parsed JSON body (or a short text excerpt) kept on the error for diagnosis."""
    try:
        return response.json()
    except ValueError:
        return response.text[:_BODY_EXCERPT]


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parse_meli_error(response: httpx.Response) -> tuple[str | None, str]:
    """MercadoLibre: `error` → `code`, then `message` / `error_description`."""
    data = _json_object(response)
    code = data.get("error") or data.get("code")
    message = data.get("message") or data.get("error_description") or response.reason_phrase
    return (str(code) if code else None), str(message or f"HTTP {response.status_code}")


def parse_siigo_error(response: httpx.Response) -> tuple[str | None, str]:
    """Siigo: `Errors[0].Code/Message` (PascalCase) or `errors[0].code/message` (snake_case)."""
    data = _json_object(response)
    errors = data.get("Errors") or data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("Code") or first.get("code")
        message = first.get("Message") or first.get("message") or ""
        if len(errors) > 1:
            others = [
                str(e.get("Message") or e.get("message") or "")
                for e in errors[1:]
                if isinstance(e, dict)
            ]
            message = "; ".join([str(message), *[m for m in others if m]])
        return (str(code) if code else None), str(message or f"HTTP {response.status_code}")
    message = data.get("Message") or data.get("message") or response.reason_phrase
    return None, str(message or f"HTTP {response.status_code}")


def _outcome(exc: IntegrationError | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, RateLimitedError):
        return "rate_limited"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, NotFoundError):
        return "not_found"
    return "permanent"


def classify(response: httpx.Response, *, vendor: str, parse_error: ErrorParser) -> None:
    """Raises the matching `IntegrationError` for a non-success response; returns on success."""
    status = response.status_code
    if status < 400:
        return
    vendor_code, message = parse_error(response)
    kw: dict[str, Any] = {
        "vendor": vendor,
        "status_code": status,
        "vendor_code": vendor_code,
        "body": body_excerpt(response),
    }
    if status == 429:
        raise RateLimitedError(message, retry_after=retry_after_seconds(response, message), **kw)
    if status >= 500 or status == 408:
        raise TransientError(message, retry_after=retry_after_seconds(response, message), **kw)
    if status == 401:
        raise AuthError(message, **kw)
    if status == 404:
        raise NotFoundError(message, **kw)
    raise PermanentError(message, **kw)


async def send(
    http: httpx.AsyncClient,
    request: httpx.Request | str,
    url: str | None = None,
    *,
    vendor: str,
    parse_error: ErrorParser,
    auth: httpx.Auth | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Sends one request (an `httpx.Request`, or `method, url, **kwargs` for `build_request`).

    Returns the response when its status is below 400; raises an `IntegrationError` otherwise.
    The response body is fully read before returning.
    """
    if isinstance(request, str):
        if url is None:
            raise TypeError("send(http, method, url, ...) needs a url")
        request = http.build_request(request, url, **kwargs)
    elif kwargs or url is not None:
        raise TypeError("pass either an httpx.Request or method, url and keyword arguments")
    method, path = request.method, request.url.path
    started = time.perf_counter()
    error: IntegrationError | None = None
    status: int | None = None
    try:
        try:
            response = await http.send(
                request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
            )
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"{vendor} did not answer in time ({type(exc).__name__})", vendor=vendor
            ) from exc
        except httpx.NetworkError as exc:
            raise TransientError(
                f"cannot reach {vendor} ({type(exc).__name__})", vendor=vendor
            ) from exc
        except httpx.RemoteProtocolError as exc:
            raise TransientError(
                f"{vendor} closed the connection ({type(exc).__name__})", vendor=vendor
            ) from exc
        status = response.status_code
        classify(response, vendor=vendor, parse_error=parse_error)
        return response
    except IntegrationError as exc:
        error = exc
        raise
    finally:
        elapsed = time.perf_counter() - started
        elapsed_ms = round(elapsed * 1000, 1)
        outcome = _outcome(error)
        EXTERNAL_CALLS.labels(vendor=vendor, outcome=outcome).inc()
        EXTERNAL_LATENCY.labels(vendor=vendor, outcome=outcome).observe(elapsed)
        log.info(
            "external.call",
            vendor=vendor,
            method=method,
            path=path,
            status=status,
            outcome=outcome,
            vendor_code=error.vendor_code if error is not None else None,
            duration_ms=elapsed_ms,
        )
