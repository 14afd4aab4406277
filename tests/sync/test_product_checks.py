"""The product-code check before invoicing, shared by every worker process through the database.

Each "process" is its own `Runtime` (engine, process memory) on the same database and simulators;
Siigo's call counter tells how many `GET /v1/products` were made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from conexapi.connections.known_products import CHECK_SECONDS
from conexapi.connections.models import KnownProduct
from conexapi.core.clock import ManualClock
from conexapi.db import utcnow
from conexapi.integrations.service import SHIPPING_CODES
from conexapi.runtime import Runtime
from tests.stack import Stack, running_stack, stack_settings

SEED = 4242
SINGLE = ["single"] * 6


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


def lookups(stack: Stack) -> int:
    return int(stack.sandbox.siigo.stats()["calls"].get("GET /v1/products", 0))


async def invoiced_codes(stack: Stack) -> set[str]:
    """Product codes on the invoices Siigo has (the shipping product is checked elsewhere)."""
    return {
        str(item["code"])
        for invoice in await stack.siigo("invoices")
        for item in invoice["items"]
        if item["code"] not in SHIPPING_CODES
    }


async def known(stack: Stack) -> dict[str, datetime]:
    async with stack.runtime.sessions() as session:
        rows = (await session.execute(select(KnownProduct.code, KnownProduct.checked_at))).all()
    return {str(code): checked_at.replace(tzinfo=None) for code, checked_at in rows}


async def states(stack: Stack) -> list[str]:
    return [s["state"] for s in await stack.sales()]


def statements_on_known_product(runtime: Runtime) -> list[str]:
    """Every SQL statement `runtime` sends from now on that touches `known_product`."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "known_product" in statement:
            seen.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_two_processes_look_each_code_up_once_and_a_warm_one_asks_no_one(
    stack: Stack,
) -> None:
    before = lookups(stack)
    await stack.generate(len(SINGLE), kinds=SINGLE, seed=SEED)
    await stack.settle()  # process A: the stack's runtime
    assert await states(stack) == ["invoiced"] * len(SINGLE)
    codes = await invoiced_codes(stack)
    assert len(codes) > 1
    assert lookups(stack) - before == len(codes)  # one per code, not one per sale
    assert set(await known(stack)) == codes

    async with stack.other_process() as b:
        # The same seed: new sales of the same products, invoiced by a fresh process.
        statements = statements_on_known_product(b)
        await stack.generate(len(SINGLE), kinds=SINGLE, seed=SEED)
        await stack.settle(runtime=b)
        assert await states(stack) == ["invoiced"] * 2 * len(SINGLE)
        assert await invoiced_codes(stack) == codes
        assert lookups(stack) - before == len(codes)  # Siigo was not asked again...
        assert statements  # ...the database was
        assert all(s.lstrip().upper().startswith("SELECT") for s in statements)

        # B now remembers them itself: not even the database is asked.
        statements.clear()
        await stack.generate(len(SINGLE), kinds=SINGLE, seed=SEED)
        await stack.settle(runtime=b)
        assert await states(stack) == ["invoiced"] * 3 * len(SINGLE)
        assert statements == []
        assert lookups(stack) - before == len(codes)


async def test_concurrent_sales_of_one_process_share_a_lookup(stack: Stack) -> None:
    before = lookups(stack)
    await stack.generate(8, kinds=["variation"] * 8, seed=SEED)
    async with stack.other_process() as fresh:
        await stack.settle(runtime=fresh)  # up to 4 sales at a time (`worker_concurrency`)
    assert await states(stack) == ["invoiced"] * 8
    codes = await invoiced_codes(stack)
    assert lookups(stack) - before == len(codes) < 8


