"""Reports from daily figures equal the reports computed from every sale (`reports.days`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, select

from conexapi.db import transaction
from conexapi.reports.days import overview, refresh_marked_days, totals
from conexapi.reports.profit import profit_report
from conexapi.reports.reconciliation import reconcile
from conexapi.reports.repository import sales_in_range
from conexapi.runtime import Runtime
from conexapi.sales.clock import colombia_today
from conexapi.sync.models import Document, Sale, SaleDayMark, SaleDayStat
from tests.bigdata import add_history
from tests.builders import create_integration, create_tenant

START, END = date(2026, 10, 20), date(2026, 11, 29)


async def _assert_same(runtime: Runtime, tenant_id: int, start: date, end: date) -> None:
    async with runtime.sessions() as session:
        rows = await sales_in_range(session, tenant_id=tenant_id, date_from=start, date_to=end)
        scratch = profit_report(rows)
        recon = reconcile(rows)
        fast = await overview(
            session, tenant_id=tenant_id, date_from=start, date_to=end, gap_rows=None
        )
        # Resumen's cards: the totals alone, from the days.
        cards = await totals(session, tenant_id=tenant_id, date_from=start, date_to=end)
    assert fast.profit.totals == scratch.totals
    assert cards == scratch.totals
    assert fast.profit.by_day == scratch.by_day
    assert fast.profit.by_platform == scratch.by_platform
    assert [s.sale_id for s in fast.profit.sales] == [s.sale_id for s in scratch.sales][-300:]
    assert fast.recon.sales == len(recon.rows)
    assert fast.recon.ml_paid == recon.ml_paid
    assert fast.recon.invoiced == recon.invoiced
    assert fast.recon.dian_accepted == recon.dian_accepted
    assert fast.recon.gap_counts == recon.gap_counts
    assert [(r.sale_id, r.gaps) for r in fast.recon.gaps] == [
        (r.sale_id, r.gaps) for r in recon.gaps
    ]


async def test_reports_from_days_equal_reports_from_every_sale(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, "Grande")
        integration = await create_integration(session, tenant.id)
        sales = await add_history(session, tenant.id, integration.id, count=400, days=35)
        tenant_id = tenant.id
    assert sum(s.state in ("invoiced", "credited") for s in sales) > 150

    # Nothing computed yet: every day is marked, and computed from its sales.
    await _assert_same(runtime, tenant_id, START, END)
    async with runtime.sessions() as session:
        assert await refresh_marked_days(session) > 30
    async with runtime.sessions() as session:
        assert (await session.execute(select(func.count(SaleDayMark.id)))).scalar_one() == 0
        stored = (await session.execute(select(func.count()).select_from(SaleDayStat))).scalar()
        assert stored
        assert stored >= 30
    await _assert_same(runtime, tenant_id, START, END)
    await _assert_same(runtime, tenant_id, date(2026, 11, 10), date(2026, 11, 12))

    # A sale credited and a DIAN rejection after the days were stored: the marked days are
    # computed again at read time, then stored by the next refresh.
    async with transaction(runtime.sessions) as session:
        sale = (
            await session.execute(select(Sale).where(Sale.state == "invoiced").limit(1))
        ).scalar_one()
        sale.state = "credited"
        sale.profit = {**sale.profit, "devuelto": str(sale.total), "neto": "0"}
        doc = (
            await session.execute(
                select(Document).where(Document.stamp_status == "Accepted").limit(1)
            )
        ).scalar_one()
        doc.stamp_status = "Rejected"
    await _assert_same(runtime, tenant_id, START, END)
    async with runtime.sessions() as session:
        assert 1 <= await refresh_marked_days(session) <= 4
    await _assert_same(runtime, tenant_id, START, END)


async def test_day_figures_hold_credit_notes_and_amounts(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, "Grande")
        integration = await create_integration(session, tenant.id)
        sales = await add_history(session, tenant.id, integration.id, count=60, days=3)
    async with runtime.sessions() as session:
        await refresh_marked_days(session)
        stats = list((await session.execute(select(SaleDayStat))).scalars())
    credited = [s for s in sales if s.state == "credited"]
    assert sum(s.data["credit_notes"] for s in stats) == len(credited)
    assert sum(Decimal(s.data["credit_notes_total"]) for s in stats) == sum(
        (s.total or Decimal(0) for s in credited), Decimal(0)
    )
    assert sum(s.data["sales"] for s in stats) == 60


async def test_a_changing_day_is_computed_again_only_for_its_changed_hours(
    runtime: Runtime,
) -> None:
    """Today and yesterday keep their hours' figures: a sale changed today makes the reports
    compute again only its hour from its sales, the other hours come from the stored day, and
    the figures still equal the from-scratch ones."""
    now = datetime.now(UTC)
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session, "Hoy")
        integration = await create_integration(session, tenant.id)
        await add_history(session, tenant.id, integration.id, count=300, days=2, end=now)
        tenant_id = tenant.id
    today = colombia_today()
    start, end = today - timedelta(days=3), today
    async with runtime.sessions() as session:
        assert await refresh_marked_days(session) >= 2
    async with runtime.sessions() as session:
        stored = (
            await session.execute(
                select(SaleDayStat.day, SaleDayStat.data).where(SaleDayStat.tenant_id == tenant_id)
            )
        ).all()
    # Today and yesterday have their hours (whatever the time of day the test runs), the
    # older days only their totals.
    assert sum(len(data["hours"]) for day, data in stored if day >= today - timedelta(days=1)) > 3
    assert all("hours" not in data for day, data in stored if day < today - timedelta(days=1))
    await _assert_same(runtime, tenant_id, start, end)

    # The latest invoiced sale is credited and its invoice rejected: its hour is marked.
    async with transaction(runtime.sessions) as session:
        sale = (
            await session.execute(
                select(Sale)
                .where(Sale.tenant_id == tenant_id, Sale.state == "invoiced")
                .order_by(Sale.sort_at.desc())
                .limit(1)
            )
        ).scalar_one()
        sale.state = "credited"
        sale.profit = {**sale.profit, "devuelto": str(sale.total), "neto": "0"}
        for doc in (
            await session.execute(select(Document).where(Document.sale_id == sale.id))
        ).scalars():
            doc.stamp_status = "Rejected"
    loaded: list[Any] = []

    def seen(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM sale \n" in statement and "sale.sort_at <" in statement:
            loaded.append(params)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await _assert_same(runtime, tenant_id, start, end)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)
    # The from-scratch report reads the period; the days (for the overview and the totals) read
    # one hour of today, no whole day.
    windows = [
        [p for p in (params.values() if isinstance(params, dict) else params) if _is_time(p)]
        for params in loaded
    ]
    spans = [_span(w) for w in windows if len(w) == 2]
    assert spans.count(timedelta(hours=1)) == 2, windows
    assert timedelta(days=1) not in spans, windows
    assert len({tuple(w) for w in windows if _span(w) == timedelta(hours=1)}) == 1, windows
    async with runtime.sessions() as session:
        assert await refresh_marked_days(session) >= 1
    await _assert_same(runtime, tenant_id, start, end)


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime | str) and len(str(value)) >= 19 and str(value)[4] == "-"


def _span(window: list[Any]) -> timedelta:
    a, b = (v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in window)
    return abs(b.replace(tzinfo=None) - a.replace(tzinfo=None))
