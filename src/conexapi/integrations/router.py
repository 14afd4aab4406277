"""Integrations API: create (with proposed settings), read, change, product mappings, the SKUs
sales wait for (with proposals) and creating their products. Saving a mapping retries the sales
waiting for it (`sync.unblock`: this API layer sits above the engine)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.api.responses import NOT_FOUND, error_responses
from conexapi.core.errors import Unprocessable
from conexapi.db import DbId
from conexapi.integrations import mappings, service, unmapped
from conexapi.integrations.api_schemas import (
    BulkMappingReport,
    BulkMappingRequest,
    CreateProductReport,
    CreateProductRequest,
    GoLive,
    GoLiveResult,
    ImportReport,
    IntegrationCreate,
    IntegrationPatch,
    IntegrationRead,
    MappingCheckReport,
    MappingCheckRequest,
    ProductMappingPage,
    ProductMappingPut,
    ProductMappingRead,
    UnmappedSkuPage,
)
from conexapi.integrations.service import IntegrationView
from conexapi.sync import preview
from conexapi.sync.unblock import resume_after_settings, resume_mapped_sales

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])

_ERRORS = error_responses(
    {
        404: NOT_FOUND,
        409: "The MercadoLibre account already has an integration",
        422: "Invalid setting or wrong connection provider",
        502: "Siigo did not answer",
    }
)


def _read(view: IntegrationView) -> IntegrationRead:
    i = view.integration
    return IntegrationRead(
        id=i.id,
        mercadolibre_connection_id=i.ml_connection_id,
        siigo_connection_id=i.siigo_connection_id,
        active=i.active,
        preview=i.preview,
        settings=view.settings,
        proposals=view.proposals,
        missing=view.missing,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


@router.post("", response_model=IntegrationRead, status_code=201, responses=_ERRORS)
async def create_integration(
    body: IntegrationCreate, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> IntegrationRead:
    view = await service.create_integration(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        ml_connection_id=body.mercadolibre_connection_id,
        siigo_connection_id=body.siigo_connection_id,
        settings=body.settings,
        create_shipping_product=body.create_shipping_product,
    )
    if body.preview:
        await preview.set_preview(
            session, tenant_id=claims.tenant_id, integration_id=view.integration.id
        )
    return _read(view)


@router.get("", response_model=list[IntegrationRead])
async def list_integrations(claims: ClaimsDep, session: SessionDep) -> list[IntegrationRead]:
    return [_read(v) for v in await service.list_integrations(session, tenant_id=claims.tenant_id)]


@router.get("/{integration_id}", response_model=IntegrationRead, responses=_ERRORS)
async def get_integration(
    integration_id: DbId, claims: ClaimsDep, session: SessionDep
) -> IntegrationRead:
    view = await service.read_integration(
        session, tenant_id=claims.tenant_id, integration_id=integration_id
    )
    return _read(view)


@router.patch("/{integration_id}", response_model=IntegrationRead, responses=_ERRORS)
async def patch_integration(
    integration_id: DbId,
    body: IntegrationPatch,
    claims: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> IntegrationRead:
    view = await service.update_integration(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        changes=body.settings,
        active=body.active,
    )
    if body.settings:
        # The sales a setting may fix are due again, in this request's commit.
        await resume_after_settings(
            session,
            tenant_id=claims.tenant_id,
            integration_id=integration_id,
            changed=set(body.settings),
        )
    return _read(view)


@router.post("/{integration_id}/preview", response_model=IntegrationRead, responses=_ERRORS)
async def start_preview(
    integration_id: DbId, claims: AdminDep, session: SessionDep
) -> IntegrationRead:
    """Vista previa: from now on every invoice is built and kept on its sale (`preview` in the
    sale detail) and none is sent to Siigo."""
    await preview.set_preview(session, tenant_id=claims.tenant_id, integration_id=integration_id)
    view = await service.read_integration(
        session, tenant_id=claims.tenant_id, integration_id=integration_id
    )
    return _read(view)


@router.post("/{integration_id}/go-live", response_model=GoLiveResult, responses=_ERRORS)
async def go_live(
    integration_id: DbId, body: GoLive, claims: AdminDep, session: SessionDep
) -> GoLiveResult:
    """Leaves Vista previa: previewed sales from `invoice_from` (sale date, Colombia) are
    invoiced now; earlier ones are skipped with the reason `before_go_live`."""
    counts = await preview.go_live(
        session,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        invoice_from=body.invoice_from,
        user=f"usuario {claims.user_id}",
    )
    return GoLiveResult(**counts)


@router.get(
    "/{integration_id}/product-mappings", response_model=ProductMappingPage, responses=_ERRORS
)
async def list_product_mappings(
    integration_id: DbId,
    claims: ClaimsDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProductMappingPage:
    rows, total = await mappings.list_mappings(
        session,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        q=q,
        page=page,
        page_size=page_size,
    )
    return ProductMappingPage(
        items=[ProductMappingRead.model_validate(r) for r in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/{integration_id}/product-mappings/import", response_model=ImportReport, responses=_ERRORS
)
async def import_product_mappings(
    integration_id: DbId,
    request: Request,
    claims: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ImportReport:
    """CSV with header `sku,erp_code`: a multipart `file` field or a `text/csv` body. Each code
    must exist and be active in Siigo; sales waiting for the SKUs saved are retried."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:  # closes the spooled upload files
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise Unprocessable("Send the CSV in a form field named file.", code="csv_missing")
            content = await upload.read()
    else:
        content = await request.body()
    report = await mappings.import_mappings(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        content=content,
    )
    report.sales_retried = await _retry_waiting(session, claims.tenant_id, integration_id)
    return report


