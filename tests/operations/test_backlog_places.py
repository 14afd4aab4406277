"""The backlog banner and each sale's place in the queue read a bounded part of the queue: the
backlog is counted up to a cap and places are ranked up to another, whatever the backlog
(docs/big-sellers.md, "Backlog and places")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from conexapi.db import transaction
from conexapi.operations import service
from conexapi.operations.schemas import Progress
from conexapi.runtime import Runtime
from conexapi.sync.models import Sale
from conexapi.web.pages_sales import backlog_banner, queue_text
from tests.builders import create_integration, create_tenant

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
# The four waiting states, interleaved in the queue's order (soonest due first).
CYCLE = ["pending", "retrying", "needs_attention", "dead"]


async def _queue(runtime: Runtime) -> tuple[int, list[int], list[int]]:
    """15 due sales across the waiting states (the queue, in order), and sales that are not in
    it: due later, invoiced, another tenant's."""
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, "Cola")
        other = await create_tenant(session, "Otra")
        ids: list[int] = []
        outside: list[int] = []
        for tenant_id in (tenant.id, other.id):
            integration = await create_integration(
                session, tenant_id, seller_id=f"5{tenant_id}", siigo_account=f"c{tenant_id}@x.co"
            )
            rows = []
            for n in range(19):
                state = CYCLE[n % 4] if n < 17 else "invoiced"
                due = NOW - timedelta(minutes=60 - n) if n < 15 else NOW + timedelta(minutes=n)
                if n == 3:  # ties on the due time are broken by id
                    due = NOW - timedelta(minutes=60 - 2)
                rows.append(
                    Sale(
                        tenant_id=tenant_id,
                        integration_id=integration.id,
                        external_id=f"{tenant_id}7{n:04d}",
                        order_ids=[f"{tenant_id}7{n:04d}"],
                        state=state,
                        total=Decimal("1000"),
                        buyer_name="Cola",
                        sale_date=NOW - timedelta(days=1),
                        next_attempt_at=due,
                    )
                )
            session.add_all(rows)
            await session.flush()
            if tenant_id == tenant.id:
                ids = [s.id for s in rows[:15]]
                outside = [s.id for s in rows[15:]]
        return tenant.id, ids, outside


async def _progress(runtime: Runtime, tenant_id: int, sale_ids: list[int], **caps: int) -> Progress:
    async with runtime.sessions() as session:
        return await service.progress(
            session,
            tenant_id=tenant_id,
            sale_ids=sale_ids,
            now=NOW,
            requests_per_minute=100,
            **caps,
        )


async def test_places_are_exact_up_to_the_cap_and_after_it_the_page_says_so(
    runtime: Runtime,
) -> None:
    tenant_id, queue, outside = await _queue(runtime)
    full = await _progress(runtime, tenant_id, queue + outside)
    assert (full.backlog, full.backlog_exact) == (15, True)
    places = {q.id: q.place for q in full.sales}
    assert [places[i] for i in queue] == list(range(1, 16))
    assert all(places[i] is None for i in outside)
    for cap in (1, 2, 4, 5, 14):
        capped = await _progress(runtime, tenant_id, queue + outside, place_cap=cap)
        by_id = {q.id: q for q in capped.sales}
        assert [by_id[i].place for i in queue] == [p if p <= cap else None for p in range(1, 16)]
        assert [by_id[i].after_place for i in queue] == [None] * cap + [cap] * (15 - cap)
        assert all(by_id[i].place is None and by_id[i].after_place is None for i in outside)
    capped = await _progress(runtime, tenant_id, [queue[0], queue[9]], place_cap=5)
    first, tenth = capped.sales
    assert queue_text(first) == "En cola · puesto 1 · ~1 min"
    assert queue_text(tenth) == "En cola · después del puesto 5 · más de 1 min"


async def test_the_backlog_is_counted_up_to_its_cap(runtime: Runtime) -> None:
    tenant_id, _, _ = await _queue(runtime)
    exact = await _progress(runtime, tenant_id, [], backlog_cap=15)
    assert (exact.backlog, exact.backlog_exact) == (15, True)
    assert backlog_banner(exact) == (
        "Facturando 15 ventas · ~1 min (límite de Siigo: 100 por minuto)"
    )
    over = await _progress(runtime, tenant_id, [], backlog_cap=8, place_cap=8)
    assert (over.backlog, over.backlog_exact) == (8, False)
    assert backlog_banner(over) == (
        "Facturando más de 8 ventas · más de 1 min (límite de Siigo: 100 por minuto)"
    )
