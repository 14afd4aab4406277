"""FastAPI dependencies: the request's session (one transaction), the caller, role checks."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import Role
from conexapi.accounts.service import caller
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
    runtime: RuntimeDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> TokenClaims:
    """The caller, as the database has them now: a valid signature is not enough (a user
    deactivated, changed or signed out everywhere since is refused at once)."""
    if not token:
        raise Unauthorized(
            "Sign in first: send `Authorization: Bearer <token>`.", code="not_authenticated"
        )
    return await caller(session, runtime.tokens.verify(token))


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]


def _trusted(address: str, trusted: str) -> bool:
    entries = [t.strip() for t in trusted.split(",") if t.strip()]
    if "*" in entries:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in entries:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request, trusted: str) -> str:
    """The client's address: the connection's, or, only when the connection comes from a
    trusted proxy (`CONEXAPI_FORWARDED_ALLOW_IPS`), the last `X-Forwarded-For` entry that is
    not itself a trusted proxy. A client cannot choose its address by sending the header."""
    address = request.client.host if request.client else "unknown"
    if not _trusted(address, trusted):
        return address
    forwarded = [
        a.strip()
        for h in request.headers.getlist("x-forwarded-for")
        for a in h.split(",")
        if a.strip()
    ]
    for hop in reversed(forwarded):
        if not _trusted(hop, trusted):
            return hop[:64]
        address = hop[:64]
    return address


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