async def test_an_expired_check_is_made_again(stack: Stack) -> None:
    await stack.generate(1, kinds=["single"], seed=SEED)
    await stack.settle()
    [code] = await invoiced_codes(stack)
    after_first = lookups(stack)

    async with stack.other_process() as b:
        # B's time moves only when the test says, from the moment A checked the code.
        clock = ManualClock(start=(await known(stack))[code].replace(tzinfo=UTC).timestamp())
        b.clock = clock
        # As if checked almost CHECK_SECONDS ago: still good for 4 seconds of B's time.
        margin = 4.0
        aged = clock.utcnow() - timedelta(seconds=CHECK_SECONDS - margin)
        async with stack.runtime.sessions() as session:
            await session.execute(update(KnownProduct).values(checked_at=aged))
            await session.commit()
        await stack.generate(1, kinds=["single"], seed=SEED)
        await stack.settle(runtime=b)
        assert lookups(stack) == after_first  # found in the database, still fresh
        # B remembered it only for what was left of the check, not for a whole CHECK_SECONDS.
        clock.advance(margin + 1)
        await stack.generate(1, kinds=["single"], seed=SEED)
        await stack.settle(runtime=b)
        assert lookups(stack) == after_first + 1
        assert await states(stack) == ["invoiced"] * 3
        # The new check is stamped for everyone: a third process does not ask.
        assert (await known(stack))[code] > aged + timedelta(seconds=margin)
    async with stack.other_process() as c:
        await stack.generate(1, kinds=["single"], seed=SEED)
        await stack.settle(runtime=c)
        assert lookups(stack) == after_first + 1

    # Expired in the database: a fresh process asks Siigo again.
    async with stack.runtime.sessions() as session:
        past = utcnow() - timedelta(seconds=CHECK_SECONDS + 1)
        await session.execute(update(KnownProduct).values(checked_at=past))
        await session.commit()
    async with stack.other_process() as d:
        await stack.generate(1, kinds=["single"], seed=SEED)
        await stack.settle(runtime=d)
        assert lookups(stack) == after_first + 2
    assert await states(stack) == ["invoiced"] * 5


async def _retry(stack: Stack, sale_id: int) -> dict[str, Any]:
    r = await stack.api.post(f"/api/v1/sales/{sale_id}/retry", headers=stack.headers)
    assert r.status_code == 200, r.text
    await stack.settle()
    [sale] = [s for s in await stack.sales() if s["id"] == sale_id]
    return sale


