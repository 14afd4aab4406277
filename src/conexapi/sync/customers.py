"""Ensure the buyer exists as a Siigo customer, remembering who is known (no lookup next time)."""

from __future__ import annotations

from sqlalchemy import select

from conexapi.connections.models import KnownCustomer
from conexapi.core.errors import PermanentError
from conexapi.db import insert_ignore, utcnow
from conexapi.erps.siigo.client import SiigoClient
from conexapi.erps.siigo.mapping import CustomerPlan
from conexapi.runtime import Runtime
from conexapi.sync import breaker


async def ensure_customer(
    runtime: Runtime, client: SiigoClient, *, connection_id: int, plan: CustomerPlan
) -> int:
    """Creates the customer in Siigo unless it is already known. Returns the Siigo calls made.

    Known buyers cost nothing. For a new one we create directly: `already_exists` means Siigo has
    it (someone created it in Siigo Nube), which is as good; invoices reference customers by
    identification, so no lookup is needed to learn an id.
    """
    identification = plan.identification
    branch = int(plan.body.get("branch_office", 0))
    async with runtime.sessions() as session:
        known = (
            await session.execute(
                select(KnownCustomer.id).where(
                    KnownCustomer.connection_id == connection_id,
                    KnownCustomer.identification == identification,
                    KnownCustomer.branch_office == branch,
                )
            )
        ).scalar_one_or_none()
    if known is not None:
        return 0
    erp_id: str | None = None
    try:
        created = await breaker.guarded(
            runtime, connection_id, lambda: client.create_customer(plan.body)
        )
        erp_id = str(created.get("id")) if created.get("id") else None
    except PermanentError as exc:
        if exc.vendor_code != "already_exists":
            raise
    async with runtime.sessions() as session:
        await insert_ignore(
            session,
            KnownCustomer,
            {
                "connection_id": connection_id,
                "identification": identification,
                "branch_office": branch,
                "erp_id": erp_id,
                "created_at": utcnow(),
            },
        )
        await session.commit()
    return 1
