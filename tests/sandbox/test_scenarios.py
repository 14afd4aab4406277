"""Scenario generator: determinism, every kind, expectations, Colombian data."""

from __future__ import annotations

import httpx

from conexapi.sandbox import SandboxConfig, SandboxState
from conexapi.sandbox.scenarios import KINDS
from conexapi.sandbox.siigo_rules import nit_check_digit


def fingerprint(state: SandboxState) -> list[tuple[object, ...]]:
    return [
        (s.kind, s.expectation, tuple(s.order_ids), s.pack_id, repr(s.details))
        for s in state.scenarios.sales
    ]


def test_same_seed_same_sales() -> None:
    a = SandboxState(SandboxConfig(seed=42, initial_sales=60))
    b = SandboxState(SandboxConfig(seed=42, initial_sales=60))
    c = SandboxState(SandboxConfig(seed=43, initial_sales=60))
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)
    assert [o.render()["total_amount"] for o in a.ml.orders.values()] == [
        o.render()["total_amount"] for o in b.ml.orders.values()
    ]


def test_default_mix_is_mostly_billable_and_covers_every_kind() -> None:
    state = SandboxState(SandboxConfig(seed=7, initial_sales=600))
    kinds = {s.kind for s in state.scenarios.sales}
    assert kinds == set(KINDS)
    invoices = sum(1 for s in state.scenarios.sales if s.expectation == "invoice")
    assert invoices > 0.7 * len(state.scenarios.sales)


def test_each_kind_lands_in_its_state() -> None:
    state = SandboxState(SandboxConfig(initial_sales=0))
    sales = {s.kind: s for s in state.generate(kinds=list(KINDS))}
    orders = state.ml.orders
    assert orders[sales["cancelled_unpaid"].order_ids[0]].status == "cancelled"
    assert orders[sales["pending_then_paid"].order_ids[0]].status == "payment_required"
    assert "fraud_risk_detected" in orders[sales["fraud"].order_ids[0]].tags()
    assert orders[sales["missing_billing"].order_ids[0]].buyer.billing is None
    assert orders[sales["unknown_sku"].order_ids[0]].sku == "SKU-NO-SIIGO-99"
    assert state.siigo.default.product_by_code("SKU-NO-SIIGO-99") is None
    for kind, sale in sales.items():
        sku = orders[sale.order_ids[0]].sku
        if sale.expectation != "attention_unknown_sku":
            for oid in sale.order_ids:
                assert state.siigo.default.product_by_code(orders[oid].sku) is not None, kind
        else:  # Siigo has the product, under another code (the SKU is no code for Siigo)
            assert state.siigo.default.product_by_code(sku) is None, kind
    assert " " in orders[sales["sku_with_spaces"].order_ids[0]].sku
    assert len(orders[sales["long_sku"].order_ids[0]].sku) > 30
    id_only = orders[sales["buyer_id_only"].order_ids[0]].render()["buyer"]
    assert set(id_only) == {"id", "billing_info"}  # 2024+ shape: no nickname, no names
    unreachable = orders[sales["unreachable_price"].order_ids[0]]
    assert int(unreachable.unit_price) in (1025, 1026, 1054)
    state.scenarios.advance()
    assert orders[sales["pending_then_paid"].order_ids[0]].status == "paid"
    assert orders[sales["paid_then_cancelled"].order_ids[0]].status == "cancelled"
    assert orders[sales["partial_refund"].order_ids[0]].status == "partially_refunded"
    assert all(orders[o].status == "paid" for o in sales["pack"].order_ids)
    nit = orders[sales["company_buyer"].order_ids[0]].buyer.billing
    assert nit is not None
    base, dv = nit.id_number.split("-")
    assert nit_check_digit(base) == dv
    assert nit.state_code.startswith("CO-")


def test_nit_check_digit_known_values() -> None:
    assert nit_check_digit("900123456") == "8"
    assert nit_check_digit("860034313") == "7"  # a well-known Colombian NIT


