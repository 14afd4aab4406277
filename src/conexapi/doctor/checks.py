"""The checks of `conexapi doctor` (and of the dashboard's "Verificar configuración").

Each check makes the real calls a first day would make, and says what is wrong and how to fix
it: the database is reachable and migrated; the keys decrypt what is stored; the MercadoLibre
application's settings (`GET /applications/{id}`: redirect URI, notifications URL, topic
`orders_v2`, docs/vendors/mercadolibre.md §1.6) match `CONEXAPI_PUBLIC_URL`; each MercadoLibre
account's token works and the application has the "Ventas y envíos" and "Facturación" permissions (a
real orders search and a billing-info read, §1.1, §5.3); Siigo accepts each company's credentials
(`POST /auth`); each integration's settings fit its Siigo catalogs (FV and NC types active and
electronic, IVA tax, payment types, seller, shipping product); and this machine's clock agrees with
the vendors' (`Date` header: tokens and electronic invoice dates depend on it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from conexapi.connections.catalogs import (
    Catalogs,
    PaymentType,
    SiigoUser,
    Tax,
    load_catalogs,
    load_products,
)
from conexapi.connections.models import Connection, ConnectionStatus, Provider
from conexapi.core.errors import AuthError, IntegrationError, PermissionMissingError
from conexapi.doctor.findings import Finding
from conexapi.erps.siigo.auth import authenticate
from conexapi.erps.siigo.client import siigo_client
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient, meli_client
from conexapi.messages import text as message
from conexapi.migrations import alembic_config
from conexapi.runtime import Runtime
from conexapi.sales.settings import InvoicingSettings
from conexapi.security.encryption import DecryptionError

log = structlog.get_logger("conexapi.doctor")

MAX_CLOCK_SKEW_SECONDS = 120
ORDERS_TOPIC = "orders_v2"
WEBHOOK_PATH = "/webhooks/mercadolibre"
# A billing-info id no order has: with the permission MercadoLibre answers 404, without it the
# PolicyAgent answers 403 before looking at the resource (used when the account has no sale yet).
NO_SUCH_BILLING_INFO = "0"


async def run_checks(runtime: Runtime, *, tenant_id: int | None = None) -> list[Finding]:
    """Every check, in order; a check that cannot run says why instead of stopping the rest.
    `tenant_id`: only that tenant's connections and integrations (the dashboard's "Verificar
    configuración"; `conexapi doctor`, the operator's command, checks every tenant)."""
    findings = [await check_database(runtime)]
    findings.append(check_settings(runtime))
    if not findings[0].ok:
        return findings  # nothing else can be read without the database
    connections = await _connections(runtime, tenant_id)
    findings += await check_keys(runtime, connections)
    ml = [c for c in connections if c.provider == Provider.MERCADOLIBRE.value]
    siigo = [c for c in connections if c.provider == Provider.SIIGO.value]
    findings += await _guarded("meli_app", check_meli_application(runtime, ml))
    for connection in ml:
        subject = connection.account_name or connection.external_account_id
        findings += await _guarded(
            "meli_token", check_meli_connection(runtime, connection), subject
        )
    for connection in siigo:
        subject = connection.account_name
        findings += await _guarded("siigo", _one(check_siigo(runtime, connection)), subject)
    for integration in await _integrations(runtime, tenant_id):
        findings += await _guarded("catalog", check_catalog(runtime, integration, siigo))
    findings.append(await check_clock(runtime))
    return findings


async def _one(check: Awaitable[Finding]) -> list[Finding]:
    return [await check]


async def _guarded(name: str, check: Awaitable[list[Finding]], subject: str = "") -> list[Finding]:
    """A check that breaks (a secret that does not decrypt, a bug) is a finding, not the end."""
    try:
        return await check
    except Exception as exc:
        log.warning("doctor.check_failed", check=name, error_type=type(exc).__name__)
        return [Finding(name, False, "failed", {"error": _short(exc)}, subject)]


# --- database and settings ------------------------------------------------------------------


