"""The sales table is the queue: making sales due, claiming them with a lease, releasing them.

A sale is due when `next_attempt_at` has passed and nobody holds an unexpired lease. Workers
claim with `SELECT ... FOR UPDATE SKIP LOCKED` on MariaDB (so they never wait on each other), and
every claim is a conditional UPDATE, so two workers can never both win the same sale, on any
database.

Claims are fair and prioritized (`claim_due`, docs/scheduling.md): at most
`CONEXAPI_WORKER_MAX_IN_FLIGHT_PER_INTEGRATION` sales of one integration are in flight across
every worker, the free slots go round-robin over the integrations with due work, and within an
integration the most urgent first (`Priority`: a person's retry, a live notification, a sweep
re-check, a backfill, a follow-up after the invoice), then the longest due. One seller's
backlog never holds every slot.

A crashed worker's lease expires (or is given back as soon as the worker is known to be gone);
a worker that cannot finish a sale for a reason of ours (the database went away, a SIGTERM)
releases it so it is due again at once (`release_leases`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import insert_many_ignore, utcnow
from conexapi.integrations.models import Integration
from conexapi.sales.states import SaleState
from conexapi.sales.step import EventKind
from conexapi.sync.models import Sale, SaleEvent, SaleOrder

# The reason of a sale the seller marked "facturada por fuera" (`sync.manual`).
INVOICED_ELSEWHERE = "invoiced_elsewhere"
NOT_REOPENED = (SaleState.DEAD.value, SaleState.SKIPPED.value, SaleState.CREDITED.value)


class Priority(IntEnum):
    """Why a sale is due; claims take the lowest first (`sale.priority`)."""

    RETRIED = 0  # a person retried it (or fixed what it waited for)
    LIVE = 1  # a live notification (and the default)
    SWEEP = 2  # a periodic sweep's re-check
    BACKFILL = 3  # a historical load
    FOLLOW_UP = 4  # after the invoice: the shipment's costs, for profit only (`sync.pipeline`)


SOURCE_PRIORITY = {
    "notification": Priority.LIVE,
    "sweep": Priority.SWEEP,
    "backfill": Priority.BACKFILL,
}


def source_priority(source: str) -> Priority:
    return SOURCE_PRIORITY.get(source, Priority.LIVE)


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
    debounce: timedelta | None = None,
) -> dict[tuple[int, str], int]:
    """For each (integration, order) → tenant: finds the sale the order belongs to and makes it
    due now, or, for an order never seen, creates a provisional sale keyed by the order id (the
    worker re-keys it to the pack id once it has fetched the order, merging with the pack's sale
    if one exists). A handful of statements whatever the number of orders. Returns the sale ids.

    `refetch_window` (notifications): a sale read from MercadoLibre less than this long ago is
    made due when the window ends, not now, so however many notifications of one order arrive
    (anyone can post them, and MercadoLibre itself sends several per change) its orders are
    fetched at most once per window.

    `debounce` (notifications): the sales are due this long after now, not at once, so the
    burst MercadoLibre sends for one change (several notifications per order, the creation and
    the payment of an order a second apart) is read once (sooner only: a later notification of
    the burst never moves the due time).
    """
    now = utcnow()
    due_at = now + debounce if debounce is not None and debounce > timedelta(0) else now
    priority = source_priority(source)
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
    await make_sales_due(
        session, list(sales.values()), at=due_at, priority=priority, refetch_window=refetch_window
    )
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
            provisional_sale(
                tenant, integration_id, order_id, now, priority=priority, due_at=due_at
            )
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
    tenant_id: int,
    integration_id: int,
    order_id: str,
    now: datetime,
    *,
    priority: Priority = Priority.LIVE,
    due_at: datetime | None = None,
) -> dict[str, Any]:
    """The row of a sale known only by one of its orders, due now (or at `due_at`)."""
    return {
        "priority": int(priority),
        "tenant_id": tenant_id,
        "integration_id": integration_id,
        "external_id": order_id,
        "order_ids": [order_id],
        "state": SaleState.PENDING.value,
        "next_attempt_at": due_at or now,
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


async def make_sale_due(
    session: AsyncSession,
    sale_id: int,
    *,
    at: datetime | None = None,
    priority: Priority = Priority.LIVE,
) -> None:
    """Makes a sale due (sooner only: never postpones an earlier due time)."""
    await make_sales_due(session, [sale_id], at=at, priority=priority)


async def make_sales_due(
    session: AsyncSession,
    sale_ids: list[int],
    *,
    at: datetime | None = None,
    priority: Priority = Priority.LIVE,
    refetch_window: timedelta | None = None,
) -> None:
    """Makes sales due (sooner only: never postpones an earlier due time), and at least as
    urgent as `priority` (a live notification about a sale a backfill made due raises it).

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
            await _due_at(session, ids, ends, priority)
        waiting = {i for ids in later.values() for i in ids}
        sale_ids = [i for i in sale_ids if i not in waiting]
        if not sale_ids:
            return
    await _due_at(session, sale_ids, when, priority)


