from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import Role, Tenant, User


class AccountRepository:
    """Sign-in needs lookups across tenants (by e-mail); everything else is tenant-scoped."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email.lower()))
        return result.scalar_one_or_none()

    async def tenant_by_name(self, name: str) -> Tenant | None:
        result = await self.session.execute(select(Tenant).where(Tenant.name == name))
        return result.scalar_one_or_none()


class TenantUsers:
    """Users of one tenant: every query is filtered by it."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        """One primary-key lookup (the tenant filter only narrows it)."""
        stmt = select(User).where(User.id == user_id, User.tenant_id == self.tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def active_owners(self, *, for_update: bool = False) -> list[User]:
        stmt = (
            select(User)
            .where(
                User.tenant_id == self.tenant_id,
                User.role == Role.OWNER.value,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list((await self.session.execute(stmt)).scalars())

    async def tenant(self) -> Tenant | None:
        return await self.session.get(Tenant, self.tenant_id)

    async def list(self) -> list[User]:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id).order_by(User.id)
        )
        return list(result.scalars())
