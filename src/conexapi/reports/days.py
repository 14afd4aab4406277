"""Daily per-integration report figures, so a report over any period reads days, not sales.

`sale_day_stat` holds, per integration and Colombia day, what the profit report and the
reconciliation would compute from that day's sales: the profit amounts (sales, annulled,
revenue, MercadoLibre's contribution, fees, shipping, IVA, refunds, net), the credit notes, the
reconciliation counts and the ids of the day's sales with differences.

Database triggers mark a day (`sale_day_mark`) whenever one of its sales or their documents
changes; `refresh_marked_days` (an upkeep job of the worker) computes each marked day again from
its sales with the very functions of the from-scratch reports (`sale_profit`, `reconcile_sale`)
and consumes the marks. A report reads the stored days; a day still marked (changed since the
last refresh, typically today) is computed from its sales in memory, so a report always equals
the from-scratch computation (tests/reports/test_days.py proves it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import utcnow
from conexapi.operations.repository import Cursor, SaleRepository
from conexapi.operations.tally import fold_tallies
from conexapi.reports.profit import (
    COUNTED_STATES,
    Amounts,
    ProfitReport,
    SaleProfit,
    sale_profit,
    to_decimal,
)
from conexapi.reports.reconciliation import ReconciliationRow, reconcile_sale
from conexapi.reports.repository import SaleWithDocs, marketplaces
from conexapi.runtime import Runtime
from conexapi.sales.clock import COLOMBIA, colombia_today
from conexapi.sales.states import DocumentKind, DocumentStatus
from conexapi.sync.models import Sale, SaleDayMark, SaleDayStat

REFRESH_BATCH = 20_000  # marks read per refresh pass
# Today and yesterday (Colombia) keep their hours' figures too: the days still changing.
HOURLY_DAYS = 2
DayKey = tuple[int, date]  # (integration_id, Colombia day)


def colombia_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=COLOMBIA)


def colombia_day(moment: datetime) -> date:
    return moment.astimezone(COLOMBIA).date()


# -- one day, from its sales ------------------------------------------------------------------


async def day_rows(
    session: AsyncSession,
    tenant_id: int,
    integration_id: int,
    day: date,
    marketplace: str,
    hour: int | None = None,
) -> list[SaleWithDocs]:
    """The day's sales (or those of one of its Colombia hours) with their documents, oldest
    first (as the from-scratch reports)."""
    start = colombia_midnight(day)
    length = timedelta(days=1)
    if hour is not None:
        start, length = start + timedelta(hours=hour), timedelta(hours=1)
    sales = list(
        (
            await session.execute(
                select(Sale)
                .where(
                    Sale.integration_id == integration_id,
                    Sale.tenant_id == tenant_id,
                    Sale.sort_at >= start,
                    Sale.sort_at < start + length,
                )
                .order_by(Sale.sort_at, Sale.id)
            )
        ).scalars()
    )
    docs = await SaleRepository(session, tenant_id).documents([s.id for s in sales])
    return [SaleWithDocs(s, docs.get(s.id, []), marketplace) for s in sales]


def day_stat(rows: list[SaleWithDocs]) -> dict[str, Any]:
    """What the reports need of one integration's day (JSON-ready, amounts as strings)."""
    amounts = Amounts()
    gaps: dict[str, int] = {}
    gap_ids: list[int] = []
    explained_ids: list[int] = []  # differences with a reason (coupons, rounding): never gaps
    counts = {"sales": 0, "ml_paid": 0, "invoiced": 0, "dian_accepted": 0}
    notes, notes_total = 0, Decimal("0")
    for row in rows:
        item = sale_profit(row)
        if item is not None:
            amounts.add(item.amounts)
        rec = reconcile_sale(row)
        counts["sales"] += 1
        counts["ml_paid"] += rec.ml_status == "paid"
        counts["invoiced"] += rec.invoice_number is not None
        counts["dian_accepted"] += rec.dian_status == "Accepted"
        for gap in rec.gaps:
            gaps[gap] = gaps.get(gap, 0) + 1
        if rec.gaps:
            gap_ids.append(row.sale.id)
        elif rec.explained:
            explained_ids.append(row.sale.id)
        for doc in row.documents:
            if (
                doc.kind == DocumentKind.CREDIT_NOTE.value
                and doc.status == DocumentStatus.ISSUED.value
            ):
                notes += 1
                notes_total += doc.total or Decimal("0")
    return {
        "profit": amounts.as_dict(),
        "credit_notes": notes,
        "credit_notes_total": str(notes_total),
        **counts,
        "gaps": gaps,
        "gap_ids": gap_ids,
        "explained_ids": explained_ids,
    }


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One stat of consecutive parts of a day (its hours, in order): equals `day_stat` of all
    their rows (sums, and the ids of the differences in the same order)."""
    amounts = Amounts()
    gaps: dict[str, int] = {}
    out: dict[str, Any] = {"credit_notes": 0, "sales": 0, "ml_paid": 0, "invoiced": 0}
    out["dian_accepted"] = 0
    notes_total = Decimal("0")
    gap_ids: list[int] = []
    explained_ids: list[int] = []
    for part in parts:
        amounts.add(amounts_of(part))
        for key in ("credit_notes", "sales", "ml_paid", "invoiced", "dian_accepted"):
            out[key] += int(part.get(key) or 0)
        notes_total += Decimal(str(part.get("credit_notes_total") or "0"))
        for gap, n in (part.get("gaps") or {}).items():
            gaps[gap] = gaps.get(gap, 0) + int(n)
        gap_ids.extend(int(i) for i in part.get("gap_ids") or [])
        explained_ids.extend(int(i) for i in part.get("explained_ids") or [])
    return {
        "profit": amounts.as_dict(),
        "credit_notes": out["credit_notes"],
        "credit_notes_total": str(notes_total),
        "sales": out["sales"],
        "ml_paid": out["ml_paid"],
        "invoiced": out["invoiced"],
        "dian_accepted": out["dian_accepted"],
        "gaps": gaps,
        "gap_ids": gap_ids,
        "explained_ids": explained_ids,
    }


def hour_of(row: SaleWithDocs) -> int:
    """The Colombia hour (0-23) of a sale's date."""
    return colombia_hour(row.sale.sort_at or row.sale.created_at)


