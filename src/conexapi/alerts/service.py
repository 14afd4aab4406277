"""Raising, resolving and listing alerts, and the tenant's alert settings.

- `raise_alert` records an alert, deduplicated per (tenant, kind, subject) while it is open.
- `scan_for_alerts(runtime)` looks at connections needing re-authorization and at sales needing
  a person (two cheap GROUP BY queries), raises what is new and resolves what has cleared. The
  worker's upkeep loop calls it periodically.
- Delivery (webhook and e-mail) lives in `alerts.delivery`.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.alerts.models import Alert, AlertKind, AlertSettings, AlertStatus, DeliveryState
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.core import outbound
from conexapi.core.errors import Unprocessable
from conexapi.db import insert_ignore, transaction, utcnow
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sync.models import Sale

log = structlog.get_logger("conexapi.alerts")


PROVIDER_NAMES = {"mercadolibre": "MercadoLibre", "siigo": "Siigo"}


def _open_key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"[:170]


async def raise_alert(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    message: str,
    data: dict[str, Any],
    subject: str = "",
) -> Alert:
    """Opens an alert, or refreshes the message and data of the one already open (no re-send)."""
    key = _open_key(kind, subject)
    now = utcnow()
    inserted = await insert_ignore(
        session,
        Alert,
        {
            "tenant_id": tenant_id,
            "kind": kind,
            "subject": subject[:120],
            "open_key": key,
            "status": AlertStatus.OPEN.value,
            "message": message,
            "data": data,
            "delivery_state": DeliveryState.PENDING.value,
            "delivery_attempts": 0,
            "delivery_log": [],
            "created_at": now,
            "updated_at": now,
        },
    )
    alert = (
        await session.execute(
            select(Alert)
            .where(Alert.tenant_id == tenant_id, Alert.open_key == key)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if not inserted and (alert.message != message or alert.data != data):
        alert.message = message
        alert.data = data
        await session.flush()
    if inserted:
        log.info("alert.raised", tenant_id=tenant_id, kind=kind, subject=subject)
    return alert


async def resolve_alert(session: AsyncSession, *, tenant_id: int, kind: str, subject: str) -> bool:
    result = await session.execute(
        update(Alert)
        .where(Alert.tenant_id == tenant_id, Alert.open_key == _open_key(kind, subject))
        .values(open_key=None, status=AlertStatus.RESOLVED.value, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def resolve_alert_by_id(session: AsyncSession, *, tenant_id: int, alert_id: int) -> bool:
    """A person marks an alert as handled; the next scan re-opens it if the cause remains."""
    result = await session.execute(
        update(Alert)
        .where(
            Alert.tenant_id == tenant_id,
            Alert.id == alert_id,
            Alert.status == AlertStatus.OPEN.value,
        )
        .values(open_key=None, status=AlertStatus.RESOLVED.value, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_alerts(
    session: AsyncSession, *, tenant_id: int, only_open: bool = True, limit: int = 50
) -> list[Alert]:
    stmt = select(Alert).where(Alert.tenant_id == tenant_id)
    if only_open:
        stmt = stmt.where(Alert.status == AlertStatus.OPEN.value)
    stmt = stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


# --- settings -------------------------------------------------------------------------------


async def get_settings(session: AsyncSession, *, tenant_id: int) -> AlertSettings | None:
    return (
        await session.execute(select(AlertSettings).where(AlertSettings.tenant_id == tenant_id))
    ).scalar_one_or_none()


def _clean_emails(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    emails = [e.strip() for e in raw.replace(";", ",").split(",") if e.strip()]
    for email in emails:
        local, _, domain = email.partition("@")
        if not local or "." not in domain or any(c in email for c in " <>\r\n"):
            raise Unprocessable(f"El correo «{email}» no es válido.", code="invalid_email")
    return ", ".join(emails)[:500]


async def _clean_url(
    raw: str | None, *, allow_private: bool, resolver: outbound.Resolver | None
) -> str | None:
    if not raw or not raw.strip():
        return None
    url = raw.strip()
    try:
        await outbound.validate_url(url, allow_private=allow_private, resolver=resolver)
    except outbound.UnsafeURL as exc:
        raise Unprocessable(text(f"outbound.{exc.reason}"), code="invalid_webhook_url") from exc
    return url


async def save_settings(
    session: AsyncSession,
    *,
    tenant_id: int,
    webhook_url: str | None,
    email_to: str | None,
    allow_private_urls: bool = False,
    resolver: outbound.Resolver | None = None,
) -> AlertSettings:
    """Where the tenant's alerts go. The webhook URL must be https and resolve only to public
    addresses (`core.outbound`; `allow_private_urls` lifts that for development and tests)."""
    url = await _clean_url(webhook_url, allow_private=allow_private_urls, resolver=resolver)
    emails = _clean_emails(email_to)
    row = await get_settings(session, tenant_id=tenant_id)
    if row is None:
        row = AlertSettings(tenant_id=tenant_id)
        session.add(row)
    row.webhook_url = url
    row.email_to = emails
    await session.flush()
    return row


# --- detection ------------------------------------------------------------------------------


async def scan_tenant_alerts(session: AsyncSession, *, tenant_id: int | None = None) -> int:
    """Raises and resolves alerts from the current state; returns how many are open after."""
    conn_stmt = select(
        Connection.id,
        Connection.tenant_id,
        Connection.provider,
        Connection.account_name,
        Connection.status,
        Connection.meta,
    ).where(
        Connection.status.in_(
            (ConnectionStatus.NEEDS_REAUTH.value, ConnectionStatus.NEEDS_PERMISSION.value)
        )
    )
    sales_stmt = select(Sale.tenant_id, Sale.state, func.count(Sale.id)).where(
        Sale.state.in_([SaleState.NEEDS_ATTENTION.value, SaleState.DEAD.value])
    )
    open_stmt = select(Alert.tenant_id, Alert.kind, Alert.subject).where(
        Alert.status == AlertStatus.OPEN.value
    )
    if tenant_id is not None:
        conn_stmt = conn_stmt.where(Connection.tenant_id == tenant_id)
        sales_stmt = sales_stmt.where(Sale.tenant_id == tenant_id)
        open_stmt = open_stmt.where(Alert.tenant_id == tenant_id)
    wanted: set[tuple[int, str, str]] = set()
    for cid, tid, provider, name, status, meta in (await session.execute(conn_stmt)).all():
        label = PROVIDER_NAMES.get(provider, provider)
        subject = f"connection:{cid}"
        if status == ConnectionStatus.NEEDS_PERMISSION.value:
            kind = AlertKind.CONNECTION_NEEDS_PERMISSION.value
            wanted.add((tid, kind, subject))
            missing = (meta or {}).get("missing_permissions") or ["unknown"]
            permission = ", ".join(text(f"permission.{p}") for p in missing)
            await raise_alert(
                session,
                tenant_id=tid,
                kind=kind,
                subject=subject,
                message=text(
                    "alert.needs_permission", permission=permission, account=name or str(cid)
                ),
                data={
                    "connection_id": cid,
                    "provider": provider,
                    "permissions": missing,
                    "path": "/app/connections",
                },
            )
            continue
        wanted.add((tid, AlertKind.CONNECTION_NEEDS_REAUTH.value, subject))
        await raise_alert(
            session,
            tenant_id=tid,
            kind=AlertKind.CONNECTION_NEEDS_REAUTH.value,
            subject=subject,
            message=f"La conexión con {label} ({name or 'sin nombre'}) necesita volver a "
            "autorizarse. Mientras tanto no se facturan ventas nuevas.",
            data={"connection_id": cid, "provider": provider, "path": "/app/conexiones"},
        )
    rows = await session.execute(sales_stmt.group_by(Sale.tenant_id, Sale.state))
    for tid, state, count in rows.all():
        n = int(count)
        if state == SaleState.NEEDS_ATTENTION.value:
            kind = AlertKind.SALES_NEED_ATTENTION.value
            message = (
                f"{n} venta{'s' if n != 1 else ''} requiere{'n' if n != 1 else ''} atención: "
                "revise el motivo y corríjalo desde Ventas."
            )
        else:
            kind = AlertKind.SALES_DEAD.value
            message = (
                f"{n} venta{'s' if n != 1 else ''} agotó los reintentos automáticos; "
                "reinténtela(s) a mano desde Ventas."
            )
        wanted.add((tid, kind, "sales"))
        await raise_alert(
            session,
            tenant_id=tid,
            kind=kind,
            subject="sales",
            message=message,
            data={"count": n, "state": state, "path": f"/app/ventas?state={state}"},
        )
    still_open = 0
    for tid, kind, subject in (await session.execute(open_stmt)).all():
        if (tid, kind, subject) in wanted:
            still_open += 1
        elif kind in {k.value for k in AlertKind}:
            await resolve_alert(session, tenant_id=tid, kind=kind, subject=subject)
    return still_open


async def scan_for_alerts(runtime: Runtime) -> int:
    """For the worker's upkeep loop: one scan over every tenant, in its own transaction."""
    async with transaction(runtime.sessions) as session:
        return await scan_tenant_alerts(session)
