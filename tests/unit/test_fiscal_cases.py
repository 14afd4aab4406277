"""Every case listed in issue 12 ("Fiscal truth on real catalogs"), as a table of facts → the
document a Colombian accountant expects. Bodies follow MercadoLibre's published examples (the
orders doc's "Obtener descuentos aplicados en una venta", docs/vendors/mercadolibre.md §3.1) and
Siigo's (docs/vendors/siigo.md §7-§9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from conexapi.erps.siigo.documents.invoice import (
    InvoicePlan,
    build_invoice,
    net_unit_price,
    siigo_line_total,
)
from conexapi.erps.siigo.documents.taxes import ProductTaxes, line_tax
from conexapi.erps.siigo.mapping import build_customer
from conexapi.marketplaces.mercadolibre.mapping import build_sale_facts, parse_billing
from conexapi.sales.build_errors import UnsupportedTax
from conexapi.sales.decision import Action, decide
from conexapi.sales.facts import SaleFacts, SaleLine
from conexapi.sales.settings import InvoicingSettings, MeliCouponInvoicing, ShippingTax
from conexapi.sandbox.siigo_rules import compute_line
from tests.unit.test_invoice_builder import RATES, SETTINGS

D = Decimal
TODAY = date(2026, 3, 14)
SANDBOX_TAXES = {
    t.id: {"id": t.id, "name": t.name, "type": t.type, "percentage": t.percentage}
    for t in RATES.values()
}


def siigo_total(plan: InvoicePlan) -> Decimal:
    """Siigo's own computation (the simulator's rules), line by line with each line's taxes."""
    total = D(0)
    for it in plan.json_body()["items"]:
        taxes = [SANDBOX_TAXES[t["id"]] for t in it.get("taxes", [])]
        *_, line = compute_line(D(str(it["quantity"])), D(str(it["price"])), None, D(0), taxes)
        total += line
    return total


def build(facts: SaleFacts, settings: InvoicingSettings = SETTINGS, **kw: Any) -> InvoicePlan:
    return build_invoice(
        facts,
        settings,
        product_codes=kw.pop("codes"),
        products=kw.pop("products", {}),
        rates=RATES,
        today=TODAY,
        idempotency_key="CX1FV1",
        customer_identification="1020304050",
    )


def facts(*lines: SaleLine, shipping: str = "0") -> SaleFacts:
    return SaleFacts(
        external_id="1",
        order_ids=tuple(dict.fromkeys(ln.order_id for ln in lines)),
        pack_id=None,
        seller_id="9",
        statuses=tuple("paid" for _ in dict.fromkeys(ln.order_id for ln in lines)),
        tags=frozenset(),
        lines=lines,
        buyer=None,
        shipping_paid_by_buyer=D(shipping),
    )


# --- 1. taxes per product ------------------------------------------------------------------

MIXED_CODES = {"FUNDA": "FUNDA", "ARROZ": "ARROZ", "LIBRO": "LIBRO"}
MIXED_PRODUCTS = {
    "FUNDA": ProductTaxes("FUNDA", "Taxed", (13156,)),  # IVA 19 %
    "ARROZ": ProductTaxes("ARROZ", "Taxed", (13157,)),  # IVA 5 % (E.T. art. 468-1)
    "LIBRO": ProductTaxes("LIBRO", "Excluded", ()),  # excluded (E.T. art. 424)
}


def mixed_cart() -> SaleFacts:
    return facts(
        SaleLine("1", "MCO1", "Funda celular", D(3), D(35000), sku="FUNDA"),
        SaleLine("2", "MCO2", "Arroz 5 kg", D(2), D(21000), sku="ARROZ"),
        SaleLine("3", "MCO3", "Libro de cocina", D(1), D(59900), sku="LIBRO"),
        shipping="12500",
    )


