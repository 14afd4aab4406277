"""Security headers on every response the service gives, errors and the webhook included.

A pure ASGI layer around the whole app, so nothing (an error page, a 404 from routing, a 413, a
503 during a database outage) answers without them; the webhook's fast path, outermost for
speed, sends the same list itself (`security_headers`, computed once):

- `Content-Security-Policy`: our own scripts and styles only, no plugins, no `<base>`, and
  `frame-ancestors 'none'` (no framing: clickjacking). The interactive API docs load Swagger UI
  and ReDoc from their CDN, so those two pages get a policy that allows it.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`
  (for browsers that ignore frame-ancestors).
- `Strict-Transport-Security` when the service is served over https.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# No `form-action`: browsers apply it to the redirect after a form too, and "Conectar
# MercadoLibre" posts to us and is redirected to MercadoLibre's consent page.
# FastAPI's /docs and /redoc pages: an inline bootstrap script and the CDN's bundles.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
    "https://fonts.googleapis.com; font-src https://fonts.gstatic.com; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000"


def security_headers(*, https: bool, docs: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", (DOCS_CSP if docs else CSP).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self._plain = security_headers(https=https)
        self._docs = security_headers(https=https, docs=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in DOCS_PATHS else self._plain

        async def send_with_headers(message: Message) -> None:
            # Appended, not merged: nothing below sets these headers (one place decides them),
            # and the webhook's hot path pays a few microseconds at most.
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
