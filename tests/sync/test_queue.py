from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from conexapi.db import naive_utc, utcnow
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sync import queue
from conexapi.sync.models import Sale, SaleEvent, SaleOrder
from tests.builders import create_integration, create_tenant


async def _setup(runtime: Runtime, orders: int) -> tuple[int, int]:
    async with runtime.sessions() as session:
        tenant = await create_tenant(session)
        integration = await create_integration(session, tenant.id)
        for n in range(orders):
            await queue.make_order_due(
                session,
                tenant_id=tenant.id,
                integration_id=integration.id,
                order_id=str(2000000000 + n),
                source="notification",
            )
        await session.commit()
        return tenant.id, integration.id


async def test_an_order_becomes_one_due_sale_and_repeats_do_not_duplicate(runtime: Runtime) -> None:
    tenant_id, integration_id = await _setup(runtime, 1)
    async with runtime.sessions() as session:
        for _ in range(3):
            await queue.make_order_due(
                session,
                tenant_id=tenant_id,
                integration_id=integration_id,
                order_id="2000000000",
                source="notification",
            )
        await session.commit()
        assert (await session.execute(select(func.count(Sale.id)))).scalar_one() == 1
        assert (await session.execute(select(func.count(SaleOrder.id)))).scalar_one() == 1
        events = (await session.execute(select(SaleEvent.kind))).scalars().all()
        assert events == ["received"]
        assert await queue.pending_count(session) == 1


async def test_two_workers_never_claim_the_same_sale(runtime: Runtime) -> None:
    await _setup(runtime, 40)

    async def claim(worker: str) -> list[int]:
        got: list[int] = []
        misses = 0
        while misses < 3:
            async with runtime.sessions() as session:
                ids = await queue.claim_due(session, worker_id=worker, limit=3, lease_seconds=60)
                await session.commit()
            got += ids
            misses = 0 if ids else misses + 1
            await asyncio.sleep(0)
        return got

    a, b = await asyncio.gather(claim("worker-a"), claim("worker-b"))
    assert not set(a) & set(b)
    assert len(a) + len(b) == 40


