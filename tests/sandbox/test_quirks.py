"""The sandbox tells the truth: every shape a real account meets, reproducible on demand
(`/_sandbox/quirks`, faults, per-seller permissions, scenario kinds; docs/sandbox.md)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from conexapi.sandbox import DEFAULT_SELLER_ID, SandboxState
from conexapi.sandbox.config import FaultsState, NotificationFaults

from .test_ml_notifications import Receiver, make

POLICY_BLOCK = {
    "message": "At least one policy returned UNAUTHORIZED.",
    "code": "PA_UNAUTHORIZED_RESULT_FROM_POLICIES",
    "status": 403,
    "blocked_by": "PolicyAgent",
}


async def test_billing_info_refused_by_policy_per_seller_and_as_a_fault(
    client: httpx.AsyncClient, state: SandboxState, ml_headers: dict[str, str]
) -> None:
    sale = state.generate(kinds=["single"])[0]
    order = state.ml.orders[sale.order_ids[0]]
    current = f"/mercadolibre/orders/billing-info/MCO/{order.buyer.billing_info_id}"
    legacy = f"/mercadolibre/orders/{order.id}/billing_info"
    assert (await client.get(current, headers=ml_headers)).status_code == 200
    r = await client.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"billing": False}
    )
    assert r.json()["permissions"] == ["orders"]
    for path in (current, legacy):
        refused = await client.get(path, headers=ml_headers)
        assert (refused.status_code, refused.json()) == (403, POLICY_BLOCK)
    # Orders still work: only the billing family is blocked.
    assert (await client.get(f"/mercadolibre/orders/{order.id}", headers=ml_headers)).is_success
    await client.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"billing": True}
    )
    faults = FaultsState.model_validate({"mercadolibre": {"billing_forbidden_rate": 1.0}})
    await client.put("/_sandbox/faults", json=faults.model_dump())
    assert (await client.get(current, headers=ml_headers)).status_code == 403
    assert state.faults.injected["mercadolibre.billing_forbidden"] == 1


async def test_siigo_errors_lowercase_or_mixed(
    client: httpx.AsyncClient, siigo_headers: dict[str, str]
) -> None:
    async def error() -> dict[str, Any]:
        r = await client.get("/siigo/v1/document-types", headers=siigo_headers)
        assert r.status_code == 400
        body: dict[str, Any] = r.json()
        return body

    assert "Errors" in await error()
    await client.put("/_sandbox/quirks", json={"siigo": {"error_case": "lowercase"}})
    lower = await error()
    assert lower["status"] == 400
    assert lower["errors"][0]["code"] == "parameter_required"
    assert set(lower["errors"][0]) == {"code", "message", "params", "detail"}
    await client.put("/_sandbox/quirks", json={"siigo": {"error_case": "mixed"}})
    shapes = {"Errors" in body for body in [await error() for _ in range(30)]}
    assert shapes == {True, False}


async def test_siigo_catalogs_in_their_other_published_shapes(
    client: httpx.AsyncClient, siigo_headers: dict[str, str]
) -> None:
    users = (await client.get("/siigo/v1/users", headers=siigo_headers)).json()
    assert "pagination" in users
    quirks = {
        "siigo": {
            "users_shape": "array",
            "document_type_code": "number",
            "credit_note_types_shape": "object",
        }
    }
    await client.put("/_sandbox/quirks", json=quirks)
    users = (await client.get("/siigo/v1/users", headers=siigo_headers)).json()
    assert isinstance(users, list)
    fv = (await client.get("/siigo/v1/document-types?type=FV", headers=siigo_headers)).json()
    assert fv
    assert all(isinstance(d["code"], int) for d in fv)
    nc = (await client.get("/siigo/v1/document-types?type=NC", headers=siigo_headers)).json()
    assert isinstance(nc, dict)
    assert nc["number"] == 77775
    assert isinstance(nc["id"], str)
    assert "electronic_type" not in nc


async def test_total_paid_amount_adds_the_shipping_of_the_payment(
    client: httpx.AsyncClient, state: SandboxState, ml_headers: dict[str, str]
) -> None:
    sale = state.generate(kinds=["shipping_buyer"])[0]
    order = (
        await client.get(f"/mercadolibre/orders/{sale.order_ids[0]}", headers=ml_headers)
    ).json()
    [payment] = order["payments"]
    assert payment["shipping_cost"] > 0
    assert payment["total_paid_amount"] == payment["transaction_amount"] + payment["shipping_cost"]
    assert sale.details["ml_total"] == payment["total_paid_amount"]


async def test_orders_with_only_the_buyers_id(
    client: httpx.AsyncClient, state: SandboxState, ml_headers: dict[str, str]
) -> None:
    [one] = state.generate(kinds=["buyer_id_only"])
    order = (
        await client.get(f"/mercadolibre/orders/{one.order_ids[0]}", headers=ml_headers)
    ).json()
    assert set(order["buyer"]) == {"id", "billing_info"}
    await client.put("/_sandbox/quirks", json={"mercadolibre": {"buyer_id_only_rate": 1.0}})
    many = state.generate(count=5, kinds=["single"] * 5)
    assert all(state.ml.orders[s.order_ids[0]].buyer.id_only for s in many)


async def test_the_application_settings_and_the_vendors_date(
    client: httpx.AsyncClient, ml_login: Callable[..., Any]
) -> None:
    tokens = await ml_login()
    app = await client.get("/mercadolibre/applications/sandbox-app", headers=tokens["headers"])
    data = app.json()
    assert data["callback_url"].endswith("/api/v1/connections/mercadolibre/callback")
    assert data["notifications_topics"] == ["orders_v2"]
    assert parsedate_to_datetime(app.headers["date"])  # vendors stamp their own clock
    await client.put(
        "/_sandbox/mercadolibre/application",
        json={"redirect_uri": "https://otra.example/cb", "notification_topics": ["items"]},
    )
    data = (
        await client.get("/mercadolibre/applications/sandbox-app", headers=tokens["headers"])
    ).json()
    assert (data["callback_url"], data["notifications_topics"]) == (
        "https://otra.example/cb",
        ["items"],
    )


async def test_notifications_of_other_topics() -> None:
    receiver = Receiver()
    faults = FaultsState(notifications=NotificationFaults(other_topic_rate=1.0))
    async for client, state in make(receiver, faults):
        state.generate(kinds=["single"])
        r = await client.post(
            "/_sandbox/mercadolibre/notifications",
            json={"topic": "messages", "resource": "5f7e1e4a9a2b4c6e8d1f0a3b"},
        )
        assert r.status_code == 202
        await state.notifier.drain()
        topics = [m["topic"] for m in receiver.received]
        assert "orders_v2" in topics
        others = [m for m in receiver.received if m["topic"] != "orders_v2"]
        assert others
        messages = [m for m in others if m["topic"] == "messages"]
        assert messages
        assert not messages[0]["resource"].startswith("/")


async def test_skus_siigo_cant_take(state: SandboxState) -> None:
    spaces, long = state.generate(kinds=["sku_with_spaces", "long_sku"])
    sku_spaces = state.ml.orders[spaces.order_ids[0]].sku
    sku_long = state.ml.orders[long.order_ids[0]].sku
    assert " " in sku_spaces
    assert "'" in sku_spaces
    assert len(sku_long) > 30
    company = state.siigo.default
    # The seller's Siigo product exists under another code, findable by proposals.
    assert company.product_by_code("BOTELLA1LECO") is not None
    kit = company.product_by_code("KITDEST32")
    assert kit is not None
    assert kit["reference"] == sku_long
