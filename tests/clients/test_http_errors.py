"""core.http.send: one classification of vendor outcomes (respx: cases simulators can't produce)."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from conexapi.connections.renewal import MARKER_STALE_SECONDS
from conexapi.core.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from conexapi.core.http import parse_meli_error, parse_siigo_error, send
from conexapi.core.metrics import EXTERNAL_CALLS
from conexapi.marketplaces.mercadolibre import oauth
from conexapi.runtime import build_http_client
from conexapi.settings import MercadoLibreSection

ML = "https://api.mercadolibre.test"
SIIGO = "https://api.siigo.test"


def _count(vendor: str, outcome: str) -> float:
    return float(EXTERNAL_CALLS.labels(vendor=vendor, outcome=outcome)._value.get())


async def _ml(path: str = "/orders/1") -> httpx.Response:
    async with build_http_client(ML) as http:
        return await send(http, "GET", path, vendor="mercadolibre", parse_error=parse_meli_error)


async def _siigo(method: str = "POST", path: str = "/v1/invoices") -> httpx.Response:
    async with build_http_client(SIIGO) as http:
        return await send(http, method, path, vendor="siigo", parse_error=parse_siigo_error)


@respx.mock
async def test_ml_429_with_retry_after_is_rate_limited() -> None:
    respx.get(f"{ML}/orders/1").respond(
        429,
        json={"message": "Too many requests", "error": "local_rate_limited", "status": 429},
        headers={"Retry-After": "7"},
    )
    before = _count("mercadolibre", "rate_limited")
    with pytest.raises(RateLimitedError) as info:
        await _ml()
    assert info.value.retry_after == 7.0
    assert info.value.vendor_code == "local_rate_limited"
    assert _count("mercadolibre", "rate_limited") == before + 1


@respx.mock
async def test_ml_500_and_408_are_transient() -> None:
    respx.get(f"{ML}/orders/1").respond(500, json={"message": "boom", "error": "internal_error"})
    respx.get(f"{ML}/orders/2").respond(408, text="timeout")
    with pytest.raises(TransientError) as info:
        await _ml()
    assert not isinstance(info.value, RateLimitedError)
    assert info.value.status_code == 500
    with pytest.raises(TransientError):
        await _ml("/orders/2")


@respx.mock
async def test_timeouts_and_network_errors_are_transient() -> None:
    respx.get(f"{ML}/orders/1").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.get(f"{ML}/orders/2").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError) as info:
        await _ml()
    assert info.value.status_code is None
    with pytest.raises(TransientError):
        await _ml("/orders/2")


@respx.mock
async def test_ml_400_keeps_vendor_code_and_message() -> None:
    respx.get(f"{ML}/orders/1").respond(
        403,
        json={
            "code": "PA_UNAUTHORIZED_RESULT_FROM_POLICIES",
            "blocked_by": "PolicyAgent",
            "status": 403,
            "message": "At least one policy returned UNAUTHORIZED.",
        },
    )
    respx.post(f"{ML}/oauth/token").respond(
        400,
        json={
            "error": "invalid_grant",
            "error_description": "Error validating grant",
            "status": 400,
        },
    )
    with pytest.raises(PermanentError) as info:
        await _ml()
    assert info.value.vendor_code == "PA_UNAUTHORIZED_RESULT_FROM_POLICIES"
    assert "policy" in info.value.message
    async with build_http_client(ML) as http:
        with pytest.raises(PermanentError) as grant:
            await send(
                http, "POST", "/oauth/token", vendor="mercadolibre", parse_error=parse_meli_error
            )
    assert grant.value.vendor_code == "invalid_grant"
    assert grant.value.message == "Error validating grant"


@respx.mock
async def test_404_is_not_found_and_401_is_auth() -> None:
    respx.get(f"{ML}/orders/1").respond(
        404, json={"message": "Order not found", "error": "not_found"}
    )
    respx.get(f"{ML}/orders/2").respond(401, json={"message": "invalid access token"})
    with pytest.raises(NotFoundError):
        await _ml()
    with pytest.raises(AuthError):
        await _ml("/orders/2")


@respx.mock
async def test_siigo_pascal_case_error_keeps_code() -> None:
    respx.post(f"{SIIGO}/v1/invoices").respond(
        400,
        json={
            "Status": 400,
            "Errors": [
                {
                    "Code": "invalid_total_payments",
                    "Message": "The total payments must be equal to the total invoice.",
                    "Params": ["payments"],
                    "Detail": None,
                }
            ],
        },
    )
    with pytest.raises(PermanentError) as info:
        await _siigo()
    assert info.value.vendor_code == "invalid_total_payments"
    assert info.value.status_code == 400
    assert isinstance(info.value.body, dict)


@respx.mock
async def test_siigo_snake_case_error_and_429_without_header() -> None:
    respx.post(f"{SIIGO}/v1/invoices").respond(
        400, json={"status": 400, "errors": [{"code": "invalid_code", "message": "bad code"}]}
    )
    respx.get(f"{SIIGO}/v1/taxes").respond(
        429,
        json={
            "Status": 429,
            "Errors": [
                {"Code": "requests_limit", "Message": "Limit exceeded, try again in 12 seconds"}
            ],
        },
    )
    respx.get(f"{SIIGO}/v1/users").respond(503, json={"Status": 503, "Errors": []})
    with pytest.raises(PermanentError) as info:
        await _siigo()
    assert info.value.vendor_code == "invalid_code"
    with pytest.raises(RateLimitedError) as limited:
        await _siigo("GET", "/v1/taxes")
    assert limited.value.vendor_code == "requests_limit"
    assert limited.value.retry_after == 12.0
    with pytest.raises(TransientError):
        await _siigo("GET", "/v1/users")


@respx.mock
async def test_success_passes_through_and_is_counted() -> None:
    respx.get(f"{ML}/users/me").respond(200, json={"id": 1})
    before = _count("mercadolibre", "ok")
    response = await _ml("/users/me")
    assert response.json() == {"id": 1}
    assert _count("mercadolibre", "ok") == before + 1


@respx.mock
async def test_ml_refresh_waits_long_for_its_answer_but_not_past_the_marker() -> None:
    """A refresh whose answer is lost may have rotated the single-use refresh token: the token
    call gets a long read timeout (other calls keep the client's 30 s), bounded so that another
    process never takes over a renewal still waiting for its answer."""
    seen: list[dict[str, float | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(
            200,
            json={
                "access_token": "APP_USR-new",
                "token_type": "Bearer",
                "expires_in": 21600,
                "scope": "offline_access read write",
                "user_id": 7,
                "refresh_token": "TG-new",
            },
        )

    respx.post(f"{ML}/oauth/token").mock(side_effect=answer)
    respx.get(f"{ML}/orders/1").mock(side_effect=answer)
    section = MercadoLibreSection(
        client_id="1",
        client_secret=SecretStr("s"),
        application_id="1",
        api_url=ML,
        auth_url=ML,
        use_pkce=True,
        redirect_uri="https://conexapi.test/cb",
        requests_per_second=10,
        max_wait_seconds=1,
        call_retries=0,
        call_retry_base_seconds=0.1,
    )
    async with build_http_client(ML) as http:
        tokens = await oauth.refresh(http, section, "TG-old")
        await send(http, "GET", "/orders/1", vendor="mercadolibre", parse_error=parse_meli_error)
    assert tokens.refresh_token == "TG-new"
    token_call, other_call = seen
    assert token_call["read"] == 60.0
    assert other_call["read"] == 30.0
    worst = sum(v or 0.0 for v in token_call.values())
    assert worst < MARKER_STALE_SECONDS, token_call