async def test_an_expired_lease_is_claimed_again(runtime: Runtime) -> None:
    await _setup(runtime, 1)
    async with runtime.sessions() as session:
        first = await queue.claim_due(session, worker_id="crashed", limit=5, lease_seconds=60)
        await session.commit()
    assert len(first) == 1
    async with runtime.sessions() as session:
        assert await queue.claim_due(session, worker_id="other", limit=5, lease_seconds=60) == []
        await session.execute(update(Sale).values(lease_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
    async with runtime.sessions() as session:
        again = await queue.claim_due(session, worker_id="other", limit=5, lease_seconds=60)
        await session.commit()
    assert again == first


async def test_make_sale_due_never_postpones_and_leaves_finished_sales_alone(
    runtime: Runtime,
) -> None:
    await _setup(runtime, 2)
    async with runtime.sessions() as session:
        sales = list((await session.execute(select(Sale).order_by(Sale.id))).scalars())
        sales[0].state = SaleState.SKIPPED.value
        sales[0].next_attempt_at = None
        sales[1].next_attempt_at = utcnow() - timedelta(hours=1)
        await session.commit()
        await queue.make_sale_due(session, sales[0].id)
        await queue.make_sale_due(session, sales[1].id, at=utcnow() + timedelta(hours=1))
        await session.commit()
        await session.refresh(sales[0])
        await session.refresh(sales[1])
        assert sales[0].next_attempt_at is None
        assert sales[1].next_attempt_at is not None
        assert sales[1].next_attempt_at.replace(tzinfo=None) < utcnow()


async def test_release_leases_gives_back_only_our_sales_due_now_without_an_attempt(
    runtime: Runtime,
) -> None:
    await _setup(runtime, 4)
    async with runtime.sessions() as session:
        ours = await queue.claim_due(session, worker_id="w-ours", limit=2, lease_seconds=300)
        theirs = await queue.claim_due(session, worker_id="w-theirs", limit=2, lease_seconds=300)
        await session.commit()
        released = await queue.release_leases(
            session, worker_id="w-ours", sale_ids=[*ours, *theirs]
        )
        await session.commit()
        assert released == 2
        rows = {
            sale_id: (owner, attempts)
            for sale_id, owner, attempts in (
                await session.execute(select(Sale.id, Sale.lease_owner, Sale.attempts))
            ).all()
        }
        assert all(rows[i] == (None, 0) for i in ours)
        assert all(rows[i][0] == "w-theirs" for i in theirs)
        # Due at once: claimed again right away, not after the lease.
        again = await queue.claim_due(session, worker_id="w-next", limit=10, lease_seconds=60)
        await session.commit()
        assert sorted(again) == sorted(ours)


async def test_sales_of_a_gone_worker_are_released_not_left_for_the_lease(
    runtime: Runtime,
) -> None:
    await _setup(runtime, 3)
    async with runtime.sessions() as session:
        dead = await queue.claim_due(session, worker_id="host-1-dead", limit=2, lease_seconds=300)
        alive = await queue.claim_due(session, worker_id="host-2-live", limit=1, lease_seconds=300)
        await session.commit()
        released = await queue.release_leases_of_gone_workers(
            session, lambda owner: owner == "host-1-dead"
        )
        await session.commit()
        assert released == 2
        owners = dict((await session.execute(select(Sale.id, Sale.lease_owner))).all())
        assert [owners[i] for i in dead] == [None, None]
        assert [owners[i] for i in alive] == ["host-2-live"]


async def _claim(runtime: Runtime, worker_id: str) -> list[int]:
    async with runtime.sessions() as session:
        ids = await queue.claim_due(session, worker_id=worker_id, limit=5, lease_seconds=300)
        await session.commit()
    return ids


async def test_released_leases_are_due_again_at_once_in_their_place(runtime: Runtime) -> None:
    await _setup(runtime, 3)
    ids = await _claim(runtime, "stopping")
    assert len(ids) == 3
    async with runtime.sessions() as session:
        before = dict(
            (await session.execute(select(Sale.id, Sale.next_attempt_at).order_by(Sale.id))).all()
        )
        # Another worker's lease is not ours to give back.
        await session.execute(update(Sale).where(Sale.id == ids[2]).values(lease_owner="other"))
        assert await queue.claim_due(session, worker_id="x", limit=5, lease_seconds=60) == []
        released = await queue.release_leases(session, worker_id="stopping")
        await session.commit()
    assert released == 2
    async with runtime.sessions() as session:
        rows = {s.id: s for s in (await session.execute(select(Sale))).scalars()}
    assert rows[ids[2]].lease_owner == "other"
    for sale_id in ids[:2]:
        assert rows[sale_id].lease_owner is None
        assert rows[sale_id].lease_until is None
        # Still due, with the due time it had: its place in the queue is kept.
        assert rows[sale_id].next_attempt_at == before[sale_id]
    assert sorted(await _claim(runtime, "next")) == sorted(ids[:2])


async def test_release_leases_can_be_limited_to_some_sales(runtime: Runtime) -> None:
    await _setup(runtime, 2)
    ids = await _claim(runtime, "w")
    async with runtime.sessions() as session:
        assert await queue.release_leases(session, worker_id="w", sale_ids=[]) == 0
        assert await queue.release_leases(session, worker_id="w", sale_ids=ids[:1]) == 1
        await session.commit()
        owners = dict((await session.execute(select(Sale.id, Sale.lease_owner))).all())
    assert owners == {ids[0]: None, ids[1]: "w"}


async def test_a_burst_of_notifications_is_due_once_after_the_debounce(runtime: Runtime) -> None:
    """MercadoLibre notifies several times per change (and an order's creation and payment close
    together): with a debounce, the burst makes the sale due once, a moment later, and a later
    notification of the burst never moves that time; a sale already due earlier stays so."""
    debounce = timedelta(seconds=1)
    async with runtime.sessions() as session:
        tenant = await create_tenant(session)
        integration = await create_integration(session, tenant.id)
        due = {(integration.id, "2000000077"): tenant.id}
        before = utcnow()
        sales = await queue.make_orders_due(session, due, source="notification", debounce=debounce)
        after = utcnow()
        sale_id = sales[(integration.id, "2000000077")]
        sale = await session.get(Sale, sale_id)
        assert sale is not None
        first = naive_utc(sale.next_attempt_at)
        assert first is not None
        assert before + debounce <= first <= after + debounce
        await session.commit()
        # The rest of the burst: one sale, the same due time (not sooner, not later).
        for _ in range(2):
            again = await queue.make_orders_due(
                session, due, source="notification", debounce=debounce
            )
            assert again == sales
        await session.commit()
        session.expire_all()
        sale = await session.get(Sale, sale_id)
        assert sale is not None
        assert naive_utc(sale.next_attempt_at) == first
        assert (await session.execute(select(func.count(Sale.id)))).scalar_one() == 1
        # Not claimable before the debounce ends.
        claimed = await queue.claim_due(session, worker_id="w1", limit=10, lease_seconds=60)
        assert claimed == []
        # A sale already due now is never postponed by a debounced notification.
        await session.execute(
            update(Sale).where(Sale.id == sale_id).values(next_attempt_at=utcnow())
        )
        await session.commit()
        await queue.make_orders_due(session, due, source="notification", debounce=debounce)
        await session.commit()
        claimed = await queue.claim_due(session, worker_id="w1", limit=10, lease_seconds=60)
        assert claimed == [sale_id]