@router.post(
    "/{integration_id}/product-mappings/bulk", response_model=BulkMappingReport, responses=_ERRORS
)
async def bulk_product_mappings(
    integration_id: DbId,
    body: BulkMappingRequest,
    claims: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BulkMappingReport:
    """Maps many SKUs at once. Each code is checked against Siigo (it exists and is active);
    the refused ones are listed with the reason, the others saved. Every sale waiting for the
    SKUs saved is retried."""
    result = await mappings.put_mappings(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        pairs=[(m.sku, m.erp_code) for m in body.mappings],
    )
    retried = await _retry_waiting(session, claims.tenant_id, integration_id)
    return BulkMappingReport(saved=result.saved, rejected=result.rejected, sales_retried=retried)


@router.get("/{integration_id}/unmapped-skus", response_model=UnmappedSkuPage, responses=_ERRORS)
async def list_unmapped_skus(
    integration_id: DbId, claims: ClaimsDep, session: SessionDep, runtime: RuntimeDep
) -> UnmappedSkuPage:
    """The SKUs sales wait for (no usable Siigo product), most waited for first, each with the
    Siigo products proposed for it: exact code, code without spaces/quotes, reference or
    barcode, similar name."""
    return await unmapped.list_unmapped(
        session, runtime=runtime, tenant_id=claims.tenant_id, integration_id=integration_id
    )


@router.post(
    "/{integration_id}/unmapped-skus/create-product",
    response_model=CreateProductReport,
    status_code=201,
    responses=_ERRORS,
)
async def create_product_for_sku(
    integration_id: DbId,
    body: CreateProductRequest,
    claims: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> CreateProductReport:
    """Creates the Siigo product for a SKU (a code Siigo accepts, the item's title, the tax
    given) and maps the SKU to it; only when the integration's `create_missing_products` is on
    (409 `product_creation_disabled` otherwise). Sales waiting for the SKU are retried."""
    code, name = await unmapped.create_product(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        sku=body.sku,
        tax_id=body.tax_id,
        code=body.code,
        name=body.name,
    )
    retried = await _retry_waiting(session, claims.tenant_id, integration_id)
    return CreateProductReport(
        sku=body.sku.strip(), erp_code=code, product_name=name, sales_retried=retried
    )


async def _retry_waiting(session: SessionDep, tenant_id: int, integration_id: int) -> int:
    """The sales waiting for SKUs now all mapped are due again, in this request's commit."""
    return await resume_mapped_sales(session, tenant_id=tenant_id, integration_id=integration_id)


@router.post(
    "/{integration_id}/product-mappings/check",
    response_model=MappingCheckReport,
    responses=_ERRORS,
)
async def check_product_mappings(
    integration_id: DbId,
    claims: ClaimsDep,
    session: SessionDep,
    runtime: RuntimeDep,
    body: MappingCheckRequest | None = None,
) -> MappingCheckReport:
    body = body or MappingCheckRequest()
    return await mappings.check_mappings(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        skus=body.skus,
        refresh=body.refresh,
    )


@router.put(
    "/{integration_id}/product-mappings/{sku:path}",
    response_model=ProductMappingRead,
    responses=_ERRORS,
)
async def put_product_mapping(
    integration_id: DbId,
    sku: str,
    body: ProductMappingPut,
    claims: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ProductMappingRead:
    """Maps one SKU; the code must exist and be active in Siigo (422 `erp_code_not_found`,
    `erp_code_inactive`). Sales waiting for the SKU are retried."""
    mapping = await mappings.put_mapping(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        sku=sku,
        erp_code=body.erp_code,
    )
    await _retry_waiting(session, claims.tenant_id, integration_id)
    return ProductMappingRead.model_validate(mapping)


@router.delete("/{integration_id}/product-mappings/{sku:path}", status_code=204, responses=_ERRORS)
async def delete_product_mapping(
    integration_id: DbId, sku: str, claims: AdminDep, session: SessionDep
) -> Response:
    await mappings.delete_mapping(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, sku=sku
    )
    return Response(status_code=204)
