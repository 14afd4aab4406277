"""Per-integration, per-state sale counts without scanning `sale`.

Database triggers (migration c8a4f2e61b07) write a delta row into `sale_state_tally` with every
insert, state change and delete of a sale: +1 for the new state, -1 for the old. Writers never
update a shared row, so a backfill and the workers never wait on one another. A count is the sum
of the deltas; `fold_tallies` (an upkeep job) replaces each group's rows by one row holding
their sum, so a read sums a handful of rows per state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.sync.models import SaleStateTally

FOLD_BATCH = 50_000


async def state_counts(
    session: AsyncSession, tenant_id: int, integration_id: int | None = None
) -> dict[str, int]:
    """Sales per state of a tenant (or of one of its integrations); states with none left out."""
    stmt = select(SaleStateTally.state, func.sum(SaleStateTally.n)).where(
        SaleStateTally.tenant_id == tenant_id
    )
    if integration_id is not None:
        stmt = stmt.where(SaleStateTally.integration_id == integration_id)
    rows = await session.execute(stmt.group_by(SaleStateTally.state))
    return {state: int(n) for state, n in rows.all() if n}


async def fold_tallies(session: AsyncSession, *, batch: int = FOLD_BATCH) -> int:
    """Folds up to `batch` delta rows into one row per (integration, state); returns how many
    rows were folded. Another folder running at the same moment makes this one give up (its
    delete finds fewer rows than it summed): nothing is counted twice."""
    ids = list(
        (
            await session.execute(
                select(SaleStateTally.id).order_by(SaleStateTally.id).limit(batch)
            )
        ).scalars()
    )
    if len(ids) < 2:
        return 0
    top = ids[-1]
    rows = (
        await session.execute(
            select(
                SaleStateTally.tenant_id,
                SaleStateTally.integration_id,
                SaleStateTally.state,
                func.sum(SaleStateTally.n),
                func.count(SaleStateTally.id),
            )
            .where(SaleStateTally.id <= top)
            .group_by(SaleStateTally.tenant_id, SaleStateTally.integration_id, SaleStateTally.state)
        )
    ).all()
    summed = sum(int(r[4]) for r in rows)
    if summed == len(rows):  # already one row per group: nothing to fold
        await session.rollback()
        return 0
    result: Any = await session.execute(
        delete(SaleStateTally)
        .where(SaleStateTally.id <= top)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount) != summed:
        await session.rollback()
        return 0
    session.add_all(
        SaleStateTally(tenant_id=t, integration_id=i, state=s, n=int(n))
        for t, i, s, n, _ in rows
        if n
    )
    await session.commit()
    return summed
