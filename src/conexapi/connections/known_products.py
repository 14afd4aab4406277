"""Which product codes are active in a Siigo company, and their taxes: checked once, shared by
every worker.

Before an invoice goes out, each of its product codes is checked in Siigo
(`GET /v1/products?code=`): it must be active, and its `tax_classification` and `taxes[]`
decide each line's tax (docs/vendors/siigo.md §7, `erps.siigo.documents.taxes`). Siigo allows 100
requests per minute per company, shared by every worker, so a code found active is remembered
for `CHECK_SECONDS`, at two levels:

1. in the process (`ProductChecks`, kept on the runtime): a warm worker costs nothing, not even
   a database statement;
2. in the database (`known_product`): a fresh worker reads, in one query, the codes of the sale
   any process checked recently, and asks Siigo only about the rest.

An entry expires `CHECK_SECONDS` after Siigo was asked (the database's `checked_at`), whichever
level it is read from: a tax changed in Siigo reaches invoices within that time. A code recorded
as active without its taxes is asked again before invoicing. A code not found, or inactive, is
never remembered: a product created or activated a second ago is found at the next try. A code
Siigo refuses on a document, or that a mapping check finds missing, is forgotten
(`forget_products`, `record_checks`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cachetools import TLRUCache
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import KnownProduct
from conexapi.core.caches import LockTable
from conexapi.core.http import siigo_errors
from conexapi.db import naive_utc, retry_on_lock_conflict, upsert_many, utcnow
from conexapi.erps.siigo.client import SiigoClient
from conexapi.erps.siigo.documents.taxes import ProductTaxes, product_taxes
from conexapi.runtime import Runtime

CHECK_SECONDS = 600.0
MAX_CODES = 50_000
_ITEM_CODE = re.compile(r"items\[(\d+)\]\.code")


def is_active(product: dict[str, Any] | None) -> bool:
    """A product Siigo returned can go on an invoice (Siigo omits `active` on some answers)."""
    return product is not None and product.get("active", True) is not False


class ProductChecks:
    """The process's memory of active codes, and one lock per code so that the tasks of a
    process never ask Siigo about the same code at the same time.

    Bounded: at most `max_codes` remembered codes (least recently used dropped first; a dropped
    code is only read from `known_product` or asked again) and `max_codes` idle locks
    (`core.caches.LockTable`: a lock in use is never dropped)."""

    def __init__(
        self, *, max_codes: int = MAX_CODES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        # (connection id, code) -> (monotonic time the check expires, its taxes when known)
        self._checks: TLRUCache[tuple[int, str], tuple[float, ProductTaxes | None]] = TLRUCache(
            maxsize=max_codes, ttu=lambda _key, value, _now: value[0], timer=clock
        )
        self._locks: LockTable[tuple[int, str]] = LockTable(max_idle=max_codes)

    def __len__(self) -> int:
        return len(self._checks)

    def known(self, connection_id: int, code: str, *, with_taxes: bool = False) -> bool:
        check = self._checks.get((connection_id, code))
        fresh = check is not None and self._clock() < check[0]
        return fresh and (not with_taxes or (check is not None and check[1] is not None))

    def taxes(self, connection_id: int, code: str) -> ProductTaxes | None:
        check = self._checks.get((connection_id, code))
        return check[1] if check is not None and self._clock() < check[0] else None

    def remember(
        self,
        connection_id: int,
        code: str,
        *,
        age: float = 0.0,
        taxes: ProductTaxes | None = None,
    ) -> None:
        """`code` was found active `age` seconds ago (with its taxes, when known)."""
        expires = self._clock() + CHECK_SECONDS - max(age, 0.0)
        self._checks[(connection_id, code)] = (expires, taxes)

    def forget(self, connection_id: int, code: str) -> None:
        self._checks.pop((connection_id, code), None)

    def lock(self, connection_id: int, code: str) -> AbstractAsyncContextManager[None]:
        """Held while this process asks Siigo about the code (`async with`)."""
        return self._locks((connection_id, code))


def product_checks(runtime: Runtime) -> ProductChecks:
    """The runtime's memory (built on first use, sized by `CONEXAPI_CACHE_PRODUCT_CODES`, timed
    by the runtime's clock)."""
    if runtime.product_checks is None:
        runtime.product_checks = ProductChecks(
            max_codes=runtime.settings.cache_product_codes, clock=runtime.clock.monotonic
        )
    return runtime.product_checks


@dataclass
class ProductCheck:
    """What Siigo says about the codes of a document: their taxes, and the codes it cannot take."""

    taxes: dict[str, ProductTaxes] = field(default_factory=dict)
    inactive: list[str] = field(default_factory=list)


