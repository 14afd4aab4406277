"""Product mappings: MercadoLibre SKU (or item + variation) → Siigo product code.

Listed, set one by one, many at once or imported from a CSV with a line-by-line report; every
code is checked against Siigo when saved (it exists and is active: `code_checks`, positives
shared with the workers through `known_product`), and resolved for each sale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.core.errors import NotFound, Unprocessable
from conexapi.integrations.api_schemas import (
    ImportReport,
    MappingCheckItem,
    MappingCheckReport,
    RejectedLine,
    RejectedMapping,
)
from conexapi.integrations.code_checks import (
    INACTIVE,
    INVALID_CODE,
    OK,
    CodeCheck,
    check_codes,
)
from conexapi.integrations.models import ProductMapping
from conexapi.integrations.proposals import is_valid_code
from conexapi.integrations.repository import TenantIntegrations, mapped_codes
from conexapi.integrations.service import get_integration
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.integrations")

_SKU_LENGTH = "The SKU must have 1 to 120 characters."


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


@dataclass
class MappingResult:
    """What a save of several mappings did: saved SKU → code, and the refused ones."""

    saved: dict[str, str] = field(default_factory=dict)
    rejected: list[RejectedMapping] = field(default_factory=list)


def _refusal(check: CodeCheck) -> tuple[str, str]:
    """(stable code, English message) for a code Siigo cannot take on an invoice."""
    if check.status == INVALID_CODE:
        return "invalid_erp_code", "Not a valid Siigo code (1-30 characters, no spaces or quotes)."
    if check.status == INACTIVE:
        return "erp_code_inactive", f"The product {check.code} is inactive in Siigo."
    return "erp_code_not_found", f"No product with code {check.code} in Siigo."


async def put_mappings(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    pairs: Sequence[tuple[str, str]],
) -> MappingResult:
    """Saves SKU → code mappings whose code exists and is active in Siigo; the others are
    refused with the reason. Nothing is saved for a SKU twice in `pairs` (the last one wins)."""
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    result = MappingResult()
    wanted: dict[str, str] = {}
    for raw_sku, raw_code in pairs:
        sku, code = _clean_sku(raw_sku), raw_code.strip()
        if not sku or len(sku) > 120:
            result.rejected.append(
                RejectedMapping(
                    sku=sku[:120], erp_code=code, code="invalid_sku", message=_SKU_LENGTH
                )
            )
            continue
        wanted[sku] = code
    checks = await check_codes(
        session,
        runtime=runtime,
        connection_id=integration.siigo_connection_id,
        codes=wanted.values(),
    )
    repo = TenantIntegrations(session, tenant_id)
    for sku, code in wanted.items():
        check = checks[code]
        if not check.ok:
            reason, message = _refusal(check)
            result.rejected.append(
                RejectedMapping(sku=sku, erp_code=code, code=reason, message=message)
            )
            continue
        await repo.upsert_mapping(integration_id, sku, code)
        result.saved[sku] = code
    await session.flush()
    return result


async def put_mapping(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    sku: str,
    erp_code: str,
) -> ProductMapping:
    """One mapping, checked against Siigo: 422 with a stable code when Siigo cannot take it."""
    result = await put_mappings(
        session,
        runtime=runtime,
        tenant_id=tenant_id,
        integration_id=integration_id,
        pairs=[(sku, erp_code)],
    )
    if result.rejected:
        refused = result.rejected[0]
        raise Unprocessable(
            refused.message, code=refused.code, details={"sku": refused.sku, "erp_code": erp_code}
        )
    mapping = (
        await TenantIntegrations(session, tenant_id).mappings_for(integration_id, [_clean_sku(sku)])
    )[_clean_sku(sku)]
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
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    content: bytes,
) -> ImportReport:
    """CSV `sku,erp_code` (comma or semicolon); a report line by line. Lines whose code exists
    and is active in Siigo are saved."""
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
    seen: dict[str, int] = {}
    accepted: dict[str, tuple[str, int]] = {}
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
            accepted[sku] = (code, line)
    result = await put_mappings(
        session,
        runtime=runtime,
        tenant_id=tenant_id,
        integration_id=integration_id,
        pairs=[(sku, code) for sku, (code, _) in accepted.items()],
    )
    for refused in result.rejected:
        line = accepted[refused.sku][1]
        reason = (
            "not found in Siigo" if refused.code == "erp_code_not_found" else "inactive in Siigo"
        )
        rejected.append(RejectedLine(line=line, sku=refused.sku, reason=reason))
    rejected.sort(key=lambda r: r.line)
    return ImportReport(accepted=len(result.saved), rejected=rejected)


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
    checks = await check_codes(
        session,
        runtime=runtime,
        connection_id=integration.siigo_connection_id,
        codes=[code for code, _ in targets.values()],
        refresh=refresh,
    )
    items = [
        MappingCheckItem(
            sku=sku,
            erp_code=code,
            source=source,
            status=checks[code].status,
            product_name=checks[code].name,
            message="ok" if checks[code].ok else _refusal(checks[code])[1],
        )
        for sku, (code, source) in sorted(targets.items())
    ]
    ok = sum(1 for i in items if i.status == OK)
    return MappingCheckReport(ok=ok, problems=len(items) - ok, items=items)


async def resolve_product_codes(
    session: AsyncSession, integration_id: int, line_keys: list[str]
) -> dict[str, str]:
    """The Siigo code for each line key (SKU or item:variation): its mapping, else itself when
    Siigo could take it as a code. A key that Siigo can't take as a code (spaces, quotes, more
    than 30 characters: the norm for real SKUs, docs/vendors/mercadolibre.md §15) and has no mapping
    is left out, so the sale waits for a mapping instead of being refused by Siigo."""
    keys = list(dict.fromkeys(k for k in line_keys if k))
    explicit = await mapped_codes(session, integration_id, keys)
    return {key: explicit.get(key, key) for key in keys if key in explicit or is_valid_code(key)}