async def check_database(runtime: Runtime) -> Finding:
    head = ScriptDirectory.from_config(
        alembic_config(runtime.settings.database_url)
    ).get_current_head()
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:
        return Finding("database", False, "unreachable", {"error": _short(exc)})
    if current != head:
        return Finding(
            "database", False, "outdated", {"current": current or "—", "head": head or "—"}
        )
    return Finding("database", True, "ok", {"revision": head or "—"})


def check_settings(runtime: Runtime) -> Finding:
    settings = runtime.settings
    ml = settings.mercadolibre
    if not ml.client_id or ml.client_secret is None:
        return Finding("settings", False, "no_meli_app")
    if settings.is_production and not settings.public_url.startswith("https://"):
        return Finding("settings", False, "public_url_http", {"url": settings.public_url})
    return Finding("settings", True, "ok", {"url": settings.public_url})


async def check_keys(runtime: Runtime, connections: Sequence[Connection]) -> list[Finding]:
    """The stored secrets decrypt with the configured keys (a wrong key loses every token)."""
    broken = 0
    for connection in connections:
        for value in (
            connection.credentials_enc,
            connection.access_token_enc,
            connection.refresh_token_enc,
        ):
            if not value:
                continue
            try:
                runtime.secrets.decrypt(value)
            except DecryptionError:
                broken += 1
    if broken:
        return [Finding("keys", False, "undecryptable", {"count": str(broken)})]
    reason = "ok" if runtime.settings.encryption_key is not None else "development"
    return [Finding("keys", True, reason)]


# --- MercadoLibre ---------------------------------------------------------------------------


async def check_meli_application(
    runtime: Runtime, connections: Sequence[Connection]
) -> list[Finding]:
    """The application's redirect URI, notifications URL and topics, as DevCenter has them."""
    settings = runtime.settings.mercadolibre
    usable = [c for c in connections if c.status != ConnectionStatus.NEEDS_REAUTH.value]
    if not usable:
        return [Finding("meli_app", False, "no_connection")]
    app_id = settings.application_id or settings.client_id
    try:
        app = await meli_client(runtime, usable[0].id).get_application(str(app_id))
    except IntegrationError as exc:
        return [Finding("meli_app", False, "unreadable", {"error": _short(exc)})]
    public = runtime.settings.public_url.rstrip("/")
    expected_hook = f"{public}{WEBHOOK_PATH}"
    found_redirect = str(app.get("callback_url") or "")
    found_hook = str(app.get("notifications_callback_url") or "")
    topics = [str(t) for t in app.get("notifications_topics") or []]
    findings = [
        Finding(
            "meli_redirect",
            found_redirect == settings.redirect_uri,
            "ok" if found_redirect == settings.redirect_uri else "mismatch",
            {"found": found_redirect or "—", "expected": settings.redirect_uri},
        ),
        Finding(
            "meli_notifications",
            found_hook == expected_hook,
            "ok" if found_hook == expected_hook else "mismatch",
            {"found": found_hook or "—", "expected": expected_hook},
        ),
        Finding(
            "meli_topics",
            ORDERS_TOPIC in topics,
            "ok" if ORDERS_TOPIC in topics else "missing",
            {"topics": ", ".join(topics) or "—"},
        ),
    ]
    return findings


async def check_meli_connection(runtime: Runtime, connection: Connection) -> list[Finding]:
    """A real call per permission: the token, an orders search, a billing-info read."""
    account = connection.account_name or connection.external_account_id
    client = meli_client(runtime, connection.id)
    params = {"account": account}
    if connection.status == ConnectionStatus.NEEDS_REAUTH.value:
        return [Finding("meli_token", False, "reauth", params, account)]
    try:
        await client.get_me()
    except AuthError:
        return [Finding("meli_token", False, "reauth", params, account)]
    except IntegrationError as exc:
        return [Finding("meli_token", False, "error", {**params, "error": _short(exc)}, account)]
    findings = [Finding("meli_token", True, "ok", params, account)]
    order = await _latest_order(client, connection, findings, params, account)
    if order is None and not findings[-1].ok:
        return findings
    probe = order or {"id": "0", "buyer": {"billing_info": {"id": NO_SUCH_BILLING_INFO}}}
    try:
        await client.get_billing_info(probe)
    except PermissionMissingError:
        findings.append(_missing_permission("meli_billing", "billing", params, account))
    except IntegrationError as exc:
        findings.append(
            Finding("meli_billing", False, "error", {**params, "error": _short(exc)}, account)
        )
    else:
        findings.append(Finding("meli_billing", True, "ok", params, account))
    return findings


