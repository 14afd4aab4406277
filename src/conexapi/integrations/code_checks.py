"""Is a Siigo product code usable on an invoice (it exists and is active)?

Every mapping is checked when it is saved, one by one or many at once, and on demand for all of
them. The company's cached products catalog answers first (`connections.catalogs`); a code it
does not list may be a product created a moment ago, so it is looked up (`GET /v1/products?code=`)
while they are few, or the catalog is read again once when they are many (Siigo allows 100
requests a minute per company). What Siigo said is shared with the workers' own check before
invoicing (`connections.known_products`), with the product's taxes: an active code costs them no
lookup, a missing or inactive one is looked up again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import Product, load_products_at
from conexapi.connections.known_products import (
    CHECK_SECONDS,
    is_active,
    product_checks,
    record_checks,
)
from conexapi.core.errors import PermanentError
from conexapi.db import utcnow
from conexapi.erps.siigo.client import siigo_client
from conexapi.erps.siigo.documents.taxes import ProductTaxes, product_taxes
from conexapi.integrations.proposals import is_valid_code
from conexapi.integrations.service import MAX_CODE_LOOKUPS
from conexapi.runtime import Runtime

OK = "ok"
NOT_FOUND = "not_found"
INACTIVE = "inactive"
INVALID_CODE = "invalid_code"


@dataclass(frozen=True)
class CodeCheck:
    code: str
    status: str  # ok | not_found | inactive | invalid_code
    name: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


async def check_codes(
    session: AsyncSession,
    *,
    runtime: Runtime,
    connection_id: int,
    codes: Iterable[str],
    refresh: bool = False,
) -> dict[str, CodeCheck]:
    """What Siigo says about each code, recorded for the workers in the caller's transaction."""
    wanted = list(dict.fromkeys(codes))
    result = {c: CodeCheck(c, INVALID_CODE) for c in wanted if not is_valid_code(c)}
    valid = [c for c in wanted if c not in result]
    if not valid:
        return result
    client = siigo_client(runtime, connection_id)
    products, fetched_at = await load_products_at(session, client, connection_id, refresh=refresh)
    unknown = [c for c in valid if c not in products]
    if len(unknown) > MAX_CODE_LOOKUPS and not refresh:
        # Many codes the cached catalog does not know: one fresh read beats a lookup each.
        products, fetched_at = await load_products_at(session, client, connection_id, refresh=True)
        unknown = [c for c in valid if c not in products]
    looked_up: dict[str, dict[str, Any] | None] = {}
    for code in unknown[:MAX_CODE_LOOKUPS]:
        try:
            looked_up[code] = await client.get_product_by_code(code)
        except PermanentError:
            looked_up[code] = None
    taxes: dict[str, ProductTaxes] = {}
    for code in valid:
        product = products.get(code)
        if product is not None:
            result[code] = _from_catalog(product)
            taxes[code] = product_taxes(product.model_dump())
        elif looked_up.get(code) is not None:
            found = looked_up[code]
            assert found is not None
            status = OK if is_active(found) else INACTIVE
            result[code] = CodeCheck(code, status, str(found.get("name") or "") or None)
            taxes[code] = product_taxes(found)
        else:
            result[code] = CodeCheck(code, NOT_FOUND)
    await _share(session, runtime, connection_id, result, set(looked_up), fetched_at, taxes)
    return result


def _from_catalog(product: Product) -> CodeCheck:
    return CodeCheck(product.code, OK if product.active else INACTIVE, product.name or None)


async def _share(
    session: AsyncSession,
    runtime: Runtime,
    connection_id: int,
    checks: dict[str, CodeCheck],
    looked_up: set[str],
    fetched_at: datetime,
    taxes: dict[str, ProductTaxes],
) -> None:
    """Positives as of when Siigo said so (the catalog read, or a lookup just now); a missing or
    inactive code is forgotten, so the workers ask Siigo again before invoicing with it."""
    catalog_fresh = utcnow() - fetched_at < timedelta(seconds=CHECK_SECONDS)
    from_catalog = sorted(
        c for c, check in checks.items() if check.ok and c not in looked_up and catalog_fresh
    )
    from_lookup = sorted(c for c, check in checks.items() if check.ok and c in looked_up)
    bad = sorted(c for c, check in checks.items() if check.status in (NOT_FOUND, INACTIVE))
    await record_checks(
        session, connection_id, active=from_catalog, checked_at=fetched_at, taxes=taxes
    )
    await record_checks(session, connection_id, active=from_lookup, inactive=bad, taxes=taxes)
    memory = product_checks(runtime)
    for code in bad:
        memory.forget(connection_id, code)
