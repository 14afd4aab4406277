"""Tenants, users, sign-in (throttled: `accounts.throttle`) and who a token belongs to."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.concurrency import run_in_threadpool

from conexapi.accounts import throttle
from conexapi.accounts.models import Role, Tenant, User
from conexapi.accounts.repository import AccountRepository, TenantUsers
from conexapi.accounts.throttle import ThrottlePolicy
from conexapi.core.errors import Conflict, NotFound, Unauthorized
from conexapi.security.passwords import hash_password, verify_password
from conexapi.security.tokens import TokenClaims


async def create_user(
    session: AsyncSession, *, email: str, password: str, tenant_name: str, role: Role = Role.OWNER
) -> User:
    """Creates the tenant if it is new, then the user in it (for the CLI and the demo)."""
    repo = AccountRepository(session)
    if await repo.user_by_email(email) is not None:
        raise Conflict(f"A user with e-mail {email} already exists.", code="user_exists")
    tenant = await repo.tenant_by_name(tenant_name)
    if tenant is None:
        tenant = Tenant(name=tenant_name)
        session.add(tenant)
        await session.flush()
    return await add_user(session, tenant_id=tenant.id, email=email, password=password, role=role)


async def add_user(
    session: AsyncSession, *, tenant_id: int, email: str, password: str, role: Role
) -> User:
    user = User(
        tenant_id=tenant_id,
        email=email.lower(),
        password_hash=hash_password(password),
        role=role.value,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user with e-mail {email} already exists.", code="user_exists") from exc
    return user


async def authenticate(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    *,
    email: str,
    password: str,
    address: str,
    policy: ThrottlePolicy,
) -> User:
    """Checks the password, after the throttle admitted the attempt (`accounts.throttle`): over
    the limit, 429 with `retry_after` and the password is not even looked at."""
    key = email.strip().lower()
    await throttle.admit(sessions, email=key, address=address, policy=policy)
    user = await AccountRepository(session).user_by_email(key)
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    ok = await run_in_threadpool(verify_password, password, user.password_hash if user else None)
    if ok and user is not None and user.is_active:
        await throttle.forget(sessions, email=key, address=address)
        return user
    raise Unauthorized("Wrong e-mail or password.", code="invalid_credentials")


async def caller(session: AsyncSession, claims: TokenClaims) -> TokenClaims:
    """The token's user, from the database (one primary-key query, no cache): gone, disabled,
    moved or signed out since the token was issued -> 401 at once. The role is the database's."""
    user = await TenantUsers(session, claims.tenant_id).get(claims.user_id)
    if (
        user is None
        or not user.is_active
        or user.token_version != claims.version
        or user.role not in {r.value for r in Role}
    ):
        raise Unauthorized(
            "This session is no longer valid (the account was changed, disabled or signed out "
            "everywhere); sign in again.",
            code="invalid_token",
        )
    return TokenClaims(
        user_id=user.id, tenant_id=user.tenant_id, role=user.role, version=user.token_version
    )


def revoke_tokens(user: User) -> None:
    """Every token issued to `user` so far stops working (the next request gets 401)."""
    user.token_version = (user.token_version or 0) + 1


async def sign_out_everywhere(session: AsyncSession, *, tenant_id: int, user_id: int) -> None:
    user = await TenantUsers(session, tenant_id).get(user_id, for_update=True)
    if user is None:
        raise Unauthorized("This account no longer exists.", code="invalid_token")
    revoke_tokens(user)


async def change_password(
    session: AsyncSession, *, tenant_id: int, user_id: int, current: str, new: str
) -> User:
    user = await TenantUsers(session, tenant_id).get(user_id, for_update=True)
    if user is None:
        raise Unauthorized("This account no longer exists.", code="invalid_token")
    if not await run_in_threadpool(verify_password, current, user.password_hash):
        raise Unauthorized("The current password is wrong.", code="invalid_credentials")
    user.password_hash = await run_in_threadpool(hash_password, new)
    revoke_tokens(user)
    return user


async def update_user(
    session: AsyncSession,
    *,
    tenant_id: int,
    user_id: int,
    role: Role | None = None,
    is_active: bool | None = None,
) -> User:
    """An owner changes a user's role or deactivates/reactivates them; their tokens are revoked.
    The last active owner of a tenant can be neither demoted nor deactivated (409)."""
    users = TenantUsers(session, tenant_id)
    # The tenant's active owners, locked: two owners demoting each other at once cannot both win.
    owners = await users.active_owners(for_update=True)
    user = await users.get(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    new_role = role.value if role is not None else user.role
    new_active = user.is_active if is_active is None else is_active
    if new_role == user.role and new_active == user.is_active:
        return user
    stays_owner = new_role == Role.OWNER.value and new_active
    if user.id in {o.id for o in owners} and not stays_owner and len(owners) <= 1:
        raise Conflict(
            "The tenant needs at least one active owner: make another user owner first.",
            code="last_owner",
        )
    user.role = new_role
    user.is_active = new_active
    revoke_tokens(user)
    await session.flush()
    return user


async def get_me(session: AsyncSession, *, tenant_id: int, user_id: int) -> tuple[User, Tenant]:
    users = TenantUsers(session, tenant_id)
    user = await users.get(user_id)
    tenant = await users.tenant()
    if user is None or tenant is None or not user.is_active:
        raise Unauthorized("This account no longer exists or is disabled.", code="invalid_token")
    return user, tenant


async def list_users(session: AsyncSession, *, tenant_id: int) -> list[User]:
    return await TenantUsers(session, tenant_id).list()


async def get_user(session: AsyncSession, *, tenant_id: int, user_id: int) -> User:
    user = await TenantUsers(session, tenant_id).get(user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user
