from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from conexapi.accounts import service
from conexapi.accounts.models import Role
from conexapi.accounts.schemas import (
    MeRead,
    PasswordChange,
    TenantRead,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from conexapi.accounts.throttle import ThrottlePolicy
from conexapi.api.deps import AdminDep, ClaimsDep, OwnerDep, RuntimeDep, SessionDep, client_address
from conexapi.db import DbId

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=254, description="The e-mail.")],
    password: Annotated[str, Form(max_length=500)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenResponse:
    """OAuth2 password form (`username` = e-mail). Throttled per e-mail and client address:
    429 with `Retry-After` when over the limit."""
    settings = runtime.settings
    user = await service.authenticate(
        session,
        runtime.sessions,
        email=username,
        password=password,
        address=client_address(request, settings.forwarded_allow_ips),
        policy=ThrottlePolicy(settings.login_max_failures, settings.login_lockout_seconds),
    )
    token = runtime.tokens.issue(
        user_id=user.id, tenant_id=user.tenant_id, role=user.role, version=user.token_version
    )
    return TokenResponse(access_token=token, expires_in=runtime.tokens.ttl_seconds)


@router.post("/auth/sign-out-everywhere", status_code=204)
async def sign_out_everywhere(claims: ClaimsDep, session: SessionDep) -> Response:
    """Every token of the caller, this one included, stops working at once."""
    await service.sign_out_everywhere(session, tenant_id=claims.tenant_id, user_id=claims.user_id)
    return Response(status_code=204)


@router.post("/me/password", status_code=204)
async def change_password(body: PasswordChange, claims: ClaimsDep, session: SessionDep) -> Response:
    """Changes the caller's password; every token issued before (this one too) stops working."""
    await service.change_password(
        session,
        tenant_id=claims.tenant_id,
        user_id=claims.user_id,
        current=body.current_password,
        new=body.new_password,
    )
    return Response(status_code=204)


@router.get("/me", response_model=MeRead)
async def me(claims: ClaimsDep, session: SessionDep) -> MeRead:
    user, tenant = await service.get_me(session, tenant_id=claims.tenant_id, user_id=claims.user_id)
    return MeRead(user=UserRead.model_validate(user), tenant=TenantRead.model_validate(tenant))


@router.get("/users", response_model=list[UserRead])
async def list_users(claims: AdminDep, session: SessionDep) -> list[UserRead]:
    """The tenant's users (administrators and owners: a viewer can't list who has access)."""
    users = await service.list_users(session, tenant_id=claims.tenant_id)
    return [UserRead.model_validate(u) for u in users]


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: DbId, claims: AdminDep, session: SessionDep) -> UserRead:
    user = await service.get_user(session, tenant_id=claims.tenant_id, user_id=user_id)
    return UserRead.model_validate(user)


@router.post("/users", response_model=UserRead, status_code=201)
async def add_user(body: UserCreate, claims: OwnerDep, session: SessionDep) -> UserRead:
    user = await service.add_user(
        session,
        tenant_id=claims.tenant_id,
        email=str(body.email),
        password=body.password,
        role=Role(body.role),
    )
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(
    user_id: DbId, body: UserUpdate, claims: OwnerDep, session: SessionDep
) -> UserRead:
    """Owners change a user's role or deactivate them (`is_active: false`): the user's tokens
    stop working at once. The last active owner can be neither demoted nor deactivated (409)."""
    user = await service.update_user(
        session,
        tenant_id=claims.tenant_id,
        user_id=user_id,
        role=body.role,
        is_active=body.is_active,
    )
    return UserRead.model_validate(user)
