"""Ventas and Reportes run a bounded number of SQL statements whatever the seller's history: no
page loads its rows one by one, and the report pages its rows (issue 20). The statements are
counted with a SQLAlchemy event hook on the app's engine, for a seller with a few sales and one
with many (more sales needing attention, more days, more differences)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event

from conexapi.db import transaction
from conexapi.operations.tally import fold_tallies
from conexapi.reports.days import refresh_marked_days
from conexapi.runtime import Runtime
from conexapi.sales.clock import colombia_today
from conexapi.sync.models import Sale, SaleEvent
from tests.bigdata import add_history
from tests.builders import create_integration
from tests.conftest import SignedIn
from tests.web.conftest import web_login

# What one page may run, at most, for any history: the session and its user, the tallies, the
# page's ids and rows, their documents, the fixes' timelines, the days, the differences (Ventas
# also reads the Siigo products for the "associate SKU" picker: here Siigo cannot be reached,
# and the failed attempt is recorded on the connection, 6 statements; a search adds its exact
# lookup, name probe and capped count).
VENTAS_MAX = 30
REPORTES_MAX = 16


@contextmanager
def counting(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def _history(runtime: Runtime, tenant_id: int, count: int, days: int) -> list[Sale]:
    """`count` sales over `days` days up to now; every sale that needs attention has a timeline
    naming its missing SKU (the fix the list shows reads it); the days computed, as the
    worker's upkeep leaves them."""
    async with transaction(runtime.sessions) as session:
        integration = await create_integration(
            session, tenant_id, seller_id=f"55{tenant_id}", siigo_account=f"q{tenant_id}@x.co"
        )
        sales = await add_history(
            session,
            tenant_id,
            integration.id,
            count=count,
            days=days,
            end=datetime.now(UTC) - timedelta(minutes=5),
        )
        for sale in sales:
            if sale.state != "needs_attention":
                continue
            for n in range(3):
                session.add(
                    SaleEvent(
                        tenant_id=tenant_id,
                        sale_id=sale.id,
                        kind="attempt_failed",
                        message="Falta el producto.",
                        data={"skus": [f"SKU-{sale.id}-{n}"]},
                        created_at=datetime.now(UTC),
                    )
                )
    async with runtime.sessions() as session:
        await fold_tallies(session)
        await session.commit()
    async with runtime.sessions() as session:
        while await refresh_marked_days(session):
            pass
    return sales


async def _queries(runtime: Runtime, client: httpx.AsyncClient, path: str) -> int:
    assert (await client.get(path)).status_code == 200  # warm: caches filled, like any visit
    with counting(runtime) as statements:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    return len(statements)


def _year() -> str:
    today = colombia_today()
    return f"date_from={today - timedelta(days=364)}&date_to={today}"


async def test_ventas_and_reportes_run_the_same_queries_for_few_and_many_sales(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn, other_owner: SignedIn
) -> None:
    few = await _history(runtime, owner.tenant_id, count=40, days=5)
    many = await _history(runtime, other_owner.tenant_id, count=700, days=90)
    assert sum(s.state == "needs_attention" for s in few) >= 1
    assert sum(s.state == "needs_attention" for s in many) > 25  # a whole page of them
    pages = [
        "/app/sales",
        "/app/sales?state=needs_attention",
        "/app/sales?q=Camila+Ospina",  # the API's search path, its page and capped count
        "/app/reports",
        f"/app/reports?{_year()}",
    ]
    counts: dict[str, dict[str, int]] = {}
    for name, who in (("few", owner), ("many", other_owner)):
        client.cookies.clear()
        await web_login(client, who.email)
        counts[name] = {path: await _queries(runtime, client, path) for path in pages}
    for path in pages:
        bound = VENTAS_MAX if path.startswith("/app/sales") else REPORTES_MAX
        assert counts["few"][path] <= bound, (path, counts)
        assert counts["many"][path] <= bound, (path, counts)
        if "q=" not in path:  # the same rows' kinds on both pages: never more for more sales
            assert counts["many"][path] <= counts["few"][path], (path, counts)
    # The list of the big history shows a fix for every sale needing attention, from the
    # batched timelines (each names its own SKU).
    page = await client.get("/app/sales?state=needs_attention")
    shown = re.findall(r"SKU-(\d+)-2", page.text)
    assert len(set(shown)) == 25


async def test_reportes_pages_every_sale_and_difference_of_the_period(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    sales = await _history(runtime, owner.tenant_id, count=260, days=40)
    await web_login(client, owner.email)
    path: str | None = f"/app/reports?{_year()}"
    seen: list[int] = []
    visits = 0
    while path is not None:
        html = (await client.get(path)).text
        visits += 1
        section = html[html.index('id="h-venta"') :]
        rows = [int(i) for i in re.findall(r'<a href="/app/sales/(\d+)"', section)]
        assert 0 < len(rows) <= 50
        seen.extend(rows)
        older = re.search(r'id="profit-older" href="([^"]+)"', section)
        path = older.group(1).replace("&amp;", "&") if older else None
    counted = sorted(
        (s for s in sales if s.state in ("invoiced", "credited")),
        key=lambda s: (s.sort_at, s.id),
        reverse=True,
    )
    assert seen == [s.id for s in counted]  # newest first, each once, none left out
    assert visits == -(-len(counted) // 50)
    assert "Más recientes" in html

    # The differences, 50 at a time, every one of them once.
    path = f"/app/reports?{_year()}"
    gaps: list[int] = []
    total = None
    while path is not None:
        html = (await client.get(path)).text
        section = html[html.index('id="diferencias"') : html.index('id="h-venta"')]
        found = re.search(r"(\d+)–(\d+) de ([\d.]+) diferencias", section)
        assert found is not None
        total = int(found.group(3).replace(".", ""))
        gaps.extend(int(i) for i in re.findall(r'<a href="/app/sales/(\d+)"', section))
        following = re.search(r'id="dif-next" href="([^"]+)"', section)
        path = following.group(1).replace("&amp;", "&") if following else None
    assert total is not None
    assert total > 50
    assert len(gaps) == len(set(gaps)) == total
