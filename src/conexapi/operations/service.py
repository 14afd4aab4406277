"""Operations for the API and the dashboard: list, inspect and retry sales; start and follow
backfill jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import Connection, Provider
from conexapi.core.errors import Conflict, NotFound, Unprocessable
from conexapi.db import utcnow
from conexapi.integrations.models import Integration
from conexapi.messages import text
from conexapi.operations.repository import (
    BACKLOG_CAP,
    PLACE_CAP,
    WAITING,
    Cursor,
    SaleRepository,
)
from conexapi.operations.schemas import (
    BackfillRequest,
    BreakerRead,
    DocumentRead,
    DocumentSummary,
    ErrorRead,
    EventRead,
    Progress,
    QueuedSale,
    SaleDetail,
    SaleFilter,
    SalePage,
    SaleRead,
)
from conexapi.sales.states import RETRYABLE_BY_HAND, DocumentKind, DocumentStatus, SaleState
from conexapi.sales.step import EventKind
from conexapi.sync import breaker, queue, schedule
from conexapi.sync.models import Document, Job, Sale, SaleEvent


def current_invoice(docs: list[Document]) -> Document | None:
    """The sale's invoice that stands: the latest (a corrected invoice replaces the one its
    correction annulled)."""
    invoices = [d for d in docs if d.kind == DocumentKind.INVOICE.value]
    return max(invoices, key=lambda d: d.seq) if invoices else None


def _summary(doc: Document | None) -> DocumentSummary | None:
    if doc is None or doc.status != DocumentStatus.ISSUED.value:
        return None
    return DocumentSummary(
        erp_id=doc.erp_id, number=doc.number, total=doc.total, stamp_status=doc.stamp_status
    )


def _read(sale: Sale, docs: list[Document]) -> SaleRead:
    invoice = current_invoice(docs)
    notes = [d for d in docs if d.kind == DocumentKind.CREDIT_NOTE.value]
    return SaleRead(
        id=sale.id,
        integration_id=sale.integration_id,
        external_id=sale.external_id,
        order_ids=[str(o) for o in sale.order_ids],
        state=sale.state,  # type: ignore[arg-type]
        total=sale.total,
        buyer_name=sale.buyer_name,
        sale_date=sale.sale_date,
        invoice=_summary(invoice),
        credit_note=_summary(notes[-1] if notes else None),
        error=ErrorRead(code=sale.error_code, message=sale.error_message or "")
        if sale.error_code
        else None,
        attempts=sale.attempts,
        next_attempt_at=sale.next_attempt_at,
        schedule=schedule.describe(
            sale.error_code,
            _aware(sale.next_attempt_at),
            datetime.now(UTC),
            vendor=schedule.vendor_of(sale.error_message),
        ),
        created_at=sale.created_at,
        updated_at=sale.updated_at,
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _due_by(moment: datetime | None, now: datetime) -> bool:
    aware = _aware(moment)
    return aware is not None and aware <= now


def _event(event: SaleEvent) -> EventRead:
    read = EventRead.model_validate(event)
    data = event.data or {}
    label = schedule.wait_label(data.get("wait"), schedule.vendor_of(event.message))
    if label is not None and isinstance(data.get("until"), str):
        try:
            until = datetime.fromisoformat(data["until"])
        except ValueError:
            return read
        read = read.model_copy(update={"wait": label, "until": _aware(until)})
    return read


async def list_sales(
    session: AsyncSession,
    *,
    tenant_id: int,
    filters: SaleFilter,
    page: int = 1,
    page_size: int,
    cursor: str | None = None,
) -> SalePage:
    """A page of sales: by `cursor` (keyset, what the dashboard uses) or by `page`. The counts
    come from the maintained tallies and the filtered total is counted up to 10,000
    (docs/big-sellers.md): no request scans a seller's whole history."""
    repo = SaleRepository(session, tenant_id)
    result = await repo.page(
        filters,
        page=page,
        page_size=page_size,
        cursor=Cursor.decode(cursor) if cursor else None,
    )
    docs = await repo.documents([s.id for s in result.sales], summary=True)
    return SalePage(
        items=[_read(s, docs.get(s.id, [])) for s in result.sales],
        total=result.total,
        total_exact=result.total_exact,
        page=page,
        page_size=page_size,
        next_cursor=result.next_cursor,
        counts=await repo.counts(filters.integration_id),
    )


async def get_sale(session: AsyncSession, *, tenant_id: int, sale_id: int) -> SaleDetail:
    repo = SaleRepository(session, tenant_id)
    sale = await repo.get(sale_id)
    if sale is None:
        raise NotFound("Sale not found.", code="sale_not_found")
    docs = (await repo.documents([sale.id])).get(sale.id, [])
    base = _read(sale, docs)
    invoice = current_invoice(docs)
    return SaleDetail(
        **base.model_dump(),
        facts=sale.facts,
        profit=sale.profit,
        documents=[DocumentRead.model_validate(d) for d in docs],
        timeline=[_event(e) for e in await repo.events(sale.id)],
        breakdown=invoice.breakdown if invoice else None,
        manual=sale.manual,
        preview=sale.preview,
    )


