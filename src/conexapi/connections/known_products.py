"""Which product codes are active in a Siigo company: checked once, shared by every worker.

Before an invoice goes out, each of its product codes is checked in Siigo
(`GET /v1/products?code=`). Siigo allows 100 requests per minute per company, shared by every
worker, so a code found active is remembered for `CHECK_SECONDS`, at two levels:

1. in the process (`ProductChecks`, kept on the runtime): a warm worker costs nothing, not even
   a database statement;
2. in the database (`known_product`): a fresh worker reads, in one query, the codes of the sale
   any process checked recently, and asks Siigo only about the rest.

An entry expires `CHECK_SECONDS` after Siigo was asked (the database's `checked_at`), whichever
level it is read from. A code not found, or inactive, is never remembered: a product created or
activated a second ago is found at the next try. A code Siigo refuses on a document, or that a
mapping check finds missing, is forgotten (`forget_products`, `record_checks`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import KnownProduct
from conexapi.core.http import siigo_errors
from conexapi.db import naive_utc, retry_on_lock_conflict, upsert_many, utcnow
from conexapi.erps.siigo.client import SiigoClient
from conexapi.runtime import Runtime

CHECK_SECONDS = 600.0
_EXTRAS_KEY = "product_checks"
_ITEM_CODE = re.compile(r"items\[(\d+)\]\.code")


def is_active(product: dict[str, Any] | None) -> bool:
    """A product Siigo returned can go on an invoice (Siigo omits `active` on some answers)."""
    return product is not None and product.get("active", True) is not False


class ProductChecks:
    """The process's memory of active codes, and one lock per code so that the tasks of a
    process never ask Siigo about the same code at the same time."""

    def __init__(self) -> None:
        # (connection id, code) -> monotonic time the check expires
        self._expires: dict[tuple[int, str], float] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def known(self, connection_id: int, code: str) -> bool:
        expires = self._expires.get((connection_id, code))
        return expires is not None and time.monotonic() < expires

    def remember(self, connection_id: int, code: str, *, age: float = 0.0) -> None:
        """`code` was found active `age` seconds ago."""
        self._expires[(connection_id, code)] = time.monotonic() + CHECK_SECONDS - max(age, 0.0)

    def forget(self, connection_id: int, code: str) -> None:
        self._expires.pop((connection_id, code), None)

    def lock(self, connection_id: int, code: str) -> asyncio.Lock:
        lock = self._locks.get((connection_id, code))
        if lock is None:
            lock = self._locks[(connection_id, code)] = asyncio.Lock()
        return lock


def product_checks(runtime: Runtime) -> ProductChecks:
    checks = runtime.extras.get(_EXTRAS_KEY)
    if not isinstance(checks, ProductChecks):
        checks = ProductChecks()
        runtime.extras[_EXTRAS_KEY] = checks
    return checks


async def inactive_codes(
    runtime: Runtime, client: SiigoClient, connection_id: int, codes: Sequence[str]
) -> list[str]:
    """The codes (in their order, without repeats) that are not active products in Siigo.

    Process memory first, then one query for the codes it does not know, then Siigo for the
    rest; the codes Siigo found active are recorded for every process.
    """
    checks = product_checks(runtime)
    wanted = [c for c in dict.fromkeys(codes) if not checks.known(connection_id, c)]
    if not wanted:
        return []
    async with AsyncExitStack() as stack:
        for code in sorted(wanted):  # always the same order: two sales never wait on each other
            await stack.enter_async_context(checks.lock(connection_id, code))
        # While this task waited, another one of the process may have checked some.
        wanted = [c for c in wanted if not checks.known(connection_id, c)]
        if not wanted:
            return []
        for code, age in (await _recent(runtime, connection_id, wanted)).items():
            checks.remember(connection_id, code, age=age)
        inactive: list[str] = []
        found: list[str] = []
        try:
            for code in wanted:
                if checks.known(connection_id, code):
                    continue
                if is_active(await client.get_product_by_code(code)):
                    found.append(code)
                else:
                    inactive.append(code)
        finally:
            # Also when a later lookup failed (a 429, say): those already made are not lost.
            if found:
                await _save(runtime, connection_id, found)
                for code in found:
                    checks.remember(connection_id, code)
    return inactive


async def _recent(runtime: Runtime, connection_id: int, codes: list[str]) -> dict[str, float]:
    """The codes any process found active less than `CHECK_SECONDS` ago -> seconds since."""
    now = utcnow()
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(KnownProduct.code, KnownProduct.checked_at).where(
                    KnownProduct.connection_id == connection_id,
                    KnownProduct.code.in_(codes),
                    KnownProduct.checked_at > now - timedelta(seconds=CHECK_SECONDS),
                )
            )
        ).all()
    ages: dict[str, float] = {}
    for code, checked_at in rows:
        checked = naive_utc(checked_at)
        assert checked is not None
        ages[str(code)] = (now - checked).total_seconds()
    return ages


async def _save(runtime: Runtime, connection_id: int, codes: list[str]) -> None:
    async def work() -> None:
        async with runtime.sessions() as session:
            await record_checks(session, connection_id, active=codes)
            await session.commit()

    await retry_on_lock_conflict(work)


async def record_checks(
    session: AsyncSession,
    connection_id: int,
    *,
    active: Sequence[str] = (),
    inactive: Sequence[str] = (),
    checked_at: datetime | None = None,
) -> None:
    """Writes, in the caller's transaction, what Siigo said about some codes at `checked_at`
    (default now): the active ones are (re)stamped as checked then, the others are no longer
    known. An older `checked_at` may replace a newer one: the code is only checked sooner."""
    when = checked_at or utcnow()
    rows = [
        {"connection_id": connection_id, "code": code, "checked_at": when}
        for code in sorted(set(active))
    ]
    await upsert_many(
        session, KnownProduct, rows, key=["connection_id", "code"], update=["checked_at"]
    )
    if inactive:
        await session.execute(
            delete(KnownProduct).where(
                KnownProduct.connection_id == connection_id,
                KnownProduct.code.in_(sorted(set(inactive))),
            )
        )


async def forget_products(runtime: Runtime, connection_id: int, codes: Sequence[str]) -> None:
    """Siigo refused these codes: the next invoice that uses them asks Siigo again (this
    process and any process without its own memory of them)."""
    if not codes:
        return
    checks = product_checks(runtime)
    for code in codes:
        checks.forget(connection_id, code)

    async def work() -> None:
        async with runtime.sessions() as session:
            await record_checks(session, connection_id, inactive=codes)
            await session.commit()

    await retry_on_lock_conflict(work)


def refused_codes(body: Any, items: Sequence[dict[str, Any]]) -> list[str]:
    """The product codes of `items` that a Siigo error answer points at (either casing,
    `core.http.siigo_errors`): by parameter (`items[2].code`) or by name in the message."""
    codes = [str(item.get("code") or "") for item in items]
    refused: list[str] = []
    for error in siigo_errors(body):
        for param in error.params:
            match = _ITEM_CODE.fullmatch(param)
            if match and int(match.group(1)) < len(codes):
                refused.append(codes[int(match.group(1))])
        refused += [
            code
            for code in codes
            if code and re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", error.message)
        ]
    return [c for c in dict.fromkeys(refused) if c]