async def _due_at(
    session: AsyncSession, sale_ids: list[int], when: datetime, priority: Priority
) -> None:
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
            or_(
                Sale.next_attempt_at.is_(None),
                Sale.next_attempt_at > when,
                Sale.priority > int(priority),
            ),
        )
        .values(
            next_attempt_at=case(
                (or_(Sale.next_attempt_at.is_(None), Sale.next_attempt_at > when), when),
                else_=Sale.next_attempt_at,
            ),
            priority=case((Sale.priority > int(priority), int(priority)), else_=Sale.priority),
        )
        .execution_options(synchronize_session=False)
    )


# Round-robin among equals, claim after claim: the last integration served (this process).
_LAST_SERVED: list[int | None] = [None]
# An integration's sales in flight when no cap is given (tests, `drain`).
NO_CAP = 1_000_000


def _due(now: datetime) -> Any:
    return and_(
        Sale.next_attempt_at.is_not(None),
        Sale.next_attempt_at <= now,
        or_(Sale.lease_until.is_(None), Sale.lease_until < now),
    )


def allot(
    due: Mapping[int, tuple[int, int]],
    in_flight: Mapping[int, int],
    *,
    limit: int,
    max_in_flight: int,
    rotation: int = 0,
    start_after: int | None = None,
) -> dict[int, int]:
    """How many sales to claim from each integration: `due` maps integration → (its most
    urgent priority, how many are due). Integrations take one slot each in turn (most urgent
    first, then a rotating order), never beyond `max_in_flight` in flight, until `limit`. The
    rotating order starts after integration `start_after` (the last one the previous claim
    served: round-robin), or is shifted by `rotation`. The result is in serving order."""
    room = {
        integration: min(count, max_in_flight - in_flight.get(integration, 0))
        for integration, (_, count) in due.items()
    }
    ids = sorted(i for i, r in room.items() if r > 0)
    if not ids or limit <= 0:
        return {}
    if start_after is not None:
        turn = {i: (i <= start_after, i) for i in ids}
    else:
        shift = rotation % len(ids)
        turn = {i: (False, (n - shift) % len(ids)) for n, i in enumerate(ids)}
    order = sorted(ids, key=lambda i: (due[i][0], turn[i]))
    quota = dict.fromkeys(order, 0)
    left = limit
    while left > 0:
        gave = False
        for integration in order:
            if left == 0:
                break
            if quota[integration] < room[integration]:
                quota[integration] += 1
                left -= 1
                gave = True
        if not gave:
            break
    return {i: q for i, q in quota.items() if q}