async def timelines(
    session: AsyncSession, *, tenant_id: int, sale_ids: list[int]
) -> dict[int, tuple[list[EventRead], dict[str, Any]]]:
    """The timeline and the facts of many sales (what a fix on a list needs), in two queries
    whatever their number: a list page never loads its sales one by one."""
    repo = SaleRepository(session, tenant_id)
    events = await repo.events_of(sale_ids)
    facts = await repo.facts_of(sale_ids)
    return {
        sid: ([_event(e) for e in events.get(sid, [])], facts.get(sid, {}))
        for sid in sale_ids
        if sid in facts
    }


async def read_sale(session: AsyncSession, *, tenant_id: int, sale_id: int) -> SaleRead:
    repo = SaleRepository(session, tenant_id)
    sale = await repo.get(sale_id)
    if sale is None:
        raise NotFound("Sale not found.", code="sale_not_found")
    await session.refresh(sale)
    return _read(sale, (await repo.documents([sale.id])).get(sale.id, []))


async def retry_sale(session: AsyncSession, *, tenant_id: int, sale_id: int, user: str) -> SaleRead:
    repo = SaleRepository(session, tenant_id)
    sale = await repo.get(sale_id)
    if sale is None:
        raise NotFound("Sale not found.", code="sale_not_found")
    if sale.state not in {s.value for s in RETRYABLE_BY_HAND}:
        raise Conflict(
            f"A sale in state {sale.state} is not retried by hand: only needs_attention, "
            "retrying and dead sales are.",
            code="sale_not_retryable",
        )
    await repo.make_due([sale.id])
    queue.add_event(
        session, sale, kind=EventKind.RETRY_REQUESTED, message=f"Reintento pedido por {user}."
    )
    await session.flush()
    await session.refresh(sale)
    docs = (await repo.documents([sale.id])).get(sale.id, [])
    return _read(sale, docs)


async def retry_matching(
    session: AsyncSession, *, tenant_id: int, filters: SaleFilter, user: str
) -> int:
    repo = SaleRepository(session, tenant_id)
    ids = await repo.retryable_ids(filters)
    count = await repo.make_due(ids)
    for sale_id in ids:
        queue.add_event(
            session,
            sale_id=sale_id,
            tenant_id=tenant_id,
            kind=EventKind.RETRY_REQUESTED,
            message=f"Reintento masivo pedido por {user}.",
        )
    return count


# -- jobs -------------------------------------------------------------------------------------


