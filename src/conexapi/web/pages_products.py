"""Productos por asociar: the SKUs sales wait for, each with the Siigo products proposed for it;
one action maps every chosen one (checked against Siigo) and retries all the sales waiting for
them. Creating a missing product in Siigo is offered when the integration allows it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.connections.catalogs import load_catalogs
from conexapi.core.errors import IntegrationError
from conexapi.erps.siigo.client import siigo_client
from conexapi.integrations import service as integrations
from conexapi.integrations import unmapped
from conexapi.messages import text, vendor_text
from conexapi.sync.unblock import resume_mapped_sales
from conexapi.web.actions import attempt, map_and_retry
from conexapi.web.auth import WebRoute, WebUserDep, redirect, verify_csrf
from conexapi.web.templating import render

router = APIRouter(prefix="/app/products", route_class=WebRoute)
PAGE = "/app/products"
NONE = ""  # the "do not map" choice


@router.get("", response_class=HTMLResponse)
async def products_page(
    request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    views = await integrations.list_integrations(session, tenant_id=user.tenant_id)
    context: dict[str, Any] = {"title": text("products.title"), "view": None, "skus": []}
    if views:
        view = views[0]
        context["view"] = view
        try:
            page = await unmapped.list_unmapped(
                session,
                runtime=runtime,
                tenant_id=user.tenant_id,
                integration_id=view.integration.id,
            )
            context["skus"] = page.items
            context["waiting_sales"] = sum(item.sales for item in page.items)
            context["create_products"] = page.create_products
            if page.create_products and page.items and user.can_edit:
                cid = view.integration.siigo_connection_id
                catalogs = await load_catalogs(session, siigo_client(runtime, cid), cid)
                context["taxes"] = [t for t in catalogs.taxes if t.active and t.type == "IVA"]
        except IntegrationError as exc:
            context["catalog_error"] = vendor_text(exc)
    return render(request, runtime, "products.html", context, user=user, nav="products")


@router.post("/map", dependencies=[Depends(verify_csrf)])
async def map_chosen(
    request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    """Maps every SKU of the form to its chosen product (`code-<n>`, or a code typed in
    `other-<n>`), then retries every sale waiting for them."""
    user.require(Role.ADMIN)
    form = await request.form()
    raw_id = str(form.get("integration_id") or "")
    integration_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else 0
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if not key.startswith("sku-"):
            continue
        n = key.removeprefix("sku-")
        code = str(form.get(f"other-{n}") or "").strip() or str(form.get(f"code-{n}") or "")
        if code.strip() != NONE:
            pairs.append((str(value), code.strip()))
    if not pairs:
        return redirect(PAGE, runtime, error=text("products.none_chosen"))
    mapped = await map_and_retry(
        session, runtime, tenant_id=user.tenant_id, integration_id=integration_id, pairs=pairs
    )
    if mapped.error:
        return redirect(PAGE, runtime, error=mapped.error)
    message = text("products.mapped_many", skus=len(mapped.saved), sales=mapped.retried)
    if mapped.refused:
        return redirect(PAGE, runtime, error=f"{message} {'; '.join(mapped.refused)}")
    return redirect(PAGE, runtime, ok=message)


@router.post("/create", dependencies=[Depends(verify_csrf)])
async def create_in_siigo(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    integration_id: Annotated[int, Form()],
    sku: Annotated[str, Form(min_length=1, max_length=120)],
    tax_id: Annotated[int, Form()],
) -> RedirectResponse:
    user.require(Role.ADMIN)
    created, error = await attempt(
        session,
        unmapped.create_product(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            integration_id=integration_id,
            sku=sku,
            tax_id=tax_id,
        ),
    )
    if created is None:
        return redirect(PAGE, runtime, error=error)
    code, name = created
    retried = await resume_mapped_sales(
        session, tenant_id=user.tenant_id, integration_id=integration_id
    )
    return redirect(
        PAGE, runtime, ok=text("products.created", code=code, name=name, sku=sku, sales=retried)
    )
