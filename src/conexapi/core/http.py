"""One mapping from httpx outcomes to the `IntegrationError` tree, shared by every client.

`send()` performs one request (no retries: retries belong to the job layer, where each attempt is
recorded) and either returns a 2xx/3xx response or raises:

- `TransientError`: timeout, network failure, 5xx, 408 (safe to retry later);
- `RateLimitedError`: 429, with `retry_after` from `Retry-After` (or the vendor's message);
- `AuthError`: 401 (the auth flows already tried one renewal before this surfaces);
- `NotFoundError`: 404;
- `PermissionMissingError`: a 403 from MercadoLibre's PolicyAgent (the application lacks a
  functional permission);
- `PermanentError`: any other 4xx, with the vendor's error code and message.

Each call is logged (method, path, status, duration; never headers or bodies) and counted in
`EXTERNAL_CALLS{vendor, outcome}` and `EXTERNAL_LATENCY{vendor, outcome}`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from conexapi.core.errors import (
    AuthError,
    IntegrationError,
    NotFoundError,
    PermanentError,
    PermissionMissingError,
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


@dataclass(frozen=True)
class SiigoErrorItem:
    code: str | None
    message: str
    params: tuple[str, ...] = ()


def siigo_errors(body: Any) -> list[SiigoErrorItem]:
    """Every error of a Siigo error body, whichever casing it came in.

    The documented shape is PascalCase (`{"Status", "Errors": [{"Code", "Message", "Params",
    "Detail"}]}`, docs/vendors/siigo.md §4.1); production and the batch webhook also answer
    lowercase (`{"status", "errors": [{"code", "message", "params", "detail"}]}`, §16), and one body
    may mix both. Anything that reads a Siigo error goes through here.
    """
    if not isinstance(body, dict):
        return []
    errors = body.get("Errors")
    if not isinstance(errors, list):
        errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    items: list[SiigoErrorItem] = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        code = error.get("Code", error.get("code"))
        message = error.get("Message", error.get("message"))
        params = error.get("Params", error.get("params"))
        items.append(
            SiigoErrorItem(
                code=str(code) if code not in (None, "") else None,
                message=str(message or ""),
                params=tuple(str(p) for p in params) if isinstance(params, list) else (),
            )
        )
    return items


def parse_siigo_error(response: httpx.Response) -> tuple[str | None, str]:
    """Siigo: the first error's code, and every error's message (both casings, `siigo_errors`)."""
    data = _json_object(response)
    errors = siigo_errors(data)
    if errors:
        message = "; ".join(e.message for e in errors if e.message)
        return errors[0].code, message or f"HTTP {response.status_code}"
    message = data.get("Message") or data.get("message") or response.reason_phrase
    return None, str(message or f"HTTP {response.status_code}")


POLICY_AGENT_CODE = "PA_UNAUTHORIZED_RESULT_FROM_POLICIES"


def is_policy_block(status: int, body: Any) -> bool:
    """MercadoLibre's PolicyAgent refusing a resource the application has no permission for:
    `403 {"code": "PA_UNAUTHORIZED_RESULT_FROM_POLICIES", "blocked_by": "PolicyAgent"}`."""
    if status != 403 or not isinstance(body, dict):
        return False
    return body.get("code") == POLICY_AGENT_CODE or body.get("blocked_by") == "PolicyAgent"


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
    if is_policy_block(status, kw["body"]):
        raise PermissionMissingError(message, **kw)
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
