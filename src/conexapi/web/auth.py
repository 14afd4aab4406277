"""Sign-in by cookie, CSRF for every form, role checks, and HTML errors for the dashboard.

- The session cookie holds the same JWT as the API (`runtime.tokens`), HttpOnly, SameSite=Lax,
  Secure and `__Host-`-prefixed when the public URL is https (`security.cookies`).
- CSRF: a random nonce in an HttpOnly cookie plus, in each form, the nonce signed by the server
  together with a hash of the session cookie (`csrf_token`); a POST passes only when the
  signature is ours, the nonce matches the cookie and the session is the one the form was
  rendered for (a token taken from another session, or from before signing in, is refused).
  Every unsafe request must also come from our own origin: `Origin` (or, without it,
  `Referer`) must be the public URL's origin or the request's own. A cross-site form can neither
  read the cookies, forge the signature nor send our origin.
- `WebRoute` turns errors into pages: "sign in first" into a redirect to the sign-in form, an
  `AppError` into a Spanish error page with its status code, a database that is away (a
  restart) into a 503 page that asks to try again in a few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jwt
import structlog
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from conexapi.accounts.models import Role
from conexapi.accounts.service import get_me
from conexapi.alerts.models import Alert
from conexapi.alerts.service import list_alerts
from conexapi.api import outage
from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.core.errors import AppError, Forbidden, Unauthorized
from conexapi.db import is_database_unavailable
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.security.cookies import SESSION_COOKIE, cookie_name, is_secure
from conexapi.security.tokens import TokenClaims
from conexapi.web.jinja import templates

log = structlog.get_logger("conexapi.web")

CSRF_COOKIE = "conexapi_csrf"
FLASH_COOKIE = "conexapi_flash"
CSRF_PURPOSE = "csrf"
FLASH_PURPOSE = "flash"
CSRF_TTL_SECONDS = 12 * 3600


class LoginRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


@dataclass
class WebUser:
    claims: TokenClaims
    email: str
    tenant_name: str
    alerts: list[Alert] = field(default_factory=list)

    @property
    def role(self) -> Role:
        return Role(self.claims.role)

    @property
    def tenant_id(self) -> int:
        return self.claims.tenant_id

    @property
    def can_edit(self) -> bool:
        return self.role.rank >= Role.ADMIN.rank

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    @property
    def actor(self) -> str:
        return self.email

    def require(self, minimum: Role) -> None:
        if self.role.rank < minimum.rank:
            labels = {Role.ADMIN: "administrador", Role.OWNER: "propietario"}
            raise Forbidden(
                f"Esta acción necesita el rol {labels.get(minimum, minimum.value)}.",
                code="insufficient_role",
            )


def _secure(runtime: Runtime) -> bool:
    return is_secure(runtime.settings.public_url)


def session_cookie_name(runtime: Runtime) -> str:
    return cookie_name(SESSION_COOKIE, runtime.settings.public_url)


def csrf_cookie_name(runtime: Runtime) -> str:
    return cookie_name(CSRF_COOKIE, runtime.settings.public_url)


def flash_cookie_name(runtime: Runtime) -> str:
    return cookie_name(FLASH_COOKIE, runtime.settings.public_url)


def session_token(request: Request, runtime: Runtime) -> str | None:
    return request.cookies.get(session_cookie_name(runtime))


def set_session_cookie(response: Response, runtime: Runtime, token: str) -> None:
    response.set_cookie(
        session_cookie_name(runtime),
        token,
        max_age=runtime.tokens.ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=_secure(runtime),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(f"__Host-{SESSION_COOKIE}", path="/", secure=True)


async def get_web_user(request: Request, runtime: RuntimeDep, session: SessionDep) -> WebUser:
    token = session_token(request, runtime)
    if not token:
        raise LoginRequired
    try:
        claims = runtime.tokens.verify(token)
        user, tenant = await get_me(session, tenant_id=claims.tenant_id, user_id=claims.user_id)
    except Unauthorized as exc:
        raise LoginRequired from exc
    # The role may have changed since the token was issued: the database is the authority.
    claims = TokenClaims(user_id=user.id, tenant_id=tenant.id, role=user.role)
    alerts = await list_alerts(session, tenant_id=tenant.id, only_open=True, limit=10)
    return WebUser(claims=claims, email=user.email, tenant_name=tenant.name, alerts=alerts)


WebUserDep = Annotated[WebUser, Depends(get_web_user)]


# --- CSRF -----------------------------------------------------------------------------------


def csrf_nonce(request: Request, runtime: Runtime) -> tuple[str, bool]:
    """The request's CSRF nonce and whether it is new (then the response must set it)."""
    existing = request.cookies.get(csrf_cookie_name(runtime))
    if existing and 16 <= len(existing) <= 64:
        return existing, False
    cached = getattr(request.state, "csrf_nonce", None)
    if isinstance(cached, str):
        return cached, True
    nonce = secrets.token_urlsafe(24)
    request.state.csrf_nonce = nonce
    return nonce, True


