"""The Jinja2 environment (autoescaped) and `render`, which every page goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from conexapi import __version__
from conexapi.runtime import Runtime
from conexapi.web.auth import (
    FLASH_COOKIE,
    WebUser,
    csrf_token,
    pop_flash,
    set_csrf_cookie_if_new,
)
from conexapi.web.format import FILTERS, STATE_LABELS, STATE_ORDER

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(FILTERS)
templates.env.globals.update(
    {"STATE_LABELS": STATE_LABELS, "STATE_ORDER": STATE_ORDER, "version": __version__}
)


def render(
    request: Request,
    runtime: Runtime,
    name: str,
    context: dict[str, Any],
    *,
    user: WebUser | None,
    nav: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    flash = pop_flash(request, runtime)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "nav": nav,
            "flash": flash,
            "csrf": csrf_token(request, runtime),
            **context,
        },
        status_code=status_code,
    )
    set_csrf_cookie_if_new(request, response, runtime)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(SECURITY_HEADERS)
    return response
