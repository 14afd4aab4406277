"""Integrations: one ML account linked to one Siigo company, its settings and product mappings.

Settings left out at creation are proposed from the Siigo catalogs, each with the reason it was
chosen; what cannot be proposed is listed in `missing` (sales wait in `needs_attention` naming
it). Every id set through the API is checked against the catalogs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import (
    Catalogs,
    DocumentType,
    PaymentType,
    load_catalogs,
    remember_product,
)
from conexapi.connections.models import Connection, Provider
from conexapi.connections.repository import TenantConnections
from conexapi.core.errors import Conflict, NotFound, Unprocessable
from conexapi.erps.siigo.client import SiigoClient, siigo_client
from conexapi.integrations.api_schemas import (
    Proposal,
)
from conexapi.integrations.models import Integration
from conexapi.integrations.repository import TenantIntegrations
from conexapi.runtime import Runtime
from conexapi.sales.settings import InvoicingSettings

log = structlog.get_logger("conexapi.integrations")

SIIGO_CODE_RE = re.compile(r"^[^'\"\s]{1,30}$")
SHIPPING_CODES = ("ENVIOML", "ENVIO")
SHIPPING_PRODUCT_CODE = "ENVIOML"
PREFERRED_PAYMENT_NAMES = ("mercadopago", "mercado pago", "contado", "efectivo")
MAX_CODE_LOOKUPS = 25


@dataclass
class IntegrationView:
    integration: Integration
    settings: InvoicingSettings
    proposals: dict[str, Proposal]
    missing: list[str]


def is_valid_code(code: str) -> bool:
    """Siigo product codes: 1–30 characters, no spaces or quotes."""
    return bool(SIIGO_CODE_RE.match(code))


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
    settings = InvoicingSettings.model_validate(integration.settings or {})
    proposals = {k: Proposal.model_validate(v) for k, v in (integration.proposals or {}).items()}
    return IntegrationView(integration, settings, proposals, missing_settings(settings))


# ---------------------------------------------------------------------------- proposals
def _pick_payment(rows: list[PaymentType], kind: str) -> tuple[int | None, str]:
    candidates = [p for p in rows if p.active and not p.due_date]
    if not candidates:
        return None, f"no active {kind} payment type without due date in Siigo"
    for wanted in PREFERRED_PAYMENT_NAMES:
        for p in candidates:
            if wanted in p.name.lower():
                return p.id, (
                    f'"{p.name}": active {kind} payment type without due date, '
                    f'named like "{wanted}"'
                )
    p = candidates[0]
    return p.id, (
        f'"{p.name}": the first of {len(candidates)} active {kind} payment types without due date '
        "(check it is the one for MercadoLibre sales)"
    )


def _pick_credit_note_type(catalogs: Catalogs) -> tuple[DocumentType, str] | None:
    """The NC type for credit notes: active, and electronic when the company invoices
    electronically. Siigo's NC rows carry no `electronic_type` (docs/vendors/siigo.md §16), so a row
    that says nothing counts as electronic in such a company; one that says `NoElectronic` does not.
    Among several, one named "electrónica" wins, then the first."""
    active = [d for d in catalogs.document_types_nc if d.active]
    electronic = catalogs.invoices_electronically
    fit = [d for d in active if catalogs.credit_note_is_electronic(d) == electronic]
    if not fit:
        return None
    named = [d for d in fit if "electr" in d.name.lower()]
    doc = (named or fit)[0]
    extra = "" if len(fit) == 1 else f" (first of {len(fit)}; check it is the right one)"
    if not electronic:
        return doc, f'"{doc.name}": active credit note type, for non-electronic invoices{extra}'
    if doc.electronic_unknown:
        why = (
            "active credit note type; Siigo does not say whether NC types are electronic, and "
            "this company invoices electronically, so its credit notes are electronic"
        )
    else:
        why = f"active electronic credit note type ({doc.electronic_type})"
    return doc, f'"{doc.name}": {why}{extra}'


def propose(catalogs: Catalogs) -> tuple[dict[str, Any], dict[str, Proposal]]:
    """Values and reasons for every setting that the catalogs can justify."""
    values: dict[str, Any] = {}
    reasons: dict[str, Proposal] = {}

    def put(name: str, value: Any, reason: str) -> None:
        values[name] = value
        reasons[name] = Proposal(value=value, reason=reason)

    fv = [d for d in catalogs.document_types_fv if d.active and d.electronic]
    if fv:
        doc = fv[0]
        extra = "" if len(fv) == 1 else f" (first of {len(fv)}; check the numbering resolution)"
        put(
            "fv_document_id",
            doc.id,
            f'"{doc.name}": active electronic sales invoice type ({doc.electronic_type}){extra}',
        )
        if doc.cost_center_mandatory:
            centers = [c for c in catalogs.cost_centers if c.active]
            if centers:
                put(
                    "cost_center_id",
                    centers[0].id,
                    f'"{centers[0].name}": the invoice type requires a cost center; first active',
                )
    nc = _pick_credit_note_type(catalogs)
    if nc is not None:
        put("nc_document_id", nc[0].id, nc[1])
    users = [u for u in catalogs.users if u.active]
    if users:
        extra = "" if len(users) == 1 else f" (first of {len(users)} active users)"
        put("seller_id", users[0].id, f'"{users[0].full_name}": active Siigo user{extra}')
    pid, reason = _pick_payment(catalogs.payment_types_fv, "FV")
    if pid is not None:
        put("payment_type_id", pid, reason)
    pid, reason = _pick_payment(catalogs.payment_types_nc, "NC")
    if pid is not None:
        put("nc_payment_type_id", pid, reason)
    iva = [
        t
        for t in catalogs.taxes
        if t.active and t.type.upper() == "IVA" and float(t.percentage) == 19.0
    ]
    if iva:
        put("iva_tax_id", iva[0].id, f'"{iva[0].name}": the active IVA 19 % tax')
    return values, reasons


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
        return Proposal(
            value=existing["code"],
            reason=f'existing Siigo product "{existing.get("name")}" for shipping{note}',
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
    )


# ---------------------------------------------------------------------------- validation
def _invalid(message: str, field: str, value: Any) -> Unprocessable:
    return Unprocessable(message, code="invalid_setting", details={"field": field, "value": value})


def validate_settings(settings: InvoicingSettings, catalogs: Catalogs, fields: set[str]) -> None:
    """Every id in `fields` must exist and be active in the company's catalogs (422 otherwise)."""
    checks: list[tuple[str, str, Any]] = []
    if "fv_document_id" in fields and settings.fv_document_id is not None:
        doc = catalogs.document_type("FV", settings.fv_document_id)
        checks.append(("fv_document_id", "sales invoice document type", doc))
    if "nc_document_id" in fields and settings.nc_document_id is not None:
        doc = catalogs.document_type("NC", settings.nc_document_id)
        checks.append(("nc_document_id", "credit note document type", doc))
    if "seller_id" in fields and settings.seller_id is not None:
        checks.append(("seller_id", "seller (Siigo user)", catalogs.user(settings.seller_id)))
    if "payment_type_id" in fields and settings.payment_type_id is not None:
        pt = catalogs.payment_type("FV", settings.payment_type_id)
        checks.append(("payment_type_id", "invoice payment type", pt))
    if "nc_payment_type_id" in fields and settings.nc_payment_type_id is not None:
        pt = catalogs.payment_type("NC", settings.nc_payment_type_id)
        checks.append(("nc_payment_type_id", "credit note payment type", pt))
    if "iva_tax_id" in fields and settings.iva_tax_id is not None:
        tax = catalogs.tax(settings.iva_tax_id)
        checks.append(("iva_tax_id", "IVA tax", tax))
        if tax is not None and tax.type.upper() != "IVA":
            raise _invalid(
                f'Tax {tax.id} ("{tax.name}") is a {tax.type} tax, not IVA.',
                "iva_tax_id",
                settings.iva_tax_id,
            )
    if "cost_center_id" in fields and settings.cost_center_id is not None:
        cc = catalogs.cost_center(settings.cost_center_id)
        checks.append(("cost_center_id", "cost center", cc))
    for name, label, row in checks:
        value = getattr(settings, name)
        if row is None:
            raise _invalid(f"Unknown {label} {value} in this Siigo company.", name, value)
        if not getattr(row, "active", True):
            raise _invalid(f"The {label} {value} is inactive in Siigo.", name, value)
    if "payment_type_id" in fields and settings.payment_type_id is not None:
        pt = catalogs.payment_type("FV", settings.payment_type_id)
        if pt is not None and pt.due_date:
            raise _invalid(
                f'Payment type "{pt.name}" needs a due date; MercadoLibre sales are paid: choose '
                "one without due date.",
                "payment_type_id",
                settings.payment_type_id,
            )
    if (
        "shipping_product_code" in fields
        and settings.shipping_product_code is not None
        and not is_valid_code(settings.shipping_product_code)
    ):
        raise _invalid(
            "Siigo product codes have at most 30 characters and no spaces or quotes.",
            "shipping_product_code",
            settings.shipping_product_code,
        )


async def _check_shipping_code(client: SiigoClient, code: str) -> None:
    product = await client.get_product_by_code(code)
    if product is None:
        raise _invalid(f"No product with code {code} in Siigo.", "shipping_product_code", code)
    if not product.get("active", True):
        raise _invalid(f"The product {code} is inactive in Siigo.", "shipping_product_code", code)


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
    await _connection(session, tenant_id, siigo_connection_id, Provider.SIIGO)
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
    values, reasons = propose(catalogs)
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
        current = InvoicingSettings.model_validate(integration.settings or {}).model_dump()
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
                    "errors": exc.errors(include_url=False, include_input=False),
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
