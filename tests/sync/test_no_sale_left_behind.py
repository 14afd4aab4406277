"""The sweep, backfills, cancellations and refunds, DIAN status, re-authorization."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from conexapi.operations.schemas import BackfillRequest
from conexapi.operations.service import start_backfill
from conexapi.sales.clock import colombia_today
from conexapi.sync.backfill import run_backfill
from conexapi.sync.models import Job
from conexapi.sync.sweep import sweep_integration
from conexapi.sync.upkeep import resume_reauthorized
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _drop_notifications(stack: Stack, rate: float = 1.0) -> None:
    r = await stack.control.put("/_sandbox/faults", json={"notifications": {"drop_rate": rate}})
    assert r.status_code == 200


async def test_the_sweep_finds_every_sale_the_notifications_missed(stack: Stack) -> None:
    await _drop_notifications(stack, 0.7)
    generated = await stack.generate(40, mix={"single": 4, "shipping_buyer": 1})
    stats = (await stack.control.get("/_sandbox/mercadolibre/stats")).json()
    assert stats["notifications"]["dropped"] > 10
    await stack.settle()
    assert len(await stack.sales()) < 40
    seen = await sweep_integration(stack.runtime, stack.integration_id)
    assert seen >= 40
    await stack.settle()
    sales = await stack.sales()
    assert len(sales) == 40
    assert {s["state"] for s in sales} == {"invoiced"}
    keys = Counter(i["idempotency_key"] for i in await stack.siigo("invoices"))
    assert len(keys) == len(generated) == 40
    assert set(keys.values()) == {1}
    # A second sweep finds the same orders again and changes nothing.
    await sweep_integration(stack.runtime, stack.integration_id)
    await stack.settle()
    assert len(await stack.siigo("invoices")) == 40


async def test_a_backfill_interrupted_and_resumed_brings_every_sale_once(stack: Stack) -> None:
    await _drop_notifications(stack)
    await stack.generate(120, mix={"single": 1})
    today = colombia_today()
    async with stack.runtime.sessions() as session:
        job = await start_backfill(
            session,
            tenant_id=stack.owner.tenant_id,
            integration_id=stack.integration_id,
            request=BackfillRequest(date_from=today, date_to=today),
        )
        await session.commit()
        job_id = job.id
    first = await run_backfill(stack.runtime, job_id, max_pages=1)  # then "interrupted"
    assert first == 50
    async with stack.runtime.sessions() as session:
        interrupted = await session.get(Job, job_id)
        assert interrupted is not None
        assert interrupted.state == "running"
        assert interrupted.cursor["offset"] == 50
    job_api = await stack.api.get(f"/api/v1/jobs/{job_id}", headers=stack.headers)
    assert job_api.json()["done"] == 50
    async with stack.runtime.sessions() as session:  # the interrupted run's lease expires
        expired = await session.get(Job, job_id)
        assert expired is not None
        expired.lease_until = None
        await session.commit()
    rest = await run_backfill(stack.runtime, job_id)
    assert first + rest == 120
    async with stack.runtime.sessions() as session:
        job = (await session.execute(select(Job))).scalar_one()
        assert job.state == "done"
        assert job.done == 120
    await stack.settle()
    assert len(await stack.siigo("invoices")) == 120


async def test_backfill_api_validates_the_range(stack: Stack) -> None:
    r = await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/backfill",
        json={"date_from": "2026-01-10", "date_to": "2026-01-01"},
        headers=stack.headers,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
    r = await stack.api.post(
        "/api/v1/integrations/999/backfill",
        json={"date_from": colombia_today().isoformat(), "date_to": colombia_today().isoformat()},
        headers=stack.headers,
    )
    assert r.status_code == 404


async def test_a_cancellation_before_invoicing_skips_the_invoice(stack: Stack) -> None:
    [g] = await stack.generate(1, mix={"single": 1})
    r = await stack.control.post(f"/_sandbox/mercadolibre/orders/{g['order_ids'][0]}/cancel")
    assert r.status_code == 200, r.text
    await stack.sandbox.notifier.drain()
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "skipped"
    assert await stack.siigo("invoices") == []


async def test_a_cancellation_racing_an_invoice_in_flight_gets_a_credit_note(stack: Stack) -> None:
    [g] = await stack.generate(1, mix={"single": 1})
    await stack.control.put("/_sandbox/faults", json={"siigo": {"lost_response_rate": 1.0}})
    await stack.worker().run_once()  # invoice created in Siigo, outcome unknown to us
    await stack.control.put("/_sandbox/faults", json={"siigo": {}})
    await stack.control.post(f"/_sandbox/mercadolibre/orders/{g['order_ids'][0]}/cancel")
    await stack.sandbox.notifier.drain()
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "credited"
    assert len(await stack.siigo("invoices")) == 1
    [note] = await stack.siigo("credit-notes")
    assert note["reason"] == 2
    assert str(note["total"]) == str((await stack.siigo("invoices"))[0]["total"])


async def test_refunds_after_invoicing_get_one_credit_note_per_refund(stack: Stack) -> None:
    [g] = await stack.generate(1, mix={"single": 1})
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    order = g["order_ids"][0]
    r = await stack.control.post(
        f"/_sandbox/mercadolibre/orders/{order}/refund", json={"amount": 10000}
    )
    assert r.status_code == 200, r.text
    await stack.sandbox.notifier.drain()
    await stack.settle()
    notes = await stack.siigo("credit-notes")
    assert len(notes) == 1
    # Money back without goods coming back: a discount (DIAN concept 3), never a return (1).
    assert notes[0]["reason"] == 3
    # The same refund seen again (another notification) issues nothing new.
    await sweep_integration(stack.runtime, stack.integration_id)
    await stack.settle()
    assert len(await stack.siigo("credit-notes")) == 1
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["credit_note"] is not None


async def test_a_dian_rejection_waits_for_attention_with_the_reasons(stack: Stack) -> None:
    r = await stack.control.post(
        "/_sandbox/siigo/reject-next", json={"message": "Regla: FAK24, Rechazo: NIT no válido"}
    )
    assert r.status_code == 200, r.text
    await stack.generate(1, mix={"single": 1})
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "needs_attention"
    assert sale["error"]["code"] == "dian_rejected"
    assert "FAK24" in sale["error"]["message"]
    assert sale["invoice"]["stamp_status"] == "Rejected"
    # Fixed and resent from Siigo Nube; a retry reads the new status.
    await stack.control.post(
        f"/_sandbox/siigo/invoices/{sale['invoice']['erp_id']}/stamp", json={"status": "Accepted"}
    )
    await stack.api.post(f"/api/v1/sales/{sale['id']}/retry", headers=stack.headers)
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["invoice"]["stamp_status"] == "Accepted"
    assert len(await stack.siigo("invoices")) == 1


async def test_the_dian_status_is_polled_until_final(stack: Stack) -> None:
    await stack.control.put("/_sandbox/siigo/stamp-mode", json={"mode": "delay", "delay_polls": 1})
    await stack.generate(1, mix={"single": 1})
    await stack.worker().run_once()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert sale["invoice"]["stamp_status"] != "Accepted"
    assert sale["next_attempt_at"] is not None
    for _ in range(4):
        await stack.settle()
        [sale] = await stack.sales()
        if sale["invoice"]["stamp_status"] == "Accepted":
            break
    assert sale["invoice"]["stamp_status"] == "Accepted"
    assert sale["next_attempt_at"] is None


async def test_a_revoked_seller_waits_and_resumes_after_reconnecting(stack: Stack) -> None:
    seller = 779432305
    await stack.control.post(f"/_sandbox/mercadolibre/sellers/{seller}/revoke")
    await stack.generate(2, mix={"single": 1})
    await stack.settle()
    sales = await stack.sales()
    assert {s["state"] for s in sales} == {"pending"}
    assert {s["error"]["code"] for s in sales} == {"mercadolibre_needs_reauth"}
    conns = (await stack.api.get("/api/v1/connections", headers=stack.headers)).json()
    ml = next(c for c in conns if c["provider"] == "mercadolibre")
    assert ml["status"] == "needs_reauth"
    assert ml["last_error"]
    await stack.connect_mercadolibre()
    assert await resume_reauthorized(stack.runtime) == 2
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}


async def test_the_accepted_invoice_pdf_can_be_attached_to_the_mercadolibre_sale(
    db_url: str,
) -> None:
    async with running_stack(stack_settings(db_url)) as stack:
        await stack.connect(settings={"upload_invoice_to_marketplace": True})
        [g] = await stack.generate(1, mix={"single": 1})
        await stack.settle()
        [sale] = await stack.sales()
        assert sale["state"] == "invoiced"
        uploaded = stack.sandbox.ml.fiscal_documents[int(g["external_id"])]
        assert len(uploaded) == 1
        assert uploaded[0]["filename"].endswith(".pdf")
        # Processing the sale again (another notification) uploads nothing more.
        await sweep_integration(stack.runtime, stack.integration_id)
        await stack.settle()
        assert len(stack.sandbox.ml.fiscal_documents[int(g["external_id"])]) == 1


async def test_by_default_no_pdf_is_uploaded(stack: Stack) -> None:
    [g] = await stack.generate(1, mix={"single": 1})
    await stack.settle()
    assert stack.sandbox.ml.fiscal_documents.get(int(g["external_id"])) in (None, [])
