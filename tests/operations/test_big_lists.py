"""Lists that cost the same with a million sales: counts from the maintained tallies, keyset
paging, capped totals and indexed search (docs/big-sellers.md)."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import delete, func, select, update

from conexapi.db import transaction
from conexapi.operations.repository import Cursor, SaleRepository
from conexapi.operations.schemas import SaleFilter
from conexapi.operations.tally import fold_tallies, state_counts
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sync.models import Sale, SaleStateTally
from tests.bigdata import add_history
from tests.builders import create_integration, create_tenant
from tests.conftest import SignedIn


async def _seed(runtime: Runtime, count: int = 60, name: str = "Grande") -> tuple[int, int]:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, name)
        integration = await create_integration(
            session, tenant.id, seller_id=f"77{tenant.id}", siigo_account=f"s{tenant.id}@x.co"
        )
        await add_history(session, tenant.id, integration.id, count=count, days=20)
        return tenant.id, integration.id


async def _scanned_counts(runtime: Runtime, tenant_id: int) -> dict[str, int]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Sale.state, func.count(Sale.id))
            .where(Sale.tenant_id == tenant_id)
            .group_by(Sale.state)
        )
        return {state: int(n) for state, n in rows.all()}


async def test_counts_come_from_tallies_and_follow_every_write(runtime: Runtime) -> None:
    tenant_id, integration_id = await _seed(runtime, 80)
    async with runtime.sessions() as session:
        assert await state_counts(session, tenant_id) == await _scanned_counts(runtime, tenant_id)
    async with transaction(runtime.sessions) as session:
        one = (await session.execute(select(Sale).where(Sale.state == "dead"))).scalars().first()
        assert one is not None
        one.state = SaleState.PENDING.value  # through the ORM
        await session.execute(  # and a bulk update, as the queue does
            update(Sale).where(Sale.state == "waiting").values(state=SaleState.PENDING.value)
        )
        gone = (await session.execute(select(Sale.id).where(Sale.state == "skipped"))).scalar()
        await session.execute(delete(Sale).where(Sale.id == gone))
    async with runtime.sessions() as session:
        counts = await state_counts(session, tenant_id)
        assert counts == await _scanned_counts(runtime, tenant_id)
        assert await state_counts(session, tenant_id, integration_id) == counts
        assert await state_counts(session, tenant_id + 1000) == {}
    async with runtime.sessions() as session:
        folded = await fold_tallies(session)
    assert folded > 80
    async with runtime.sessions() as session:
        assert await state_counts(session, tenant_id) == await _scanned_counts(runtime, tenant_id)
        rows = (await session.execute(select(func.count(SaleStateTally.id)))).scalar_one()
        assert rows <= len(SaleState)  # one row per state left
        assert await fold_tallies(session) == 0  # and nothing more to fold


async def _expected_order(runtime: Runtime, tenant_id: int, **where: object) -> list[int]:
    async with runtime.sessions() as session:
        stmt = select(Sale.id, Sale.state, Sale.sale_date).where(Sale.tenant_id == tenant_id)
        if "state" in where:
            stmt = stmt.where(Sale.state == where["state"])
        rows = (await session.execute(stmt)).all()
    ordered = sorted(rows, key=lambda r: (r.sale_date, r.id), reverse=True)
    if "state" in where:
        return [r.id for r in ordered]
    return [r.id for r in ordered if r.state == "needs_attention"] + [
        r.id for r in ordered if r.state != "needs_attention"
    ]


async def _walk(runtime: Runtime, tenant_id: int, f: SaleFilter, size: int) -> list[int]:
    seen: list[int] = []
    cursor: Cursor | None = None
    for _ in range(100):
        async with runtime.sessions() as session:
            result = await SaleRepository(session, tenant_id).page(f, page_size=size, cursor=cursor)
        seen.extend(s.id for s in result.sales)
        if result.next_cursor is None:
            return seen
        cursor = Cursor.decode(result.next_cursor)
    raise AssertionError("the cursor never reached the end")


async def test_cursor_and_page_walk_the_same_list_in_order(runtime: Runtime) -> None:
    tenant_id, _ = await _seed(runtime, 70)
    expected = await _expected_order(runtime, tenant_id)
    assert await _walk(runtime, tenant_id, SaleFilter(), 7) == expected
    by_page: list[int] = []
    for page in range(1, 12):
        async with runtime.sessions() as session:
            result = await SaleRepository(session, tenant_id).page(
                SaleFilter(), page=page, page_size=7
            )
        by_page.extend(s.id for s in result.sales)
        assert result.total == 70
        assert result.total_exact
    assert by_page == expected
    invoiced = await _expected_order(runtime, tenant_id, state="invoiced")
    assert await _walk(runtime, tenant_id, SaleFilter(state=SaleState.INVOICED), 4) == invoiced


async def test_filtered_totals_are_counted_up_to_the_cap(runtime: Runtime) -> None:
    tenant_id, _ = await _seed(runtime, 40)
    f = SaleFilter(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    async with runtime.sessions() as session:
        exact = await SaleRepository(session, tenant_id, count_cap=1000).page(f, page_size=5)
        capped = await SaleRepository(session, tenant_id, count_cap=10).page(f, page_size=5)
    assert exact.total == 40
    assert exact.total_exact
    assert capped.total == 10
    assert not capped.total_exact
    assert [s.id for s in capped.sales] == [s.id for s in exact.sales]


async def test_search_finds_orders_invoices_identifications_and_names(runtime: Runtime) -> None:
    tenant_id, _ = await _seed(runtime, 30)
    other_id, _ = await _seed(runtime, 5, name="Otra")
    async with runtime.sessions() as session:
        sales = list(
            (await session.execute(select(Sale).where(Sale.tenant_id == tenant_id))).scalars()
        )
        invoiced = next(s for s in sales if s.state == "invoiced")
        repo = SaleRepository(session, tenant_id)

        async def found(q: str) -> set[int]:
            result = await repo.page(SaleFilter(q=q), page_size=100)
            return {s.id for s in result.sales}

        assert await found(sales[3].external_id) == {sales[3].id}  # order / pack id
        assert await found(f"FV-{tenant_id}-{invoiced.id}") == {invoiced.id}  # invoice number
        assert await found(sales[5].buyer_ident) == {sales[5].id}  # identification
        restrepo = {s.id for s in sales if "Restrepo" in s.buyer_name}
        assert restrepo
        assert await found("Restrepo") == restrepo
        assert await found("restre") == restrepo  # a word's beginning
        assert await found("maría josé") == restrepo
        gomez = {s.id for s in sales if s.buyer_name == "Ana Gómez"}
        assert await found("Ana Gómez") == gomez
        assert await found("nadie-asi") == set()
        other = await SaleRepository(session, other_id).page(SaleFilter(), page_size=1)
        assert await found(other.sales[0].external_id) == set()  # never another tenant's


async def test_api_pages_by_cursor_and_refuses_a_forged_one(
    runtime: Runtime, client: httpx.AsyncClient, owner: SignedIn
) -> None:
    async with transaction(runtime.sessions) as session:
        integration = await create_integration(session, owner.tenant_id)
        await add_history(session, owner.tenant_id, integration.id, count=12, days=5)
    first = await client.get("/api/v1/sales?page_size=5", headers=owner.headers)
    body = first.json()
    assert body["total"] == 12
    assert body["total_exact"] is True
    assert body["page"] == 1
    assert sum(body["counts"].values()) == 12
    second = await client.get(
        f"/api/v1/sales?page_size=5&cursor={body['next_cursor']}", headers=owner.headers
    )
    ids = [s["id"] for s in body["items"]] + [s["id"] for s in second.json()["items"]]
    by_page = await client.get("/api/v1/sales?page_size=10", headers=owner.headers)
    assert ids == [s["id"] for s in by_page.json()["items"]]
    bad = await client.get("/api/v1/sales?cursor=not-a-cursor", headers=owner.headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"
