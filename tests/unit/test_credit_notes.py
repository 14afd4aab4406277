"""Credit notes credit what came back, on the lines it came back from, with their own taxes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from conexapi.erps.siigo.documents.credit_note import (
    InvoiceItem,
    build_credit_note,
    invoice_items,
)
from conexapi.erps.siigo.documents.invoice import InvoicePlan, build_invoice, siigo_line_total
from conexapi.erps.siigo.documents.taxes import ProductTaxes
from conexapi.sales.build_errors import MissingSettings
from conexapi.sales.credits import (
    Concept,
    CreditOutlook,
    IssuedCredit,
    next_credit,
)
from conexapi.sales.facts import OrderClaim, Refund, ReturnedItem, SaleFacts, SaleLine
from conexapi.sales.settings import InvoicingSettings
from tests.unit.test_invoice_builder import RATES, SETTINGS

D = Decimal
NC: dict[str, Any] = {
    "settings": SETTINGS,
    "invoice_erp_id": "63f918c2-ca65-4edc-a7db-66bcdd5159fb",
    "today": date(2026, 3, 20),
}


def sale(
    *lines: SaleLine, shipping: str = "0", statuses: tuple[str, ...] | None = None
) -> SaleFacts:
    order_ids = tuple(dict.fromkeys(ln.order_id for ln in lines))
    return SaleFacts(
        external_id="2000004567891234",
        order_ids=order_ids,
        pack_id="2000004567891234" if len(order_ids) > 1 else None,
        seller_id="779432305",
        statuses=statuses or tuple("paid" for _ in order_ids),
        tags=frozenset(),
        lines=lines,
        buyer=None,
        shipping_paid_by_buyer=D(shipping),
        sale_date=datetime(2026, 3, 13, 18, 0),
    )


def item(order: str, sku: str, qty: int, price: int, item_id: str = "") -> SaleLine:
    return SaleLine(order, item_id or f"MCO{sku}", sku, D(qty), D(price), sku=sku)


CODES = {"A": "PROD-A", "B": "PROD-B", "C": "PROD-C", "R": "ARROZ", "L": "LIBRO"}
PRODUCTS = {
    "PROD-A": ProductTaxes("PROD-A", "Taxed", (13156,)),
    "PROD-B": ProductTaxes("PROD-B", "Taxed", (13156,)),
    "PROD-C": ProductTaxes("PROD-C", "Taxed", (13156,)),
    "ARROZ": ProductTaxes("ARROZ", "Taxed", (13157,)),
    "LIBRO": ProductTaxes("LIBRO", "Excluded", ()),
}


def invoice(facts: SaleFacts) -> tuple[InvoicePlan, list[InvoiceItem]]:
    plan = build_invoice(
        facts,
        SETTINGS,
        product_codes=CODES,
        products=PRODUCTS,
        rates=RATES,
        today=date(2026, 3, 14),
        idempotency_key="CX1FV1",
        customer_identification="1020304050",
    )
    return plan, invoice_items(plan.json_body(), plan.breakdown, RATES)


def run_credits(
    items: list[InvoiceItem],
    refunds: list[Refund],
    statuses: dict[str, str],
    claims: Mapping[str, tuple[OrderClaim, ...]] | None = None,
    settings: InvoicingSettings = SETTINGS,
    limit: int = 10,
) -> tuple[list[Any], CreditOutlook]:
    """Issues credit notes until none is asked for, like the engine does (one per attempt)."""
    lines = [it.invoiced() for it in items]
    issued: list[IssuedCredit] = []
    plans: list[Any] = []
    for seq in range(1, limit + 1):
        outlook = next_credit(
            lines,
            issued,
            refunds,
            statuses=statuses,
            claims=claims,
            money_concept=Concept(settings.money_refund_reason),
        )
        if outlook.next is None:
            return plans, outlook
        plan = build_credit_note(items, outlook.next, idempotency_key=f"CX1NC{seq}", **NC)
        plans.append(plan)
        issued.append(IssuedCredit(outlook.next.ref, plan.credited, outlook.next.order_id))
    raise AssertionError("credit notes never stopped")


def independent_total(body: dict[str, Any]) -> Decimal:
    total = D(0)
    for it in body["items"]:
        rate = sum((RATES[t["id"]].percentage for t in it.get("taxes", [])), D(0))
        total += siigo_line_total(D(str(it["quantity"])), D(str(it["price"])), D(0), rate).total
    return total


def test_return_on_one_order_of_a_pack_credits_that_orders_lines() -> None:
    # The case: A (2 x 30.000) and B (1 x 60.000); the buyer returns A and is refunded
    # 60.000 on A's order. The credit note credits A, not B (same amount, wrong goods).
    facts = sale(item("1", "A", 2, 30000), item("2", "B", 1, 60000))
    _, items = invoice(facts)
    claims = {
        "1": (OrderClaim("51", "1", returned=(ReturnedItem("MCOA", None, D(2)),)),),
    }
    plans, outlook = run_credits(
        items, [Refund("1", D(60000), full=False)], {"1": "partially_refunded", "2": "paid"}, claims
    )
    (nc,) = plans
    assert nc.reason == Concept.PARTIAL_RETURN
    assert nc.reason == 1
    (credited,) = nc.body["items"]
    assert (credited["code"], credited["quantity"]) == ("PROD-A", 2)
    assert credited["taxes"] == [{"id": 13156}]
    assert nc.total == items[0].total
    assert outlook.fully_credited is False


def test_money_only_partial_refund_is_a_discount_never_returned_units() -> None:
    # 20.000 given back on 2 x 59.900 with no return: concept 3, one line credited by value.
    facts = sale(item("1", "A", 2, 59900))
    _, items = invoice(facts)
    (nc,), outlook = run_credits(
        items, [Refund("1", D(20000), full=False)], {"1": "partially_refunded"}
    )
    assert nc.reason == Concept.DISCOUNT
    assert nc.reason == 3
    (line,) = nc.body["items"]
    assert line["quantity"] == 1  # one discount line, not "1 returned unit at 20.000"
    assert line["description"].startswith("Rebaja")
    assert abs(nc.total - D(20000)) <= D("0.01")
    assert nc.credited[0].quantity == 0  # no units came back
    assert not outlook.fully_credited


def test_money_refund_concept_can_be_price_adjustment() -> None:
    facts = sale(item("1", "A", 2, 59900))
    _, items = invoice(facts)
    settings = SETTINGS.model_copy(update={"money_refund_reason": 4})
    (nc,), _ = run_credits(
        items, [Refund("1", D(20000), full=False)], {"1": "partially_refunded"}, settings=settings
    )
    assert nc.reason == Concept.PRICE_ADJUSTMENT
    assert nc.reason == 4


def test_three_one_unit_returns_end_fully_credited() -> None:
    # Three credit notes of one unit each used to leave 0,03 open; the last takes the leftover.
    facts = sale(item("1", "A", 3, 33333))
    _, items = invoice(facts)
    issued: list[IssuedCredit] = []
    lines = [it.invoiced() for it in items]
    for returned in (1, 2, 3):
        claims = {"1": (OrderClaim("9", "1", returned=(ReturnedItem("MCOA", None, D(returned)),)),)}
        outlook = next_credit(
            lines,
            issued,
            [Refund("1", D(33333 * returned), full=returned == 3)],
            statuses={"1": "partially_refunded"},
            claims=claims,
        )
        assert outlook.next is not None
        plan = build_credit_note(items, outlook.next, idempotency_key=f"NC{returned}", **NC)
        issued.append(IssuedCredit(outlook.next.ref, plan.credited, "1"))
        assert plan.body["items"][0]["quantity"] == 1
    credited = sum((c.amount for credit in issued for c in credit.lines), D(0))
    assert credited == items[0].total  # to the centavo
    final = next_credit(
        lines, issued, [Refund("1", D(99999), full=True)], statuses={"1": "cancelled"}
    )
    assert final.fully_credited
    assert final.next is None


def test_whole_sale_cancelled_is_an_annulment_mirroring_the_invoice() -> None:
    facts = sale(item("1", "A", 2, 59900), shipping="9900")
    plan, items = invoice(facts)
    (nc,), outlook = run_credits(items, [Refund("1", D(129700), full=True)], {"1": "cancelled"})
    assert nc.reason == Concept.ANNULMENT
    assert nc.reason == 2
    assert nc.body["items"] == plan.body["items"]
    assert nc.total == plan.total
    assert outlook.fully_credited


def test_one_cancelled_order_of_a_pack_then_the_other() -> None:
    facts = sale(item("1", "A", 1, 30000), item("2", "B", 1, 60000), shipping="9900")
    plan, items = invoice(facts)
    first, outlook = run_credits(
        items, [Refund("1", D(30000), full=True)], {"1": "cancelled", "2": "paid"}
    )
    assert [i["code"] for i in first[0].body["items"]] == ["PROD-A"]  # not the shipping
    assert first[0].reason == 1
    assert not outlook.fully_credited
    # Then the rest of the cart is cancelled: its order and the shipping are credited.
    lines = [it.invoiced() for it in items]
    issued = [IssuedCredit("cancel:1", first[0].credited, "1")]
    nxt = next_credit(
        lines,
        issued,
        [Refund("1", D(30000), full=True), Refund("2", D(69900), full=True)],
        statuses={"1": "cancelled", "2": "cancelled"},
    )
    assert nxt.next is not None
    assert nxt.next.ref == "cancel:2"
    last = build_credit_note(items, nxt.next, idempotency_key="NC2", **NC)
    assert [i["code"] for i in last.body["items"]] == ["PROD-B", "ENVIOML"]
    assert first[0].total + last.total == plan.total


def test_covered_claim_gives_no_credit_note() -> None:
    facts = sale(item("1", "A", 1, 59900))
    _, items = invoice(facts)
    claims = {"1": (OrderClaim("77", "1", covered=True),)}
    plans, outlook = run_credits(
        items, [Refund("1", D(59900), full=True)], {"1": "cancelled"}, claims
    )
    assert plans == []
    assert [c.claim_id for c in outlook.covered] == ["77"]
    assert not outlook.fully_credited


def test_each_credited_line_carries_its_invoice_lines_tax() -> None:
    facts = sale(item("1", "A", 1, 59900), item("1", "R", 2, 4200), item("1", "L", 1, 45000))
    _plan, items = invoice(facts)
    (nc,), _ = run_credits(items, [Refund("1", D(30000), full=False)], {"1": "partially_refunded"})
    by_code = {i["code"]: i.get("taxes") for i in nc.body["items"]}
    assert by_code == {"PROD-A": [{"id": 13156}], "ARROZ": [{"id": 13157}], "LIBRO": None}
    assert nc.body["payments"][0]["value"] == independent_total(nc.json_body())


def test_an_invoice_built_before_lines_knew_their_order_is_one_pool() -> None:
    facts = sale(item("1", "A", 2, 59900))
    plan, _ = invoice(facts)
    old_breakdown = [
        {k: v for k, v in row.items() if k not in ("order_id", "item", "tasa")}
        for row in plan.breakdown
    ]
    items = invoice_items(plan.json_body(), old_breakdown, RATES)
    assert items[0].order_id is None
    assert items[0].rate == 19
    (nc,), _ = run_credits(items, [Refund("1", D(20000), full=False)], {"1": "partially_refunded"})
    assert abs(nc.total - D(20000)) <= D("0.01")
    (full,), outlook = run_credits(items, [Refund("1", D(119800), full=True)], {"1": "cancelled"})
    assert full.reason == 2
    assert outlook.fully_credited


def test_credit_note_needs_its_settings() -> None:
    _, items = invoice(sale(item("1", "A", 1, 59900)))
    outlook = next_credit(
        [it.invoiced() for it in items],
        [],
        [Refund("1", D(59900), True)],
        statuses={"1": "cancelled"},
    )
    assert outlook.next is not None
    with pytest.raises(MissingSettings) as err:
        build_credit_note(
            items,
            outlook.next,
            idempotency_key="X",
            **{**NC, "settings": SETTINGS.model_copy(update={"nc_document_id": None})},
        )
    assert err.value.names == ["nc_document_id"]


def test_goods_on_their_way_back_are_not_credited_as_money_meanwhile() -> None:
    _, items = invoice(sale(item("1", "A", 2, 30000)))
    lines = [it.invoiced() for it in items]
    pending = {"1": (OrderClaim("5", "1", return_pending=True),)}
    refund = [Refund("1", D(30000), full=False)]
    waiting = next_credit(lines, [], refund, statuses={"1": "partially_refunded"}, claims=pending)
    assert waiting.next is None  # no discount now, and no return credit twice later
    back = {"1": (OrderClaim("5", "1", returned=(ReturnedItem("MCOA", None, D(1)),)),)}
    done = next_credit(lines, [], refund, statuses={"1": "partially_refunded"}, claims=back)
    assert done.next is not None
    assert done.next.concept == Concept.PARTIAL_RETURN


def test_units_back_after_a_discount_never_credit_more_than_is_left() -> None:
    _, items = invoice(sale(item("1", "A", 2, 30000)))
    plans, _ = run_credits(items, [Refund("1", D(50000), full=False)], {"1": "partially_refunded"})
    (discount,) = plans
    issued = [IssuedCredit("money:1:50000", discount.credited, "1")]
    back = {"1": (OrderClaim("5", "1", returned=(ReturnedItem("MCOA", None, D(1)),)),)}
    outlook = next_credit(
        [it.invoiced() for it in items],
        issued,
        [Refund("1", D(60000), full=False)],
        statuses={"1": "partially_refunded"},
        claims=back,
    )
    assert outlook.next is not None
    nc = build_credit_note(items, outlook.next, idempotency_key="NC2", **NC)
    assert discount.total + nc.total <= items[0].total + D("0.01")