async def claim_due(
    session: AsyncSession,
    *,
    worker_id: str,
    limit: int,
    lease_seconds: int,
    max_in_flight: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Claims up to `limit` due sales for this worker, fairly (see the module docstring); the
    caller commits right away. `max_in_flight` caps each integration's sales in flight across
    every worker (None: no cap). Integrations whose claims are paused (`pause_claims`) wait.
    `now` is for simulations on an injected clock.

    A fixed number of statements whatever the number of integrations (five: the due groups, the
    sales in flight, the candidates, then lock + claim): the candidates of every integration come
    from one query numbering each integration's due sales (`ROW_NUMBER() OVER (PARTITION BY
    integration_id ...)`), not one query per integration."""
    now = now or utcnow()
    due = _due(now)
    paused = select(Integration.id).where(Integration.claims_paused_until > now)
    groups = {
        integration: (int(priority), int(count))
        for integration, priority, count in (
            await session.execute(
                select(Sale.integration_id, func.min(Sale.priority), func.count(Sale.id))
                .where(due, Sale.integration_id.notin_(paused))
                .group_by(Sale.integration_id)
            )
        ).all()
    }
    if not groups:
        return []
    in_flight: dict[int, int] = {}
    if max_in_flight is not None:
        in_flight = {
            integration: int(count)
            for integration, count in (
                await session.execute(
                    select(Sale.integration_id, func.count(Sale.id))
                    .where(Sale.lease_until >= now)
                    .group_by(Sale.integration_id)
                )
            ).all()
        }
    quotas = allot(
        groups,
        in_flight,
        limit=limit,
        max_in_flight=NO_CAP if max_in_flight is None else max_in_flight,
        start_after=_LAST_SERVED[0],
    )
    if not quotas:
        return []
    # The next claim starts after the last integration served in the last pass.
    most = max(quotas.values())
    _LAST_SERVED[0] = [i for i, q in quotas.items() if q == most][-1]
    # Each integration's due sales numbered most urgent first; the first `quota` of each.
    rank = (
        func.row_number()
        .over(
            partition_by=Sale.integration_id,
            order_by=(Sale.priority, Sale.next_attempt_at, Sale.id),
        )
        .label("place")
    )
    numbered = (
        select(Sale.id.label("id"), Sale.integration_id.label("integration_id"), rank)
        .where(due, Sale.integration_id.in_(list(quotas)))
        .subquery()
    )
    candidates: dict[int, list[int]] = {integration: [] for integration in quotas}
    for sale_id, integration, place in (
        await session.execute(
            select(numbered.c.id, numbered.c.integration_id, numbered.c.place)
            .where(numbered.c.place <= max(quotas.values()))
            .order_by(numbered.c.integration_id, numbered.c.place)
        )
    ).all():
        if place <= quotas[integration]:
            candidates[integration].append(int(sale_id))
    ids = [sale_id for chosen in candidates.values() for sale_id in chosen]
    if not ids:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect != "sqlite":
        # Lock the candidates still due, skipping those another worker holds; one UPDATE
        # claims what was locked (the rows stay locked by this transaction until it commits).
        won = set(
            (
                await session.execute(
                    select(Sale.id).where(Sale.id.in_(ids), due).with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if won:
            await session.execute(
                update(Sale)
                .where(Sale.id.in_(list(won)))
                .values(lease_owner=worker_id, lease_until=lease)
                .execution_options(synchronize_session=False)
            )
    else:
        # SQLite has no row locks, but one writer at a time: a conditional UPDATE claims the
        # candidates still due, and this transaction reads back which it won.
        await session.execute(
            update(Sale)
            .where(Sale.id.in_(ids), due)
            .values(lease_owner=worker_id, lease_until=lease)
            .execution_options(synchronize_session=False)
        )
        won = set(
            (
                await session.execute(
                    select(Sale.id).where(
                        Sale.id.in_(ids), Sale.lease_owner == worker_id, Sale.lease_until == lease
                    )
                )
            ).scalars()
        )
    # Interleaved (one of each integration in turn, most urgent first): the worker starts them
    # in this order.
    per_integration = [
        [sale_id for sale_id in candidates[integration] if sale_id in won] for integration in quotas
    ]
    return [
        sale_id
        for turn in itertools.zip_longest(*per_integration)
        for sale_id in turn
        if sale_id is not None
    ]


async def pause_claims(
    session: AsyncSession, integration_id: int, *, until: datetime, reason: str
) -> None:
    """No sale of the integration is claimed before `until` (later only: an earlier pause never
    shortens a longer one). Used when its Siigo company's budget has no token before then: its
    other due sales would only be claimed to be deferred again. The caller commits."""
    await session.execute(
        update(Integration)
        .where(
            Integration.id == integration_id,
            or_(
                Integration.claims_paused_until.is_(None),
                Integration.claims_paused_until < until,
            ),
        )
        .values(claims_paused_until=until, claims_paused_reason=reason)
        .execution_options(synchronize_session=False)
    )


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
