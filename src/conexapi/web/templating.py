"""`render`, which every page goes through: the signed-in context, CSRF, flash, headers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from conexapi.runtime import Runtime
from conexapi.web.auth import (
    WebUser,
    csrf_token,
    flash_cookie_name,
    pop_flash,
    set_csrf_cookie_if_new,
)
from conexapi.web.jinja import templates


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
        response.delete_cookie(
            flash_cookie_name(runtime),
            path="/",
            secure=runtime.settings.public_url.startswith("https://"),
        )
    response.headers["Cache-Control"] = "no-store"  # security headers: core.security_headers
    return response
