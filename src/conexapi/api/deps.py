"""FastAPI dependencies: the request's session (one transaction), the caller, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import Role
from conexapi.core.errors import Forbidden, Unauthorized
from conexapi.db import transaction
from conexapi.runtime import Runtime
from conexapi.security.tokens import TokenClaims

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the handler succeeds, else rolls back."""
    async with transaction(runtime.sessions) as session:
        yield session


# scope="function": commit before the response leaves, so a 2xx always means "stored".
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_claims(
    runtime: RuntimeDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> TokenClaims:
    if not token:
        raise Unauthorized(
            "Sign in first: send `Authorization: Bearer <token>`.", code="not_authenticated"
        )
    return runtime.tokens.verify(token)


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]


def require_role(minimum: Role) -> Callable[[TokenClaims], Coroutine[Any, Any, TokenClaims]]:
    async def check(claims: ClaimsDep) -> TokenClaims:
        if Role(claims.role).rank < minimum.rank:
            raise Forbidden(
                f"This action needs the {minimum.value} role.", code="insufficient_role"
            )
        return claims

    return check


AdminDep = Annotated[TokenClaims, Depends(require_role(Role.ADMIN))]
OwnerDep = Annotated[TokenClaims, Depends(require_role(Role.OWNER))]