async def test_generate_via_control_api(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/_sandbox/scenarios/generate", json={"count": 5, "seed": 1, "mix": {"pack": 1}}
    )
    sales = resp.json()
    assert len(sales) == 5
    assert all(s["kind"] == "pack" and s["external_id"] == s["pack_id"] for s in sales)
    again = await client.post(
        "/_sandbox/scenarios/generate", json={"count": 1, "kinds": ["single"]}
    )
    single = again.json()[0]
    assert single["external_id"] == single["order_ids"][0]
    assert single["expectation"] == "invoice"
    bad = await client.post("/_sandbox/scenarios/generate", json={"kinds": ["nope"]})
    assert bad.status_code == 400
    state = (await client.get("/_sandbox/state")).json()
    assert state["sales"] == 26
    reset = await client.post("/_sandbox/reset", json={"seed": 3, "sales": 4})
    assert reset.json()["sales"] == 4


def test_generation_at_scale_keeps_every_sale_and_order() -> None:
    # How long it takes is a benchmark's business, not a test's (no wall-clock bound here).
    state = SandboxState(SandboxConfig(initial_sales=3000))
    sales = state.scenarios.sales
    assert len(sales) == 3000
    assert len({s.external_id for s in sales}) == 3000
    order_ids = [o for s in sales for o in s.order_ids]
    assert len(order_ids) == len(set(order_ids))  # no order belongs to two sales
    assert set(order_ids) == set(state.ml.orders)  # and every order is served by MercadoLibre


def test_fiscal_kinds_land_in_their_state() -> None:
    state = SandboxState(SandboxConfig(initial_sales=0))
    kinds = [
        "mixed_tax",
        "price_promotion",
        "promotion_with_coupon",
        "ml_funded_coupon",
        "partial_return_pack",
        "money_refund",
        "covered_claim",
        "billing_processing",
        "nit_with_dv",
        "buyer_without_email",
    ]
    sales = {s.kind: s for s in state.generate(kinds=kinds)}
    orders = state.ml.orders
    company = state.siigo.default
    mixed = [orders[o] for o in sales["mixed_tax"].order_ids]
    classifications = {
        (company.product_by_code(o.sku) or {}).get("tax_classification") for o in mixed
    }
    taxes = {
        tuple(t["id"] for t in (company.product_by_code(o.sku) or {}).get("taxes") or [])
        for o in mixed
    }
    assert len(mixed) >= 2
    assert len(taxes | {str(c) for c in classifications}) >= 2  # several treatments in one cart
    promo = orders[sales["price_promotion"].order_ids[0]]
    assert promo.full_unit_price > promo.unit_price
    assert state.ml.discounts[promo.id]["details"][0]["type"] == "discount"
    ml_coupon = state.ml.discounts[sales["ml_funded_coupon"].order_ids[0]]["details"][0]
    assert ml_coupon["items"][0]["amounts"]["seller"] == 0
    a, b = (orders[o] for o in sales["partial_return_pack"].order_ids)
    assert a.unit_price * a.quantity == b.unit_price * b.quantity  # same money, other goods
    nit = orders[sales["nit_with_dv"].order_ids[0]].buyer.billing
    assert nit is not None
    assert "-" not in nit.id_number
    assert nit_check_digit(nit.id_number[:-1]) == nit.id_number[-1]
    processing = orders[sales["billing_processing"].order_ids[0]].buyer.billing
    assert processing is not None
    assert processing.processing_reads > 0
    state.scenarios.advance()
    # All of A came back: A's goods are refunded (A is cancelled when that was all its payment,
    # partially refunded when the shipping rode on it); B is untouched.
    assert a.payment.refunded == a.unit_price * a.quantity
    assert a.status == ("cancelled" if a.payment.shipping_cost == 0 else "partially_refunded")
    assert b.status == "paid"
    assert orders[sales["money_refund"].order_ids[0]].status == "partially_refunded"
    covered = orders[sales["covered_claim"].order_ids[0]]
    assert covered.status == "cancelled"
    assert any(c.covered and c.order_id == covered.id for c in state.ml.claims.values())


def test_the_siigo_catalog_has_every_iva_treatment() -> None:
    state = SandboxState(SandboxConfig(initial_sales=0))
    products = state.siigo.default.products.values()
    kinds = {
        (p["tax_classification"], tuple(t["percentage"] for t in p["taxes"])) for p in products
    }
    assert ("Taxed", (19,)) in kinds
    assert ("Taxed", (5,)) in kinds
    assert ("Taxed", (0,)) in kinds
    assert ("Exempt", ()) in kinds
    assert ("Excluded", ()) in kinds
    assert ("Taxed", ()) in kinds  # no tax in Siigo: the integration's default applies