def colombia_hour(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COLOMBIA).hour


def stat_with_hours(rows: list[SaleWithDocs]) -> dict[str, Any]:
    """`day_stat` of a recent day, with each of its hours' own stat under "hours" (the hours
    with sales): a day still changing is then computed again at read time only for its
    changed hours (`period_days`)."""
    by_hour: dict[int, list[SaleWithDocs]] = defaultdict(list)
    for row in rows:
        by_hour[hour_of(row)].append(row)
    hours = {str(h): day_stat(by_hour[h]) for h in sorted(by_hour)}
    return {**merge_stats(list(hours.values())), "hours": hours}


def amounts_of(data: dict[str, Any]) -> Amounts:
    p = data.get("profit") or {}
    return Amounts(
        total=to_decimal(p.get("total")),
        aporte_ml=to_decimal(p.get("aporte_mercadolibre")),
        comision=to_decimal(p.get("comision")),
        envio_vendedor=to_decimal(p.get("envio_vendedor")),
        iva=to_decimal(p.get("iva")),
        devuelto=to_decimal(p.get("devuelto")),
        neto=to_decimal(p.get("neto")),
        ventas=int(p.get("ventas") or 0),
        anuladas=int(p.get("anuladas") or 0),
    )


# -- keeping the days ---------------------------------------------------------------------------


