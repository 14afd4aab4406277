"""Everything the dashboard serves: `web_router` (pages under `/app`, `/` → `/app`) and the
static files directory (`STATIC_DIR`, mounted at `/app/static` by `create_app`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from conexapi.web import (
    pages_bulk,
    pages_connections,
    pages_doctor,
    pages_main,
    pages_products,
    pages_reports,
    pages_sales,
    pages_setup,
)

STATIC_DIR = Path(__file__).parent / "static"

web_router = APIRouter(include_in_schema=False)


@web_router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/app", status_code=307)


web_router.include_router(pages_main.router)
web_router.include_router(pages_bulk.router)  # before pages_sales: /bulk is not a sale id
web_router.include_router(pages_sales.router)
web_router.include_router(pages_connections.router)
web_router.include_router(pages_doctor.router)
web_router.include_router(pages_setup.router)
web_router.include_router(pages_products.router)
web_router.include_router(pages_reports.router)
