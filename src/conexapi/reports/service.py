"""What the report endpoints and the dashboard call: a date range in, reports out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.core.errors import Unprocessable
from conexapi.operations.repository import Cursor, SaleRepository
from conexapi.reports import days
from conexapi.reports.days import Overview, ReconciliationSummary
from conexapi.reports.fiscal_review import FiscalReview, fiscal_review
from conexapi.reports.profit import ProfitReport, SaleProfit, profit_csv_rows, profit_report
from conexapi.reports.reconciliation import (
    ReconciliationRow,
    reconcile,
    reconciliation_csv_rows,
)
from conexapi.reports.repository import (
    MAX_REPORT_SALES,
    SaleWithDocs,
    iterate_range,
    marketplaces,
    sales_in_range,
)
from conexapi.sales.clock import colombia_today

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    date_from: date
    date_to: date


def resolve_range(date_from: date | None, date_to: date | None) -> DateRange:
    """Defaults to the last 30 days (Colombia); refuses reversed or longer than a year."""
    end = date_to or colombia_today()
    start = date_from or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Unprocessable("La fecha inicial es posterior a la final.", code="invalid_date_range")
    if (end - start).days >= MAX_DAYS:
        raise Unprocessable("El rango máximo es de un año.", code="invalid_date_range")
    return DateRange(start, end)


async def _sales(
    session: AsyncSession, *, tenant_id: int, period: DateRange, integration_id: int | None
) -> list[SaleWithDocs]:
    return await sales_in_range(
        session,
        tenant_id=tenant_id,
        date_from=period.date_from,
        date_to=period.date_to,
        integration_id=integration_id,
    )


async def overview(
    session: AsyncSession,
    *,
    tenant_id: int,
    period: DateRange,
    integration_id: int | None = None,
    latest_sales: int = 300,
    gap_rows: int | None = 200,
    gap_start: int = 0,
    explained_start: int = 0,
) -> Overview:
    """Profit and reconciliation of a period, from the daily figures (`reports.days`): the
    cost grows with the days of the period, not with the sales."""
    return await days.overview(
        session,
        tenant_id=tenant_id,
        date_from=period.date_from,
        date_to=period.date_to,
        integration_id=integration_id,
        latest_sales=latest_sales,
        gap_rows=gap_rows,
        gap_start=gap_start,
        explained_start=explained_start,
    )


@dataclass
class ProfitPage:
    """One page of the period's counted sales, newest first, and the next (older) page's
    cursor (None on the last)."""

    sales: list[SaleProfit]
    next_cursor: str | None


async def profit_page(
    session: AsyncSession,
    *,
    tenant_id: int,
    period: DateRange,
    limit: int,
    cursor: str | None = None,
    integration_id: int | None = None,
) -> ProfitPage:
    """The per-sale rows of the profit report a page at a time (keyset by date and id): what
    the Reportes page lists, so it never renders hundreds of rows or reads them."""
    items, following = await days.counted_page(
        session,
        tenant_id=tenant_id,
        date_from=period.date_from,
        date_to=period.date_to,
        integration_id=integration_id,
        limit=limit,
        names=await marketplaces(session, tenant_id),
        before=Cursor.decode(cursor) if cursor else None,
    )
    return ProfitPage(items, following.encode() if following else None)


async def profit(
    session: AsyncSession, *, tenant_id: int, period: DateRange, integration_id: int | None = None
) -> ProfitReport:
    """Totals, per day and per platform from the days; `sales` are the period's latest
    MAX_REPORT_SALES (the CSV export streams them all)."""
    result = await overview(
        session,
        tenant_id=tenant_id,
        period=period,
        integration_id=integration_id,
        latest_sales=MAX_REPORT_SALES,
        gap_rows=0,
    )
    return result.profit


async def reconciliation(
    session: AsyncSession, *, tenant_id: int, period: DateRange, integration_id: int | None = None
) -> ReconciliationSummary:
    """The counts from the days, with every sale that has a difference."""
    result = await overview(
        session,
        tenant_id=tenant_id,
        period=period,
        integration_id=integration_id,
        latest_sales=0,
        gap_rows=None,
    )
    return result.recon


async def profit_csv_batches(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant_id: int,
    period: DateRange,
    integration_id: int | None = None,
) -> AsyncIterator[list[list[str]]]:
    """The profit CSV's rows, every sale of the period, a batch at a time (its own session: a
    streamed response outlives the request's)."""
    async with sessions() as session:
        async for rows in iterate_range(
            session,
            tenant_id=tenant_id,
            date_from=period.date_from,
            date_to=period.date_to,
            integration_id=integration_id,
        ):
            yield profit_csv_rows(profit_report(rows))