async def refresh_marked_days(
    session: AsyncSession, *, batch: int = REFRESH_BATCH, newest_first: bool = False
) -> int:
    """Computes again every day marked (up to `batch` marks, oldest marks first unless
    `newest_first`: a second refresher can work from the other end), stores it and consumes
    its marks; commits. Returns how many days were computed. A mark written meanwhile (a sale
    that changed after this read) stays for the next pass."""
    marks = (
        await session.execute(
            select(
                SaleDayMark.id, SaleDayMark.tenant_id, SaleDayMark.integration_id, SaleDayMark.at
            )
            .order_by(SaleDayMark.id.desc() if newest_first else SaleDayMark.id)
            .limit(batch)
        )
    ).all()
    if not marks:
        return 0
    days: dict[tuple[int, int, date], None] = {}
    for _, tenant_id, integration_id, at in marks:
        days[(tenant_id, integration_id, colombia_day(at))] = None
    names: dict[int, dict[int, str]] = {}
    now = utcnow()
    for tenant_id, integration_id, day in days:
        if tenant_id not in names:
            names[tenant_id] = await marketplaces(session, tenant_id)
        market = names[tenant_id].get(integration_id, "MercadoLibre")
        rows = await day_rows(session, tenant_id, integration_id, day, market)
        await session.execute(
            delete(SaleDayStat).where(
                SaleDayStat.integration_id == integration_id, SaleDayStat.day == day
            )
        )
        if rows:
            recent = day >= colombia_today() - timedelta(days=HOURLY_DAYS - 1)
            session.add(
                SaleDayStat(
                    integration_id=integration_id,
                    day=day,
                    tenant_id=tenant_id,
                    data=stat_with_hours(rows) if recent else day_stat(rows),
                    updated_at=now,
                )
            )
        await session.flush()
        session.expunge_all()  # the day's sales are not needed any more (memory stays flat)
    ids = [m[0] for m in marks]
    for chunk in range(0, len(ids), 5_000):
        await session.execute(
            delete(SaleDayMark).where(SaleDayMark.id.in_(ids[chunk : chunk + 5_000]))
        )
    await session.commit()
    return len(days)


# -- reading a period ---------------------------------------------------------------------------


@dataclass
class DayFigures:
    """One integration's day as the reports read it: stored, or computed now if marked."""

    integration_id: int
    day: date
    data: dict[str, Any]
    fresh: list[SaleWithDocs] | None = None  # the rows, when computed now


async def _marked_days(
    session: AsyncSession,
    tenant_id: int,
    start: datetime,
    end: datetime,
    integration_id: int | None,
) -> dict[DayKey, set[int]]:
    """The marked days of the period, each with its marked Colombia hours."""
    # Colombia keeps UTC-5 all year (no daylight saving time).
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        hour_expr: Any = func.strftime("%Y-%m-%d %H", SaleDayMark.at, "-5 hours")
    else:
        hour_expr = func.date_format(
            func.date_sub(SaleDayMark.at, text("INTERVAL 5 HOUR")), "%Y-%m-%d %H"
        )
    stmt = (
        select(SaleDayMark.integration_id, hour_expr)
        .where(SaleDayMark.tenant_id == tenant_id, SaleDayMark.at >= start, SaleDayMark.at < end)
        .distinct()
    )
    if integration_id is not None:
        stmt = stmt.where(SaleDayMark.integration_id == integration_id)
    out: dict[DayKey, set[int]] = defaultdict(set)
    for iid, stamp in (await session.execute(stmt)).all():
        day, hour = str(stamp).split(" ")
        out[(int(iid), date.fromisoformat(day))].add(int(hour))
    return out


async def period_days(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None = None,
) -> list[DayFigures]:
    """Every integration-day of the period with sales, in day order. A marked day is computed
    from its sales; when it has its hours stored (today, yesterday), only its marked hours
    are, the others are the stored ones."""
    start = colombia_midnight(date_from)
    end = colombia_midnight(date_to) + timedelta(days=1)
    marked = await _marked_days(session, tenant_id, start, end, integration_id)
    stmt = select(SaleDayStat.integration_id, SaleDayStat.day, SaleDayStat.data).where(
        SaleDayStat.tenant_id == tenant_id,
        SaleDayStat.day >= date_from,
        SaleDayStat.day <= date_to,
    )
    if integration_id is not None:
        stmt = stmt.where(SaleDayStat.integration_id == integration_id)
    found: dict[DayKey, DayFigures] = {}
    hourly: dict[DayKey, dict[str, Any]] = {}
    for iid, day, data in (await session.execute(stmt)).all():
        if (iid, day) not in marked:
            found[(iid, day)] = DayFigures(iid, day, data)
        elif isinstance(data.get("hours"), dict):
            hourly[(iid, day)] = data["hours"]
    if marked:
        names = await marketplaces(session, tenant_id)
        for (iid, day), hours in marked.items():
            if not date_from <= day <= date_to:
                continue
            market = names.get(iid, "MercadoLibre")
            stored = hourly.get((iid, day))
            if stored is None:
                rows = await day_rows(session, tenant_id, iid, day, market)
                if rows:
                    found[(iid, day)] = DayFigures(iid, day, day_stat(rows), rows)
                continue
            parts = {int(h): part for h, part in stored.items() if int(h) not in hours}
            for hour in hours:
                rows = await day_rows(session, tenant_id, iid, day, market, hour=hour)
                if rows:
                    parts[hour] = day_stat(rows)
            if parts:
                data = merge_stats([parts[h] for h in sorted(parts)])
                found[(iid, day)] = DayFigures(iid, day, data)
    return sorted(found.values(), key=lambda d: (d.day, d.integration_id))


