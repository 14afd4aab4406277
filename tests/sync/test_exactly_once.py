"""Exactly once under lost responses, crashes, duplicates and concurrent workers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from conexapi.db import utcnow
from conexapi.erps.siigo.client import siigo_client
from conexapi.erps.siigo.documents.invoice import idempotency_key, marker
from conexapi.integrations.models import Integration
from conexapi.sales.states import DocumentStatus
from conexapi.sync import queue
from conexapi.sync.issuing import find_by_marker
from conexapi.sync.models import Document, Sale, SaleEvent
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    # No quick retries within an attempt: these tests follow a lost outcome across attempts and
    # crashes (`test_a_lost_response_is_replayed_within_the_attempt` has them on).
    async with running_stack(stack_settings(db_url, vendor_call_retries=0)) as s:
        await s.connect()
        yield s


async def _faults(stack: Stack, **siigo: Any) -> None:
    r = await stack.control.put("/_sandbox/faults", json={"siigo": siigo})
    assert r.status_code == 200, r.text


def _keys(invoices: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(i["idempotency_key"]) for i in invoices)


async def test_a_lost_response_is_replayed_and_adopted_not_duplicated(stack: Stack) -> None:
    generated = await stack.generate(6, mix={"single": 1})
    await _faults(stack, lost_response_rate=1.0)
    worker = stack.worker()
    assert await worker.run_once() == 6
    # Siigo created every invoice but answered 500: ConexAPI does not know the outcome.
    assert len(await stack.siigo("invoices")) == 6
    async with stack.runtime.sessions() as session:
        statuses = (await session.execute(select(Document.status))).scalars().all()
    assert set(statuses) == {DocumentStatus.IN_FLIGHT.value}
    await _faults(stack, lost_response_rate=0.0)
    await stack.settle()
    invoices = await stack.siigo("invoices")
    assert len(invoices) == 6
    assert set(_keys(invoices).values()) == {1}
    sales = await stack.sales()
    assert {s["state"] for s in sales} == {"invoiced"}
    assert {s["invoice"]["erp_id"] for s in sales} == {i["id"] for i in invoices}
    assert len(generated) == 6


async def test_a_lost_response_is_replayed_within_the_attempt(db_url: str) -> None:
    """With quick retries on, a keyed POST whose answer was lost is sent again at once with the
    same Idempotency-Key: Siigo answers the invoice it created, and the attempt succeeds."""
    settings = stack_settings(db_url, vendor_call_retries=2, vendor_call_retry_base_seconds=0)
    async with running_stack(settings) as stack:
        await stack.connect()
        await stack.generate(3, mix={"single": 1})
        await _faults(stack, lost_response_rate=0.5)
        await stack.settle()
        invoices = await stack.siigo("invoices")
        assert len(invoices) == 3
        assert set(_keys(invoices).values()) == {1}
        assert stack.sandbox.faults.injected.get("siigo.lost_response", 0) > 0
        async with stack.runtime.sessions() as session:
            sales = (await session.execute(select(Sale))).scalars().all()
        assert {s.state for s in sales} == {"invoiced"}


async def test_a_worker_killed_between_the_erp_call_and_its_commit(stack: Stack) -> None:
    """The state such a crash leaves: the invoice exists in Siigo, our row is in flight, the
    dead worker's lease still on the sale. The next worker adopts the invoice."""
    await stack.generate(1, mix={"single": 1})
    await _faults(stack, lost_response_rate=1.0)
    await stack.worker().run_once()
    await _faults(stack, lost_response_rate=0.0)
    async with stack.runtime.sessions() as session:
        await session.execute(
            update(Sale).values(
                lease_owner="dead-worker",
                lease_until=utcnow() + timedelta(minutes=5),
                next_attempt_at=utcnow(),
            )
        )
        await session.commit()
    assert await stack.worker().run_once() == 0  # the lease still holds
    async with stack.runtime.sessions() as session:
        await session.execute(update(Sale).values(lease_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
    await stack.settle()
    invoices = await stack.siigo("invoices")
    assert len(invoices) == 1
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["invoice"]["erp_id"] == invoices[0]["id"]


async def test_the_marker_in_observations_finds_an_invoice_whose_outcome_was_lost(
    stack: Stack,
) -> None:
    """Siigo may consume a key on a 500 and refuse its replay (docs/vendors/siigo.md §12): the
    marker written into `observations` is then the way to find, and adopt, the invoice."""
    await stack.generate(1, mix={"single": 1})
    await _faults(stack, lost_response_rate=1.0)
    await stack.worker().run_once()
    await _faults(stack, lost_response_rate=0.0)
    async with stack.runtime.sessions() as session:
        doc = (await session.execute(select(Document))).scalar_one()
        sale = (await session.execute(select(Sale))).scalar_one()
        integration = await session.get(Integration, sale.integration_id)
    assert integration is not None
    assert doc.erp_id is None
    client = siigo_client(stack.runtime, integration.siigo_connection_id)
    found = await find_by_marker(client, doc)
    [invoice] = await stack.siigo("invoices")
    assert found is not None
    assert found["id"] == invoice["id"]
    assert marker(doc.idempotency_key) in found["observations"]


async def test_duplicate_notifications_and_concurrent_workers_make_one_invoice_each(
    stack: Stack,
) -> None:
    r = await stack.control.put("/_sandbox/faults", json={"notifications": {"duplicate_rate": 1.0}})
    assert r.status_code == 200
    generated = await stack.generate(30, mix={"single": 3, "pack": 1, "shipping_buyer": 1})
    await stack.settle(workers=3)
    await stack.advance()  # the last orders of some packs are paid later
    await stack.settle(workers=3)
    invoices = await stack.siigo("invoices")
    keys = _keys(invoices)
    assert set(keys.values()) == {1}
    expected = {
        idempotency_key(stack.integration_id, str(g["external_id"]), "FV", 1) for g in generated
    }
    assert set(keys) == expected


async def test_siigo_errors_are_retried_and_429s_do_not_burn_attempts(stack: Stack) -> None:
    await stack.generate(10, mix={"single": 1})
    await _faults(stack, error_rate=0.3, rate_limit_rate=0.3)
    for _ in range(6):
        await stack.settle()
    await _faults(stack)
    await stack.settle()
    sales = await stack.sales()
    assert {s["state"] for s in sales} == {"invoiced"}
    assert set(_keys(await stack.siigo("invoices")).values()) == {1}
    async with stack.runtime.sessions() as session:
        kinds = (await session.execute(select(SaleEvent.kind))).scalars().all()
    assert "deferred" in kinds or "retrying" in kinds


async def test_a_permanent_siigo_error_waits_for_a_person_with_the_reason(stack: Stack) -> None:
    await stack.generate(1, mix={"single": 1})
    # Siigo's clock is two days ahead: our "today" is in its past, so it refuses the date.
    # A validation error must never be retried blindly (Siigo blocks users failing > 80 %).
    r = await stack.control.put("/_sandbox/clock", json={"offset_days": 2})
    assert r.status_code == 200, r.text
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "needs_attention"
    assert sale["error"]["code"] == "siigo_invalid_date"
    assert "Siigo rechazó" in sale["error"]["message"]
    assert sale["attempts"] == 0
    calls = (await stack.control.get("/_sandbox/siigo/stats")).json()
    assert await stack.siigo("invoices") == []
    # Once the cause is gone, a retry by hand invoices it.
    await stack.control.put("/_sandbox/clock", json={"offset_days": 0})
    r = await stack.api.post(f"/api/v1/sales/{sale['id']}/retry", headers=stack.headers)
    assert r.status_code == 200
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced", sale
    assert calls
    stats = (await stack.control.get("/_sandbox/siigo/stats")).json()
    assert "POST /v1/invoices" in str(stats)


async def test_failed_rechecks_of_an_invoiced_sale_never_make_it_dead(stack: Stack) -> None:
    [g] = await stack.generate(1, mix={"single": 1})
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    r = await stack.control.put("/_sandbox/faults", json={"mercadolibre": {"error_rate": 1.0}})
    assert r.status_code == 200
    for n in range(10):
        async with stack.runtime.sessions() as session:
            await queue.make_sale_due(session, sale["id"])
            await session.commit()
        assert await stack.worker().run_once() == 1, n
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["attempts"] == 0
    await stack.control.put("/_sandbox/faults", json={"mercadolibre": {}})
    async with stack.runtime.sessions() as session:
        await queue.make_sale_due(session, sale["id"])
        await session.commit()
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["next_attempt_at"] is None
    assert len(await stack.siigo("invoices")) == 1
    assert g["external_id"]


def test_a_worker_process_knows_every_table(tmp_path: Any) -> None:
    """`conexapi worker` imports no router: building its Runtime must load every model."""
    import subprocess
    import sys

    code = (
        "from conexapi.runtime import Runtime\n"
        "from conexapi.settings import Settings\n"
        "Runtime.build(Settings(_env_file=None))\n"
        "from conexapi.sync.models import Sale\n"
        "print(sorted(fk.column.table.name for fk in Sale.__table__.foreign_keys))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    # The last line: the process may log first (e.g. where it generated its keys).
    assert out.stdout.strip().splitlines()[-1] == "['integration', 'tenant']"