async def start_backfill(
    session: AsyncSession, *, tenant_id: int, integration_id: int, request: BackfillRequest
) -> Job:
    """Creates a backfill job; the workers' upkeep walks it (`sync.backfill`)."""
    integration = (
        await session.execute(
            select(Integration).where(
                Integration.id == integration_id, Integration.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if integration is None:
        raise NotFound("Integration not found.", code="integration_not_found")
    if not integration.active:
        raise Unprocessable("The integration is paused.", code="integration_inactive")
    job = Job(
        tenant_id=tenant_id,
        integration_id=integration_id,
        kind="backfill",
        state="pending",
        params={"date_from": request.date_from.isoformat(), "date_to": request.date_to.isoformat()},
        cursor={},
        done=0,
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, *, tenant_id: int, job_id: int) -> Job:
    job = (
        await session.execute(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if job is None:
        raise NotFound("Job not found.", code="job_not_found")
    return job


async def request_correction(
    session: AsyncSession, *, tenant_id: int, sale_id: int, user: str
) -> dict[str, Any]:
    """A person asks ConexAPI to correct an invoice its audit found wrong: annul it with a
    credit note and issue the corrected one (`sync.corrections`). Asking again changes nothing:
    the correction happens once."""
    repo = SaleRepository(session, tenant_id)
    sale = await repo.get(sale_id)
    if sale is None:
        raise NotFound("Sale not found.", code="sale_not_found")
    docs = (await repo.documents([sale.id])).get(sale.id, [])
    invoices = sorted(
        (
            d
            for d in docs
            if d.kind == DocumentKind.INVOICE.value and d.status == DocumentStatus.ISSUED.value
        ),
        key=lambda d: d.seq,
    )
    if not invoices or sale.state != SaleState.INVOICED.value:
        raise Conflict("Only an invoiced sale's invoice is corrected.", code="not_correctable")
    invoice = invoices[-1]
    for earlier in invoices[:-1]:
        if (earlier.breakdown.get("correccion") or {}).get("estado"):
            return {"sale_id": sale.id, "correction": earlier.breakdown["correccion"]}
    current = invoice.breakdown.get("correccion")
    if current:
        return {"sale_id": sale.id, "correction": current}
    audit = invoice.breakdown.get("auditoria") or {}
    if not audit.get("diferencias"):
        raise Conflict(
            "The invoice has no difference to correct under today's rules.",
            code="nothing_to_correct",
        )
    if any(d.kind == DocumentKind.CREDIT_NOTE.value for d in docs):
        raise Conflict(
            "The invoice already has credit notes: correct it in Siigo Nube.",
            code="correction_has_credit_notes",
        )
    correction = {"estado": "pendiente", "solicitada_por": user, "fecha": utcnow().isoformat()}
    locked = await session.get(Document, invoice.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    if locked.breakdown.get("correccion"):  # asked at the same moment by someone else
        return {"sale_id": sale.id, "correction": locked.breakdown["correccion"]}
    locked.breakdown = {**locked.breakdown, "correccion": correction}
    await repo.make_invoiced_due([sale.id])
    queue.add_event(
        session,
        sale,
        kind=EventKind.CORRECTION_REQUESTED,
        message=text("sync.correction_requested", user=user, invoice=invoice.number),
    )
    await session.flush()
    return {"sale_id": sale.id, "correction": correction}


# Siigo requests one sale needs, on average: its invoice and the check of its DIAN stamp
# (customers and products are looked up once and cached).
REQUESTS_PER_SALE = 2


def minutes_for(sales: int, requests_per_minute: int) -> int:
    """Minutes to invoice `sales` at Siigo's request limit (at least 1 while any wait)."""
    if sales <= 0:
        return 0
    rate = max(requests_per_minute, 1)
    return max(1, -(-sales * REQUESTS_PER_SALE // rate))


async def progress(
    session: AsyncSession,
    *,
    tenant_id: int,
    sale_ids: list[int],
    now: datetime,
    requests_per_minute: int,
    backlog_cap: int = BACKLOG_CAP,
    place_cap: int = PLACE_CAP,
) -> Progress:
    """Where the given sales are: their state and, when they wait for the worker, their place
    in the queue and the expected minutes; plus the backlog and the counts per state. The
    backlog is counted up to `backlog_cap` and places ranked up to `place_cap`: past them the
    page says "más de" (docs/big-sellers.md, "Backlog and places")."""
    repo = SaleRepository(session, tenant_id)
    sales = await repo.states(sale_ids[:200])
    # The backlog is counted and the places ranked in the database: a large backlog is never
    # read row by row to place the few sales shown.
    backlog = await repo.due_count(now, cap=backlog_cap)
    due_here = [s.id for s in sales if s.state in WAITING and _due_by(s.next_attempt_at, now)]
    places = await repo.places(due_here, now, cap=place_cap) if due_here and backlog else {}
    # A due sale without a place is further back than the places ranked (else: just claimed).
    further = set(due_here) - set(places) if backlog > place_cap else set()
    docs = await repo.documents([s.id for s in sales], summary=True)
    items = []
    for sale in sales:
        place = places.get(sale.id)
        after = place_cap if sale.id in further else None
        invoice = current_invoice(docs.get(sale.id, []))
        items.append(
            QueuedSale(
                id=sale.id,
                state=SaleState(sale.state),
                error=ErrorRead(code=sale.error_code, message=sale.error_message or "")
                if sale.error_code
                else None,
                place=place,
                after_place=after,
                eta_minutes=minutes_for(place or after or 0, requests_per_minute)
                if place or after
                else None,
                next_attempt_at=sale.next_attempt_at,
                invoice_number=invoice.number if invoice else None,
            )
        )
    shown = min(backlog, backlog_cap)
    return Progress(
        backlog=shown,
        backlog_exact=backlog <= backlog_cap,
        backlog_minutes=minutes_for(shown, requests_per_minute),
        requests_per_minute=requests_per_minute,
        counts=await repo.counts(),
        sales=items,
    )


# -- the breaker per Siigo company ------------------------------------------------------------


async def _siigo_connection(
    session: AsyncSession, tenant_id: int, connection_id: int
) -> Connection:
    conn = (
        await session.execute(
            select(Connection).where(
                Connection.id == connection_id,
                Connection.tenant_id == tenant_id,
                Connection.provider == Provider.SIIGO.value,
            )
        )
    ).scalar_one_or_none()
    if conn is None:
        raise NotFound("Siigo connection not found.", code="connection_not_found")
    return conn


async def get_breaker(
    session: AsyncSession, *, tenant_id: int, connection_id: int, window_hours: float
) -> BreakerRead:
    conn = await _siigo_connection(session, tenant_id, connection_id)
    seen = await breaker.share(
        session, connection_id, since=utcnow() - timedelta(hours=window_hours)
    )
    return BreakerRead(
        connection_id=conn.id,
        paused=conn.paused_at is not None,
        paused_at=conn.paused_at,
        reason=conn.pause_reason,
        sent=seen.sent,
        refused=seen.refused,
        refused_share=round(seen.ratio, 4),
        waiting_sales=await breaker.paused_count(session, connection_id),
    )


async def resume_sending(
    session: AsyncSession, *, tenant_id: int, connection_id: int, window_hours: float
) -> BreakerRead:
    """A person resumes sending to a Siigo company the breaker paused (a no-op when it was not
    paused): its held sales are due now."""
    await _siigo_connection(session, tenant_id, connection_id)
    resumed = await breaker.resume(session, connection_id)
    await session.flush()
    read = await get_breaker(
        session, tenant_id=tenant_id, connection_id=connection_id, window_hours=window_hours
    )
    return read.model_copy(update={"resumed": resumed})
