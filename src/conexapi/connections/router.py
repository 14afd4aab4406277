"""Connections API: Siigo credentials, MercadoLibre OAuth, connection health, catalogs."""

from __future__ import annotations

import html
from typing import Annotated

import jwt
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from conexapi.api.deps import AdminDep, ClaimsDep, RuntimeDep, SessionDep
from conexapi.api.responses import NOT_FOUND, error_responses
from conexapi.connections import service
from conexapi.connections.schemas import (
    AuthorizeResponse,
    CatalogsSummary,
    ConnectionRead,
    SiigoConnect,
)
from conexapi.core.errors import AppError
from conexapi.messages import error_text, text
from conexapi.runtime import Runtime
from conexapi.security.cookies import SESSION_COOKIE, cookie_name, is_secure

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


def set_oauth_nonce_cookie(response: Response, runtime: Runtime, nonce: str) -> None:
    """The initiating browser's half of the OAuth binding: HttpOnly, SameSite=Lax (sent on
    MercadoLibre's top-level redirect back to the callback), as long as the state lives."""
    response.set_cookie(
        cookie_name(service.OAUTH_NONCE_COOKIE, runtime.settings.public_url),
        nonce,
        max_age=int(service.STATE_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_secure(runtime.settings.public_url),
        path="/",
    )


@router.get("/mercadolibre/authorize", response_model=AuthorizeResponse)
async def authorize_mercadolibre(
    response: Response, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> AuthorizeResponse:
    """The consent URL; the answer also sets the HttpOnly nonce cookie the callback requires,
    so the consent must be completed by this same client."""
    started = await service.start_meli_authorization(
        session, runtime=runtime, tenant_id=claims.tenant_id, user_id=claims.user_id
    )
    set_oauth_nonce_cookie(response, runtime, started.nonce)
    return AuthorizeResponse(authorization_url=started.url)


def _session_user(request: Request, runtime: Runtime) -> int | None:
    """The user of the dashboard session this browser has, if it has a valid one."""
    token = request.cookies.get(cookie_name(SESSION_COOKIE, runtime.settings.public_url))
    if not token:
        return None
    try:
        return runtime.tokens.verify(token).user_id
    except (AppError, jwt.InvalidTokenError):
        return None


def _refused_page(exc: AppError) -> HTMLResponse:
    title = html.escape(text("web.oauth_failed_title"))
    message = html.escape(error_text(exc))
    body = (
        '<!doctype html><html lang="es-CO"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{message}</p>"
        '<p><a href="/app/connections">Ir a Conexiones</a></p></body></html>'
    )
    return HTMLResponse(body, status_code=exc.status_code, headers={"Cache-Control": "no-store"})


@router.get("/mercadolibre/callback", responses=_ERRORS, response_model=None)
async def mercadolibre_callback(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    code: Annotated[str, Query(min_length=1, max_length=500)],
    state: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    """Where MercadoLibre sends the seller back; the signed `state` identifies the tenant and the
    user, and only the browser that asked for the consent URL (its nonce cookie) completes it."""
    wants_html = "text/html" in request.headers.get("accept", "")
    nonce_cookie = cookie_name(service.OAUTH_NONCE_COOKIE, runtime.settings.public_url)
    try:
        connection = await service.complete_meli_authorization(
            session,
            runtime=runtime,
            code=code,
            state=state,
            nonce=request.cookies.get(nonce_cookie),
            session_user_id=_session_user(request, runtime),
        )
    except AppError as exc:
        if wants_html:
            return _refused_page(exc)
        raise
    if wants_html:
        done: Response = RedirectResponse(
            "/app/connections?connected=mercadolibre", status_code=303
        )
        done.delete_cookie(nonce_cookie, path="/")
        return done
    body = ConnectionRead.model_validate(connection).model_dump(mode="json")
    answer = JSONResponse(body, status_code=200)
    answer.delete_cookie(nonce_cookie, path="/")
    return answer


@router.get("", response_model=list[ConnectionRead])
async def list_connections(claims: ClaimsDep, session: SessionDep) -> list[ConnectionRead]:
    rows = await service.list_connections(session, tenant_id=claims.tenant_id)
    return [ConnectionRead.model_validate(c) for c in rows]


@router.get("/{connection_id}", response_model=ConnectionRead, responses=_ERRORS)
async def get_connection(
    connection_id: int, claims: ClaimsDep, session: SessionDep
) -> ConnectionRead:
    connection = await service.get_connection(
        session, tenant_id=claims.tenant_id, connection_id=connection_id
    )
    return ConnectionRead.model_validate(connection)


@router.post("/{connection_id}/refresh-catalogs", response_model=CatalogsSummary, responses=_ERRORS)
async def refresh_catalogs(
    connection_id: int, claims: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> CatalogsSummary:
    return await service.refresh_catalogs(
        session, runtime=runtime, tenant_id=claims.tenant_id, connection_id=connection_id
    )
