"""Shared fixtures: a migrated database per test (SQLite and MariaDB), the app, signed-in users.

Database tests take the `db_url` fixture, parametrized over both backends. The schema is built
once per run with the real Alembic migrations (so the migrations are tested too); each test then
starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conexapi.app import create_app
from conexapi.migrations import upgrade
from conexapi.models import Base
from conexapi.runtime import Runtime
from conexapi.settings import Settings

MARIADB_URL = os.environ.get(
    "CONEXAPI_TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test"
)


def _mariadb_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 3306), timeout=1):
            return True
    except OSError:
        return False


def _backends() -> list[str]:
    """SQLite always; MariaDB when it answers (CI requires it: `.ci/run` starts it)."""
    if "CONEXAPI_TEST_BACKENDS" in os.environ:
        return [b.strip() for b in os.environ["CONEXAPI_TEST_BACKENDS"].split(",") if b.strip()]
    if os.environ.get("CI") or _mariadb_reachable():
        return ["sqlite", "mariadb"]
    print("\nMariaDB is not reachable on 127.0.0.1:3306: database tests run on SQLite only.")
    return ["sqlite"]


BACKENDS = _backends()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without MariaDB (a laptop; never CI) its whole-stack tests are not collected, like the
    MariaDB parameter of database tests: deselected, not skipped."""
    if "mariadb" in BACKENDS:
        return
    kept = [i for i in items if i.get_closest_marker("mariadb") is None]
    deselected = [i for i in items if i.get_closest_marker("mariadb") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _sync_url(url: str) -> str:
    return url.replace("+aiomysql", "+pymysql").replace("+aiosqlite", "")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def mariadb_migrated() -> str:
    engine = sa.create_engine(_sync_url(MARIADB_URL))
    with engine.begin() as conn:
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
        for (table,) in conn.execute(sa.text("SHOW TABLES")).fetchall():
            conn.execute(sa.text(f"DROP TABLE `{table}`"))
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
    engine.dispose()
    upgrade(MARIADB_URL)
    return MARIADB_URL


_SYNC_ENGINES: dict[str, sa.Engine] = {}


def _truncate_mariadb(url: str) -> None:
    # One engine (and pooled connection) per URL for the whole run, not a new connection a test.
    engine = _SYNC_ENGINES.get(url)
    if engine is None:
        engine = _SYNC_ENGINES[url] = sa.create_engine(
            _sync_url(url), pool_size=1, pool_pre_ping=True
        )
    with engine.begin() as conn:
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
        for table in Base.metadata.sorted_tables:
            conn.execute(sa.text(f"DELETE FROM `{table.name}`"))
        # Deleting sales fired the triggers that write tallies and day marks: none may remain.
        conn.execute(sa.text("DELETE FROM sale_state_tally"))
        conn.execute(sa.text("DELETE FROM sale_day_mark"))
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.db"
        shutil.copy(template, target)
        yield f"sqlite+aiosqlite:///{target}"
    elif request.param == "mariadb":
        url: str = request.getfixturevalue("mariadb_migrated")
        _truncate_mariadb(url)
        yield url
    else:
        raise ValueError(f"unknown backend {request.param}")


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": db_url,
        # This test's own machine-local files (the token spool), never the working directory.
        "data_dir": tempfile.mkdtemp(prefix="conexapi-test-"),
        "log_json": False,
        "log_level": "WARNING",
        "meli_client_id": "sandbox-app",
        "meli_client_secret": "sandbox-secret",
        "meli_application_id": "5503910054141466",
        "public_url": "http://testserver",
        "login_max_failures": 3,
        # No application budget unless a test is about it (the sandbox has no quota either).
        "meli_requests_per_second": 0,
    }
    if overrides.get("env", "test") != "production":
        # A tiny Argon2id cost: every signed-in user of a test hashes and checks a password (the
        # default costs 0.1-1 s a hash on a busy 2-core machine; production refuses a tiny one).
        values.update(password_hash_time_cost=1, password_hash_memory_kib=64)
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    await rt.aclose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    # Like a browser, which sends Origin on every POST (the dashboard refuses a POST without it).
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"Origin": "http://testserver"}
    ) as c:
        yield c


@dataclass
class SignedIn:
    user_id: int
    tenant_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(
    runtime: Runtime,
    client: httpx.AsyncClient,
    *,
    email: str,
    tenant: str,
    role: str = "owner",
    password: str = "s3cret-pass",
) -> SignedIn:
    from conexapi.accounts.models import Role
    from conexapi.accounts.service import create_user
    from conexapi.db import transaction

    async with transaction(runtime.sessions) as session:
        user = await create_user(
            session, email=email, password=password, tenant_name=tenant, role=Role(role)
        )
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return SignedIn(user.id, user.tenant_id, email, response.json()["access_token"])


@pytest.fixture
async def owner(runtime: Runtime, client: httpx.AsyncClient) -> SignedIn:
    return await sign_up(runtime, client, email="owner@tienda.co", tenant="Tienda A")


@pytest.fixture
async def other_owner(runtime: Runtime, client: httpx.AsyncClient) -> SignedIn:
    return await sign_up(runtime, client, email="owner@otra.co", tenant="Tienda B")
