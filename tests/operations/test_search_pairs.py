"""The word pairs of the buyer's name (`sale_pair`): what the triggers store on both databases,
that a search of several words finds exactly what the words find one by one, and (MariaDB,
EXPLAIN) that a two-word search reads the pair's range, not the words' ranges
(docs/big-sellers.md, "Search")."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update

from conexapi.db import transaction
from conexapi.operations.repository import SaleRepository
from conexapi.operations.schemas import SaleFilter
from conexapi.runtime import Runtime
from conexapi.sales.terms import PAIR_OVERFLOW, fold, sale_pairs, search_words
from conexapi.sync.models import Sale, SalePair
from tests.bigdata import make_sale
from tests.builders import create_integration, create_tenant
from tests.conftest import _truncate_mariadb, make_settings

LONG = "Distribuidora de Repuestos y Accesorios El Gran Camión Ospina"  # 10 words
NAMES = [
    ("Camila Ospina", "52111222"),
    ("OSPINA Camila Andrea", ""),
    ("Camilo Ospino", ""),
    ("Camila Ortiz", "CE-77"),
    ("María José Ospina", ""),
    ("Ana Anabel Gómez", ""),
    ("Comercializadora Ñandú S.A.S.", "900123456-7"),
    (LONG, ""),
    ("Supercalifragilisticoespialidosoyotrascosasmuylargas Ospina", ""),
    ("", ""),
]
QUERIES = [
    "camila",
    "camila ospina",
    "ospina camila",
    "cami osp",
    "camila ospina andrea",
    "osp cam and",
    "Ospína CAMILA",
    "maria-jose ospina",
    "ana anabel",
    "ana anab gom",
    "camila 5211",
    "ñandú s.a",
    "nandu sas",
    "gran ospina",
    "supercali ospina",
    "camila nadie",
    "zz ospina",
]


async def _tenant(runtime: Runtime, name: str) -> tuple[int, int]:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, name)
        integration = await create_integration(
            session, tenant.id, seller_id=f"77{tenant.id}", siigo_account=f"p{tenant.id}@x.co"
        )
        return tenant.id, integration.id


async def _add(runtime: Runtime, tenant_id: int, integration_id: int, n: int) -> int:
    name, ident = NAMES[n % len(NAMES)]
    sale = make_sale(
        tenant_id,
        integration_id,
        n,
        "invoiced",
        datetime(2026, 11, 1, tzinfo=UTC),
        random.Random(n),
    )
    sale.buyer_name, sale.buyer_ident = name, ident
    sale.sale_date = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n)
    async with transaction(runtime.sessions) as session:
        session.add(sale)
        await session.flush()
        return int(sale.id)


async def _pairs(runtime: Runtime, sale_id: int) -> set[str]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(SalePair.pair).where(SalePair.sale_id == sale_id))
        return {fold(p) for p in rows.scalars()}  # MariaDB keeps the accents


def _matches(name: str, ident: str, q: str) -> bool:
    """What the name search means: every word of `q` begins a word of the name or ident."""
    words = search_words(f"{name} {ident}")
    return all(any(w.startswith(p) for w in words) for p in search_words(q))


async def test_the_triggers_store_the_pairs_of_every_write(runtime: Runtime) -> None:
    tenant_id, integration_id = await _tenant(runtime, "Pares")
    ids = [await _add(runtime, tenant_id, integration_id, n) for n in range(len(NAMES))]
    assert sale_pairs("Camila Ospina", "52111222") == ["camila ospina", "ospina camila"]
    assert sale_pairs("María-José", "CE-77") == [
        "maria jose",
        "maria ce",
        "jose maria",
        "jose ce",
        "ce maria",
        "ce jose",
    ]
    assert sale_pairs(LONG, "") == [PAIR_OVERFLOW]
    for sale_id, (name, ident) in zip(ids, NAMES, strict=True):
        assert await _pairs(runtime, sale_id) == set(sale_pairs(name, ident)), name
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(Sale).where(Sale.id == ids[0]).values(buyer_name="Lucía Ramírez")
        )
        await session.execute(update(Sale).where(Sale.id == ids[1]).values(state="dead"))
        await session.execute(update(Sale).where(Sale.id == ids[7]).values(buyer_name="Ana Paz"))
        await session.execute(delete(Sale).where(Sale.id == ids[2]))
    assert await _pairs(runtime, ids[0]) == {"lucia ramirez", "ramirez lucia"}
    assert await _pairs(runtime, ids[1]) == set(sale_pairs(*NAMES[1]))
    assert await _pairs(runtime, ids[7]) == {"ana paz", "paz ana"}
    assert await _pairs(runtime, ids[2]) == set()


async def test_a_search_of_several_words_finds_what_each_word_finds(runtime: Runtime) -> None:
    """Single words, two, three, accents, words beginning each other, digits, names without
    pairs, and another tenant's sales: the same sales as the words' meaning says, and a search
    of two words that qualify reads `sale_pair`."""
    a, a_int = await _tenant(runtime, "A")
    b, b_int = await _tenant(runtime, "B")
    sales = {await _add(runtime, a, a_int, n): NAMES[n % len(NAMES)] for n in range(30)}
    for n in range(len(NAMES)):
        await _add(runtime, b, b_int, 1000 + n)  # the same names, another tenant
    statements: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        for q in QUERIES:
            statements.clear()
            async with runtime.sessions() as session:
                page = await SaleRepository(session, a).page(SaleFilter(q=q), page_size=100)
            expected = {i for i, (name, ident) in sales.items() if _matches(name, ident, q)}
            assert {s.id for s in page.sales} == expected, q
            assert page.total == len(expected), q
            read_pairs = any("sale_pair" in s for s in statements)
            # No two words beginning with a letter where neither begins the other: no pairs.
            assert read_pairs == (q not in ("camila", "ana anabel", "camila 5211")), q
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)


@pytest.mark.mariadb
async def test_a_two_word_search_reads_the_pair_range(mariadb_migrated: str) -> None:
    _truncate_mariadb(mariadb_migrated)
    runtime = Runtime.build(make_settings(mariadb_migrated))
    firsts = ["Camila", "Andrés", "Valentina", "Juan", "Sofía", "Carlos", "Laura", "Diego"]
    lasts = ["Ospina", "Restrepo", "Gómez", "Pérez", "Rodríguez", "Díaz", "Ortiz", "Marín"]
    try:
        tenant_id, integration_id = await _tenant(runtime, "Grande")
        rng = random.Random(5)
        rows = []
        for i in range(20_000):
            when = datetime(2026, 11, 29, tzinfo=UTC) - timedelta(minutes=i * 7)
            sale = make_sale(tenant_id, integration_id, i, "invoiced", when, rng)
            sale.buyer_name = f"{rng.choice(firsts)} {rng.choice(lasts)} {rng.choice(lasts)}"
            rows.append(
                {
                    c.key: getattr(sale, c.key)
                    for c in Sale.__table__.columns
                    if c.key not in ("id", "sort_at")
                }
                | {"created_at": when, "updated_at": when, "attempts": 0}
            )
        async with transaction(runtime.sessions) as session:
            await session.execute(insert(Sale), rows)
        async with runtime.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE TABLE sale, sale_term, sale_pair")
        seen: list[tuple[str, Any]] = []

        def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, params))

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
        try:
            async with runtime.sessions() as session:
                page = await SaleRepository(session, tenant_id).page(
                    SaleFilter(q="camila ospina"), page_size=50
                )
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
        assert page.sales
        pair_reads: list[Any] = []
        word_ranges: list[tuple[str, Any]] = []
        async with runtime.engine.connect() as conn:
            for statement, params in seen:
                plan = (await conn.exec_driver_sql("EXPLAIN " + statement, params)).mappings()
                for row in plan.all():
                    table = re.sub(r"_\d+$", "", str(row["table"] or ""))
                    assert not (
                        table in ("sale", "sale_term", "sale_pair") and row["type"] == "ALL"
                    )
                    if table == "sale_pair" and row["key"] == "PRIMARY":
                        pair_reads.append(row)
                    if table == "sale_term" and row["key"] == "PRIMARY":
                        word_ranges.append((statement, row))
        # The pair's range (about 1 in 64 sales) and the names without pairs ("*"); the
        # words' ranges (1 in 8 sales each) are never read: only the next distinct word
        # beginning like "camila", one index entry (in order, the first row ends it).
        assert any(r["type"] == "range" for r in pair_reads), pair_reads
        assert all(r["type"] in ("range", "ref") for r in pair_reads), pair_reads
        assert all(int(r["rows"]) < 20_000 / 8 for r in pair_reads), pair_reads
        assert word_ranges
        for statement, row in word_ranges:
            assert "filesort" not in str(row["Extra"]), row
            assert re.search(r"ORDER BY \S+\s+LIMIT", statement), statement
    finally:
        await runtime.aclose()