async def check_products(
    runtime: Runtime,
    client: SiigoClient,
    connection_id: int,
    codes: Sequence[str],
    *,
    fresh: bool = False,
) -> ProductCheck:
    """Each code's taxes, and the codes (in their order, without repeats) that are not active
    products in Siigo.

    Process memory first, then one query for the codes it does not know, then Siigo for the
    rest; what Siigo said about the active ones is recorded for every process. `fresh` asks
    Siigo for every code (an audit of issued invoices must see the products as they are now).
    """
    checks = product_checks(runtime)
    result = ProductCheck()

    def take_known(wanted: list[str]) -> list[str]:
        if fresh:
            return wanted
        rest = []
        for code in wanted:
            taxes = checks.taxes(connection_id, code)
            if taxes is not None and checks.known(connection_id, code, with_taxes=True):
                result.taxes[code] = taxes
            else:
                rest.append(code)
        return rest

    wanted = take_known(list(dict.fromkeys(codes)))
    if not wanted:
        return result
    async with AsyncExitStack() as stack:
        for code in sorted(wanted):  # always the same order: two sales never wait on each other
            await stack.enter_async_context(checks.lock(connection_id, code))
        # While this task waited, another one of the process may have checked some.
        wanted = take_known(wanted)
        if not wanted:
            return result
        for code, (age, taxes) in (await _recent(runtime, connection_id, wanted)).items():
            checks.remember(connection_id, code, age=age, taxes=taxes)
        wanted = take_known(wanted)
        found: dict[str, ProductTaxes] = {}
        try:
            for code in wanted:
                product = await client.get_product_by_code(code)
                if is_active(product):
                    assert product is not None
                    found[code] = product_taxes(product)
                else:
                    result.inactive.append(code)
        finally:
            # Also when a later lookup failed (a 429, say): those already made are not lost.
            if found:
                await _save(runtime, connection_id, found)
                for code, taxes in found.items():
                    checks.remember(connection_id, code, taxes=taxes)
        result.taxes.update(found)
    return result


async def _recent(
    runtime: Runtime, connection_id: int, codes: list[str]
) -> dict[str, tuple[float, ProductTaxes | None]]:
    """The codes any process found active less than `CHECK_SECONDS` ago -> (seconds since,
    their taxes when they were recorded with them)."""
    now = runtime.clock.utcnow()
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(
                    KnownProduct.code,
                    KnownProduct.checked_at,
                    KnownProduct.tax_classification,
                    KnownProduct.taxes,
                ).where(
                    KnownProduct.connection_id == connection_id,
                    KnownProduct.code.in_(codes),
                    KnownProduct.checked_at > now - timedelta(seconds=CHECK_SECONDS),
                )
            )
        ).all()
    found: dict[str, tuple[float, ProductTaxes | None]] = {}
    for code, checked_at, classification, taxes in rows:
        checked = naive_utc(checked_at)
        assert checked is not None
        known = (
            ProductTaxes(str(code), str(classification), tuple(int(t) for t in taxes or []))
            if classification
            else None
        )
        found[str(code)] = ((now - checked).total_seconds(), known)
    return found


async def _save(runtime: Runtime, connection_id: int, found: Mapping[str, ProductTaxes]) -> None:
    async def work() -> None:
        async with runtime.sessions() as session:
            await record_checks(
                session,
                connection_id,
                active=sorted(found),
                checked_at=runtime.clock.utcnow(),
                taxes=found,
            )
            await session.commit()

    await retry_on_lock_conflict(work)


async def record_checks(
    session: AsyncSession,
    connection_id: int,
    *,
    active: Sequence[str] = (),
    inactive: Sequence[str] = (),
    checked_at: datetime | None = None,
    taxes: Mapping[str, ProductTaxes] | None = None,
) -> None:
    """Writes, in the caller's transaction, what Siigo said about some codes at `checked_at`
    (default now): the active ones are (re)stamped as checked then, with their taxes (`taxes`;
    a code without them is asked again before invoicing), the others are no longer known. An
    older `checked_at` may replace a newer one: the code is only checked sooner."""
    when = checked_at or utcnow()
    taxes = taxes or {}
    rows = []
    for code in sorted(set(active)):
        known = taxes.get(code)
        rows.append(
            {
                "connection_id": connection_id,
                "code": code,
                "checked_at": when,
                "tax_classification": known.classification if known else None,
                "taxes": list(known.tax_ids) if known else [],
            }
        )
    await upsert_many(
        session,
        KnownProduct,
        rows,
        key=["connection_id", "code"],
        update=["checked_at", "tax_classification", "taxes"],
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