@dataclass
class ReconciliationSummary:
    """The reconciliation of a period from its days: the counts, and the first sales with
    differences (in the order of the from-scratch report)."""

    sales: int = 0
    ml_paid: int = 0
    invoiced: int = 0
    dian_accepted: int = 0
    gap_counts: dict[str, int] = field(default_factory=dict)
    gap_total: int = 0
    gaps: list[ReconciliationRow] = field(default_factory=list)
    explained_total: int = 0
    explained: list[ReconciliationRow] = field(default_factory=list)


@dataclass
class Overview:
    profit: ProfitReport
    recon: ReconciliationSummary
    gap_ids: list[int]


async def overview(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None = None,
    latest_sales: int = 300,
    gap_rows: int | None = 200,
    gap_start: int = 0,
    explained_start: int = 0,
) -> Overview:
    """The profit report (totals, per day, per platform, and the latest `latest_sales` sales)
    and the reconciliation summary (with up to `gap_rows` sales with differences, from the
    `gap_start`-th, and as many explained ones from the `explained_start`-th; None: all) of a
    period, from the days."""
    days = await period_days(
        session,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        integration_id=integration_id,
    )
    names = await marketplaces(session, tenant_id)
    profit = ProfitReport()
    recon = ReconciliationSummary()
    by_day: dict[date, Amounts] = defaultdict(Amounts)
    gap_ids: list[int] = []
    explained_ids: list[int] = []
    for fig in days:
        amounts = amounts_of(fig.data)
        if amounts.ventas or amounts.anuladas:
            by_day[fig.day].add(amounts)
            market = names.get(fig.integration_id, "MercadoLibre")
            profit.by_platform.setdefault(market, Amounts()).add(amounts)
            profit.totals.add(amounts)
        recon.sales += int(fig.data.get("sales") or 0)
        recon.ml_paid += int(fig.data.get("ml_paid") or 0)
        recon.invoiced += int(fig.data.get("invoiced") or 0)
        recon.dian_accepted += int(fig.data.get("dian_accepted") or 0)
        for gap, n in (fig.data.get("gaps") or {}).items():
            recon.gap_counts[gap] = recon.gap_counts.get(gap, 0) + int(n)
        gap_ids.extend(int(i) for i in fig.data.get("gap_ids") or [])
        explained_ids.extend(int(i) for i in fig.data.get("explained_ids") or [])
    profit.by_day = dict(sorted(by_day.items()))
    recon.gap_total = len(gap_ids)
    wanted = gap_ids if gap_rows is None else gap_ids[gap_start : gap_start + gap_rows]
    recon.gaps = await reconcile_ids(session, tenant_id, wanted, names)
    recon.explained_total = len(explained_ids)
    shown = (
        explained_ids
        if gap_rows is None
        else explained_ids[explained_start : explained_start + gap_rows]
    )
    recon.explained = await reconcile_ids(session, tenant_id, shown, names)
    profit.sales = await latest_counted(
        session,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        integration_id=integration_id,
        limit=latest_sales,
        names=names,
    )
    return Overview(profit, recon, gap_ids)


async def totals(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None = None,
) -> Amounts:
    """The profit report's totals of a period, from the days alone (no sale listed): what
    Resumen shows. Equals `overview(...).profit.totals`."""
    out = Amounts()
    for fig in await period_days(
        session,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        integration_id=integration_id,
    ):
        amounts = amounts_of(fig.data)
        if amounts.ventas or amounts.anuladas:
            out.add(amounts)
    return out