async def _latest_order(
    client: MercadoLibreClient,
    connection: Connection,
    findings: list[Finding],
    params: dict[str, str],
    account: str,
) -> dict[str, Any] | None:
    """The seller's latest order (an orders search: the "Ventas y envíos" permission)."""
    try:
        page = await client.search_orders(connection.external_account_id, limit=1, sort="date_desc")
    except PermissionMissingError:
        findings.append(_missing_permission("meli_orders", "orders", params, account))
        return None
    except IntegrationError as exc:
        findings.append(
            Finding("meli_orders", False, "error", {**params, "error": _short(exc)}, account)
        )
        return None
    findings.append(Finding("meli_orders", True, "ok", params, account))
    results = page.get("results") or []
    return results[0] if results and isinstance(results[0], dict) else None


def _missing_permission(
    check: str, permission: str, params: dict[str, str], account: str
) -> Finding:
    name = message(f"permission.{permission}")
    return Finding(check, False, "missing_permission", {**params, "permission": name}, account)


# --- Siigo ----------------------------------------------------------------------------------


async def check_siigo(runtime: Runtime, connection: Connection) -> Finding:
    account = connection.account_name or connection.external_account_id
    params = {"account": account}
    try:
        # A secret that does not decrypt is the keys' problem (`check_keys`), not Siigo's.
        credentials = runtime.secrets.decrypt_json(connection.credentials_enc or "")
        await authenticate(
            runtime.siigo_http,
            runtime.settings.siigo,
            str(credentials.get("username") or ""),
            str(credentials.get("access_key") or ""),
        )
    except AuthError:
        return Finding("siigo", False, "rejected", params, account)
    except IntegrationError as exc:
        return Finding("siigo", False, "error", {**params, "error": _short(exc)}, account)
    return Finding("siigo", True, "ok", params, account)


async def check_catalog(
    runtime: Runtime, integration: Integration, siigo: Sequence[Connection]
) -> list[Finding]:
    """The integration's settings against the company's catalogs, read fresh from Siigo."""
    connection = next((c for c in siigo if c.id == integration.siigo_connection_id), None)
    subject = connection.account_name if connection is not None else str(integration.id)
    settings = InvoicingSettings.model_validate(integration.settings or {})
    client = siigo_client(runtime, integration.siigo_connection_id)
    try:
        async with runtime.sessions() as session:
            catalogs = await load_catalogs(
                session, client, integration.siigo_connection_id, refresh=True
            )
            products = await load_products(session, client, integration.siigo_connection_id)
            await session.commit()
    except IntegrationError as exc:
        return [Finding("catalog", False, "unreadable", {"error": _short(exc)}, subject)]
    findings = [
        _document_type(catalogs, settings, "FV", subject),
        _document_type(catalogs, settings, "NC", subject),
        _tax(catalogs, settings, subject),
        _payment(catalogs, settings, "FV", subject),
        _payment(catalogs, settings, "NC", subject),
        _seller(catalogs, settings, subject),
    ]
    code = settings.shipping_product_code
    product = products.get(code) if code else None
    findings.append(
        Finding("catalog_shipping", True, "ok", {"code": str(code)}, subject)
        if product is not None and product.active
        else Finding("catalog_shipping", False, "missing", {"code": str(code or "—")}, subject)
    )
    return findings


def _document_type(
    catalogs: Catalogs, settings: InvoicingSettings, kind: str, subject: str
) -> Finding:
    check = f"catalog_{kind.lower()}"
    doc_id = settings.fv_document_id if kind == "FV" else settings.nc_document_id
    if doc_id is None:
        return Finding(check, False, "not_set", {}, subject)
    doc = catalogs.document_type(kind, doc_id)
    params = {"id": str(doc_id), "name": doc.name if doc is not None else "—"}
    if doc is None:
        return Finding(check, False, "not_found", params, subject)
    if not doc.active:
        return Finding(check, False, "inactive", params, subject)
    electronic = doc.electronic if kind == "FV" else catalogs.credit_note_is_electronic(doc)
    if not electronic:
        return Finding(check, False, "not_electronic", params, subject)
    return Finding(check, True, "ok", params, subject)


