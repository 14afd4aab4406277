"""Sign-in, sign-out, the overview, alerts (with their delivery settings) and users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conexapi.accounts.models import Role
from conexapi.accounts.service import (
    add_user,
    authenticate,
    list_users,
    sign_out_everywhere,
    update_user,
)
from conexapi.accounts.throttle import ThrottlePolicy
from conexapi.alerts import service as alerts
from conexapi.alerts.delivery import url_resolver
from conexapi.api.deps import RuntimeDep, SessionDep, client_address
from conexapi.connections import service as connections
from conexapi.core.errors import AppError, TooManyRequests, Unauthorized
from conexapi.db import DbId
from conexapi.integrations import service as integrations
from conexapi.messages import error_text, text
from conexapi.operations import service as sales
from conexapi.operations.schemas import SaleFilter
from conexapi.reports import service as reports
from conexapi.sales.clock import colombia_today
from conexapi.web.auth import (
    WebRoute,
    WebUserDep,
    clear_session_cookie,
    redirect,
    session_token,
    set_session_cookie,
    verify_csrf,
)
from conexapi.web.pages_sales import backlog_banner
from conexapi.web.templating import render

router = APIRouter(prefix="/app", route_class=WebRoute)


def _safe_next(target: str | None) -> str:
    """Only our own dashboard paths: never another host (`//evil`, `https://...`)."""
    if target and target.startswith("/app") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, runtime: RuntimeDep, next: str = "/app") -> Response:
    token = session_token(request, runtime)
    if token:
        try:
            runtime.tokens.verify(token)
            return RedirectResponse(_safe_next(next), status_code=303)
        except Unauthorized:
            pass
    return render(
        request,
        runtime,
        "login.html",
        {"title": "Iniciar sesión", "next": _safe_next(next), "email": "", "error": None},
        user=None,
    )


@router.post("/login", dependencies=[Depends(verify_csrf)], response_model=None)
async def login(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=500)] = "/app",
) -> Response:
    settings = runtime.settings
    try:
        user = await authenticate(
            session,
            runtime.sessions,
            email=email,
            password=password,
            address=client_address(request, settings.forwarded_allow_ips),
            policy=ThrottlePolicy(settings.login_max_failures, settings.login_lockout_seconds),
        )
    except (Unauthorized, TooManyRequests) as exc:
        if isinstance(exc, TooManyRequests):
            retry = (exc.details or {}).get("retry_after", 60)
            message = f"Demasiados intentos fallidos. Intente de nuevo en {retry} segundos."
        else:
            message = "Correo o contraseña incorrectos."
        return render(
            request,
            runtime,
            "login.html",
            {"title": "Iniciar sesión", "next": _safe_next(next), "email": email, "error": message},
            user=None,
            status_code=exc.status_code,
        )
    token = runtime.tokens.issue(
        user_id=user.id, tenant_id=user.tenant_id, role=user.role, version=user.token_version
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, runtime, token)
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
async def logout() -> RedirectResponse:
    response = RedirectResponse("/app/login", status_code=303)
    clear_session_cookie(response)
    return response


PERIODS = {"hoy": 0, "7": 6, "30": 29}
PERIOD_LABELS = {"hoy": "Hoy", "7": "Últimos 7 días", "30": "Últimos 30 días"}


@router.post("/logout-everywhere", dependencies=[Depends(verify_csrf)])
async def logout_everywhere(
    user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    """Every session of this user (other browsers, API tokens) stops working at once."""
    await sign_out_everywhere(session, tenant_id=user.tenant_id, user_id=user.claims.user_id)
    response = redirect("/app/login", runtime, ok=text("users.signed_out_everywhere"))
    clear_session_cookie(response)
    return response


@router.get("", response_class=HTMLResponse)
async def home(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    periodo: Annotated[str, Query(max_length=5)] = "hoy",
) -> HTMLResponse:
    """Resumen opens on today: sales, invoiced, net, pending and what needs the seller."""
    if periodo not in PERIODS:
        periodo = "hoy"
    today = colombia_today()
    period = reports.DateRange(today - timedelta(days=PERIODS[periodo]), today)
    in_period = SaleFilter(date_from=period.date_from, date_to=period.date_to)
    page = await sales.list_sales(
        session, tenant_id=user.tenant_id, filters=in_period, page=1, page_size=8
    )
    profit = await reports.profit_totals(session, tenant_id=user.tenant_id, period=period)
    status = await sales.progress(
        session,
        tenant_id=user.tenant_id,
        sale_ids=[],
        now=datetime.now(UTC),
        requests_per_minute=runtime.settings.siigo_requests_per_minute,
    )
    conns = await connections.list_connections(session, tenant_id=user.tenant_id)
    views = await integrations.list_integrations(session, tenant_id=user.tenant_id)
    has_siigo = any(c.provider == "siigo" for c in conns)
    has_ml = any(c.provider == "mercadolibre" for c in conns)
    steps = [
        ("Conectar Siigo Nube", has_siigo, "/app/connections#siigo"),
        ("Conectar MercadoLibre", has_ml, "/app/connections#mercadolibre"),
        ("Crear la integración y revisar la configuración", bool(views), "/app/integration"),
    ]
    counts = page.counts
    span = f"date_from={period.date_from}&date_to={period.date_to}"
    return render(
        request,
        runtime,
        "home.html",
        {
            "title": "Resumen",
            "page": page,
            "profit": profit,
            "periodo": periodo,
            "periods": PERIOD_LABELS,
            "span": span,
            "pending": sum(counts.get(s, 0) for s in ("pending", "waiting", "retrying")),
            "attention": counts.get("needs_attention", 0),
            "dead": counts.get("dead", 0),
            "backlog_text": backlog_banner(status),
            "connections": conns,
            "views": views,
            "steps": steps,
            "setup_done": all(done for _, done, _ in steps),
            "total_all": sum(counts.values()),
        },
        user=user,
        nav="home",
    )


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    rows = await alerts.list_alerts(session, tenant_id=user.tenant_id, only_open=False, limit=100)
    settings = await alerts.get_settings(session, tenant_id=user.tenant_id)
    return render(
        request,
        runtime,
        "alerts.html",
        {
            "title": "Alertas",
            "alerts": rows,
            "settings": settings,
            "smtp_configured": runtime.settings.smtp is not None,
        },
        user=user,
        nav="alerts",
    )


@router.post("/alerts/settings", dependencies=[Depends(verify_csrf)])
async def save_alert_settings(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    webhook_url: Annotated[str, Form(max_length=500)] = "",
    email_to: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    user.require(Role.ADMIN)
    try:
        await alerts.save_settings(
            session,
            tenant_id=user.tenant_id,
            webhook_url=webhook_url,
            email_to=email_to,
            allow_private_urls=runtime.settings.allow_private_urls,
            resolver=url_resolver(runtime),
        )
    except AppError as exc:
        return redirect("/app/alerts", runtime, error=error_text(exc))
    return redirect("/app/alerts", runtime, ok="Destinos de las alertas guardados.")


@router.post("/alerts/scan", dependencies=[Depends(verify_csrf)])
async def scan_alerts(
    user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    n = await alerts.scan_tenant_alerts(session, tenant_id=user.tenant_id)
    return redirect("/app/alerts", runtime, ok=f"Revisión hecha: {n} alerta(s) abierta(s).")


@router.post("/alerts/{alert_id}/resolve", dependencies=[Depends(verify_csrf)])
async def resolve(
    alert_id: DbId, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> RedirectResponse:
    user.require(Role.ADMIN)
    await alerts.resolve_alert_by_id(session, tenant_id=user.tenant_id, alert_id=alert_id)
    return redirect("/app/alerts", runtime, ok="Alerta marcada como atendida.")


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request, user: WebUserDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    user.require(Role.OWNER)
    rows = await list_users(session, tenant_id=user.tenant_id)
    return render(
        request, runtime, "users.html", {"title": "Usuarios", "users": rows}, user=user, nav="users"
    )


@router.post("/users", dependencies=[Depends(verify_csrf)])
async def create_user(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(min_length=8, max_length=500)],
    role: Annotated[Role, Form()] = Role.VIEWER,
) -> RedirectResponse:
    user.require(Role.OWNER)
    try:
        await add_user(
            session, tenant_id=user.tenant_id, email=email.strip(), password=password, role=role
        )
    except AppError as exc:
        await session.rollback()
        return redirect("/app/users", runtime, error=error_text(exc))
    return redirect("/app/users", runtime, ok=f"Usuario {email.strip().lower()} creado.")


@router.post("/users/{user_id}", dependencies=[Depends(verify_csrf)])
async def change_user(
    user: WebUserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    user_id: DbId,
    role: Annotated[Role, Form()],
    is_active: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Role and active state of one user of the tenant (owners only); their sessions end."""
    user.require(Role.OWNER)
    try:
        changed = await update_user(
            session, tenant_id=user.tenant_id, user_id=user_id, role=role, is_active=is_active
        )
    except AppError as exc:
        await session.rollback()
        return redirect("/app/users", runtime, error=error_text(exc))
    return redirect("/app/users", runtime, ok=text("users.updated", email=changed.email))
