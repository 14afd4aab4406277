from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conexapi.marketplaces.mercadolibre.mapping import (
    build_sale_facts,
    parse_billing,
    parse_order_claims,
    to_decimal,
)
from conexapi.sales.decision import Action, decide
from conexapi.sales.facts import BillingStatus, SaleFacts
from conexapi.sales.settings import InvoiceTrigger, InvoicingSettings

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "mercadolibre"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def facts_of(name: str) -> SaleFacts:
    data = load(name)
    return build_sale_facts(
        data["orders"],
        pack=data["pack"],
        billing=data["billing"],
        shipment_costs=data["shipment_costs"],
        discounts=data["discounts"],
        shipment=data["shipment"],
    )


def test_single_order() -> None:
    facts = facts_of("single_order")
    assert facts.external_id == "2000010733434062"
    assert facts.order_ids == ("2000010733434062",)
    assert facts.pack_id is None
    assert facts.seller_id == "779432305"
    assert facts.statuses == ("paid",)
    assert facts.tags == frozenset({"paid", "not_delivered"})
    (line,) = facts.lines
    assert line.sku == "CAM-ALG-M"
    assert line.quantity == 2
    assert line.unit_price == Decimal(59900)
    assert line.sale_fee == Decimal(7787 * 2)  # per unit × quantity
    assert line.seller_coupon == line.meli_coupon == 0
    assert facts.shipping_paid_by_buyer == 0
    assert facts.shipping_paid_by_seller == Decimal(7450)
    assert facts.total_paid == Decimal(119800)
    assert facts.marketplace_fee == Decimal(15574)
    assert facts.refunds == ()
    assert facts.sale_date == datetime(2026, 9, 24, 10, 2, 31, tzinfo=timezone(timedelta(hours=-5)))
    assert facts.delivered is False
    assert facts.pack_complete is True
    assert facts.buyer is not None
    assert facts.buyer.id_type == "CC"
    assert facts.buyer.identification == "1020304050"
    assert facts.buyer.first_name == "Laura Marcela"
    assert facts.buyer.last_name == "Gómez Rincón"
    assert facts.buyer.street == "Carrera 15 93-47, Apto 502, Chicó"
    assert facts.buyer.state_code == "CO-DC"
    assert facts.buyer.zip_code == "110221"
    assert facts.buyer_nickname == "COMPRADOR123"
    assert facts.extra["shipment_id"] == "44028792542"


def test_pack_of_two() -> None:
    facts = facts_of("pack_of_two")
    assert facts.external_id == "2000006556183755"
    assert facts.pack_id == "2000006556183755"
    assert facts.order_ids == ("2000010733434101", "2000010733434102")
    assert facts.pack_complete is True
    assert len(facts.lines) == 2
    second = facts.lines[1]
    assert second.sku is None
    assert second.variation_id == "180123456789"
    assert second.order_id == "2000010733434102"
    assert facts.shipping_paid_by_buyer == Decimal(9900)
    assert facts.shipping_paid_by_seller == 0
    # shipping_cost rides separately on the first payment (total_paid_amount says so)
    assert facts.total_paid == Decimal(119800 + 9900 + 35000)
    assert facts.marketplace_fee == Decimal(15574 + 4550)
    assert facts.delivered is True
    assert facts.sale_date is not None
    assert facts.sale_date.minute == 2  # the earliest date_closed
    assert "pack_order" in facts.tags


def test_pack_incomplete() -> None:
    facts = facts_of("pack_incomplete")
    assert facts.pack_complete is False
    assert decide(facts, InvoicingSettings()).action is Action.WAIT
    assert decide(facts, InvoicingSettings()).reason == "pack_incomplete"


def test_coupon_split_by_funding_and_nit_buyer() -> None:
    facts = facts_of("coupon")
    (line,) = facts.lines
    assert line.seller_coupon == Decimal(4000)
    assert line.meli_coupon == Decimal(6000)
    assert line.meli_rebate == 0
    assert facts.total_paid == Decimal(119900)
    buyer = facts.buyer
    assert buyer is not None
    assert buyer.is_company is True
    assert buyer.company_name == "Distribuciones Andinas S.A.S."
    assert buyer.last_name == ""
    assert buyer.city_name == "Medellín"


