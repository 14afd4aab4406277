"""Delivering open alerts: outgoing webhook (POST JSON) and/or e-mail (SMTP from
`CONEXAPI_SMTP_URL`, sent with aiosmtplib), every attempt recorded, failures retried with backoff
up to `MAX_DELIVERY_ATTEMPTS`. Several workers may deliver at once: each alert is claimed with a
conditional UPDATE before it is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.alerts.models import Alert, AlertSettings, DeliveryState
from conexapi.alerts.service import get_settings
from conexapi.core import outbound
from conexapi.db import transaction, utcnow
from conexapi.messages import CATALOGUE, text
from conexapi.runtime import USER_AGENT, Runtime
from conexapi.settings import SmtpSection

log = structlog.get_logger("conexapi.alerts")

MAX_DELIVERY_ATTEMPTS = 6
CLAIM_SECONDS = 300

EmailSender = Callable[[str, str, str], Awaitable[None]]  # (to, subject, body)


def smtp_sender(config: SmtpSection) -> EmailSender:
    """Sends with aiosmtplib on the event loop (no thread per e-mail)."""

    async def send(to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = config.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        await aiosmtplib.send(
            msg,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            use_tls=config.use_tls,
            start_tls=config.start_tls,
            timeout=config.timeout_seconds,
        )

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


def url_resolver(runtime: Runtime) -> outbound.Resolver | None:
    """The resolver for URLs called on a tenant's behalf: `runtime.url_resolver` when a test
    set one, else the system's (None)."""
    return runtime.url_resolver


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


def _attempt(at: str, channel: str, code: str | None, **extra: Any) -> dict[str, Any]:
    """One delivery attempt as the log keeps it: what failed is a catalogue code and its
    Spanish text, never the low-level error (which goes to our logs only); the tenant must not
    learn what answered at an address (`core.outbound`)."""
    if code is None:
        return {"at": at, "channel": channel, "ok": True, **extra}
    return {
        "at": at,
        "channel": channel,
        "ok": False,
        "code": code,
        "error": text(f"alerts.delivery.{code}"),
    }


def delivery_error(entry: dict[str, Any]) -> str:
    """The Spanish text of a failed attempt (entries written before the codes: a generic one)."""
    code = entry.get("code")
    key = f"alerts.delivery.{code}"
    return (
        text(key) if isinstance(code, str) and key in CATALOGUE else text("alerts.delivery.failed")
    )


async def _send_one(
    alert: Alert,
    settings: AlertSettings | None,
    *,
    http: httpx.AsyncClient,
    email: EmailSender | None,
    public_url: str,
    allow_private: bool = False,
    resolver: outbound.Resolver | None = None,
) -> list[dict[str, Any]]:
    """Tries every configured channel not yet delivered; returns the attempts made."""
    done = {e["channel"] for e in alert.delivery_log if e.get("ok")}
    attempts: list[dict[str, Any]] = []
    at = utcnow().isoformat()
    payload = _payload(alert, public_url)
    if settings and settings.webhook_url and "webhook" not in done:
        try:
            response = await outbound.post_json(
                http,
                settings.webhook_url,
                payload,
                headers={"User-Agent": USER_AGENT, "X-ConexAPI-Event": alert.kind},
                allow_private=allow_private,
                resolver=resolver,
            )
            ok = 200 <= response.status_code < 300
            code = None if ok else "redirected" if 300 <= response.status_code < 400 else "rejected"
            attempts.append(_attempt(at, "webhook", code, status=response.status_code))
        except outbound.UnsafeURL as exc:
            log.warning("alert.webhook_refused", alert_id=alert.id, reason=exc.reason)
            attempts.append(_attempt(at, "webhook", "unsafe"))
        except httpx.HTTPError as exc:
            log.info("alert.webhook_failed", alert_id=alert.id, error=type(exc).__name__)
            attempts.append(_attempt(at, "webhook", "unreachable"))
    if settings and settings.email_to and "email" not in done:
        if email is None:
            attempts.append(_attempt(at, "email", "no_smtp"))
        else:
            try:
                body = f"{alert.message}\n\nÁbralo en ConexAPI: {payload['url']}\n"
                await email(settings.email_to, f"[ConexAPI] {alert.message[:120]}", body)
                attempts.append(_attempt(at, "email", None))
            except (OSError, TimeoutError, aiosmtplib.SMTPException) as exc:
                log.info("alert.email_failed", alert_id=alert.id, error=type(exc).__name__)
                attempts.append(_attempt(at, "email", "email_failed"))
    return attempts


async def deliver_pending_alerts(
    runtime: Runtime,
    *,
    http: httpx.AsyncClient | None = None,
    email: EmailSender | None = None,
    limit: int = 50,
    resolver: outbound.Resolver | None = None,
) -> int:
    """Sends due alerts; returns how many were fully delivered in this round. `resolver`
    resolves webhook hosts (the system's by default; `runtime.url_resolver` if set)."""
    resolver = resolver or url_resolver(runtime)
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        ids = await _claim(session, now, limit)
    if not ids:
        return 0
    if email is None:
        smtp = runtime.settings.smtp
        email = smtp_sender(smtp) if smtp else None
    own_http = http is None
    client = http or httpx.AsyncClient(
        timeout=outbound.SEND_TIMEOUT_SECONDS, follow_redirects=False
    )
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
                    allow_private=runtime.settings.allow_private_urls,
                    resolver=resolver,
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
