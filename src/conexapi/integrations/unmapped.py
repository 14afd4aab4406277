"""SKUs Siigo can't take: which sales wait for them, what to map them to, creating the product.

The engine records, for each sale that blocks on products, the SKUs it waits for with the item's
title (`record_unmapped`). The seller sees them grouped by SKU with the Siigo products proposed
for each (`proposals`), maps many at once (`mappings.put_mappings`) and the sales waiting for
them are retried automatically (`sync.unblock`). When the integration allows it, the product is
created in Siigo instead, with a code Siigo accepts, the item's title and the tax the seller
picks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import load_catalogs, load_products, remember_product
from conexapi.connections.known_products import record_checks
from conexapi.core.errors import Conflict, Unprocessable
from conexapi.db import utcnow
from conexapi.erps.siigo.client import siigo_client
from conexapi.erps.siigo.mapping import sanitize_text
from conexapi.integrations.api_schemas import (
    ProductProposalRead,
    UnmappedSkuPage,
    UnmappedSkuRead,
)
from conexapi.integrations.models import UnmappedSku
from conexapi.integrations.product_proposals import ProductIndex, clean_code
from conexapi.integrations.proposals import is_valid_code
from conexapi.integrations.repository import TenantIntegrations
from conexapi.integrations.service import get_integration, read_integration
from conexapi.runtime import Runtime
from conexapi.sales.settings import InvoicingSettings

MAX_LISTED = 200
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def record_unmapped(
    session: AsyncSession,
    *,
    tenant_id: int,
    integration_id: int,
    sale_id: int,
    titles: Mapping[str, str],
    since: datetime | None = None,
) -> None:
    """What one sale waits for now (SKU → item title), as known at `since` (default now),
    replacing what it waited for before; an empty `titles` means it waits for nothing any more.
    The caller commits."""
    await session.execute(delete(UnmappedSku).where(UnmappedSku.sale_id == sale_id))
    if not titles:
        return
    now = since or utcnow()
    await session.execute(
        insert(UnmappedSku),
        [
            {
                "tenant_id": tenant_id,
                "integration_id": integration_id,
                "sale_id": sale_id,
                "sku": sku[:120],
                "title": (title or "")[:200],
                "created_at": now,
            }
            for sku, title in sorted(titles.items())
        ],
    )


def safe_code(sku: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A product code Siigo accepts for `sku`: no spaces or quotes, only letters, digits, dot,
    dash and underscore, at most 30 characters, not already `taken` (a numbered end if so)."""
    base = _SAFE.sub("", clean_code(sku).upper())[:30] or "PRODUCTO"
    code, n = base, 2
    while code.casefold() in {t.casefold() for t in taken}:
        suffix = f"-{n}"
        code, n = base[: 30 - len(suffix)] + suffix, n + 1
    return code


async def list_unmapped(
    session: AsyncSession, *, runtime: Runtime, tenant_id: int, integration_id: int
) -> UnmappedSkuPage:
    """The SKUs sales wait for, most waited for first, each with its proposals."""
    view = await read_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    rows = (
        await session.execute(
            select(
                UnmappedSku.sku,
                func.max(UnmappedSku.title),
                func.count(func.distinct(UnmappedSku.sale_id)),
                func.min(UnmappedSku.created_at),
            )
            .where(UnmappedSku.tenant_id == tenant_id, UnmappedSku.integration_id == integration_id)
            .group_by(UnmappedSku.sku)
            .order_by(func.count(func.distinct(UnmappedSku.sale_id)).desc(), UnmappedSku.sku)
            .limit(MAX_LISTED)
        )
    ).all()
    items: list[UnmappedSkuRead] = []
    if rows:
        connection_id = view.integration.siigo_connection_id
        products = await load_products(session, siigo_client(runtime, connection_id), connection_id)
        index = ProductIndex(products.values())
        current = await TenantIntegrations(session, tenant_id).mappings_for(
            integration_id, [str(r[0]) for r in rows]
        )
        for sku, title, sales, since in rows:
            mapping = current.get(sku)
            items.append(
                UnmappedSkuRead(
                    sku=sku,
                    title=title or "",
                    sales=int(sales),
                    since=since,
                    current_code=mapping.erp_code if mapping is not None else None,
                    usable_as_code=is_valid_code(sku),
                    suggested_code=safe_code(sku, frozenset(products)),
                    proposals=[
                        ProductProposalRead(code=p.code, name=p.name, match=p.match, score=p.score)
                        for p in index.propose(sku, title or "")
                        if mapping is None or p.code != mapping.erp_code
                    ],
                )
            )
    return UnmappedSkuPage(items=items, create_products=view.settings.create_missing_products)


async def create_product(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    sku: str,
    tax_id: int,
    code: str | None = None,
    name: str | None = None,
) -> tuple[str, str]:
    """Creates the Siigo product for `sku` and maps the SKU to it: (code, name).

    Only when the integration allows it (`create_missing_products`). The name defaults to the
    item's title as the waiting sales show it; prices include IVA on MercadoLibre, so the product
    does too (`tax_included`); the account group is the company's first active one."""
    sku = sku.strip()
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    settings = InvoicingSettings.model_validate(integration.settings or {})
    if not settings.create_missing_products:
        raise Conflict(
            "This integration does not create products in Siigo; turn create_missing_products "
            "on, or create the product in Siigo and map the SKU to it.",
            code="product_creation_disabled",
        )
    connection_id = integration.siigo_connection_id
    client = siigo_client(runtime, connection_id)
    catalogs = await load_catalogs(session, client, connection_id)
    tax = catalogs.tax(tax_id)
    if tax is None or not tax.active:
        raise Unprocessable(
            f"Unknown or inactive tax {tax_id} in this Siigo company.",
            code="invalid_tax",
            details={"tax_id": tax_id},
        )
    groups = catalogs.active_account_groups()
    if not groups:
        raise Unprocessable(
            "The Siigo company has no active account group (inventory category) to create "
            "products in.",
            code="no_account_group",
        )
    products = await load_products(session, client, connection_id)
    code = (code or "").strip() or safe_code(sku, frozenset(products))
    if not is_valid_code(code):
        raise Unprocessable(
            "Siigo product codes have at most 30 characters and no spaces or quotes.",
            code="invalid_erp_code",
            details={"erp_code": code},
        )
    title = name or await _title_of(session, integration_id, sku) or sku
    product_name = sanitize_text(title, 100) or code
    body = {
        "code": code,
        "name": product_name,
        "account_group": groups[0].id,
        "type": "Product",
        "stock_control": False,
        "active": True,
        "tax_classification": "Taxed",
        "tax_included": True,
        "taxes": [{"id": tax_id}],
        "unit": "94",
        "reference": sku[:80],
    }
    product = await client.create_product(body)
    await remember_product(session, connection_id, product)
    await record_checks(session, connection_id, active=[str(product.get("code") or code)])
    await TenantIntegrations(session, tenant_id).upsert_mapping(integration_id, sku, code)
    await session.flush()
    return code, product_name


async def _title_of(session: AsyncSession, integration_id: int, sku: str) -> str | None:
    title = (
        await session.execute(
            select(func.max(UnmappedSku.title)).where(
                UnmappedSku.integration_id == integration_id, UnmappedSku.sku == sku
            )
        )
    ).scalar_one_or_none()
    return str(title) if title else None
