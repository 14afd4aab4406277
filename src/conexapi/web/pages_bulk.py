"""Ventas, acting on many sales at once: every bulk action first shows how many sales it will
change and asks to confirm that number ("Reintentar todas", "Facturadas por fuera" by date), and
sales waiting for the same SKU are fixed together ("SKU-X · 8 ventas → Asociar y reintentar las
8")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.core.errors import AppError
from conexapi.integrations.models import UnmappedSku
from conexapi.messages import error_text, text
from conexapi.operations import service as sales
from conexapi.operations.repository import SaleRepository
from conexapi.operations.schemas import SaleFilter
from conexapi.sales.states import SaleState
from conexapi.sync import manual
from conexapi.sync.models import Sale
from conexapi.web.actions import map_and_retry
from conexapi.web.auth import WebRoute, WebUserDep, redirect, verify_csrf
from conexapi.web.format import number
from conexapi.web.params import optional_date
from conexapi.web.templating import render

router = APIRouter(prefix="/app/sales", route_class=WebRoute)

MAX_GROUPS = 20


@dataclass
class SkuGroup:
    integration_id: int
    sku: str
    title: str
    sales: int


async def sku_groups(session: AsyncSession, tenant_id: int) -> list[SkuGroup]:
    """The SKUs sales wait for, most waited for first: one fix per SKU on the list."""
    rows = await session.execute(
        select(
            UnmappedSku.integration_id,
            UnmappedSku.sku,
            func.max(UnmappedSku.title),
            func.count(func.distinct(UnmappedSku.sale_id)),
        )
        .join(Sale, Sale.id == UnmappedSku.sale_id)
        .where(
            UnmappedSku.tenant_id == tenant_id,
            Sale.state == SaleState.NEEDS_ATTENTION.value,
        )
        .group_by(UnmappedSku.integration_id, UnmappedSku.sku)
        .order_by(func.count(func.distinct(UnmappedSku.sale_id)).desc(), UnmappedSku.sku)
        .limit(MAX_GROUPS)
    )
    return [SkuGroup(int(i), str(s), str(t or ""), int(n)) for i, s, t, n in rows.all()]


async def cause_counts(session: AsyncSession, tenant_id: int) -> list[tuple[str, int]]:
    """Why sales need the seller, most frequent first (code, sales)."""
    rows = await session.execute(
        select(Sale.error_code, func.count(Sale.id))
        .where(
            Sale.tenant_id == tenant_id,
            Sale.state == SaleState.NEEDS_ATTENTION.value,
            Sale.error_code.is_not(None),
        )
        .group_by(Sale.error_code)
        .order_by(func.count(Sale.id).desc())
    )
    return [(str(code), int(n)) for code, n in rows.all()]


def _filters(state: str, q: str, date_from: str, date_to: str) -> SaleFilter:
    try:
        parsed = SaleState(state) if state else None
    except ValueError:
        parsed = None
    return SaleFilter(
        state=parsed,
        q=q.strip() or None,
        date_from=optional_date(date_from),
        date_to=optional_date(date_to),
    )


@router.get("/bulk", response_class=HTMLResponse)
async def confirm_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    action: Annotated[str, Query(pattern="^(retry|elsewhere|consumer)$")] = "retry",
    state: str = "",
    q: Annotated[str, Query(max_length=100)] = "",
    date_from: str = "",
    date_to: str = "",
) -> HTMLResponse:
    """Says how many sales the bulk action will change, and asks to confirm that number."""
    user.require(Role.ADMIN)
    context: dict[str, Any] = {
        "title": "Confirmar",
        "action": action,
        "state": state,
        "q": q,
        "date_from": date_from,
        "date_to": date_to,
        "error": None,
    }
    if action == "consumer":
        context["count"] = len(await manual.buyer_fixable_ids(session, tenant_id=user.tenant_id))
    elif action == "retry":
        f = _filters(state, q, date_from, date_to)
        context["count"] = len(await SaleRepository(session, user.tenant_id).retryable_ids(f))
    else:
        start, end = optional_date(date_from), optional_date(date_to)
        if start is None or end is None or end < start:
            context["count"] = 0
            context["error"] = text("invalid_date_range") if start and end else None
        else:
            context["count"] = await manual.count_markable(
                session, tenant_id=user.tenant_id, date_from=start, date_to=end
            )
    return render(request, runtime, "sales_confirm.html", context, user=user, nav="sales")


@router.post("/bulk/retry", dependencies=[Depends(verify_csrf)])
async def bulk_retry(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    expected_count: Annotated[int, Form(ge=0)],
    state: Annotated[str, Form()] = "",
    q: Annotated[str, Form(max_length=100)] = "",
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    f = _filters(state, q, date_from, date_to)
    repo = SaleRepository(session, user.tenant_id)
    now = len(await repo.retryable_ids(f))
    if now != expected_count:
        return redirect(
            f"/app/sales/bulk?action=retry&state={state}&q={q}&date_from={date_from}"
            f"&date_to={date_to}",
            runtime,
            error=text("count_changed"),
        )
    count = await sales.retry_matching(
        session, tenant_id=user.tenant_id, filters=f, user=user.actor
    )
    return redirect("/app/sales", runtime, ok=text("web.bulk_retried", count=number(count)))


@router.post("/bulk/elsewhere", dependencies=[Depends(verify_csrf)])
async def bulk_elsewhere(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    expected_count: Annotated[int, Form(ge=0)],
    date_from: Annotated[date, Form()],
    date_to: Annotated[date, Form()],
    reason: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    again = f"/app/sales/bulk?action=elsewhere&date_from={date_from}&date_to={date_to}"
    try:
        count = await manual.mark_invoiced_elsewhere(
            session,
            tenant_id=user.tenant_id,
            user=user.actor,
            reason=reason,
            date_from=date_from,
            date_to=date_to,
            expected=expected_count,
        )
    except AppError as exc:
        await session.rollback()
        return redirect(again, runtime, error=error_text(exc))
    return redirect(
        "/app/sales?state=skipped", runtime, ok=text("manual.marked", count=number(count))
    )


@router.post("/bulk/consumer", dependencies=[Depends(verify_csrf)])
async def bulk_consumer_final(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    expected_count: Annotated[int, Form(ge=0)],
) -> RedirectResponse:
    """Every sale whose buyer gave no fiscal data, invoiced to consumidor final."""
    user.require(Role.ADMIN)
    try:
        count = await manual.consumer_final_all(
            session, tenant_id=user.tenant_id, user=user.actor, expected=expected_count
        )
    except AppError as exc:
        await session.rollback()
        return redirect("/app/sales/bulk?action=consumer", runtime, error=error_text(exc))
    return redirect(
        "/app/sales?state=needs_attention",
        runtime,
        ok=text("web.bulk_consumer", count=number(count)),
    )


@router.post("/bulk/map-sku", dependencies=[Depends(verify_csrf)])
async def map_sku(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    integration_id: Annotated[int, Form()],
    sku: Annotated[str, Form(min_length=1, max_length=120)],
    erp_code: Annotated[str, Form(max_length=60)] = "",
) -> RedirectResponse:
    """One SKU, every sale waiting for it: map it to an existing, active Siigo product (checked
    in Siigo) and retry them all."""
    user.require(Role.ADMIN)
    if not erp_code.strip():
        return redirect(
            "/app/sales?state=needs_attention", runtime, error=text("web.map_code_required")
        )
    mapped = await map_and_retry(
        session,
        runtime,
        tenant_id=user.tenant_id,
        integration_id=integration_id,
        pairs=[(sku.strip(), erp_code.strip())],
        all_or_nothing=True,
    )
    if mapped.error:
        return redirect("/app/sales?state=needs_attention", runtime, error=mapped.error)
    return redirect(
        "/app/sales?state=needs_attention",
        runtime,
        ok=text(
            "web.sku_group_mapped",
            sku=sku.strip(),
            code=erp_code.strip(),
            count=number(mapped.retried),
        ),
    )
