"""Reports from daily figures equal the reports computed from every sale (`reports.days`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from conexapi.db import transaction
from conexapi.reports.days import overview, refresh_marked_days, totals
from conexapi.reports.profit import profit_report
from conexapi.reports.reconciliation import reconcile
from conexapi.reports.repository import sales_in_range
from conexapi.runtime import Runtime
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
