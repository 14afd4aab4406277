"""Integración: settings from the Siigo catalogs with the proposals and their reasons, product
mappings with CSV import and the check against Siigo, and backfill (Conexiones live in
`pages_connections`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.connections import service as connections
from conexapi.connections.catalogs import Catalogs, load_catalogs, load_products
from conexapi.core.errors import AppError, IntegrationError, Unprocessable
from conexapi.db import DbDate, DbId
from conexapi.erps.siigo.client import siigo_client
from conexapi.integrations import mappings as product_mappings
from conexapi.integrations import service as integrations
from conexapi.messages import error_text, text, vendor_text
from conexapi.messages.numbers import integer
from conexapi.operations.schemas import BackfillRequest
from conexapi.operations.service import get_job, start_backfill
from conexapi.sales.clock import COLOMBIA, colombia_today
from conexapi.sales.settings import ConsumerFallback, InvoicingSettings
from conexapi.sync import preview
from conexapi.sync.models import Job
from conexapi.sync.preview import previewed_count
from conexapi.sync.unblock import resume_after_settings, resume_mapped_sales
from conexapi.web.actions import attempt, map_and_retry
from conexapi.web.auth import WebRoute, WebUser, WebUserDep, redirect, verify_csrf
from conexapi.web.fixes import SETTING_LABELS
from conexapi.web.format import csv_reason, human, number
from conexapi.web.params import optional_date
from conexapi.web.templating import render

router = APIRouter(prefix="/app", route_class=WebRoute)

MAX_CSV_BYTES = 2_000_000
MAPPINGS_PAGE = 50
BOOL_SETTINGS = (
    "stamp",
    "send_email",
    "prices_include_iva",
    "credit_notes_auto",
    "create_missing_products",
    "upload_invoice_to_marketplace",
)
INT_SETTINGS = (
    "fv_document_id",
    "nc_document_id",
    "seller_id",
    "payment_type_id",
    "nc_payment_type_id",
    "iva_tax_id",
    "cost_center_id",
    "shipping_tax_id",
    "data_wait_hours",
)
# Settings chosen among fixed values: name -> {value: label}.
CHOICE_SETTINGS: dict[str, dict[str, str]] = {
    "invoice_trigger": {"paid": "Pagada", "delivered": "Entregada"},
    "shipping_tax": {
        "principal_good": "El del producto principal de la venta (E.T. art. 447)",
        "fixed": "Siempre el impuesto elegido abajo",
    },
    "meli_coupon_invoicing": {
        "as_price": "Como parte del precio (MercadoLibre paga por el comprador)",
        "as_discount": "Fuera de la factura (la factura dice lo que pagó el comprador)",
    },
    "money_refund_reason": {"3": "3 · Rebaja o descuento", "4": "4 · Ajuste de precio"},
}


# --- Integración ----------------------------------------------------------------------------


def _options(catalogs: Catalogs) -> dict[str, list[tuple[Any, str]]]:
    def doc_label(d: Any) -> str:
        return f"{d.code} · {d.name}" if d.code is not None else d.name

    return {
        "fv_document_id": [(d.id, doc_label(d)) for d in catalogs.document_types_fv if d.active],
        "nc_document_id": [(d.id, doc_label(d)) for d in catalogs.document_types_nc if d.active],
        "seller_id": [
            (u.id, f"{u.first_name} {u.last_name}".strip() + f" ({u.username})")
            for u in catalogs.users
            if u.active
        ],
        "payment_type_id": [(p.id, p.name) for p in catalogs.payment_types_fv if p.active],
        "nc_payment_type_id": [(p.id, p.name) for p in catalogs.payment_types_nc if p.active],
        "iva_tax_id": [
            (t.id, f"{t.name} ({t.percentage:g} %)")
            for t in catalogs.taxes
            if t.active and t.type.upper() == "IVA"
        ],
        "shipping_tax_id": [
            (t.id, f"{t.name} ({t.percentage:g} %)")
            for t in catalogs.taxes
            if t.active and t.type.upper() == "IVA"
        ],
        "cost_center_id": [
            (c.id, f"{c.code} · {c.name}" if c.code else c.name)
            for c in catalogs.cost_centers
            if c.active
        ],
    }


async def _integration_page(
    request: Request,
    user: WebUser,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    integration_id: DbId | None = None,
    q: str | None = None,
    page: int = 1,
    import_report: Any = None,
    check_report: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    views = await integrations.list_integrations(session, tenant_id=user.tenant_id)
    view = next(
        (v for v in views if v.integration.id == integration_id), views[0] if views else None
    )
    conns = await connections.list_connections(session, tenant_id=user.tenant_id)
    context: dict[str, Any] = {
        "title": "Integración",
        "views": views,
        "view": view,
        "ml_connections": [c for c in conns if c.provider == "mercadolibre"],
        "siigo_connections": [c for c in conns if c.provider == "siigo"],
        "labels": SETTING_LABELS,
        "choices": CHOICE_SETTINGS,
        "import_report": import_report,
        "check_report": check_report,
        "q": q or "",
        "today": colombia_today().isoformat(),
        "week_ago": (colombia_today() - timedelta(days=7)).isoformat(),
    }
    if view is not None:
        iid = view.integration.id
        cid = view.integration.siigo_connection_id
        catalog_error = None
        options: dict[str, list[tuple[Any, str]]] = {}
        products: list[tuple[str, str]] = []
        try:
            client = siigo_client(runtime, cid)
            options = _options(await load_catalogs(session, client, cid))
            products = sorted(
                (p.code, p.name)
                for p in (await load_products(session, client, cid)).values()
                if p.active
            )[:2000]
        except IntegrationError as exc:
            catalog_error = vendor_text(exc)
        mappings, total = await product_mappings.list_mappings(
            session,
            tenant_id=user.tenant_id,
            integration_id=iid,
            q=q,
            page=page,
            page_size=MAPPINGS_PAGE,
        )
        job_id = request.query_params.get("job")
        job: Job | None = None
        if job_id and job_id.isdigit():
            try:
                job = await get_job(session, tenant_id=user.tenant_id, job_id=int(job_id))
            except AppError:
                job = None
        context.update(
            {
                "previewed_count": await previewed_count(session, iid),
                "settings": view.settings,
                "proposals": view.proposals,
                "missing": view.missing,
                "options": options,
                "products": products,
                "catalog_error": catalog_error,
                "mappings": mappings,
                "mappings_total": total,
                "page": page,
                "pages": max(1, -(-total // MAPPINGS_PAGE)),
                "job": job,
                "job_progress": job_progress(job) if job else None,
            }
        )
    return render(
        request,
        runtime,
        "integration.html",
        context,
        user=user,
        nav="integration",
        status_code=status_code,
    )


@router.get("/integration", response_class=HTMLResponse)
async def integration_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    id: DbId | None = None,
    q: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    return await _integration_page(
        request, user, session, runtime, integration_id=id, q=q, page=page
    )


@router.post("/integration", dependencies=[Depends(verify_csrf)])
async def create_integration(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    mercadolibre_connection_id: Annotated[int, Form()],
    siigo_connection_id: Annotated[int, Form()],
    create_shipping_product: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    user.require(Role.ADMIN)
    try:
        view = await integrations.create_integration(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            ml_connection_id=mercadolibre_connection_id,
            siigo_connection_id=siigo_connection_id,
            settings=None,
            create_shipping_product=create_shipping_product,
        )
    except IntegrationError as exc:
        await session.rollback()
        return redirect("/app/integration", runtime, error=vendor_text(exc))
    except AppError as exc:
        await session.rollback()
        return redirect("/app/integration", runtime, error=error_text(exc))
    message = "Integración creada con la configuración propuesta. Revise cada valor abajo."
    if view.missing:
        message += " Faltan algunos datos: están resaltados."
    return redirect(f"/app/integration?id={view.integration.id}", runtime, ok=message)


def settings_changes(form: dict[str, str], current: InvoicingSettings) -> dict[str, Any]:
    """The settings a person changed in the form (only those are validated and saved)."""
    changes: dict[str, Any] = {}
    for name in INT_SETTINGS:
        if name not in form:
            continue
        raw = form[name].strip()
        value: Any = int(raw) if raw.isdigit() else None
        if value != getattr(current, name):
            changes[name] = value
    if "shipping_product_code" in form:
        code = form["shipping_product_code"].strip() or None
        if code != current.shipping_product_code:
            changes["shipping_product_code"] = code
    for name in CHOICE_SETTINGS:
        if name in form and form[name] != str(getattr(current, name)):
            changes[name] = form[name]
    if "fallback_email" in form:
        email = form["fallback_email"].strip() or None
        if email != current.fallback_email:
            changes["fallback_email"] = email
    if form.get("_booleans") == "1":
        for name in BOOL_SETTINGS:
            value = form.get(name) == "on"
            if value != getattr(current, name):
                changes[name] = value
        consumer = _consumer_fallback(form, current)
        if consumer != (
            current.consumer_fallback.model_dump() if current.consumer_fallback else None
        ):
            changes["consumer_fallback"] = consumer
    return changes


def _setting_error(exc: AppError | ValidationError) -> str:
    """Why a setting was not saved, naming the field as the page does (the English detail stays
    in the logs and the API)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        field = str(errors[0]["loc"][0]) if errors and errors[0].get("loc") else ""
    elif exc.code == "invalid_setting":
        field = str((exc.details or {}).get("field", ""))
    else:
        return text("web.setting_not_saved", reason=error_text(exc))
    return text("web.setting_invalid", field=SETTING_LABELS.get(field, field or "—"))


