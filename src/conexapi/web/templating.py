"""`render`, which every page goes through: the signed-in context, CSRF, flash, headers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from conexapi.runtime import Runtime
from conexapi.web.auth import (
    FLASH_COOKIE,
    WebUser,
    csrf_token,
    pop_flash,
    set_csrf_cookie_if_new,
)
from conexapi.web.jinja import templates

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


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
