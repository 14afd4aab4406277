"""Helpers for the dashboard tests: sign in through the form, seed sales and documents."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from conexapi.db import transaction
from conexapi.runtime import Runtime
from conexapi.sync.models import Document, Sale, SaleEvent
from tests.builders import create_integration

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def web_login(client: httpx.AsyncClient, email: str, password: str = "s3cret-pass") -> str:
    """Signs in through the form; returns a CSRF token valid for the next forms."""
    page = await client.get("/app/login")
    assert page.status_code == 200
    response = await client.post(
        "/app/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/app"
    home = await client.get("/app")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


async def seed_sales(runtime: Runtime, tenant_id: int) -> dict[str, int]:
    """An integration with an invoiced sale, a needs_attention one (unmapped SKU) and a dead one."""
    now = datetime.now(UTC)
    async with transaction(runtime.sessions) as session:
        integration = await create_integration(
            session, tenant_id, seller_id=f"77{tenant_id}", siigo_account=f"s{tenant_id}@x.co"
        )
        sale = _sale_maker(tenant_id, integration.id)
        invoiced = sale(
            "2000001",
            "invoiced",
            "129700",
            "Ana Gómez",
            now - timedelta(hours=2),
            facts={"statuses": ["paid"], "total_paid": "129700", "lines": []},
            profit={
                "total": "129700",
                "iva": "20708.40",
                "comision": "15564",
                "envio_vendedor": "9500",
                "devuelto": "0",
                "neto": "83927.60",
            },
        )
        attention = sale(
            "2000002",
            "needs_attention",
            "45000",
            "Luis Pérez",
            now - timedelta(hours=1),
            error_code="unmapped_products",
            error_message="El SKU ZZ-404 no está asociado a un producto de Siigo.",
            facts={"statuses": ["paid"], "total_paid": "45000", "lines": [{"sku": "ZZ-404"}]},
        )
        dead = sale(
            "2000003",
            "dead",
            "10000",
            '=HYPERLINK("x")',
            now - timedelta(minutes=30),
            error_code="siigo_unavailable",
            error_message="Siigo no respondió.",
            facts={"statuses": ["paid"], "total_paid": "10000"},
        )
        session.add_all([invoiced, attention, dead])
        await session.flush()
        session.add(
            Document(
                tenant_id=tenant_id,
                sale_id=invoiced.id,
                kind="invoice",
                seq=1,
                idempotency_key=f"K{tenant_id}X{invoiced.id}",
                status="issued",
                erp_id="abc",
                number="FV-1-77",
                total=Decimal("129700"),
                stamp_status="Accepted",
                public_url="https://siigo.example/fv/77",
                breakdown=_breakdown(),
            )
        )
        session.add(
            SaleEvent(
                tenant_id=tenant_id,
                sale_id=attention.id,
                kind="needs_attention",
                message="Producto sin equivalente en Siigo: ZZ-404.",
                data={"skus": ["ZZ-404"]},
                created_at=now,
            )
        )
        ids = {
            "integration": integration.id,
            "invoiced": invoiced.id,
            "attention": attention.id,
            "dead": dead.id,
        }
    return ids


def _sale_maker(tenant_id: int, integration_id: int) -> Callable[..., Sale]:
    """A builder of the integration's one-order sales: reference, state, total, buyer, date."""

    def sale(
        external_id: str, state: str, total: str, buyer: str, when: datetime, **extra: Any
    ) -> Sale:
        return Sale(
            tenant_id=tenant_id,
            integration_id=integration_id,
            external_id=external_id,
            order_ids=[external_id],
            state=state,
            total=Decimal(total),
            buyer_name=buyer,
            sale_date=when,
            **extra,
        )

    return sale


def _breakdown() -> dict[str, Any]:
    return {
        "lineas": [
            {
                "concepto": "Audífonos",
                "codigo": "SKU-001",
                "cantidad": "1",
                "precio_unitario_con_iva": "119700",
                "precio_unitario": "100588.24",
                "base": "100588.24",
                "iva": "19111.76",
                "total": "119700.00",
            },
            {
                "concepto": "Envío",
                "codigo": "ENVIOML",
                "cantidad": "1",
                "precio_unitario_con_iva": "10000",
                "precio_unitario": "8403.36",
                "base": "8403.36",
                "iva": "1596.64",
                "total": "10000.00",
            },
        ],
        "subtotal": "108991.60",
        "iva": "20708.40",
        "total": "129700.00",
        "total_mercadolibre": "129700.00",
        "diferencia": "0.00",
        "advertencias": [],
        "order_ids": ["2000001"],
    }
