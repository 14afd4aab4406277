"""Raising, resolving, listing and delivering alerts.

- `raise_alert` records an alert, deduplicated per (tenant, kind, subject) while it is open.
- `scan_for_alerts(runtime)` looks at connections needing re-authorization and at sales needing
  a person (two cheap GROUP BY queries), raises what is new and resolves what has cleared. The
  worker's upkeep loop calls it periodically.
- `deliver_pending_alerts(runtime)` sends open alerts by outgoing webhook (POST JSON) and/or
  e-mail (SMTP from `CONEXAPI_SMTP_URL`), recording every attempt; failures are retried with
  backoff up to `MAX_DELIVERY_ATTEMPTS`. Several workers may call it at once: each alert is
  claimed with a conditional UPDATE before it is sent.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.alerts.models import Alert, AlertKind, AlertSettings, AlertStatus, DeliveryState
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.core.errors import Unprocessable
from conexapi.db import insert_ignore, transaction, utcnow
from conexapi.runtime import USER_AGENT, Runtime
from conexapi.sync.models import Sale, SaleState

log = structlog.get_logger("conexapi.alerts")

MAX_DELIVERY_ATTEMPTS = 6
CLAIM_SECONDS = 300
SMTP_FROM_DEFAULT = "ConexAPI <alertas@conexapi.dev>"

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


def _clean_url(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Unprocessable(
            "La URL del webhook debe empezar por https:// (o http://).", code="invalid_webhook_url"
        )
    return url[:500]


async def save_settings(
    session: AsyncSession, *, tenant_id: int, webhook_url: str | None, email_to: str | None
) -> AlertSettings:
    url, emails = _clean_url(webhook_url), _clean_emails(email_to)
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
        Connection.id, Connection.tenant_id, Connection.provider, Connection.account_name
    ).where(Connection.status == ConnectionStatus.NEEDS_REAUTH.value)
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
    for cid, tid, provider, name in (await session.execute(conn_stmt)).all():
        label = PROVIDER_NAMES.get(provider, provider)
        subject = f"connection:{cid}"
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


# --- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    use_ssl: bool
    starttls: bool
    sender: str

    @classmethod
    def from_env(cls) -> SmtpConfig | None:
        """`CONEXAPI_SMTP_URL`: smtp://user:pass@host:587?starttls=1, or smtps://host:465."""
        raw = os.environ.get("CONEXAPI_SMTP_URL")
        if not raw:
            return None
        parts = urlsplit(raw)
        query = parse_qs(parts.query)
        use_ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if use_ssl else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_ssl=use_ssl,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            sender=os.environ.get("CONEXAPI_SMTP_FROM", SMTP_FROM_DEFAULT),
        )


EmailSender = Callable[[str, str, str], Awaitable[None]]  # (to, subject, body)


def smtp_sender(config: SmtpConfig) -> EmailSender:
    def _send(to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = config.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        smtp: smtplib.SMTP
        if config.use_ssl:
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=20, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=20)
        with smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username and config.password:
                smtp.login(config.username, config.password)
            smtp.send_message(msg)

    async def send(to: str, subject: str, body: str) -> None:
        await asyncio.to_thread(_send, to, subject, body)

    return send


