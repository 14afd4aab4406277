"""Verificar configuración: the checks of `conexapi doctor`, in Spanish, each ok or a problem with
how to fix it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from conexapi.accounts.models import Role
from conexapi.api.deps import RuntimeDep
from conexapi.doctor import problems, run_checks
from conexapi.messages import text
from conexapi.web.auth import WebRoute, WebUserDep
from conexapi.web.templating import render

router = APIRouter(prefix="/app", route_class=WebRoute)


@router.get("/doctor", response_class=HTMLResponse)
async def doctor_page(request: Request, user: WebUserDep, runtime: RuntimeDep) -> HTMLResponse:
    """Makes real calls to MercadoLibre and Siigo each time it is opened (a few per account of
    this tenant, never another's), so it is for administrators: a viewer can't cause vendor
    calls."""
    user.require(Role.ADMIN)
    findings = await run_checks(runtime, tenant_id=user.tenant_id)
    return render(
        request,
        runtime,
        "doctor.html",
        {
            "title": text("doctor.title"),
            "findings": findings,
            "problems": len(problems(findings)),
        },
        user=user,
        nav="connections",
    )
