"""The alert webhook is a URL a tenant chooses and the worker calls: it must never reach our own
network (SSRF). https only, public addresses only (checked when saved and again at send time,
after resolving, connecting to the address checked), no redirects, and the delivery status the
tenant sees never carries the low-level error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select, update

from conexapi.alerts.delivery import deliver_pending_alerts
from conexapi.alerts.models import Alert, AlertSettings
from conexapi.alerts.service import raise_alert, save_settings
from conexapi.core import outbound
from conexapi.db import transaction
from conexapi.runtime import Runtime
from tests.conftest import SignedIn, make_settings, sign_up
from tests.web.conftest import web_login

SETTINGS = "/api/v1/alerts/settings"
PUBLIC_IP = "93.184.216.34"

INTERNAL = [
    "https://127.0.0.1/hook",
    "https://127.0.0.1:8000/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://224.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://localhost/hook",  # resolves to loopback
]


def resolving_to(*answers: list[str]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver whose successive answers are `answers` (the last one repeats)."""
    queue = list(answers)

    async def resolve(host: str, port: int) -> list[str]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return resolve


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_addresses_are_refused_by_default(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime, url: str
) -> None:
    r = await client.put(SETTINGS, json={"webhook_url": url}, headers=owner.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_webhook_url"
    assert "interna" in r.json()["message"] or "servidor" in r.json()["message"]
    async with runtime.sessions() as session:
        assert (await session.execute(select(AlertSettings))).first() is None


async def test_only_https_and_a_clear_spanish_error(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    for url, words in [
        ("http://hooks.tienda.co/x", "https://"),
        ("ftp://hooks.tienda.co/x", "https://"),
        ("https://user:pw@hooks.tienda.co/x", "sin usuario"),
        ("javascript:alert(1)", "https://"),
    ]:
        r = await client.put(SETTINGS, json={"webhook_url": url}, headers=owner.headers)
        assert r.status_code == 422, url
        assert words in r.json()["message"], (url, r.json())


async def test_a_public_https_url_is_saved_and_read_back(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    runtime.url_resolver = resolving_to([PUBLIC_IP])
    body = {"webhook_url": "https://hooks.tienda.co/conexapi", "email_to": "conta@tienda.co"}
    r = await client.put(SETTINGS, json=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(SETTINGS, headers=owner.headers)).json() == body
    # A name with one internal answer among public ones is refused too.
    runtime.url_resolver = resolving_to([PUBLIC_IP, "10.1.2.3"])
    r = await client.put(
        SETTINGS, json={"webhook_url": "https://mixed.tienda.co/"}, headers=owner.headers
    )
    assert r.status_code == 422
    # Viewers read, only admins change.
    viewer = await sign_up(runtime, client, email="ver@tienda.co", tenant="Tienda A", role="viewer")
    assert (await client.get(SETTINGS, headers=viewer.headers)).status_code == 200
    r = await client.put(SETTINGS, json={"webhook_url": None}, headers=viewer.headers)
    assert r.status_code == 403


async def test_the_dashboard_form_applies_the_same_rule(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    csrf = await web_login(client, owner.email)
    r = await client.post(
        "/app/alerts/settings",
        data={"webhook_url": "https://169.254.169.254/latest", "email_to": "", "csrf_token": csrf},
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 303
    page = await client.get("/app/alerts")
    assert "dirección interna" in page.text
    async with runtime.sessions() as session:
        assert (await session.execute(select(AlertSettings))).first() is None


async def _pending_alert(runtime: Runtime, owner: SignedIn) -> None:
    async with transaction(runtime.sessions) as session:
        await raise_alert(
            session,
            tenant_id=owner.tenant_id,
            kind="sales_dead",
            subject="sales",
            message="1 venta falló",
            data={"count": 1},
        )


async def _alert(runtime: Runtime) -> Alert:
    async with runtime.sessions() as session:
        return (await session.execute(select(Alert))).scalar_one()


async def test_dns_rebinding_is_caught_at_send_time(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    """Public when saved, 127.0.0.1 when the worker sends: nothing is sent."""
    async with transaction(runtime.sessions) as session:
        await save_settings(
            session,
            tenant_id=owner.tenant_id,
            webhook_url="https://rebind.attacker.example/hook",
            email_to=None,
            resolver=resolving_to([PUBLIC_IP]),
        )
    await _pending_alert(runtime, owner)
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as http:
        delivered = await deliver_pending_alerts(
            runtime, http=http, resolver=resolving_to(["127.0.0.1"])
        )
    assert delivered == 0
    assert sent == []
    alert = await _alert(runtime)
    [attempt] = alert.delivery_log
    assert attempt["code"] == "unsafe"
    assert attempt["error"].startswith("No se envió")


async def test_the_request_goes_to_the_address_that_was_checked(
    runtime: Runtime, owner: SignedIn
) -> None:
    async with transaction(runtime.sessions) as session:
        await save_settings(
            session,
            tenant_id=owner.tenant_id,
            webhook_url="https://hooks.tienda.co:8443/conexapi?x=1",
            email_to=None,
            resolver=resolving_to([PUBLIC_IP]),
        )
    await _pending_alert(runtime, owner)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert (
            await deliver_pending_alerts(runtime, http=http, resolver=resolving_to([PUBLIC_IP]))
            == 1
        )
    [request] = sent
    assert str(request.url) == f"https://{PUBLIC_IP}:8443/conexapi?x=1"
    assert request.headers["host"] == "hooks.tienda.co:8443"
    assert request.extensions["sni_hostname"] == "hooks.tienda.co"
    assert json.loads(request.content)["kind"] == "sales_dead"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (httpx.Response(302, headers={"Location": "http://127.0.0.1:8000/"}), "redirected"),
        (httpx.Response(403, text="internal admin panel"), "rejected"),
        (httpx.ReadError("connection reset by 10.0.0.7"), "unreachable"),
    ],
)
async def test_the_tenant_never_sees_the_low_level_outcome(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: SignedIn,
    answer: httpx.Response | Exception,
    code: str,
) -> None:
    async with transaction(runtime.sessions) as session:
        await save_settings(
            session,
            tenant_id=owner.tenant_id,
            webhook_url="https://hooks.tienda.co/conexapi",
            email_to=None,
            resolver=resolving_to([PUBLIC_IP]),
        )
    await _pending_alert(runtime, owner)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert (
            await deliver_pending_alerts(runtime, http=http, resolver=resolving_to([PUBLIC_IP]))
            == 0
        )
    assert len(sent) == 1  # a redirect is not followed
    [attempt] = (await _alert(runtime)).delivery_log
    assert attempt["code"] == code
    await web_login(client, owner.email)
    page = (await client.get("/app/alerts")).text
    assert attempt["error"] in page
    for leak in ("ReadError", "HTTP 403", "403", "302", "10.0.0.7", "internal admin panel"):
        assert leak not in page.split("Historial", 1)[1], leak


async def test_entries_written_before_show_no_raw_error(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await _pending_alert(runtime, owner)
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(Alert).values(
                delivery_log=[{"at": "x", "channel": "webhook", "ok": False, "error": "ReadError"}]
            )
        )
    await web_login(client, owner.email)
    page = (await client.get("/app/alerts")).text
    assert "ReadError" not in page
    assert "No se pudo entregar." in page


async def test_allow_private_urls_lets_development_use_local_services(
    db_url: str, owner: SignedIn
) -> None:
    runtime = Runtime.build(make_settings(db_url, allow_private_urls=True))
    try:
        async with transaction(runtime.sessions) as session:
            row = await save_settings(
                session,
                tenant_id=owner.tenant_id,
                webhook_url="http://127.0.0.1:9000/hook",
                email_to=None,
                allow_private_urls=True,
            )
            assert row.webhook_url == "http://127.0.0.1:9000/hook"
        await _pending_alert(runtime, owner)
        sent: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(204)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            assert await deliver_pending_alerts(runtime, http=http) == 1
        assert str(sent[0].url) == "http://127.0.0.1:9000/hook"
    finally:
        await runtime.aclose()


def test_public_address_rule() -> None:
    assert outbound.is_public_address(PUBLIC_IP)
    assert outbound.is_public_address("2606:4700:4700::1111")
    for internal in (
        "127.0.0.1",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "192.0.2.1",
        "not an ip",
    ):
        assert not outbound.is_public_address(internal), internal
