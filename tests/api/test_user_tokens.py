"""Every request loads its user: deactivation, demotion, deletion, sign-out-everywhere and a
password change take effect at once; owners manage users; the last owner stays."""

from __future__ import annotations

import time

import httpx
import jwt
from sqlalchemy import delete, update

from conexapi.accounts.models import User
from conexapi.db import transaction
from conexapi.runtime import Runtime
from tests.conftest import SignedIn, sign_up
from tests.web.conftest import csrf_of, web_login

ADMIN_WRITE = "/api/v1/sales/999999/retry"  # admins: 404 (no such sale); viewers: 403


async def _token(
    client: httpx.AsyncClient, email: str, password: str = "s3cret-pass"
) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_deactivated_users_token_is_refused_at_once(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    admin = await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{admin.user_id}", json={"is_active": False}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    r = await client.get("/api/v1/me", headers=admin.headers)
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"
    # And cannot sign in again until reactivated.
    login = await client.post(
        "/api/v1/auth/token", data={"username": admin.email, "password": "s3cret-pass"}
    )
    assert login.status_code == 401
    r = await client.patch(
        f"/api/v1/users/{admin.user_id}", json={"is_active": True}, headers=owner.headers
    )
    assert r.status_code == 200
    assert (
        await client.get("/api/v1/me", headers=await _token(client, admin.email))
    ).status_code == 200


async def test_a_demoted_admin_cannot_write_with_the_old_token(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    admin = await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    assert (await client.post(ADMIN_WRITE, headers=admin.headers)).status_code == 404
    r = await client.patch(
        f"/api/v1/users/{admin.user_id}", json={"role": "viewer"}, headers=owner.headers
    )
    assert r.status_code == 200
    assert r.json()["role"] == "viewer"
    assert (await client.post(ADMIN_WRITE, headers=admin.headers)).status_code == 401
    viewer = await _token(client, admin.email)
    r = await client.post(ADMIN_WRITE, headers=viewer)
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_role"


async def test_the_role_comes_from_the_database_not_the_token(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    admin = await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    async with transaction(runtime.sessions) as session:  # changed behind the API's back
        await session.execute(update(User).where(User.id == admin.user_id).values(role="viewer"))
    assert (await client.post(ADMIN_WRITE, headers=admin.headers)).status_code == 403
    async with transaction(runtime.sessions) as session:
        await session.execute(delete(User).where(User.id == admin.user_id))
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401


async def test_sign_out_everywhere_invalidates_every_token(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    laptop, phone = owner.headers, await _token(client, owner.email)
    assert (await client.get("/api/v1/me", headers=phone)).status_code == 200
    assert (
        await client.post("/api/v1/auth/sign-out-everywhere", headers=laptop)
    ).status_code == 204
    for headers in (laptop, phone):
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (
        await client.get("/api/v1/me", headers=await _token(client, owner.email))
    ).status_code == 200


async def test_a_password_change_ends_the_old_tokens(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": "wrong", "new_password": "nueva-clave-1"},
        headers=owner.headers,
    )
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": "s3cret-pass", "new_password": "nueva-clave-1"},
        headers=owner.headers,
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 401
    fresh = await _token(client, owner.email, "nueva-clave-1")
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200


async def test_the_last_active_owner_can_be_neither_demoted_nor_deactivated(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    for change in ({"role": "admin"}, {"is_active": False}):
        r = await client.patch(f"/api/v1/users/{owner.user_id}", json=change, headers=owner.headers)
        assert r.status_code == 409
        assert r.json()["code"] == "last_owner"
    second = await sign_up(runtime, client, email="socia@tienda.co", tenant="Tienda A")
    r = await client.patch(
        f"/api/v1/users/{owner.user_id}", json={"role": "admin"}, headers=second.headers
    )
    assert r.status_code == 200
    # Now `second` is the last owner; the demoted owner can no longer manage users.
    r = await client.patch(
        f"/api/v1/users/{second.user_id}", json={"is_active": False}, headers=second.headers
    )
    assert r.status_code == 409
    demoted = await _token(client, owner.email)
    r = await client.patch(
        f"/api/v1/users/{second.user_id}", json={"role": "viewer"}, headers=demoted
    )
    assert r.status_code == 403


async def test_only_owners_change_users_and_bad_bodies_are_422(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn, other_owner: SignedIn
) -> None:
    admin = await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    r = await client.patch(
        f"/api/v1/users/{owner.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert r.status_code == 403
    r = await client.patch(
        f"/api/v1/users/{admin.user_id}", json={"role": "root"}, headers=owner.headers
    )
    assert r.status_code == 422
    # Another tenant's user: 404.
    r = await client.patch(
        f"/api/v1/users/{owner.user_id}", json={"role": "viewer"}, headers=other_owner.headers
    )
    assert r.status_code == 404


async def test_a_signed_token_with_a_role_outside_the_enum_is_401(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    assert runtime.keys is not None
    claims = jwt.decode(owner.token, options={"verify_signature": False})
    for bad in ({"role": "superuser"}, {"sub": str(2**70)}, {"ver": "x"}):
        token = jwt.encode(
            {**claims, **bad, "exp": int(time.time()) + 60}, runtime.keys.jwt_secret, "HS256"
        )
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (bad, r.text)


async def test_the_dashboard_deactivates_users_and_signs_out_everywhere(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    admin = await sign_up(runtime, client, email="admin@tienda.co", tenant="Tienda A", role="admin")
    csrf = await web_login(client, owner.email)
    page = await client.get("/app/users")
    assert page.status_code == 200
    assert "Cerrar sesión en todos los dispositivos" in page.text
    r = await client.post(
        f"/app/users/{admin.user_id}", data={"role": "admin", "csrf_token": csrf}
    )  # the "Activo" box left unticked
    assert r.status_code == 303
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401
    # The last owner cannot switch themselves off from the page either.
    r = await client.post(
        f"/app/users/{owner.user_id}",
        data={"role": "viewer", "is_active": "true", "csrf_token": csrf},
    )
    assert r.status_code == 303
    page = await client.get("/app/users")
    assert "primero haga propietario a otro usuario" in page.text
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200
    csrf = csrf_of(page.text)
    r = await client.post("/app/logout-everywhere", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 401
    home = await client.get("/app")
    assert home.status_code in (302, 303, 307)  # the cookie's token no longer works