async def test_a_missing_or_inactive_product_is_never_remembered(stack: Stack) -> None:
    before = lookups(stack)
    await stack.generate(1, kinds=["unknown_sku"])
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "needs_attention"
    assert sale["error"]["code"] == "unmapped_products"
    assert lookups(stack) == before + 1
    assert await known(stack) == {}
    sale = await _retry(stack, sale["id"])  # asked again: a miss is not remembered
    assert sale["error"]["code"] == "unmapped_products"
    assert lookups(stack) == before + 2

    # A mapping to a product that exists but is inactive is refused when saved.
    url = f"/api/v1/integrations/{stack.integration_id}/product-mappings/SKU-NO-SIIGO-99"
    r = await stack.api.put(url, json={"erp_code": "PROD-DESCONT-01"}, headers=stack.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "erp_code_inactive"
    assert await known(stack) == {}

    # Active when mapped, deactivated in Siigo since: the retry waits, and it is not remembered.
    product = stack.sandbox.siigo.default.product_by_code("PROD-DESCONT-01")
    assert product is not None
    product["active"] = True
    r = await stack.api.put(url, json={"erp_code": "PROD-DESCONT-01"}, headers=stack.headers)
    assert r.status_code == 200, r.text
    assert set(await known(stack)) == {"PROD-DESCONT-01"}  # the save's check is shared
    await stack.settle()  # the mapping made the waiting sale due at once
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    # Deactivated later: another sale of that SKU waits, and the code is forgotten.
    product["active"] = False
    async with stack.runtime.sessions() as session:
        await session.execute(update(KnownProduct).values(checked_at=datetime(2000, 1, 1)))
        await session.commit()
    stack.runtime.product_checks = None
    before = lookups(stack)
    await stack.generate(1, kinds=["unknown_sku"])
    await stack.settle()
    waiting = [s for s in await stack.sales() if s["state"] != "invoiced"]
    [sale] = waiting
    assert sale["error"]["code"] == "unmapped_products"
    assert lookups(stack) == before + 1
    # Siigo said inactive: the old positive is not refreshed (it stays expired).
    assert await known(stack) == {"PROD-DESCONT-01": datetime(2000, 1, 1)}

    # Activated in Siigo a second ago: the next try finds it, and from then on it is known.
    product["active"] = True
    sale = await _retry(stack, sale["id"])
    assert sale["state"] == "invoiced"
    assert lookups(stack) == before + 2
    assert set(await known(stack)) == {"PROD-DESCONT-01"}


async def test_a_product_siigo_refuses_on_an_invoice_is_checked_again(stack: Stack) -> None:
    await stack.generate(1, kinds=["single"], seed=SEED)
    await stack.settle()
    [code] = await invoiced_codes(stack)
    assert set(await known(stack)) == {code}
    after_first = lookups(stack)

    # Deactivated in Siigo while every process still remembers it as active.
    product = stack.sandbox.siigo.default.product_by_code(code)
    assert product is not None
    product["active"] = False
    await stack.generate(1, kinds=["single"], seed=SEED)
    await stack.settle()
    refused = [s for s in await stack.sales() if s["state"] != "invoiced"]
    [sale] = refused
    assert sale["state"] == "needs_attention"
    assert sale["error"]["code"] == "siigo_parameter_inactive"
    assert lookups(stack) == after_first  # the remembered check was trusted...
    assert await known(stack) == {}  # ...and is forgotten by every process

    # The retry asks Siigo, and explains what to fix.
    sale = await _retry(stack, sale["id"])
    assert sale["error"]["code"] == "unmapped_products"
    assert code in sale["error"]["message"]
    assert lookups(stack) == after_first + 1

    product["active"] = True
    sale = await _retry(stack, sale["id"])
    assert sale["state"] == "invoiced"
    assert lookups(stack) == after_first + 2


async def test_a_mapping_check_shares_what_siigo_said(stack: Stack) -> None:
    url = f"/api/v1/integrations/{stack.integration_id}/product-mappings"
    r = await stack.api.put(
        f"{url}/SKU-NO-SIIGO-99", json={"erp_code": "LAMP-LED-ESC"}, headers=stack.headers
    )
    assert r.status_code in (200, 201), r.text
    r = await stack.api.post(
        f"{url}/check", json={"skus": ["TERMO-INOX-750", "NOT-IN-SIIGO"]}, headers=stack.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["ok"] == 2
    assert set(await known(stack)) == {"LAMP-LED-ESC", "TERMO-INOX-750"}

    # A worker that never saw the code invoices with it without asking Siigo.
    before = lookups(stack)
    await stack.generate(1, kinds=["unknown_sku"])  # SKU-NO-SIIGO-99, now mapped
    async with stack.other_process() as fresh:
        await stack.settle(runtime=fresh)
    assert await states(stack) == ["invoiced"]
    assert await invoiced_codes(stack) == {"LAMP-LED-ESC"}
    assert lookups(stack) == before

    # Deactivated in Siigo: a check that sees it tells the workers to ask again.
    product = stack.sandbox.siigo.default.product_by_code("LAMP-LED-ESC")
    assert product is not None
    product["active"] = False
    r = await stack.api.post(f"{url}/check", json={"refresh": True}, headers=stack.headers)
    assert r.status_code == 200, r.text
    assert {i["sku"]: i["status"] for i in r.json()["items"]} == {"SKU-NO-SIIGO-99": "inactive"}
    assert set(await known(stack)) == {"TERMO-INOX-750"}
