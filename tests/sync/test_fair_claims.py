"""Fair, prioritized claims (`sync.queue.claim_due`): at most K in flight per integration,
round-robin over the integrations with due work, the most urgent first, paused integrations
left alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from conexapi.db import utcnow
from conexapi.runtime import Runtime
from conexapi.sync import queue
from conexapi.sync.models import Sale
from conexapi.sync.queue import Priority, allot
from tests.builders import create_integration, create_tenant


async def _integration(runtime: Runtime, seller: str) -> tuple[int, int]:
    async with runtime.sessions() as session:
        tenant = await create_tenant(session, f"Tienda {seller}")
        integration = await create_integration(
            session, tenant.id, seller_id=seller, siigo_account=f"{seller}@siigo.test"
        )
        await session.commit()
        return tenant.id, integration.id


async def _orders(
    runtime: Runtime, tenant_id: int, integration_id: int, orders: list[str], source: str
) -> dict[str, int]:
    async with runtime.sessions() as session:
        due = {(integration_id, order): tenant_id for order in orders}
        ids = await queue.make_orders_due(session, due, source=source)
        await session.commit()
    return {order: ids[(integration_id, order)] for order in orders}


async def _claim(runtime: Runtime, limit: int, cap: int | None = 4, worker: str = "w") -> list[int]:
    async with runtime.sessions() as session:
        ids = await queue.claim_due(
            session, worker_id=worker, limit=limit, lease_seconds=60, max_in_flight=cap
        )
        await session.commit()
    return ids


def test_allot_gives_one_slot_each_in_turn_most_urgent_first_within_the_cap() -> None:
    due = {1: (Priority.LIVE, 100), 2: (Priority.LIVE, 2), 3: (Priority.BACKFILL, 50)}
    assert allot(due, {}, limit=3, max_in_flight=4) == {1: 1, 2: 1, 3: 1}
    assert allot(due, {}, limit=20, max_in_flight=4) == {1: 4, 2: 2, 3: 4}
    # Integration 1 already has 3 in flight: one more at most.
    assert allot(due, {1: 3}, limit=20, max_in_flight=4) == {1: 1, 2: 2, 3: 4}
    # Only one slot: the live integrations come before the backfill, in turn.
    firsts = {next(iter(allot(due, {}, limit=1, max_in_flight=4, rotation=r))) for r in range(4)}
    assert firsts == {1, 2}
    assert allot(due, {1: 4, 2: 4, 3: 4}, limit=5, max_in_flight=4) == {}


async def test_a_backlog_never_takes_every_slot(runtime: Runtime) -> None:
    a_tenant, a = await _integration(runtime, "111")
    b_tenant, b = await _integration(runtime, "222")
    backlog = await _orders(runtime, a_tenant, a, [f"1{n:09d}" for n in range(30)], "notification")
    live = await _orders(runtime, b_tenant, b, ["2000000001", "2000000002"], "notification")
    claimed = await _claim(runtime, limit=8, cap=4)
    assert set(live.values()) <= set(claimed)
    assert len(set(claimed) & set(backlog.values())) == 4
    # Interleaved: the worker starts one of each integration in turn.
    assert {claimed[0], claimed[1]} & set(live.values())
    # A has 4 in flight (another worker's claim): nothing more of A until one finishes.
    assert await _claim(runtime, limit=8, cap=4, worker="other") == []
    finished = next(i for i in claimed if i in set(backlog.values()))
    async with runtime.sessions() as session:
        await session.execute(
            update(Sale)
            .where(Sale.id == finished)
            .values(lease_owner=None, lease_until=None, next_attempt_at=None)
        )
        await session.commit()
    assert len(await _claim(runtime, limit=8, cap=4, worker="other")) == 1


async def test_within_an_integration_the_most_urgent_sale_comes_first(runtime: Runtime) -> None:
    tenant, integration = await _integration(runtime, "333")
    backfill = await _orders(runtime, tenant, integration, ["3000000001"], "backfill")
    sweep = await _orders(runtime, tenant, integration, ["3000000002"], "sweep")
    live = await _orders(runtime, tenant, integration, ["3000000003"], "notification")
    retried = await _orders(runtime, tenant, integration, ["3000000004"], "backfill")
    async with runtime.sessions() as session:
        await session.execute(
            update(Sale)
            .where(Sale.id == retried["3000000004"])
            .values(priority=int(Priority.RETRIED))
        )
        await session.commit()
    order = [await _claim(runtime, limit=1, cap=None, worker=f"w{n}") for n in range(4)]
    assert order == [
        [retried["3000000004"]],
        [live["3000000003"]],
        [sweep["3000000002"]],
        [backfill["3000000001"]],
    ]


async def test_a_notification_raises_a_backfilled_sale_s_priority(runtime: Runtime) -> None:
    tenant, integration = await _integration(runtime, "444")
    sale = (await _orders(runtime, tenant, integration, ["4000000001"], "backfill"))["4000000001"]
    await _orders(runtime, tenant, integration, ["4000000001"], "sweep")
    await _orders(runtime, tenant, integration, ["4000000001"], "backfill")  # never lowers it
    async with runtime.sessions() as session:
        assert (await session.get(Sale, sale)).priority == Priority.SWEEP  # type: ignore[union-attr]
    await _orders(runtime, tenant, integration, ["4000000001"], "notification")
    async with runtime.sessions() as session:
        assert (await session.get(Sale, sale)).priority == Priority.LIVE  # type: ignore[union-attr]


async def test_a_paused_integration_is_not_claimed_until_its_pause_ends(runtime: Runtime) -> None:
    a_tenant, a = await _integration(runtime, "555")
    b_tenant, b = await _integration(runtime, "666")
    await _orders(runtime, a_tenant, a, ["5000000001", "5000000002"], "notification")
    live = await _orders(runtime, b_tenant, b, ["6000000001"], "notification")
    later = utcnow() + timedelta(seconds=30)
    async with runtime.sessions() as session:
        await queue.pause_claims(session, a, until=later, reason="siigo_budget_wait")
        # An earlier pause never shortens it.
        await queue.pause_claims(session, a, until=utcnow(), reason="siigo_budget_wait")
        await session.commit()
    assert await _claim(runtime, limit=8) == [live["6000000001"]]
    async with runtime.sessions() as session:
        ids = await queue.claim_due(
            session,
            worker_id="later",
            limit=8,
            lease_seconds=60,
            max_in_flight=4,
            now=later + timedelta(seconds=1),
        )
        integrations = set(
            (await session.execute(select(Sale.integration_id).where(Sale.id.in_(ids)))).scalars()
        )
    assert integrations == {a}


async def test_a_claim_costs_a_fixed_number_of_queries_whatever_the_integrations(
    runtime: Runtime,
) -> None:
    """200 sellers with due work: one claim of 64 slots takes one sale from each of 64 of them
    (most urgent first within each) in a bounded number of statements, not one per integration."""
    expected: dict[int, int] = {}
    async with runtime.sessions() as session:
        for n in range(200):
            tenant = await create_tenant(session, f"Tienda {n}")
            integration = await create_integration(
                session, tenant.id, seller_id=f"9{n:05d}", siigo_account=f"s{n}@siigo.test"
            )
            due = {(integration.id, f"9{n:05d}{k}"): tenant.id for k in range(3)}
            ids = await queue.make_orders_due(session, due, source="backfill")
            expected[integration.id] = ids[(integration.id, f"9{n:05d}0")]
            await queue.make_sale_due(session, expected[integration.id], priority=Priority.LIVE)
        await session.commit()
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sync_engine = runtime.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        claimed = await _claim(runtime, limit=64, cap=4)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert len(claimed) == 64
    async with runtime.sessions() as session:
        rows = (
            await session.execute(select(Sale.id, Sale.integration_id).where(Sale.id.in_(claimed)))
        ).all()
    by_integration = {integration: sale_id for sale_id, integration in rows}
    assert len(by_integration) == 64  # one each: round-robin
    assert all(expected[i] == sale_id for i, sale_id in by_integration.items())  # the live one
    claims = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert len(claims) <= 6, claims
    # The next claim goes on with the other sellers' live sales (more urgent than the backfill
    # left of the first 64).
    again = await _claim(runtime, limit=64, cap=4, worker="w2")
    async with runtime.sessions() as session:
        second = set(
            (await session.execute(select(Sale.integration_id).where(Sale.id.in_(again)))).scalars()
        )
    assert len(again) == 64
    assert len(second) == 64
    assert not second & set(by_integration)
