"""Tenants, users and sign-in (with throttling of repeated failures)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import LoginThrottle, Role, Tenant, User
from conexapi.accounts.repository import AccountRepository, TenantUsers
from conexapi.core.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from conexapi.db import utcnow
from conexapi.security.passwords import hash_password, verify_password


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
    session: AsyncSession, *, email: str, password: str, max_failures: int, lockout_seconds: int
) -> User:
    """Checks the password; after `max_failures` misses the e-mail is locked for a while (429).

    The throttle row is per e-mail and lives in the database, so it holds across API replicas.
    """
    key = email.strip().lower()
    repo = AccountRepository(session)
    now = utcnow()
    throttle = await repo.throttle(key)
    if throttle and throttle.locked_until and throttle.locked_until.replace(tzinfo=None) > now:
        retry = int((throttle.locked_until.replace(tzinfo=None) - now).total_seconds()) + 1
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {retry} seconds.",
            code="login_throttled",
            details={"retry_after": retry},
        )
    user = await repo.user_by_email(key)
    ok = verify_password(password, user.password_hash if user else None)
    if ok and user is not None and user.is_active:
        if throttle is not None:
            await session.delete(throttle)
        return user
    await _record_failure(session, key, throttle, max_failures, lockout_seconds)
    raise Unauthorized("Wrong e-mail or password.", code="invalid_credentials")


async def _record_failure(
    session: AsyncSession,
    key: str,
    throttle: LoginThrottle | None,
    max_failures: int,
    lockout_seconds: int,
) -> None:
    now = utcnow()
    window = timedelta(seconds=lockout_seconds)
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(throttle)
    elif now - throttle.window_started_at.replace(tzinfo=None) > window:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= max_failures:
        throttle.locked_until = now + window
    # The failure must be remembered even though the request answers 401.
    await session.commit()


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
