"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served from the package's own static files.

FastAPI's defaults load both from a CDN, so the docs were blank on a machine without internet.
The assets are vendored under `static/apidocs/` (swagger-ui-dist and redoc's standalone bundle,
licences alongside); see docs/dashboard.md for how to refresh them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS = "/app/static/apidocs"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} · API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} · API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url="data:,",
        with_google_fonts=False,
    )
