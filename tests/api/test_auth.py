from __future__ import annotations

import time

import httpx
import jwt
import pytest

from conexapi.runtime import Runtime
from tests.conftest import SignedIn, sign_up


async def test_login_returns_a_bearer_jwt_and_me_answers(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    response = await client.get("/api/v1/me", headers=owner.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "owner@tienda.co"
    assert body["user"]["role"] == "owner"
    assert body["tenant"]["name"] == "Tienda A"


async def test_wrong_password_is_401_with_the_error_model(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": owner.email, "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Wrong e-mail or password.",
    }


async def test_repeated_failures_are_throttled_even_for_the_right_password(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    for _ in range(3):  # login_max_failures=3 in the test settings
        r = await client.post("/api/v1/auth/token", data={"username": owner.email, "password": "x"})
        assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/token", data={"username": owner.email, "password": "s3cret-pass"}
    )
    assert r.status_code == 429
    assert r.json()["code"] == "login_throttled"
    assert int(r.headers["Retry-After"]) > 0


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "mutation", ["alg_none", "tampered", "expired", "wrong_audience", "garbage"]
)
async def test_bad_tokens_are_401(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn, mutation: str
) -> None:
    assert runtime.keys is not None
    secret = runtime.keys.jwt_secret
    claims = jwt.decode(owner.token, options={"verify_signature": False})
    if mutation == "alg_none":
        token = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    elif mutation == "tampered":
        token = jwt.encode(
            {**claims, "role": "owner", "tid": 999},
            "another-secret-that-is-long-enough-32b",
            "HS256",
        )
    elif mutation == "expired":
        token = jwt.encode({**claims, "exp": int(time.time()) - 10}, secret, "HS256")
    elif mutation == "wrong_audience":
        token = jwt.encode({**claims, "aud": "someone-else"}, secret, "HS256")
    else:
        token = "not.a.jwt"
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    expected = "token_expired" if mutation == "expired" else "invalid_token"
    assert r.json()["code"] == expected


async def test_owner_adds_users_and_viewers_cannot(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    r = await client.post(
        "/api/v1/users",
        json={"email": "contador@tienda.co", "password": "libros-2026", "role": "viewer"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "viewer"
    login = await client.post(
        "/api/v1/auth/token", data={"username": "contador@tienda.co", "password": "libros-2026"}
    )
    viewer_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = await client.post(
        "/api/v1/users",
        json={"email": "x@tienda.co", "password": "12345678", "role": "owner"},
        headers=viewer_headers,
    )
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_role"
    dup = await client.post(
        "/api/v1/users",
        json={"email": "contador@tienda.co", "password": "libros-2026"},
        headers=owner.headers,
    )
    assert dup.status_code == 409


async def test_another_tenants_user_is_404(
    client: httpx.AsyncClient, owner: SignedIn, other_owner: SignedIn
) -> None:
    r = await client.get(f"/api/v1/users/{other_owner.user_id}", headers=owner.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "user_not_found"


async def test_bad_input_gets_a_clear_error(client: httpx.AsyncClient, owner: SignedIn) -> None:
    r = await client.post(
        "/api/v1/users",
        content=b"{not json",
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
    r = await client.post(
        "/api/v1/users",
        json={"email": "a@b.co", "password": "12345678", "admin": True},
        headers=owner.headers,
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/users",
        content=b"x" * 2_000_000,
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


async def test_health_ready_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json()["database"] == "ok"
    await client.get("/healthz")
    metrics = await client.get("/metrics")
    assert "conexapi_http_requests_total" in metrics.text
    assert (await client.get("/nope")).json()["code"] == "not_found"
    assert (await client.get("/healthz")).headers["x-request-id"]


async def test_sign_up_helper_isolates_tenants(client: httpx.AsyncClient, runtime: Runtime) -> None:
    a = await sign_up(runtime, client, email="a@a.co", tenant="A")
    b = await sign_up(runtime, client, email="b@b.co", tenant="B")
    assert a.tenant_id != b.tenant_id