def test_mixed_cart_each_line_takes_its_products_tax() -> None:
    plan = build(mixed_cart(), codes=MIXED_CODES, products=MIXED_PRODUCTS)
    items = plan.json_body()["items"]
    assert [i.get("taxes") for i in items] == [
        [{"id": 13156}],
        [{"id": 13157}],
        None,  # excluded: no IVA at all
        [{"id": 13156}],  # shipping follows the principal good (the cases, 105.000)
    ]
    rows = plan.breakdown
    assert [r["impuesto"] for r in rows] == ["IVA 19 %", "IVA 5 %", "Excluido", "IVA 19 %"]
    # Per line: base + tax = what the buyer paid for it.
    funda = siigo_line_total(D(3), D(str(items[0]["price"])), D(0), D(19))
    arroz = siigo_line_total(D(2), D(str(items[1]["price"])), D(0), D(5))
    envio = siigo_line_total(D(1), D(str(items[3]["price"])), D(0), D(19))
    assert (funda.total, arroz.total, envio.total) == (D(105000), D(42000), D(12500))
    assert D(str(items[2]["price"])) == D(59900)  # excluded: the price is the base
    assert plan.tax_total == funda.tax + arroz.tax + envio.tax == D("20760.51")
    # The old single-rate invoice charged 19 % on every line.
    old = sum(
        (
            siigo_line_total(D(q), net_unit_price(D(g), D(q), D(19)), D(0), D(19)).tax
            for g, q in ((105000, 3), (42000, 2), (59900, 1), (12500, 1))
        ),
        D(0),
    )
    assert old == D("35030.25")
    assert plan.tax_total < old
    assert plan.body["payments"][0]["value"] == plan.total == siigo_total(plan) == D(219400)


def test_the_default_iva_only_for_products_without_a_tax() -> None:
    # The integration saved with the 5 % tax id used to fail every invoice (its typed rate was
    # 19): the percentage now comes from the catalog for that id.
    settings = SETTINGS.model_copy(update={"iva_tax_id": 13157})
    plan = build(
        facts(SaleLine("1", "MCO1", "Arroz", D(2), D(21000), sku="ARROZ")),
        settings,
        codes={"ARROZ": "ARROZ"},
    )
    assert plan.body["items"][0]["taxes"] == [{"id": 13157}]
    assert plan.breakdown[0]["tasa"] == "5"
    assert plan.body["payments"][0]["value"] == siigo_total(plan) == D(42000)


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        (ProductTaxes("X", "Taxed", (13156, 13157)), "2 impuestos"),
        (ProductTaxes("X", "Taxed", (424242,)), "no está en el catálogo"),
        (ProductTaxes("X", "Taxed", (13160,)), "no IVA"),  # a withholding, not IVA
        (ProductTaxes("X", "Excluded", (13156,)), "excluido pero tiene IVA 19%"),
        (ProductTaxes("X", "Exempt", (13157,)), "exento pero tiene IVA 5%"),
        (ProductTaxes("X", "Impoconsumo", ()), "clasificación"),
    ],
)
def test_taxes_conexapi_cannot_reproduce_wait_with_a_reason(
    product: ProductTaxes, reason: str
) -> None:
    with pytest.raises(UnsupportedTax, match=reason) as err:
        line_tax(product, RATES, 13156)
    assert err.value.code == "unsupported_product_tax"
    assert "no se factura" in err.value.message


def test_impoconsumo_in_the_catalog_is_not_iva() -> None:
    rates = dict(RATES)
    from conexapi.erps.siigo.documents.taxes import TaxRate

    rates[99] = TaxRate(99, "Impoconsumo 8%", "Impoconsumo", D(8))
    with pytest.raises(UnsupportedTax, match="Impoconsumo"):
        line_tax(ProductTaxes("X", "Taxed", (99,)), rates, 13156)


# --- 2. shipping's tax ---------------------------------------------------------------------


def test_all_excluded_cart_gets_an_excluded_shipping_line() -> None:
    plan = build(
        facts(SaleLine("1", "MCO3", "Libro", D(1), D(59900), sku="LIBRO"), shipping="9900"),
        codes=MIXED_CODES,
        products=MIXED_PRODUCTS,
    )
    assert "taxes" not in plan.body["items"][1]
    assert plan.summary()["envio_impuesto"].startswith("El envío lleva Excluido")
    assert plan.total == D(69800)


def test_shipping_tax_fixed_by_the_seller() -> None:
    settings = SETTINGS.model_copy(
        update={"shipping_tax": ShippingTax.FIXED, "shipping_tax_id": 13156}
    )
    plan = build(
        facts(SaleLine("1", "MCO3", "Libro", D(1), D(59900), sku="LIBRO"), shipping="9900"),
        settings,
        codes=MIXED_CODES,
        products=MIXED_PRODUCTS,
    )
    assert plan.body["items"][1]["taxes"] == [{"id": 13156}]
    assert "configuración" in plan.summary()["envio_impuesto"]