def _consumer_fallback(form: dict[str, str], current: InvoicingSettings) -> dict[str, Any] | None:
    """The "consumidor final" the form asks for: off, or on with the name it gives."""
    if form.get("consumer_fallback") != "on":
        return None
    base = (current.consumer_fallback or ConsumerFallback()).model_dump()
    name = " ".join(form.get("consumer_fallback_name", "").split())[:100]
    if name:
        base["name"] = name
    return base


@router.post("/integration/{integration_id}/settings", dependencies=[Depends(verify_csrf)])
async def save_settings(
    integration_id: DbId,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RedirectResponse:
    user.require(Role.ADMIN)
    view = await integrations.read_integration(
        session, tenant_id=user.tenant_id, integration_id=integration_id
    )
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    changes = settings_changes(form, view.settings)
    target = f"/app/integration?id={integration_id}"
    if not changes:
        return redirect(target, runtime, ok="Sin cambios.")
    try:
        await integrations.update_integration(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            integration_id=integration_id,
            changes=changes,
        )
        # The sales a setting may fix are due again, in this request's commit.
        await resume_after_settings(
            session, tenant_id=user.tenant_id, integration_id=integration_id, changed=set(changes)
        )
    except IntegrationError as exc:
        await session.rollback()
        return redirect(target, runtime, error=vendor_text(exc))
    except (AppError, ValidationError) as exc:
        await session.rollback()
        return redirect(target, runtime, error=_setting_error(exc))
    names = ", ".join(SETTING_LABELS.get(n, n) for n in changes)
    return redirect(target, runtime, ok=f"Configuración guardada ({names}).")


@router.post("/integration/{integration_id}/preview", dependencies=[Depends(verify_csrf)])
async def start_preview(
    integration_id: DbId, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    target = f"/app/integration?id={integration_id}#vista-previa"
    try:
        await preview.set_preview(session, tenant_id=user.tenant_id, integration_id=integration_id)
    except AppError as exc:
        await session.rollback()
        return redirect(target, runtime, error=error_text(exc))
    return redirect(
        f"/app/integration?id={integration_id}#vista-previa", runtime, ok=text("preview.started")
    )


@router.post("/integration/{integration_id}/go-live", dependencies=[Depends(verify_csrf)])
async def go_live(
    integration_id: DbId,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    invoice_from: Annotated[str, Form()] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    target = f"/app/integration?id={integration_id}#vista-previa"
    try:
        day = optional_date(invoice_from)
    except AppError:
        day = None
    if day is None or day > colombia_today():
        return redirect(target, runtime, error=text("preview.invalid_date"))
    counts = await preview.go_live(
        session,
        tenant_id=user.tenant_id,
        integration_id=integration_id,
        invoice_from=day,
        user=user.actor,
    )
    return redirect(
        target,
        runtime,
        ok=text(
            "preview.went_live",
            invoiced=number(counts["invoiced"]),
            skipped=number(counts["skipped"]),
            day=day.strftime("%d/%m/%Y"),
        ),
    )


@router.post("/integration/{integration_id}/mappings", dependencies=[Depends(verify_csrf)])
async def save_mapping(
    integration_id: DbId,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    sku: Annotated[str, Form(max_length=120)],
    erp_code: Annotated[str, Form(max_length=60)],
    q: Annotated[str, Form(max_length=120)] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    target = f"/app/integration?id={integration_id}" + (f"&q={q}" if q else "") + "#productos"
    mapped = await map_and_retry(
        session,
        runtime,
        tenant_id=user.tenant_id,
        integration_id=integration_id,
        pairs=[(sku, erp_code)],
        all_or_nothing=True,
    )
    if mapped.error:
        return redirect(target, runtime, error=mapped.error)
    return redirect(
        target,
        runtime,
        ok=text("products.mapped", sku=sku.strip(), code=erp_code.strip(), sales=mapped.retried),
    )


@router.post("/integration/{integration_id}/mappings/delete", dependencies=[Depends(verify_csrf)])
async def delete_mapping(
    integration_id: DbId,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    sku: Annotated[str, Form(max_length=120)],
) -> RedirectResponse:
    user.require(Role.ADMIN)
    target = f"/app/integration?id={integration_id}#productos"
    try:
        await product_mappings.delete_mapping(
            session, tenant_id=user.tenant_id, integration_id=integration_id, sku=sku
        )
    except AppError as exc:
        return redirect(target, runtime, error=error_text(exc))
    return redirect(target, runtime, ok=f"Asociación del SKU {sku} eliminada.")


@router.post(
    "/integration/{integration_id}/mappings/import",
    dependencies=[Depends(verify_csrf)],
)
async def import_mappings(
    integration_id: DbId,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    file: UploadFile,
) -> RedirectResponse:
    user.require(Role.ADMIN)
    content = await file.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise Unprocessable("El archivo supera 2 MB.", code="file_too_large")
    report, error = await attempt(
        session,
        product_mappings.import_mappings(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            integration_id=integration_id,
            content=content,
        ),
    )
    target = f"/app/integration?id={integration_id}#productos"
    if report is None:
        # Post/redirect/get: the error is said on the same page, and a reload sends nothing.
        return redirect(target, runtime, error=error)
    retried = await resume_mapped_sales(
        session, tenant_id=user.tenant_id, integration_id=integration_id
    )
    await session.flush()
    rejected = "; ".join(
        text("web.import_line", line=r.line, sku=r.sku or "—", reason=csv_reason(r.reason))
        for r in report.rejected[:5]
    )
    more = len(report.rejected) - 5
    summary = text(
        "web.import_done",
        saved=integer(report.accepted),
        rejected=integer(len(report.rejected)),
        retried=integer(retried),
    )
    if rejected:
        summary += " " + rejected + (text("web.import_more", n=integer(more)) if more > 0 else ".")
    if report.rejected:
        return redirect(target, runtime, error=summary)
    return redirect(target, runtime, ok=summary)


@router.post(
    "/integration/{integration_id}/mappings/check",
    dependencies=[Depends(verify_csrf)],
    response_class=HTMLResponse,
)
async def check_mappings(
    integration_id: DbId,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    try:
        report = await product_mappings.check_mappings(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            integration_id=integration_id,
            skus=[],
            refresh=True,
        )
    except IntegrationError as exc:
        return await _integration_page(
            request,
            user,
            session,
            runtime,
            integration_id=integration_id,
            check_report={"error": vendor_text(exc)},
        )
    return await _integration_page(
        request, user, session, runtime, integration_id=integration_id, check_report=report
    )


# --- Backfill -------------------------------------------------------------------------------


def job_progress(job: Job) -> dict[str, Any]:
    """Progress of a backfill: the share of the date range already walked, and sales found."""
    percent = 0
    try:
        start = datetime.fromisoformat(job.params["date_from"]).replace(tzinfo=COLOMBIA)
        end = datetime.fromisoformat(job.params["date_to"]).replace(tzinfo=COLOMBIA) + timedelta(
            days=1
        )
        if "window" in (job.cursor or {}):
            window = datetime.fromisoformat(job.cursor["window"])
            percent = int(max(0, min(1, (window - start) / (end - start))) * 100)
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        percent = 0
    if job.state == "done":
        percent = 100
    labels = {"pending": "En cola", "running": "En curso", "done": "Terminado", "failed": "Falló"}
    return {
        "id": job.id,
        "state": job.state,
        "state_label": labels.get(job.state, job.state),
        "done": job.done,
        "done_text": integer(job.done),
        "percent": percent,
        "error": human(job.error) if job.error else None,
        "finished": job.state in ("done", "failed"),
        "date_from": job.params.get("date_from"),
        "date_to": job.params.get("date_to"),
    }


@router.post("/integration/{integration_id}/backfill", dependencies=[Depends(verify_csrf)])
async def backfill(
    integration_id: DbId,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    date_from: Annotated[DbDate, Form()],
    date_to: Annotated[DbDate, Form()],
) -> RedirectResponse:
    user.require(Role.ADMIN)
    target = f"/app/integration?id={integration_id}"
    try:
        request = BackfillRequest(date_from=date_from, date_to=date_to)
    except ValidationError as exc:
        reason = exc.errors()[0].get("msg", "rango no válido")
        return redirect(target + "#backfill", runtime, error=f"Rango no válido: {reason}")
    try:
        job = await start_backfill(
            session, tenant_id=user.tenant_id, integration_id=integration_id, request=request
        )
    except AppError as exc:
        return redirect(target + "#backfill", runtime, error=error_text(exc))
    return redirect(
        f"{target}&job={job.id}#backfill",
        runtime,
        ok=f"Importación de ventas del {date_from} al {date_to} en marcha.",
    )


@router.get("/jobs/{job_id}.json")
async def job_status(job_id: DbId, user: WebUserDep, session: SessionDep) -> JSONResponse:
    job = await get_job(session, tenant_id=user.tenant_id, job_id=job_id)
    return JSONResponse(job_progress(job), headers={"Cache-Control": "no-store"})
