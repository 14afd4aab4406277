"""Every main query of the lists, the search, the sale page and the reports reads `sale` (and
the search's `sale_term`) through an index, never a full scan: checked with EXPLAIN on MariaDB
over 22,000 sales after ANALYZE TABLE (on a small table the optimizer scans anyway, so the test
loads enough rows)."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import transaction
from conexapi.operations import service
from conexapi.operations.schemas import SaleFilter
from conexapi.reports.days import overview
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sync.models import Document, Sale, SaleOrder
from conexapi.web.pages_bulk import cause_counts
from tests.bigdata import make_sale
from tests.builders import create_integration, create_tenant
from tests.conftest import _truncate_mariadb, make_settings

BIG, SMALL = 20_000, 2_000


async def _load(runtime: Runtime) -> tuple[int, int]:
    rng = random.Random(3)
    end = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    tenants = []
    async with transaction(runtime.sessions) as session:
        for name, count in (("Grande", BIG), ("Pequeña", SMALL)):
            tenant = await create_tenant(session, name)
            integration = await create_integration(
                session, tenant.id, seller_id=f"9{tenant.id}", siigo_account=f"s{tenant.id}@x"
            )
            rows = []
            for i in range(count):
                when = end - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
                states = [s.value for s in SaleState]
                state = "invoiced" if rng.random() < 0.8 else rng.choice(states)
                sale = make_sale(tenant.id, integration.id, i, state, when, rng)
                rows.append(
                    {
                        c.key: getattr(sale, c.key)
                        for c in Sale.__table__.columns
                        if c.key not in ("id", "sort_at")
                    }
                    | {"created_at": when, "updated_at": when, "attempts": 0}
                )
            await session.execute(insert(Sale), rows)
            ids = (
                await session.execute(
                    select(Sale.id, Sale.external_id).where(Sale.tenant_id == tenant.id)
                )
            ).all()
            await session.execute(
                insert(SaleOrder),
                [{"integration_id": integration.id, "order_id": e, "sale_id": i} for i, e in ids],
            )
            await session.execute(
                insert(Document),
                [
                    {
                        "tenant_id": tenant.id,
                        "sale_id": i,
                        "kind": "invoice",
                        "seq": 1,
                        "idempotency_key": f"X{i}",
                        "status": "issued",
                        "number": f"FV-{i}",
                        "stamp_status": "Accepted",
                        "stamp_errors": [],
                        "body": {},
                        "breakdown": {},
                        "created_at": end,
                        "updated_at": end,
                    }
                    for i, _ in ids[::3]
                ],
            )
            tenants.append(tenant.id)
    async with runtime.engine.connect() as conn:
        await conn.exec_driver_sql(
            "ANALYZE TABLE sale, sale_order, document, sale_day_stat, sale_term"
        )
    return tenants[0], tenants[1]


@pytest.mark.mariadb
async def test_main_queries_never_scan_the_sale_table(mariadb_migrated: str) -> None:
    _truncate_mariadb(mariadb_migrated)
    runtime = Runtime.build(make_settings(mariadb_migrated))
    try:
        big, _small = await _load(runtime)
        async with runtime.sessions() as session:
            one = (
                await session.execute(select(Sale).where(Sale.tenant_id == big).limit(1))
            ).scalar_one()
            doc = (
                (await session.execute(select(Document.number).where(Document.tenant_id == big)))
                .scalars()
                .first()
            )
        page = service.list_sales
        scenarios: dict[str, Callable[[AsyncSession], Awaitable[Any]]] = {
            "first page": lambda s: page(s, tenant_id=big, filters=SaleFilter(), page_size=50),
            "deep page": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(), page=300, page_size=50
            ),
            "dates": lambda s: page(
                s,
                tenant_id=big,
                filters=SaleFilter(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)),
                page_size=50,
            ),
            "order id": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q=one.external_id), page_size=50
            ),
            "invoice number": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q=doc), page_size=50
            ),
            "identification": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q=one.buyer_ident), page_size=50
            ),
            "name": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q="Restrepo"), page_size=50
            ),
            "two words": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q="camila ospina"), page_size=50
            ),
            # "1" begins every identification: more matches than the cap, checked per sale.
            "broad": lambda s: page(s, tenant_id=big, filters=SaleFilter(q="1"), page_size=50),
            "sku": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q="SKU-00042"), page_size=50
            ),
            # A few matches (identifications beginning "1234" of the Restrepos): one statement
            # pages them, inside `ix_sale_tenant_id_sort`, whatever the filter.
            "few matches": lambda s: page(
                s, tenant_id=big, filters=SaleFilter(q="1234 Restrepo"), page_size=50
            ),
            "few matches, filtered": lambda s: page(
                s,
                tenant_id=big,
                filters=SaleFilter(
                    q="1234 Restrepo",
                    integration_id=one.integration_id,
                    state=SaleState.INVOICED,
                    date_from=date(2026, 1, 1),
                ),
                page_size=50,
            ),
            "sale detail": lambda s: service.get_sale(s, tenant_id=big, sale_id=one.id),
            "backlog and place": lambda s: service.progress(
                s,
                tenant_id=big,
                sale_ids=[one.id],
                now=datetime.now(UTC),
                requests_per_minute=100,
            ),
            "causes": lambda s: cause_counts(s, big),
            "report month": lambda s: overview(
                s, tenant_id=big, date_from=date(2026, 11, 1), date_to=date(2026, 11, 29)
            ),
        }

        def by_state(state: SaleState) -> Callable[[AsyncSession], Awaitable[Any]]:
            return lambda s: page(s, tenant_id=big, filters=SaleFilter(state=state), page_size=50)

        for state in SaleState:
            scenarios[f"state {state.value}"] = by_state(state)
        # Counted and ranked inside an index, never reading a row of `sale` (besides loading
        # the shown sales themselves).
        covered = {"causes", "backlog and place"}
        scans: list[str] = []
        uncovered: list[str] = []
        paged: set[str] = set()
        for name, run in scenarios.items():
            seen: list[tuple[str, Any]] = []

            def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
                if statement.lstrip().upper().startswith("SELECT"):
                    seen.append((statement, params))  # noqa: B023

            event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
            try:
                async with runtime.sessions() as session:
                    await run(session)
            finally:
                event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
            assert seen, name
            async with runtime.engine.connect() as conn:
                for statement, params in seen:
                    plan = (
                        (await conn.exec_driver_sql("EXPLAIN " + statement, params))
                        .mappings()
                        .all()
                    )
                    for row in plan:
                        table = re.sub(r"_\d+$", "", str(row["table"] or ""))  # alias: sale_term_2
                        if table in ("sale", "sale_term") and row["type"] == "ALL":
                            scans.append(f"{name}: {statement}")
                        extra = str(row["Extra"] or "").split("; ")  # not "...index condition"
                        counting = "sale.facts" not in statement
                        # The page of a search's few matches: inside an index, never a row.
                        wanted = {
                            "paged": "ix_sale_tenant_id_sort",  # matches joined to `sale`
                            "attention": "ix_sale_tenant_state_sort",  # sorted: attention only
                        }.get(table)
                        if wanted is not None:
                            paged.add(f"{name}: {table}")
                            if row["key"] != wanted or "Using index" not in extra:
                                uncovered.append(f"{name}: {row['key']} {row['Extra']}")
                        if (
                            name in covered
                            and counting
                            and table == "sale"
                            and ("Using index" not in extra)
                        ):
                            uncovered.append(f"{name}: {row['key']} {row['Extra']}: {statement}")
        assert scans == []
        assert uncovered == []
        joined = {"order id", "invoice number", "identification", "few matches, filtered"}
        assert paged == {f"{n}: paged" for n in joined} | {"few matches: attention"}
    finally:
        await runtime.aclose()