def _order(**kw: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 2000008123456789,
        "status": "paid",
        "pack_id": None,
        "date_closed": "2026-03-13T10:02:31.000-05:00",
        "shipping_cost": None,
        "shipping": {"id": 44028792542},
        "order_items": [
            {
                "item": {"id": "MCO1458960576", "title": "Camiseta", "seller_sku": "CAM"},
                "quantity": 2,
                "unit_price": 59900,
                "full_unit_price": 69900,
                "sale_fee": 7787,
            }
        ],
        "payments": [
            {
                "status": "approved",
                "transaction_amount": 119800,
                "shipping_cost": 9900,
                "total_paid_amount": 129700,
                "marketplace_fee": 15574,
            }
        ],
        "tags": ["paid"],
        "seller": {"id": 779432305},
        "buyer": {"id": 1},
    }
    order.update(kw)
    return order


def test_shipment_costs_unreadable_uses_the_payments_shipping_cost() -> None:
    sale = build_sale_facts([_order()], pack=None, billing=None, shipment_costs=None)
    assert (sale.shipping_paid_by_buyer, sale.shipping_known) == (D(9900), True)


def test_shipping_nobody_reports_makes_the_sale_wait() -> None:
    payment = {"status": "approved", "transaction_amount": 119800, "shipping_cost": None}
    sale = build_sale_facts(
        [_order(payments=[payment])], pack=None, billing=None, shipment_costs=None
    )
    assert sale.shipping_known is False
    assert sale.sale_date is not None
    soon = decide(sale, SETTINGS, now=sale.sale_date + timedelta(minutes=5))
    assert (soon.action, soon.reason) == (Action.WAIT, "shipping_unknown")
    assert soon.recheck_at is not None
    late = decide(sale, SETTINGS, now=sale.sale_date + timedelta(hours=25))
    assert (late.action, late.reason) == (Action.ATTENTION, "shipping_unknown")


# --- 3. discounts as MercadoLibre means them -----------------------------------------------


def _discounts(*details: dict[str, Any]) -> dict[str, Any]:
    return {"2000008123456789": {"details": list(details)}}


def _detail(kind: str, total: int, seller: int, **supplier: Any) -> dict[str, Any]:
    # Shape of MercadoLibre's published /orders/{id}/discounts example.
    return {
        "type": kind,
        "supplier": supplier,
        "items": [
            {"id": "MCO1458960576", "quantity": 2, "amounts": {"total": total, "seller": seller}}
        ],
    }


def _paid(amount: int) -> list[dict[str, Any]]:
    return [
        {
            "status": "approved",
            "transaction_amount": amount,
            "shipping_cost": 0,
            "total_paid_amount": amount,
            "coupon_amount": 119800 - amount,
        }
    ]


DISCOUNT_CASES = [
    # (case, details, buyer paid, invoiced as_price, invoiced as_discount, ML-funded coupon)
    (
        "promotion only, seller-funded",
        [_detail("discount", 20000, 20000, offer_id="MCO1-OFF")],
        119800,
        119800,
        119800,
        0,
    ),
    (
        "promotion only, MercadoLibre rebate",
        [_detail("discount", 20000, 15000, offer_id="P-MCO1", funding_mode="sale_fee")],
        119800,
        119800,
        119800,
        0,
    ),
    ("coupon only, seller-funded", [_detail("coupon", 10000, 10000)], 109800, 109800, 109800, 0),
    (
        "coupon only, MercadoLibre-funded",
        [_detail("coupon", 10000, 0, meli_campaign="P-MCO44")],
        109800,
        119800,
        109800,
        10000,
    ),
    (
        "coupon split",
        [_detail("coupon", 10000, 4000, meli_campaign="P-MCO44")],
        109800,
        115800,
        109800,
        6000,
    ),
    (
        "promotion and coupon",
        [
            _detail("discount", 20000, 20000, offer_id="MCO1-OFF"),
            _detail("coupon", 10000, 0, meli_campaign="P-MCO44"),
        ],
        109800,
        119800,
        109800,
        10000,
    ),
    (
        "cashback is not a price",
        [_detail("cashback", 5000, 0, campaign_id="1011")],
        119800,
        119800,
        119800,
        0,
    ),
]