async def rows_for(
    session: AsyncSession, tenant_id: int, sales: list[Sale], names: dict[int, str]
) -> list[SaleWithDocs]:
    docs = await SaleRepository(session, tenant_id).documents([s.id for s in sales])
    return [
        SaleWithDocs(s, docs.get(s.id, []), names.get(s.integration_id, "MercadoLibre"))
        for s in sales
    ]


async def reconcile_ids(
    session: AsyncSession, tenant_id: int, ids: list[int], names: dict[int, str]
) -> list[ReconciliationRow]:
    """The reconciliation rows of these sales, in this order."""
    out: list[ReconciliationRow] = []
    for chunk in range(0, len(ids), ID_CHUNK):
        sales = await _sales_in_order(session, tenant_id, ids[chunk : chunk + ID_CHUNK])
        out.extend(reconcile_sale(r) for r in await rows_for(session, tenant_id, sales, names))
    return out


# Ids per `IN (...)` when sales are loaded by id.
ID_CHUNK = 1_000


async def _sales_in_order(session: AsyncSession, tenant_id: int, ids: list[int]) -> list[Sale]:
    """The tenant's sales with these ids, in this order (ids of other tenants or gone left out),
    loaded `ID_CHUNK` at a time."""
    found: dict[int, Sale] = {}
    for chunk in range(0, len(ids), ID_CHUNK):
        part = ids[chunk : chunk + ID_CHUNK]
        load = select(Sale).where(Sale.tenant_id == tenant_id, Sale.id.in_(part))
        found.update((s.id, s) for s in (await session.execute(load)).scalars())
    return [found[i] for i in ids if i in found]


async def counted_page(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None,
    limit: int,
    names: dict[int, str],
    before: Cursor | None = None,
) -> tuple[list[SaleProfit], Cursor | None]:
    """One page of the period's sales that count in the profit report, newest first, and the
    cursor of the next (older) page. Each counted state is read through the state-and-date
    index, ids and dates only (`limit + 1` of each, after `before`); only the page's sales are
    loaded, with their documents: a page costs the same whatever the period's size."""
    if limit <= 0:
        return [], None
    start = colombia_midnight(date_from)
    end = colombia_midnight(date_to) + timedelta(days=1)
    keys: list[tuple[datetime, int]] = []
    for state in sorted(COUNTED_STATES):
        stmt = select(Sale.sort_at, Sale.id).where(
            Sale.tenant_id == tenant_id,
            Sale.state == state,
            Sale.sort_at >= start,
            Sale.sort_at < end,
        )
        if integration_id is not None:
            stmt = stmt.where(Sale.integration_id == integration_id)
        if before is not None:
            stmt = stmt.where(
                Sale.sort_at <= before.sort_at,
                or_(Sale.sort_at < before.sort_at, Sale.id < before.sale_id),
            )
        stmt = stmt.order_by(Sale.sort_at.desc(), Sale.id.desc()).limit(limit + 1)
        keys.extend((at, int(i)) for at, i in (await session.execute(stmt)).all() if at)
    keys.sort(reverse=True)
    more = len(keys) > limit
    keys = keys[:limit]
    sales = await _sales_in_order(session, tenant_id, [i for _, i in keys])
    rows = await rows_for(session, tenant_id, sales, names)
    items = [p for p in (sale_profit(r) for r in rows) if p is not None]
    following = Cursor("s", keys[-1][0], keys[-1][1]) if more and keys else None
    return items, following


async def latest_counted(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None,
    limit: int,
    names: dict[int, str],
) -> list[SaleProfit]:
    """The period's latest `limit` sales that count in the profit report, oldest first (as
    `ProfitReport.sales`)."""
    items, _ = await counted_page(
        session,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        integration_id=integration_id,
        limit=limit,
        names=names,
    )
    return items[::-1]


async def keep_report_days(runtime: Runtime) -> int:
    """Upkeep job: folds the state tallies and computes again the days marked since the last
    tick (a pass of at most REFRESH_BATCH marks each, a few passes per tick)."""
    async with runtime.sessions() as session:
        await fold_tallies(session)
    computed = 0
    for _ in range(5):
        async with runtime.sessions() as session:
            n = await refresh_marked_days(session)
        computed += n
        if n == 0:
            break
    return computed