def test_shipping_by_buyer_from_order_when_no_costs_and_legacy_billing() -> None:
    facts = facts_of("shipping_buyer_no_costs")
    assert facts.shipping_paid_by_buyer == Decimal("7900.0")
    assert facts.lines[0].unit_price == Decimal(45900)
    assert facts.total_paid == Decimal(45900 + 7900)
    buyer = facts.buyer
    assert buyer is not None
    assert (buyer.id_type, buyer.identification) == ("CC", "79876543")
    assert (buyer.first_name, buyer.last_name) == ("Carlos", "Pérez")
    assert buyer.city_name == "Cali"
    assert buyer.state_name == "Valle del Cauca"
    assert buyer.street == "Calle 5 12-30"


def test_missing_billing_gives_no_buyer() -> None:
    facts = facts_of("missing_billing")
    assert facts.buyer is None
    assert facts.billing_status is BillingStatus.MISSING
    assert decide(facts, InvoicingSettings()).action is Action.INVOICE


def test_billing_still_processing_waits_then_falls_back() -> None:
    # MercadoLibre's billing-info FAQ: while the fiscal document is PROCESSING some fields come
    # null until it is authorized (docs/vendors/mercadolibre.md §5.3).
    facts = facts_of("billing_processing")
    assert facts.buyer is None
    assert facts.billing_status is BillingStatus.PROCESSING
    assert facts.sale_date is not None
    settings = InvoicingSettings(data_wait_hours=24)
    soon = facts.sale_date + timedelta(hours=2)
    waiting = decide(facts, settings, now=soon, recheck=timedelta(minutes=15))
    assert (waiting.action, waiting.reason) == (Action.WAIT, "billing_processing")
    assert waiting.recheck_at == soon + timedelta(minutes=15)
    near = decide(facts, settings, now=facts.sale_date + timedelta(hours=23, minutes=55))
    assert near.recheck_at == facts.sale_date + timedelta(hours=24)  # never past the bound
    late = decide(facts, settings, now=facts.sale_date + timedelta(hours=24))
    assert (late.action, late.reason) == (Action.INVOICE, "billing_processing_expired")
    assert "consumidor final" in late.message


def test_cancelled_unpaid_is_skipped() -> None:
    facts = facts_of("cancelled_unpaid")
    assert facts.total_paid == 0
    assert facts.refunds == ()
    decision = decide(facts, InvoicingSettings())
    assert (decision.action, decision.reason) == (Action.SKIP, "cancelled_unpaid")
    assert "antes del pago" in decision.message


def test_cancelled_after_payment() -> None:
    facts = facts_of("cancelled_after_payment")
    assert facts.total_paid == Decimal(89900)
    (refund,) = facts.refunds
    assert refund.full is True
    assert refund.amount == Decimal(89900)
    decision = decide(facts, InvoicingSettings())
    assert (decision.action, decision.reason) == (Action.SKIP, "cancelled_before_invoice")
    assert "antes de facturar" in decision.message


def test_partially_refunded() -> None:
    facts = facts_of("partially_refunded")
    (refund,) = facts.refunds
    assert refund.full is False
    assert refund.amount == Decimal(59900)
    assert refund.order_id == "2000010733434700"
    assert decide(facts, InvoicingSettings()).action is Action.INVOICE


def test_unpaid_waits_and_fraud_is_skipped() -> None:
    assert decide(facts_of("unpaid"), InvoicingSettings()).action is Action.WAIT
    fraud = decide(facts_of("fraud"), InvoicingSettings())
    assert (fraud.action, fraud.reason) == (Action.SKIP, "fraud_risk")


def test_delivered_trigger() -> None:
    settings = InvoicingSettings(invoice_trigger=InvoiceTrigger.DELIVERED)
    waiting = decide(facts_of("single_order"), settings)
    assert (waiting.action, waiting.reason) == (Action.WAIT, "not_delivered")
    assert decide(facts_of("pack_of_two"), settings).action is Action.INVOICE


def _facts(statuses: tuple[str, ...], **kw: Any) -> SaleFacts:
    ids = tuple(str(i) for i in range(len(statuses)))
    data: dict[str, Any] = {
        "external_id": "1",
        "order_ids": ids,
        "pack_id": None,
        "seller_id": "9",
        "statuses": statuses,
        "tags": frozenset(),
        "lines": (),
        "buyer": None,
        "total_paid": Decimal(100),
    }
    data.update(kw)
    return SaleFacts(**data)


