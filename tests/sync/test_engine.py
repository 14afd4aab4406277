"""The sync engine end to end against the simulators: every scenario kind, exactly once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from conexapi.erps.siigo.documents.invoice import idempotency_key
from conexapi.sandbox.fiscal_scenarios import FISCAL_KINDS
from conexapi.sandbox.scenarios import KINDS
from tests.stack import Stack, running_stack, stack_settings

# Every kind but the fiscal ones, whose timers and checks have their own end-to-end test
# (tests/sync/test_fiscal_engine.py).
ALL_KINDS = [kind for kind in KINDS if kind not in FISCAL_KINDS]


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


def _invoice_of(note: dict[str, Any]) -> str:
    ref = note.get("invoice")
    return str(ref.get("id") if isinstance(ref, dict) else ref)


def _by_key(docs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(d.get("idempotency_key")) for d in docs)


async def test_every_scenario_kind_reaches_its_expected_end(stack: Stack) -> None:
    generated = await stack.generate(len(ALL_KINDS), kinds=ALL_KINDS)
    assert {g["kind"] for g in generated} == set(ALL_KINDS)
    await stack.settle()
    await stack.advance()  # later events: payments, cancellations, refunds
    await stack.settle()

    sales = {s["external_id"]: s for s in await stack.sales()}
    invoices = await stack.siigo("invoices")
    notes = await stack.siigo("credit-notes")
    invoice_keys = _by_key(invoices)
    note_count = Counter(_invoice_of(n) for n in notes)
    assert all(n == 1 for n in invoice_keys.values()), "an idempotency key was used twice"

    for g in generated:
        sale = sales[str(g["external_id"])]
        key = idempotency_key(stack.integration_id, str(g["external_id"]), "FV", 1)
        expectation = g["expectation"]
        context = f"{g['kind']} {g['external_id']}: {sale['state']} {sale['error']}"
        if expectation in ("invoice", "attention_missing_billing"):
            # Missing billing data goes to the "consumidor final" fallback, on by default.
            assert sale["state"] == "invoiced", context
            assert invoice_keys[key] == 1, context
            assert sale["invoice"]["number"], context
        elif expectation == "skip":
            assert sale["state"] == "skipped", context
            assert invoice_keys[key] == 0, context
        elif expectation == "credit_full":
            assert sale["state"] == "credited", context
            assert invoice_keys[key] == 1, context
            assert note_count[sale["invoice"]["erp_id"]] == 1, context
        elif expectation == "credit_partial":
            assert sale["state"] == "invoiced", context
            assert note_count[sale["invoice"]["erp_id"]] == 1, context
            assert Decimal(str(sale["credit_note"]["total"])) < Decimal(
                str(sale["invoice"]["total"])
            ), context
        elif expectation == "attention_unknown_sku":
            assert sale["state"] == "needs_attention", context
            assert sale["error"]["code"] == "unmapped_products", context
            assert g["details"]["lines"][0]["sku"] in sale["error"]["message"], context
            assert invoice_keys[key] == 0, context
        else:
            pytest.fail(f"unknown expectation {expectation}")

    # No invoice for anything that is not a sale we know.
    ours = {idempotency_key(stack.integration_id, e, "FV", 1) for e in sales}
    assert set(invoice_keys) <= ours


async def test_missing_billing_without_fallback_waits_for_attention(db_url: str) -> None:
    async with running_stack(stack_settings(db_url)) as stack:
        await stack.connect(settings={"consumer_fallback": None})
        [_g] = await stack.generate(1, kinds=["missing_billing"])
        await stack.settle()
        [sale] = await stack.sales()
        assert sale["state"] == "needs_attention"
        assert sale["error"]["code"] == "missing_fiscal_data"
        assert await stack.siigo("invoices") == []


async def test_fixing_an_unmapped_sku_and_retrying_invoices_the_sale(stack: Stack) -> None:
    [_g] = await stack.generate(1, kinds=["unknown_sku"])
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "needs_attention"
    r = await stack.api.put(
        f"/api/v1/integrations/{stack.integration_id}/product-mappings/SKU-NO-SIIGO-99",
        json={"erp_code": "CAM-ALG-M-NEG"},
        headers=stack.headers,
    )
    assert r.status_code in (200, 201), r.text
    r = await stack.api.post(f"/api/v1/sales/{sale['id']}/retry", headers=stack.headers)
    assert r.status_code == 200, r.text
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    detail = (await stack.api.get(f"/api/v1/sales/{sale['id']}", headers=stack.headers)).json()
    kinds = [e["kind"] for e in detail["timeline"]]
    assert "needs_attention" in kinds
    assert "retry_requested" in kinds
    assert kinds[-1] == "invoiced"
    assert detail["breakdown"]["total"] == detail["invoice"]["total"] or detail["breakdown"]


async def test_a_sale_is_invoiced_once_even_when_notified_many_times(stack: Stack) -> None:
    generated = await stack.generate(5, mix={"single": 1})
    for g in generated:
        for n in range(3):
            r = await stack.api.post(
                "/webhooks/mercadolibre",
                json={
                    "_id": f"again-{g['external_id']}-{n}",
                    "resource": f"/orders/{g['order_ids'][0]}",
                    "user_id": g["seller_id"],
                    "topic": "orders_v2",
                    "application_id": 5503910054141466,
                },
            )
            assert r.status_code == 200
    await stack.settle(workers=2)
    invoices = await stack.siigo("invoices")
    assert len(invoices) == 5
    assert all(n == 1 for n in _by_key(invoices).values())
