"""Product mappings: MercadoLibre SKU (or item + variation) → Siigo product code.

Listed, set one by one or imported from a CSV with a line-by-line report, checked against Siigo
(positives shared with the workers through `known_product`), and resolved for each sale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import (
    load_products_at,
)
from conexapi.connections.known_products import (
    CHECK_SECONDS,
    is_active,
    product_checks,
    record_checks,
)
from conexapi.core.errors import NotFound, PermanentError, Unprocessable
from conexapi.db import utcnow
from conexapi.erps.siigo.client import siigo_client
from conexapi.erps.siigo.documents.taxes import ProductTaxes, product_taxes
from conexapi.integrations.api_schemas import (
    ImportReport,
    MappingCheckItem,
    MappingCheckReport,
    RejectedLine,
)
from conexapi.integrations.models import ProductMapping
from conexapi.integrations.proposals import is_valid_code
from conexapi.integrations.repository import TenantIntegrations, mapped_codes
from conexapi.integrations.service import MAX_CODE_LOOKUPS, get_integration
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.integrations")


async def list_mappings(
    session: AsyncSession,
    *,
    tenant_id: int,
    integration_id: int,
    q: str | None,
    page: int,
    page_size: int,
) -> tuple[Sequence[ProductMapping], int]:
    await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    return await TenantIntegrations(session, tenant_id).mappings_page(
        integration_id, q=q, offset=(page - 1) * page_size, limit=page_size
    )


def _clean_sku(sku: str) -> str:
    return sku.strip()


async def put_mapping(
    session: AsyncSession, *, tenant_id: int, integration_id: int, sku: str, erp_code: str
) -> ProductMapping:
    await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    sku = _clean_sku(sku)
    if not sku or len(sku) > 120:
        raise Unprocessable("The SKU must have 1 to 120 characters.", code="invalid_sku")
    if not is_valid_code(erp_code):
        raise Unprocessable(
            "Siigo product codes have at most 30 characters and no spaces or quotes.",
            code="invalid_erp_code",
            details={"erp_code": erp_code},
        )
    mapping = await TenantIntegrations(session, tenant_id).upsert_mapping(
        integration_id, sku, erp_code
    )
    await session.flush()
    return mapping


async def delete_mapping(
    session: AsyncSession, *, tenant_id: int, integration_id: int, sku: str
) -> None:
    await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    if not await TenantIntegrations(session, tenant_id).delete_mapping(
        integration_id, _clean_sku(sku)
    ):
        raise NotFound(f"No mapping for SKU {sku}.", code="mapping_not_found")


async def import_mappings(
    session: AsyncSession, *, tenant_id: int, integration_id: int, content: bytes
) -> ImportReport:
    """CSV `sku,erp_code` (comma or semicolon); a report line by line. Valid lines are saved."""
    await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise Unprocessable("The file is empty: expected a header sku,erp_code.", code="csv_empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    if "sku" not in header or "erp_code" not in header:
        raise Unprocessable(
            "The first line must be the header sku,erp_code.",
            code="csv_missing_columns",
            details={"header": header},
        )
    sku_at, code_at = header.index("sku"), header.index("erp_code")
    repo = TenantIntegrations(session, tenant_id)
    seen: dict[str, int] = {}
    accepted: dict[str, str] = {}
    rejected: list[RejectedLine] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(sku_at, code_at):
            sku_value = row[sku_at].strip() if len(row) > sku_at else None
            rejected.append(RejectedLine(line=line, sku=sku_value, reason="missing columns"))
            continue
        sku, code = _clean_sku(row[sku_at]), row[code_at].strip()
        if not sku:
            rejected.append(RejectedLine(line=line, sku=None, reason="empty sku"))
        elif len(sku) > 120:
            rejected.append(RejectedLine(line=line, sku=sku[:120], reason="sku too long"))
        elif not is_valid_code(code):
            rejected.append(
                RejectedLine(
                    line=line,
                    sku=sku,
                    reason="invalid code (1-30 characters, no spaces or quotes)",
                )
            )
        elif sku in seen:
            rejected.append(
                RejectedLine(
                    line=line, sku=sku, reason=f"duplicate sku in file (first on line {seen[sku]})"
                )
            )
        else:
            seen[sku] = line
            accepted[sku] = code
    for sku, code in accepted.items():
        await repo.upsert_mapping(integration_id, sku, code)
    await session.flush()
    return ImportReport(accepted=len(accepted), rejected=rejected)


async def check_mappings(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    skus: list[str],
    refresh: bool = False,
) -> MappingCheckReport:
    """Does every mapped code (and each given SKU's code) exist and is it active in Siigo?"""
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    repo = TenantIntegrations(session, tenant_id)
    targets: dict[str, tuple[str, str]] = {
        m.sku: (m.erp_code, "mapping") for m in await repo.all_mappings(integration_id)
    }
    for sku in (_clean_sku(s) for s in skus):
        if sku and sku not in targets:
            targets[sku] = (sku, "identity")
    client = siigo_client(runtime, integration.siigo_connection_id)
    products, fetched_at = await load_products_at(
        session, client, integration.siigo_connection_id, refresh=refresh
    )
    # What Siigo said recently (the catalog, when read less than the workers' check lasts, or a
    # lookup just now) is shared with the workers' check before invoicing: an active code costs
    # them no lookup, a missing or inactive one is looked up again.
    catalog_fresh = utcnow() - fetched_at < timedelta(seconds=CHECK_SECONDS)
    in_catalog: set[str] = set()
    looked_up: set[str] = set()
    inactive: set[str] = set()
    taxes: dict[str, ProductTaxes] = {}
    lookups = 0
    items: list[MappingCheckItem] = []
    for sku, (code, source) in sorted(targets.items()):
        if not is_valid_code(code):
            items.append(
                MappingCheckItem(
                    sku=sku,
                    erp_code=code,
                    source=source,
                    status="invalid_code",
                    message="Not a valid Siigo code (1-30 characters, no spaces or quotes).",
                )
            )
            continue
        product = products.get(code)
        found: dict[str, Any] | None = product.model_dump() if product is not None else None
        if found is not None:
            taxes[code] = product_taxes(found)
        if found is not None and catalog_fresh:
            (in_catalog if is_active(found) else inactive).add(code)
        if found is None and lookups < MAX_CODE_LOOKUPS:
            lookups += 1
            try:
                found = await client.get_product_by_code(code)
                (looked_up if is_active(found) else inactive).add(code)
                if found is not None:
                    taxes[code] = product_taxes(found)
            except PermanentError:
                found = None
        if found is None:
            items.append(
                MappingCheckItem(
                    sku=sku,
                    erp_code=code,
                    source=source,
                    status="not_found",
                    message=f"No product with code {code} in Siigo.",
                )
            )
        elif not found.get("active", True):
            items.append(
                MappingCheckItem(
                    sku=sku,
                    erp_code=code,
                    source=source,
                    status="inactive",
                    product_name=found.get("name"),
                    message=f"The product {code} is inactive in Siigo.",
                )
            )
        else:
            items.append(
                MappingCheckItem(
                    sku=sku,
                    erp_code=code,
                    source=source,
                    status="ok",
                    product_name=found.get("name"),
                    message="ok",
                )
            )
    connection_id = integration.siigo_connection_id
    await record_checks(
        session, connection_id, active=sorted(in_catalog), checked_at=fetched_at, taxes=taxes
    )
    await record_checks(
        session, connection_id, active=sorted(looked_up), inactive=sorted(inactive), taxes=taxes
    )
    checks = product_checks(runtime)
    for code in inactive:
        checks.forget(connection_id, code)
    ok = sum(1 for i in items if i.status == "ok")
    return MappingCheckReport(ok=ok, problems=len(items) - ok, items=items)


async def resolve_product_codes(
    session: AsyncSession, integration_id: int, line_keys: list[str]
) -> dict[str, str]:
    """The Siigo code for each line key (SKU or item:variation): its mapping, else itself."""
    keys = list(dict.fromkeys(k for k in line_keys if k))
    explicit = await mapped_codes(session, integration_id, keys)
    return {key: explicit.get(key, key) for key in keys}
