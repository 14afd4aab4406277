"""Connections API: Siigo credentials, MercadoLibre OAuth, connection health, catalogs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.api.responses import NOT_FOUND, error_responses
from conexapi.connections import service
from conexapi.connections.schemas import (
    AuthorizeResponse,
    CatalogsSummary,
    ConnectionRead,
    SiigoConnect,
)
from conexapi.db import DbId

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])

_ERRORS = error_responses(
    {
        400: "Invalid credentials or OAuth state",
        404: NOT_FOUND,
        409: "Already connected to another account",
        422: "Not supported",
        502: "The vendor did not answer",
    }
)


@router.post("/siigo", response_model=ConnectionRead, status_code=201, responses=_ERRORS)
async def connect_siigo(
    body: SiigoConnect, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> ConnectionRead:
    connection = await service.connect_siigo(
        session,
        runtime=runtime,
        tenant_id=claims.tenant_id,
        username=body.username,
        access_key=body.access_key,
    )
    return ConnectionRead.model_validate(connection)


@router.get("/mercadolibre/authorize", response_model=AuthorizeResponse)
async def authorize_mercadolibre(
    claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> AuthorizeResponse:
    url = await service.start_meli_authorization(
        session, runtime=runtime, tenant_id=claims.tenant_id, user_id=claims.user_id
    )
    return AuthorizeResponse(authorization_url=url)


@router.get("/mercadolibre/callback", responses=_ERRORS, response_model=None)
async def mercadolibre_callback(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    code: Annotated[str, Query(min_length=1, max_length=500)],
    state: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    """Where MercadoLibre sends the seller back; the signed `state` identifies the tenant."""
    connection = await service.complete_meli_authorization(
        session, runtime=runtime, code=code, state=state
    )
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/app/connections?connected=mercadolibre", status_code=303)
    body = ConnectionRead.model_validate(connection).model_dump(mode="json")
    return JSONResponse(body, status_code=200)


@router.get("", response_model=list[ConnectionRead])
async def list_connections(claims: ClaimsDep, session: SessionDep) -> list[ConnectionRead]:
    rows = await service.list_connections(session, tenant_id=claims.tenant_id)
    return [ConnectionRead.model_validate(c) for c in rows]


@router.get("/{connection_id}", response_model=ConnectionRead, responses=_ERRORS)
async def get_connection(
    connection_id: DbId, claims: ClaimsDep, session: SessionDep
) -> ConnectionRead:
    connection = await service.get_connection(
        session, tenant_id=claims.tenant_id, connection_id=connection_id
    )
    return ConnectionRead.model_validate(connection)


@router.post("/{connection_id}/refresh-catalogs", response_model=CatalogsSummary, responses=_ERRORS)
async def refresh_catalogs(
    connection_id: DbId, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> CatalogsSummary:
    return await service.refresh_catalogs(
        session, runtime=runtime, tenant_id=claims.tenant_id, connection_id=connection_id
    )
