"""A database that goes away and comes back, for tests: on one engine (one "process"), every
statement fails the way MariaDB's client reports a server that went away mid-restart
(`OperationalError` 2013, "Lost connection"), until the outage ends.

Only SQLAlchemy's public event API is used (`before_cursor_execute` on the engine): ConexAPI's
own code runs unchanged. The whole-product test with a real MariaDB restart is
tests/e2e/test_db_restart.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pymysql
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from conexapi.runtime import Runtime, build_http_client


class DatabaseOutage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.down = False
        self.failed_statements = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.down:
            self.failed_statements += 1
            raise OperationalError(
                statement,
                params,
                pymysql.err.OperationalError(2013, "Lost connection to server during query"),
            )

    def begin(self) -> None:
        self.down = True

    def end(self) -> None:
        self.down = False

    def remove(self) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._statement)


def trip_on(app: ASGIApp, outage: DatabaseOutage, method: str, path_suffix: str) -> ASGIApp:
    """The simulators, except that the database goes away the moment a request (say MercadoLibre's
    token endpoint) arrives: the vendor answers while our database is gone."""

    async def tripping(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == method
            and str(scope["path"]).endswith(path_suffix)
        ):
            outage.begin()
        await app(scope, receive, send)

    return tripping


async def point_at(runtime: Runtime, app: ASGIApp) -> None:
    """The runtime's MercadoLibre and Siigo clients call `app` (the simulators, maybe tripping)."""
    await runtime.meli_http.aclose()
    await runtime.siigo_http.aclose()
    transport = httpx.ASGITransport(app=app)
    runtime.meli_http = build_http_client(
        runtime.settings.mercadolibre.api_url, transport=transport
    )
    runtime.siigo_http = build_http_client(
        runtime.settings.siigo.api_url, timeout=120.0, transport=transport
    )
