"""The sales table is the queue: making sales due, claiming them with a lease, releasing them.

A sale is due when `next_attempt_at` has passed and nobody holds an unexpired lease. Workers
claim with `SELECT ... FOR UPDATE SKIP LOCKED` on MariaDB (so they never wait on each other), and
every claim is a conditional UPDATE, so two workers can never both win the same sale, on any
database. A crashed worker's lease expires (or is given back as soon as the worker is known to
be gone); a worker that cannot finish a sale for a reason of ours (the database went away, a
SIGTERM) releases it so it is due again at once (`release_leases`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import insert_many_ignore, utcnow
from conexapi.sales.states import SaleState
from conexapi.sales.step import EventKind
from conexapi.sync.models import Sale, SaleEvent, SaleOrder

# The reason of a sale the seller marked "facturada por fuera" (`sync.manual`).
INVOICED_ELSEWHERE = "invoiced_elsewhere"
NOT_REOPENED = (SaleState.DEAD.value, SaleState.SKIPPED.value, SaleState.CREDITED.value)


def add_event(
    session: AsyncSession,
    sale: Sale | None = None,
    *,
    kind: EventKind,
    message: str,
    data: dict[str, Any] | None = None,
    sale_id: int | None = None,
    tenant_id: int | None = None,
) -> None:
    session.add(
        SaleEvent(
            tenant_id=sale.tenant_id if sale else tenant_id,
            sale_id=sale.id if sale else sale_id,
            kind=kind.value,
            message=message,
            data=data or {},
            created_at=utcnow(),
        )
    )


async def make_order_due(
    session: AsyncSession, *, tenant_id: int, integration_id: int, order_id: str, source: str
) -> int:
    """Finds (or creates) the sale an order belongs to and makes it due now. Returns its id."""
    ref = (integration_id, order_id)
    return (await make_orders_due(session, {ref: tenant_id}, source=source))[ref]


async def make_orders_due(
    session: AsyncSession,
    due: dict[tuple[int, str], int],
    *,
    source: str,
    refetch_window: timedelta | None = None,
) -> dict[tuple[int, str], int]:
    """For each (integration, order) → tenant: finds the sale the order belongs to and makes it
    due now, or, for an order never seen, creates a provisional sale keyed by the order id (the
    worker re-keys it to the pack id once it has fetched the order, merging with the pack's sale
    if one exists). A handful of statements whatever the number of orders. Returns the sale ids.

    `refetch_window` (notifications): a sale read from MercadoLibre less than this long ago is
    made due when the window ends, not now, so however many notifications of one order arrive
    (anyone can post them, and MercadoLibre itself sends several per change) its orders are
    fetched at most once per window.
    """
    now = utcnow()
    order_ids = sorted({order for _, order in due})
    sales = {
        (integration_id, order_id): sale_id
        for integration_id, order_id, sale_id in (
            await session.execute(
                select(SaleOrder.integration_id, SaleOrder.order_id, SaleOrder.sale_id).where(
                    SaleOrder.order_id.in_(order_ids)
                )
            )
        ).all()
        if (integration_id, order_id) in due
    }
    await make_sales_due(session, list(sales.values()), at=now, refetch_window=refetch_window)
    if source == "notification" and sales:
        # The order changed after any search that returned it: the worker reads it again.
        await session.execute(
            update(Sale)
            .where(Sale.id.in_(list(sales.values())), Sale.prefetched.is_not(None))
            .values(prefetched=None)
            .execution_options(synchronize_session=False)
        )
    new = [(ref, tenant) for ref, tenant in due.items() if ref not in sales]
    if not new:
        return sales
    await insert_many_ignore(
        session,
        Sale,
        [
            provisional_sale(tenant, integration_id, order_id, now)
            for (integration_id, order_id), tenant in new
        ],
    )
    wanted = {ref for ref, _ in new}
    links = [
        (sale_id, integration_id, external_id, tenant_id)
        for sale_id, integration_id, external_id, tenant_id in (
            await session.execute(
                select(Sale.id, Sale.integration_id, Sale.external_id, Sale.tenant_id).where(
                    Sale.external_id.in_([order for (_, order), _ in new])
                )
            )
        ).all()
        if (integration_id, external_id) in wanted
    ]
    if not links:
        return sales
    await insert_many_ignore(
        session,
        SaleOrder,
        [{"integration_id": i, "order_id": o, "sale_id": s} for s, i, o, _ in links],
    )
    label = _source_label(source)
    await session.execute(
        insert(SaleEvent),
        [
            {
                "tenant_id": tenant_id,
                "sale_id": sale_id,
                "kind": EventKind.RECEIVED.value,
                "message": f"Orden {order_id} recibida ({label}).",
                "data": {"order_id": order_id, "source": source},
                "created_at": now,
            }
            for sale_id, _, order_id, tenant_id in links
        ],
    )
    sales.update({(i, o): s for s, i, o, _ in links})
    return sales


def provisional_sale(
    tenant_id: int, integration_id: int, order_id: str, now: datetime
) -> dict[str, Any]:
    """The row of a sale known only by one of its orders, due now."""
    return {
        "tenant_id": tenant_id,
        "integration_id": integration_id,
        "external_id": order_id,
        "order_ids": [order_id],
        "state": SaleState.PENDING.value,
        "next_attempt_at": now,
        "attempts": 0,
        "buyer_name": "",
        "buyer_ident": "",
        "facts": {},
        "profit": {},
        "created_at": now,
        "updated_at": now,
    }


def _source_label(source: str) -> str:
    return {
        "notification": "notificación de MercadoLibre",
        "sweep": "revisión periódica",
        "backfill": "carga histórica",
    }.get(source, source)


async def make_sale_due(session: AsyncSession, sale_id: int, *, at: datetime | None = None) -> None:
    """Makes a sale due (sooner only: never postpones an earlier due time)."""
    await make_sales_due(session, [sale_id], at=at)


async def make_sales_due(
    session: AsyncSession,
    sale_ids: list[int],
    *,
    at: datetime | None = None,
    refetch_window: timedelta | None = None,
) -> None:
    """Makes sales due (sooner only: never postpones an earlier due time).

    Invoiced sales are re-checked too (the sale may have been cancelled or refunded since), but
    not `skipped` or `credited` ones, which MercadoLibre can no longer change, nor `dead` ones,
    which wait for a person.
    """
    if not sale_ids:
        return
    when = at or utcnow()
    if refetch_window is not None and refetch_window > timedelta(0):
        # Read from MercadoLibre within the window: due when it ends (sooner only, as always).
        # Grouped by that time rounded up to the second: a handful of statements.
        later: dict[datetime, list[int]] = {}
        for sale_id, fetched_at in (
            await session.execute(
                select(Sale.id, Sale.fetched_at).where(
                    Sale.id.in_(sale_ids), Sale.fetched_at > when - refetch_window
                )
            )
        ).all():
            if fetched_at is None:
                continue
            ends: datetime = fetched_at + refetch_window
            ends = ends.replace(microsecond=0) + timedelta(seconds=1)
            later.setdefault(ends, []).append(sale_id)
        for ends, ids in later.items():
            await _due_at(session, ids, ends)
        waiting = {i for ids in later.values() for i in ids}
        sale_ids = [i for i in sale_ids if i not in waiting]
        if not sale_ids:
            return
    await _due_at(session, sale_ids, when)


async def _due_at(session: AsyncSession, sale_ids: list[int], when: datetime) -> None:
    await session.execute(
        update(Sale)
        .where(
            Sale.id.in_(sale_ids),
            or_(
                Sale.state.notin_(NOT_REOPENED),
                # Invoiced elsewhere by the seller: a refund must still be seen (`sync.manual`).
                and_(
                    Sale.state == SaleState.SKIPPED.value,
                    Sale.error_code == INVOICED_ELSEWHERE,
                ),
            ),
            or_(Sale.next_attempt_at.is_(None), Sale.next_attempt_at > when),
        )
        .values(next_attempt_at=when)
        .execution_options(synchronize_session=False)
    )


async def claim_due(
    session: AsyncSession, *, worker_id: str, limit: int, lease_seconds: int
) -> list[int]:
    """Claims up to `limit` due sales for this worker; the caller commits right away."""
    now = utcnow()
    due = and_(
        Sale.next_attempt_at.is_not(None),
        Sale.next_attempt_at <= now,
        or_(Sale.lease_until.is_(None), Sale.lease_until < now),
    )
    stmt = select(Sale.id).where(due).order_by(Sale.next_attempt_at).limit(limit)
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect != "sqlite":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await session.execute(stmt)).scalars())
    if not ids:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    if dialect != "sqlite":
        # The rows are locked by this transaction (FOR UPDATE): one UPDATE claims them all.
        await session.execute(
            update(Sale)
            .where(Sale.id.in_(ids))
            .values(lease_owner=worker_id, lease_until=lease)
            .execution_options(synchronize_session=False)
        )
        return ids
    # SQLite has no row locks: each row is claimed only if it is still due.
    claimed: list[int] = []
    for sale_id in ids:
        result = await session.execute(
            update(Sale)
            .where(Sale.id == sale_id, due)
            .values(lease_owner=worker_id, lease_until=lease)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(sale_id)
    return claimed


async def release_leases(
    session: AsyncSession, *, worker_id: str, sale_ids: Collection[int] | None = None
) -> int:
    """Gives back the sales `worker_id` still holds (all of them, or only `sale_ids`), due again
    at once: another worker takes them now instead of when the lease would have expired. Their
    place in the queue is kept (an earlier due time stays). Sales the worker finished hold no
    lease and are untouched. The caller commits. Returns how many were released.
    """
    now = utcnow()
    stmt = update(Sale).where(Sale.lease_owner == worker_id)
    if sale_ids is not None:
        if not sale_ids:
            return 0
        stmt = stmt.where(Sale.id.in_(list(sale_ids)))
    result = await session.execute(
        stmt.values(
            lease_owner=None,
            lease_until=None,
            next_attempt_at=case(
                (
                    or_(Sale.next_attempt_at.is_(None), Sale.next_attempt_at > now),
                    now,
                ),
                else_=Sale.next_attempt_at,
            ),
        ).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def release_leases_of_gone_workers(session: AsyncSession, gone: Callable[[str], bool]) -> int:
    """Gives back the sales held by workers that `gone` says have stopped (killed, crashed)
    instead of waiting out their leases. A leased sale was due when claimed, so only the due part
    of the table is read (`ix_sale_due`). The caller commits. Returns how many were released."""
    now = utcnow()
    rows = (
        await session.execute(
            select(Sale.id, Sale.lease_owner).where(
                Sale.next_attempt_at <= now, Sale.lease_until > now
            )
        )
    ).all()
    held: dict[str, list[int]] = {}
    for sale_id, owner in rows:
        if owner is not None:
            held.setdefault(owner, []).append(sale_id)
    released = 0
    for owner, ids in held.items():
        if gone(owner):
            released += await release_leases(session, worker_id=owner, sale_ids=ids)
    return released


async def pending_count(session: AsyncSession) -> int:
    now = utcnow()
    return int(
        (
            await session.execute(
                select(func.count(Sale.id)).where(
                    Sale.next_attempt_at.is_not(None), Sale.next_attempt_at <= now
                )
            )
        ).scalar_one()
    )
