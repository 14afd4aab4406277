"""Integrations: one ML account linked to one Siigo company, its settings and product mappings.

Settings left out at creation are proposed from the Siigo catalogs, each with the reason it was
chosen; what cannot be proposed is listed in `missing` (sales wait in `needs_attention` naming
it). Every id set through the API is checked against the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import (
    Catalogs,
    load_catalogs,
    remember_product,
)
from conexapi.connections.models import Connection, Provider
from conexapi.connections.repository import TenantConnections
from conexapi.core.errors import Conflict, NotFound, Unprocessable
from conexapi.erps.siigo.client import SiigoClient, siigo_client
from conexapi.integrations.api_schemas import Proposal
from conexapi.integrations.models import Integration
from conexapi.integrations.proposals import (
    invalid_setting,
    propose,
    validate_settings,
)
from conexapi.integrations.repository import TenantIntegrations
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.settings import REMOVED_SETTINGS, InvoicingSettings

log = structlog.get_logger("conexapi.integrations")

SHIPPING_CODES = ("ENVIOML", "ENVIO")
SHIPPING_PRODUCT_CODE = "ENVIOML"
MAX_CODE_LOOKUPS = 25


@dataclass
class IntegrationView:
    integration: Integration
    settings: InvoicingSettings
    proposals: dict[str, Proposal]
    missing: list[str]


def missing_settings(settings: InvoicingSettings, catalogs: Catalogs | None = None) -> list[str]:
    """Settings without which some document cannot be built (invoice, credit note, shipping)."""
    missing = list(settings.missing())
    missing += [m for m in settings.missing_for_credit_notes() if m not in missing]
    if settings.shipping_product_code is None:
        missing.append("shipping_product_code")
    if catalogs is not None and settings.fv_document_id is not None:
        doc = catalogs.document_type("FV", settings.fv_document_id)
        if doc is not None and doc.cost_center_mandatory and settings.cost_center_id is None:
            missing.append("cost_center_id")
    return missing


def _view(integration: Integration) -> IntegrationView:
    settings = InvoicingSettings.from_stored(integration.settings)
    proposals = {k: Proposal.model_validate(v) for k, v in (integration.proposals or {}).items()}
    return IntegrationView(integration, settings, proposals, missing_settings(settings))


async def _find_shipping_product(client: SiigoClient) -> dict[str, Any] | None:
    for code in SHIPPING_CODES:
        product = await client.get_product_by_code(code)
        if product is not None and product.get("active", True):
            return product
    return None


async def _ensure_shipping_product(
    session: AsyncSession,
    client: SiigoClient,
    catalogs: Catalogs,
    iva_tax_id: int | None,
    *,
    create: bool,
) -> Proposal | None:
    existing = await _find_shipping_product(client)
    if existing is not None:
        kind = existing.get("type")
        note = "" if kind == "Service" else f" (its type is {kind}; a Service is recommended)"
        note_es = "" if kind == "Service" else text("proposal.shipping_not_service", kind=kind)
        return Proposal(
            value=existing["code"],
            reason=f'existing Siigo product "{existing.get("name")}" for shipping{note}',
            text=text("proposal.shipping_existing", name=existing.get("name"), note=note_es),
        )
    if not create:
        return None
    groups = catalogs.active_account_groups()
    if not groups or iva_tax_id is None:
        return None
    body = {
        "code": SHIPPING_PRODUCT_CODE,
        "name": "Envio MercadoLibre",
        "account_group": groups[0].id,
        "type": "Service",
        "stock_control": False,
        "active": True,
        "tax_classification": "Taxed",
        "tax_included": True,
        "taxes": [{"id": iva_tax_id}],
        "unit": "94",
        "description": "Costo de envio cobrado al comprador en ventas de MercadoLibre",
    }
    product = await client.create_product(body)
    await remember_product(session, catalogs.connection_id, product)
    return Proposal(
        value=product.get("code", SHIPPING_PRODUCT_CODE),
        reason=(
            f"created in Siigo as a Service product (code {SHIPPING_PRODUCT_CODE}, IVA 19 %, "
            f'account group "{groups[0].name}")'
        ),
        text=text("proposal.shipping_created", code=SHIPPING_PRODUCT_CODE, group=groups[0].name),
    )


async def _check_shipping_code(client: SiigoClient, code: str) -> None:
    product = await client.get_product_by_code(code)
    if product is None:
        raise invalid_setting(
            f"No product with code {code} in Siigo.", "shipping_product_code", code
        )
    if not product.get("active", True):
        raise invalid_setting(
            f"The product {code} is inactive in Siigo.", "shipping_product_code", code
        )


# ---------------------------------------------------------------------------- integrations
async def _connection(
    session: AsyncSession, tenant_id: int, connection_id: int, provider: Provider
) -> Connection:
    connection = await TenantConnections(session, tenant_id).get(connection_id)
    if connection is None:
        raise NotFound(f"Connection {connection_id} not found.", code="connection_not_found")
    if connection.provider != provider.value:
        raise Unprocessable(
            f"Connection {connection_id} is a {connection.provider} connection, "
            f"not {provider.value}.",
            code="wrong_provider",
            details={"connection_id": connection_id, "expected": provider.value},
        )
    return connection


async def create_integration(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    ml_connection_id: int,
    siigo_connection_id: int,
    settings: InvoicingSettings | None,
    create_shipping_product: bool = False,
) -> IntegrationView:
    await _connection(session, tenant_id, ml_connection_id, Provider.MERCADOLIBRE)
    siigo = await _connection(session, tenant_id, siigo_connection_id, Provider.SIIGO)
    repo = TenantIntegrations(session, tenant_id)
    if await repo.by_ml_connection(ml_connection_id) is not None:
        raise Conflict(
            "This MercadoLibre account already has an integration.", code="integration_exists"
        )
    client = siigo_client(runtime, siigo_connection_id)
    catalogs = await load_catalogs(session, client, siigo_connection_id)
    given = settings or InvoicingSettings()
    explicit = set(given.model_fields_set)
    validate_settings(given, catalogs, explicit)
    if "shipping_product_code" in explicit and given.shipping_product_code is not None:
        await _check_shipping_code(client, given.shipping_product_code)
    values, reasons = propose(catalogs, company_email=siigo.account_name)
    merged = given.model_dump()
    proposals: dict[str, Proposal] = {}
    for name, value in values.items():
        if name not in explicit:
            merged[name] = value
            proposals[name] = reasons[name]
    if "shipping_product_code" not in explicit:
        shipping = await _ensure_shipping_product(
            session, client, catalogs, merged.get("iva_tax_id"), create=create_shipping_product
        )
        if shipping is not None:
            merged["shipping_product_code"] = shipping.value
            proposals["shipping_product_code"] = shipping
    final = InvoicingSettings.model_validate(merged)
    integration = Integration(
        tenant_id=tenant_id,
        ml_connection_id=ml_connection_id,
        siigo_connection_id=siigo_connection_id,
        settings=final.model_dump(mode="json"),
        proposals={k: v.model_dump(mode="json") for k, v in proposals.items()},
        active=True,
    )
    session.add(integration)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "This MercadoLibre account already has an integration.", code="integration_exists"
        ) from exc
    log.info("integration.created", integration_id=integration.id, tenant_id=tenant_id)
    return IntegrationView(integration, final, proposals, missing_settings(final, catalogs))


async def get_integration(
    session: AsyncSession, *, tenant_id: int, integration_id: int
) -> Integration:
    integration = await TenantIntegrations(session, tenant_id).get(integration_id)
    if integration is None:
        raise NotFound("Integration not found.", code="integration_not_found")
    return integration


async def read_integration(
    session: AsyncSession, *, tenant_id: int, integration_id: int
) -> IntegrationView:
    return _view(await get_integration(session, tenant_id=tenant_id, integration_id=integration_id))


async def list_integrations(session: AsyncSession, *, tenant_id: int) -> list[IntegrationView]:
    return [_view(i) for i in await TenantIntegrations(session, tenant_id).list_all()]


async def update_integration(
    session: AsyncSession,
    *,
    runtime: Runtime,
    tenant_id: int,
    integration_id: int,
    changes: dict[str, Any] | None,
    active: bool | None = None,
) -> IntegrationView:
    integration = await get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    if changes:
        removed = [name for name in changes if name in REMOVED_SETTINGS]
        if removed:
            raise Unprocessable(
                REMOVED_SETTINGS[removed[0]],
                code="setting_removed",
                details={"field": removed[0]},
            )
        current = InvoicingSettings.from_stored(integration.settings).model_dump()
        try:
            updated = InvoicingSettings.model_validate({**current, **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            raise Unprocessable(
                f"Invalid setting {field}: {first.get('msg')}",
                code="invalid_setting",
                details={
                    "field": field,
                    "errors": exc.errors(
                        include_url=False, include_input=False, include_context=False
                    ),
                },
            ) from exc
        client = siigo_client(runtime, integration.siigo_connection_id)
        catalogs = await load_catalogs(session, client, integration.siigo_connection_id)
        validate_settings(updated, catalogs, set(changes))
        if (
            "shipping_product_code" in changes
            and updated.shipping_product_code is not None
            and updated.shipping_product_code != current.get("shipping_product_code")
        ):
            await _check_shipping_code(client, updated.shipping_product_code)
        integration.settings = updated.model_dump(mode="json")
        # A setting chosen by a person is no longer a proposal.
        integration.proposals = {
            k: v for k, v in (integration.proposals or {}).items() if k not in changes
        }
    if active is not None:
        integration.active = active
    await session.flush()
    return _view(integration)
