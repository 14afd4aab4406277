"""Conexiones: connect MercadoLibre (OAuth) and Siigo (credentials checked first), see each
connection's health, reconnect, refresh the Siigo catalogs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conexapi.accounts.models import Role
from conexapi.alerts.service import resolve_connection_alerts
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.connections import service as connections
from conexapi.connections.health import missing_permissions
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.connections.router import set_oauth_nonce_cookie
from conexapi.core.errors import AppError, IntegrationError
from conexapi.db import DbId
from conexapi.messages import error_text, vendor_text
from conexapi.messages import text as message
from conexapi.operations import service as operations
from conexapi.sales.clock import COLOMBIA
from conexapi.web.auth import WebRoute, WebUser, WebUserDep, redirect, verify_csrf
from conexapi.web.templating import render

router = APIRouter(prefix="/app", route_class=WebRoute)


# --- Conexiones -----------------------------------------------------------------------------


async def _connections_page(
    request: Request,
    user: WebUser,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    siigo_error: str | None = None,
    siigo_username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    conns = await connections.list_connections(session, tenant_id=user.tenant_id)
    connected = request.query_params.get("connected")
    return render(
        request,
        runtime,
        "connections.html",
        {
            "title": "Conexiones",
            "ml": [c for c in conns if c.provider == "mercadolibre"],
            "siigo": [c for c in conns if c.provider == "siigo"],
            "health": {c.id: _health(c) for c in conns},
            "connected": connected if connected in ("mercadolibre", "siigo") else None,
            "siigo_error": siigo_error,
            "siigo_username": siigo_username,
        },
        user=user,
        nav="connections",
        status_code=status_code,
    )


def _health(c: Connection) -> dict[str, Any]:
    """What the seller should worry about: status, and how soon the token runs out."""
    now = datetime.now(COLOMBIA)
    expires = c.token_expires_at
    tone, text = "ok", "Funcionando"
    if c.status == "needs_reauth":
        tone, text = "danger", "Necesita reconectarse"
    elif c.status == "needs_permission":
        tone, text = "danger", _permission_text(c)
    elif c.last_error_at and (c.last_success_at is None or c.last_error_at > c.last_success_at):
        tone, text = "warn", "Con errores recientes"
    elif c.provider == "mercadolibre" and expires is not None and expires < now:
        # ML access tokens last 6 h and are refreshed automatically by the worker.
        tone, text = "warn", "Token vencido: se renovará en la próxima sincronización"
    return {"tone": tone, "text": text, "permission_how": _permission_how(c)}


def _permission_names(c: Connection) -> str:
    return ", ".join(message(f"permission.{p}") for p in missing_permissions(c) or ["unknown"])


def _permission_text(c: Connection) -> str:
    return message("connection.needs_permission", permission=_permission_names(c))


def _permission_how(c: Connection) -> str | None:
    """Where the application's owner enables the missing permission (docs/vendors/mercadolibre.md
    §1.1)."""
    if c.status != "needs_permission":
        return None
    return message("connection.permission_how", permission=_permission_names(c))


@router.get("/connections", response_class=HTMLResponse)
async def connections_page(
    request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    return await _connections_page(request, user, session, runtime)


@router.post("/connections/mercadolibre", dependencies=[Depends(verify_csrf)])
async def connect_mercadolibre(
    user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    """Starts the OAuth consent: MercadoLibre sends the seller back to the API callback, which
    redirects here (`/app/connections?connected=mercadolibre`)."""
    user.require(Role.ADMIN)
    started = await connections.start_meli_authorization(
        session, runtime=runtime, tenant_id=user.tenant_id, user_id=user.claims.user_id
    )
    response = RedirectResponse(started.url, status_code=303)
    set_oauth_nonce_cookie(response, runtime, started.nonce)
    return response


@router.post("/connections/siigo", dependencies=[Depends(verify_csrf)], response_model=None)
async def connect_siigo(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    username: Annotated[str, Form(min_length=3, max_length=191)],
    access_key: Annotated[str, Form(min_length=1, max_length=1000)],
) -> Response:
    user.require(Role.ADMIN)
    try:
        connection = await connections.connect_siigo(
            session,
            runtime=runtime,
            tenant_id=user.tenant_id,
            username=username,
            access_key=access_key,
        )
    except (AppError, IntegrationError) as exc:
        await session.rollback()
        message = error_text(exc) if isinstance(exc, AppError) else vendor_text(exc)
        status = exc.status_code if isinstance(exc, AppError) else 502
        return await _connections_page(
            request,
            user,
            session,
            runtime,
            siigo_error=message,
            siigo_username=username,
            status_code=status,
        )
    if connection.status == ConnectionStatus.ACTIVE.value:
        await resolve_connection_alerts(
            session, tenant_id=user.tenant_id, connection_id=connection.id
        )
    return redirect("/app/connections", runtime, ok="Siigo Nube conectado: credenciales válidas.")


@router.post("/connections/{connection_id}/refresh-catalogs", dependencies=[Depends(verify_csrf)])
async def refresh_catalogs(
    connection_id: DbId, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    try:
        await connections.refresh_catalogs(
            session, runtime=runtime, tenant_id=user.tenant_id, connection_id=connection_id
        )
    except IntegrationError as exc:
        return redirect("/app/connections", runtime, error=vendor_text(exc))
    return redirect("/app/connections", runtime, ok="Catálogos de Siigo actualizados.")


@router.post("/connections/{connection_id}/resume", dependencies=[Depends(verify_csrf)])
async def resume_sending(
    connection_id: DbId, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    """ "Reanudar el envío a Siigo": a person lifts the breaker's pause (`sync.breaker`)."""
    user.require(Role.ADMIN)
    try:
        read = await operations.resume_sending(
            session,
            tenant_id=user.tenant_id,
            connection_id=connection_id,
            window_hours=runtime.settings.worker.breaker_window_hours,
        )
    except AppError as exc:
        return redirect("/app/connections", runtime, error=error_text(exc))
    await session.commit()
    return redirect("/app/connections", runtime, ok=message("breaker.resumed", count=read.resumed))