def _payload(alert: Alert, public_url: str) -> dict[str, Any]:
    path = str(alert.data.get("path", "/app"))
    return {
        "id": alert.id,
        "tenant_id": alert.tenant_id,
        "kind": alert.kind,
        "subject": alert.subject,
        "status": alert.status,
        "message": alert.message,
        "data": alert.data,
        "created_at": alert.created_at.isoformat(),
        "url": public_url.rstrip("/") + path,
    }


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def _claim(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    due = or_(Alert.next_delivery_at.is_(None), Alert.next_delivery_at <= now)
    ids = list(
        (
            await session.execute(
                select(Alert.id)
                .where(Alert.delivery_state == DeliveryState.PENDING.value, due)
                .order_by(Alert.id)
                .limit(limit)
            )
        ).scalars()
    )
    claimed: list[int] = []
    for alert_id in ids:
        result = await session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.delivery_state == DeliveryState.PENDING.value, due)
            .values(next_delivery_at=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(alert_id)
    return claimed


async def _send_one(
    alert: Alert,
    settings: AlertSettings | None,
    *,
    http: httpx.AsyncClient,
    email: EmailSender | None,
    public_url: str,
) -> list[dict[str, Any]]:
    """Tries every configured channel not yet delivered; returns the attempts made."""
    done = {e["channel"] for e in alert.delivery_log if e.get("ok")}
    attempts: list[dict[str, Any]] = []
    at = utcnow().isoformat()
    payload = _payload(alert, public_url)
    if settings and settings.webhook_url and "webhook" not in done:
        try:
            response = await http.post(
                settings.webhook_url,
                json=payload,
                headers={"User-Agent": USER_AGENT, "X-ConexAPI-Event": alert.kind},
                timeout=10.0,
            )
            ok = 200 <= response.status_code < 300
            attempts.append(
                {"at": at, "channel": "webhook", "ok": ok, "status": response.status_code}
                | ({} if ok else {"error": f"HTTP {response.status_code}"})
            )
        except httpx.HTTPError as exc:
            attempts.append(
                {"at": at, "channel": "webhook", "ok": False, "error": type(exc).__name__}
            )
    if settings and settings.email_to and "email" not in done:
        if email is None:
            attempts.append(
                {
                    "at": at,
                    "channel": "email",
                    "ok": False,
                    "error": "CONEXAPI_SMTP_URL no está configurado",
                }
            )
        else:
            try:
                body = f"{alert.message}\n\nÁbralo en ConexAPI: {payload['url']}\n"
                await email(settings.email_to, f"[ConexAPI] {alert.message[:120]}", body)
                attempts.append({"at": at, "channel": "email", "ok": True})
            except (OSError, smtplib.SMTPException) as exc:
                attempts.append(
                    {"at": at, "channel": "email", "ok": False, "error": type(exc).__name__}
                )
    return attempts


async def deliver_pending_alerts(
    runtime: Runtime,
    *,
    http: httpx.AsyncClient | None = None,
    email: EmailSender | None = None,
    limit: int = 50,
) -> int:
    """Sends due alerts; returns how many were fully delivered in this round."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        ids = await _claim(session, now, limit)
    if not ids:
        return 0
    if email is None:
        smtp = SmtpConfig.from_env()
        email = smtp_sender(smtp) if smtp else None
    own_http = http is None
    client = http or httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    delivered = 0
    try:
        for alert_id in ids:
            async with transaction(runtime.sessions) as session:
                alert = await session.get(Alert, alert_id)
                if alert is None:
                    continue
                settings = await get_settings(session, tenant_id=alert.tenant_id)
                configured = bool(settings and (settings.webhook_url or settings.email_to))
                if not configured:
                    alert.delivery_state = DeliveryState.SKIPPED.value
                    alert.next_delivery_at = None
                    continue
                attempts = await _send_one(
                    alert,
                    settings,
                    http=client,
                    email=email,
                    public_url=runtime.settings.public_url,
                )
                alert.delivery_log = [*alert.delivery_log, *attempts][-30:]
                alert.delivery_attempts += 1
                if all(a["ok"] for a in attempts):
                    alert.delivery_state = DeliveryState.DELIVERED.value
                    alert.delivered_at = utcnow()
                    alert.next_delivery_at = None
                    delivered += 1
                elif alert.delivery_attempts >= MAX_DELIVERY_ATTEMPTS:
                    alert.delivery_state = DeliveryState.FAILED.value
                    alert.next_delivery_at = None
                    log.warning("alert.delivery_failed", alert_id=alert.id)
                else:
                    alert.next_delivery_at = utcnow() + _backoff(alert.delivery_attempts)
    finally:
        if own_http:
            await client.aclose()
    return delivered


def delivery_summary(alerts: Sequence[Alert]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for alert in alerts:
        summary[alert.delivery_state] = summary.get(alert.delivery_state, 0) + 1
    return summary