def _tax(catalogs: Catalogs, settings: InvoicingSettings, subject: str) -> Finding:
    tax = catalogs.tax(settings.iva_tax_id) if settings.iva_tax_id is not None else None
    usable = tax is not None and tax.active and tax.type.upper() == "IVA"
    return _setting("catalog_tax", settings.iva_tax_id, tax, usable, subject)


def _payment(catalogs: Catalogs, settings: InvoicingSettings, kind: str, subject: str) -> Finding:
    check = f"catalog_payment_{kind.lower()}"
    payment_id = settings.payment_type_id if kind == "FV" else settings.nc_payment_type_id
    payment = catalogs.payment_type(kind, payment_id) if payment_id is not None else None
    finding = _setting(check, payment_id, payment, payment is not None and payment.active, subject)
    if finding.ok and kind == "FV" and payment is not None and payment.due_date:
        return Finding(check, False, "due_date", finding.params, subject)
    return finding


def _seller(catalogs: Catalogs, settings: InvoicingSettings, subject: str) -> Finding:
    user = catalogs.user(settings.seller_id) if settings.seller_id is not None else None
    usable = user is not None and user.active
    return _setting("catalog_seller", settings.seller_id, user, usable, subject)


def _setting(
    check: str,
    value: int | None,
    row: Tax | PaymentType | SiigoUser | None,
    usable: bool,
    subject: str,
) -> Finding:
    """A catalog setting: not set, unusable (missing, inactive, wrong kind) or ok."""
    if value is None:
        return Finding(check, False, "not_set", {}, subject)
    name = row.full_name if isinstance(row, SiigoUser) else row.name if row is not None else "—"
    params = {"id": str(value), "name": name}
    return Finding(check, usable, "ok" if usable else "unusable", params, subject)


# --- clock ----------------------------------------------------------------------------------


async def check_clock(runtime: Runtime) -> Finding:
    """This machine's clock against each vendor's `Date` header (any answer carries one)."""
    worst: tuple[float, str] | None = None
    for vendor, http in (("MercadoLibre", runtime.meli_http), ("Siigo", runtime.siigo_http)):
        skew = await _skew(http)
        if skew is not None and (worst is None or abs(skew) > abs(worst[0])):
            worst = (skew, vendor)
    if worst is None:
        return Finding("clock", True, "unknown")
    params = {"seconds": str(round(abs(worst[0]))), "vendor": worst[1]}
    if abs(worst[0]) > MAX_CLOCK_SKEW_SECONDS:
        return Finding("clock", False, "skewed", params)
    return Finding("clock", True, "ok", params)


async def _skew(http: httpx.AsyncClient) -> float | None:
    try:
        response = await http.get("/")
        raw = response.headers.get("date")
        if not raw:
            return None
        vendor_now = parsedate_to_datetime(raw)
    except (httpx.HTTPError, TypeError, ValueError):
        return None
    return (datetime.now(UTC) - vendor_now).total_seconds()


# --- helpers --------------------------------------------------------------------------------


async def _connections(runtime: Runtime, tenant_id: int | None) -> list[Connection]:
    stmt = select(Connection).order_by(Connection.id)
    if tenant_id is not None:
        stmt = stmt.where(Connection.tenant_id == tenant_id)
    async with runtime.sessions() as session:
        return list((await session.execute(stmt)).scalars())


async def _integrations(runtime: Runtime, tenant_id: int | None) -> list[Integration]:
    stmt = select(Integration).where(Integration.active.is_(True)).order_by(Integration.id)
    if tenant_id is not None:
        stmt = stmt.where(Integration.tenant_id == tenant_id)
    async with runtime.sessions() as session:
        return list((await session.execute(stmt)).scalars())


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]
