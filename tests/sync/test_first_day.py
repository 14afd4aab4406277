"""A real account's first day, against the simulators telling the truth: a MercadoLibre
application without the billing permission, Siigo's real catalog and error shapes, buyers
without names, and SKUs Siigo can't take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from conexapi.alerts.service import list_alerts, scan_tenant_alerts
from conexapi.connections.models import Connection
from conexapi.db import transaction
from conexapi.sandbox.constants import DEFAULT_SELLER_ID
from conexapi.sandbox.scenarios import KINDS
from conexapi.sync.upkeep import recheck_missing_permissions
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _ml_connection(stack: Stack) -> Connection:
    async with stack.runtime.sessions() as session:
        return (
            await session.execute(select(Connection).where(Connection.provider == "mercadolibre"))
        ).scalar_one()


async def _permissions(stack: Stack, **granted: bool) -> None:
    r = await stack.control.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json=granted
    )
    assert r.status_code == 200, r.text


async def test_without_the_billing_permission_sales_wait_and_resume_by_themselves(
    stack: Stack,
) -> None:
    await _permissions(stack, billing=False)
    await stack.generate(2, kinds=["single", "company_buyer"])
    await stack.settle()
    sales = await stack.sales()
    # Not "MercadoLibre rechazó el documento": the connection lacks a permission; nothing lost.
    assert {s["state"] for s in sales} == {"waiting"}
    assert {s["error"]["code"] for s in sales} == {"mercadolibre_needs_permission"}
    assert all(s["next_attempt_at"] for s in sales)  # a scheduled re-check
    assert all("Facturación" in s["error"]["message"] for s in sales)
    assert {s["attempts"] for s in sales} == {0}
    assert await stack.siigo("invoices") == []
    connection = await _ml_connection(stack)
    assert connection.status == "needs_permission"
    assert connection.meta["missing_permissions"] == ["billing"]
    assert connection.meta["permission_probe"]["order_id"]
    listed = (await stack.api.get("/api/v1/connections", headers=stack.headers)).json()
    assert {c["status"] for c in listed if c["provider"] == "mercadolibre"} == {"needs_permission"}
    async with transaction(stack.runtime.sessions) as session:
        await scan_tenant_alerts(session, tenant_id=stack.owner.tenant_id)
        alerts = await list_alerts(session, tenant_id=stack.owner.tenant_id)
    [alert] = [a for a in alerts if a.kind == "connection_needs_permission"]
    assert "Permisos funcionales → Facturación" in alert.message

    # Still missing: the periodic check asks again (not before its interval) and waits.
    assert await recheck_missing_permissions(stack.runtime) == 0
    await _due_for_a_permission_check(stack)
    assert await recheck_missing_permissions(stack.runtime) == 0
    assert (await _ml_connection(stack)).status == "needs_permission"

    # Enabled in DevCenter: no re-authorization, the next check notices and the sales go.
    await _permissions(stack, billing=True)
    await _due_for_a_permission_check(stack)
    assert await recheck_missing_permissions(stack.runtime) == 1
    assert (await _ml_connection(stack)).status == "active"
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    assert len(await stack.siigo("invoices")) == 2


async def _due_for_a_permission_check(stack: Stack) -> None:
    async with transaction(stack.runtime.sessions) as session:
        connection = (
            await session.execute(select(Connection).where(Connection.provider == "mercadolibre"))
        ).scalar_one()
        connection.meta = {**connection.meta, "permission_checked_at": "2000-01-01T00:00:00"}


async def test_a_token_refresh_does_not_hide_a_missing_permission(stack: Stack) -> None:
    await _permissions(stack, billing=False)
    await stack.generate(1, kinds=["single"])
    await stack.settle()
    r = await stack.control.post(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/expire-tokens"
    )
    assert r.status_code == 200
    await stack.generate(1, kinds=["single"])  # a notification: the sale waits, no ML call
    await stack.settle()
    assert (await _ml_connection(stack)).status == "needs_permission"


async def test_siigo_answering_its_other_published_shapes(db_url: str) -> None:
    async with running_stack(stack_settings(db_url)) as stack:
        quirks = {
            "siigo": {
                "error_case": "lowercase",
                "users_shape": "array",
                "document_type_code": "number",
                "credit_note_types_shape": "object",
            }
        }
        assert (await stack.control.put("/_sandbox/quirks", json=quirks)).status_code == 200
        created = await stack.connect()
        # Users as an array, NC types as one object without electronic_type: all proposed.
        assert created["settings"]["seller_id"] == 629
        assert created["settings"]["nc_document_id"] == 77775
        assert "nc_document_id" not in created["missing"]
        await stack.generate(1, kinds=["paid_then_cancelled"])
        await stack.settle()
        await stack.advance()
        await stack.settle()
        [sale] = await stack.sales()
        assert sale["state"] == "credited"  # the credit note went out on the proposed NC type
        # A lowercase refusal reaches the sale with Siigo's own code, and names the product.
        [first] = await stack.generate(1, kinds=["single"], seed=99)
        await stack.settle()
        code = first["details"]["lines"][0]["sku"]
        product = stack.sandbox.siigo.default.product_by_code(code)
        assert product is not None
        product["active"] = False  # deactivated while every worker remembers it as active
        [second] = await stack.generate(1, kinds=["single"], seed=99)
        assert second["details"]["lines"][0]["sku"] == code
        await stack.settle()
        [sale] = [s for s in await stack.sales() if s["external_id"] == str(second["external_id"])]
        assert sale["state"] == "needs_attention"
        assert sale["error"]["code"] == "siigo_parameter_inactive"
        assert code in sale["error"]["message"]


async def test_buyers_without_names_are_shown_by_billing_name_or_id(db_url: str) -> None:
    async with running_stack(stack_settings(db_url)) as stack:
        await stack.connect()
        quirks = {"mercadolibre": {"buyer_id_only_rate": 1.0}}
        assert (await stack.control.put("/_sandbox/quirks", json=quirks)).status_code == 200
        generated = await stack.generate(2, kinds=["single", "missing_billing"])
        await stack.settle()
        by_id = {s["external_id"]: s for s in await stack.sales()}
        for g in generated:
            sale = by_id[str(g["external_id"])]
            order = stack.sandbox.ml.orders[g["order_ids"][0]].render()
            assert set(order["buyer"]) == {"id", "billing_info"}
            detail = (
                await stack.api.get(f"/api/v1/sales/{sale['id']}", headers=stack.headers)
            ).json()
            if g["kind"] == "missing_billing":
                assert detail["buyer_name"] == f"Comprador {g['details']['buyer']['id']}"
            else:
                billing = stack.sandbox.ml.orders[g["order_ids"][0]].buyer.billing
                assert billing is not None
                assert detail["buyer_name"] == f"{billing.name} {billing.last_name}"


async def test_skus_siigo_cant_take_are_proposed_mapped_at_once_and_retried(stack: Stack) -> None:
    kinds = ["sku_with_spaces", "sku_with_spaces", "long_sku", "unknown_sku", "single"]
    await stack.generate(len(kinds), kinds=kinds)
    await stack.settle()
    waiting = [s for s in await stack.sales() if s["state"] == "needs_attention"]
    assert len(waiting) == 4
    # Not refused by Siigo (invalid_code): waiting for a mapping, with the SKU named.
    assert {s["error"]["code"] for s in waiting} == {"unmapped_products"}
    url = f"/api/v1/integrations/{stack.integration_id}"
    page = (await stack.api.get(f"{url}/unmapped-skus", headers=stack.headers)).json()
    items = {i["sku"]: i for i in page["items"]}
    assert items["BOTELLA 1L 'ECO'"]["sales"] == 2
    assert not items["BOTELLA 1L 'ECO'"]["usable_as_code"]
    best = {
        sku: (i["proposals"][0]["code"], i["proposals"][0]["match"]) for sku, i in items.items()
    }
    assert best == {
        "BOTELLA 1L 'ECO'": ("BOTELLA1LECO", "clean_code"),
        "KIT-DESTORNILLADORES-PRECISION-32-PIEZAS": ("KITDEST32", "reference"),
        "SKU-NO-SIIGO-99": ("SOPCEL-CARRO", "similar_name"),
    }
    mappings = [{"sku": sku, "erp_code": code} for sku, (code, _) in best.items()]
    mappings.append({"sku": "OTRO", "erp_code": "NOT-IN-SIIGO"})
    r = await stack.api.post(
        f"{url}/product-mappings/bulk", json={"mappings": mappings}, headers=stack.headers
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert len(report["saved"]) == 3
    assert [(x["sku"], x["code"]) for x in report["rejected"]] == [("OTRO", "erp_code_not_found")]
    assert report["sales_retried"] == 4
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    codes = {item["code"] for inv in await stack.siigo("invoices") for item in inv["items"]}
    assert {"BOTELLA1LECO", "KITDEST32", "SOPCEL-CARRO"} <= codes
    assert (await stack.api.get(f"{url}/unmapped-skus", headers=stack.headers)).json()[
        "items"
    ] == []


async def test_a_missing_product_is_created_in_siigo_when_the_integration_allows_it(
    stack: Stack,
) -> None:
    await stack.generate(1, kinds=["long_sku"])
    await stack.settle()
    url = f"/api/v1/integrations/{stack.integration_id}"
    sku = "KIT-DESTORNILLADORES-PRECISION-32-PIEZAS"
    body: dict[str, Any] = {"sku": sku, "tax_id": 13157}
    off = await stack.api.post(
        f"{url}/unmapped-skus/create-product", json=body, headers=stack.headers
    )
    assert off.status_code == 409
    assert off.json()["code"] == "product_creation_disabled"
    on = await stack.api.patch(
        url, json={"settings": {"create_missing_products": True}}, headers=stack.headers
    )
    assert on.status_code == 200, on.text
    created = await stack.api.post(
        f"{url}/unmapped-skus/create-product", json=body, headers=stack.headers
    )
    assert created.status_code == 201, created.text
    report = created.json()
    assert report["erp_code"] == "KIT-DESTORNILLADORES-PRECISION"  # 30 characters
    assert report["product_name"] == "Kit destornilladores de precisión 32 piezas"
    assert report["sales_retried"] == 1
    product = stack.sandbox.siigo.default.product_by_code(report["erp_code"])
    assert product is not None
    assert [t["id"] for t in product["taxes"]] == [13157]
    assert product["reference"] == sku
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"


def test_the_sandbox_kinds_cover_the_first_day() -> None:
    assert {"buyer_id_only", "sku_with_spaces", "long_sku"} <= set(KINDS)