@pytest.mark.parametrize(
    ("statuses", "kw", "action", "reason"),
    [
        (("paid",), {}, Action.INVOICE, "paid"),
        (("partially_refunded",), {}, Action.INVOICE, "paid"),
        (("paid", "cancelled"), {}, Action.INVOICE, "paid_partly_cancelled"),
        (("paid", "payment_in_process"), {}, Action.WAIT, "not_paid"),
        (("partially_paid",), {}, Action.WAIT, "not_paid"),
        (("confirmed",), {"total_paid": Decimal(0)}, Action.WAIT, "not_paid"),
        (("paid", "invalid"), {}, Action.SKIP, "invalid_order"),
        (("paid",), {"tags": frozenset({"fraud_risk_detected"})}, Action.SKIP, "fraud_risk"),
        (("cancelled", "cancelled"), {"total_paid": Decimal(0)}, Action.SKIP, "cancelled_unpaid"),
        (("pending_cancel",), {}, Action.SKIP, "cancelled_before_invoice"),
        (("paid",), {"pack_complete": False}, Action.WAIT, "pack_incomplete"),
        (("weird_new_status",), {}, Action.WAIT, "unknown_status"),
    ],
)
def test_decide_rules(
    statuses: tuple[str, ...], kw: dict[str, Any], action: Action, reason: str
) -> None:
    decision = decide(_facts(statuses, **kw), InvoicingSettings())
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(59900, "59900"), (59900.0, "59900.0"), ("59900.50", "59900.50"), (None, "0"), ("x", "0")],
)
def test_to_decimal(raw: object, expected: str) -> None:
    assert to_decimal(raw) == Decimal(expected)


def test_tolerates_nulls_and_missing_keys() -> None:
    order = {
        "id": 5.0,
        "status": "paid",
        "order_items": [{"item": {"id": "MCO1"}, "quantity": "1"}],
    }
    facts = build_sale_facts([order], pack=None, billing=None, shipment_costs=None)
    assert facts.external_id == "5"
    assert facts.lines[0].unit_price == 0
    assert facts.lines[0].sku is None
    assert facts.sale_date is None
    assert parse_billing({}) is None


# --- claims and returns ---------------------------------------------------------------------
# Written from MercadoLibre's claims documentation ("Gestionar reclamos": the /claims/{id}
# example) and its returns documentation (/post-purchase/v2/claims/{id}/returns fields).
DOC_CLAIM: dict[str, Any] = {
    "id": 5256749420,
    "resource_id": 2000007819609432,
    "status": "closed",
    "type": "mediations",
    "stage": "claim",
    "resource": "order",
    "reason_id": "PDD9549",
    "quantity_type": "total",
    "claimed_quantity": 1,
    "resolution": {
        "reason": "payment_refunded",
        "date_created": "2024-03-21T05:19:22.000-04:00",
        "benefited": ["complainant"],
        "closed_by": "respondent",
        "applied_coverage": False,
    },
    "related_entities": ["return"],
}
DOC_RETURN = {
    "status": "delivered",
    "status_money": "refunded",
    "subtype": "return_total",
    "orders": [
        {
            "order_id": 2000007819609432,
            "item_id": "MCO1",
            "variation_id": None,
            "context_type": "total",
            "total_quantity": "1.0",
            "return_quantity": "1.0",
        }
    ],
}


def test_a_claim_with_its_return() -> None:
    [claim] = parse_order_claims("2000007819609432", [DOC_CLAIM], {"5256749420": DOC_RETURN})
    assert claim.covered is False
    assert claim.return_pending is False
    [item] = claim.returned
    assert (item.item_id, item.variation_id, item.quantity) == ("MCO1", None, Decimal(1))


def test_a_return_whose_money_is_retained_is_pending() -> None:
    retained = {**DOC_RETURN, "status_money": "retained"}
    [claim] = parse_order_claims("2000007819609432", [DOC_CLAIM], {"5256749420": retained})
    assert claim.returned == ()
    assert claim.return_pending is True


def test_a_claim_mercadolibre_covered() -> None:
    covered = {
        **DOC_CLAIM,
        "related_entities": [],
        "resolution": {
            **DOC_CLAIM["resolution"],
            "reason": "coverage_decision",
            "applied_coverage": True,
        },
    }
    [claim] = parse_order_claims("2000007819609432", [covered])
    assert claim.covered is True
    assert claim.return_pending is False
    # Another order's claim, or a claim on a payment, is not this order's.
    assert parse_order_claims("1", [covered]) == ()
    assert parse_order_claims("2000007819609432", [{**covered, "resource": "payment"}]) == ()