async def reconciliation_csv_batches(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant_id: int,
    period: DateRange,
    integration_id: int | None = None,
    only_gaps: bool = False,
) -> AsyncIterator[list[list[str]]]:
    async with sessions() as session:
        async for rows in iterate_range(
            session,
            tenant_id=tenant_id,
            date_from=period.date_from,
            date_to=period.date_to,
            integration_id=integration_id,
        ):
            yield reconciliation_csv_rows(reconcile(rows), only_gaps=only_gaps)


async def reconciliation_rows(
    session: AsyncSession,
    *,
    tenant_id: int,
    period: DateRange,
    integration_id: int | None = None,
    only_gaps: bool = False,
) -> AsyncIterator[list[ReconciliationRow]]:
    """Every sale's reconciliation row of the period (for the Excel export), oldest first, a
    batch at a time: read by keyset like the CSV, so a year of a big seller never sits in
    memory (only the rows with differences when `only_gaps`)."""
    async for batch in iterate_range(
        session,
        tenant_id=tenant_id,
        date_from=period.date_from,
        date_to=period.date_to,
        integration_id=integration_id,
    ):
        result = reconcile(batch)
        yield result.gaps if only_gaps else result.rows
        _forget(session, batch)


async def profit_rows(
    session: AsyncSession,
    *,
    tenant_id: int,
    period: DateRange,
    integration_id: int | None = None,
) -> AsyncIterator[list[SaleProfit]]:
    """Every counted sale's profit row of the period (for the Excel export), oldest first, a
    batch at a time (keyset, like the CSV)."""
    async for batch in iterate_range(
        session,
        tenant_id=tenant_id,
        date_from=period.date_from,
        date_to=period.date_to,
        integration_id=integration_id,
    ):
        yield profit_report(batch).sales
        _forget(session, batch)


def _forget(session: AsyncSession, batch: list[SaleWithDocs]) -> None:
    """The session lets go of a written batch's sales and documents: memory stays flat."""
    for row in batch:
        session.expunge(row.sale)
        for doc in row.documents:
            session.expunge(doc)


async def review(
    session: AsyncSession, *, tenant_id: int, period: DateRange, integration_id: int | None = None
) -> FiscalReview:
    """Invoices of the period already issued wrong (their audit found differences)."""
    rows = await _sales(session, tenant_id=tenant_id, period=period, integration_id=integration_id)
    return fiscal_review(rows)


async def refresh_review(
    session: AsyncSession, *, tenant_id: int, period: DateRange, integration_id: int | None = None
) -> int:
    """Asks the worker to audit again, against Siigo's products as they are now, every invoice
    of the period not being corrected. Returns how many sales were queued for it."""
    rows = await _sales(session, tenant_id=tenant_id, period=period, integration_id=integration_id)
    queued: list[int] = []
    for row in rows:
        invoices = [d for d in row.documents if d.kind == "invoice" and d.status == "issued"]
        if not invoices:
            continue
        current = max(invoices, key=lambda d: d.seq)
        if current.breakdown.get("correccion") or len(invoices) > 1:
            continue
        audit = dict(current.breakdown.get("auditoria") or {})
        audit["version"] = None  # audited again at the sale's next look
        current.breakdown = {**current.breakdown, "auditoria": audit}
        queued.append(row.sale.id)
    await SaleRepository(session, tenant_id).make_invoiced_due(queued)
    await session.flush()
    return len(queued)
