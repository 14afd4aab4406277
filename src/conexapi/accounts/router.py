from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from conexapi.accounts import service
from conexapi.accounts.models import Role
from conexapi.accounts.schemas import MeRead, TenantRead, TokenResponse, UserCreate, UserRead
from conexapi.api.deps import AdminDep, ClaimsDep, OwnerDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenResponse)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenResponse:
    settings = runtime.settings
    user = await service.authenticate(
        session,
        email=form.username,
        password=form.password,
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
    )
    token = runtime.tokens.issue(user_id=user.id, tenant_id=user.tenant_id, role=user.role)
    return TokenResponse(access_token=token, expires_in=runtime.tokens.ttl_seconds)


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
async def get_user(user_id: int, claims: AdminDep, session: SessionDep) -> UserRead:
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
