"""Orders, search, packs, billing info, shipments, claims, fiscal documents
(docs/vendors/mercadolibre.md §3-§8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from conexapi.sandbox import DEFAULT_SELLER_ID, SandboxState

SEARCH = "/mercadolibre/orders/search"


async def test_order_shape(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["single"])[0]
    order = await client.get(f"/mercadolibre/orders/{sale.order_ids[0]}", headers=ml_headers)
    body = order.json()
    assert body["id"] == sale.order_ids[0]
    assert body["status"] == "paid"
    assert "paid" in body["tags"]
    assert body["date_created"].endswith("-05:00")
    assert isinstance(body["total_amount"], int)
    item = body["order_items"][0]
    assert item["item"]["seller_sku"]
    payment = body["payments"][0]
    assert payment["status"] == "approved"
    assert payment["transaction_amount_refunded"] == 0
    assert isinstance(body["buyer"]["billing_info"]["id"], str)
    assert isinstance(body["shipping"]["id"], int)


async def test_other_seller_gets_403(
    client: httpx.AsyncClient, ml_login: Callable[..., Any], state: SandboxState
) -> None:
    await client.post("/_sandbox/mercadolibre/sellers", json={"id": 555, "nickname": "OTRA"})
    other = await ml_login(seller_id="555")
    order_id = state.scenarios.sales[0].order_ids[0]
    resp = await client.get(f"/mercadolibre/orders/{order_id}", headers=other["headers"])
    assert resp.status_code == 403
    assert resp.json() == {
        "message": "The user has not access to the order",
        "error": "forbidden",
        "status": 403,
        "cause": [],
    }
    missing = await client.get("/mercadolibre/orders/1", headers=other["headers"])
    assert missing.status_code == 404
    assert set(missing.json()) == {"message", "error", "status", "cause"}
    search = await client.get(
        SEARCH, params={"seller": DEFAULT_SELLER_ID}, headers=other["headers"]
    )
    assert search.status_code == 403


async def test_search_paging_and_filters(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    total = len(state.ml.orders_by_seller[DEFAULT_SELLER_ID])
    seen: list[int] = []
    offset = 0
    while True:
        resp = await client.get(
            SEARCH,
            params={"seller": DEFAULT_SELLER_ID, "offset": offset, "limit": 7, "sort": "date_asc"},
            headers=ml_headers,
        )
        page = resp.json()
        assert page["paging"] == {"total": total, "offset": offset, "limit": 7}
        seen += [o["id"] for o in page["results"]]
        offset += 7
        if offset >= page["paging"]["total"]:
            break
    assert sorted(seen) == sorted(state.ml.orders_by_seller[DEFAULT_SELLER_ID])
    too_big = await client.get(
        SEARCH, params={"seller": DEFAULT_SELLER_ID, "limit": 52}, headers=ml_headers
    )
    assert too_big.status_code == 400
    paid = await client.get(
        SEARCH,
        params={"seller": DEFAULT_SELLER_ID, "order.status": "paid,cancelled", "limit": 51},
        headers=ml_headers,
    )
    assert {o["status"] for o in paid.json()["results"]} <= {"paid", "cancelled"}
    future = await client.get(
        SEARCH,
        params={
            "seller": DEFAULT_SELLER_ID,
            "order.date_last_updated.from": "2099-01-01T00:00:00.000-05:00",
        },
        headers=ml_headers,
    )
    assert future.json()["paging"]["total"] == 0


async def test_pack_has_one_shipment_and_null_order_shipping(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["pack"])[0]
    assert sale.pack_id is not None
    state.scenarios.advance()
    pack = (await client.get(f"/mercadolibre/packs/{sale.pack_id}", headers=ml_headers)).json()
    assert [o["id"] for o in pack["orders"]] == sale.order_ids
    assert pack["status"] == "released"
    for oid in sale.order_ids:
        order = (await client.get(f"/mercadolibre/orders/{oid}", headers=ml_headers)).json()
        assert order["shipping_cost"] is None
        assert order["pack_id"] == sale.pack_id
        assert "pack_order" in order["tags"]
        assert order["shipping"]["id"] == pack["shipment"]["id"]


async def test_billing_info_current_and_legacy(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    person, company, missing = state.generate(kinds=["single", "company_buyer", "missing_billing"])
    order = await client.get(f"/mercadolibre/orders/{person.order_ids[0]}", headers=ml_headers)
    bid = order.json()["buyer"]["billing_info"]["id"]
    info = await client.get(f"/mercadolibre/orders/billing-info/MCO/{bid}", headers=ml_headers)
    billing = info.json()["buyer"]["billing_info"]
    assert billing["identification"]["type"] == "CC"
    assert billing["last_name"]
    assert billing["address"]["state"]["code"].startswith("CO-")
    assert "email" not in billing
    assert billing["attributes"]["cust_type"] == "CO"

    corp = state.ml.orders[company.order_ids[0]].buyer.billing
    assert corp is not None
    info = await client.get(f"/mercadolibre/orders/billing-info/MCO/{corp.id}", headers=ml_headers)
    cb = info.json()["buyer"]["billing_info"]
    assert cb["identification"]["type"] == "NIT"
    assert "last_name" not in cb
    assert cb["attributes"]["cust_type"] == "BU"

    legacy = await client.get(
        f"/mercadolibre/orders/{person.order_ids[0]}/billing_info", headers=ml_headers
    )
    assert legacy.json()["billing_info"]["doc_type"] == "CC"
    v2 = await client.get(
        f"/mercadolibre/orders/{person.order_ids[0]}/billing_info",
        headers={**ml_headers, "x-version": "2"},
    )
    assert v2.json()["site_id"] == "MCO"

    gone = await client.get(f"/mercadolibre/orders/{missing.order_ids[0]}", headers=ml_headers)
    gone_id = gone.json()["buyer"]["billing_info"]["id"]
    resp = await client.get(f"/mercadolibre/orders/billing-info/MCO/{gone_id}", headers=ml_headers)
    assert resp.status_code == 404


async def test_shipment_costs_split(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["shipping_buyer"])[0]
    order = state.ml.orders[sale.order_ids[0]]
    costs = await client.get(
        f"/mercadolibre/shipments/{order.shipping_id}/costs", headers=ml_headers
    )
    body = costs.json()
    assert body["receiver"]["cost"] > 0
    assert body["receiver"]["cost"] == sale.details["receiver_shipping_cost"]
    assert body["senders"][0]["user_id"] == DEFAULT_SELLER_ID
    shipment = await client.get(f"/mercadolibre/shipments/{order.shipping_id}", headers=ml_headers)
    assert shipment.json()["destination"]["shipping_address"]["city"]["name"]


async def test_cancel_and_partial_refund_with_claim(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    cancelled = state.generate(kinds=["paid_then_cancelled"])[0]
    oid = cancelled.order_ids[0]
    await client.post(f"/_sandbox/mercadolibre/orders/{oid}/cancel")
    body = (await client.get(f"/mercadolibre/orders/{oid}", headers=ml_headers)).json()
    assert body["status"] == "cancelled"
    pay = body["payments"][0]
    assert pay["status"] == "refunded"
    assert pay["transaction_amount_refunded"] == pay["transaction_amount"]
    assert body["cancel_detail"]["group"] == "buyer"

    sale = state.generate(kinds=["single"])[0]
    oid = sale.order_ids[0]
    order = state.ml.orders[oid]
    order.quantity = 3  # make a partial return possible regardless of the seeded quantity
    resp = await client.post(f"/_sandbox/mercadolibre/orders/{oid}/refund", json={"quantity": 1})
    assert resp.json()["status"] == "partially_refunded"
    assert resp.json()["payments"][0]["transaction_amount_refunded"] > 0
    claim_id = next(iter(state.ml.claims))
    claim = await client.get(
        f"/mercadolibre/post-purchase/v1/claims/{claim_id}", headers=ml_headers
    )
    assert claim.json()["resource_id"] == oid
    returns = await client.get(
        f"/mercadolibre/post-purchase/v2/claims/{claim_id}/returns", headers=ml_headers
    )
    assert returns.json()["orders"][0]["return_quantity"] == "1.0"


async def test_discounts_and_items(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["coupon"])[0]
    oid = sale.order_ids[0]
    disc = (await client.get(f"/mercadolibre/orders/{oid}/discounts", headers=ml_headers)).json()
    assert disc["details"][0]["type"] == "coupon"
    order = (await client.get(f"/mercadolibre/orders/{oid}", headers=ml_headers)).json()
    # MercadoLibre's published shape: per item `amounts.total` (the discount on the line) and
    # `amounts.seller` (the seller's part).
    amounts = disc["details"][0]["items"][0]["amounts"]
    assert order["payments"][0]["coupon_amount"] == amounts["total"]
    assert amounts["seller"] == amounts["total"]  # a coupon the seller funds
    assert "order_has_discount" in order["tags"]
    item_id = order["order_items"][0]["item"]["id"]
    item = (await client.get(f"/mercadolibre/items/{item_id}", headers=ml_headers)).json()
    assert item["attributes"][0]["id"] == "SELLER_SKU"


async def test_fiscal_documents_upload(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["single"])[0]
    target = sale.external_id
    url = f"/mercadolibre/packs/{target}/fiscal_documents"
    pdf = ("fiscal_document", ("FV-1-1.pdf", b"%PDF-1.4 tiny", "application/pdf"))
    first = await client.post(url, files=[pdf], headers=ml_headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["ids"]) == 1
    second = await client.post(url, files=[pdf], headers=ml_headers)
    assert second.status_code == 409
    big = ("fiscal_document", ("big.xml", b"<x/>", "application/xml"))
    assert (await client.post(url, files=[big], headers=ml_headers)).status_code == 200
    listing = (await client.get(url, headers=ml_headers)).json()
    assert {d["file_type"] for d in listing["fiscal_documents"]} == {"PDF", "XML"}


async def test_ml_faults_do_not_change_state(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    await client.put("/_sandbox/faults", json={"mercadolibre": {"rate_limit_rate": 1.0}})
    resp = await client.get("/mercadolibre/users/me", headers=ml_headers)
    assert resp.status_code == 429
    assert resp.json() == {
        "message": "Too many requests",
        "error": "local_rate_limited",
        "status": 429,
        "cause": [],
    }
    await client.put("/_sandbox/faults", json={"mercadolibre": {"error_rate": 1.0}})
    assert (await client.get("/mercadolibre/users/me", headers=ml_headers)).status_code == 500
    await client.put("/_sandbox/faults", json={})
    assert (await client.get("/mercadolibre/users/me", headers=ml_headers)).status_code == 200


async def test_claims_search_returns_and_coverage(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    ret, money, covered = state.generate(
        kinds=["partial_return_pack", "money_refund", "covered_claim"]
    )
    state.scenarios.advance()
    bad = await client.get(
        "/mercadolibre/post-purchase/v1/claims/search",
        params={"resource_id": ret.order_ids[0]},
        headers=ml_headers,
    )
    assert bad.status_code == 400  # resource_id without resource (MercadoLibre's docs)

    async def claims(order_id: int) -> list[dict[str, Any]]:
        r = await client.get(
            "/mercadolibre/post-purchase/v1/claims/search",
            params={"resource": "order", "resource_id": order_id},
            headers=ml_headers,
        )
        assert r.status_code == 200, r.text
        return list(r.json()["data"])

    [returned] = await claims(ret.order_ids[0])
    assert returned["related_entities"] == ["return"]
    assert await claims(ret.order_ids[1]) == []  # the other order of the pack came to no harm
    back = await client.get(
        f"/mercadolibre/post-purchase/v2/claims/{returned['id']}/returns", headers=ml_headers
    )
    assert back.json()["status_money"] == "refunded"
    assert back.json()["orders"][0]["return_quantity"] == "2.0"

    [refund_only] = await claims(money.order_ids[0])
    assert refund_only["related_entities"] == []
    assert refund_only["resolution"]["reason"] == "partial_refunded"
    no_return = await client.get(
        f"/mercadolibre/post-purchase/v2/claims/{refund_only['id']}/returns", headers=ml_headers
    )
    assert no_return.status_code == 404

    [protected] = await claims(covered.order_ids[0])
    assert protected["resolution"]["applied_coverage"] is True
    assert protected["resolution"]["reason"] == "coverage_decision"


async def test_billing_info_processing_then_complete(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["billing_processing"])[0]
    order = state.ml.orders[sale.order_ids[0]]
    url = f"/mercadolibre/orders/billing-info/MCO/{order.buyer.billing_info_id}"
    first = (await client.get(url, headers=ml_headers)).json()
    assert first["buyer"]["billing_info"]["identification"] == {"type": None, "number": None}
    await client.get(url, headers=ml_headers)
    done = (await client.get(url, headers=ml_headers)).json()
    assert (
        done["buyer"]["billing_info"]["identification"]["number"]
        == (sale.details["customer_identification"])
    )


def test_the_application_quota_is_a_sliding_second_over_every_seller(state: SandboxState) -> None:
    state.ml.app_requests_per_second = 3
    assert [state.ml.allow_app_request(100.0 + i * 0.1) for i in range(4)] == [
        True,
        True,
        True,
        False,  # a refused request does not count
    ]
    assert state.ml.allow_app_request(100.95) is False
    assert state.ml.allow_app_request(101.0) is True  # the first one left the window
    assert state.ml.app_rate_limited == 2


async def test_above_the_application_quota_mercadolibre_answers_429(
    client: httpx.AsyncClient, ml_headers: dict[str, str], state: SandboxState
) -> None:
    sale = state.generate(kinds=["single"])[0]
    state.ml.app_requests_per_second = 2
    # Two requests in the current second already (moments in the future: the window is full
    # whatever the machine's speed).
    state.ml.app_window.extend([1e12, 1e12])
    refused = await client.get(f"/mercadolibre/orders/{sale.order_ids[0]}", headers=ml_headers)
    assert refused.status_code == 429
    assert refused.json()["error"] == "local_rate_limited"
    state.ml.app_window.clear()
    served = await client.get(f"/mercadolibre/orders/{sale.order_ids[0]}", headers=ml_headers)
    assert served.status_code == 200
    assert (await client.get("/_sandbox/mercadolibre/stats")).json()["app_rate_limited"] == 1