def _session_binding(request: Request, runtime: Runtime) -> str:
    """What ties a CSRF token to the session it was rendered for: a hash of the session
    cookie ("" without one, e.g. the sign-in form)."""
    token = session_token(request, runtime)
    if not token:
        return ""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def csrf_token(request: Request, runtime: Runtime) -> str:
    nonce, _ = csrf_nonce(request, runtime)
    return runtime.tokens.sign(
        CSRF_PURPOSE, {"n": nonce, "s": _session_binding(request, runtime)}, CSRF_TTL_SECONDS
    )


def set_csrf_cookie_if_new(request: Request, response: Response, runtime: Runtime) -> None:
    nonce, new = csrf_nonce(request, runtime)
    if new:
        response.set_cookie(
            csrf_cookie_name(runtime),
            nonce,
            max_age=CSRF_TTL_SECONDS,
            httponly=True,
            samesite="lax",
            secure=_secure(runtime),
            path="/",
        )


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request, runtime: Runtime) -> bool:
    """`Origin` (or `Referer` when a browser sends no Origin) is ours: the public URL's origin,
    or the origin the request itself was sent to. Neither header: refused (every browser sends
    Origin on a POST)."""
    sent = request.headers.get("origin")
    if sent is None or sent == "null":
        referer = request.headers.get("referer")
        sent = _origin_of(referer) if referer else None
    if not sent:
        return False
    ours = {_origin_of(runtime.settings.public_url), _origin_of(str(request.base_url))}
    return sent.lower().rstrip("/") in ours


def _csrf_failed() -> Forbidden:
    return Forbidden(
        "El formulario caducó o no viene de ConexAPI. Recargue la página e intente de nuevo.",
        code="csrf_failed",
    )


async def verify_csrf(request: Request, runtime: RuntimeDep) -> None:
    """Every dashboard POST depends on this (tests/web/test_csrf.py checks every route)."""
    if not same_origin(request, runtime):
        log.warning("web.csrf_origin_refused", path=request.url.path)
        raise _csrf_failed()
    form = await request.form()
    sent = form.get("csrf_token")
    cookie = request.cookies.get(csrf_cookie_name(runtime))
    if not isinstance(sent, str) or not cookie:
        raise _csrf_failed()
    try:
        payload = runtime.tokens.unsign(CSRF_PURPOSE, sent)
    except jwt.InvalidTokenError as exc:
        raise _csrf_failed() from exc
    if not hmac.compare_digest(str(payload.get("n", "")), cookie):
        raise _csrf_failed()
    if not hmac.compare_digest(str(payload.get("s", "")), _session_binding(request, runtime)):
        raise _csrf_failed()


CsrfDep = Depends(verify_csrf)


# --- flash messages -------------------------------------------------------------------------


def redirect(
    url: str, runtime: Runtime, *, ok: str | None = None, error: str | None = None
) -> RedirectResponse:
    """303 to `url`, carrying a one-time message in a short-lived signed cookie."""
    response = RedirectResponse(url, status_code=303)
    if ok or error:
        value = runtime.tokens.sign(
            FLASH_PURPOSE, {"k": "ok" if ok else "error", "m": (ok or error or "")[:500]}, 120
        )
        response.set_cookie(
            flash_cookie_name(runtime),
            value,
            max_age=120,
            httponly=True,
            samesite="lax",
            secure=_secure(runtime),
            path="/",
        )
    return response


def pop_flash(request: Request, runtime: Runtime) -> dict[str, str] | None:
    raw = request.cookies.get(flash_cookie_name(runtime))
    if not raw:
        return None
    try:
        payload = runtime.tokens.unsign(FLASH_PURPOSE, raw)
    except jwt.InvalidTokenError:
        return None
    request.state.flash_consumed = True
    return {"kind": str(payload.get("k", "ok")), "message": str(payload.get("m", ""))}


# --- errors as pages ------------------------------------------------------------------------

ERROR_TITLES = {
    400: "No se pudo completar",
    401: "Inicie sesión",
    403: "Sin permiso",
    404: "No encontrado",
    409: "No se puede hacer ahora",
    422: "Revise los datos",
    429: "Demasiados intentos",
    503: "Un momento, por favor",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get(
        "accept", ""
    )


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                if _wants_json(request):
                    return JSONResponse(
                        {"code": "not_authenticated", "message": "Inicie sesión."},
                        status_code=401,
                    )
                target = request.url.path
                if request.url.query and request.method == "GET":
                    target += "?" + request.url.query
                response = RedirectResponse(
                    f"/app/login?next={quote(target, safe='')}", status_code=303
                )
                clear_session_cookie(response)
                return response
            except AppError as exc:
                return _error_page(request, exc.status_code, exc.message, exc.code)
            except outage.DATABASE_ERRORS as exc:
                if not is_database_unavailable(exc):
                    raise
                page = _error_page(request, 503, text(outage.CODE), outage.CODE)
                page.headers.update(outage.outage_headers())
                return page
            except RequestValidationError as exc:
                errors = exc.errors()
                first = errors[0] if errors else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
                message = f"Dato no válido: {where or 'formulario'} ({first.get('msg', '')})."
                return _error_page(request, 422, message, "validation_error")

        return handler


def _error_page(request: Request, status: int, message: str, code: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"code": code, "message": message}, status_code=status)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": ERROR_TITLES.get(status, "Algo salió mal"),
            "message": message,
            "code": code,
            "status": status,
            "user": None,
            "flash": None,
            "csrf": "",
            "nav": "",
        },
        status_code=status,
    )
