"""Integrations API: create (with proposed settings), read, change, product mappings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.api.responses import NOT_FOUND, error_responses
from conexapi.core.errors import Unprocessable
from conexapi.integrations import mappings, service
from conexapi.integrations.api_schemas import (
    ImportReport,
    IntegrationCreate,
    IntegrationPatch,
    IntegrationRead,
    MappingCheckReport,
    MappingCheckRequest,
    ProductMappingPage,
    ProductMappingPut,
    ProductMappingRead,
)
from conexapi.integrations.service import IntegrationView

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
    return _read(view)


@router.get("", response_model=list[IntegrationRead])
async def list_integrations(claims: ClaimsDep, session: SessionDep) -> list[IntegrationRead]:
    return [_read(v) for v in await service.list_integrations(session, tenant_id=claims.tenant_id)]


@router.get("/{integration_id}", response_model=IntegrationRead, responses=_ERRORS)
async def get_integration(
    integration_id: int, claims: ClaimsDep, session: SessionDep
) -> IntegrationRead:
    view = await service.read_integration(
        session, tenant_id=claims.tenant_id, integration_id=integration_id
    )
    return _read(view)


@router.patch("/{integration_id}", response_model=IntegrationRead, responses=_ERRORS)
async def patch_integration(
    integration_id: int,
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
    return _read(view)


@router.get(
    "/{integration_id}/product-mappings", response_model=ProductMappingPage, responses=_ERRORS
)
async def list_product_mappings(
    integration_id: int,
    claims: ClaimsDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
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
    integration_id: int, request: Request, claims: AdminDep, session: SessionDep
) -> ImportReport:
    """CSV with header `sku,erp_code`: a multipart `file` field or a `text/csv` body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:  # closes the spooled upload files
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise Unprocessable("Send the CSV in a form field named file.", code="csv_missing")
            content = await upload.read()
    else:
        content = await request.body()
    return await mappings.import_mappings(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, content=content
    )


@router.post(
    "/{integration_id}/product-mappings/check",
    response_model=MappingCheckReport,
    responses=_ERRORS,
)
async def check_product_mappings(
    integration_id: int,
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
    integration_id: int,
    sku: str,
    body: ProductMappingPut,
    claims: AdminDep,
    session: SessionDep,
) -> ProductMappingRead:
    mapping = await mappings.put_mapping(
        session,
        tenant_id=claims.tenant_id,
        integration_id=integration_id,
        sku=sku,
        erp_code=body.erp_code,
    )
    return ProductMappingRead.model_validate(mapping)


@router.delete("/{integration_id}/product-mappings/{sku:path}", status_code=204, responses=_ERRORS)
async def delete_product_mapping(
    integration_id: int, sku: str, claims: AdminDep, session: SessionDep
) -> Response:
    await mappings.delete_mapping(
        session, tenant_id=claims.tenant_id, integration_id=integration_id, sku=sku
    )
    return Response(status_code=204)
