"""The search's term table (`sale_term`): what the triggers store for every kind of write on
both databases, and what the search finds through it (docs/big-sellers.md, "Search")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update

from conexapi.db import transaction
from conexapi.operations.repository import Cursor, SaleRepository
from conexapi.operations.schemas import SaleFilter
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sales.terms import fold, sale_terms, search_words
from conexapi.sync.models import Sale, SalePair, SaleTerm
from tests.bigdata import add_history
from tests.builders import create_integration, create_tenant

TRICKY: list[tuple[str, str, dict[str, Any]]] = [
    (
        "María-José O'Neil  Pérez",
        "1.020.304-5",
        {
            "buyer_nickname": "MAJO_99",
            "buyer": {"identification": "1020304"},
            "lines": [{"sku": "FUNDA-IPH-15"}, {"sku": " Cable USB "}, {"title": "sin"}, "raro"],
        },
    ),
    ("ÓSCAR “El Mono” DÍAZ", "", {"lines": [{"sku": 12345}], "buyer": None}),
    (
        "Comercializadora Ñandú S.A.S.",
        "900123456-7",
        {"buyer": {"identification": "900123456-7"}, "lines": {"sku": "no-es-lista"}},
    ),
    ("", "", {}),
]


async def _tenant(runtime: Runtime, name: str = "Tienda") -> tuple[int, int]:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, name)
        integration = await create_integration(
            session, tenant.id, seller_id=f"66{tenant.id}", siigo_account=f"t{tenant.id}@x.co"
        )
        return tenant.id, integration.id


async def _add(
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    n: int,
    name: str,
    ident: str = "",
    facts: dict[str, Any] | None = None,
    state: str = "invoiced",
) -> int:
    async with transaction(runtime.sessions) as session:
        sale = Sale(
            tenant_id=tenant_id,
            integration_id=integration_id,
            external_id=f"{tenant_id}9{n:05d}",
            order_ids=[f"{tenant_id}9{n:05d}"],
            state=state,
            total=Decimal("1000"),
            buyer_name=name,
            buyer_ident=ident,
            sale_date=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
            facts=facts or {},
        )
        session.add(sale)
        await session.flush()
        return int(sale.id)


async def _stored(runtime: Runtime, sale_id: int) -> set[tuple[str, str]]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(SaleTerm.kind, SaleTerm.term).where(SaleTerm.sale_id == sale_id)
        )
        # MariaDB keeps the accents (its collation ignores them); compare folded.
        return {(kind, fold(term)) for kind, term in rows.all()}


def _expected(name: str, ident: str, facts: Any) -> set[tuple[str, str]]:
    return {(kind, term) for kind, term in sale_terms(name, ident, facts)}


async def test_the_triggers_store_the_terms_of_every_write(runtime: Runtime) -> None:
    tenant_id, integration_id = await _tenant(runtime)
    ids = [
        await _add(runtime, tenant_id, integration_id, n, name, ident, facts)
        for n, (name, ident, facts) in enumerate(TRICKY)
    ]
    assert _expected(*TRICKY[0]) == {
        ("w", "maria"),
        ("w", "jose"),
        ("w", "o"),
        ("w", "neil"),
        ("w", "perez"),
        ("w", "1"),
        ("w", "020"),
        ("w", "304"),
        ("w", "5"),
        ("k", "majo_99"),
        ("k", "1020304"),
        ("k", "funda-iph-15"),
        ("k", "cable usb"),
    }
    for sale_id, (name, ident, facts) in zip(ids, TRICKY, strict=True):
        assert await _stored(runtime, sale_id) == _expected(name, ident, facts), name
    assert ("k", "12345") in await _stored(runtime, ids[1])
    assert not {t for t in await _stored(runtime, ids[2]) if t[0] == "k"}  # same identification

    new_facts = {"buyer_nickname": "OTRO", "lines": [{"sku": "B-2"}]}
    async with transaction(runtime.sessions) as session:
        # A bulk UPDATE (as the pipeline writes a sale's facts) and an ORM change.
        await session.execute(
            update(Sale)
            .where(Sale.id == ids[0])
            .values(buyer_name="Lucía Ramírez", buyer_ident="77", facts=new_facts)
        )
        sale = await session.get(Sale, ids[3])
        assert sale is not None
        sale.buyer_name = "Nuevo Nombre"
    assert await _stored(runtime, ids[0]) == _expected("Lucía Ramírez", "77", new_facts)
    assert await _stored(runtime, ids[3]) == {("w", "nuevo"), ("w", "nombre")}
    async with transaction(runtime.sessions) as session:
        await session.execute(update(Sale).where(Sale.id == ids[1]).values(state="dead"))
        await session.execute(delete(Sale).where(Sale.id == ids[2]))
    assert await _stored(runtime, ids[1]) == _expected(*TRICKY[1])  # other columns: untouched
    assert await _stored(runtime, ids[2]) == set()  # the delete took them


async def _sort_keys(runtime: Runtime, tenant_id: int) -> dict[str, int]:
    """How many term and pair rows of the tenant carry their sale's sort key, and how many
    do not (a different one, or none)."""
    async with runtime.sessions() as session:
        counts = {}
        for name, table in (("term", SaleTerm), ("pair", SalePair)):
            rows = (
                await session.execute(
                    select(table.sort_at, Sale.sort_at)
                    .join(Sale, Sale.id == table.sale_id)
                    .where(table.tenant_id == tenant_id)
                )
            ).all()
            counts[name] = sum(1 for mine, sales in rows if mine == sales and mine is not None)
            counts[f"{name} wrong"] = sum(1 for mine, sales in rows if mine != sales or not mine)
    return counts


async def test_the_terms_and_pairs_carry_their_sales_sort_key_through_every_write(
    runtime: Runtime,
) -> None:
    """Migration b4e8d2f6a0c3: the term and pair rows' `sort_at` is their sale's, after ORM
    and bulk inserts, a date changed by the ORM or by a bulk UPDATE, a name rewritten (new
    rows) together with the date, and other changes."""
    tenant_id, integration_id = await _tenant(runtime)
    ids = [
        await _add(runtime, tenant_id, integration_id, n, name, ident, facts)
        for n, (name, ident, facts) in enumerate(TRICKY)
    ]
    async with transaction(runtime.sessions) as session:
        await add_history(session, tenant_id, integration_id, count=20, days=3)
    before = await _sort_keys(runtime, tenant_id)
    assert before["term"] > 40
    assert before["pair"] > 20
    assert before["term wrong"] == before["pair wrong"] == 0
    later = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    async with transaction(runtime.sessions) as session:
        await session.execute(update(Sale).where(Sale.id == ids[0]).values(sale_date=later))
        await session.execute(
            update(Sale)
            .where(Sale.id == ids[1])
            .values(sale_date=later + timedelta(hours=1), buyer_name="Nueva Persona Distinta")
        )
        sale = await session.get(Sale, ids[2])
        assert sale is not None
        sale.sale_date = later - timedelta(days=3)
        await session.execute(update(Sale).where(Sale.id == ids[3]).values(state="dead"))
        await session.execute(
            update(Sale).where(Sale.tenant_id == tenant_id, Sale.id > ids[3]).values(sale_date=None)
        )
    after = await _sort_keys(runtime, tenant_id)
    assert after["term wrong"] == after["pair wrong"] == 0
    assert after["term"] >= before["term"] - 10  # the rewritten name has fewer words
    async with runtime.sessions() as session:
        moved = await session.execute(
            select(SalePair.sort_at).where(SalePair.sale_id == ids[1]).limit(1)
        )
        assert moved.scalar_one() == later + timedelta(hours=1)


def test_the_query_is_cut_and_folded_like_the_terms() -> None:
    assert search_words("  Gómez, MARÍA-josé ") == ["gomez", "maria", "jose"]
    assert search_words("“Ñandú” S.A.S.") == ["nandu", "s", "a"]
    assert search_words("--") == []


async def _found(runtime: Runtime, tenant_id: int, q: str, **kw: Any) -> set[int]:
    async with runtime.sessions() as session:
        result = await SaleRepository(session, tenant_id).page(SaleFilter(q=q, **kw), page_size=100)
    return {s.id for s in result.sales}


async def test_search_finds_word_beginnings_in_any_order_and_keys_of_this_tenant_only(
    runtime: Runtime,
) -> None:
    a, a_int = await _tenant(runtime, "A")
    b, b_int = await _tenant(runtime, "B")
    funda = {"buyer_nickname": "COMPRADORX2026", "lines": [{"sku": "FUNDA-IPH-15"}]}
    ana = await _add(runtime, a, a_int, 1, "Ana Gómez", "52111222", funda)
    reversed_ = await _add(runtime, a, a_int, 2, "GOMEZ Ana María", "", {})
    mariana = await _add(runtime, a, a_int, 3, "Mariana Gómez", "", {"lines": [{"sku": "X-1"}]})
    company = await _add(runtime, a, a_int, 4, "Comercializadora Ñandú S.A.S.", "900123456-7")
    other = await _add(runtime, b, b_int, 1, "Ana Gómez", "52111222", funda)

    assert await _found(runtime, a, "gomez ana") == {ana, reversed_}
    assert await _found(runtime, a, "ANA") == {ana, reversed_}  # not "Mariana"
    assert await _found(runtime, a, "góm") == {ana, reversed_, mariana}
    assert await _found(runtime, a, "nandu sas") == set()  # "sas" begins no word of "S.A.S."
    assert await _found(runtime, a, "ñandú s.a") == {company}
    assert await _found(runtime, a, "5211") == {ana}  # the identification's beginning
    assert await _found(runtime, a, "funda-iph") == {ana}  # a SKU's beginning
    assert await _found(runtime, a, "compradorx") == {ana}  # the nickname
    assert await _found(runtime, a, "x-1") == {mariana}
    assert await _found(runtime, a, "nadie") == set()
    assert await _found(runtime, b, "gomez") == {other}
    assert await _found(runtime, b, "funda") == {other}
    assert await _found(runtime, a, "gomez", state=SaleState.DEAD) == set()


async def test_every_way_of_paging_a_search_gives_the_same_list(runtime: Runtime) -> None:
    """The ids listed, the terms semi-joined, or (more matches than the cap) each sale checked
    while the list reads the index newest first: the same sales in the same order, and the
    total says "more than" the cap when it is one."""
    tenant_id, integration_id = await _tenant(runtime)
    async with transaction(runtime.sessions) as session:
        await add_history(session, tenant_id, integration_id, count=60, days=10)
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Sale.id, Sale.state, Sale.sale_date).where(
                    Sale.tenant_id == tenant_id, Sale.buyer_name == "Camila Ospina"
                )
            )
        ).all()
    ordered = sorted(rows, key=lambda r: (r.sale_date, r.id), reverse=True)
    expected = [r.id for r in ordered if r.state == "needs_attention"] + [
        r.id for r in ordered if r.state != "needs_attention"
    ]
    assert len(expected) == 12
    # Past the cap (checked per sale), under it but past the id list (semi-join), ids listed.
    for cap, id_list, total, exact in (
        (5, 2000, 5, False),
        (100, 3, 12, True),
        (100, 50, 12, True),
    ):
        options = {"count_cap": cap, "id_list_max": id_list}
        seen: list[int] = []
        cursor: Cursor | None = None
        for _ in range(10):
            async with runtime.sessions() as session:
                result = await SaleRepository(session, tenant_id, **options).page(
                    SaleFilter(q="camila os"), page_size=5, cursor=cursor
                )
            assert (result.total, result.total_exact) == (total, exact)
            seen.extend(s.id for s in result.sales)
            if result.next_cursor is None:
                break
            cursor = Cursor.decode(result.next_cursor)
        assert seen == expected, cap
        async with runtime.sessions() as session:
            invoiced = await SaleRepository(session, tenant_id, **options).page(
                SaleFilter(q="Camila", state=SaleState.INVOICED), page_size=50
            )
        want = [i for i in expected if any(r.id == i and r.state == "invoiced" for r in rows)]
        assert [s.id for s in invoiced.sales] == want
        assert invoiced.total == min(len(want), cap)


async def test_a_search_of_few_matches_pages_like_the_semi_join(runtime: Runtime) -> None:
    """A search's few matches are joined to `sale` once, filtered, counted and paged in one
    statement: with every filter, by page and by cursor, the same sales in the same order and
    the same total as the semi-joined terms (`id_list_max` 0)."""
    tenant_id, integration_id = await _tenant(runtime)
    async with transaction(runtime.sessions) as session:
        other = await create_integration(
            session, tenant_id, seller_id=f"77{tenant_id}", siigo_account=f"o{tenant_id}@x.co"
        )
        await add_history(session, tenant_id, integration_id, count=60, days=10)
        await add_history(session, tenant_id, other.id, count=30, days=10, seed=11)
        # Two matches at the same moment: the id breaks the tie the same way.
        twins = await session.execute(
            select(Sale).where(Sale.tenant_id == tenant_id, Sale.buyer_name == "Camila Ospina")
        )
        camilas = list(twins.scalars())
        camilas[1].sale_date = camilas[0].sale_date
        # Enough of them needing attention that the first phase spans pages.
        for sale in camilas[::3]:
            sale.state = "needs_attention"
    filters: list[dict[str, Any]] = [
        {},
        {"state": SaleState.INVOICED},
        {"state": SaleState.NEEDS_ATTENTION},
        {"integration_id": other.id},
        {"date_from": datetime(2026, 11, 23).date(), "date_to": datetime(2026, 11, 26).date()},
        {"date_from": datetime(2026, 11, 27).date(), "state": SaleState.INVOICED},
    ]

    async def walk(q: str, extra: dict[str, Any], **options: Any) -> tuple[list[int], ...]:
        f = SaleFilter(q=q, **extra)
        by_cursor: list[int] = []
        cursor: Cursor | None = None
        for _ in range(30):
            async with runtime.sessions() as session:
                result = await SaleRepository(session, tenant_id, **options).page(
                    f, page_size=4, cursor=cursor
                )
            by_cursor.extend(s.id for s in result.sales)
            if result.next_cursor is None:
                break
            cursor = Cursor.decode(result.next_cursor)
        by_page: list[int] = []
        for n in range(1, 30):
            async with runtime.sessions() as session:
                result = await SaleRepository(session, tenant_id, **options).page(
                    f, page=n, page_size=4
                )
            if not result.sales:
                break
            by_page.extend(s.id for s in result.sales)
        return by_cursor, by_page, [result.total, int(result.total_exact)]

    for q in ("camila", "camila os", "ospina camila"):
        for extra in filters:
            keys = await walk(q, extra)
            database = await walk(q, extra, id_list_max=0)
            assert keys == database, (q, extra)
            assert keys[0] == keys[1], (q, extra)
    everything = await walk("camila", {})
    assert len(everything[0]) == len(camilas)
