"""Alert e-mail goes out through a real SMTP conversation (aiosmtplib) with a local aiosmtpd
server the test starts: login with the secret password, the sender and recipients from the
settings and the alert settings, failures recorded for the next attempt."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from conexapi.accounts.service import create_user
from conexapi.alerts.delivery import deliver_pending_alerts
from conexapi.alerts.models import Alert
from conexapi.alerts.service import raise_alert, save_settings
from conexapi.db import transaction
from conexapi.runtime import Runtime
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@dataclass
class Mailbox:
    """What the SMTP server received: messages and the logins it accepted."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"alertas"
            and auth_data.password == PASSWORD.encode()
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers the 535 itself.
        return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        # A local test server without a certificate: allow AUTH on the plain connection.
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
async def mail_runtime(
    db_url: str, smtp_server: tuple[Mailbox, int], request: pytest.FixtureRequest
) -> AsyncIterator[Runtime]:
    _, port = smtp_server
    password = getattr(request, "param", PASSWORD)
    rt = Runtime.build(
        make_settings(
            db_url,
            smtp_url=f"smtp://alertas@127.0.0.1:{port}",
            smtp_password=password,
            smtp_from="ConexAPI Alertas <alertas@conexapi.dev>",
        )
    )
    yield rt
    await rt.aclose()


async def _raise_alert_for_email(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        user = await create_user(
            session, email="owner@tienda.co", password="s3cret-pass", tenant_name="Tienda A"
        )
        await save_settings(
            session, tenant_id=user.tenant_id, webhook_url=None, email_to="conta@tienda.co"
        )
        await raise_alert(
            session,
            tenant_id=user.tenant_id,
            kind="connection_needs_reauth",
            subject="mercadolibre",
            message="MercadoLibre revocó el acceso: vuelva a conectar la cuenta",
            data={"path": "/app/connections"},
        )


async def _alert(runtime: Runtime) -> Alert:
    async with runtime.sessions() as session:
        return (await session.execute(select(Alert))).scalar_one()


async def test_alert_email_is_sent_over_smtp_with_the_secret_password(
    mail_runtime: Runtime, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp_server
    await _raise_alert_for_email(mail_runtime)
    assert await deliver_pending_alerts(mail_runtime) == 1
    assert mailbox.logins == ["alertas"]
    [(mail_from, rcpt_tos, content)] = mailbox.messages
    assert mail_from == "alertas@conexapi.dev"
    assert rcpt_tos == ["conta@tienda.co"]
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["From"] == "ConexAPI Alertas <alertas@conexapi.dev>"
    assert message["Subject"].startswith("[ConexAPI] MercadoLibre revocó el acceso")
    body = message.get_content()
    assert "http://testserver/app/connections" in body
    alert = await _alert(mail_runtime)
    assert alert.delivery_state == "delivered"
    assert [(e["channel"], e["ok"]) for e in alert.delivery_log] == [("email", True)]


@pytest.mark.parametrize("mail_runtime", ["wrong password"], indirect=True)
async def test_a_refused_login_is_recorded_and_retried_later(
    mail_runtime: Runtime, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp_server
    await _raise_alert_for_email(mail_runtime)
    assert await deliver_pending_alerts(mail_runtime) == 0
    assert mailbox.messages == []
    alert = await _alert(mail_runtime)
    assert alert.delivery_state == "pending"
    assert alert.next_delivery_at is not None
    [attempt] = alert.delivery_log
    assert attempt["channel"] == "email"
    assert attempt["ok"] is False
    # The tenant reads a sentence, not the SMTP library's exception (that goes to our logs).
    assert attempt["code"] == "email_failed"
    assert attempt["error"] == "No se pudo enviar el correo."


async def test_an_unreachable_server_is_recorded(db_url: str) -> None:
    rt = Runtime.build(make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{_free_port()}"))
    try:
        await _raise_alert_for_email(rt)
        assert await deliver_pending_alerts(rt) == 0
        alert = await _alert(rt)
        assert alert.delivery_state == "pending"
        assert alert.delivery_log[0]["ok"] is False
        assert alert.delivery_log[0]["code"] == "email_failed"
    finally:
        await rt.aclose()