@pytest.mark.parametrize(
    ("case", "details", "paid", "as_price", "as_discount", "meli"),
    DISCOUNT_CASES,
    ids=[c[0] for c in DISCOUNT_CASES],
)
def test_discounts_as_mercadolibre_means_them(
    case: str,
    details: list[dict[str, Any]],
    paid: int,
    as_price: int,
    as_discount: int,
    meli: int,
) -> None:
    # unit_price 59.900 < full_unit_price 69.900: a price promotion, already in the price.
    order = _order(payments=_paid(paid), tags=["paid", "order_has_discount"])
    sale = build_sale_facts(
        [order], pack=None, billing=None, shipment_costs=None, discounts=_discounts(*details)
    )
    (line,) = sale.lines
    assert line.promotion == D(20000)
    assert sale.total_paid == D(paid)
    assert line.meli_coupon == D(meli)
    for mode, expected in (
        (MeliCouponInvoicing.AS_PRICE, as_price),
        (MeliCouponInvoicing.AS_DISCOUNT, as_discount),
    ):
        settings = SETTINGS.model_copy(update={"meli_coupon_invoicing": mode})
        plan = build(sale, settings, codes={"CAM": "CAM"})
        assert plan.expected_gross == D(expected), (case, mode)
        assert abs(plan.deviation) <= D("0.01")  # Siigo's rounding, explained below
        assert plan.buyer_paid == D(paid)
        explained = sum((D(d["valor"]) for d in plan.differences), D(0))
        assert plan.total - plan.buyer_paid == explained  # every peso of difference has a reason


def test_the_issues_promotion_plus_seller_amount_is_not_subtracted_twice() -> None:
    # 2 x 59.900 (list 69.900) with a /discounts entry carrying a seller amount: the invoice
    # used to say 109.800 while the buyer paid 119.800.
    order = _order(payments=_paid(119800))
    sale = build_sale_facts(
        [order],
        pack=None,
        billing=None,
        shipment_costs=None,
        discounts=_discounts(_detail("discount", 20000, 10000, offer_id="MCO1-OFF")),
    )
    plan = build(sale, codes={"CAM": "CAM"})
    assert plan.total == plan.buyer_paid == D(119800)
    assert sale.lines[0].meli_rebate == D(10000)  # MercadoLibre's share: income, not a discount


# --- 5. identities -------------------------------------------------------------------------


def _billing(number: str, kind: str, cust_type: str, last_name: str | None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "name": "Adrian" if last_name is not None else "Distribuciones Andinas S.A.S.",
        "identification": {"type": kind, "number": number},
        "address": {
            "street_name": "Calle 45",
            "street_number": "#10-11",
            "city_name": "Bogotá D.C.",
            "state": {"name": "Bogotá D.C.", "code": "CO-DC"},
            "zip_code": "111711",
        },
        "attributes": {"is_normalized": True, "cust_type": cust_type},
    }
    if last_name is not None:
        block["last_name"] = last_name
    return {
        "site_id": "MCO",
        "buyer": {"cust_id": 1, "billing_info": block},
        "seller": {"cust_id": 2},
    }


@pytest.mark.parametrize(
    ("billing", "person_type", "identification", "name"),
    [
        (
            _billing("9003739134", "NIT", "BU", None),
            "Company",
            "900373913",
            ["Distribuciones Andinas S.A.S."],
        ),
        (
            _billing("900373913-4", "NIT", "BU", None),
            "Company",
            "900373913",
            ["Distribuciones Andinas S.A.S."],
        ),
        (
            _billing("1020304050", "NIT", "CO", "Garces"),
            "Person",
            "1020304050",
            ["Adrian", "Garces"],
        ),
        (
            _billing("1020304050", "CC", "CO", "Garces"),
            "Person",
            "1020304050",
            ["Adrian", "Garces"],
        ),
    ],
)
def test_identities(
    billing: dict[str, Any], person_type: str, identification: str, name: list[str]
) -> None:
    buyer = parse_billing(billing)
    assert buyer is not None
    body = build_customer(buyer, SETTINGS).body
    assert (body["person_type"], body["identification"], body["name"]) == (
        person_type,
        identification,
        name,
    )


# --- 6. no e-mail of ours ------------------------------------------------------------------


def test_no_conexapi_address_anywhere() -> None:
    buyer = parse_billing(_billing("1020304050", "CC", "CO", "Garces"))
    assert buyer is not None
    assert buyer.email is None
    contact = build_customer(buyer, InvoicingSettings()).body["contacts"][0]
    assert "email" not in contact
    assert "conexapi" not in str(InvoicingSettings().model_dump())


# --- 8. dates in observations are Colombian --------------------------------------------------


def test_observation_date_is_the_colombian_date() -> None:
    # 02:30 UTC on the 14th is still the 13th in Bogotá (UTC-5).
    sale = facts(SaleLine("1", "MCO1", "Camiseta", D(1), D(59900), sku="CAM"))
    sale = SaleFacts(**{**sale.__dict__, "sale_date": datetime(2026, 3, 14, 2, 30, tzinfo=UTC)})
    plan = build(sale, codes={"CAM": "CAM"})
    assert "Venta del 13/03/2026" in plan.body["observations"]
