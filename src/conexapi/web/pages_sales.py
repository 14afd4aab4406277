"""Ventas: the list (filters, counts, the attention queue first, one-click fixes, retries) and
the sale page (timeline, invoice breakdown, documents, DIAN status)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.connections.catalogs import load_products
from conexapi.core.errors import AppError, IntegrationError, Unprocessable
from conexapi.db import DbId
from conexapi.erps.siigo.client import siigo_client
from conexapi.integrations import service as integrations
from conexapi.messages import error_text, text
from conexapi.messages.numbers import integer
from conexapi.operations import service as sales
from conexapi.operations.schemas import Progress, QueuedSale, SaleFilter
from conexapi.sales.states import SaleState
from conexapi.sync import manual
from conexapi.web.actions import map_and_retry
from conexapi.web.auth import WebRoute, WebUserDep, redirect, verify_csrf
from conexapi.web.fixes import FROM_TIMELINE, SETTING_LABELS, fix_for
from conexapi.web.format import STATE_TONES, fecha, human, number, state_label
from conexapi.web.ledger import ledger
from conexapi.web.pages_bulk import cause_counts, sku_groups
from conexapi.web.params import optional_date
from conexapi.web.templating import render

router = APIRouter(prefix="/app/sales", route_class=WebRoute)
PAGE_SIZE = 25


def _filters(
    state: str | None, q: str | None, date_from: date | None, date_to: date | None
) -> SaleFilter:
    try:
        parsed = SaleState(state) if state else None
    except ValueError as exc:
        raise Unprocessable("Estado de venta desconocido.", code="invalid_state") from exc
    return SaleFilter(
        state=parsed, q=(q or "").strip() or None, date_from=date_from, date_to=date_to
    )


def _query(f: SaleFilter, **extra: object) -> str:
    params: dict[str, object] = {
        "state": f.state.value if f.state else "",
        "q": f.q or "",
        "date_from": f.date_from.isoformat() if f.date_from else "",
        "date_to": f.date_to.isoformat() if f.date_to else "",
        **extra,
    }
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@router.get("", response_class=HTMLResponse)
async def sales_list(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    state: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    date_from: str | None = None,
    date_to: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    # Wrong dates are said next to the fields, on this page with its menu; the list shows
    # every date meanwhile.
    form_error = None
    try:
        start, end = optional_date(date_from), optional_date(date_to)
        if start and end and start > end:
            raise Unprocessable("date_from is after date_to.", code="invalid_date_range")
    except AppError as exc:
        form_error = error_text(exc)
        start = end = None
    f = _filters(state, q, start, end)
    # "Siguiente" carries the keyset cursor (the page costs the same however deep); `page` is
    # only the number shown (and, without a cursor, where to start).
    result = await sales.list_sales(
        session,
        tenant_id=user.tenant_id,
        filters=f,
        page=page,
        page_size=PAGE_SIZE,
        cursor=cursor or None,
    )
    fixes = {}
    product_codes: list[tuple[str, str]] = []
    wants_products = False
    attention = [
        item
        for item in result.items
        if item.state == SaleState.NEEDS_ATTENTION and item.error is not None
    ]
    # The timelines of the sales whose fix names what is missing (SKUs, settings), all at once.
    context = await sales.timelines(
        session,
        tenant_id=user.tenant_id,
        sale_ids=[i.id for i in attention if i.error and i.error.code in FROM_TIMELINE],
    )
    for item in attention:
        assert item.error is not None
        events, facts = context.get(item.id, ([], {}))
        fix = fix_for(item.error.code, events, facts)
        if fix is not None:
            fixes[item.id] = fix
            wants_products = wants_products or fix.code == "unmapped_products"
    groups = await sku_groups(session, user.tenant_id)
    causes = await cause_counts(session, user.tenant_id)
    if (wants_products or groups) and user.can_edit:
        product_codes = await _siigo_products(session, runtime, user.tenant_id)
    pages = max(1, -(-result.total // PAGE_SIZE))
    status = await _progress(session, runtime, user.tenant_id, [i.id for i in result.items])
    if not result.total_exact:
        total_label = text("web.sales_count_more", count=number(result.total))
        page_label = text("web.page", page=number(page))
    else:
        total_label = (
            text("web.sales_count_one")
            if result.total == 1
            else text("web.sales_count", count=number(result.total))
        )
        page_label = text("web.page_of", page=number(page), pages=number(pages))
    more = result.next_cursor is not None
    return render(
        request,
        runtime,
        "sales.html",
        {
            "title": "Ventas",
            "result": result,
            "f": f,
            "fixes": fixes,
            "groups": groups,
            "grouped_skus": [g.sku for g in groups],
            "causes": causes,
            "products": product_codes,
            "setting_labels": SETTING_LABELS,
            "page": page,
            "pages": pages,
            "query": _query(f),
            "prev_query": _query(f, page=page - 1) if page > 1 else None,
            "next_query": _query(f, page=page + 1, cursor=result.next_cursor) if more else None,
            "total_label": total_label,
            "page_label": page_label,
            "total_all": sum(result.counts.values()),
            "backlog_text": backlog_banner(status),
            "queued": {q.id: queue_text(q) for q in status.sales},
            "form_error": form_error,
            "asked": {"date_from": date_from or "", "date_to": date_to or ""},
        },
        user=user,
        nav="sales",
        status_code=422 if form_error else 200,
    )


async def _progress(
    session: SessionDep, runtime: RuntimeDep, tenant_id: int, ids: list[int]
) -> Progress:
    return await sales.progress(
        session,
        tenant_id=tenant_id,
        sale_ids=ids,
        now=datetime.now(UTC),
        requests_per_minute=runtime.settings.siigo_requests_per_minute,
    )


def progress_json(status: Progress) -> dict[str, object]:
    """What the page's script needs to refresh rows, counts and the backlog banner, with the
    words already in Spanish (the script only places them)."""
    return {
        "backlog": status.backlog,
        "banner": backlog_banner(status),
        "counts": {k: integer(v) for k, v in status.counts.items()},
        "total": integer(sum(status.counts.values())),
        "sales": {
            str(q.id): {
                "state": q.state.value,
                "label": state_label(q.state.value),
                "tone": STATE_TONES.get(q.state.value, "muted"),
                "queue": queue_text(q),
                "error": human(q.error.message) if q.error else "",
                "invoice": q.invoice_number or "",
            }
            for q in status.sales
        },
    }


def backlog_banner(status: Progress) -> str:
    if not status.backlog:
        return ""
    return text(
        "web.backlog" if status.backlog_exact else "web.backlog_more",
        count=integer(status.backlog),
        sales="venta" if status.backlog == 1 else "ventas",
        minutes=integer(status.backlog_minutes),
        rate=integer(status.requests_per_minute),
    )


def queue_text(q: QueuedSale) -> str:
    if q.place is not None:
        return text("web.queued_place", place=integer(q.place), minutes=integer(q.eta_minutes or 1))
    if q.after_place is not None:
        return text(
            "web.queued_after", place=integer(q.after_place), minutes=integer(q.eta_minutes or 1)
        )
    if q.state not in (SaleState.PENDING, SaleState.RETRYING):
        return ""
    if q.next_attempt_at is not None:
        return text("web.queued_at", when=fecha(q.next_attempt_at))
    return text("web.queued")


@router.get("/status.json")
async def sales_status(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    ids: Annotated[str, Query(max_length=2000)] = "",
) -> JSONResponse:
    """Polled by the list and the sale page every few seconds: rows and counts refresh without
    reloading the page."""
    wanted = [int(x) for x in ids.split(",") if x.strip().isdigit()][:200]
    status = await _progress(session, runtime, user.tenant_id, wanted)
    return JSONResponse(progress_json(status), headers={"Cache-Control": "no-store"})


async def _siigo_products(
    session: SessionDep, runtime: RuntimeDep, tenant_id: int
) -> list[tuple[str, str]]:
    """Active Siigo products (code, name) for the "associate SKU" suggestions; empty on error."""
    views = await integrations.list_integrations(session, tenant_id=tenant_id)
    if not views:
        return []
    connection_id = views[0].integration.siigo_connection_id
    try:
        products = await load_products(session, siigo_client(runtime, connection_id), connection_id)
    except (IntegrationError, AppError):
        return []
    return sorted((p.code, p.name) for p in products.values() if p.active)[:2000]


@router.get("/{sale_id}", response_class=HTMLResponse)
async def sale_page(
    sale_id: DbId, request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    sale = await sales.get_sale(session, tenant_id=user.tenant_id, sale_id=sale_id)
    fix = fix_for(sale.error.code if sale.error else None, sale.timeline, sale.facts)
    products = (
        await _siigo_products(session, runtime, user.tenant_id)
        if fix is not None and fix.code == "unmapped_products" and user.can_edit
        else []
    )
    invoice = max(
        (d for d in sale.documents if d.kind == "invoice"), key=lambda d: d.seq, default=None
    )
    notes = [d for d in sale.documents if d.kind == "credit_note"]
    status = await _progress(session, runtime, user.tenant_id, [sale.id])
    return render(
        request,
        runtime,
        "sale.html",
        {
            "title": f"Venta {sale.external_id}",
            "sale": sale,
            "fix": fix,
            "products": products,
            "setting_labels": SETTING_LABELS,
            "invoice": invoice,
            "notes": notes,
            "ledger": ledger(sale, invoice, notes),
            "backlog_text": backlog_banner(status),
            "queued": {q.id: queue_text(q) for q in status.sales},
            "retryable": sale.state
            in (SaleState.NEEDS_ATTENTION, SaleState.RETRYING, SaleState.DEAD),
            "markable": not sale.documents
            and sale.state.value in manual.MARKABLE
            and not manual.is_elsewhere(sale.manual),
        },
        user=user,
        nav="sales",
    )


def _back(request: Request, fallback: str) -> str:
    """Where to return after a form: the page it came from, when it is ours."""
    target = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if target.startswith(base + "/app"):
        return target[len(base) :]
    return fallback


@router.post("/{sale_id}/retry", dependencies=[Depends(verify_csrf)])
async def retry(
    sale_id: DbId, request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    sale = await sales.retry_sale(
        session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor
    )
    return redirect(
        _back(request, f"/app/sales/{sale_id}"),
        runtime,
        ok=text("web.retry_queued", sale=sale.external_id),
    )


@router.post("/{sale_id}/correction", dependencies=[Depends(verify_csrf)])
async def request_correction(
    sale_id: DbId, request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    """The seller asks to correct an invoice the fiscal review found wrong (never automatic)."""
    user.require(Role.ADMIN)
    target = _back(request, f"/app/sales/{sale_id}")
    try:
        await sales.request_correction(
            session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor
        )
    except AppError as exc:
        await session.rollback()
        return redirect(target, runtime, error=error_text(exc))
    return redirect(target, runtime, ok=text("web.correction_queued"))


@router.post("/retry-all", dependencies=[Depends(verify_csrf)])
async def retry_all(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    state: Annotated[str, Form()] = "",
    q: Annotated[str, Form(max_length=100)] = "",
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    f = _filters(state, q, optional_date(date_from), optional_date(date_to))
    count = await sales.retry_matching(
        session, tenant_id=user.tenant_id, filters=f, user=user.actor
    )
    message = (
        f"{count} venta{'s' if count != 1 else ''} en cola para reintentar."
        if count
        else "No hay ventas para reintentar con ese filtro."
    )
    query = _query(f)
    return redirect("/app/sales" + (f"?{query}" if query else ""), runtime, ok=message)


@router.post("/{sale_id}/map-products", dependencies=[Depends(verify_csrf)])
async def map_products_and_retry(
    sale_id: DbId,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RedirectResponse:
    """The one-click fix for `unmapped_products`: save SKU → Siigo code, then retry the sale."""
    user.require(Role.ADMIN)
    form = await request.form()
    skus = [str(s).strip() for s in form.getlist("sku")]
    codes = [str(c).strip() for c in form.getlist("erp_code")]
    pairs = [(s, c) for s, c in zip(skus, codes, strict=False) if s and c]
    if not pairs:
        return redirect(
            _back(request, f"/app/sales/{sale_id}"),
            runtime,
            error="Escriba el código del producto de Siigo para el SKU.",
        )
    sale = await sales.get_sale(session, tenant_id=user.tenant_id, sale_id=sale_id)
    back = _back(request, f"/app/sales/{sale_id}")
    # Every sale waiting for these SKUs (this one too) is due again.
    mapped = await map_and_retry(
        session,
        runtime,
        tenant_id=user.tenant_id,
        integration_id=sale.integration_id,
        pairs=pairs,
        all_or_nothing=True,
    )
    if mapped.error:
        return redirect(back, runtime, error=mapped.error)
    retried = mapped.retried
    if sale.state == SaleState.NEEDS_ATTENTION and not retried:
        await sales.retry_sale(session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor)
    names = ", ".join(f"{s} → {c}" for s, c in mapped.saved.items())
    return redirect(
        back, runtime, ok=text("products.mapped_sale", names=names, sale=sale.external_id)
    )


# -- the seller's own decisions (sync.manual) --------------------------------------------------


@router.post("/{sale_id}/buyer", dependencies=[Depends(verify_csrf)])
async def set_buyer(
    sale_id: DbId,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    consumer_final: Annotated[str, Form()] = "",
    id_type: Annotated[str, Form(max_length=20)] = "",
    identification: Annotated[str, Form(max_length=30)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """The fix of a buyer without fiscal data: consumidor final, or the CC/NIT typed."""
    user.require(Role.ADMIN)
    back = _back(request, f"/app/sales/{sale_id}")
    try:
        buyer = manual.clean_buyer(
            consumer_final=bool(consumer_final),
            id_type=id_type,
            identification=identification,
            name=name,
        )
        sale = await manual.set_buyer(
            session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor, buyer=buyer
        )
    except AppError as exc:
        await session.rollback()
        return redirect(back, runtime, error=error_text(exc))
    return redirect(back, runtime, ok=text("web.buyer_saved", sale=sale.external_id))


@router.post("/{sale_id}/invoiced-elsewhere", dependencies=[Depends(verify_csrf)])
async def mark_elsewhere(
    sale_id: DbId,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    reason: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    back = _back(request, f"/app/sales/{sale_id}")
    marked = await manual.mark_invoiced_elsewhere(
        session, tenant_id=user.tenant_id, user=user.actor, reason=reason, sale_ids=[sale_id]
    )
    if not marked:
        return redirect(back, runtime, error=text("sale_not_markable"))
    return redirect(back, runtime, ok=text("manual.marked", count=number(marked)))


@router.post("/{sale_id}/invoiced-elsewhere/undo", dependencies=[Depends(verify_csrf)])
async def unmark_elsewhere(
    sale_id: DbId, request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    back = _back(request, f"/app/sales/{sale_id}")
    try:
        await manual.unmark_invoiced_elsewhere(
            session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor
        )
    except AppError as exc:
        await session.rollback()
        return redirect(back, runtime, error=error_text(exc))
    return redirect(back, runtime, ok=text("web.unmarked"))


@router.post("/{sale_id}/refund-acknowledged", dependencies=[Depends(verify_csrf)])
async def refund_acknowledged(
    sale_id: DbId, request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    back = _back(request, f"/app/sales/{sale_id}")
    try:
        await manual.acknowledge_refund(
            session, tenant_id=user.tenant_id, sale_id=sale_id, user=user.actor
        )
    except AppError as exc:
        await session.rollback()
        return redirect(back, runtime, error=error_text(exc))
    return redirect(back, runtime, ok=text("web.refund_acknowledged"))
