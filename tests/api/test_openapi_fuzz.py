"""A short, seeded schemathesis run over `/openapi.json` with an owner's token: no operation
answers a 5xx for any input the schema allows (nor for the edge values hypothesis tries), except
a vendor that cannot be reached, which is a clear 502/503 with a code.

Bounded by count, never by elapsed time: a fixed number of derandomized examples for every
operation, so each run tries the same cases however busy the machine is (~15 s per database on
a quiet one). Requests go through httpx's ASGI transport on one event loop (an anyio portal), the
way the app really runs.
"""

from __future__ import annotations

from typing import Any

import anyio.from_thread
import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case

from conexapi.accounts.models import Role
from conexapi.accounts.service import create_user
from conexapi.app import create_app
from conexapi.db import transaction
from conexapi.runtime import Runtime
from tests.conftest import make_settings

EXAMPLES = 10
# Ends the owner's own session: the rest of the run would only see 401s.
SKIPPED = {"POST /api/v1/auth/sign-out-everywhere"}
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens there: every vendor call fails to connect
BASE = "http://testserver"


async def _start(runtime: Runtime) -> tuple[httpx.AsyncClient, dict[str, str]]:
    async with transaction(runtime.sessions) as session:
        await create_user(
            session,
            email="dueno@tienda.co",
            password="s3cret-pass",
            tenant_name="Tienda Fuzz",
            role=Role.OWNER,
        )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime), raise_app_exceptions=False),
        base_url=BASE,
    )
    login = await client.post(
        "/api/v1/auth/token", data={"username": "dueno@tienda.co", "password": "s3cret-pass"}
    )
    assert login.status_code == 200, login.text
    return client, {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _send(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response:
    data, content = kwargs.get("data"), kwargs.get("content")
    if isinstance(data, str | bytes):  # a raw body (text/csv...): httpx takes it as content
        data, content = None, data
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params") or None,
        json=kwargs.get("json"),
        data=data,
        content=content,
        files=kwargs.get("files"),
    )


async def _stop(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await client.aclose()
    await runtime.aclose()


def test_no_operation_answers_5xx(db_url: str) -> None:
    conf = make_settings(
        db_url, siigo_api_url=UNREACHABLE, meli_api_url=UNREACHABLE, login_max_failures=1000
    )
    runtime = Runtime.build(conf)
    schema = schemathesis.openapi.from_dict(create_app(runtime=runtime).openapi())
    failures: list[str] = []
    checked = 0
    with anyio.from_thread.start_blocking_portal() as portal:
        client, auth = portal.call(_start, runtime)
        try:
            for result in schema.get_all_operations():
                operation = result.ok()  # type: ignore[union-attr]
                if operation.label in SKIPPED:
                    continue

                @given(case=operation.as_strategy())
                @settings(
                    max_examples=EXAMPLES,
                    derandomize=True,
                    database=None,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Case[Any]) -> None:
                    kwargs = case.as_transport_kwargs(base_url=BASE, headers=auth)
                    response = portal.call(_send, client, kwargs)
                    if response.status_code < 500:
                        return
                    if response.status_code in (502, 503) and "code" in response.json():
                        return  # a vendor that cannot be reached: clear, not a crash
                    failures.append(
                        f"{case.operation.label} {case.path_parameters} {case.query} "
                        f"{case.body!r:.200}: {response.status_code} {response.text[:300]}"
                    )

                run()
                checked += 1
        finally:
            portal.call(_stop, client, runtime)
    assert checked > 40
    assert not failures, "\n".join(failures)
