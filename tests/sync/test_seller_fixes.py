"""The seller's own decisions, against the simulators: Vista previa builds every invoice and sends
none (the Siigo simulator counts every request), going live invoices from the chosen date;
"facturada por fuera" never gets a document and a later refund raises an alert, never a credit
note; a buyer without fiscal data is invoiced to whom the seller says."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from conexapi.alerts.service import current_alerts, list_alerts, scan_tenant_alerts
from conexapi.db import transaction
from conexapi.inbox.apply import apply_pending
from conexapi.sales.clock import colombia_today
from conexapi.sync.models import Sale
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


def _siigo_writes(stack: Stack) -> Counter[str]:
    calls = stack.sandbox.siigo.default.calls
    return Counter({k: v for k, v in calls.items() if not k.startswith("GET ")})


async def _detail(stack: Stack, sale_id: int) -> dict:  # type: ignore[type-arg]
    r = await stack.api.get(f"/api/v1/sales/{sale_id}", headers=stack.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_preview_builds_every_invoice_and_sends_nothing_until_going_live(
    stack: Stack,
) -> None:
    r = await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/preview", headers=stack.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["preview"] is True
    before = _siigo_writes(stack)
    await stack.generate(3, kinds=["single", "company_buyer", "shipping_buyer"])
    await stack.settle()
    sales = await stack.sales()
    assert {s["state"] for s in sales} == {"waiting"}
    assert {s["error"]["code"] for s in sales} == {"preview"}
    # Not one write to Siigo: no customer, no invoice (only catalogs and products were read).
    assert _siigo_writes(stack) == before
    assert await stack.siigo("invoices") == []
    for sale in sales:
        detail = await _detail(stack, sale["id"])
        preview = detail["preview"]
        body = preview["factura"]
        assert body["customer"]["identification"] == preview["cliente"]["identification"]
        assert body["items"]
        assert all("taxes" in item for item in body["items"])
        assert body["payments"]
        assert body["payments"][0]["value"]
        assert preview["desglose"]["total"] == preview["total"]
        assert detail["invoice"] is None
        assert detail["documents"] == []
    # Waiting is all they do: nothing makes a previewed sale send by itself.
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(update(Sale).values(next_attempt_at=None))
    await stack.settle()
    assert _siigo_writes(stack) == before

    # Going live from tomorrow: today's previewed sales are not invoiced.
    tomorrow = colombia_today() + timedelta(days=1)
    r = await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/go-live",
        json={"invoice_from": tomorrow.isoformat()},
        headers=stack.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"invoiced": 0, "skipped": 3}
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"skipped"}
    assert await stack.siigo("invoices") == []


async def test_going_live_invoices_the_previewed_sales_from_the_chosen_date(stack: Stack) -> None:
    await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/preview", headers=stack.headers
    )
    await stack.generate(2, kinds=["single", "company_buyer"])
    await stack.settle()
    previewed = {s["id"]: (await _detail(stack, s["id"]))["preview"] for s in await stack.sales()}
    r = await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/go-live",
        json={"invoice_from": (colombia_today() - timedelta(days=30)).isoformat()},
        headers=stack.headers,
    )
    assert r.json() == {"invoiced": 2, "skipped": 0}, await stack.sales()
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    invoices = await stack.siigo("invoices")
    assert len(invoices) == 2
    # Once it has invoices to follow, it cannot go back to preview.
    again = await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/preview", headers=stack.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "preview_after_documents"
    # What was sent is what the preview showed.
    for sale_id, preview in previewed.items():
        detail = await _detail(stack, sale_id)
        [doc] = detail["documents"]
        assert str(doc["total"]) == preview["total"] or float(doc["total"]) == float(
            preview["total"]
        )


async def test_invoiced_elsewhere_never_gets_a_document_and_a_refund_raises_an_alert(
    stack: Stack,
) -> None:
    await stack.generate(1, kinds=["paid_then_cancelled"])
    await apply_pending(stack.runtime.sessions)  # the notification makes the sale, not yet seen
    [sale] = await stack.sales()
    assert sale["state"] == "pending"
    r = await stack.api.post(
        f"/api/v1/sales/{sale['id']}/invoiced-elsewhere",
        json={"reason": "Facturada a mano en Siigo en octubre"},
        headers=stack.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "skipped"
    assert r.json()["error"]["code"] == "invoiced_elsewhere"
    await stack.settle()
    assert await stack.siigo("invoices") == []
    detail = await _detail(stack, sale["id"])
    assert detail["state"] == "skipped"
    mark = detail["manual"]["invoiced_elsewhere"]
    assert mark["reason"] == "Facturada a mano en Siigo en octubre"
    assert mark["by"]
    assert mark["at"]
    assert any("facturada por fuera" in e["message"] for e in detail["timeline"])

    # MercadoLibre cancels and refunds it: no credit note, an alert for the seller.
    await stack.advance()
    await stack.settle()
    detail = await _detail(stack, sale["id"])
    assert detail["state"] == "skipped"
    assert detail["error"]["code"] == "invoiced_elsewhere_refunded"
    assert await stack.siigo("credit-notes") == []
    tenant_id = stack.owner.tenant_id
    async with transaction(stack.runtime.sessions) as session:
        await scan_tenant_alerts(session, tenant_id=tenant_id)
        [alert] = [
            a
            for a in await list_alerts(session, tenant_id=tenant_id)
            if a.kind == "sales_refunded_elsewhere"
        ]
        assert "nota crédito en Siigo Nube" in alert.message
    # Handled by the seller: the alert ends.
    r = await stack.api.post(
        f"/api/v1/sales/{sale['id']}/refund-acknowledged", headers=stack.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["error"]["code"] == "invoiced_elsewhere"
    async with transaction(stack.runtime.sessions) as session:
        assert await current_alerts(session, tenant_id=tenant_id) == []
        await scan_tenant_alerts(session, tenant_id=tenant_id)
        assert not [
            a
            for a in await list_alerts(session, tenant_id=tenant_id)
            if a.kind == "sales_refunded_elsewhere"
        ]


async def test_bulk_mark_by_date_confirms_the_count(stack: Stack) -> None:
    await stack.api.post(
        f"/api/v1/integrations/{stack.integration_id}/preview", headers=stack.headers
    )
    await stack.generate(3, kinds=["single", "company_buyer", "shipping_buyer"])
    await stack.settle()
    today = colombia_today().isoformat()
    body = {"date_from": today, "date_to": today, "reason": "Facturadas a mano"}
    r = await stack.api.post(
        "/api/v1/sales/invoiced-elsewhere", json={**body, "dry_run": True}, headers=stack.headers
    )
    assert r.json() == {"count": 3, "dry_run": True}
    r = await stack.api.post(
        "/api/v1/sales/invoiced-elsewhere",
        json={**body, "expected_count": 2},
        headers=stack.headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "count_changed"
    assert {s["state"] for s in await stack.sales()} == {"waiting"}
    r = await stack.api.post(
        "/api/v1/sales/invoiced-elsewhere",
        json={**body, "expected_count": 3},
        headers=stack.headers,
    )
    assert r.json() == {"count": 3, "dry_run": False}
    assert {s["error"]["code"] for s in await stack.sales()} == {"invoiced_elsewhere"}
    bad = await stack.api.post(
        "/api/v1/sales/invoiced-elsewhere",
        json={"date_from": today, "date_to": "2000-01-01"},
        headers=stack.headers,
    )
    assert bad.status_code == 422


async def test_a_buyer_without_fiscal_data_goes_to_whom_the_seller_says(stack: Stack) -> None:
    r = await stack.api.patch(
        f"/api/v1/integrations/{stack.integration_id}",
        json={"settings": {"consumer_fallback": None}},
        headers=stack.headers,
    )
    assert r.status_code == 200, r.text
    await stack.generate(1, kinds=["missing_billing"], seed=5)
    await stack.generate(1, kinds=["missing_billing"], seed=6)
    await stack.settle()
    waiting = [s for s in await stack.sales() if s["state"] == "needs_attention"]
    assert len(waiting) == 2, await stack.sales()
    assert {s["error"]["code"] for s in waiting} == {"missing_fiscal_data"}
    first, second = waiting

    bad = await stack.api.put(
        f"/api/v1/sales/{first['id']}/buyer",
        json={"id_type": "NIT", "identification": "900123456-1", "name": "Tienda SAS"},
        headers=stack.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_identification"
    ok = await stack.api.put(
        f"/api/v1/sales/{first['id']}/buyer",
        json={"id_type": "NIT", "identification": "800197268-4", "name": "Comercial Andina SAS"},
        headers=stack.headers,
    )
    assert ok.status_code == 200, ok.text
    final = await stack.api.put(
        f"/api/v1/sales/{second['id']}/buyer",
        json={"consumer_final": True},
        headers=stack.headers,
    )
    assert final.status_code == 200, final.text
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    customers = {i["customer"]["identification"] for i in await stack.siigo("invoices")}
    assert customers == {"800197268", "222222222222"}
